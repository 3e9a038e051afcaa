import { BLOCK, CLONE, E, errno, fcntl, NORETURN, TaskState, WAIT_ALL, WAIT_CLONE, WAIT_CONTINUED, WAIT_EXITED, WAIT_STOPPED, type ChildEvent, type Kernel, type SyscallArgs, type SyscallResult, type Task } from '@nommu/kernel';
import { partial, supported, type Family } from './define.js';
import { writeBackAllShared } from './memory.js';
import { pidfdTarget } from './pidfd.js';
import { readTimeout, readTimespec } from './timespec.js';

const SIGCHLD = 17;

function clone(task: Task, a: SyscallArgs): SyscallResult {
  // x86-64 order: flags, stack, parent_tid, child_tid, tls
  const flags = a.long(0);
  if ((flags & CLONE_NEW_NAMESPACES) !== 0) throw errno(E.EINVAL);
  // clone() puts the pidfd where the parent's tid would go: not both (nor with the old CLONE_DETACHED).
  if ((flags & CLONE.PIDFD) !== 0 && (flags & (CLONE.PARENT_SETTID | CLONE.DETACHED)) !== 0) throw errno(E.EINVAL);
  return task.kernel.clone(task, { flags, stack: a.ptr(1), parentTid: a.ptr(2), childTid: a.ptr(3), tls: a.u64(4), pidfd: a.ptr(2) });
}

/** CLONE_NEWNS, NEWCGROUP, NEWUTS, NEWIPC, NEWUSER, NEWPID, NEWNET: no namespaces here, EINVAL as on a Linux built without them. */
const CLONE_NEW_NAMESPACES = 0x7e020000;
const CLONE_NEWTIME = 0x80;

/** struct clone_args (clone3), at least CLONE_ARGS_SIZE_VER0 = 64 bytes. */
function clone3(task: Task, a: SyscallArgs): SyscallResult {
  const mem = task.kernel.mem;
  const addr = a.ptr(0);
  const size = a.ptr(1);
  if (size < 64 || size > 4096) throw errno(E.EINVAL);
  const flags = mem.u64(addr);
  if (flags > 0xffffffffn || (Number(flags) & (CLONE_NEW_NAMESPACES | CLONE_NEWTIME)) !== 0) throw errno(E.EINVAL);
  const exitSignal = Number(mem.u64(addr + 32));
  if (exitSignal > 64) throw errno(E.EINVAL);
  const stack = mem.ptr(addr + 40);
  const stackSize = mem.ptr(addr + 48);
  if ((stack === 0) !== (stackSize === 0)) throw errno(E.EINVAL);
  return task.kernel.clone(task, {
    flags: Number(flags) | exitSignal,
    stack: stack === 0 ? 0 : stack + stackSize,
    parentTid: mem.ptr(addr + 24),
    childTid: mem.ptr(addr + 16),
    tls: mem.u64(addr + 56),
    pidfd: mem.ptr(addr + 8),
  });
}

const WNOHANG = 1;
const WUNTRACED = 2;
const WCONTINUED = 8;
const WEXITED = 4;
const WNOWAIT = 0x01000000;
const __WALL = 0x40000000;
const __WCLONE = 0x80000000;
const __WNOTHREAD = 0x20000000;

/** __WALL / __WCLONE as the kernel's child selection. */
function cloneSelection(options: number): number {
  return ((options & __WALL) !== 0 ? WAIT_ALL : 0) | ((options & __WCLONE) !== 0 ? WAIT_CLONE : 0);
}

/** Linux's wait status: exit code in bits 8-15, or the signal (plus 0x80 for a core). */
function waitStatus(st: { code: number; signal: number; coreDumped: boolean }): number {
  return st.signal !== 0 ? st.signal | (st.coreDumped ? 0x80 : 0) : (st.code & 0xff) << 8;
}

/** The wait status of an event: exit or death, stopped ((sig << 8) | 0x7f), continued (0xffff). */
function eventStatus(ev: ChildEvent): number {
  if (ev.kind === 'exited') return waitStatus(ev.child.exitStatus!);
  return ev.kind === 'stopped' ? (ev.signo << 8) | 0x7f : 0xffff;
}

