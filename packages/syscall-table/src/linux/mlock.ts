/**
 * Memory locking. Guest RAM is never swapped, so every page is resident
 * already and locking changes no residency: it marks mappings locked
 * (MemoryMap.lock), which VmLck reports and RLIMIT_MEMLOCK limits, with
 * Linux's checks and errors. Locks are not inherited by fork and end at exec.
 */
import { CAP_IPC_LOCK, capable, E, errno, PAGE_SIZE, type SyscallArgs, type SyscallResult, type Task } from '@nommu/kernel';
import { partial, supported, type Family } from './define.js';
import { rlimit, RLIM_INFINITY } from './process.js';

const RLIMIT_MEMLOCK = 8;
const MLOCK_ONFAULT = 1;
const MCL_CURRENT = 1;
const MCL_FUTURE = 2;
const MCL_ONFAULT = 4;

const ipcLock = (task: Task): boolean => capable(task.kernel.identity, CAP_IPC_LOCK);

/** RLIMIT_MEMLOCK's soft limit in bytes (Infinity when unlimited). */
function lockLimit(task: Task): number {
  const soft = rlimit(task, RLIMIT_MEMLOCK)[0];
  return soft === RLIM_INFINITY ? Infinity : Number(soft);
}

/** can_do_mlock: CAP_IPC_LOCK or a nonzero RLIMIT_MEMLOCK, else EPERM. */
export function checkMayLock(task: Task): void {
  if (!ipcLock(task) && lockLimit(task) === 0) throw errno(E.EPERM);
}

const U64 = (1n << 64n) - 1n;
const PAGE_MASK = BigInt(PAGE_SIZE - 1);

/**
 * The page range of (addr, len) as Linux computes it, in 64-bit arithmetic
 * that wraps: null when empty, EINVAL when the end wraps below the start.
 */
function pages(a: SyscallArgs): [number, number] | null {
  const addr = a.u64(0);
  const len = (((a.u64(1) + (addr & PAGE_MASK)) & U64) + PAGE_MASK) & U64 & ~PAGE_MASK;
  const start = addr & ~PAGE_MASK;
  const end = (start + len) & U64;
  if (end < start) throw errno(E.EINVAL);
  return end === start ? null : [Number(start), Number(end)];
}

/**
 * mmap of `bytes` that will be locked (MAP_LOCKED, or after mlockall's
 * MCL_FUTURE): EPERM as mlock, EAGAIN past RLIMIT_MEMLOCK.
 */
export function checkLockedMap(task: Task, bytes: number): void {
  checkMayLock(task);
  if (!ipcLock(task) && task.process.mm.lockedBytes + bytes > lockLimit(task)) throw errno(E.EAGAIN);
}

/** Bytes of [start, end) the process has locked already. */
function lockedIn(task: Task, start: number, end: number): number {
  let n = 0;
  for (const v of task.process.mm.vmas) if (v.locked) n += Math.max(0, Math.min(v.end, end) - Math.max(v.start, start));
  return n;
}

function lock(task: Task, a: SyscallArgs): SyscallResult {
  checkMayLock(task);
  const range = pages(a);
  if (!range) return 0;
  const [start, end] = range;
  const mm = task.process.mm;
  if (!ipcLock(task) && mm.lockedBytes + (end - start) - lockedIn(task, start, end) > lockLimit(task)) throw errno(E.ENOMEM);
  mm.lock(start, end, true);
  return 0;
}

function mlock2(task: Task, a: SyscallArgs): SyscallResult {
  if ((a.int(2) & ~MLOCK_ONFAULT) !== 0) throw errno(E.EINVAL);
  return lock(task, a);
}

function munlock(task: Task, a: SyscallArgs): SyscallResult {
  const range = pages(a);
  if (range) task.process.mm.lock(range[0], range[1], false);
  return 0;
}

function mlockall(task: Task, a: SyscallArgs): SyscallResult {
  const flags = a.int(0);
  if (flags === 0 || (flags & ~(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT)) !== 0 || flags === MCL_ONFAULT) throw errno(E.EINVAL);
  checkMayLock(task);
  const mm = task.process.mm;
  if ((flags & MCL_CURRENT) !== 0 && !ipcLock(task)) {
    let total = 0;
    for (const v of mm.vmas) total += v.end - v.start;
    if (total > lockLimit(task)) throw errno(E.ENOMEM);
  }
  mm.lockFuture = (flags & MCL_FUTURE) !== 0;
  if ((flags & MCL_CURRENT) !== 0) for (const v of mm.vmas) if (v.owned) v.locked = true;
  return 0;
}

function munlockall(task: Task): SyscallResult {
  const mm = task.process.mm;
  mm.lockFuture = false;
  for (const v of mm.vmas) delete v.locked;
  return 0;
}

const RESIDENT = 'guest RAM is never swapped: a lock marks the mappings (VmLck, RLIMIT_MEMLOCK) and changes no residency';

export const mlockFamily: Family = {
  mlock: supported(lock),
  mlock2: partial(`${RESIDENT}; MLOCK_ONFAULT is accepted and locks at once`, mlock2),
  munlock: supported(munlock),
  mlockall: partial(`${RESIDENT}; MCL_ONFAULT is accepted and locks at once`, mlockall),
  munlockall: supported(munlockall),
};
