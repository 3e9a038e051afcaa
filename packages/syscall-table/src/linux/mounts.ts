/**
 * The filesystem context of a process and the mount table: chroot, mount,
 * umount2, unshare. One mount namespace and one guest identity: mount and
 * chroot need that identity to be root (CAP_SYS_ADMIN, CAP_SYS_CHROOT), and
 * a mount a guest makes is a fresh tmpfs, another view of a kernel
 * filesystem (/proc, /sys, /dev/pts) or a bind mount of part of the guest's
 * tree; every process sees it (/proc/mounts, /proc/self/mountinfo).
 */
import * as fs from 'node:fs';
import { capable, E, errno, HostFile, hostErrno, PathFile, splitPath, SyntheticFile, type Mount, type Process, type Resolved, type SyscallArgs, type SyscallResult, type Task } from '@nommu/kernel';
import { partial, type Family } from './define.js';
import { resolveAt } from './files.js';

const AT_FDCWD = -100;
const CAP_SYS_CHROOT = 18;
const CAP_SYS_ADMIN = 21;

/** mount(2) flags. */
const MS = {
  RDONLY: 1, NOSUID: 2, NODEV: 4, NOEXEC: 8, SYNCHRONOUS: 16, REMOUNT: 32, MANDLOCK: 64, DIRSYNC: 128, NOSYMFOLLOW: 256,
  NOATIME: 1024, NODIRATIME: 2048, BIND: 4096, MOVE: 8192, REC: 16384, SILENT: 32768,
  UNBINDABLE: 1 << 17, PRIVATE: 1 << 18, SLAVE: 1 << 19, SHARED: 1 << 20,
  NOUSER: 1 << 31,
} as const;
const MS_MGC_VAL = 0xc0ed0000;
const MS_MGC_MSK = 0xffff0000;
const PROPAGATION = MS.UNBINDABLE | MS.PRIVATE | MS.SLAVE | MS.SHARED;

/** umount2 flags. */
const MNT_FORCE = 1;
const MNT_DETACH = 2;
const MNT_EXPIRE = 4;
const UMOUNT_NOFOLLOW = 8;

/** CLONE_* flags unshare(2) knows. */
const CLONE = {
  VM: 0x100, FS: 0x200, FILES: 0x400, SIGHAND: 0x800, THREAD: 0x10000, NEWNS: 0x20000, SYSVSEM: 0x40000,
  NEWCGROUP: 0x02000000, NEWUTS: 0x04000000, NEWIPC: 0x08000000, NEWUSER: 0x10000000, NEWPID: 0x20000000, NEWNET: 0x40000000, NEWTIME: 0x80,
} as const;
const NAMESPACES = CLONE.NEWNS | CLONE.NEWCGROUP | CLONE.NEWUTS | CLONE.NEWIPC | CLONE.NEWPID | CLONE.NEWNET | CLONE.NEWTIME;
const UNSHARE_KNOWN = CLONE.VM | CLONE.FS | CLONE.FILES | CLONE.SIGHAND | CLONE.THREAD | CLONE.SYSVSEM | CLONE.NEWUSER | NAMESPACES;

/** The name must exist (a walk ending on a missing name still resolves, for creating it): ENOENT otherwise. */
function existing(r: Resolved): Resolved {
  if (r.node) return r;
  try {
    fs.statSync(r.host);
  } catch (err) {
    throw hostErrno(err);
  }
  return r;
}

const isDir = (task: Task, r: Resolved): boolean => {
  try {
    task.kernel.vfs.requireDirectory(r);
    return true;
  } catch {
    return false;
  }
};

/** chroot: the caller's root (shared with whoever shares its working directory) becomes a directory. */
function chroot(task: Task, a: SyscallArgs): SyscallResult {
  const k = task.kernel;
  const r = resolveAt(task, AT_FDCWD, k.mem.cstring(a.ptr(0)), true);
  k.vfs.requireDirectory(r);
  if (!capable(k.identity, CAP_SYS_CHROOT)) {
    // Search permission is looked at first (a directory the caller cannot enter is EACCES).
    if (!r.node) {
      try {
        fs.accessSync(r.host, fs.constants.X_OK);
      } catch {
        throw errno(E.EACCES);
      }
    }
    throw errno(E.EPERM);
  }
  task.process.root = r.guest;
  return 0;
}

/** The mount whose root a resolved name is, or null. */
function mountAtName(task: Task, r: Resolved): Mount | null {
  const parts = splitPath(r.guest);
  const m = task.kernel.vfs.mountOf(parts);
  return m.target === r.guest ? m : null;
}

