/**
 * Scheduling policies, the persona, and advice: calls a program makes to say
 * how it wants to be run or how it will use a file or memory. One CPU and one
 * round-robin queue run every task, so a policy is recorded and reported,
 * not weighed; advice is checked as Linux checks it and then has nothing to
 * change (no page cache, no swap: guest memory is host memory).
 */
import { CAP_SYS_NICE, capable, E, errno, notPath, pageUp, PAGE_SIZE, SCHED_RESET_ON_FORK, stat, type SyscallArgs, type SyscallResult, type Task } from '@nommu/kernel';
import { partial, supported, type Family } from './define.js';
import { writeBackShared } from './memory.js';
import { clampNice, priorityTargets } from './process.js';
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

/** struct sched_attr: its sizes, and the offsets of the fields kept here. */
const SCHED_ATTR_SIZE_VER0 = 48;
const SCHED_ATTR_SIZE = 56;
const ATTR_POLICY = 4;
const ATTR_FLAGS = 8;
const ATTR_NICE = 16;
const ATTR_PRIORITY = 20;
const SCHED_DEADLINE = 6;
const SCHED_FLAG_RESET_ON_FORK = 0x01;
const SCHED_FLAG_KEEP_POLICY = 0x08;
const SCHED_FLAG_KEEP_PARAMS = 0x10;
const SCHED_FLAG_UTIL_CLAMP = 0x60;
const SCHED_FLAG_ALL = 0x7f;

/**
 * sched_setattr: the policy (and reset-on-fork) as sched_setscheduler
 * records it, and the nice value of a fair policy, with Linux's size
 * protocol (E2BIG writes back the size known here) and checks. Deadline and
 * real-time policies answer EPERM; utilization clamps EOPNOTSUPP, as a
 * kernel without CONFIG_UCLAMP_TASK does.
 */
function schedSetattr(task: Task, a: SyscallArgs): SyscallResult {
  const pid = a.int(0);
  const attr = a.ptr(1);
  if (attr === 0 || pid < 0 || a.uint(2) !== 0) throw errno(E.EINVAL);
  const mem = task.kernel.mem;
  let size = mem.u32(attr);
  if (size === 0) size = SCHED_ATTR_SIZE_VER0;
  if (size < SCHED_ATTR_SIZE_VER0 || size > PAGE_SIZE || (size > SCHED_ATTR_SIZE && mem.bytes(attr + SCHED_ATTR_SIZE, size - SCHED_ATTR_SIZE).some((b) => b !== 0))) {
    mem.setU32(attr, SCHED_ATTR_SIZE);
    throw errno(E.E2BIG);
  }
  mem.offset(attr, Math.min(size, SCHED_ATTR_SIZE));
  let policy = mem.i32(attr + ATTR_POLICY);
  const flags = mem.u64(attr + ATTR_FLAGS);
  let nice = clampNice(mem.i32(attr + ATTR_NICE));
  let priority = mem.u32(attr + ATTR_PRIORITY);
  if ((flags & BigInt(SCHED_FLAG_UTIL_CLAMP)) !== 0n && size < SCHED_ATTR_SIZE) throw errno(E.EINVAL);
  if (policy < 0) throw errno(E.EINVAL);
  const t = affinityTarget(task, pid);
  let reset = (flags & BigInt(SCHED_FLAG_RESET_ON_FORK)) !== 0n;
  if ((flags & BigInt(SCHED_FLAG_KEEP_POLICY)) !== 0n) {
    policy = t.schedPolicy & ~SCHED_RESET_ON_FORK;
    reset = (t.schedPolicy & SCHED_RESET_ON_FORK) !== 0;
  } else if (!known(policy) && policy !== SCHED_DEADLINE) {
    throw errno(E.EINVAL);
  }
  // SCHED_FLAG_KEEP_PARAMS keeps the policy too: Linux then changes only reset-on-fork (and clamps).
  const keep = (flags & BigInt(SCHED_FLAG_KEEP_PARAMS)) !== 0n;
  if (keep) {
    nice = t.nice;
    priority = 0;
  }
  if ((flags & ~BigInt(SCHED_FLAG_ALL)) !== 0n) throw errno(E.EINVAL);
  if (priority > RT_PRIO_MAX || realtime(policy) !== (priority !== 0)) throw errno(E.EINVAL);
  if (policy === SCHED_DEADLINE || realtime(policy)) throw errno(E.EPERM);
  if (nice < t.nice && !capable(task.kernel.identity, CAP_SYS_NICE)) throw errno(E.EPERM);
  if ((flags & BigInt(SCHED_FLAG_UTIL_CLAMP)) !== 0n) throw errno(E.EOPNOTSUPP);
  if (keep) policy = t.schedPolicy & ~SCHED_RESET_ON_FORK;
  t.schedPolicy = policy | (reset ? SCHED_RESET_ON_FORK : 0);
  t.nice = nice;
  return 0;
}

