import * as fs from 'node:fs';
import {
  E,
  errno,
  Errno,
  fcntl,
  hostErrno,
  fsnotify,
  IN,
  isMagicLink,
  pathInRoot,
  DeviceFile,
  HostFile,
  openFifo,
  notPath,
  PathFile,
  pathStat,
  stat,
  type DirEntry,
  type KStat,
  type Mount,
  type Resolved,
  type ResolveScope,
  type SyntheticNode,
  SyntheticFile,
  Pipe,
  PipeEnd,
  type OpenFile,
  type SyscallArgs,
  type SyscallResult,
  type Task,
} from '@nommu/kernel';
import { partial, supported, type Family } from './define.js';
import { F_GETLK, F_OFD_GETLK, F_OFD_SETLK, F_OFD_SETLKW, F_SETLK, F_SETLKW, fcntlLock } from './locks.js';
import { addSeals, getSeals, MemFd } from './memfd.js';

const AT_FDCWD = -100;
const AT_SYMLINK_NOFOLLOW = 0x100;
const AT_EMPTY_PATH = 0x1000;
const AT_EACCESS = 0x200;

/** The guest directory a *at() path is relative to. */
export function dirOf(task: Task, dirfd: number, path: string): string {
  if (path.startsWith('/') || dirfd === AT_FDCWD) return task.process.cwd;
  return dirPath(task.process.files.get(dirfd));
}

/** The guest path of an open directory (a host one, a /proc or /dev one, or an O_PATH one): ENOTDIR for anything else. */
export function dirPath(file: OpenFile): string {
  if (!(file instanceof HostFile || file instanceof PathFile || file instanceof SyntheticFile)) throw errno(E.ENOTDIR);
  if ((file.stat().mode & stat.S_IFMT) !== stat.S_IFDIR) throw errno(E.ENOTDIR);
  return file.guestPath;
}

export function resolveAt(task: Task, dirfd: number, path: string, follow: boolean): Resolved {
  return task.kernel.vfs.resolve(dirOf(task, dirfd, path), path, follow, task.process);
}

/**
 * resolveAt for calls that change a file by name (chmod, chown, utimes,
 * truncate): a /proc/PID/fd/N magic link followed leads to the open file
 * itself, as on Linux: a host file through the host's magic link to our own
 * descriptor (the same inode, wherever its name went), an O_PATH one by the
 * name it holds (not a symlink: that the host would follow).
 */
export function resolveFile(task: Task, dirfd: number, path: string, follow: boolean): Resolved {
  const r = resolveAt(task, dirfd, path, follow);
  const f = r.node?.kind === 'symlink' ? r.node.file : undefined;
  if (f instanceof HostFile) return { guest: f.guestPath, host: `/proc/self/fd/${f.fd}`, mount: f.mount };
  if (f instanceof PathFile && f.hostPath !== '' && (f.stat().mode & stat.S_IFMT) !== stat.S_IFLNK) return { guest: f.guestPath, host: f.hostPath, mount: f.mount };
  return r;
}

function openat(task: Task, dirfd: number, pathAddr: number, flags: number, mode: number, scope?: ResolveScope): SyscallResult {
  const k = task.kernel;
  const path = k.mem.cstring(pathAddr);
  const follow = (flags & fcntl.O_NOFOLLOW) === 0;
  const scoped = scope?.beneath || scope?.inRoot;
  // A scoped walk starts at dirfd even for an absolute name.
  const r = scope
    ? k.vfs.resolve(scoped ? dirOf(task, dirfd, '.') : dirOf(task, dirfd, path), path, follow, task.process, scope)
    : resolveAt(task, dirfd, path, follow);
  // O_PATH beats everything else: only the name is looked at.
  if ((flags & fcntl.O_PATH) !== 0) return openPath(task, r, flags);
  if ((flags & O_TMPFILE) !== 0) return openTmpfile(task, r, flags, mode);
  return openResolved(task, r, flags, mode);
}

/** open of a looked-up name (also what opening /proc/PID/fd/N of an O_PATH descriptor does). */
function openResolved(task: Task, r: Resolved, flags: number, mode: number): SyscallResult {
  const k = task.kernel;
  const acc = flags & fcntl.O_ACCMODE;
  if (r.node) return openSynthetic(task, r, flags);
  // The caller's controlling terminal, never the host's: ENXIO without one (a /dev the root or a mount shows).
  if (r.guest === '/dev/tty') {
    const tty = k.openTerminal(task, flags & ~fcntl.O_CLOEXEC);
    if (!tty) throw errno(E.ENXIO);
    return task.process.files.install(tty, (flags & fcntl.O_CLOEXEC) !== 0);
  }
  const fifo = fifoAt(r.host);
  if (fifo) return openFifoAt(task, r, fifo, flags);
  const writes = acc !== fcntl.O_RDONLY || (flags & (fcntl.O_TRUNC | fcntl.O_CREAT)) !== 0;
  if (r.mount?.readOnly && writes) {
    if ((flags & fcntl.O_CREAT) === 0 || lexists(r.host)) {
      if (acc !== fcntl.O_RDONLY || (flags & fcntl.O_TRUNC) !== 0) throw errno(E.EROFS);
    } else {
      throw errno(E.EROFS);
    }
  }
  // The host never follows a symlink we did not resolve ourselves, and never
  // waits in open (a device or a FIFO swapped in since the lstat): O_NONBLOCK,
  // which regular files and directories ignore; the guest's own flags stay.
  const hostFlags =
    (flags & (fcntl.O_ACCMODE | fcntl.O_CREAT | fcntl.O_EXCL | fcntl.O_TRUNC | fcntl.O_APPEND | fcntl.O_DIRECTORY)) |
    fcntl.O_NONBLOCK |
    fcntl.O_NOFOLLOW |
    fcntl.O_CLOEXEC;
  // Watched (inotify): whether the open makes the file (IN_CREATE).
  const creates = (flags & fcntl.O_CREAT) !== 0 && fsnotify.watching(k) && !lexists(r.host);
  let fd: number;
  try {
    fd = fs.openSync(r.host, hostFlags, mode & ~task.process.umask & 0o7777);
  } catch (err) {
    throw hostErrno(err);
  }
  const raced = fifoOf(fd);
  if (raced) {
    fs.closeSync(fd);
    return openFifoAt(task, r, raced, flags);
  }
  const file = new HostFile(fd, flags & ~fcntl.O_CLOEXEC, r.guest, r.host, r.mount);
  const installed = task.process.files.install(file, (flags & fcntl.O_CLOEXEC) !== 0);
  fsnotify.notifyOpen(task, file, creates);
  return installed;
}

