import { E, errno, type SyscallArgs, type Task } from '@nommu/kernel';
import { partial, supported, type Family } from './define.js';

export const CLOCK = {
  REALTIME: 0, MONOTONIC: 1, PROCESS_CPUTIME_ID: 2, THREAD_CPUTIME_ID: 3, MONOTONIC_RAW: 4,
  REALTIME_COARSE: 5, MONOTONIC_COARSE: 6, BOOTTIME: 7, REALTIME_ALARM: 8, BOOTTIME_ALARM: 9, TAI: 11,
} as const;

/** Nanoseconds on `clock`, agreeing with what the vDSO answers. */
export function clockNs(task: Task, clock: number): bigint {
  const k = task.kernel;
  switch (clock) {
    case CLOCK.REALTIME:
    case CLOCK.REALTIME_COARSE:
    case CLOCK.REALTIME_ALARM:
    case CLOCK.TAI:
      return k.clock.realtime();
    case CLOCK.MONOTONIC:
    case CLOCK.MONOTONIC_RAW:
    case CLOCK.MONOTONIC_COARSE:
    case CLOCK.BOOTTIME:
    case CLOCK.BOOTTIME_ALARM:
      return k.clock.monotonic();
    case CLOCK.PROCESS_CPUTIME_ID:
    case CLOCK.THREAD_CPUTIME_ID:
      // Guest CPU time is not yet accounted separately: time since boot bounds it.
      return k.clock.monotonic() - k.bootNs;
    default:
      throw errno(E.EINVAL);
  }
}

function writeTimespec(task: Task, addr: number, ns: bigint): void {
  const mem = task.kernel.mem;
  mem.setI64(addr, ns / 1_000_000_000n);
  mem.setI64(addr + 8, ns % 1_000_000_000n);
}

function clockGettime(task: Task, a: SyscallArgs) {
  writeTimespec(task, a.ptr(1), clockNs(task, a.int(0)));
  return 0;
}

function clockGetres(task: Task, a: SyscallArgs) {
  clockNs(task, a.int(0));
  if (a.ptr(1) !== 0) writeTimespec(task, a.ptr(1), 1n);
  return 0;
}

function gettimeofday(task: Task, a: SyscallArgs) {
  const mem = task.kernel.mem;
  const ns = task.kernel.clock.realtime();
  if (a.ptr(0) !== 0) {
    mem.setI64(a.ptr(0), ns / 1_000_000_000n);
    mem.setI64(a.ptr(0) + 8, (ns % 1_000_000_000n) / 1000n);
  }
  if (a.ptr(1) !== 0) {
    mem.setI32(a.ptr(1), 0);
    mem.setI32(a.ptr(1) + 4, 0);
  }
  return 0;
}

function time(task: Task, a: SyscallArgs) {
  const sec = task.kernel.clock.realtime() / 1_000_000_000n;
  if (a.ptr(0) !== 0) task.kernel.mem.setI64(a.ptr(0), sec);
  return sec;
}

export const timeFamily: Family = {
  clock_gettime: partial('CPU-time clocks report time since boot', clockGettime),
  clock_getres: supported(clockGetres),
  gettimeofday: supported(gettimeofday),
  time: supported(time),
};
