/**
 * Signal handlers on a real kernel, where the host cannot be the reference:
 * kill(-1, sig) natively would reach the host's own processes, so the
 * expected output here is Linux's rule, checked under nommu only.
 */
import { describe, expect, it } from 'vitest';
import { guest, sh } from './guest.js';

describe('kill(-1, sig)', () => {
  it('spares the caller (and pid 1): with nobody else to signal it answers ESRCH', async () => {
    // The outer shell is pid 1; the inner one, its child, is alone besides it.
    const r = await guest(sh('sh -c "trap \\"echo caught\\" USR1; kill -USR1 -1; echo rc=\\$?"; echo done'));
    expect(r.out).toBe('rc=1\ndone\n');
    expect(r.err).toMatch(/can't kill pid -1: No such process/);
    expect(r.code).toBe(0);
  });

  it('reaches every other process but not the caller', async () => {
    const r = await guest(sh('sleep 10 & sh -c "trap \\"echo caught\\" TERM; kill -TERM -1; echo rc=\\$?"; wait $!; echo sleep=$?'));
    expect(r).toEqual({ out: 'rc=0\nsleep=143\n', err: '', code: 0 });
  });
});