/** open of a name that is a FIFO: a kernel pipe, never the host's. */
function openFifoAt(task: Task, r: Resolved, fifo: fs.BigIntStats, flags: number): SyscallResult {
  if ((flags & (fcntl.O_CREAT | fcntl.O_EXCL)) === (fcntl.O_CREAT | fcntl.O_EXCL)) throw errno(E.EEXIST);
  if ((flags & fcntl.O_DIRECTORY) !== 0) throw errno(E.ENOTDIR);
  return openFifo(task, r, fifo, flags);
}

/** The open host descriptor's file when it is a FIFO (it was swapped in between our lstat and the open). */
function fifoOf(fd: number): fs.BigIntStats | null {
  try {
    const st = fs.fstatSync(fd, { bigint: true });
    return st.isFIFO() ? st : null;
  } catch {
    return null;
  }
}

/** How a host file's stat reads to the guest: its mount's st_dev, and a bound AF_UNIX name as a socket. */
function guestStat(task: Task, hostPath: string, mount: Mount | null): (st: KStat) => KStat {
  return (st) => {
    const k = mount ? { ...st, dev: mount.devOf(st.dev) } : st;
    return task.kernel.net.isSocketPath(hostPath, BigInt(st.ino)) ? { ...k, mode: stat.S_IFSOCK | (k.mode & 0o7777) } : k;
  };
}

/**
 * open with O_PATH: a description of the name alone, made from what lstat
 * says (the host opens nothing: a FIFO does not wait, a device is not
 * touched). With O_NOFOLLOW a final symlink is itself the file.
 */
function openPath(task: Task, r: Resolved, flags: number): SyscallResult {
  const cloexec = (flags & fcntl.O_CLOEXEC) !== 0;
  const dirOnly = (flags & fcntl.O_DIRECTORY) !== 0;
  let file: PathFile;
  if (r.node) {
    const node = r.node;
    if (node.kind === 'symlink' && node.file) {
      // A magic link followed: the open file's own inode.
      const target = node.file;
      if (target instanceof PathFile) file = new PathFile(flags, target.guestPath, target.hostPath, target.mount, () => target.stat(), target.node);
      else if (target instanceof HostFile && !target.hostPath.startsWith('/proc/')) {
        file = new PathFile(flags, target.guestPath, target.hostPath, target.mount, pathStat(target.hostPath, guestStat(task, target.hostPath, target.mount)));
      } else {
        const snapshot = target.stat();
        file = new PathFile(flags, target.guestPath, '', null, () => snapshot);
      }
    } else {
      file = new PathFile(flags, r.guest, '', null, () => nodeStat(node), node);
    }
  } else {
    let statOf: () => KStat;
    try {
      statOf = pathStat(r.host, guestStat(task, r.host, r.mount));
    } catch (err) {
      throw hostErrno(err);
    }
    file = new PathFile(flags, r.guest, r.host, r.mount, statOf);
  }
  if (dirOnly && (file.stat().mode & stat.S_IFMT) !== stat.S_IFDIR) throw errno(E.ENOTDIR);
  return task.process.files.install(file, cloexec);
}

const OPEN_HOW_SIZE = 24;
/** Every O_* flag open knows (VALID_OPEN_FLAGS): openat2 refuses the rest. */
const VALID_OPEN_FLAGS = 0o37777703;
const O_TMPFILE = 0o20000000;
const RESOLVE_NO_XDEV = 0x1;
const RESOLVE_NO_MAGICLINKS = 0x2;
const RESOLVE_NO_SYMLINKS = 0x4;
const RESOLVE_BENEATH = 0x8;
const RESOLVE_IN_ROOT = 0x10;
const RESOLVE_CACHED = 0x20;