/** sched_getattr: the policy, reset-on-fork as a flag, and the nice value; the struct cut to the caller's size. */
function schedGetattr(task: Task, a: SyscallArgs): SyscallResult {
  const pid = a.int(0);
  const attr = a.ptr(1);
  const usize = a.uint(2);
  if (attr === 0 || pid < 0 || usize > PAGE_SIZE || usize < SCHED_ATTR_SIZE_VER0 || a.uint(3) !== 0) throw errno(E.EINVAL);
  const t = affinityTarget(task, pid);
  const out = new DataView(new ArrayBuffer(SCHED_ATTR_SIZE));
  const size = Math.min(usize, SCHED_ATTR_SIZE);
  out.setUint32(0, size, true);
  out.setUint32(ATTR_POLICY, t.schedPolicy & ~SCHED_RESET_ON_FORK, true);
  out.setBigUint64(ATTR_FLAGS, (t.schedPolicy & SCHED_RESET_ON_FORK) !== 0 ? BigInt(SCHED_FLAG_RESET_ON_FORK) : 0n, true);
  out.setInt32(ATTR_NICE, t.nice, true);
  task.kernel.mem.copyOut(attr, new Uint8Array(out.buffer, 0, size));
  return 0;
}

const IOPRIO_CLASS_SHIFT = 13;
const IOPRIO_CLASS_NONE = 0;
const IOPRIO_CLASS_RT = 1;
const IOPRIO_CLASS_IDLE = 3;
/** IOPRIO_PRIO_VALUE(IOPRIO_CLASS_BE, 4): what ioprio_best counts class NONE as. */
const IOPRIO_BE_NORM = (2 << 13) | 4;

/** The tasks an ioprio (which, who) names: IOPRIO_WHO_PROCESS, _PGRP and _USER are setpriority's kinds, plus one. */
function ioprioTargets(task: Task, which: number, who: number): Task[] {
  if (which < 1 || which > 3) throw errno(E.EINVAL);
  const targets = priorityTargets(task, which - 1, who);
  if (targets.length === 0) throw errno(E.ESRCH);
  return targets;
}

/** A task's I/O priority as ioprio_get reports it: 0 (class NONE) before any was set. */
const taskIoprio = (t: Task): number => t.ioprio ?? 0;

/** ioprio_set: Linux's class and level checks; the real-time class needs CAP_SYS_NICE (EPERM). */
function ioprioSet(task: Task, a: SyscallArgs): SyscallResult {
  const prio = a.int(2);
  const cls = (prio >> IOPRIO_CLASS_SHIFT) & 7;
  const level = prio & 7;
  if (cls === IOPRIO_CLASS_RT && !capable(task.kernel.identity, CAP_SYS_NICE)) throw errno(E.EPERM);
  if (cls > IOPRIO_CLASS_IDLE || (cls === IOPRIO_CLASS_NONE && level !== 0)) throw errno(E.EINVAL);
  // A real-time or best-effort priority has eight levels (the level is 3 bits: IDLE ignores it).
  for (const t of ioprioTargets(task, a.int(0), a.int(1))) t.ioprio = prio & 0xffff;
  return 0;
}

/** Linux's ioprio_best: the lower value, class NONE counting as best-effort level 4. */
function ioprioBest(a: number, b: number): number {
  const norm = (p: number): number => (p >> IOPRIO_CLASS_SHIFT === IOPRIO_CLASS_NONE ? IOPRIO_BE_NORM : p);
  return Math.min(norm(a), norm(b));
}

/** ioprio_get: the target's priority; for a group or a user, the best of theirs (Linux's fold, first value as it is). */
function ioprioGet(task: Task, a: SyscallArgs): SyscallResult {
  const [first, ...rest] = ioprioTargets(task, a.int(0), a.int(1)).map(taskIoprio);
  return rest.reduce(ioprioBest, first!);
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
  sched_setattr: partial('SCHED_OTHER, SCHED_BATCH and SCHED_IDLE with their nice value, as sched_setscheduler and setpriority record them; SCHED_DEADLINE and the real-time policies answer EPERM, utilization clamps EOPNOTSUPP (no CONFIG_UCLAMP_TASK)', schedSetattr),
  sched_getattr: partial('no utilization clamps (their fields are 0)', schedGetattr),
  ioprio_set: partial('recorded, inherited and reported; no I/O is queued, so nothing weighs it', ioprioSet),
  ioprio_get: supported(ioprioGet),
  personality: partial('the persona is recorded, inherited and reported; its flags (READ_IMPLIES_EXEC, ADDR_LIMIT_*, UNAME26...) change nothing', personality),
  fadvise64: supported(fadvise64),
  readahead: supported(readahead),
  msync: partial('checked as Linux does; shared tmpfs mappings are written back, other file mappings are private copies', msync),
  membarrier: partial('one CPU: every barrier is already there; the private commands need their registration; no rseq commands', membarrier),
};
