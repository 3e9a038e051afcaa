import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { E, errno, hostErrno, HostFile, type Mount, type Resolved, type SyscallArgs, type Task } from '@nommu/kernel';
import { lexists, resolveAt } from './files.js';
import { partial, supported, unimplemented, type Family } from './define.js';
import { MemFd } from './memfd.js';

const AT_FDCWD = -100;
const AT_REMOVEDIR = 0x200;
const AT_SYMLINK_FOLLOW = 0x400;
const RENAME_NOREPLACE = 1;
const RENAME_EXCHANGE = 2;

/** Runs a host filesystem call, turning its error into the Linux errno. */
function host<T>(f: () => T): T {
  try {
    return f();
  } catch (err) {
    throw hostErrno(err);
  }
}

/** Writes to a name need its mount writable (EROFS otherwise). */
function writable(r: Resolved): void {
  if (r.mount?.readOnly) throw errno(E.EROFS);
}

/** Writes through a descriptor need its mount writable. */
function writableFile(task: Task, f: HostFile): void {
  if (f.mount?.readOnly ?? task.kernel.vfs.readOnly) throw errno(E.EROFS);
}

/** rename and link stay within one mount (EXDEV), and a mount point itself is busy. */
function sameMount(task: Task, from: Resolved, to: Resolved): void {
  const vfs = task.kernel.vfs;
  if (vfs.entryMount(from) !== vfs.entryMount(to)) throw errno(E.EXDEV);
  if (vfs.isMountPoint(from) || vfs.isMountPoint(to)) throw errno(E.EBUSY);
}

function path(task: Task, addr: number): string {
  return task.kernel.mem.cstring(addr);
}

function unlinkat(task: Task, dirfd: number, p: string, flags: number) {
  if ((flags & ~AT_REMOVEDIR) !== 0) throw errno(E.EINVAL);
  // Linux refuses to remove a directory named by its own "." or "..", before looking anything up.
  const last = p.replace(/\/+$/, '').split('/').pop();
  if ((flags & AT_REMOVEDIR) !== 0 && (last === '.' || last === '..')) throw errno(last === '.' ? E.EINVAL : E.ENOTEMPTY);
  const r = resolveAt(task, dirfd, p, false);
  if (r.node) throw errno(E.EACCES);
  if (task.kernel.vfs.isMountPoint(r)) throw errno(E.EBUSY);
  writable(r);
  const st = host(() => fs.lstatSync(r.host));
  if ((flags & AT_REMOVEDIR) !== 0) {
    if (!st.isDirectory()) throw errno(E.ENOTDIR);
    host(() => fs.rmdirSync(r.host));
  } else {
    if (st.isDirectory()) throw errno(E.EISDIR);
    host(() => fs.unlinkSync(r.host));
  }
  return 0;
}

function mkdirat(task: Task, dirfd: number, p: string, mode: number) {
  const r = resolveAt(task, dirfd, p, false);
  if (r.node) throw errno(E.EEXIST);
  writable(r);
  host(() => fs.mkdirSync(r.host, mode & ~task.process.umask & 0o7777));
  return 0;
}

const S_IFMT = 0o170000;
const S_IFREG = 0o100000;
const S_IFIFO = 0o010000;
const S_IFCHR = 0o020000;
const S_IFBLK = 0o060000;
const S_IFSOCK = 0o140000;

/**
 * mknod: regular files and FIFOs. A FIFO is a host FIFO node that only names
 * it (open never opens it on the host: a kernel pipe carries the data). Node
 * has no mkfifo, so the host's mkfifo(1) makes the node. Device nodes would be
 * host devices: refused with EPERM, as for an unprivileged user.
 */