/** Collects an event: a zombie is reaped, a stop or continue is reported once. */
function consume(k: Kernel, ev: ChildEvent): void {
  if (ev.kind === 'exited') k.reap(ev.child);
  else ev.child.jobEvent = null;
}

/** struct rusage of a child as wait4 reports it: its CPU time and that of the children it waited for. */
function writeChildRusage(k: Kernel, addr: number, ev: ChildEvent): void {
  const c = ev.child;
  k.mem.fill(addr, 144);
  putTimeval(k, addr, c.utimeMs + c.childUtimeMs);
  putTimeval(k, addr + 16, c.stimeMs + c.childStimeMs);
}

function putTimeval(k: Kernel, addr: number, ms: number): void {
  const us = Math.floor(ms * 1000);
  k.mem.setI64(addr, BigInt(Math.floor(us / 1e6)));
  k.mem.setI64(addr + 8, BigInt(us % 1e6));
}

function wait4(task: Task, a: SyscallArgs): SyscallResult {
  const k = task.kernel;
  const pid = a.int(0);
  const statusAddr = a.ptr(1);
  const options = a.int(2);
  if ((options & ~(WNOHANG | WUNTRACED | WCONTINUED | __WALL | __WCLONE | __WNOTHREAD)) !== 0) throw errno(E.EINVAL);
  if (pid === -2147483648) throw errno(E.ESRCH);
  const events = WAIT_EXITED | ((options & WUNTRACED) !== 0 ? WAIT_STOPPED : 0) | ((options & WCONTINUED) !== 0 ? WAIT_CONTINUED : 0) | cloneSelection(options);
  const { found, any } = k.findChild(task, pid, events);
  if (!any) throw errno(E.ECHILD);
  if (!found) return (options & WNOHANG) !== 0 ? 0 : k.waitForChild(task);
  if (statusAddr !== 0) k.mem.setI32(statusAddr, eventStatus(found));
  if (a.ptr(3) !== 0) writeChildRusage(k, a.ptr(3), found);
  consume(k, found);
  return found.child.pid;
}

const P_ALL = 0;
const P_PID = 1;
const P_PGID = 2;
const P_PIDFD = 3;
const CLD_EXITED = 1;
const CLD_KILLED = 2;
const CLD_DUMPED = 3;
const CLD_STOPPED = 5;
const CLD_CONTINUED = 6;

function waitid(task: Task, a: SyscallArgs): SyscallResult {
  const k = task.kernel;
  const idtype = a.int(0);
  const id = a.int(1);
  const info = a.ptr(2);
  const options = a.int(3);
  if ((options & ~(WNOHANG | WEXITED | WUNTRACED | WCONTINUED | WNOWAIT | __WALL | __WCLONE | __WNOTHREAD)) !== 0) throw errno(E.EINVAL);
  if ((options & (WEXITED | WUNTRACED | WCONTINUED)) === 0) throw errno(E.EINVAL);
  // P_PIDFD: the pidfd's process; a non-blocking pidfd answers EAGAIN where the call would wait.
  const pidfd = idtype === P_PIDFD ? pidfdTarget(task, id) : null;
  const pid = pidfd ? pidfd.target.pid : idtype === P_ALL ? -1 : idtype === P_PID ? id : idtype === P_PGID ? (id === 0 ? 0 : -id) : NaN;
  if (Number.isNaN(pid)) throw errno(E.EINVAL);
  const events = (options & (WEXITED | WUNTRACED | WCONTINUED)) | cloneSelection(options); // WSTOPPED is WUNTRACED
  const { found, any } = k.findChild(task, pid, events);
  if (!any) throw errno(E.ECHILD);
  if (!found) {
    if ((options & WNOHANG) !== 0) {
      if (info !== 0) k.mem.fill(info, 128);
      return 0;
    }
    if (pidfd && (pidfd.flags & fcntl.O_NONBLOCK) !== 0) throw errno(E.EAGAIN);
    return k.waitForChild(task);
  }
  if (info !== 0) {
    const c = found.child;
    let code: number;
    let status: number;
    if (found.kind === 'exited') {
      const st = c.exitStatus!;
      code = st.signal === 0 ? CLD_EXITED : st.coreDumped ? CLD_DUMPED : CLD_KILLED;
      status = st.signal === 0 ? st.code : st.signal;
    } else {
      code = found.kind === 'stopped' ? CLD_STOPPED : CLD_CONTINUED;
      status = found.signo;
    }
    k.mem.fill(info, 128);
    k.mem.setI32(info, SIGCHLD); // si_signo
    k.mem.setI32(info + 8, code); // si_code
    k.mem.setI32(info + 16, c.pid); // si_pid
    k.mem.setI32(info + 20, k.identity.uid); // si_uid
    k.mem.setI32(info + 24, status); // si_status
  }
  if (a.ptr(4) !== 0) writeChildRusage(k, a.ptr(4), found);
  if ((options & WNOWAIT) === 0) consume(k, found);
  return 0;
}