/** Is `guest` on mount `m` (in its tree, not below a later mount)? */
function onMount(task: Task, m: Mount, guest: string): boolean {
  return task.kernel.vfs.mountOf(splitPath(guest)) === m;
}

/** Anything holding `m`: an open file on it, a working directory or a root in it. */
function mountBusy(task: Task, m: Mount): boolean {
  const k = task.kernel;
  if (k.vfs.mountsAbove(m).length > 0) return true;
  const seen = new Set<unknown>();
  for (const p of k.processes.values() as Iterable<Process>) {
    if (p.exitStatus !== null) continue;
    if (onMount(task, m, p.cwd) || onMount(task, m, p.root)) return true;
    if (seen.has(p.files)) continue;
    seen.add(p.files);
    for (const fd of p.files.list()) {
      const f = p.files.get(fd);
      if (f instanceof HostFile || f instanceof PathFile) {
        if (f.mount === m) return true;
        if (f.mount === null && f instanceof PathFile && f.node && onMount(task, m, f.guestPath)) return true;
      } else if (f instanceof SyntheticFile && onMount(task, m, f.guestPath)) {
        return true;
      }
    }
  }
  return false;
}

/** tmpfs's options (mount -o): size and inode limits are taken and not enforced; mode= sets the root's mode. */
function tmpfsOptions(data: string): { mode?: number } {
  const out: { mode?: number } = {};
  for (const opt of data.split(',')) {
    if (opt === '') continue;
    const eq = opt.indexOf('=');
    const key = eq < 0 ? opt : opt.slice(0, eq);
    const value = eq < 0 ? '' : opt.slice(eq + 1);
    switch (key) {
      case 'size':
      case 'nr_blocks':
      case 'nr_inodes':
        if (!/^\d+[kKmMgGtTpPeE%]?$/.test(value)) throw errno(E.EINVAL);
        break;
      case 'mode':
        if (!/^[0-7]+$/.test(value)) throw errno(E.EINVAL);
        out.mode = parseInt(value, 8) & 0o7777;
        break;
      case 'noswap':
      case 'inode32':
      case 'inode64':
        break;
      // "rw" and friends, when a program passes them as data rather than flags, are flags for the VFS.
      case 'rw':
      case 'ro':
      case 'defaults':
        break;
      default:
        // uid=, gid= (this kernel cannot give a host directory another owner), huge=, mpol= and the rest.
        throw errno(E.EINVAL);
    }
  }
  return out;
}

/** The kernel filesystems a guest can mount another view of, by type name. */
const KERNEL_FS = new Map<string, 'proc' | 'sysfs' | 'devpts' | 'devfs'>([
  ['proc', 'proc'],
  ['sysfs', 'sysfs'],
  ['devpts', 'devpts'],
  ['devtmpfs', 'devfs'],
]);