/** openat2: struct open_how { u64 flags, mode, resolve }, checked strictly, then open with a scoped walk. */
function openat2(task: Task, a: SyscallArgs): SyscallResult {
  const mem = task.kernel.mem;
  const how = a.ptr(2);
  const size = a.ptr(3);
  if (size < OPEN_HOW_SIZE) throw errno(E.EINVAL);
  if (size > 4096) throw errno(E.E2BIG);
  // A larger struct from a newer ABI is fine as long as what we do not know is zero.
  if (mem.copyIn(how, size).subarray(OPEN_HOW_SIZE).some((b) => b !== 0)) throw errno(E.E2BIG);
  const flags = mem.u64(how);
  const mode = mem.u64(how + 8);
  const resolve = mem.u64(how + 16);
  if ((flags & ~BigInt(VALID_OPEN_FLAGS)) !== 0n) throw errno(E.EINVAL);
  const f = Number(flags);
  if ((f & (fcntl.O_CREAT | O_TMPFILE)) !== 0 ? (mode & ~0o7777n) !== 0n : mode !== 0n) throw errno(E.EINVAL);
  if ((resolve & ~0x3fn) !== 0n) throw errno(E.EINVAL);
  const res = Number(resolve);
  if ((res & RESOLVE_BENEATH) !== 0 && (res & RESOLVE_IN_ROOT) !== 0) throw errno(E.EINVAL);
  const allowedWithPath = fcntl.O_PATH | fcntl.O_DIRECTORY | fcntl.O_NOFOLLOW | fcntl.O_CLOEXEC | 0o100000; /* O_LARGEFILE */
  if ((f & fcntl.O_PATH) !== 0 && (f & ~allowedWithPath) !== 0) throw errno(E.EINVAL);
  // Nothing is looked up from a cache here: the caller retries without RESOLVE_CACHED, as Linux asks.
  if ((res & RESOLVE_CACHED) !== 0) throw errno(E.EAGAIN);
  return openat(task, a.int(0), a.ptr(1), f, Number(mode), {
    noXdev: (res & RESOLVE_NO_XDEV) !== 0,
    noMagicLinks: (res & (RESOLVE_NO_MAGICLINKS | RESOLVE_NO_SYMLINKS)) !== 0,
    noSymlinks: (res & RESOLVE_NO_SYMLINKS) !== 0,
    beneath: (res & RESOLVE_BENEATH) !== 0,
    inRoot: (res & RESOLVE_IN_ROOT) !== 0,
  });
}

/** O_TMPFILE descriptors by whether linkat may give them a name (not when opened with O_EXCL). */
const tmpfiles = new WeakMap<HostFile, boolean>();

/** May linkat give this file (with no name left) a name? Only an O_TMPFILE one opened without O_EXCL. */
export function linkableTmpfile(file: HostFile): boolean {
  return tmpfiles.get(file) ?? false;
}

/**
 * O_TMPFILE: an unnamed regular file in the directory, made by the host's
 * own O_TMPFILE (so where the host filesystem has none the answer is its
 * EOPNOTSUPP, as Linux gives). linkat can name it later, unless O_EXCL.
 */
function openTmpfile(task: Task, r: Resolved, flags: number, mode: number): SyscallResult {
  const acc = flags & fcntl.O_ACCMODE;
  if ((flags & (fcntl.O_DIRECTORY | fcntl.O_CREAT)) !== fcntl.O_DIRECTORY) throw errno(E.EINVAL);
  if (acc !== fcntl.O_WRONLY && acc !== fcntl.O_RDWR) throw errno(E.EINVAL);
  if (r.node) throw errno(r.node.kind === 'dir' ? E.EOPNOTSUPP : E.ENOTDIR);
  if (r.mount?.readOnly) throw errno(E.EROFS);
  const hostFlags = acc | fcntl.O_TMPFILE | (flags & (fcntl.O_EXCL | fcntl.O_APPEND)) | fcntl.O_NONBLOCK | fcntl.O_NOFOLLOW | fcntl.O_CLOEXEC;
  let fd: number;
  let ino: bigint;
  try {
    fd = fs.openSync(r.host, hostFlags, mode & ~task.process.umask & 0o7777);
    ino = fs.fstatSync(fd, { bigint: true }).ino;
  } catch (err) {
    throw hostErrno(err);
  }
  const guest = `${r.guest === '/' ? '' : r.guest}/#${ino} (deleted)`;
  // Its only host name is our descriptor's magic link (as a memfd's).
  const file = new HostFile(fd, flags & ~(fcntl.O_CLOEXEC | O_TMPFILE | fcntl.O_DIRECTORY), guest, `/proc/self/fd/${fd}`, r.mount);
  tmpfiles.set(file, (flags & fcntl.O_EXCL) === 0);
  return task.process.files.install(file, (flags & fcntl.O_CLOEXEC) !== 0);
}

/** The host node at `p` when it is a FIFO (never opened on the host: a kernel pipe stands in). */
function fifoAt(p: string): fs.BigIntStats | null {
  try {
    const st = fs.lstatSync(p, { bigint: true });
    return st.isFIFO() ? st : null;
  } catch {
    return null;
  }
}

/**
 * open of /proc/<pid>/fd/N (and so /dev/stdin, /dev/fd/N): a new open of the
 * same file. A host file is opened again by its name, a pipe gets a new end
 * (as a FIFO open would); other kernel files (terminals, event files) hand
 * out the same description.
 */
