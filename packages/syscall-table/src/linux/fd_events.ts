import {
  CLOCK_BOOTTIME,
  CLOCK_MONOTONIC,
  CLOCK_REALTIME,
  E,
  EFD_SEMAPHORE,
  errno,
  EventFd,
  fcntl,
  SignalFd,
  TimerFd,
  type SyscallArgs,
  type Task,
  type TimerSetting,
} from '@nommu/kernel';
import { partial, supported, type Family } from './define.js';
import { readTimespec } from './timespec.js';

const CLOEXEC_NONBLOCK = fcntl.O_CLOEXEC | fcntl.O_NONBLOCK;

function eventfd(task: Task, initval: number, flags: number): number {
  if ((flags & ~(CLOEXEC_NONBLOCK | EFD_SEMAPHORE)) !== 0) throw errno(E.EINVAL);
  const file = new EventFd(BigInt(initval), flags, (flags & EFD_SEMAPHORE) !== 0);
  return task.process.files.install(file, (flags & fcntl.O_CLOEXEC) !== 0);
}

const CLOCK_REALTIME_ALARM = 8;
const CLOCK_BOOTTIME_ALARM = 9;
const TFD_TIMER_ABSTIME = 1;
const TFD_TIMER_CANCEL_ON_SET = 2;

function timerfdCreate(task: Task, clock: number, flags: number): number {
  if ((flags & ~CLOEXEC_NONBLOCK) !== 0) throw errno(E.EINVAL);
  if (clock === CLOCK_REALTIME_ALARM || clock === CLOCK_BOOTTIME_ALARM) throw errno(E.EPERM); // no CAP_WAKE_ALARM: nothing here can wake a suspended host
  if (clock !== CLOCK_REALTIME && clock !== CLOCK_MONOTONIC && clock !== CLOCK_BOOTTIME) throw errno(E.EINVAL);
  return task.process.files.install(new TimerFd(task.kernel, clock, flags), (flags & fcntl.O_CLOEXEC) !== 0);
}

function timerOf(task: Task, fd: number): TimerFd {
  const f = task.process.files.get(fd);
  if (!(f instanceof TimerFd)) throw errno(E.EINVAL);
  return f;
}

/** struct itimerspec: it_interval, then it_value. */
function writeItimerspec(task: Task, addr: number, s: TimerSetting): void {
  const mem = task.kernel.mem;
  const put = (at: number, ns: bigint): void => {
    mem.setI64(at, ns / 1_000_000_000n);
    mem.setI64(at + 8, ns % 1_000_000_000n);
  };
  mem.offset(addr, 32);
  put(addr, s.intervalNs);
  put(addr + 16, s.valueNs > 0n ? s.valueNs : 0n);
}

function timerfdSettime(task: Task, a: SyscallArgs): number {
  const flags = a.int(1);
  task.kernel.mem.offset(a.ptr(2), 32);
  if ((flags & ~(TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET)) !== 0) throw errno(E.EINVAL);
  const interval = readTimespec(task, a.ptr(2));
  const value = readTimespec(task, a.ptr(2) + 16);
  const timer = timerOf(task, a.int(0));
  const old = timer.set(value, interval, (flags & TFD_TIMER_ABSTIME) !== 0, (flags & TFD_TIMER_CANCEL_ON_SET) !== 0);
  if (a.ptr(3) !== 0) writeItimerspec(task, a.ptr(3), old);
  return 0;
}

function timerfdGettime(task: Task, a: SyscallArgs): number {
  writeItimerspec(task, a.ptr(1), timerOf(task, a.int(0)).setting());
  return 0;
}

const SIZEOF_SIGSET = 8;

function signalfd(task: Task, fd: number, maskAddr: number, size: number, flags: number): number {
  if (size !== SIZEOF_SIGSET) throw errno(E.EINVAL);
  if ((flags & ~CLOEXEC_NONBLOCK) !== 0) throw errno(E.EINVAL);
  const mask = task.kernel.mem.u64(maskAddr);
  if (fd !== -1) {
    const f = task.process.files.get(fd);
    if (!(f instanceof SignalFd)) throw errno(E.EINVAL);
    f.mask = mask;
    task.process.signalQueue.wake();
    return fd;
  }
  return task.process.files.install(new SignalFd(mask, flags, task.process), (flags & fcntl.O_CLOEXEC) !== 0);
}

export const fdEvents: Family = {
  eventfd: supported((t, a) => eventfd(t, a.uint(0), 0)),
  eventfd2: supported((t, a) => eventfd(t, a.uint(0), a.int(1))),
  timerfd_create: partial('alarm clocks answer EPERM (no CAP_WAKE_ALARM); CLOCK_REALTIME is the guest\'s clock (it may be set apart from the host\'s): absolute expiries follow its steps, and TFD_TIMER_CANCEL_ON_SET reads ECANCELED after one', (t, a) =>
    timerfdCreate(t, a.int(0), a.int(1)),
  ),
  timerfd_settime: supported(timerfdSettime),
  timerfd_gettime: supported(timerfdGettime),
  signalfd: supported((t, a) => signalfd(t, a.int(0), a.ptr(1), a.ptr(2), 0)),
  signalfd4: supported((t, a) => signalfd(t, a.int(0), a.ptr(1), a.ptr(2), a.int(3))),
};