const FUTEX_WAIT = 0;
const FUTEX_WAKE = 1;
const FUTEX_REQUEUE = 3;
const FUTEX_CMP_REQUEUE = 4;
const FUTEX_WAKE_OP = 5;
const FUTEX_WAIT_BITSET = 9;
const FUTEX_WAKE_BITSET = 10;
const FUTEX_PRIVATE_FLAG = 128;
const FUTEX_CLOCK_REALTIME = 256;
const FUTEX_BITSET_MATCH_ANY = 0xffffffff;
/** FUTEX_WAKE_OP's encoded operation: shift oparg (1 << oparg) instead of using it. */
const FUTEX_OP_OPARG_SHIFT = 8;

/** Linux's wake loops count after waking: a count of 0 or less (as a C int) still wakes one waiter. */
const wakeCount = (n: number): number => (n <= 0 ? 1 : n);

/** A 12-bit field of FUTEX_WAKE_OP's val3, sign-extended. */
const sext12 = (v: number): number => ((v & 0xfff) << 20) >> 20;

/**
 * FUTEX_WAKE_OP: *uaddr2 = *uaddr2 OP oparg; wake up to nr_wake on uaddr;
 * if the old *uaddr2 CMP cmparg, wake up to nr_wake2 on uaddr2. As on Linux,
 * an unknown comparison answers ENOSYS after the store.
 */
function futexWakeOp(task: Task, a: SyscallArgs, shared: boolean): number {
  const k = task.kernel;
  const addr2 = a.ptr(4);
  if (addr2 % 4 !== 0) throw errno(E.EINVAL);
  const enc = a.uint(5);
  const op = (enc >>> 28) & 15;
  const cmp = (enc >>> 24) & 15;
  let oparg = sext12(enc >>> 12);
  const cmparg = sext12(enc);
  if ((op & FUTEX_OP_OPARG_SHIFT) !== 0) oparg = 1 << (oparg & 31);
  const old = k.mem.i32(addr2);
  let v: number;
  switch (op & 7) {
    case 0: v = oparg; break; // SET
    case 1: v = (old + oparg) | 0; break; // ADD
    case 2: v = old | oparg; break; // OR
    case 3: v = old & ~oparg; break; // ANDN
    case 4: v = old ^ oparg; break; // XOR
    default: throw errno(E.ENOSYS);
  }
  k.mem.setI32(addr2, v);
  const conditions = [old === cmparg, old !== cmparg, old < cmparg, old <= cmparg, old > cmparg, old >= cmparg];
  const wakeSecond = conditions[cmp];
  if (wakeSecond === undefined) throw errno(E.ENOSYS);
  let woken = k.futexWake(task.process, a.ptr(0), wakeCount(a.int(2)), FUTEX_BITSET_MATCH_ANY, shared);
  if (wakeSecond) woken += k.futexWake(task.process, addr2, wakeCount(a.int(3)), FUTEX_BITSET_MATCH_ANY, shared);
  return woken;
}

