import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { DeviceFile, E, errno, fsnotify, hostErrno, HostFile, IN, notPath, PathFile, PipeEnd, realtimeNs, Socket, stat, StreamFile, SyntheticFile, type Mount, type OpenFile, type Resolved, type SyscallArgs, type Task } from '@nommu/kernel';
import { dirPath, lexists, linkableTmpfile, resolveAt, resolveFile } from './files.js';
import { partial, supported, type Family } from './define.js';
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
  const gone = fsnotify.inodeAt(task.kernel, r.host);
  if ((flags & AT_REMOVEDIR) !== 0) {
    if (!st.isDirectory()) throw errno(E.ENOTDIR);
    try {
      host(() => fs.rmdirSync(r.host));
    } finally {
      task.kernel.vfs.forgetDirs();
    }
  } else {
    if (st.isDirectory()) throw errno(E.EISDIR);
    host(() => fs.unlinkSync(r.host));
  }
  fsnotify.notifyRemove(task.kernel, r.host, gone);
  return 0;
}

function mkdirat(task: Task, dirfd: number, p: string, mode: number) {
  const r = resolveAt(task, dirfd, p, false);
  if (r.node) throw errno(E.EEXIST);
  writable(r);
  host(() => fs.mkdirSync(r.host, mode & ~task.process.umask & 0o7777));
  fsnotify.notifyCreate(task.kernel, r.host);
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
    fsnotify.notifyCreate(task.kernel, r.host);
    return 0;
  }
  host(() => fs.closeSync(fs.openSync(r.host, fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_WRONLY, perm)));
  fsnotify.notifyCreate(task.kernel, r.host);
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
  const moved = fsnotify.inodeAt(task.kernel, from.host);
  const replaced = moved && fsnotify.inodeAt(task.kernel, to.host);
  try {
    if ((flags & RENAME_EXCHANGE) !== 0) {
      host(() => fs.lstatSync(to.host));
      exchange(from.host, to.host);
    } else {
      host(() => fs.renameSync(from.host, to.host));
    }
  } finally {
    // What was a directory at either name (or below it) may be anything now.
    task.kernel.vfs.forgetDirs();
  }
  fsnotify.notifyRename(task.kernel, from.host, to.host, moved, replaced, (flags & RENAME_EXCHANGE) !== 0);
  return 0;
}

/** renameat2's syscall number on the host, by Node's architecture (what `exchange` asks the host for). */
const HOST_RENAMEAT2: Partial<Record<string, number>> = { x64: 316, arm64: 276, riscv64: 276, loong64: 276 };

/**
 * RENAME_EXCHANGE, atomic as on Linux: Node has no renameat2, so the host's
 * perl makes the one syscall (renameat2(AT_FDCWD, a, AT_FDCWD, b,
 * RENAME_EXCHANGE)) and exits with its errno. Without perl, or where the host
 * filesystem has no exchange, the answer is the host's (EINVAL as Linux
 * gives for a filesystem without it); the names are never swapped by steps.
 */
function exchange(a: string, b: string): void {
  const nr = HOST_RENAMEAT2[process.arch];
  if (nr === undefined) throw errno(E.EINVAL);
  const script = `exit(syscall(${nr}, -100, $ARGV[0], -100, $ARGV[1], ${RENAME_EXCHANGE}) == 0 ? 0 : $! + 0)`;
  const r = spawnSync('perl', ['-e', script, a, b], { stdio: 'ignore' });
  if (r.error) throw errno(E.EINVAL);
  if (r.status !== 0) throw errno(r.status ?? E.EIO);
}

function symlinkat(task: Task, target: string, dirfd: number, p: string) {
  const r = resolveAt(task, dirfd, p, false);
  if (r.node) throw errno(E.EEXIST);
  writable(r);
  host(() => fs.symlinkSync(target, r.host));
  fsnotify.notifyCreate(task.kernel, r.host);
  return 0;
}

