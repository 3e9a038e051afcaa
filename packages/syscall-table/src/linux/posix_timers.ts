import { E, errno, PosixTimer, SIG, SIGEV, TaskState, type PosixTimerSetting, type SyscallArgs, type Task, type TimerNotify } from '@nommu/kernel';
import { partial, supported, type Family } from './define.js';
import { CLOCK } from './time.js';
import { readTimespec } from './timespec.js';

const TIMER_ABSTIME = 1;
/** Timers one process may hold (Linux bounds them by RLIMIT_SIGPENDING). */
const MAX_TIMERS = 4096;
const INT_MAX = 0x7fffffff;

/** struct sigevent offsets. */
const SEV = { VALUE: 0, SIGNO: 8, NOTIFY: 12, TID: 16 } as const;

/** The timer's clock: realtime (true) or monotonic (false); Linux's errors for the others. */
function timerClock(clock: number): boolean {
  switch (clock) {
    case CLOCK.REALTIME:
    case CLOCK.TAI:
      return true;
    case CLOCK.MONOTONIC:
    case CLOCK.BOOTTIME:
      return false;
    case CLOCK.REALTIME_ALARM:
    case CLOCK.BOOTTIME_ALARM:
      throw errno(E.EPERM); // no CAP_WAKE_ALARM: nothing here can wake a suspended host
    case CLOCK.MONOTONIC_RAW:
    case CLOCK.REALTIME_COARSE:
    case CLOCK.MONOTONIC_COARSE:
      throw errno(E.EOPNOTSUPP); // clocks without timers, on Linux too
    case CLOCK.PROCESS_CPUTIME_ID:
    case CLOCK.THREAD_CPUTIME_ID:
      throw errno(E.EOPNOTSUPP); // CPU-time timers are not implemented
    default:
      throw errno(clock < 0 ? E.EOPNOTSUPP : E.EINVAL);
  }
}

function timerCreate(task: Task, a: SyscallArgs): number {
  const k = task.kernel;
  const mem = k.mem;
  const proc = task.process;
  const realtime = timerClock(a.int(0));
  const sev = a.ptr(1);
  const idAddr = a.ptr(2);
  let id = proc.nextTimerId;
  if (proc.timers.size >= MAX_TIMERS) throw errno(E.EAGAIN);
  while (proc.timers.has(id)) id = id === INT_MAX ? 0 : id + 1;
  let notify: TimerNotify;
  if (sev === 0) {
    notify = { kind: 'signal', signo: SIG.ALRM, value: BigInt(id), thread: null };
  } else {
    const how = mem.i32(sev + SEV.NOTIFY);
    const signo = mem.i32(sev + SEV.SIGNO);
    const value = mem.u64(sev + SEV.VALUE);
    if (how === SIGEV.NONE) {
      notify = { kind: 'none', signo: 0, value, thread: null };
    } else if (how === SIGEV.SIGNAL || how === SIGEV.THREAD_ID) {
      if (signo <= 0 || signo > 64) throw errno(E.EINVAL);
      let thread: Task | null = null;
      if (how === SIGEV.THREAD_ID) {
        thread = k.tasks.get(mem.i32(sev + SEV.TID)) ?? null;
        if (thread === null || thread.process !== proc || thread.state === TaskState.Zombie) throw errno(E.EINVAL);
      }
      notify = { kind: 'signal', signo, value, thread };
    } else {
      throw errno(E.EINVAL);
    }
  }
  mem.setI32(idAddr, id); // EFAULT before the timer exists
  proc.timers.set(id, new PosixTimer(k, proc, id, realtime, notify));
  proc.nextTimerId = id === INT_MAX ? 0 : id + 1;
  return 0;
}

function timerOf(task: Task, id: number): PosixTimer {
  const t = task.process.timers.get(id);
  if (!t) throw errno(E.EINVAL);
  return t;
}

/** struct itimerspec: it_interval, then it_value. */
function writeItimerspec(task: Task, addr: number, s: PosixTimerSetting): void {
  const mem = task.kernel.mem;
  mem.offset(addr, 32);
  mem.setI64(addr, s.intervalNs / 1_000_000_000n);
  mem.setI64(addr + 8, s.intervalNs % 1_000_000_000n);
  mem.setI64(addr + 16, s.valueNs / 1_000_000_000n);
  mem.setI64(addr + 24, s.valueNs % 1_000_000_000n);
}

function timerSettime(task: Task, a: SyscallArgs): number {
  const timer = timerOf(task, a.int(0));
  const flags = a.int(1);
  const spec = a.ptr(2);
  if (spec === 0) throw errno(E.EINVAL);
  task.kernel.mem.offset(spec, 32);
  const interval = readTimespec(task, spec);
  const value = readTimespec(task, spec + 16);
  const oldAddr = a.ptr(3);
  if (oldAddr !== 0) task.kernel.mem.offset(oldAddr, 32);
  const old = timer.set(value, interval, (flags & TIMER_ABSTIME) !== 0);
  if (oldAddr !== 0) writeItimerspec(task, oldAddr, old);
  return 0;
}

function timerGettime(task: Task, a: SyscallArgs): number {
  writeItimerspec(task, a.ptr(1), timerOf(task, a.int(0)).setting());
  return 0;
}

function timerDelete(task: Task, a: SyscallArgs): number {
  const id = a.int(0);
  timerOf(task, id).delete();
  task.process.timers.delete(id);
  return 0;
}

export const posixTimers: Family = {
  timer_create: partial('CLOCK_REALTIME, MONOTONIC, BOOTTIME and TAI; CPU-time clocks answer EOPNOTSUPP, alarm clocks EPERM', timerCreate),
  timer_settime: supported(timerSettime),
  timer_gettime: supported(timerGettime),
  timer_getoverrun: supported((t, a) => timerOf(t, a.int(0)).lastOverrun),
  timer_delete: supported(timerDelete),
};