function mount(task: Task, a: SyscallArgs): SyscallResult {
  const k = task.kernel;
  const mem = k.mem;
  let flags = a.uint(3) >>> 0;
  if ((flags & MS_MGC_MSK) >>> 0 === MS_MGC_VAL) flags = (flags & ~MS_MGC_MSK) >>> 0;
  const target = existing(resolveAt(task, AT_FDCWD, mem.cstring(a.ptr(1)), true));
  if ((flags & MS.NOUSER) !== 0) throw errno(E.EINVAL);
  if (!capable(k.identity, CAP_SYS_ADMIN)) throw errno(E.EPERM);
  const vfs = k.vfs;
  const readOnly = (flags & MS.RDONLY) !== 0;
  const data = a.ptr(4) !== 0 ? mem.cstring(a.ptr(4)) : '';

  if ((flags & MS.REMOUNT) !== 0) {
    const m = mountAtName(task, target);
    if (!m) throw errno(E.EINVAL);
    // What the host made read-only stays so, whichever view of it is remounted (Linux's MNT_LOCK_READONLY: EPERM).
    if (!readOnly && m.lockedReadOnly) throw errno(E.EPERM);
    if ((flags & MS.BIND) !== 0) {
      // Per mount: only this view changes.
      m.readOnly = readOnly;
    } else {
      // The filesystem's own flag: every view of it changes (a bind mount of the read-only root stays read-only).
      const fsOf = (x: Mount): Mount => x.base ?? x;
      if (!readOnly && fsOf(m).lockedReadOnly) throw errno(E.EPERM);
      if (m.kind === 'tmpfs' && data !== '') tmpfsOptions(data);
      for (const x of vfs.mounts) if (fsOf(x) === fsOf(m) && !(x.lockedReadOnly && !readOnly)) x.readOnly = readOnly;
    }
    return 0;
  }

  // Nothing may be mounted where this VFS would not show it: on '/' itself, or inside the kernel's /proc.
  const onProc = vfs.procfs !== null && (target.guest === '/proc' || target.guest.startsWith('/proc/'));
  if ((flags & MS.BIND) !== 0) {
    if (a.ptr(0) === 0) throw errno(E.EFAULT);
    const source = existing(resolveAt(task, AT_FDCWD, mem.cstring(a.ptr(0)), true));
    if (isDir(task, source) !== isDir(task, target)) throw errno(E.ENOTDIR);
    if (target.guest === '/' || onProc) throw errno(E.EBUSY);
    if (vfs.procfs !== null && source.guest === '/proc') {
      vfs.mountAt(target, { kind: 'proc' }, false);
      return 0;
    }
    if (source.node) {
      // A kernel filesystem binds whole: its root, not a part of it.
      const from = mountAtName(task, source);
      if (!from || from.kind === 'root') throw errno(E.EINVAL);
    }
    vfs.mountAt(target, { kind: 'bind', source, rec: (flags & MS.REC) !== 0 }, vfs.mountOf(splitPath(source.guest)).readOnly);
    return 0;
  }

  if ((flags & PROPAGATION) !== 0) {
    // One mount namespace: nothing propagates anywhere, so the type is checked and has nothing to change.
    const type = flags & PROPAGATION;
    if ((type & (type - 1)) !== 0 || (flags & ~(PROPAGATION | MS.REC | MS.SILENT)) !== 0) throw errno(E.EINVAL);
    if (!mountAtName(task, target) && !(vfs.procfs !== null && target.guest === '/proc')) throw errno(E.EINVAL);
    return 0;
  }

  // MS_MOVE is not done here: the mount table keeps each mount where it was made.
  if ((flags & MS.MOVE) !== 0) throw errno(E.EINVAL);

  if (a.ptr(2) === 0) throw errno(E.EINVAL);
  const type = mem.cstring(a.ptr(2));
  let what: Parameters<typeof vfs.mountAt>[1];
  if (type === 'tmpfs') {
    what = { kind: 'tmpfs', ...tmpfsOptions(data) };
  } else if (KERNEL_FS.has(type)) {
    const kind = KERNEL_FS.get(type)!;
    const have = kind === 'proc' ? vfs.procfs : kind === 'sysfs' ? vfs.sysfs : vfs.devfs;
    if (!have) throw errno(E.ENODEV);
    if (data !== '' && data !== 'rw' && data !== 'ro') throw errno(E.EINVAL);
    what = { kind };
  } else if (type === 'hostfs') {
    // A filesystem on a device (as /proc/filesystems says): the source must be a block device, and none is.
    if (a.ptr(0) === 0) throw errno(E.EINVAL);
    existing(resolveAt(task, AT_FDCWD, mem.cstring(a.ptr(0)), true));
    throw errno(E.ENOTBLK);
  } else {
    throw errno(E.ENODEV);
  }
  if (!isDir(task, target)) throw errno(E.ENOTDIR);
  if (target.guest === '/' || onProc) throw errno(E.EBUSY);
  const m = vfs.mountAt(target, what, readOnly);
  if (a.ptr(0) !== 0) m.sourceName = mem.cstring(a.ptr(0));
  return 0;
}

/** Mounts MNT_EXPIRE marked once: a second MNT_EXPIRE unmounts them. */
const expiring = new WeakSet<Mount>();

function umount2(task: Task, a: SyscallArgs): SyscallResult {
  const k = task.kernel;
  const flags = a.int(1);
  if ((flags & ~(MNT_FORCE | MNT_DETACH | MNT_EXPIRE | UMOUNT_NOFOLLOW)) !== 0) throw errno(E.EINVAL);
  if ((flags & MNT_EXPIRE) !== 0 && (flags & (MNT_FORCE | MNT_DETACH)) !== 0) throw errno(E.EINVAL);
  const r = resolveAt(task, AT_FDCWD, k.mem.cstring(a.ptr(0)), (flags & UMOUNT_NOFOLLOW) === 0);
  if (!r.node) {
    try {
      fs.lstatSync(r.host);
    } catch (err) {
      throw hostErrno(err);
    }
  }
  if (!capable(k.identity, CAP_SYS_ADMIN)) throw errno(E.EPERM);
  const vfs = k.vfs;
  // The kernel's /proc and the root stay.
  if ((vfs.procfs !== null && r.guest === '/proc') || r.guest === '/') throw errno(E.EBUSY);
  const m = mountAtName(task, r);
  // What the host mounted (the kernel's /dev and /sys, a configured mount) stays: under it is the host's own directory.
  if (!m || m.kind === 'root' || m.locked) throw errno(E.EINVAL);
  if ((flags & MNT_EXPIRE) !== 0) {
    if (!expiring.has(m)) {
      expiring.add(m);
      throw errno(E.EAGAIN);
    }
  }
  if ((flags & MNT_DETACH) === 0 && mountBusy(task, m)) throw errno(E.EBUSY);
  // Open files keep what they opened; the names go at once (lazily, for MNT_DETACH, with the mounts below).
  vfs.unmount(m);
  return 0;
}