function linkat(task: Task, olddir: number, oldp: string, newdir: number, newp: string, flags: number) {
  if ((flags & ~(AT_SYMLINK_FOLLOW | AT_EMPTY_PATH)) !== 0) throw errno(E.EINVAL);
  if (oldp === '' && (flags & AT_EMPTY_PATH) !== 0) {
    // Linking a descriptor's file needs CAP_DAC_READ_SEARCH (root here), else ENOENT as Linux answers.
    if (task.kernel.identity.euid !== 0) throw errno(E.ENOENT);
    const file = olddir === AT_FDCWD ? null : task.process.files.get(olddir);
    if (!file) throw errno(E.EPERM); // the cwd: a directory
    return linkFile(task, file, resolveAt(task, newdir, newp, false));
  }
  const from = resolveAt(task, olddir, oldp, (flags & AT_SYMLINK_FOLLOW) !== 0);
  const to = resolveAt(task, newdir, newp, false);
  // /proc/PID/fd/N followed: the open file itself (how an O_TMPFILE file gets its name).
  if (from.node?.kind === 'symlink' && from.node.file) return linkFile(task, from.node.file, to);
  if (from.node || to.node) throw errno(from.node && to.node ? E.EPERM : E.EXDEV);
  sameMount(task, from, to);
  writable(to);
  host(() => fs.linkSync(from.host, to.host));
  fsnotify.notifyLink(task.kernel, to.host);
  return 0;
}

/**
 * A new name for an open file (linkat with AT_EMPTY_PATH or through
 * /proc/PID/fd/N): an O_PATH name is linked by its host name; an open host
 * file by its inode, which Node cannot name: the host's ln(1) links our
 * descriptor's /proc/PID/fd link with AT_SYMLINK_FOLLOW. A file with no name
 * left can get one only if it is an O_TMPFILE file opened without O_EXCL.
 */
function linkFile(task: Task, file: OpenFile, to: Resolved) {
  const vfs = task.kernel.vfs;
  if (to.node) throw errno(E.EXDEV);
  const st = file.stat();
  if ((st.mode & stat.S_IFMT) === stat.S_IFDIR) throw errno(E.EPERM);
  const mount = file instanceof PathFile || file instanceof HostFile ? file.mount : null;
  if (mount === null || (file instanceof PathFile && file.hostPath === '')) throw errno(E.EXDEV);
  if (vfs.entryMount(to) !== mount) throw errno(E.EXDEV);
  writable(to);
  if (lexists(to.host)) throw errno(E.EEXIST);
  if (file instanceof PathFile) {
    const now = host(() => fs.lstatSync(file.hostPath, { bigint: true }));
    if (Number(now.ino) !== st.ino) throw errno(E.ENOENT);
    host(() => fs.linkSync(file.hostPath, to.host));
    fsnotify.notifyLink(task.kernel, to.host);
    return 0;
  }
  const f = file as HostFile;
  if (st.nlink === 0 && !linkableTmpfile(f)) throw errno(E.ENOENT);
  const r = spawnSync('ln', ['-L', '-T', '--', `/proc/${process.pid}/fd/${f.fd}`, to.host], { encoding: 'utf8', stdio: ['ignore', 'ignore', 'pipe'] });
  if (r.error) throw errno(E.EOPNOTSUPP);
  if (r.status !== 0) throw errno(lnErrno(r.stderr ?? ''));
  fsnotify.notifyLink(task.kernel, to.host);
  return 0;
}

/** The errno behind ln(1)'s message (it prints strerror's text). */
function lnErrno(message: string): number {
  const known: [string, number][] = [
    ['File exists', E.EEXIST],
    ['No such file', E.ENOENT],
    ['Permission denied', E.EACCES],
    ['Operation not permitted', E.EPERM],
    ['cross-device', E.EXDEV],
    ['No space', E.ENOSPC],
    ['Too many links', E.EMLINK],
    ['Read-only', E.EROFS],
  ];
  return known.find(([text]) => message.includes(text))?.[1] ?? E.EIO;
}

function fchmodat(task: Task, dirfd: number, p: string, mode: number) {
  const r = resolveFile(task, dirfd, p, true);
  if (r.node) throw errno(E.EPERM);
  writable(r);
  host(() => fs.chmodSync(r.host, mode & 0o7777));
  fsnotify.notifyPath(task.kernel, r.host, IN.ATTRIB);
  return 0;
}

const AT_SYMLINK_NOFOLLOW = 0x100;
const AT_EMPTY_PATH = 0x1000;

/** A symlink's mode cannot change (Linux's notify_change answers EOPNOTSUPP since 6.6). */
function notSymlink(hostPath: string): void {
  if (host(() => fs.lstatSync(hostPath)).isSymbolicLink()) throw errno(E.EOPNOTSUPP);
}