function reopen(task: Task, file: OpenFile, flags: number): SyscallResult {
  const acc = flags & fcntl.O_ACCMODE;
  const cloexec = (flags & fcntl.O_CLOEXEC) !== 0;
  const files = task.process.files;
  if (file instanceof MemFd) return files.install(file.reopen(flags), cloexec);
  if (file instanceof HostFile) {
    const readOnly = file.mount?.readOnly ?? task.kernel.vfs.readOnly;
    if (readOnly && (acc !== fcntl.O_RDONLY || (flags & fcntl.O_TRUNC) !== 0)) throw errno(E.EROFS);
    const hostFlags = (flags & (fcntl.O_ACCMODE | fcntl.O_TRUNC | fcntl.O_APPEND | fcntl.O_DIRECTORY)) | fcntl.O_NONBLOCK | fcntl.O_CLOEXEC;
    let fd: number;
    try {
      // The same inode, as Linux reopens it (even unlinked), through the host's own magic link to our descriptor;
      // by name (never following a symlink planted since) only where the host has no /proc.
      fd = fs.openSync(`/proc/self/fd/${file.fd}`, hostFlags);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' || file.hostPath.startsWith('/proc/')) throw hostErrno(err);
      try {
        fd = fs.openSync(file.hostPath, hostFlags | fcntl.O_NOFOLLOW);
      } catch (err2) {
        throw hostErrno(err2);
      }
    }
    return files.install(new HostFile(fd, flags & ~fcntl.O_CLOEXEC, file.guestPath, file.hostPath, file.mount), cloexec);
  }
  if (file instanceof PipeEnd) {
    return files.install(new PipeEnd(file.pipe, flags & ~fcntl.O_CLOEXEC, acc !== fcntl.O_WRONLY, acc === fcntl.O_RDWR), cloexec);
  }
  if (file instanceof DeviceFile) return files.install(file.reopen(flags & ~fcntl.O_CLOEXEC), cloexec);
  // An O_PATH descriptor's file is opened for real now, by the name it holds.
  if (file instanceof PathFile) {
    if ((file.stat().mode & stat.S_IFMT) === stat.S_IFLNK) throw errno(E.ELOOP);
    if (file.node) return openResolved(task, { guest: file.guestPath, host: '', mount: null, node: file.node }, flags & ~fcntl.O_CREAT, 0);
    if (file.hostPath === '') throw errno(E.ENXIO);
    return openResolved(task, { guest: file.guestPath, host: file.hostPath, mount: file.mount }, flags & ~fcntl.O_CREAT, 0);
  }
  if ((acc === fcntl.O_RDONLY && !file.readable) || (acc === fcntl.O_WRONLY && !file.writable)) throw errno(E.EACCES);
  return files.install(file.get(), cloexec);
}

const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;

function nodeMode(node: SyntheticNode): number {
  switch (node.kind) {
    case 'dir': return S_IFDIR | (node.mode ?? 0o555);
    case 'symlink': return S_IFLNK | 0o777;
    case 'device': return node.stat().mode;
    default: return S_IFREG | 0o444;
  }
}

/** stat of a /proc or /dev name (not following a magic link). */
function nodeStat(node: SyntheticNode): KStat {
  if (node.kind === 'device') return node.stat();
  const size = node.kind === 'file' ? node.content().length : node.kind === 'symlink' ? Buffer.byteLength(node.target) : 0;
  const t = node.kind === 'file' ? 0n : (node.timeNs ?? 0n);
  return { ...stat.syntheticStat(nodeMode(node)), size, atimeNs: t, mtimeNs: t, ctimeNs: t };
}

const DT_OF_KIND = { dir: fcntl.DT.DIR, file: fcntl.DT.REG, symlink: fcntl.DT.LNK, device: fcntl.DT.CHR } as const;

/** Files of /proc: read-only snapshots taken at open; directories list at the first getdents. */
function openSynthetic(task: Task, r: Resolved, flags: number): SyscallResult {
  const node = r.node!;
  if (node.kind === 'symlink' && node.file) return reopen(task, node.file, flags);
  if (node.kind === 'device') {
    if ((flags & (fcntl.O_CREAT | fcntl.O_EXCL)) === (fcntl.O_CREAT | fcntl.O_EXCL)) throw errno(E.EEXIST);
    if ((flags & fcntl.O_DIRECTORY) !== 0) throw errno(E.ENOTDIR);
    return task.process.files.install(node.open(task, flags & ~fcntl.O_CLOEXEC), (flags & fcntl.O_CLOEXEC) !== 0);
  }
  if ((flags & fcntl.O_ACCMODE) !== fcntl.O_RDONLY || (flags & fcntl.O_CREAT) !== 0) throw errno(E.EACCES);
  if (node.kind === 'symlink') throw errno(E.ELOOP);
  if ((flags & fcntl.O_DIRECTORY) !== 0 && node.kind !== 'dir') throw errno(E.ENOTDIR);
  const data = node.kind === 'file' ? node.content() : new Uint8Array(0);
  const entryType = (path: string): number => {
    try {
      const r = task.kernel.vfs.resolve('/', path, false, task.process, { globalRoot: true });
      if (r.node) return DT_OF_KIND[r.node.kind];
      // A mount point in a synthetic directory (/dev/shm): what the mount's root is.
      return fs.lstatSync(r.host).isDirectory() ? fcntl.DT.DIR : fcntl.DT.UNKNOWN;
    } catch {
      return fcntl.DT.UNKNOWN;
    }
  };
  const list =
    node.kind === 'dir'
      ? () => [
          { name: '.', ino: 1, type: fcntl.DT.DIR },
          { name: '..', ino: 1, type: fcntl.DT.DIR },
          ...node.entries().map((name, i) => ({ name, ino: 100 + i, type: entryType(`${r.guest}/${name}`) })),
        ]
      : null;
  const file = new SyntheticFile(flags & ~fcntl.O_CLOEXEC, r.guest, data, nodeMode(node), list);
  return task.process.files.install(file, (flags & fcntl.O_CLOEXEC) !== 0);
}