/**
 * A timed FUTEX_WAIT until the host monotonic `deadline`. Its restart block
 * (Linux's futex_wait_restart) waits again for the time left when a signal
 * that runs no handler interrupted it; after a handler it answers EINTR.
 */
function futexWaitUntil(task: Task, addr: number, val: number, bitset: number, shared: boolean, deadline: bigint): SyscallResult {
  const k = task.kernel;
  const left = deadline - process.hrtime.bigint();
  if (left <= 0n) throw errno(E.ETIMEDOUT);
  task.restartBlock = (t) => {
    if (k.mem.u32(addr) !== val) throw errno(E.EAGAIN);
    return futexWaitUntil(t, addr, val, bitset, shared, deadline);
  };
  return k.futexWait(task, addr, bitset, shared, left);
}

function futex(task: Task, a: SyscallArgs): SyscallResult {
  const k = task.kernel;
  const addr = a.ptr(0);
  const op = a.int(1);
  const cmd = op & ~(FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME);
  const shared = (op & FUTEX_PRIVATE_FLAG) === 0;
  const val = a.uint(2);
  if (![FUTEX_WAIT, FUTEX_WAKE, FUTEX_REQUEUE, FUTEX_CMP_REQUEUE, FUTEX_WAKE_OP, FUTEX_WAIT_BITSET, FUTEX_WAKE_BITSET].includes(cmd)) {
    throw errno(E.ENOSYS);
  }
  // Only the absolute wait may measure on CLOCK_REALTIME.
  if ((op & FUTEX_CLOCK_REALTIME) !== 0 && cmd !== FUTEX_WAIT_BITSET) throw errno(E.ENOSYS);
  if (addr % 4 !== 0) throw errno(E.EINVAL);
  switch (cmd) {
    case FUTEX_WAIT:
    case FUTEX_WAIT_BITSET: {
      // The timeout is read (EFAULT, EINVAL) before the futex word.
      let timeout = readTimeout(task, a.ptr(3));
      const bitset = cmd === FUTEX_WAIT ? FUTEX_BITSET_MATCH_ANY : a.uint(5);
      if (bitset === 0) throw errno(E.EINVAL);
      if (k.mem.u32(addr) !== val) throw errno(E.EAGAIN);
      if (timeout === null) return k.futexWait(task, addr, bitset, shared, null);
      if (cmd === FUTEX_WAIT_BITSET) {
        // Absolute, on CLOCK_MONOTONIC unless FUTEX_CLOCK_REALTIME; FUTEX_WAIT's is relative.
        const now = (op & FUTEX_CLOCK_REALTIME) !== 0 ? k.clock.realtime() : k.clock.monotonic();
        timeout = timeout > now ? timeout - now : 0n;
      }
      return futexWaitUntil(task, addr, val, bitset, shared, process.hrtime.bigint() + timeout);
    }
    case FUTEX_WAKE:
    case FUTEX_WAKE_BITSET: {
      const bitset = cmd === FUTEX_WAKE ? FUTEX_BITSET_MATCH_ANY : a.uint(5);
      if (bitset === 0) throw errno(E.EINVAL);
      return k.futexWake(task.process, addr, wakeCount(a.int(2)), bitset, shared);
    }
    case FUTEX_REQUEUE:
    case FUTEX_CMP_REQUEUE: {
      // nr_wake in val, nr_requeue in the timeout argument; both C ints.
      const nrWake = a.int(2);
      const nrRequeue = a.int(3);
      if (nrWake < 0 || nrRequeue < 0) throw errno(E.EINVAL);
      const addr2 = a.ptr(4);
      if (addr2 % 4 !== 0) throw errno(E.EINVAL);
      if (cmd === FUTEX_CMP_REQUEUE && k.mem.u32(addr) !== a.uint(5)) throw errno(E.EAGAIN);
      return k.futexRequeue(task.process, addr, addr2, nrWake, nrRequeue, shared);
    }
    default:
      return futexWakeOp(task, a, shared);
  }
}

const TIMER_ABSTIME = 1;