/**
 * unshare: a private copy of the descriptor table (CLONE_FILES) or of the
 * working directory, root and umask (CLONE_FS). There are no namespaces
 * (EINVAL, or EPERM without CAP_SYS_ADMIN, as a kernel built without them);
 * CLONE_THREAD, CLONE_SIGHAND and CLONE_VM only when there is nothing to unshare.
 */
function unshare(task: Task, a: SyscallArgs): SyscallResult {
  const k = task.kernel;
  let flags = a.uint(0) >>> 0;
  if ((flags & CLONE.NEWUSER) !== 0) flags |= CLONE.THREAD | CLONE.FS;
  if ((flags & CLONE.VM) !== 0) flags |= CLONE.SIGHAND;
  if ((flags & CLONE.SIGHAND) !== 0) flags |= CLONE.THREAD;
  if ((flags & CLONE.NEWNS) !== 0) flags |= CLONE.FS;
  if ((flags & ~UNSHARE_KNOWN) !== 0) throw errno(E.EINVAL);
  const p = task.process;
  if ((flags & (CLONE.THREAD | CLONE.SIGHAND | CLONE.VM)) !== 0 && p.threads.length > 1) throw errno(E.EINVAL);
  if ((flags & (CLONE.SIGHAND | CLONE.VM)) !== 0 && sharesSigactions(p)) throw errno(E.EINVAL);
  if ((flags & CLONE.VM) !== 0 && p.mm.users > 1) throw errno(E.EINVAL);
  // A thread cannot have a working directory or descriptor table of its own here: they live on its process.
  if ((flags & (CLONE.FS | CLONE.FILES)) !== 0 && p.threads.length > 1) throw errno(E.EINVAL);
  if ((flags & CLONE.NEWUSER) !== 0) throw errno(E.EINVAL);
  if ((flags & NAMESPACES) !== 0) throw errno(capable(k.identity, CAP_SYS_ADMIN) ? E.EINVAL : E.EPERM);
  if ((flags & CLONE.FS) !== 0) p.fsContext = p.fsContext.copy();
  if ((flags & CLONE.FILES) !== 0 && p.files.users > 1) {
    p.files.users--;
    p.files = p.files.clone();
  }
  // CLONE_SYSVSEM: no process shares semaphore undo lists here, so there is nothing to unshare.
  return 0;
}

/** Does another living process share p's signal actions (clone(CLONE_SIGHAND))? */
function sharesSigactions(p: Process): boolean {
  for (const q of p.kernel.processes.values() as Iterable<Process>) if (q !== p && q.exitStatus === null && q.sigactions === p.sigactions) return true;
  return false;
}

export const mountsFamily: Family = {
  chroot: partial('a per-process root (kept across exec, shared by CLONE_FS); EACCES only from the host directory\'s search permission', chroot),
  mount: partial(
    'tmpfs (size=/nr_inodes= taken, not enforced; mode=; uid=/gid= EINVAL), proc/sysfs/devpts/devtmpfs views, MS_BIND (MS_REC) of guest names (without MS_REC EINVAL over what the host mounted, as Linux\'s locked mounts; a kernel filesystem only whole), MS_REMOUNT with MS_RDONLY (per mount with MS_BIND, else every view of the filesystem; what the host made read-only stays so: EPERM), propagation flags as no-ops (one namespace); MS_MOVE EINVAL; other types ENODEV (hostfs ENOTBLK); nothing on / or inside the kernel\'s /proc (EBUSY); no nosuid/nodev/noexec enforcement',
    mount,
  ),
  umount2: partial('MNT_FORCE as a plain umount, MNT_DETACH lazily (open files keep working), MNT_EXPIRE marks then unmounts (any use in between not seen); EBUSY for the kernel\'s /proc and /, EINVAL for what the host mounted (/dev, /sys, --mount/--tmpfs); busy means open files, working directories and roots, not mapped files', umount2),
  unshare: partial('CLONE_FILES, CLONE_FS, CLONE_SYSVSEM; no namespaces (EINVAL, EPERM without CAP_SYS_ADMIN); CLONE_FS/FILES EINVAL in a multithreaded process (threads share them through their process)', unshare),
};