function mknodat(task: Task, dirfd: number, p: string, mode: number) {
  const type = mode & S_IFMT;
  const perm = mode & ~task.process.umask & 0o7777;
  if (type !== 0 && type !== S_IFREG && type !== S_IFIFO && type !== S_IFCHR && type !== S_IFBLK && type !== S_IFSOCK) {
    throw errno(E.EINVAL);
  }
  const r = resolveAt(task, dirfd, p, false);
  if (r.node) throw errno(E.EEXIST);
  writable(r);
  if (lexists(r.host)) throw errno(E.EEXIST);
  if (type === S_IFCHR || type === S_IFBLK || type === S_IFSOCK) throw errno(E.EPERM);
  if (type === S_IFIFO) {
    try {
      execFileSync('mkfifo', ['-m', perm.toString(8), '--', r.host], { stdio: 'ignore' });
    } catch {
      throw errno(E.EACCES);
    }
    return 0;
  }
  host(() => fs.closeSync(fs.openSync(r.host, fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_WRONLY, perm)));
  return 0;
}

function renameat2(task: Task, olddir: number, oldp: string, newdir: number, newp: string, flags: number) {
  if ((flags & ~(RENAME_NOREPLACE | RENAME_EXCHANGE)) !== 0 || flags === (RENAME_NOREPLACE | RENAME_EXCHANGE)) {
    throw errno(E.EINVAL);
  }
  const from = resolveAt(task, olddir, oldp, false);
  const to = resolveAt(task, newdir, newp, false);
  if (from.node || to.node) throw errno(from.node && to.node ? E.EACCES : E.EXDEV);
  sameMount(task, from, to);
  writable(from);
  host(() => fs.lstatSync(from.host));
  if ((flags & RENAME_NOREPLACE) !== 0 && lexists(to.host)) throw errno(E.EEXIST);
  if ((flags & RENAME_EXCHANGE) !== 0) {
    host(() => fs.lstatSync(to.host));
    const tmp = `${to.host}.nommu-exchange-${process.pid}`;
    host(() => fs.renameSync(to.host, tmp));
    host(() => fs.renameSync(from.host, to.host));
    host(() => fs.renameSync(tmp, from.host));
    return 0;
  }
  host(() => fs.renameSync(from.host, to.host));
  return 0;
}

function symlinkat(task: Task, target: string, dirfd: number, p: string) {
  const r = resolveAt(task, dirfd, p, false);
  if (r.node) throw errno(E.EEXIST);
  writable(r);
  host(() => fs.symlinkSync(target, r.host));
  return 0;
}

function linkat(task: Task, olddir: number, oldp: string, newdir: number, newp: string, flags: number) {
  const from = resolveAt(task, olddir, oldp, (flags & AT_SYMLINK_FOLLOW) !== 0);
  const to = resolveAt(task, newdir, newp, false);
  if (from.node || to.node) throw errno(from.node && to.node ? E.EPERM : E.EXDEV);
  sameMount(task, from, to);
  writable(to);
  host(() => fs.linkSync(from.host, to.host));
  return 0;
}

function fchmodat(task: Task, dirfd: number, p: string, mode: number) {
  const r = resolveAt(task, dirfd, p, true);
  if (r.node) throw errno(E.EPERM);
  writable(r);
  host(() => fs.chmodSync(r.host, mode & 0o7777));
  return 0;
}

const AT_SYMLINK_NOFOLLOW = 0x100;
const AT_EMPTY_PATH = 0x1000;

/**
 * chown's permission rule (Linux chown_ok/chgrp_ok) for the guest identity:
 * root may do anything; anyone else must own the file, may not give it away,
 * and may only hand it to their own group (there are no supplementary groups).
 * The host then applies its own rule for the user nommu runs as.
 */
function checkChown(task: Task, st: fs.Stats, uid: number, gid: number): void {
  const { euid, egid } = task.kernel.identity;
  if (euid === 0) return;
  const owner = st.uid === euid;
  if (uid !== -1 && !(owner && uid === st.uid)) throw errno(E.EPERM);
  if (gid !== -1 && !(owner && (gid === egid || gid === st.gid))) throw errno(E.EPERM);
}

