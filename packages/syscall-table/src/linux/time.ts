import { CAP_SYS_TIME, capable, E, errno, PerKernel, type Kernel, type SyscallArgs, type Task } from '@nommu/kernel';
import { partial, supported, type Family } from './define.js';
import { readTimespec } from './timespec.js';

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
      return k.clock.realtime();
    case CLOCK.TAI:
      return k.clock.realtime() + BigInt(timeState(k).tai) * 1_000_000_000n;
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
    const tz = timeState(task.kernel);
    mem.setI32(a.ptr(1), tz.minuteswest);
    mem.setI32(a.ptr(1) + 4, tz.dsttime);
  }
  return 0;
}

function time(task: Task, a: SyscallArgs) {
  const sec = task.kernel.clock.realtime() / 1_000_000_000n;
  if (a.ptr(0) !== 0) task.kernel.mem.setI64(a.ptr(0), sec);
  return sec;
}

// ---- setting the clock: the guest's own CLOCK_REALTIME, never the host's ----

/** timex.status bits (STA_*). */
const STA = {
  PLL: 0x0001, PPSFREQ: 0x0002, PPSTIME: 0x0004, FLL: 0x0008, INS: 0x0010, DEL: 0x0020, UNSYNC: 0x0040, FREQHOLD: 0x0080,
  PPSSIGNAL: 0x0100, PPSJITTER: 0x0200, PPSWANDER: 0x0400, PPSERROR: 0x0800, CLOCKERR: 0x1000, NANO: 0x2000, MODE: 0x4000, CLK: 0x8000,
} as const;
/** Status bits adjtimex(ADJ_STATUS) cannot change. */
const STA_RONLY = STA.PPSSIGNAL | STA.PPSJITTER | STA.PPSWANDER | STA.PPSERROR | STA.CLOCKERR | STA.NANO | STA.MODE | STA.CLK;

/** timex.modes bits (ADJ_*). */
const ADJ = {
  OFFSET: 0x0001, FREQUENCY: 0x0002, MAXERROR: 0x0004, ESTERROR: 0x0008, STATUS: 0x0010, TIMECONST: 0x0020,
  TAI: 0x0080, SETOFFSET: 0x0100, MICRO: 0x1000, NANO: 0x2000, TICK: 0x4000, ADJTIME: 0x8000,
  OFFSET_SINGLESHOT: 0x8001, OFFSET_READONLY: 0x2000,
} as const;

/** adjtimex's return: the clock state (TIME_OK), or TIME_ERROR while unsynchronised. */
const TIME_OK = 0;
const TIME_ERROR = 5;
/** Linux's bounds: NTP_PHASE_LIMIT (µs), MAXPHASE (ns), MAXFREQ_SCALED (ppm << 16), MAXTC, USER_HZ ticks. */
const NTP_PHASE_LIMIT = 16_000_000n;
const MAXPHASE_NS = 500_000_000n;
const MAXFREQ = 500n << 16n;
const MAXTC = 10n;
const USER_HZ = 100n;

/**
 * What settimeofday and adjtimex record for the guest's clock. The host
 * keeps the time, so the clock starts synchronised (TIME_OK); a step of it
 * makes it unsynchronised as on Linux. Adjustments are recorded and
 * reported, but the guest clock never slews: it runs at the host's rate.
 */
interface TimeState {
  minuteswest: number;
  dsttime: number;
  status: number;
  /** Phase offset (ns) and single-shot adjtime() offset (µs) asked for: reported, never applied. */
  offsetNs: bigint;
  adjustUs: bigint;
  /** ppm << 16 */
  freq: bigint;
  maxerror: bigint;
  esterror: bigint;
  constant: bigint;
  tick: bigint;
  tai: number;
}

const states = new PerKernel<TimeState>(() => ({
  minuteswest: 0, dsttime: 0, status: 0, offsetNs: 0n, adjustUs: 0n, freq: 0n, maxerror: 0n, esterror: 0n, constant: 2n, tick: 1_000_000n / USER_HZ, tai: 0,
}));
const timeState = (k: Kernel): TimeState => states.of(k);

