import type { Kernel } from '../kernel.js';
import { TaskState, type Process, type Task } from '../task/task.js';
import type { SigInfo } from './frame.js';

/** sigevent.sigev_notify values the kernel knows (SIGEV_THREAD is the C library's, built on SIGEV_THREAD_ID). */
export const SIGEV = { SIGNAL: 0, NONE: 1, THREAD_ID: 4 } as const;
/** si_code of a timer's signal. */
export const SI_TIMER = -2;

/** What a POSIX timer does when it expires. */
export interface TimerNotify {
  /** SIGEV_NONE: nothing (timer_gettime still counts down). */
  kind: 'none' | 'signal';
  signo: number;
  /** sigev_value, handed back in si_value. */
  value: bigint;
  /** SIGEV_THREAD_ID: the thread that gets the signal; null for the whole process. */
  thread: Task | null;
}

/** A timer setting in nanoseconds: time to the next expiry (0: disarmed) and the period. */
export interface PosixTimerSetting {
  valueNs: bigint;
  intervalNs: bigint;
}

/**
 * A POSIX per-process timer (timer_create). Expiry runs on a host timer. Its
 * signal is queued once: expirations while it is still pending, or that the
 * host timer was late for, count as overruns, which the signal carries
 * (si_overrun) when it is delivered and timer_getoverrun reports after that.
 */
export class PosixTimer {
  /** Next expiry on the timer's clock (ns), or null when disarmed. */
  #due: bigint | null = null;
  #interval = 0n;
  /** Overruns of the queued signal so far. */
  #overrun = 0;
  /** si_overrun of the last delivered signal (timer_getoverrun). */
  lastOverrun = 0;
  /** The signal this timer queued that has not left the queue yet. */
  #queued: SigInfo | null = null;
  #cancelHost: (() => void) | null = null;
  /** Set with TIMER_ABSTIME: #due is a time on the clock, not elapsed time. */
  #absolute = false;
  /** Stops hearing of realtime clock steps (CLOCK_REALTIME timers only). */
  #offClockSet: (() => void) | null = null;

  constructor(
    private readonly kernel: Kernel,
    readonly process: Process,
    readonly id: number,
    /** Counts CLOCK_REALTIME (true) or CLOCK_MONOTONIC/BOOTTIME time. */
    readonly realtime: boolean,
    readonly notify: TimerNotify,
  ) {
    if (realtime) this.#offClockSet = kernel.clock.onSet((step) => this.#clockSet(step));
  }

  /**
   * The guest stepped CLOCK_REALTIME: an absolute expiry stays at its time on
   * the clock (now past, or further off), a relative one keeps counting
   * elapsed time (Linux runs relative timers on CLOCK_MONOTONIC).
   */
  #clockSet(step: bigint): void {
    if (this.#due === null) return;
    if (!this.#absolute) this.#due += step;
    this.#stopHost();
    if (this.process.exitStatus === null) this.#expire();
  }

  now(): bigint {
    return this.realtime ? this.kernel.clock.realtime() : this.kernel.clock.monotonic();
  }

  /** timer_gettime: for an expiry already due but not yet handled, 1 ns (still armed), as Linux answers. */
  setting(): PosixTimerSetting {
    if (this.notify.kind === 'none') this.#forward(this.now());
    const due = this.#due;
    if (due === null) return { valueNs: 0n, intervalNs: this.#interval };
    const left = due - this.now();
    return { valueNs: left > 0n ? left : 1n, intervalNs: this.#interval };
  }

  /** timer_settime: returns the old setting. A value of 0 disarms. */
  set(valueNs: bigint, intervalNs: bigint, absolute: boolean): PosixTimerSetting {
    const old = this.setting();
    this.#stopHost();
    this.#interval = intervalNs;
    this.#absolute = absolute;
    this.#due = valueNs === 0n ? null : absolute ? valueNs : this.now() + valueNs;
    this.#arm();
    return old;
  }

  /** timer_delete, exec, exit: never fires again (a signal already queued is still delivered). */
  delete(): void {
    this.#offClockSet?.();
    this.#offClockSet = null;
    this.#stopHost();
    this.#due = null;
  }

  /** Moves an expired due time past `now`; returns how many expirations that was. */
  #forward(now: bigint): number {
    const due = this.#due;
    if (due === null || now < due) return 0;
    if (this.#interval === 0n) {
      this.#due = null;
      return 1;
    }
    const n = (now - due) / this.#interval + 1n;
    this.#due = due + n * this.#interval;
    return Number(n);
  }

  #arm(): void {
    if (this.#due === null || this.notify.kind === 'none') return;
    const ms = Number(this.#due - this.now()) / 1e6;
    // Node's timers may fire up to a millisecond early: #expire checks and re-arms.
    this.#cancelHost = this.kernel.hostTimer(Math.max(0, ms), () => {
      this.#cancelHost = null;
      this.#expire();
    });
  }

  #expire(): void {
    if (this.process.exitStatus !== null) return;
    const n = this.#forward(this.now());
    if (n > 0) this.#signal(n);
    this.#arm();
  }

  /** `n` expirations: one signal, the rest overruns (all of them if the last signal is still queued). */
  #signal(n: number): void {
    if (this.#queued !== null) {
      this.#overrun += n;
      return;
    }
    const t = this.notify.thread;
    if (t !== null && t.state === TaskState.Zombie) return; // its thread is gone: the signal has nowhere to go
    const info: SigInfo = {
      signo: this.notify.signo,
      code: SI_TIMER,
      timerid: this.id,
      overrun: 0,
      value: this.notify.value,
      onDequeue: (delivered) => {
        if (this.#queued !== info) return;
        this.#queued = null;
        if (!delivered) return;
        info.overrun = this.#overrun;
        this.lastOverrun = this.#overrun;
        this.#overrun = 0;
      },
    };
    this.#overrun = n - 1;
    this.kernel.sendSignal(t ?? this.process, info);
    // Ignored, or the same standard signal already pending: nothing was queued.
    const queue = t !== null ? t.pending : this.process.pending;
    if (queue.includes(info)) this.#queued = info;
    else this.#overrun = 0;
  }

  #stopHost(): void {
    this.#cancelHost?.();
    this.#cancelHost = null;
  }
}
