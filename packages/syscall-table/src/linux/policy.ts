/**
 * Scheduling policies, the persona, and advice: calls a program makes to say
 * how it wants to be run or how it will use a file or memory. One CPU and one
 * round-robin queue run every task, so a policy is recorded and reported,
 * not weighed; advice is checked as Linux checks it and then has nothing to
 * change (no page cache, no swap: guest memory is host memory).
 */
import { E, errno, notPath, pageUp, PAGE_SIZE, SCHED_RESET_ON_FORK, stat, type SyscallArgs, type SyscallResult, type Task } from '@nommu/kernel';
import { partial, supported, type Family } from './define.js';
import { writeBackShared } from './memory.js';
import { affinityTarget } from './tasks.js';

const SCHED_OTHER = 0;
const SCHED_FIFO = 1;
const SCHED_RR = 2;
const SCHED_BATCH = 3;
const SCHED_IDLE = 5;
const RT_PRIO_MAX = 99;

/** The task a sched_* call names: as for the affinity calls, but a negative pid is EINVAL. */
function schedTarget(task: Task, pid: number): Task {
  if (pid < 0) throw errno(E.EINVAL);
  return affinityTarget(task, pid);
}

const realtime = (policy: number): boolean => policy === SCHED_FIFO || policy === SCHED_RR;
const known = (policy: number): boolean => realtime(policy) || policy === SCHED_OTHER || policy === SCHED_BATCH || policy === SCHED_IDLE;

/** struct sched_param is one int; NULL is EINVAL (before the target is looked up, as Linux does). */
function readPriority(task: Task, addr: number): number {
  if (addr === 0) throw errno(E.EINVAL);
  return task.kernel.mem.i32(addr);
}

/**
 * The policy and priority checks of sched_setscheduler/sched_setparam: a
 * real-time priority is 1..99 and the others 0 (EINVAL otherwise); the
 * real-time policies answer EPERM, as Linux does for a process without
 * CAP_SYS_NICE or RLIMIT_RTPRIO: this kernel cannot give them.
 */
function checkPolicy(policy: number, priority: number): void {
  if (!known(policy)) throw errno(E.EINVAL);
  if (realtime(policy) ? priority < 1 || priority > RT_PRIO_MAX : priority !== 0) throw errno(E.EINVAL);
  if (realtime(policy)) throw errno(E.EPERM);
}

function schedSetscheduler(task: Task, a: SyscallArgs): SyscallResult {
  const raw = a.int(1);
  const priority = readPriority(task, a.ptr(2));
  const t = schedTarget(task, a.int(0));
  const policy = raw & ~SCHED_RESET_ON_FORK;
  checkPolicy(policy, priority);
  t.schedPolicy = raw;
  return 0;
}

function schedSetparam(task: Task, a: SyscallArgs): SyscallResult {
  const priority = readPriority(task, a.ptr(1));
  const t = schedTarget(task, a.int(0));
  checkPolicy(t.schedPolicy & ~SCHED_RESET_ON_FORK, priority);
  return 0;
}

function schedGetparam(task: Task, a: SyscallArgs): SyscallResult {
  if (a.ptr(1) === 0) throw errno(E.EINVAL);
  schedTarget(task, a.int(0));
  task.kernel.mem.setI32(a.ptr(1), 0); // no task has a real-time policy
  return 0;
}

function priorityLimit(a: SyscallArgs, rt: number): SyscallResult {
  const policy = a.int(0);
  if (!known(policy)) throw errno(E.EINVAL);
  return realtime(policy) ? rt : 0;
}

/** The time slice: the kernel's 10 ms for every task (Linux answers SCHED_OTHER's from its load). */
const SLICE_NS = 10_000_000;

function schedRrGetInterval(task: Task, a: SyscallArgs): SyscallResult {
  schedTarget(task, a.int(0));
  const mem = task.kernel.mem;
  mem.setI64(a.ptr(1), 0);
  mem.setI64(a.ptr(1) + 8, SLICE_NS);
  return 0;
}

/** personality(0xffffffff) asks; any other value is the new persona. Either way the answer is the old one. */
function personality(task: Task, a: SyscallArgs): SyscallResult {
  const old = task.personality;
  const want = a.uint(0);
  if (want !== 0xffffffff) task.personality = want;
  return old;
}

const POSIX_FADV_NOREUSE = 5;

/** fadvise64: EBADF, ESPIPE for a pipe, EINVAL for a negative length or unknown advice; then nothing to do. */
function fadvise64(task: Task, a: SyscallArgs): SyscallResult {
  const file = notPath(task.process.files.get(a.int(0)));
  if ((file.stat().mode & stat.S_IFMT) === stat.S_IFIFO) throw errno(E.ESPIPE);
  const advice = a.int(3);
  if (a.long(2) < 0 || advice < 0 || advice > POSIX_FADV_NOREUSE) throw errno(E.EINVAL);
  return 0;
}

