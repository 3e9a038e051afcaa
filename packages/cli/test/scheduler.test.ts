/**
 * What the scheduler does at its edges, as a user of `nommu run` meets it:
 * every guest task blocked for good is a deadlock, reported in one line
 * (with each task's wait) and status 70 instead of a hang.
 */
import { nativeBackendUnavailable } from '@nommu/x86-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { conformanceProgram, ensureConformance, expectOneLine, nommu } from './helpers.js';

beforeAll(ensureConformance);

const BACKENDS = nativeBackendUnavailable() ? ['unicorn'] : ['unicorn', 'native'];

describe.each(BACKENDS)('nommu run --backend %s: a deadlock of every task', (backend) => {
  it.each(['musl-static', 'glibc-dynamic'])('%s: two threads in an ABBA mutex deadlock end with one clear line, status 70', async (variant) => {
    const r = await nommu(['run', '--backend', backend, conformanceProgram('sched_fair', variant), 'deadlock'], { timeoutMs: 60_000 });
    expect(r.stdout).toBe("both threads hold one mutex; each now waits for the other's\n");
    const line = expectOneLine(r.stderr);
    // Both tasks are named with what they wait on (futex words: the two mutexes).
    expect(line).toMatch(/^nommu: deadlock: every guest task is blocked \(\d+: futex [0-9a-f]+, \d+: futex [0-9a-f]+\)$/);
    expect(r.status).toBe(70);
  });
});
