import * as fs from 'node:fs';
import { E, errno, type Errno } from '../errno.js';
import type { Task } from '../task/task.js';
import { O_DIRECTORY, O_NOFOLLOW, O_PATH, OpenFile, POLL } from './file.js';
import type { SyntheticNode } from './procfs.js';
import { statFromHost, type KStat } from './stat.js';
import type { Mount } from './vfs.js';

/** The flags an O_PATH description keeps (Linux drops the rest, O_CLOEXEC included, at open). */
export const O_PATH_KEEP = O_PATH | O_DIRECTORY | O_NOFOLLOW;

/**
 * An O_PATH descriptor: a file named, never opened. Nothing is opened on the
 * host for it (a FIFO or a device stays shut, a symlink stays a symlink), so
 * the only operations are those on the name: fstat, fstatfs, fchdir, *at()
 * relative to it, fstatat/fchownat/linkat with AT_EMPTY_PATH,
 * readlinkat(fd, ""), dup, fcntl's descriptor flags and close. read, write
 * and the rest answer EBADF, as on Linux.
 */
export class PathFile extends OpenFile {
  constructor(
    flags: number,
    guestPath: string,
    /** The host name it was opened by ('' for a kernel file: /proc, /dev, a pipe). */
    readonly hostPath: string,
    /** The mount of a host name (its st_dev), null for kernel files. */
    readonly mount: Mount | null,
    /** What fstat shows. */
    private readonly statOf: () => KStat,
    /** The synthetic node it names, if any (a /proc symlink readlinkat reads). */
    readonly node: SyntheticNode | null = null,
  ) {
    super(flags & O_PATH_KEEP, guestPath);
  }

  stat(): KStat {
    return this.statOf();
  }
  override ioctl(_task: Task, _request: number, _argp: number): number | Errno {
    return errno(E.EBADF);
  }
  override poll(): number {
    return POLL.NVAL;
  }
}

/**
 * fstat of a host name held by an O_PATH descriptor: the name's inode as it
 * is now while the name still leads to the same inode, else the inode as it
 * was at open (Linux keeps the inode itself; renames and unlinks are not
 * followed here). `adjust` maps the host's answer to the guest's (st_dev).
 */
export function pathStat(hostPath: string, adjust: (st: KStat) => KStat): () => KStat {
  let last = adjust(statFromHost(fs.lstatSync(hostPath, { bigint: true })));
  return () => {
    try {
      const now = adjust(statFromHost(fs.lstatSync(hostPath, { bigint: true })));
      if (now.ino === last.ino && now.dev === last.dev) last = now;
    } catch {
      // gone: what it was
    }
    return last;
  };
}

/** Linux refuses these on an O_PATH descriptor (fdget, not fdget_raw): EBADF. */
export function notPath<F extends OpenFile>(file: F): F {
  if ((file.flags & O_PATH) !== 0) throw errno(E.EBADF);
  return file;
}
