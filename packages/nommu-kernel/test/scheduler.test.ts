/**
 * The run queue under a CPU hog: a task woken from a sleep must get the CPU
 * within a round of the runnable tasks, however long the hog has been running.
 * (A preempted task was once queued twice per slice, so the queue grew by one
 * entry every 10 ms and a wakeup waited behind all of them: seconds, then tens
 * of seconds.) And the idle run loop: a wake that comes before it starts
 * waiting (a CPU-time timer fired by the sleeping call's own time), or an end
 * of the run from a host callback, must not be lost.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { KernelHooks } from '../src/index.js';
import { BUSYBOX, buildConformance, conformanceProgram, runGuest } from './support.js';

beforeAll(buildConformance);

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

  // A CPU-time timer that expired in the system time of a blocking call used to wake its task before the run loop
  // started its idle wait: the wake was lost and the guest slept forever. The hook makes each sleep's first call
  // cost 25 ms of kernel time, so ITIMER_PROF (20 ms) expires as the task goes to sleep, every time.
  for (const variant of ['musl-static-pie', 'glibc-static'] as const) {
    it(`a CPU-time timer expiring as a task goes to sleep interrupts the sleep (${variant})`, async () => {
      let armed = false;
      let slow = 0;
      let sleeps = 0;
      const hooks: KernelHooks = {
        beforeSyscall(c) {
          if (c.name === 'setitimer' && c.arg(0) === 2n) armed = true; // ITIMER_PROF
          const req = c.name === 'nanosleep' ? c.arg(0) : c.name === 'clock_nanosleep' ? c.arg(2) : null;
          if (req === null || !armed) return;
          sleeps++;
          // Only a round's first call asks for the whole 60 ms; the restarted calls ask for what is left.
          if (c.memory.readU64(req + 8n) !== 60_000_000n) return;
          slow++;
          const until = performance.now() + 25;
          while (performance.now() < until);
        },
      };
      const r = await runGuest({ path: conformanceProgram(variant, 'prof_sleep'), argv: ['prof_sleep'] }, { hooks, timeoutMs: 15_000 });
      expect({ timedOut: r.timedOut, code: r.status.code, last: r.stdout.trim().split('\n').at(-1) }).toEqual({
        timedOut: false,
        code: 0,
        last: 'prof_sleep ok',
      });
      expect(slow).toBe(3);
      // Each round's first call was interrupted and the sleep went on in another.
      expect(sleeps).toBeGreaterThanOrEqual(6);
    });
  }

  it('an embedder ends a sleeping guest from a host callback: the idle run loop notices', async () => {
    const start = performance.now();
    const r = await runGuest({ path: BUSYBOX, argv: ['sleep', '1000'] }, { timeoutMs: 300 });
    expect({ timedOut: r.timedOut, signal: r.status.signal }).toEqual({ timedOut: true, signal: 9 });
    expect(performance.now() - start).toBeLessThan(10_000);
  }, 30_000);
});