/** The largest time settimeofday accepts (Linux's TIME_SETTOD_SEC_MAX: KTIME_SEC_MAX less 30 years). */
const SETTOD_SEC_MAX = 9_223_372_036n - 30n * 365n * 86_400n;

/** Steps the guest's clock to `ns` (already valid): EPERM without CAP_SYS_TIME. */
function setClock(task: Task, ns: bigint): void {
  if (ns / 1_000_000_000n > SETTOD_SEC_MAX) throw errno(E.EINVAL);
  if (!capable(task.kernel.identity, CAP_SYS_TIME)) throw errno(E.EPERM);
  task.kernel.clock.setRealtime(ns);
  clearNtp(task.kernel);
}

/** A stepped clock is no longer synchronised (Linux's ntp_clear). */
function clearNtp(k: Kernel): void {
  const s = timeState(k);
  s.status |= STA.UNSYNC;
  s.maxerror = NTP_PHASE_LIMIT;
  s.esterror = NTP_PHASE_LIMIT;
  s.offsetNs = 0n;
  s.adjustUs = 0n;
}

/** clock_settime: only CLOCK_REALTIME can be set; a CPU-time clock of a pid answers EPERM, as on Linux, other clocks EINVAL. */
function clockSettime(task: Task, a: SyscallArgs) {
  const clock = a.int(0);
  if (clock !== CLOCK.REALTIME) {
    clockNs(task, clock); // EINVAL for no such clock
    throw errno(clock < 0 ? E.EPERM : E.EINVAL);
  }
  setClock(task, readTimespec(task, a.ptr(1)));
  return 0;
}

/** settimeofday: the time and/or the timezone (which gettimeofday then reports). */
function settimeofday(task: Task, a: SyscallArgs) {
  const mem = task.kernel.mem;
  let ns: bigint | null = null;
  if (a.ptr(0) !== 0) {
    const sec = mem.i64(a.ptr(0));
    const usec = mem.i64(a.ptr(0) + 8);
    if (sec < 0n || usec < 0n || usec >= 1_000_000n) throw errno(E.EINVAL);
    ns = sec * 1_000_000_000n + usec * 1000n;
  }
  let tz: [number, number] | null = null;
  if (a.ptr(1) !== 0) tz = [mem.i32(a.ptr(1)), mem.i32(a.ptr(1) + 4)];
  if (ns !== null && ns / 1_000_000_000n > SETTOD_SEC_MAX) throw errno(E.EINVAL);
  // Linux asks for CAP_SYS_TIME even when there is nothing to set.
  if (!capable(task.kernel.identity, CAP_SYS_TIME)) throw errno(E.EPERM);
  if (tz !== null) {
    if (tz[0] > 15 * 60 || tz[0] < -15 * 60) throw errno(E.EINVAL);
    const s = timeState(task.kernel);
    [s.minuteswest, s.dsttime] = tz;
  }
  if (ns !== null) setClock(task, ns);
  return 0;
}

/** struct timex offsets (x86-64). */
const TX = {
  MODES: 0, OFFSET: 8, FREQ: 16, MAXERROR: 24, ESTERROR: 32, STATUS: 40, CONSTANT: 48, PRECISION: 56, TOLERANCE: 64,
  TIME: 72, TICK: 88, PPSFREQ: 96, JITTER: 104, SHIFT: 112, STABIL: 120, JITCNT: 128, CALCNT: 136, ERRCNT: 144, STBCNT: 152, TAI: 160, SIZE: 208,
} as const;

const clamp = (v: bigint, lo: bigint, hi: bigint): bigint => (v < lo ? lo : v > hi ? hi : v);

/**
 * adjtimex / clock_adjtime(CLOCK_REALTIME): Linux's checks and reports, on the
 * guest's clock. ADJ_SETOFFSET steps it; the other adjustments are recorded
 * and read back, but the clock does not slew or change its rate.
 */