function close(task: Task, a: SyscallArgs) {
  task.process.files.close(a.int(0));
  return 0;
}

const CLOSE_RANGE_UNSHARE = 2;
const CLOSE_RANGE_CLOEXEC = 4;

/** close_range: closes (or marks close-on-exec) the open descriptors in [first, last]. */
function closeRange(task: Task, a: SyscallArgs) {
  const first = a.uint(0);
  const last = a.uint(1);
  const flags = a.uint(2);
  if ((flags & ~(CLOSE_RANGE_UNSHARE | CLOSE_RANGE_CLOEXEC)) !== 0 || first > last) throw errno(E.EINVAL);
  const p = task.process;
  if ((flags & CLOSE_RANGE_UNSHARE) !== 0 && p.files.users > 1) {
    p.files.users--;
    p.files = p.files.clone();
  }
  for (const fd of p.files.list()) {
    if (fd < first || fd > last) continue;
    if ((flags & CLOSE_RANGE_CLOEXEC) !== 0) p.files.setCloexec(fd, true);
    else p.files.close(fd);
  }
  return 0;
}

/** An open file's stat, a host file's with its owners as the guest sees them (see Kernel.owners). */
function fileStat(task: Task, f: OpenFile): KStat {
  const st = f.stat();
  return f instanceof HostFile || (f instanceof PathFile && f.hostPath !== '') ? task.kernel.owners.toGuest(st) : st;
}

function kstatPath(task: Task, dirfd: number, path: string, flags: number): KStat {
  if (path === '' && (flags & AT_EMPTY_PATH) !== 0) return fileStat(task, task.process.files.get(dirfd));
  const r = resolveAt(task, dirfd, path, (flags & AT_SYMLINK_NOFOLLOW) === 0);
  if (r.node) {
    // /proc/PID/fd/N: stat follows the link to the open file; lstat sees the link.
    if (r.node.kind === 'symlink' && r.node.file && (flags & AT_SYMLINK_NOFOLLOW) === 0) return fileStat(task, r.node.file);
    return nodeStat(r.node);
  }
  let st: fs.BigIntStats;
  try {
    st = fs.lstatSync(r.host, { bigint: true });
  } catch (err) {
    throw hostErrno(err);
  }
  const k = task.kernel.owners.toGuest(stat.statFromHost(st));
  if (r.mount) k.dev = r.mount.devOf(k.dev);
  // A bound AF_UNIX name is a placeholder file on the host: it is a socket to the guest.
  if (task.kernel.net.isSocketPath(r.host, st.ino)) return { ...k, mode: stat.S_IFSOCK | (k.mode & 0o7777) };
  return k;
}

function newfstatat(task: Task, a: SyscallArgs) {
  const k = task.kernel;
  const st = kstatPath(task, a.int(0), k.mem.cstring(a.ptr(1)), a.int(3));
  stat.writeStat(k.mem, a.ptr(2), st);
  return 0;
}

const STATX_BASIC_STATS = 0x7ff;

/** statx: struct statx (256 bytes) with the basic stats. */
function statx(task: Task, a: SyscallArgs) {
  const k = task.kernel;
  const flags = a.int(2);
  const st = kstatPath(task, a.int(0), k.mem.cstring(a.ptr(1)), flags);
  const buf = a.ptr(4);
  k.mem.fill(buf, 256);
  const m = k.mem;
  m.setU32(buf, STATX_BASIC_STATS);
  m.setU32(buf + 4, st.blksize);
  m.setU32(buf + 16, st.nlink);
  m.setU32(buf + 20, st.uid);
  m.setU32(buf + 24, st.gid);
  m.setU16(buf + 28, st.mode);
  m.setU64(buf + 32, st.ino);
  m.setU64(buf + 40, st.size);
  m.setU64(buf + 48, st.blocks);
  const ts = (off: number, ns: bigint): void => {
    m.setI64(buf + off, ns / 1_000_000_000n);
    m.setU32(buf + off + 8, Number(ns % 1_000_000_000n));
  };
  ts(64, st.atimeNs);
  ts(96, st.ctimeNs);
  ts(112, st.mtimeNs);
  const major = (d: number): number => Number((BigInt(d) >> 8n) & 0xfffn) | Number((BigInt(d) >> 32n) & ~0xfffn);
  const minor = (d: number): number => Number(BigInt(d) & 0xffn) | Number((BigInt(d) >> 12n) & ~0xffn);
  m.setU32(buf + 128, major(st.rdev));
  m.setU32(buf + 132, minor(st.rdev));
  m.setU32(buf + 136, major(st.dev));
  m.setU32(buf + 140, minor(st.dev));
  return 0;
}

function fstat(task: Task, a: SyscallArgs) {
  const st = fileStat(task, task.process.files.get(a.int(0)));
  stat.writeStat(task.kernel.mem, a.ptr(1), st);
  return 0;
}

function statPath(task: Task, a: SyscallArgs, follow: boolean) {
  const k = task.kernel;
  const st = kstatPath(task, AT_FDCWD, k.mem.cstring(a.ptr(0)), follow ? 0 : AT_SYMLINK_NOFOLLOW);
  stat.writeStat(k.mem, a.ptr(1), st);
  return 0;
}