/**
 * fchmodat2: fchmodat with flags. AT_SYMLINK_NOFOLLOW changes a final
 * symlink itself, which Linux refuses (EOPNOTSUPP); AT_EMPTY_PATH with ""
 * changes the descriptor's file (an O_PATH one by the name it holds).
 */
function fchmodat2(task: Task, dirfd: number, p: string, mode: number, flags: number) {
  if ((flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH)) !== 0) throw errno(E.EINVAL);
  if (p === '' && (flags & AT_EMPTY_PATH) !== 0) {
    const f = dirfd === AT_FDCWD ? null : task.process.files.get(dirfd);
    if (f === null) return fchmodat2(task, AT_FDCWD, '.', mode, flags & ~AT_EMPTY_PATH);
    if (f instanceof PathFile && f.hostPath !== '') {
      if (f.mount?.readOnly) throw errno(E.EROFS);
      notSymlink(f.hostPath);
      host(() => fs.chmodSync(f.hostPath, mode & 0o7777));
      fsnotify.notifyPath(task.kernel, f.hostPath, IN.ATTRIB, false);
      return 0;
    }
    const hf = hostFile(task, dirfd, false);
    writableFile(task, hf);
    host(() => fs.fchmodSync(hf.fd, mode & 0o7777));
    fsnotify.notifyFile(task, hf, IN.ATTRIB);
    return 0;
  }
  if ((flags & AT_SYMLINK_NOFOLLOW) === 0) return fchmodat(task, dirfd, p, mode);
  const r = resolveFile(task, dirfd, p, false);
  if (r.node) throw errno(r.node.kind === 'symlink' ? E.EOPNOTSUPP : E.EPERM);
  writable(r);
  notSymlink(r.host);
  host(() => fs.chmodSync(r.host, mode & 0o7777));
  fsnotify.notifyPath(task.kernel, r.host, IN.ATTRIB, false);
  return 0;
}

/**
 * chown's permission rule (Linux chown_ok/chgrp_ok) for the guest identity:
 * root may do anything; anyone else must own the file, may not give it away,
 * and may only hand it to their own group (there are no supplementary groups).
 * The host then applies its own rule for the user nommu runs as. `hostSt` is
 * the file's host stat, uid and gid are guest ids (-1: unchanged); returns
 * the host ids to chown to (Kernel.owners).
 */
function checkChown(task: Task, hostSt: fs.Stats, uid: number, gid: number): [number, number] {
  const k = task.kernel;
  const { euid, egid } = k.identity;
  const hostIds: [number, number] = [k.owners.toHostUid(uid), k.owners.toHostGid(gid)];
  if (euid === 0) return hostIds;
  const fileUid = k.owners.guestUidOf(hostSt.uid);
  const owner = fileUid === euid;
  if (uid !== -1 && !(owner && uid === fileUid)) throw errno(E.EPERM);
  if (gid !== -1 && !(owner && (gid === egid || gid === k.owners.guestGidOf(hostSt.gid)))) throw errno(E.EPERM);
  return hostIds;
}

/** A uid_t/gid_t argument: (uid_t)-1, "leave unchanged", as -1. */
const id = (v: number): number => (v === 0xffff_ffff ? -1 : v);

/** fchownat and friends; -1 leaves an id unchanged. */
function fchownat(task: Task, dirfd: number, p: string, uid: number, gid: number, flags: number) {
  if ((flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH)) !== 0) throw errno(E.EINVAL);
  if (p === '' && (flags & AT_EMPTY_PATH) !== 0) {
    const f = dirfd === AT_FDCWD ? null : task.process.files.get(dirfd);
    // An O_PATH descriptor is changed by the name it holds (never following it: it may be a symlink).
    if (f instanceof PathFile && f.hostPath !== '') {
      if (f.mount?.readOnly) throw errno(E.EROFS);
      const [hu, hg] = checkChown(task, host(() => fs.lstatSync(f.hostPath)), uid, gid);
      host(() => fs.lchownSync(f.hostPath, hu, hg));
      if (uid !== -1 || gid !== -1) fsnotify.notifyPath(task.kernel, f.hostPath, IN.ATTRIB, false);
      return 0;
    }
    if (f === null) return fchownat(task, AT_FDCWD, '.', uid, gid, flags & ~AT_EMPTY_PATH);
    return fchown(task, dirfd, uid, gid, true);
  }
  const follow = (flags & AT_SYMLINK_NOFOLLOW) === 0;
  const r = resolveFile(task, dirfd, p, follow);
  if (r.node) throw errno(E.EPERM);
  writable(r);
  const [hu, hg] = checkChown(task, host(() => (follow ? fs.statSync(r.host) : fs.lstatSync(r.host))), uid, gid);
  host(() => (follow ? fs.chownSync(r.host, hu, hg) : fs.lchownSync(r.host, hu, hg)));
  if (uid !== -1 || gid !== -1) fsnotify.notifyPath(task.kernel, r.host, IN.ATTRIB, follow);
  return 0;
}