/** readahead: a readable regular file (EBADF, EINVAL otherwise); the data is read when asked for. */
function readahead(task: Task, a: SyscallArgs): SyscallResult {
  const file = notPath(task.process.files.get(a.int(0)));
  if (!file.readable) throw errno(E.EBADF);
  if ((file.stat().mode & stat.S_IFMT) !== stat.S_IFREG) throw errno(E.EINVAL);
  return 0;
}

const MS_ASYNC = 1;
const MS_INVALIDATE = 2;
const MS_SYNC = 4;

/**
 * msync: Linux's checks (flags, alignment, a range with unmapped pages is
 * ENOMEM); a shared mapping of a tmpfs file is written back to the file (see
 * memory.ts). Other file mappings are private copies: nothing to write.
 */
function msync(task: Task, a: SyscallArgs): SyscallResult {
  const start = a.ptr(0);
  const flags = a.int(2);
  if ((flags & ~(MS_ASYNC | MS_INVALIDATE | MS_SYNC)) !== 0 || start % PAGE_SIZE !== 0) throw errno(E.EINVAL);
  if ((flags & MS_ASYNC) !== 0 && (flags & MS_SYNC) !== 0) throw errno(E.EINVAL);
  const end = start + pageUp(a.ptr(1));
  if (end === start) return 0;
  if (!task.process.mm.covers(start, end)) throw errno(E.ENOMEM);
  writeBackShared(task, start, end);
  return 0;
}

const MEMBARRIER = {
  QUERY: 0,
  GLOBAL: 1,
  GLOBAL_EXPEDITED: 2,
  REGISTER_GLOBAL_EXPEDITED: 4,
  PRIVATE_EXPEDITED: 8,
  REGISTER_PRIVATE_EXPEDITED: 16,
  PRIVATE_EXPEDITED_SYNC_CORE: 32,
  REGISTER_PRIVATE_EXPEDITED_SYNC_CORE: 64,
  GET_REGISTRATIONS: 512,
} as const;
/** What QUERY answers: every command but the rseq ones (rseq is not implemented). */
const MEMBARRIER_COMMANDS = 0x7f | MEMBARRIER.GET_REGISTRATIONS;

/**
 * membarrier on one CPU: the other threads are not running, and each went
 * through a context switch (a full barrier, and serializing) when it stopped,
 * so every barrier is already there. What is left is the bookkeeping: the
 * private commands need their registration first (EPERM without it).
 */
function membarrier(task: Task, a: SyscallArgs): SyscallResult {
  const cmd = a.int(0);
  if (a.int(1) !== 0) throw errno(E.EINVAL);
  // Registrations belong to the memory: threads share them, fork copies them, exec starts without.
  const mm = task.process.mm;
  const registered = mm.membarrierRegistrations;
  const register = (bit: number): number => ((mm.membarrierRegistrations = registered | bit), 0);
  switch (cmd) {
    case MEMBARRIER.QUERY: return MEMBARRIER_COMMANDS;
    case MEMBARRIER.GLOBAL:
    case MEMBARRIER.GLOBAL_EXPEDITED: return 0;
    case MEMBARRIER.REGISTER_GLOBAL_EXPEDITED:
    case MEMBARRIER.REGISTER_PRIVATE_EXPEDITED:
    case MEMBARRIER.REGISTER_PRIVATE_EXPEDITED_SYNC_CORE: return register(cmd);
    case MEMBARRIER.PRIVATE_EXPEDITED:
    case MEMBARRIER.PRIVATE_EXPEDITED_SYNC_CORE:
      // Each needs the REGISTER command that is its own value times two.
      if ((registered & (cmd * 2)) === 0) throw errno(E.EPERM);
      return 0;
    case MEMBARRIER.GET_REGISTRATIONS: return registered;
    default: throw errno(E.EINVAL);
  }
}

export const policyFamily: Family = {
  sched_setscheduler: partial('SCHED_OTHER, SCHED_BATCH and SCHED_IDLE are recorded and reported (one round-robin queue runs every task); SCHED_FIFO and SCHED_RR answer EPERM', schedSetscheduler),
  sched_getscheduler: supported((t, a) => schedTarget(t, a.int(0)).schedPolicy),
  sched_setparam: partial('priority 0 under the task\'s policy; a real-time priority answers EINVAL or EPERM', schedSetparam),
  sched_getparam: supported(schedGetparam),
  sched_get_priority_max: supported((_t, a) => priorityLimit(a, RT_PRIO_MAX)),
  sched_get_priority_min: supported((_t, a) => priorityLimit(a, 1)),
  sched_rr_get_interval: partial('every task\'s slice is the kernel\'s 10 ms', schedRrGetInterval),
  personality: partial('the persona is recorded, inherited and reported; its flags (READ_IMPLIES_EXEC, ADDR_LIMIT_*, UNAME26...) change nothing', personality),
  fadvise64: supported(fadvise64),
  readahead: supported(readahead),
  msync: partial('checked as Linux does; shared tmpfs mappings are written back, other file mappings are private copies', msync),
  membarrier: partial('one CPU: every barrier is already there; the private commands need their registration; no rseq commands', membarrier),
};