/** The clocks clock_nanosleep sleeps on: REALTIME, MONOTONIC, BOOTTIME, TAI. */
const SLEEP_CLOCKS = [0, 1, 7, 11];
/** Clocks that exist but cannot be slept on (Linux has no nsleep for them): the CPU-time ones, MONOTONIC_RAW and the coarse ones. */
const NO_SLEEP_CLOCKS = [2, 3, 4, 5, 6];

function clockNanosleep(task: Task, a: SyscallArgs): SyscallResult {
  const k = task.kernel;
  const clock = a.int(0);
  if (!SLEEP_CLOCKS.includes(clock)) throw errno(NO_SLEEP_CLOCKS.includes(clock) ? E.EOPNOTSUPP : E.EINVAL);
  let ns = readTimespec(task, a.ptr(2));
  if ((a.int(1) & TIMER_ABSTIME) !== 0) {
    if (clock === 0 || clock === 11) return sleepUntilRealtime(task, ns);
    const now = k.clock.monotonic();
    ns = ns > now ? ns - now : 0n;
  }
  if (ns === 0n) return 0;
  const rem = a.ptr(3);
  const relative = (a.int(1) & TIMER_ABSTIME) === 0;
  return k.sleep(task, ns, relative && rem !== 0 ? (left) => writeRemaining(task, rem, left) : undefined);
}

/** A sleep until a time on the guest's CLOCK_REALTIME, kept across the re-runs of its call. */
class RealtimeSleep {
  constructor(
    readonly deadline: bigint,
    readonly cancel: () => void,
  ) {}
}

/**
 * clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME): the deadline is a time on
 * the guest's clock, which the guest may step meanwhile: each step wakes the
 * sleeper, whose call runs again and measures what is left on the new clock.
 */
function sleepUntilRealtime(task: Task, deadline: bigint): SyscallResult {
  const k = task.kernel;
  let st = task.waitState instanceof RealtimeSleep ? task.waitState : null;
  if (st !== null && st.deadline !== deadline) {
    st.cancel();
    st = null;
  }
  const left = deadline - k.clock.realtime();
  if (left <= 0n) {
    st?.cancel();
    return 0;
  }
  if (st === null) {
    const mine: RealtimeSleep = new RealtimeSleep(deadline, k.clock.onSet(() => {
      if (task.waitState === mine && task.state === TaskState.Blocked) k.wakeUp(task, true);
    }));
    task.waitState = st = mine;
  }
  k.waitDeadline(task, 'clock_nanosleep', process.hrtime.bigint() + left, false);
  // As Linux's restart block: EINTR after a handler, else restart_syscall sleeps on to the same deadline.
  task.interruptCode = E.ERESTART_RESTARTBLOCK;
  task.restartBlock = (t) => sleepUntilRealtime(t, deadline);
  return BLOCK;
}

function writeRemaining(task: Task, addr: number, ns: bigint): void {
  const mem = task.kernel.mem;
  if (!mem.ok(addr, 16)) return;
  mem.setI64(addr, ns / 1_000_000_000n);
  mem.setI64(addr + 8, ns % 1_000_000_000n);
}

function setpgid(task: Task, a: SyscallArgs) {
  const k = task.kernel;
  const pid = a.int(0) === 0 ? task.process.pid : a.int(0);
  const pgid = a.int(1) === 0 ? pid : a.int(1);
  if (pgid < 0) throw errno(E.EINVAL);
  const p = k.processes.get(pid);
  if (!p || (p !== task.process && p.parent !== task.process)) throw errno(E.ESRCH);
  // A session leader cannot move, not even into the group it already leads.
  if (p.sid === p.pid || p.sid !== task.process.sid) throw errno(E.EPERM);
  p.pgid = pgid;
  return 0;
}

/** setsid: EPERM for a process group leader, or when any process (a zombie too) is in a group with the caller's pid. */
function setsid(task: Task) {
  const p = task.process;
  for (const q of task.kernel.processes.values()) if (q.pgid === p.pid) throw errno(E.EPERM);
  p.sid = p.pid;
  p.pgid = p.pid;
  p.ctty = null;
  return p.sid;
}

/** The kernel's CPUs: one (nr_cpu_ids); a cpumask is one unsigned long (cpumask_size()). */
const NR_CPUS = 1;
const CPUMASK_BYTES = 8;

