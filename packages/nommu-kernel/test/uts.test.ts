/**
 * sethostname on real busybox (Unicorn backend): root in the guest renames
 * the machine for every process, another user gets EPERM, a name past 64
 * bytes EINVAL. (Not a differential test: natively it would rename the host.)
 */
import { describe, expect, it } from 'vitest';
import { BUSYBOX, runGuest } from './support.js';

const sh = (script: string): { path: string; argv: string[]; envp: string[] } => ({
  path: BUSYBOX,
  argv: ['sh', '-c', script],
  envp: ['PATH=/usr/bin:/bin'],
});
const root = { uid: 0, gid: 0, euid: 0, egid: 0 };
const user = { uid: 1000, gid: 1000, euid: 1000, egid: 1000 };

describe('sethostname', () => {
  it('root renames the machine: uname in another process sees it', async () => {
    const r = await runGuest(sh('hostname; /bin/busybox hostname guest-1 && hostname && /bin/busybox uname -n'), { identity: root, hostname: 'before' });
    expect({ out: r.stdout, err: r.stderr, code: r.status.code }).toEqual({ out: 'before\nguest-1\nguest-1\n', err: '', code: 0 });
  });

  it('another user gets EPERM and the name stays', async () => {
    const r = await runGuest(sh('/bin/busybox hostname other; echo "status $?"; hostname'), { identity: user, hostname: 'kept' });
    expect(r.stdout).toBe('status 1\nkept\n');
    expect(r.stderr).toMatch(/Operation not permitted/);
  });

  it('a name longer than 64 bytes is EINVAL', async () => {
    const r = await runGuest(sh(`/bin/busybox hostname ${'x'.repeat(65)}; echo "status $?"; hostname`), { identity: root, hostname: 'kept' });
    expect(r.stdout).toBe('status 1\nkept\n');
    expect(r.stderr).toMatch(/Invalid argument/);
  });
});
