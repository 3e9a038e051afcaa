/**
 * inotify(7): inotify_init, inotify_init1, inotify_add_watch and
 * inotify_rm_watch. The instances and the events are the kernel's
 * (fs/inotify.ts); the filesystem handlers report what the guest does.
 */
import * as fs from 'node:fs';
import { E, errno, fcntl, fsnotify, hostErrno, IN, InotifyFile, type SyscallArgs, type SyscallResult, type Task } from '@nommu/kernel';
import { partial, type Family } from './define.js';
import { resolveAt } from './files.js';

const AT_FDCWD = -100;

/** inotify_init1: IN_NONBLOCK and IN_CLOEXEC (O_NONBLOCK, O_CLOEXEC); anything else EINVAL. */
function inotifyInit(task: Task, flags: number): SyscallResult {
  if ((flags & ~(fcntl.O_NONBLOCK | fcntl.O_CLOEXEC)) !== 0) throw errno(E.EINVAL);
  const file = InotifyFile.create(task, flags);
  return task.process.files.install(file, (flags & fcntl.O_CLOEXEC) !== 0);
}

/**
 * inotify_add_watch, with Linux's order of checks: the mask (unknown bits, or
 * none at all: EINVAL), the descriptor (EBADF), IN_MASK_ADD with
 * IN_MASK_CREATE (EINVAL), an instance (EINVAL), then the name (followed
 * unless IN_DONT_FOLLOW; IN_ONLYDIR wants a directory) with read permission.
 */
function addWatch(task: Task, a: SyscallArgs): SyscallResult {
  const mask = a.uint(2);
  if ((mask & ~fsnotify.IN_VALID_BITS) !== 0 || (mask & fsnotify.IN_VALID_BITS) === 0) throw errno(E.EINVAL);
  const file = task.process.files.get(a.int(0));
  if ((mask & IN.MASK_ADD) !== 0 && (mask & IN.MASK_CREATE) !== 0) throw errno(E.EINVAL);
  if (!(file instanceof InotifyFile)) throw errno(E.EINVAL);
  const follow = (mask & IN.DONT_FOLLOW) === 0;
  const r = resolveAt(task, AT_FDCWD, task.kernel.mem.cstring(a.ptr(1)), follow);
  let key: string;
  if (r.node) {
    if ((mask & IN.ONLYDIR) !== 0 && r.node.kind !== 'dir') throw errno(E.ENOTDIR);
    key = fsnotify.syntheticKey(r.guest);
  } else {
    let ino: fsnotify.Inode;
    let link = false;
    try {
      ino = fsnotify.hostKey(r.host, follow);
      link = !follow && fs.lstatSync(r.host).isSymbolicLink();
    } catch (err) {
      throw hostErrno(err);
    }
    if ((mask & IN.ONLYDIR) !== 0 && !ino.dir) throw errno(E.ENOTDIR);
    // A symlink itself is always readable; anything else needs read permission.
    if (!link) {
      try {
        fs.accessSync(r.host, fs.constants.R_OK);
      } catch (err) {
        throw hostErrno(err);
      }
    }
    key = ino.key;
  }
  return file.addWatch(key, mask);
}

function rmWatch(task: Task, a: SyscallArgs): SyscallResult {
  const file = task.process.files.get(a.int(0));
  if (!(file instanceof InotifyFile)) throw errno(E.EINVAL);
  file.rmWatch(a.int(1));
  return 0;
}

const NOTE =
  'events come from what the guest does through this kernel: changes other host programs make are not seen; a file renamed while open no longer reports to its directory; a file opened before the first watch and unlinked while open gets IN_DELETE_SELF at the unlink, not at its last close; no events for FIFO, exec or O_TMPFILE opens; IN_UNMOUNT never comes';

export const inotifyFamily: Family = {
  inotify_init: partial(NOTE, (t) => inotifyInit(t, 0)),
  inotify_init1: partial(NOTE, (t, a) => inotifyInit(t, a.int(0))),
  inotify_add_watch: partial(NOTE, addWatch),
  inotify_rm_watch: partial(NOTE, rmWatch),
};
