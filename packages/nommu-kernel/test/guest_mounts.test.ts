/**
 * Guest-made mounts, chroot and unshare on real busybox and raw syscalls:
 * what the differential test (conformance/programs/mounts.c) cannot show
 * because the host answers otherwise (it has namespaces) or because it runs
 * as root: the no-namespace EINVAL, EPERM for another identity, and busybox's
 * mount/df/umount/chroot reading and changing the table.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { E } from '../src/index.js';
import { BUSYBOX, runGuest, syscallProbe } from './support.js';

const root = { uid: 0, gid: 0, euid: 0, egid: 0 };
const user = { uid: 1000, gid: 1000, euid: 1000, egid: 1000 };
/** A tmpfs on /tmp: the guest's scratch space, gone with its kernel. */
const mounts = [{ type: 'tmpfs' as const, target: '/tmp' }];

const sh = (script: string): { path: string; argv: string[]; envp: string[] } => ({
  path: BUSYBOX,
  argv: ['sh', '-c', script],
  envp: ['PATH=/usr/bin:/bin'],
});

let DIR: string;
beforeAll(() => {
  DIR = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'nommu-guest-mounts-')));
});
afterAll(() => fs.rmSync(DIR, { recursive: true, force: true }));

/** Runs one raw syscall as `identity` and answers its errno (0 on success). */
async function probe(nr: number, args: (number | 'path' | 'path2')[], p1: string, identity = root, p2 = ''): Promise<number> {
  const file = path.join(DIR, `probe-${nr}-${Math.random().toString(36).slice(2)}`);
  fs.writeFileSync(file, syscallProbe(nr, args, p1, p2), { mode: 0o755 });
  // (No tmpfs on /tmp here: the probe itself is in the host's temporary directory. Nothing it calls changes anything.)
  const run = await runGuest({ path: file, argv: ['probe'] }, { identity });
  return run.status.code;
}

const NR = { chroot: 161, mount: 165, umount2: 166, unshare: 272 };
const CLONE_NEWNS = 0x20000;
const CLONE_NEWUSER = 0x10000000;
const CLONE_NEWPID = 0x20000000;
const CLONE_NEWNET = 0x40000000;
const CLONE_NEWUTS = 0x04000000;
const CLONE_NEWIPC = 0x08000000;
const CLONE_NEWCGROUP = 0x02000000;
const CLONE_NEWTIME = 0x80;

describe('unshare without namespaces', () => {
  it('every namespace flag is EINVAL for root, EPERM for another user (CLONE_NEWUSER: EINVAL)', async () => {
    for (const flag of [CLONE_NEWNS, CLONE_NEWPID, CLONE_NEWNET, CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWCGROUP, CLONE_NEWTIME]) {
      expect(await probe(NR.unshare, [flag], ''), `flag ${flag.toString(16)}`).toBe(E.EINVAL);
      expect(await probe(NR.unshare, [flag], '', user), `flag ${flag.toString(16)} as a user`).toBe(E.EPERM);
    }
    expect(await probe(NR.unshare, [CLONE_NEWUSER], '', user)).toBe(E.EINVAL);
    expect(await probe(NR.unshare, [0x400 | 0x200 | 0x40000], '', user)).toBe(0); // CLONE_FILES|CLONE_FS|CLONE_SYSVSEM
  });

  it('busybox unshare -m reports EINVAL', async () => {
    const r = await runGuest(sh('unshare -m true; echo "status $?"'), { identity: root, mounts });
    expect(r.stdout).toBe('status 1\n');
    expect(r.stderr).toMatch(/Invalid argument/);
  });
});

describe('another user', () => {
  it('mount, umount2 and chroot are EPERM (after the name is looked up)', async () => {
    expect(await probe(NR.mount, ['path', 'path', 'path2', 0, 0], '/tmp', user, 'tmpfs')).toBe(E.EPERM);
    expect(await probe(NR.mount, ['path', 'path', 'path2', 0, 0], '/no/such/dir', user, 'tmpfs')).toBe(E.ENOENT);
    expect(await probe(NR.umount2, ['path', 0], '/tmp', user)).toBe(E.EPERM);
    expect(await probe(NR.chroot, ['path'], '/tmp', user)).toBe(E.EPERM);
    expect(await probe(NR.chroot, ['path'], '/no/such/dir', user)).toBe(E.ENOENT);
  });

  it('busybox mount and chroot say so', async () => {
    const r = await runGuest(sh('mkdir /tmp/m; mount -t tmpfs none /tmp/m; echo "mount $?"; chroot /tmp /bin/busybox true; echo "chroot $?"'), { identity: user, mounts });
    expect(r.stdout).toBe('mount 1\nchroot 1\n');
    // busybox mount's word for EPERM, then chroot's strerror.
    expect(r.stderr).toMatch(/are you root\?[^]*Operation not permitted/);
  });
});