function fchown(task: Task, fd: number, uid: number, gid: number, raw = false) {
  const f = hostFile(task, fd, !raw);
  writableFile(task, f);
  const [hu, hg] = checkChown(task, host(() => fs.fstatSync(f.fd)), uid, gid);
  host(() => fs.fchownSync(f.fd, hu, hg));
  if (uid !== -1 || gid !== -1) fsnotify.notifyFile(task, f, IN.ATTRIB);
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
  const addr = a.ptr(1);
  if (!r.node) return writeStatfs(task, addr, r.mount, r.host);
  // /proc/PID/fd/N followed: the open file's filesystem; a /dev name: devtmpfs's.
  if (r.node.kind === 'symlink' && r.node.file) return statfsOfFile(task, addr, r.node.file);
  const vfs = task.kernel.vfs;
  const kind = vfs.mountOf(r.guest.split('/').filter((c) => c !== '')).kind;
  if (kind === 'devfs' || kind === 'devpts') return writeMagicStatfs(task, addr, kind === 'devpts' ? DEVPTS_SUPER_MAGIC : TMPFS_MAGIC);
  return writeStatfs(task, addr, null, '');
}

const PIPEFS_MAGIC = 0x50495045;
const SOCKFS_MAGIC = 0x534f434b;
const ANON_INODE_FS_MAGIC = 0x09041934;
const DEVPTS_SUPER_MAGIC = 0x1cd1;

/** Is a name of the kernel's /dev in its devpts directory? */
function isDevpts(guest: string): boolean {
  return guest === '/dev/pts' || guest.startsWith('/dev/pts/');
}

/** struct statfs of a kernel filesystem with no blocks (pipefs, sockfs, anon inodes, devtmpfs). */
function writeMagicStatfs(task: Task, addr: number, magic: number) {
  const buf = Buffer.alloc(SIZEOF_STATFS);
  buf.writeBigInt64LE(BigInt(magic), 0);
  buf.writeBigInt64LE(4096n, 8);
  buf.writeBigInt64LE(255n, 64);
  buf.writeBigInt64LE(4096n, 72);
  task.kernel.mem.copyOut(addr, buf);
  return 0;
}

/** fstatfs: the filesystem the open file lives on, kernel files included (pipes, sockets, devices, event files). */
function fstatfs(task: Task, a: SyscallArgs) {
  return statfsOfFile(task, a.ptr(1), task.process.files.get(a.int(0)));
}

