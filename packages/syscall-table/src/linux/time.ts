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
      return msToNs(task.process.utimeMs + task.process.stimeMs);
    case CLOCK.THREAD_CPUTIME_ID:
      return msToNs(task.utimeMs + task.stimeMs);
    default:
      if (clock < 0) return cpuClockNs(task, clock);
      throw errno(E.EINVAL);
  }
}

export function msToNs(ms: number): bigint {
  return BigInt(Math.floor(ms * 1e6));
}

const CPUCLOCK_VIRT = 1;
const CPUCLOCK_PERTHREAD = 4;

/**
 * A dynamic CPU clock (clock_getcpuclockid, pthread_getcpuclockid): ~pid << 3
 * | per-thread bit | PROF (0), VIRT (1, user time only) or SCHED (2); pid 0
 * is the caller.
 */
function cpuClockNs(task: Task, clock: number): bigint {
  const k = task.kernel;
  const id = ~(clock >> 3);
  const which = clock & 3;
  if (which === 3) throw errno(E.EINVAL);
  let times: { utimeMs: number; stimeMs: number } | undefined;
  if ((clock & CPUCLOCK_PERTHREAD) !== 0) {
    times = id === 0 ? task : k.tasks.get(id);
  } else {
    const p = id === 0 ? task.process : k.processes.get(id);
    times = p && p.exitStatus === null ? p : undefined;
  }
  if (!times) throw errno(E.EINVAL);
  return msToNs(which === CPUCLOCK_VIRT ? times.utimeMs : times.utimeMs + times.stimeMs);
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

/** A jiffy at HZ=250: the resolution Linux reports for the *_COARSE clocks, which advance once a tick. */
const TICK_NS = 4_000_000n;

/** clock_getres: 1 ns (high-resolution timers), a tick for the coarse clocks. */
function clockGetres(task: Task, a: SyscallArgs) {
  const clock = a.int(0);
  clockNs(task, clock);
  const coarse = clock === CLOCK.REALTIME_COARSE || clock === CLOCK.MONOTONIC_COARSE;
  if (a.ptr(1) !== 0) writeTimespec(task, a.ptr(1), coarse ? TICK_NS : 1n);
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
  clock_gettime: partial('CPU-time clocks count guest time in the CPU backend (user) and in the kernel for the task (system), measured in host time', clockGettime),
  clock_getres: partial('1 ns, and a tick at HZ=250 (4 ms) for the *_COARSE clocks (which read the exact time here)', clockGetres),
  gettimeofday: supported(gettimeofday),
  time: supported(time),
};