function readlinkat(task: Task, dirfd: number, pathAddr: number, buf: number, size: number) {
  const k = task.kernel;
  if (size <= 0) throw errno(E.EINVAL);
  const path = k.mem.cstring(pathAddr);
  if (path === '') return readlinkFd(task, dirfd, buf, size);
  const r = resolveAt(task, dirfd, path, false);
  // A magic link's target is a name from the kernel's root: the reader sees it from its own root where it can.
  if (r.node && isMagicLink(r.guest, r.node) && r.node.kind === 'symlink' && r.node.target.startsWith('/')) {
    const seen = pathInRoot(task.process.root, r.node.target) ?? r.node.target;
    return copyLinkTarget(task, { ...r.node, target: seen }, r.host, E.EINVAL, buf, size);
  }
  return copyLinkTarget(task, r.node, r.host, E.EINVAL, buf, size);
}

/** Copies a symlink's target (a synthetic node's, else the host link's) to the guest, cut at `size`; `notLink` for a node that is none. */
function copyLinkTarget(task: Task, node: SyntheticNode | null | undefined, hostPath: string, notLink: number, buf: number, size: number) {
  let target: string;
  if (node) {
    if (node.kind !== 'symlink') throw errno(notLink);
    target = node.target;
  } else {
    try {
      target = fs.readlinkSync(hostPath);
    } catch (err) {
      throw hostErrno(err);
    }
  }
  const bytes = Buffer.from(target, 'utf8').subarray(0, size);
  task.kernel.mem.copyOut(buf, bytes);
  return bytes.length;
}

/** readlinkat(fd, ""): the symlink an O_PATH|O_NOFOLLOW descriptor holds (ENOENT for any other file). */
function readlinkFd(task: Task, dirfd: number, buf: number, size: number) {
  if (dirfd === AT_FDCWD) throw errno(E.ENOENT);
  const file = task.process.files.get(dirfd);
  if (!(file instanceof PathFile) || (file.stat().mode & stat.S_IFMT) !== stat.S_IFLNK) throw errno(E.ENOENT);
  return copyLinkTarget(task, file.node, file.hostPath, E.ENOENT, buf, size);
}

function faccessat(task: Task, dirfd: number, pathAddr: number, mode: number, flags: number) {
  if ((mode & ~7) !== 0) throw errno(E.EINVAL);
  const k = task.kernel;
  const r = resolveAt(task, dirfd, k.mem.cstring(pathAddr), (flags & AT_SYMLINK_NOFOLLOW) === 0);
  if (r.node) {
    if ((mode & 2) !== 0) throw errno(E.EACCES);
    return 0;
  }
  // With AT_SYMLINK_NOFOLLOW a final symlink is the answer (links are rwx): never follow it on the host.
  const st = lstatOrThrow(r.host);
  if (!st.isSymbolicLink()) {
    try {
      fs.accessSync(r.host, mode);
    } catch (err) {
      throw hostErrno(err);
    }
  }
  if ((mode & 2) !== 0 && r.mount?.readOnly) throw errno(E.EROFS);
  return 0;
}

function lstatOrThrow(p: string): fs.Stats {
  try {
    return fs.lstatSync(p);
  } catch (err) {
    throw hostErrno(err);
  }
}

/** Does a name exist, without following a final symlink (which may point outside the root)? */
export function lexists(p: string): boolean {
  try {
    fs.lstatSync(p);
    return true;
  } catch {
    return false;
  }
}

const FIONREAD = 0x541b;
const FIONBIO = 0x5421;
const FIONCLEX = 0x5450;
const FIOCLEX = 0x5451;
const FIOASYNC = 0x5452;
const O_ASYNC = 0o20000;

/**
 * ioctl: the requests Linux's do_vfs_ioctl answers for every descriptor first
 * (close-on-exec, O_NONBLOCK, O_ASYNC, and FIONREAD of a regular file: the
 * bytes from the offset to the end), then the file's own.
 */
function ioctl(task: Task, a: SyscallArgs) {
  const files = task.process.files;
  const fd = a.int(0);
  const file = notPath(files.get(fd));
  const request = a.uint(1);
  const argp = a.ptr(2);
  const mem = task.kernel.mem;
  switch (request) {
    case FIOCLEX:
    case FIONCLEX:
      files.setCloexec(fd, request === FIOCLEX);
      return 0;
    case FIONBIO:
      file.flags = mem.i32(argp) !== 0 ? file.flags | fcntl.O_NONBLOCK : file.flags & ~fcntl.O_NONBLOCK;
      return 0;
    case FIOASYNC: {
      const flags = mem.i32(argp) !== 0 ? file.flags | O_ASYNC : file.flags & ~O_ASYNC;
      // A change needs the file's fasync, which pipes and sockets have and regular files do not.
      const kind = file.stat().mode & stat.S_IFMT;
      if (flags !== file.flags && kind !== stat.S_IFIFO && kind !== stat.S_IFSOCK) throw errno(E.ENOTTY);
      file.flags = flags;
      return 0;
    }
    case FIONREAD: {
      // Pipes, sockets and terminals answer it themselves; a regular file, the bytes left.
      const own = file.ioctl(task, request, argp);
      if (!(own instanceof Errno && own.errno === E.ENOTTY) || (file.stat().mode & stat.S_IFMT) !== stat.S_IFREG) return own;
      mem.setI32(argp, file.size() - file.pos);
      return 0;
    }
  }
  return file.ioctl(task, request, argp);
}

const F_DUPFD = 0;
const F_GETFD = 1;
const F_SETFD = 2;
const F_GETFL = 3;
const F_SETFL = 4;
const F_DUPFD_CLOEXEC = 1030;
const F_ADD_SEALS = 1033;
const F_GET_SEALS = 1034;
const F_SETPIPE_SZ = 1031;
const F_GETPIPE_SZ = 1032;
const FD_CLOEXEC = 1;