function statfsOfFile(task: Task, addr: number, f: OpenFile) {
  if (f instanceof HostFile) return writeStatfs(task, addr, f.mount ?? task.kernel.vfs.mounts[0]!, f.hostPath);
  if (f instanceof PathFile && f.hostPath !== '') return writeStatfs(task, addr, f.mount ?? task.kernel.vfs.mounts[0]!, f.hostPath);
  if (f.guestPath.startsWith('/proc/') && (f instanceof SyntheticFile || f instanceof PathFile)) return writeStatfs(task, addr, null, '');
  // A FIFO lives on the filesystem of its name.
  if (f instanceof PipeEnd && f.pipe.fifo) {
    const fifo = f.pipe.fifo;
    const r = lexists(fifo.host) ? task.kernel.vfs.resolve('/', fifo.guest, false, task.process, { globalRoot: true }) : null;
    if (r && !r.node && r.host === fifo.host) return writeStatfs(task, addr, r.mount, r.host);
  }
  // Pseudo-terminals: a slave (and /dev/pts/ptmx) on devpts, /dev/ptmx on devtmpfs.
  if (isDevpts(f.guestPath)) return writeMagicStatfs(task, addr, DEVPTS_SUPER_MAGIC);
  if (f instanceof DeviceFile || f.guestPath === '/dev/ptmx' || (f instanceof PathFile && f.guestPath.startsWith('/dev/'))) {
    return writeMagicStatfs(task, addr, TMPFS_MAGIC);
  }
  if (f instanceof StreamFile) {
    // A standard stream: the host's answer for what it really is (through the host's magic link to it), else a terminal's.
    const hostFd = f.hostFd;
    if (hostFd === undefined) return writeMagicStatfs(task, addr, DEVPTS_SUPER_MAGIC);
    const st = host(() => fs.statfsSync(`/proc/self/fd/${hostFd}`, { bigint: true }));
    return writeMagicStatfs(task, addr, Number(st.type));
  }
  const type = f.stat().mode & stat.S_IFMT;
  if (f instanceof Socket || type === stat.S_IFSOCK) return writeMagicStatfs(task, addr, SOCKFS_MAGIC);
  if (f instanceof PipeEnd || type === stat.S_IFIFO) return writeMagicStatfs(task, addr, PIPEFS_MAGIC);
  // eventfd, epoll, timerfd, signalfd, and the rest of the anonymous inodes.
  return writeMagicStatfs(task, addr, ANON_INODE_FS_MAGIC);
}

/** The host file behind a descriptor (EINVAL for kernel files); with `io`, an O_PATH descriptor is EBADF, as Linux's fdget. */
function hostFile(task: Task, fd: number, io = true): HostFile {
  const f = task.process.files.get(fd);
  if (io) notPath(f);
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
  fsnotify.notifyFile(task, f, IN.MODIFY);
  return 0;
}

function truncate(task: Task, a: SyscallArgs) {
  const r = resolveFile(task, AT_FDCWD, path(task, a.ptr(0)), true);
  if (r.node) throw errno(E.EACCES);
  writable(r);
  const len = a.long(1);
  if (len < 0) throw errno(E.EINVAL);
  host(() => fs.truncateSync(r.host, len));
  fsnotify.notifyPath(task.kernel, r.host, IN.MODIFY);
  return 0;
}

function fsync(task: Task, a: SyscallArgs) {
  const f = notPath(task.process.files.get(a.int(0)));
  if (f instanceof HostFile) host(() => fs.fsyncSync(f.fd));
  return 0;
}

const SYNC_FILE_RANGE_WAIT_BEFORE = 1;
const SYNC_FILE_RANGE_WRITE = 2;
const SYNC_FILE_RANGE_WAIT_AFTER = 4;
const LOFF_MAX = 2n ** 63n - 1n;

/**
 * sync_file_range: Linux's checks (flags, a negative offset or length, an
 * end past LLONG_MAX: EINVAL; a pipe, socket or device: ESPIPE); then a write
 * asked for (SYNC_FILE_RANGE_WRITE or a WAIT) syncs the host file's data,
 * the whole file as fdatasync does. flags 0 does nothing, as on Linux.
 */
function syncFileRange(task: Task, a: SyscallArgs) {
  const file = notPath(task.process.files.get(a.int(0)));
  const offset = a.raw(1);
  const nbytes = a.raw(2);
  const flags = a.uint(3);
  if ((flags & ~(SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE | SYNC_FILE_RANGE_WAIT_AFTER)) !== 0) throw errno(E.EINVAL);
  if (offset < 0n || nbytes < 0n || offset + nbytes > LOFF_MAX) throw errno(E.EINVAL);
  const type = file.stat().mode & stat.S_IFMT;
  if (type !== stat.S_IFREG && type !== stat.S_IFDIR && type !== stat.S_IFLNK && type !== stat.S_IFBLK) throw errno(E.ESPIPE);
  if (flags !== 0 && file instanceof HostFile) host(() => fs.fdatasyncSync(file.fd));
  return 0;
}

function chdirFd(task: Task, a: SyscallArgs) {
  task.process.cwd = dirPath(task.process.files.get(a.int(0)));
  return 0;
}

const UTIME_NOW = (1 << 30) - 1;
const UTIME_OMIT = (1 << 30) - 2;