function doAdjtimex(task: Task, addr: number): number {
  const k = task.kernel;
  const mem = k.mem;
  mem.offset(addr, TX.SIZE);
  const modes = mem.u32(addr + TX.MODES);
  const root = capable(k.identity, CAP_SYS_TIME);
  if ((modes & ADJ.ADJTIME) !== 0) {
    // adjtime()'s single shot goes alone (or with the read-only bit).
    if ((modes & ADJ.OFFSET_SINGLESHOT) !== ADJ.OFFSET_SINGLESHOT) throw errno(E.EINVAL);
    if ((modes & ADJ.OFFSET_READONLY) === 0 && !root) throw errno(E.EPERM);
  } else {
    if (modes !== 0 && !root) throw errno(E.EPERM);
    const tick = mem.i64(addr + TX.TICK);
    if ((modes & ADJ.TICK) !== 0 && (tick < 900_000n / USER_HZ || tick > 1_100_000n / USER_HZ)) throw errno(E.EINVAL);
  }
  const tvSec = mem.i64(addr + TX.TIME);
  const tvFrac = mem.i64(addr + TX.TIME + 8);
  if ((modes & ADJ.SETOFFSET) !== 0) {
    if (!root) throw errno(E.EPERM);
    if (tvFrac < 0n || tvFrac >= ((modes & ADJ.NANO) !== 0 ? 1_000_000_000n : 1_000_000n)) throw errno(E.EINVAL);
  }
  const freqIn = mem.i64(addr + TX.FREQ);
  // Linux's overflow check: freq times PPM_SCALE (1000 << 16) must fit 64 bits.
  const PPM_SCALE = 1000n << 16n;
  const LLONG_MAX = (1n << 63n) - 1n;
  if ((modes & ADJ.FREQUENCY) !== 0 && (freqIn > LLONG_MAX / PPM_SCALE || freqIn < -LLONG_MAX / PPM_SCALE)) throw errno(E.EINVAL);

  const s = timeState(k);
  if ((modes & ADJ.SETOFFSET) !== 0) {
    const step = tvSec * 1_000_000_000n + ((modes & ADJ.NANO) !== 0 ? tvFrac : tvFrac * 1000n);
    const then = k.clock.realtime() + step;
    if (then < 0n || then / 1_000_000_000n > SETTOD_SEC_MAX) throw errno(E.EINVAL);
    k.clock.stepRealtime(step);
    clearNtp(k);
  }
  const nano = (): boolean => (s.status & STA.NANO) !== 0;
  if ((modes & ADJ.ADJTIME) !== 0) {
    // adjtime(): hands back the adjustment still pending (all of it: nothing here slews), records the new one.
    const old = s.adjustUs;
    if ((modes & ADJ.OFFSET_READONLY) === 0) s.adjustUs = mem.i64(addr + TX.OFFSET);
    mem.setI64(addr + TX.OFFSET, old);
  } else if (modes !== 0) {
    if ((modes & ADJ.STATUS) !== 0) {
      const want = mem.i32(addr + TX.STATUS);
      if ((s.status & STA.PLL) !== 0 && (want & STA.PLL) === 0) s.status = STA.UNSYNC;
      s.status = (s.status & STA_RONLY) | (want & ~STA_RONLY);
    }
    if ((modes & ADJ.NANO) !== 0) s.status |= STA.NANO;
    if ((modes & ADJ.MICRO) !== 0) s.status &= ~STA.NANO;
    if ((modes & ADJ.FREQUENCY) !== 0) s.freq = clamp(freqIn, -MAXFREQ, MAXFREQ);
    if ((modes & ADJ.MAXERROR) !== 0) s.maxerror = clamp(mem.i64(addr + TX.MAXERROR), 0n, NTP_PHASE_LIMIT);
    if ((modes & ADJ.ESTERROR) !== 0) s.esterror = clamp(mem.i64(addr + TX.ESTERROR), 0n, NTP_PHASE_LIMIT);
    const constant = mem.i64(addr + TX.CONSTANT);
    if ((modes & ADJ.TIMECONST) !== 0) s.constant = clamp(constant + (nano() ? 0n : 4n), 0n, MAXTC);
    if ((modes & ADJ.TAI) !== 0 && constant >= 0n) s.tai = Number(constant);
    if ((modes & ADJ.OFFSET) !== 0) {
      const off = mem.i64(addr + TX.OFFSET);
      s.offsetNs = clamp(nano() ? off : off * 1000n, -MAXPHASE_NS, MAXPHASE_NS);
    }
    if ((modes & ADJ.TICK) !== 0) s.tick = mem.i64(addr + TX.TICK);
  }

  // The report, as Linux fills it in.
  if ((modes & ADJ.ADJTIME) === 0) mem.setI64(addr + TX.OFFSET, nano() ? s.offsetNs : s.offsetNs / 1000n);
  mem.setI64(addr + TX.FREQ, s.freq);
  mem.setI64(addr + TX.MAXERROR, s.maxerror);
  mem.setI64(addr + TX.ESTERROR, s.esterror);
  mem.setI32(addr + TX.STATUS, s.status);
  mem.setI64(addr + TX.CONSTANT, s.constant);
  mem.setI64(addr + TX.PRECISION, 1n);
  mem.setI64(addr + TX.TOLERANCE, MAXFREQ);
  const now = k.clock.realtime();
  mem.setI64(addr + TX.TIME, now / 1_000_000_000n);
  mem.setI64(addr + TX.TIME + 8, nano() ? now % 1_000_000_000n : (now % 1_000_000_000n) / 1000n);
  mem.setI64(addr + TX.TICK, s.tick);
  for (const f of [TX.PPSFREQ, TX.JITTER, TX.STABIL, TX.JITCNT, TX.CALCNT, TX.ERRCNT, TX.STBCNT]) mem.setI64(addr + f, 0n);
  mem.setI32(addr + TX.SHIFT, 0);
  mem.setI32(addr + TX.TAI, s.tai);
  const unsynced = (s.status & STA.UNSYNC) !== 0 || ((s.status & (STA.PPSFREQ | STA.PPSTIME)) !== 0 && (s.status & STA.PPSSIGNAL) === 0);
  return unsynced ? TIME_ERROR : TIME_OK;
}