/** The thread an affinity or sched_* call names: pid 0 is the caller, else any thread by tid. */
export function affinityTarget(task: Task, pid: number): Task {
  if (pid === 0) return task;
  const t = task.kernel.findTask(pid);
  if (!t || pid < 0) throw errno(E.ESRCH);
  return t;
}

/** sched_getaffinity: CPU 0 only; len must hold nr_cpu_ids bits and be a multiple of sizeof(long). Returns the bytes written. */
function schedGetaffinity(task: Task, a: SyscallArgs): SyscallResult {
  const len = a.uint(1);
  if (len * 8 < NR_CPUS || (len & 7) !== 0) throw errno(E.EINVAL);
  affinityTarget(task, a.int(0));
  const n = Math.min(len, CPUMASK_BYTES);
  const mask = new Uint8Array(n);
  mask[0] = 1;
  task.kernel.mem.copyOut(a.ptr(2), mask);
  return n;
}

/** sched_setaffinity: any mask that has CPU 0 (the only one) is accepted; one without it is EINVAL. */
function schedSetaffinity(task: Task, a: SyscallArgs): SyscallResult {
  affinityTarget(task, a.int(0));
  const len = Math.min(a.uint(1), CPUMASK_BYTES);
  const mask = len > 0 ? task.kernel.mem.copyIn(a.ptr(2), len) : new Uint8Array(1);
  if ((mask[0]! & 1) === 0) throw errno(E.EINVAL);
  return 0;
}

/** getcpu: CPU 0 of node 0, written where asked. */
function getcpu(task: Task, a: SyscallArgs): SyscallResult {
  const mem = task.kernel.mem;
  if (a.ptr(0) !== 0) mem.setU32(a.ptr(0), 0);
  if (a.ptr(1) !== 0) mem.setU32(a.ptr(1), 0);
  return 0;
}

export const tasks: Family = {
  clone: partial('namespace flags answer EINVAL (no namespaces)', clone),
  clone3: partial('set_tid and cgroup are ignored; namespace flags answer EINVAL', clone3),
  fork: partial('without an MMU: the child\'s memory is a copy at the same addresses, swapped in when it runs', (t) =>
    t.kernel.clone(t, { flags: SIGCHLD, stack: 0, parentTid: 0, childTid: 0, tls: 0 }),
  ),
  vfork: supported((t) => t.kernel.clone(t, { flags: CLONE.VM | CLONE.VFORK | SIGCHLD, stack: 0, parentTid: 0, childTid: 0, tls: 0 })),
  wait4: supported(wait4),
  waitid: supported(waitid),
  exit: supported((t, a) => {
    if (t.process.threads.length === 1) writeBackAllShared(t);
    t.kernel.exitThread(t, a.int(0));
    return NORETURN;
  }),
  futex: partial('WAIT, WAKE, REQUEUE, CMP_REQUEUE, WAKE_OP and the BITSET forms, private and shared; PI futexes answer ENOSYS', futex),
  nanosleep: supported((t, a) => {
    const ns = readTimespec(t, a.ptr(0));
    const rem = a.ptr(1);
    return ns === 0n ? 0 : t.kernel.sleep(t, ns, rem !== 0 ? (left) => writeRemaining(t, rem, left) : undefined);
  }),
  clock_nanosleep: partial('REALTIME, MONOTONIC, BOOTTIME and TAI; CPU-time clocks answer ENOTSUP, as MONOTONIC_RAW and the coarse clocks do on Linux', clockNanosleep),
  sched_getaffinity: partial('one CPU: the mask has CPU 0 only', schedGetaffinity),
  sched_setaffinity: partial('one CPU: a mask with CPU 0 is accepted (and changes nothing), one without it is EINVAL', schedSetaffinity),
  getcpu: partial('one CPU: always CPU 0 of node 0', getcpu),
  sched_yield: supported((t) => {
    t.kernel.yield(t);
    return 0;
  }),
  setpgid: supported(setpgid),
  setsid: supported(setsid),
};
