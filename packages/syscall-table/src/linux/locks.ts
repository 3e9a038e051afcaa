import { BLOCK, E, errno, locks, notPath, type OpenFile, type RecordLock, type SyscallResult, type Task } from '@nommu/kernel';
import { partial, type Family } from './define.js';

const LOCK_SH = 1;
const LOCK_EX = 2;
const LOCK_NB = 4;
const LOCK_UN = 8;

/** Parks the task until some lock is released; the call then tries again. */
function waitForUnlock(task: Task, why: string): typeof BLOCK {
  task.kernel.block(task, why, false);
  locks.lockQueue.add(task);
  return BLOCK;
}

function flock(task: Task, fd: number, op: number): SyscallResult {
  const file = notPath(task.process.files.get(fd));
  const kind = op & ~LOCK_NB;
  const want = kind === LOCK_SH ? 'sh' : kind === LOCK_EX ? 'ex' : kind === LOCK_UN ? 'un' : null;
  if (want === null) throw errno(E.EINVAL);
  if (locks.flock(file.lockKey(), file, want)) return 0;
  if ((op & LOCK_NB) !== 0) throw errno(E.EAGAIN);
  return waitForUnlock(task, 'flock');
}

export const F_GETLK = 5;
export const F_SETLK = 6;
export const F_SETLKW = 7;
export const F_OFD_GETLK = 36;
export const F_OFD_SETLK = 37;
export const F_OFD_SETLKW = 38;

/** struct flock (x86-64): short l_type, short l_whence, off_t l_start, off_t l_len, pid_t l_pid. */
const FL = { TYPE: 0, WHENCE: 2, START: 8, LEN: 16, PID: 24 } as const;
const OFFSET_MAX = Number.MAX_SAFE_INTEGER;

/** fcntl's record-lock commands (POSIX and OFD). */
export function fcntlLock(task: Task, fd: number, file: OpenFile, cmd: number, addr: number): SyscallResult {
  const mem = task.kernel.mem;
  const ofd = cmd === F_OFD_GETLK || cmd === F_OFD_SETLK || cmd === F_OFD_SETLKW;
  const type = (mem.u16(addr + FL.TYPE) << 16) >> 16;
  const whence = (mem.u16(addr + FL.WHENCE) << 16) >> 16;
  const start = Number(mem.i64(addr + FL.START));
  const len = Number(mem.i64(addr + FL.LEN));
  if (ofd && mem.i32(addr + FL.PID) !== 0) throw errno(E.EINVAL);
  if (type !== locks.F_RDLCK && type !== locks.F_WRLCK && type !== locks.F_UNLCK) throw errno(E.EINVAL);
  const base = whence === 0 ? 0 : whence === 1 ? file.pos : whence === 2 ? file.size() : NaN;
  if (Number.isNaN(base)) throw errno(E.EINVAL);
  let from = base + start;
  let to = len === 0 ? Infinity : from + len - 1;
  if (len < 0) {
    to = from - 1;
    from += len;
  }
  if (from < 0 || (to !== Infinity && to > OFFSET_MAX)) throw errno(E.EINVAL);
  const owner = ofd ? file : task.process.files;
  const lock: RecordLock = { owner, pid: ofd ? -1 : task.process.pid, type, start: from, end: to };
  const key = file.lockKey();
  if (cmd === F_GETLK || cmd === F_OFD_GETLK) {
    if (type === locks.F_UNLCK) throw errno(E.EINVAL);
    const c = locks.conflict(key, lock);
    if (!c) {
      mem.setU16(addr + FL.TYPE, locks.F_UNLCK);
      return 0;
    }
    mem.setU16(addr + FL.TYPE, c.type);
    mem.setU16(addr + FL.WHENCE, 0);
    mem.setI64(addr + FL.START, BigInt(c.start));
    mem.setI64(addr + FL.LEN, c.end === Infinity ? 0n : BigInt(c.end - c.start + 1));
    mem.setI32(addr + FL.PID, c.pid);
    return 0;
  }
  if (type === locks.F_RDLCK && !file.readable) throw errno(E.EBADF);
  if (type === locks.F_WRLCK && !file.writable) throw errno(E.EBADF);
  if (type !== locks.F_UNLCK && locks.conflict(key, lock)) {
    if (cmd === F_SETLK || cmd === F_OFD_SETLK) throw errno(E.EAGAIN);
    return waitForUnlock(task, `record lock on fd ${fd}`);
  }
  locks.setRecord(key, lock);
  return 0;
}

export const lockFamily: Family = {
  flock: partial('locks are the guest\'s own: other host processes (another nommu too) neither see them nor are seen', (t, a) => flock(t, a.int(0), a.int(1))),
};
