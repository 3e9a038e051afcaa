import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { E, errno, fcntl, hostErrno, HostFile, type IoResult, type OpenFile, type SyscallArgs, type Task } from '@nommu/kernel';
import { OffloadMode } from '@nommu/x86-cpu';
import { partial, type Family } from './define.js';

const MFD_CLOEXEC = 0x1;
const MFD_ALLOW_SEALING = 0x2;
const MFD_HUGETLB = 0x4;
const MFD_NOEXEC_SEAL = 0x8;
const MFD_EXEC = 0x10;
/** NAME_MAX minus the "memfd:" prefix. */
const MFD_NAME_MAX = 249;

export const F_SEAL_SEAL = 0x1;
export const F_SEAL_SHRINK = 0x2;
export const F_SEAL_GROW = 0x4;
export const F_SEAL_WRITE = 0x8;
export const F_SEAL_FUTURE_WRITE = 0x10;
const F_SEAL_EXEC = 0x20;
const ALL_SEALS = F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_FUTURE_WRITE | F_SEAL_EXEC;

/**
 * An anonymous file: a host temporary file unlinked at once. Its host name
 * is the host's /proc/self/fd link, so opening /proc/PID/fd/N again works.
 */
export class MemFd extends HostFile {
  constructor(
    fd: number,
    flags: number,
    guestPath: string,
    /** The inode's seals, shared by every open of it. */
    private readonly sealBox: { seals: number },
  ) {
    super(fd, flags, guestPath, `/proc/self/fd/${fd}`);
  }

  get seals(): number {
    return this.sealBox.seals;
  }
  set seals(v: number) {
    this.sealBox.seals = v;
  }

  /** Another open of the same file (open of /proc/PID/fd/N): a new host descriptor, the same seals. */
  reopen(flags: number): MemFd {
    if ((flags & fcntl.O_TRUNC) !== 0) this.checkResize(0);
    const hostFlags = (flags & (fcntl.O_ACCMODE | fcntl.O_TRUNC | fcntl.O_APPEND | fcntl.O_NONBLOCK)) | fcntl.O_CLOEXEC;
    let fd: number;
    try {
      fd = fs.openSync(this.hostPath, hostFlags);
    } catch (err) {
      throw hostErrno(err);
    }
    return new MemFd(fd, flags & ~fcntl.O_CLOEXEC, this.guestPath, this.sealBox);
  }

  /** Writes stay the kernel's: the seals may refuse them. */
  override offloadMode(): number {
    return super.offloadMode() & ~OffloadMode.Write;
  }

  override write(task: Task, data: Uint8Array, pos: number | null): IoResult {
    if ((this.seals & (F_SEAL_WRITE | F_SEAL_FUTURE_WRITE)) !== 0) return errno(E.EPERM);
    if ((this.seals & F_SEAL_GROW) !== 0) {
      const at = pos ?? ((this.flags & fcntl.O_APPEND) !== 0 ? this.size() : this.pos);
      if (at + data.length > this.size()) return errno(E.EPERM);
    }
    return super.write(task, data, pos);
  }

  /** A size change by ftruncate or fallocate, as the seals allow it (EPERM otherwise). */
  checkResize(size: number): void {
    const old = this.size();
    if ((size < old && (this.seals & F_SEAL_SHRINK) !== 0) || (size > old && (this.seals & F_SEAL_GROW) !== 0)) throw errno(E.EPERM);
  }
}

/** F_ADD_SEALS: only writable memfds take seals (EPERM on a read-only file, EINVAL on other files); F_SEAL_SEAL closes the set (EPERM). */
export function addSeals(file: OpenFile, seals: number): number {
  if (!file.writable) throw errno(E.EPERM);
  if ((seals & ~ALL_SEALS) !== 0) throw errno(E.EINVAL);
  if (!(file instanceof MemFd)) throw errno(E.EINVAL);
  if ((file.seals & F_SEAL_SEAL) !== 0) throw errno(E.EPERM);
  // No writable shared mapping of a file exists here (mmap refuses it), so F_SEAL_WRITE never meets EBUSY.
  file.seals |= seals;
  return 0;
}

export function getSeals(file: unknown): number {
  if (!(file instanceof MemFd)) throw errno(E.EINVAL);
  return file.seals;
}

/** Where anonymous files keep their bytes: /dev/shm (memory on Linux hosts) when usable, else the temporary directory. */
function scratchDir(): string {
  try {
    fs.accessSync('/dev/shm', fs.constants.W_OK | fs.constants.X_OK);
    return '/dev/shm';
  } catch {
    return os.tmpdir();
  }
}

function memfdCreate(task: Task, a: SyscallArgs) {
  const flags = a.uint(1);
  if ((flags & ~(MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_HUGETLB | MFD_NOEXEC_SEAL | MFD_EXEC)) !== 0) throw errno(E.EINVAL);
  if ((flags & (MFD_EXEC | MFD_NOEXEC_SEAL)) === (MFD_EXEC | MFD_NOEXEC_SEAL)) throw errno(E.EINVAL);
  // hugetlbfs has no stand-in here.
  if ((flags & MFD_HUGETLB) !== 0) throw errno(E.EINVAL);
  let name: string;
  try {
    name = task.kernel.mem.cstring(a.ptr(0), MFD_NAME_MAX + 1);
  } catch (e) {
    if ((e as { errno?: number }).errno === E.ENAMETOOLONG) throw errno(E.EINVAL);
    throw e;
  }
  const noexec = (flags & MFD_NOEXEC_SEAL) !== 0;
  const seals = noexec ? F_SEAL_EXEC : (flags & MFD_ALLOW_SEALING) !== 0 ? 0 : F_SEAL_SEAL;
  const hostName = path.join(scratchDir(), `nommu-memfd-${randomBytes(8).toString('hex')}`);
  let fd: number;
  try {
    fd = fs.openSync(hostName, fs.constants.O_RDWR | fs.constants.O_CREAT | fs.constants.O_EXCL, 0o600);
    fs.unlinkSync(hostName);
    fs.fchmodSync(fd, noexec ? 0o666 : 0o777);
  } catch (err) {
    throw hostErrno(err);
  }
  const file = new MemFd(fd, fcntl.O_RDWR | 0o100000 /* O_LARGEFILE */, `/memfd:${name} (deleted)`, { seals });
  return task.process.files.install(file, (flags & MFD_CLOEXEC) !== 0);
}

export const memfdFamily: Family = {
  memfd_create: partial(
    'a host temporary file unlinked at once; a write crossing the end of a GROW-sealed file fails whole (Linux may write part of it); F_SEAL_EXEC is not checked by chmod; MFD_HUGETLB answers EINVAL',
    memfdCreate,
  ),
};
