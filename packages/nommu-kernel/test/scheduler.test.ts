/**
 * The run queue under a CPU hog: a task woken from a sleep must get the CPU
 * within a round of the runnable tasks, however long the hog has been running.
 * (A preempted task was once queued twice per slice, so the queue grew by one
 * entry every 10 ms and a wakeup waited behind all of them: seconds, then tens
 * of seconds.)
 */
import { describe, expect, it } from 'vitest';
import { BUSYBOX, runGuest } from './support.js';

describe('scheduler', () => {
  it('runs a sleeper woken while a busy loop hogs the CPU promptly, wakeup after wakeup', async () => {
    // The background job sleeps and wakes ten times, then stops the loop with SIGTERM.
    const script = [
      '(i=0; while [ $i -lt 10 ]; do sleep 0.05; i=$((i+1)); done; kill $$) &',
      "trap 'echo stopped; exit 3' TERM",
      'while :; do :; done',
    ].join('\n');
    const start = performance.now();
    const r = await runGuest({ path: BUSYBOX, argv: ['sh', '-c', script], envp: ['PATH=/usr/bin:/bin'] }, { timeoutMs: 30_000 });
    const seconds = (performance.now() - start) / 1000;
    expect({ out: r.stdout, code: r.status.code, timedOut: r.timedOut }).toEqual({ out: 'stopped\n', code: 3, timedOut: false });
    // About 2 s on a loaded Unicorn host (each sleep is a fork and exec sharing the CPU with the loop); it took over 20 s.
    expect(seconds).toBeLessThan(10);
  });
});