function fcntlSyscall(task: Task, a: SyscallArgs): SyscallResult {
  const files = task.process.files;
  const fd = a.int(0);
  const file = files.get(fd);
  const arg = a.long(2);
  // An O_PATH descriptor only has its descriptor flags and status flags to read (Linux's check_fcntl_cmd).
  if ((file.flags & fcntl.O_PATH) !== 0 && ![F_DUPFD, F_DUPFD_CLOEXEC, F_GETFD, F_SETFD, F_GETFL].includes(a.int(1))) throw errno(E.EBADF);
  switch (a.int(1)) {
    case F_DUPFD:
    case F_DUPFD_CLOEXEC:
      if (arg < 0 || arg >= files.limit) throw errno(E.EINVAL);
      return files.install(file.get(), a.int(1) === F_DUPFD_CLOEXEC, arg);
    case F_GETFD:
      return files.cloexec(fd) ? FD_CLOEXEC : 0;
    case F_SETFD:
      files.setCloexec(fd, (arg & FD_CLOEXEC) !== 0);
      return 0;
    case F_GETFL:
      return file.flags;
    case F_SETFL: {
      const settable = fcntl.O_APPEND | fcntl.O_NONBLOCK | 0o40000 /* O_DIRECT */ | 0o1000000 /* O_NOATIME */ | 0o20000; /* O_ASYNC */
      file.flags = (file.flags & ~settable) | (arg & settable);
      return 0;
    }
    case F_GETLK:
    case F_SETLK:
    case F_SETLKW:
    case F_OFD_GETLK:
    case F_OFD_SETLK:
    case F_OFD_SETLKW:
      return fcntlLock(task, fd, file, a.int(1), a.ptr(2));
    case F_ADD_SEALS:
      return addSeals(file, arg);
    case F_GET_SEALS:
      return getSeals(file);
    case F_GETPIPE_SZ:
      if (!(file instanceof PipeEnd)) throw errno(E.EBADF);
      return file.pipe.capacity;
    case F_SETPIPE_SZ: {
      if (!(file instanceof PipeEnd)) throw errno(E.EBADF);
      if (arg < 0 || arg > 1048576) throw errno(arg < 0 ? E.EINVAL : E.EPERM);
      const size = Math.max(4096, 2 ** Math.ceil(Math.log2(Math.max(arg, 1))));
      if (size < file.pipe.size) throw errno(E.EBUSY);
      file.pipe.capacity = size;
      return size;
    }
    default:
      throw errno(E.EINVAL);
  }
}

function dup(task: Task, a: SyscallArgs) {
  const files = task.process.files;
  return files.install(files.get(a.int(0)).get(), false);
}

function dup3(task: Task, oldfd: number, newfd: number, flags: number) {
  const files = task.process.files;
  if ((flags & ~fcntl.O_CLOEXEC) !== 0) throw errno(E.EINVAL);
  const file = files.get(oldfd);
  if (oldfd === newfd) throw errno(E.EINVAL);
  if (newfd < 0 || newfd >= files.limit) throw errno(E.EBADF);
  files.installAt(newfd, file.get(), (flags & fcntl.O_CLOEXEC) !== 0);
  return newfd;
}

function pipe2(task: Task, fdsAddr: number, flags: number) {
  if ((flags & ~(fcntl.O_CLOEXEC | fcntl.O_NONBLOCK | 0o40000 /* O_DIRECT */)) !== 0) throw errno(E.EINVAL);
  const mem = task.kernel.mem;
  mem.offset(fdsAddr, 8);
  const pipe = new Pipe();
  const status = flags & fcntl.O_NONBLOCK;
  const cloexec = (flags & fcntl.O_CLOEXEC) !== 0;
  const files = task.process.files;
  const r = files.install(new PipeEnd(pipe, fcntl.O_RDONLY | status, true), cloexec);
  let w: number;
  try {
    w = files.install(new PipeEnd(pipe, fcntl.O_WRONLY | status, false), cloexec);
  } catch (e) {
    files.close(r);
    throw e;
  }
  mem.setI32(fdsAddr, r);
  mem.setI32(fdsAddr + 4, w);
  return 0;
}

/**
 * One directory record: getdents64's struct linux_dirent64 (d_ino, d_off,
 * d_reclen, d_type, d_name) or the old getdents' struct linux_dirent (d_ino,
 * d_off, d_reclen, d_name, a pad byte, and d_type as the record's last byte).
 */
type DirentLayout = (e: DirEntry, next: number) => Buffer;

const dirent64: DirentLayout = (e, next) => {
  const name = Buffer.from(e.name, 'utf8');
  const rec = Buffer.alloc(Math.ceil((19 + name.length + 1) / 8) * 8);
  rec.writeBigUInt64LE(BigInt(e.ino), 0);
  rec.writeBigInt64LE(BigInt(next), 8);
  rec.writeUInt16LE(rec.length, 16);
  rec.writeUInt8(e.type, 18);
  name.copy(rec, 19);
  return rec;
};

const direntOld: DirentLayout = (e, next) => {
  const name = Buffer.from(e.name, 'utf8');
  // The name's NUL and the d_type byte follow it, rounded up to sizeof(long).
  const rec = Buffer.alloc(Math.ceil((18 + name.length + 2) / 8) * 8);
  rec.writeBigUInt64LE(BigInt(e.ino), 0);
  rec.writeBigInt64LE(BigInt(next), 8);
  rec.writeUInt16LE(rec.length, 16);
  name.copy(rec, 18);
  rec.writeUInt8(e.type, rec.length - 1);
  return rec;
};