/** A uid_t/gid_t argument: (uid_t)-1, "leave unchanged", as -1. */
const id = (v: number): number => (v === 0xffff_ffff ? -1 : v);

/** fchownat and friends; -1 leaves an id unchanged. */
function fchownat(task: Task, dirfd: number, p: string, uid: number, gid: number, flags: number) {
  if ((flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH)) !== 0) throw errno(E.EINVAL);
  if (p === '' && (flags & AT_EMPTY_PATH) !== 0) return fchown(task, dirfd, uid, gid);
  const follow = (flags & AT_SYMLINK_NOFOLLOW) === 0;
  const r = resolveAt(task, dirfd, p, follow);
  if (r.node) throw errno(E.EPERM);
  writable(r);
  checkChown(task, host(() => (follow ? fs.statSync(r.host) : fs.lstatSync(r.host))), uid, gid);
  host(() => (follow ? fs.chownSync(r.host, uid, gid) : fs.lchownSync(r.host, uid, gid)));
  return 0;
}

function fchown(task: Task, fd: number, uid: number, gid: number) {
  const f = hostFile(task, fd);
  writableFile(task, f);
  checkChown(task, host(() => fs.fstatSync(f.fd)), uid, gid);
  host(() => fs.fchownSync(f.fd, uid, gid));
  return 0;
}

const PROC_SUPER_MAGIC = 0x9fa0;
const TMPFS_MAGIC = 0x01021994;
const ST_RDONLY = 1;
const SIZEOF_STATFS = 120;

/**
 * struct statfs of the mount behind a name: /proc's own when `mount` is null;
 * else the host filesystem's figures, with tmpfs's magic for a tmpfs, the
 * mount's read-only flag and its device number as f_fsid.
 */
function writeStatfs(task: Task, addr: number, mount: Mount | null, hostPath: string) {
  const buf = Buffer.alloc(SIZEOF_STATFS);
  if (mount === null) {
    buf.writeBigInt64LE(BigInt(PROC_SUPER_MAGIC), 0);
    buf.writeBigInt64LE(4096n, 8);
    buf.writeBigInt64LE(4096n, 72);
  } else {
    const st = host(() => fs.statfsSync(hostPath, { bigint: true }));
    buf.writeBigInt64LE(mount.kind === 'tmpfs' ? BigInt(TMPFS_MAGIC) : st.type, 0);
    buf.writeBigInt64LE(st.bsize, 8);
    buf.writeBigUInt64LE(st.blocks, 16);
    buf.writeBigUInt64LE(st.bfree, 24);
    buf.writeBigUInt64LE(st.bavail, 32);
    buf.writeBigUInt64LE(st.files, 40);
    buf.writeBigUInt64LE(st.ffree, 48);
    if (mount.kind !== 'root') buf.writeUInt32LE(mount.devOf(Number(host(() => fs.statSync(hostPath)).dev)), 56); // f_fsid
    buf.writeBigInt64LE(st.bsize, 72); // f_frsize
  }
  buf.writeBigInt64LE(255n, 64); // f_namelen
  buf.writeBigInt64LE(mount?.readOnly ? BigInt(ST_RDONLY) : 0n, 80);
  task.kernel.mem.copyOut(addr, buf);
  return 0;
}

function statfs(task: Task, a: SyscallArgs) {
  const r = resolveAt(task, AT_FDCWD, path(task, a.ptr(0)), true);
  return writeStatfs(task, a.ptr(1), r.node ? null : r.mount, r.host);
}

function fstatfs(task: Task, a: SyscallArgs) {
  const f = task.process.files.get(a.int(0));
  if (f instanceof HostFile) return writeStatfs(task, a.ptr(1), f.mount ?? task.kernel.vfs.mounts[0]!, f.hostPath);
  if (f.guestPath.startsWith('/proc/')) return writeStatfs(task, a.ptr(1), null, '');
  throw errno(E.ENOSYS);
}