describe('root', () => {
  it('mounts a tmpfs that mount, df and /proc/self/mountinfo list, remounts it read-only and unmounts it', async () => {
    const script = [
      'mkdir /tmp/m',
      'mount -t tmpfs -o size=1m,mode=0700 none /tmp/m && echo mounted',
      'busybox grep " /tmp/m " /proc/mounts',
      'mount | busybox grep -c " /tmp/m "',
      'df /tmp/m | busybox tail -n 1 | busybox awk \'{print $NF}\'',
      'busybox grep -c " /tmp/m .* - tmpfs " /proc/self/mountinfo',
      'busybox stat -c %a /tmp/m',
      'echo hi > /tmp/m/f && cat /tmp/m/f',
      'mount -o remount,ro /tmp/m && busybox grep " /tmp/m " /proc/mounts',
      '(echo x > /tmp/m/g) 2>/dev/null; echo "write $?"',
      'umount /tmp/m; echo "umount $?"',
      'ls /tmp/m | busybox wc -l',
    ].join('\n');
    const r = await runGuest(sh(script), { identity: root, mounts });
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe(['mounted', 'none /tmp/m tmpfs rw 0 0', '1', '/tmp/m', '1', '700', 'hi', 'none /tmp/m tmpfs ro 0 0', 'write 1', 'umount 0', '0', ''].join('\n'));
  });

  it('chroot runs a program in the new root; the root is inherited and /proc/<pid>/root shows it', async () => {
    const script = [
      'mkdir -p /tmp/r/bin /tmp/r/proc && cp /bin/busybox /tmp/r/bin/busybox',
      'echo inside > /tmp/r/file',
      'chroot /tmp/r /bin/busybox sh -c "/bin/busybox pwd; /bin/busybox cat /file; /bin/busybox mount -t proc proc /proc; /bin/busybox readlink /proc/self/root; /bin/busybox readlink /proc/1/root; /bin/busybox umount /proc"',
      'echo "status $?"',
    ].join('\n');
    const r = await runGuest(sh(script), { identity: root, mounts });
    expect(r.stderr).toBe('');
    // pid 1 (the shell outside) has its root outside the reader's: the path from the kernel's root.
    expect(r.stdout).toBe('/\ninside\n/\n/\nstatus 0\n');
  });

  it('what the host mounted stays: no unmounting it, / binds only with its mounts (and /proc), a read-only root stays read-only', async () => {
    const script = [
      'umount /dev; echo "dev $?"',
      'umount /tmp; echo "tmp $?"',
      'mkdir /tmp/mnt',
      'mount --bind / /tmp/mnt 2>/dev/null; echo "bind $?"',
      'mount --rbind / /tmp/mnt; echo "rbind $?"',
      'cat /tmp/mnt/proc/self/comm',
      'ls /tmp/mnt/dev/null',
      'umount /tmp/mnt/dev 2>/dev/null; echo "copy $?"',
      'mount -o remount,rw / 2>/dev/null; echo "remount $?"',
      'mount -o remount,bind,rw /tmp/mnt 2>/dev/null; echo "bind rw $?"',
      'umount -l /tmp/mnt; echo "detach $?"',
      'ls /tmp/mnt | busybox wc -l',
    ].join('\n');
    const r = await runGuest(sh(script), { identity: root, mounts, readOnly: true });
    expect(r.stdout).toBe(['dev 1', 'tmp 1', 'bind 255', 'rbind 0', 'cat', '/tmp/mnt/dev/null', 'copy 1', 'remount 1', 'bind rw 1', 'detach 0', '0', ''].join('\n'));
  });
});
