/**
 * chown family, statfs and rmdir on a real kernel: busybox under the Linux table
 * against the same busybox natively, in a scratch directory. The permission
 * rules for an unprivileged guest need a root host to set ownership up.
 */
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { guest, native, sh } from './guest.js';

const hostIsRoot = process.getuid?.() === 0;
let dir = '';
beforeEach(() => {
  dir = fs.mkdtempSync(join(tmpdir(), 'nommu-fsops-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Empties the scratch directory between the native and the guest run. */
function reset(): void {
  for (const e of fs.readdirSync(dir)) fs.rmSync(join(dir, e), { recursive: true, force: true });
}

describe('chown, lchown, fchownat', () => {
  it.skipIf(!hostIsRoot)('change owner and group, of a link or its target, as root does natively', async () => {
    const args = sh("echo x > f; chown 1000:1001 f; stat -c '%u %g' f; chgrp 0 f; stat -c '%u %g' f; ln -s f l; chown -h 5 l; stat -c %u l f; chown 7 l; stat -c %u l f; chown -R 3:4 .; stat -c '%u %g' f l; chown 1 nofile");
    const ref = native(args, dir);
    expect(ref.out).toBe('1000 1001\n1000 0\n5\n1000\n5\n7\n3 4\n3 4\n');
    reset();
    expect(await guest(args, { cwd: dir })).toEqual(ref);
  });

  it.skipIf(!hostIsRoot)('let a non-root owner give a file only to their own group (EPERM otherwise)', async () => {
    // The host user (root here) and the guest identity (1000) trade places (Kernel.owners):
    // the host's root file is the guest's own, the host's 1000 file is the guest's root's.
    fs.writeFileSync(join(dir, 'mine'), '');
    fs.writeFileSync(join(dir, 'theirs'), '');
    fs.chownSync(join(dir, 'theirs'), 1000, 1000);
    const r = await guest(
      sh('chown 1000 mine; echo $?; chgrp 1000 mine; echo $?; chown 0 mine; echo $?; chgrp 0 mine; echo $?; chgrp 1000 theirs; echo $?; stat -c "%u %g" mine theirs'),
      { cwd: dir, identity: { uid: 1000, euid: 1000, gid: 1000, egid: 1000 } },
    );
    expect(r.out).toBe('0\n0\n1\n1\n1\n1000 1000\n0 0\n');
    expect(r.err.match(/Operation not permitted/g)).toHaveLength(3);
    expect(fs.statSync(join(dir, 'mine'))).toMatchObject({ uid: 0, gid: 0 });
    expect(fs.statSync(join(dir, 'theirs'))).toMatchObject({ uid: 1000, gid: 1000 });
  });

  it('answer EROFS on a read-only root', async () => {
    fs.writeFileSync(join(dir, 'f'), '');
    const r = await guest(sh('chown 0 f; chgrp -h 0 f'), { cwd: dir, readOnly: true });
    expect(r.err).toBe("chown: f: Read-only file system\nchgrp: f: Read-only file system\n");
    expect(r.code).toBe(1);
  });
});

describe('statfs', () => {
  it('reports the host filesystem of a directory and proc for /proc', async () => {
    const args = sh("stat -f -c '%T %l %s %S' .; stat -f -c %T /proc/self /proc/self/status; stat -f nofile");
    const ref = native(args, dir);
    expect(ref.out).toMatch(/ 255 \d+ \d+\nproc\nproc\n$/);
    expect(await guest(args, { cwd: dir })).toEqual(ref);
  });
});

describe('rmdir', () => {
  it('refuses a path ending in "." (EINVAL) or ".." (ENOTEMPTY) and keeps the directory', async () => {
    const args = sh('mkdir -p a/b; rmdir a/b/.; echo rc=$?; rmdir a/b/..; echo rc=$?; ls a');
    const ref = native(args, dir);
    expect(ref.out).toBe('rc=1\nrc=1\nb\n');
    reset();
    expect(await guest(args, { cwd: dir })).toEqual(ref);
  });
});