/** clock_adjtime: CLOCK_REALTIME is adjtimex; the other clocks cannot be adjusted (EOPNOTSUPP), unknown ones EINVAL. */
function clockAdjtime(task: Task, a: SyscallArgs) {
  const clock = a.int(0);
  task.kernel.mem.offset(a.ptr(1), TX.SIZE); // Linux copies the timex in first: EFAULT before the clock's errors
  if (clock !== CLOCK.REALTIME) {
    clockNs(task, clock);
    throw errno(E.EOPNOTSUPP);
  }
  return doAdjtimex(task, a.ptr(1));
}

const SET_NOTE = "sets the guest's own CLOCK_REALTIME (an offset on the host's, which is never changed); CAP_SYS_TIME is root's";

export const timeFamily: Family = {
  clock_gettime: partial('CPU-time clocks count guest time in the CPU backend (user) and in the kernel for the task (system), measured in host time', clockGettime),
  clock_getres: partial('1 ns, and a tick at HZ=250 (4 ms) for the *_COARSE clocks (which read the exact time here)', clockGetres),
  gettimeofday: supported(gettimeofday),
  time: supported(time),
  clock_settime: partial(`CLOCK_REALTIME only: ${SET_NOTE}`, clockSettime),
  settimeofday: partial(`${SET_NOTE}; the timezone is recorded and gettimeofday reports it`, settimeofday),
  adjtimex: partial(`${SET_NOTE}; ADJ_SETOFFSET steps it, the other adjustments are recorded and reported back but the clock never slews or changes rate`, (t, a) => doAdjtimex(t, a.ptr(0))),
  clock_adjtime: partial('CLOCK_REALTIME as adjtimex; the other clocks answer EOPNOTSUPP', clockAdjtime),
};