/** One time to set: seconds and nanoseconds, or UTIME_NOW / UTIME_OMIT in `nsec`. */
type TimeSpec = readonly [sec: number, nsec: number];

/** Where times go: an open host file, or a name (a final symlink followed or not). */
type TimesTarget = { fd: number; host: string; file?: HostFile } | { fd: null; host: string; follow: boolean };

/**
 * The file a *utime* call names. A NULL name is the descriptor itself
 * (utimensat(fd, NULL), futimesat(fd, NULL): EBADF for O_PATH, as Linux's
 * fdget); "" with AT_EMPTY_PATH is the descriptor's file by name, so an
 * O_PATH one works too.
 */
function timesTarget(task: Task, dirfd: number, pathAddr: number, follow: boolean, emptyPath: boolean): TimesTarget | null {
  const name = pathAddr === 0 ? null : path(task, pathAddr);
  if (name === null || (name === '' && emptyPath && dirfd !== AT_FDCWD)) {
    if (dirfd === AT_FDCWD) throw errno(E.EFAULT);
    const f = task.process.files.get(dirfd);
    if (f instanceof PathFile && name !== null && f.hostPath !== '') {
      if (f.mount?.readOnly) throw errno(E.EROFS);
      return { fd: null, host: f.hostPath, follow: false };
    }
    notPath(f);
    if (!(f instanceof HostFile)) throw errno(E.EINVAL);
    writableFile(task, f);
    return { fd: f.fd, host: f.hostPath, file: f };
  }
  const r = resolveFile(task, dirfd, name === '' && emptyPath ? '.' : name, follow);
  // A /dev device (touch /dev/null): accepted, its times are the kernel's own and stay as they are.
  if (r.node?.kind === 'device') return null;
  if (r.node) throw errno(E.EACCES);
  writable(r);
  return { fd: null, host: r.host, follow };
}

/**
 * Sets a file's access and modification times; null: both now. "Now" is the
 * host's time, not the guest's clock (which the guest may have set apart):
 * the host stamps every other change to these files with its own time, and
 * a file touched now must not look newer or older than one written now.
 */
function setTimes(task: Task, target: TimesTarget | null, times: readonly [TimeSpec, TimeSpec] | null) {
  const now = Number(realtimeNs()) / 1e9;
  if (target === null || (times && times.every(([, ns]) => ns === UTIME_OMIT))) return 0;
  const st = target.fd !== null ? host(() => fs.fstatSync(target.fd, { bigint: true })) : host(() => (target.follow ? fs.statSync : fs.lstatSync)(target.host, { bigint: true }));
  const pick = (spec: TimeSpec | undefined, old: bigint): number => {
    if (!spec || spec[1] === UTIME_NOW) return now;
    if (spec[1] === UTIME_OMIT) return Number(old) / 1e9;
    return spec[0] + spec[1] / 1e9;
  };
  const atime = pick(times?.[0], st.atimeNs);
  const mtime = pick(times?.[1], st.mtimeNs);
  host(() => (target.fd !== null ? fs.futimesSync(target.fd, atime, mtime) : target.follow ? fs.utimesSync(target.host, atime, mtime) : fs.lutimesSync(target.host, atime, mtime)));
  // Both times: IN_ATTRIB; only the access time: IN_ACCESS; only the modification time: IN_MODIFY.
  const what = !times || times.every(([, ns]) => ns !== UTIME_OMIT) ? IN.ATTRIB : times[0][1] !== UTIME_OMIT ? IN.ACCESS : IN.MODIFY;
  if (target.fd === null) fsnotify.notifyPath(task.kernel, target.host, what, target.follow);
  else if (target.file) fsnotify.notifyFile(task, target.file, what);
  return 0;
}

/** utimensat: times from a timespec[2] (NULL: now), with UTIME_NOW/UTIME_OMIT. */
function utimensat(task: Task, a: SyscallArgs) {
  const k = task.kernel;
  const times = a.ptr(2);
  const flags = a.int(3);
  if ((flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH)) !== 0) throw errno(E.EINVAL);
  let specs: [TimeSpec, TimeSpec] | null = null;
  if (times !== 0) {
    const one = (i: number): TimeSpec => {
      const nsec = Number(k.mem.i64(times + i * 16 + 8));
      if (nsec !== UTIME_NOW && nsec !== UTIME_OMIT && (nsec < 0 || nsec >= 1e9)) throw errno(E.EINVAL);
      return [Number(k.mem.i64(times + i * 16)), nsec];
    };
    specs = [one(0), one(1)];
  }
  const target = timesTarget(task, a.int(0), a.ptr(1), (flags & AT_SYMLINK_NOFOLLOW) === 0, (flags & AT_EMPTY_PATH) !== 0);
  return setTimes(task, target, specs);
}