/** getdents/getdents64: walks the directory's entries with `pos` as the index; a buffer too small for the next record is EINVAL. */
function getdents(task: Task, a: SyscallArgs, layout: DirentLayout) {
  const file = notPath(task.process.files.get(a.int(0)));
  const entries = file.dirEntries();
  if (!entries) throw errno(E.ENOTDIR);
  const mem = task.kernel.mem;
  const buf = a.ptr(1);
  const count = Math.min(a.uint(2), 1 << 20);
  let off = 0;
  while (file.pos < entries.length) {
    const rec = layout(entries[file.pos]!, file.pos + 1);
    if (off + rec.length > count) {
      if (off === 0) throw errno(E.EINVAL);
      break;
    }
    mem.copyOut(buf + off, rec);
    off += rec.length;
    file.pos++;
  }
  fsnotify.notifyFile(task, file, IN.ACCESS);
  return off;
}

function getcwd(task: Task, a: SyscallArgs) {
  // A working directory outside the root (chroot) reads as Linux gives it: "(unreachable)" and its path from the kernel's root.
  const p = task.process;
  const cwd = Buffer.from((pathInRoot(p.root, p.cwd) ?? '(unreachable)' + p.cwd) + '\0', 'utf8');
  const size = a.ptr(1);
  if (size < cwd.length) throw errno(E.ERANGE);
  task.kernel.mem.copyOut(a.ptr(0), cwd);
  return cwd.length;
}

function chdir(task: Task, a: SyscallArgs) {
  const r = task.kernel.vfs.resolve(task.process.cwd, task.kernel.mem.cstring(a.ptr(0)), true, task.process);
  task.kernel.vfs.requireDirectory(r);
  task.process.cwd = r.guest;
  return 0;
}

function umask(task: Task, a: SyscallArgs) {
  const old = task.process.umask;
  task.process.umask = a.uint(0) & 0o777;
  return old;
}

export const files: Family = {
  open: supported((t, a) => openat(t, AT_FDCWD, a.ptr(0), a.int(1), a.uint(2))),
  openat: supported((t, a) => openat(t, a.int(0), a.ptr(1), a.int(2), a.uint(3))),
  openat2: partial('RESOLVE_CACHED always answers EAGAIN (no lookup cache); the other RESOLVE_* flags are honoured', openat2),
  creat: supported((t, a) => openat(t, AT_FDCWD, a.ptr(0), fcntl.O_CREAT | fcntl.O_WRONLY | fcntl.O_TRUNC, a.uint(1))),
  close: supported(close),
  close_range: supported(closeRange),
  newfstatat: supported(newfstatat),
  statx: partial('basic stats only (no birth time, attributes or mount id)', statx),
  fstat: supported(fstat),
  stat: supported((t, a) => statPath(t, a, true)),
  lstat: supported((t, a) => statPath(t, a, false)),
  readlink: supported((t, a) => readlinkat(t, AT_FDCWD, a.ptr(0), a.ptr(1), a.int(2))),
  readlinkat: supported((t, a) => readlinkat(t, a.int(0), a.ptr(1), a.ptr(2), a.int(3))),
  access: supported((t, a) => faccessat(t, AT_FDCWD, a.ptr(0), a.int(1), 0)),
  faccessat: supported((t, a) => faccessat(t, a.int(0), a.ptr(1), a.int(2), 0)),
  faccessat2: partial('AT_EACCESS checks the real identity, which equals the effective one here', (t, a) =>
    faccessat(t, a.int(0), a.ptr(1), a.int(2), a.int(3) & ~AT_EACCESS),
  ),
  ioctl: partial('terminals (TCGETS/TCSETS*, window size, foreground group, TIOCSCTTY/TIOCNOTTY, TIOCGSID, FIONREAD/TIOCOUTQ, TCFLSH, TCXONC, TCSBRK*) on the host terminal nommu runs on and on pseudo-terminals (with TIOCGPTN, TIOCSPTLCK/TIOCGPTLCK, TIOCGPTPEER on a master), FIONREAD on pipes, sockets and regular files; FIONBIO, FIOCLEX and FIONCLEX on any descriptor, FIOASYNC on pipes and sockets (the flag only: no SIGIO); other requests ENOTTY', ioctl),
  fcntl: partial('no leases or notifications (F_SETLEASE, F_NOTIFY answer EINVAL); seals only on memfds; F_SETLKW does not detect deadlocks; record locks are the guest\'s own: other host processes (another nommu too) neither see them nor are seen', fcntlSyscall),
  dup: supported(dup),
  dup2: supported((t, a) => (a.int(0) === a.int(1) ? (t.process.files.get(a.int(0)), a.int(0)) : dup3(t, a.int(0), a.int(1), 0))),
  dup3: supported((t, a) => dup3(t, a.int(0), a.int(1), a.int(2))),
  getcwd: supported(getcwd),
  getdents: supported((t, a) => getdents(t, a, direntOld)),
  getdents64: supported((t, a) => getdents(t, a, dirent64)),
  pipe: supported((t, a) => pipe2(t, a.ptr(0), 0)),
  pipe2: supported((t, a) => pipe2(t, a.ptr(0), a.int(1))),
  chdir: supported(chdir),
  umask: supported(umask),
};