function hostFile(task: Task, fd: number): HostFile {
  const f = task.process.files.get(fd);
  if (!(f instanceof HostFile)) throw errno(E.EINVAL);
  return f;
}

function ftruncate(task: Task, a: SyscallArgs) {
  const f = hostFile(task, a.int(0));
  if (!f.writable) throw errno(E.EINVAL);
  const len = a.long(1);
  if (len < 0) throw errno(E.EINVAL);
  if (f instanceof MemFd) f.checkResize(len);
  host(() => fs.ftruncateSync(f.fd, len));
  return 0;
}

function truncate(task: Task, a: SyscallArgs) {
  const r = resolveAt(task, AT_FDCWD, path(task, a.ptr(0)), true);
  if (r.node) throw errno(E.EACCES);
  writable(r);
  const len = a.long(1);
  if (len < 0) throw errno(E.EINVAL);
  host(() => fs.truncateSync(r.host, len));
  return 0;
}

function fsync(task: Task, a: SyscallArgs) {
  const f = task.process.files.get(a.int(0));
  if (f instanceof HostFile) host(() => fs.fsyncSync(f.fd));
  return 0;
}

function chdirFd(task: Task, a: SyscallArgs) {
  const f = task.process.files.get(a.int(0));
  if (!(f instanceof HostFile) || !host(() => fs.fstatSync(f.fd)).isDirectory()) throw errno(E.ENOTDIR);
  task.process.cwd = f.guestPath;
  return 0;
}

const UTIME_NOW = (1 << 30) - 1;
const UTIME_OMIT = (1 << 30) - 2;

/** utimensat: times from a timespec[2] (NULL: now), with UTIME_NOW/UTIME_OMIT. */
function utimensat(task: Task, a: SyscallArgs) {
  const k = task.kernel;
  const dirfd = a.int(0);
  const pathAddr = a.ptr(1);
  const times = a.ptr(2);
  const flags = a.int(3);
  if ((flags & ~(0x100 | 0x1000)) !== 0) throw errno(E.EINVAL);
  let target: string;
  let fd: number | null = null;
  if (pathAddr === 0) {
    const f = task.process.files.get(dirfd);
    if (!(f instanceof HostFile)) throw errno(E.EINVAL);
    writableFile(task, f);
    fd = f.fd;
    target = f.hostPath;
  } else {
    const r = resolveAt(task, dirfd, path(task, pathAddr), (flags & 0x100) === 0);
    if (r.node) throw errno(E.EACCES);
    writable(r);
    target = r.host;
  }
  const st = target !== '' ? host(() => fs.lstatSync(target, { bigint: true })) : null;
  const now = Number(k.clock.realtime()) / 1e9;
  const pick = (i: number, old: bigint | undefined): number => {
    if (times === 0) return now;
    const nsec = Number(k.mem.i64(times + i * 16 + 8));
    if (nsec === UTIME_NOW) return now;
    if (nsec === UTIME_OMIT) return Number(old ?? 0n) / 1e9;
    if (nsec < 0 || nsec >= 1e9) throw errno(E.EINVAL);
    return Number(k.mem.i64(times + i * 16)) + nsec / 1e9;
  };
  const atime = pick(0, st?.atimeNs);
  const mtime = pick(1, st?.mtimeNs);
  host(() => (fd !== null ? fs.futimesSync(fd, atime, mtime) : (flags & 0x100) !== 0 ? fs.lutimesSync(target, atime, mtime) : fs.utimesSync(target, atime, mtime)));
  return 0;
}