/** utimes/futimesat: struct timeval[2] (NULL: now), microseconds 0..999999. */
function futimesat(task: Task, dirfd: number, pathAddr: number, tv: number) {
  const k = task.kernel;
  let specs: [TimeSpec, TimeSpec] | null = null;
  if (tv !== 0) {
    const one = (i: number): TimeSpec => {
      const usec = Number(k.mem.i64(tv + i * 16 + 8));
      if (usec < 0 || usec >= 1_000_000) throw errno(E.EINVAL);
      return [Number(k.mem.i64(tv + i * 16)), usec * 1000];
    };
    specs = [one(0), one(1)];
  }
  // A NULL name: the descriptor itself (futimesat(fd, NULL, ...) is futimes).
  return setTimes(task, timesTarget(task, dirfd, pathAddr, true, false), specs);
}

/** utime: struct utimbuf { actime, modtime } in whole seconds (NULL: now). */
function utime(task: Task, pathAddr: number, buf: number) {
  const k = task.kernel;
  const specs: [TimeSpec, TimeSpec] | null = buf === 0 ? null : [[Number(k.mem.i64(buf)), 0], [Number(k.mem.i64(buf + 8)), 0]];
  if (pathAddr === 0) throw errno(E.EFAULT);
  return setTimes(task, timesTarget(task, AT_FDCWD, pathAddr, true, false), specs);
}

/**
 * The xattr calls: the name is looked up (or the descriptor checked) as
 * Linux does, so a missing file is ENOENT; an existing one answers
 * EOPNOTSUPP, the guest filesystem keeping no extended attributes.
 */
function xattr(kind: 'path' | 'lpath' | 'fd') {
  return (task: Task, a: SyscallArgs) => {
    if (kind === 'fd') notPath(task.process.files.get(a.int(0)));
    else {
      const r = resolveAt(task, AT_FDCWD, path(task, a.ptr(0)), kind === 'path');
      if (!r.node) host(() => (kind === 'path' ? fs.statSync(r.host) : fs.lstatSync(r.host)));
    }
    throw errno(E.EOPNOTSUPP);
  };
}