export const fsOps: Family = {
  unlink: supported((t, a) => unlinkat(t, AT_FDCWD, path(t, a.ptr(0)), 0)),
  unlinkat: supported((t, a) => unlinkat(t, a.int(0), path(t, a.ptr(1)), a.int(2))),
  rmdir: supported((t, a) => unlinkat(t, AT_FDCWD, path(t, a.ptr(0)), AT_REMOVEDIR)),
  mkdir: supported((t, a) => mkdirat(t, AT_FDCWD, path(t, a.ptr(0)), a.uint(1))),
  mkdirat: supported((t, a) => mkdirat(t, a.int(0), path(t, a.ptr(1)), a.uint(2))),
  mknod: partial('regular files and FIFOs (made with the host mkfifo); device and socket nodes answer EPERM', (t, a) =>
    mknodat(t, AT_FDCWD, path(t, a.ptr(0)), a.uint(1)),
  ),
  mknodat: partial('regular files and FIFOs (made with the host mkfifo); device and socket nodes answer EPERM', (t, a) =>
    mknodat(t, a.int(0), path(t, a.ptr(1)), a.uint(2)),
  ),
  rename: supported((t, a) => renameat2(t, AT_FDCWD, path(t, a.ptr(0)), AT_FDCWD, path(t, a.ptr(1)), 0)),
  renameat: supported((t, a) => renameat2(t, a.int(0), path(t, a.ptr(1)), a.int(2), path(t, a.ptr(3)), 0)),
  renameat2: supported((t, a) => renameat2(t, a.int(0), path(t, a.ptr(1)), a.int(2), path(t, a.ptr(3)), a.uint(4))),
  symlink: supported((t, a) => symlinkat(t, path(t, a.ptr(0)), AT_FDCWD, path(t, a.ptr(1)))),
  symlinkat: supported((t, a) => symlinkat(t, path(t, a.ptr(0)), a.int(1), path(t, a.ptr(2)))),
  link: supported((t, a) => linkat(t, AT_FDCWD, path(t, a.ptr(0)), AT_FDCWD, path(t, a.ptr(1)), 0)),
  linkat: supported((t, a) => linkat(t, a.int(0), path(t, a.ptr(1)), a.int(2), path(t, a.ptr(3)), a.int(4))),
  chmod: supported((t, a) => fchmodat(t, AT_FDCWD, path(t, a.ptr(0)), a.uint(1))),
  fchmodat: supported((t, a) => fchmodat(t, a.int(0), path(t, a.ptr(1)), a.uint(2))),
  fchmod: supported((t, a) => {
    const f = hostFile(t, a.int(0));
    writableFile(t, f);
    host(() => fs.fchmodSync(f.fd, a.uint(1) & 0o7777));
    return 0;
  }),
  chown: supported((t, a) => fchownat(t, AT_FDCWD, path(t, a.ptr(0)), id(a.uint(1)), id(a.uint(2)), 0)),
  lchown: supported((t, a) => fchownat(t, AT_FDCWD, path(t, a.ptr(0)), id(a.uint(1)), id(a.uint(2)), AT_SYMLINK_NOFOLLOW)),
  fchownat: supported((t, a) => fchownat(t, a.int(0), path(t, a.ptr(1)), id(a.uint(2)), id(a.uint(3)), a.int(4))),
  fchown: supported((t, a) => fchown(t, a.int(0), id(a.uint(1)), id(a.uint(2)))),
  statfs: partial("per mount: the host filesystem's figures (a tmpfs's magic for a tmpfs); f_fsid is the mount's device (zero on the root), f_namelen 255, f_flags only ST_RDONLY", statfs),
  fstatfs: partial('files on host filesystems and /proc; pipes, sockets and devices answer ENOSYS', fstatfs),
  ftruncate: supported(ftruncate),
  truncate: supported(truncate),
  fsync: supported(fsync),
  fdatasync: supported(fsync),
  sync: supported(() => 0),
  fchdir: supported(chdirFd),
  utimensat: supported(utimensat),
  ...Object.fromEntries(
    ['getxattr', 'lgetxattr', 'fgetxattr', 'listxattr', 'llistxattr', 'flistxattr', 'setxattr', 'lsetxattr', 'fsetxattr', 'removexattr', 'lremovexattr', 'fremovexattr'].map(
      (n) => [n, unimplemented('extended attributes are not supported by the guest filesystem', E.EOPNOTSUPP)],
    ),
  ),
};