export const fsOps: Family = {
  unlink: supported((t, a) => unlinkat(t, AT_FDCWD, path(t, a.ptr(0)), 0)),
  unlinkat: supported((t, a) => unlinkat(t, a.int(0), path(t, a.ptr(1)), a.int(2))),
  rmdir: supported((t, a) => unlinkat(t, AT_FDCWD, path(t, a.ptr(0)), AT_REMOVEDIR)),
  mkdir: supported((t, a) => mkdirat(t, AT_FDCWD, path(t, a.ptr(0)), a.uint(1))),
  mkdirat: supported((t, a) => mkdirat(t, a.int(0), path(t, a.ptr(1)), a.uint(2))),
  mknod: partial('regular files and FIFOs (made with the host mkfifo; a FIFO connects guest processes only, not a guest and a host process); device and socket nodes answer EPERM', (t, a) =>
    mknodat(t, AT_FDCWD, path(t, a.ptr(0)), a.uint(1)),
  ),
  mknodat: partial('regular files and FIFOs (made with the host mkfifo; a FIFO connects guest processes only, not a guest and a host process); device and socket nodes answer EPERM', (t, a) =>
    mknodat(t, a.int(0), path(t, a.ptr(1)), a.uint(2)),
  ),
  rename: supported((t, a) => renameat2(t, AT_FDCWD, path(t, a.ptr(0)), AT_FDCWD, path(t, a.ptr(1)), 0)),
  renameat: supported((t, a) => renameat2(t, a.int(0), path(t, a.ptr(1)), a.int(2), path(t, a.ptr(3)), 0)),
  renameat2: partial('RENAME_EXCHANGE is the host renameat2 made through perl (Node has none), atomic; EINVAL where the host has no perl', (t, a) =>
    renameat2(t, a.int(0), path(t, a.ptr(1)), a.int(2), path(t, a.ptr(3)), a.uint(4)),
  ),
  symlink: supported((t, a) => symlinkat(t, path(t, a.ptr(0)), AT_FDCWD, path(t, a.ptr(1)))),
  symlinkat: supported((t, a) => symlinkat(t, path(t, a.ptr(0)), a.int(1), path(t, a.ptr(2)))),
  link: supported((t, a) => linkat(t, AT_FDCWD, path(t, a.ptr(0)), AT_FDCWD, path(t, a.ptr(1)), 0)),
  linkat: partial('an open file (AT_EMPTY_PATH, or /proc/PID/fd/N with AT_SYMLINK_FOLLOW: how an O_TMPFILE file gets a name) is linked by its inode through the host ln(1)', (t, a) =>
    linkat(t, a.int(0), path(t, a.ptr(1)), a.int(2), path(t, a.ptr(3)), a.int(4)),
  ),
  chmod: supported((t, a) => fchmodat(t, AT_FDCWD, path(t, a.ptr(0)), a.uint(1))),
  fchmodat: supported((t, a) => fchmodat(t, a.int(0), path(t, a.ptr(1)), a.uint(2))),
  fchmodat2: partial('AT_SYMLINK_NOFOLLOW on a symlink answers EOPNOTSUPP, as Linux; AT_EMPTY_PATH on a pipe, socket or other kernel file answers EINVAL (as fchmod here)', (t, a) =>
    fchmodat2(t, a.int(0), path(t, a.ptr(1)), a.uint(2), a.uint(3)),
  ),
  fchmod: supported((t, a) => {
    const f = hostFile(t, a.int(0));
    writableFile(t, f);
    host(() => fs.fchmodSync(f.fd, a.uint(1) & 0o7777));
    fsnotify.notifyFile(t, f, IN.ATTRIB);
    return 0;
  }),
  chown: supported((t, a) => fchownat(t, AT_FDCWD, path(t, a.ptr(0)), id(a.uint(1)), id(a.uint(2)), 0)),
  lchown: supported((t, a) => fchownat(t, AT_FDCWD, path(t, a.ptr(0)), id(a.uint(1)), id(a.uint(2)), AT_SYMLINK_NOFOLLOW)),
  fchownat: supported((t, a) => fchownat(t, a.int(0), path(t, a.ptr(1)), id(a.uint(2)), id(a.uint(3)), a.int(4))),
  fchown: supported((t, a) => fchown(t, a.int(0), id(a.uint(1)), id(a.uint(2)))),
  statfs: partial("per mount: the host filesystem's figures (a tmpfs's magic for a tmpfs and /dev); f_fsid is the mount's device (zero on the root), f_namelen 255, f_flags only ST_RDONLY", statfs),
  fstatfs: partial("a host file's filesystem as statfs; pipes, sockets, /dev devices and anonymous inodes answer their filesystem's magic with no blocks", fstatfs),
  ftruncate: supported(ftruncate),
  truncate: supported(truncate),
  fsync: supported(fsync),
  fdatasync: supported(fsync),
  sync_file_range: partial('any write or wait flag syncs the whole file\'s data (fdatasync); the range is checked, not used', syncFileRange),
  sync: supported(() => 0),
  fchdir: supported(chdirFd),
  utimensat: supported(utimensat),
  futimesat: supported((t, a) => futimesat(t, a.int(0), a.ptr(1), a.ptr(2))),
  utimes: supported((t, a) => futimesat(t, AT_FDCWD, a.ptr(0), a.ptr(1))),
  utime: supported((t, a) => utime(t, a.ptr(0), a.ptr(1))),
  ...Object.fromEntries(
    (['getxattr', 'setxattr', 'listxattr', 'removexattr'] as const).flatMap((n) => [
      [n, partial('the name is looked up (ENOENT, ENOTDIR...); an existing file answers EOPNOTSUPP: no extended attributes are kept', xattr('path'))],
      [`l${n}`, partial('the name is looked up without following a final symlink; an existing file answers EOPNOTSUPP: no extended attributes are kept', xattr('lpath'))],
      [`f${n}`, partial('the descriptor is checked (EBADF); an open file answers EOPNOTSUPP: no extended attributes are kept', xattr('fd'))],
    ]),
  ),
};

