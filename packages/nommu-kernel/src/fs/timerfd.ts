import { E, errno } from '../errno.js';
import type { Kernel } from '../kernel.js';
import { BLOCK } from '../syscalls.js';
import type { Task } from '../task/task.js';
import { monotonicNs } from '../time.js';
import { O_NONBLOCK, O_RDWR, OpenFile, POLL, type IoResult } from './file.js';
import { anonStat, type KStat } from './stat.js';
import { WaitQueue } from './wait.js';

export const CLOCK_REALTIME = 0;
export const CLOCK_MONOTONIC = 1;
export const CLOCK_BOOTTIME = 7;

/** A timer's setting in nanoseconds: time to the next expiry (0: disarmed) and the period. */
export interface TimerSetting {
  valueNs: bigint;
  intervalNs: bigint;
}

/**
 * timerfd(2). Expirations are counted from the clock when looked at (read,
 * poll), so no host timer runs for a timer nobody waits on; a waiter arms one
 * host timer for the next expiry.
 */
export class TimerFd extends OpenFile {
  override get seeksNowhere(): boolean {
    return true;
  }
  readonly queue = new WaitQueue();
  /** Next expiry on this timer's clock, or null when disarmed. */
  #due: bigint | null = null;
  #interval = 0n;
  /** Expirations not yet read. */
  #ticks = 0n;
  #cancelHost: (() => void) | null = null;
  /** Set with TFD_TIMER_ABSTIME: #due is a time on the clock, not elapsed time. */
  #absolute = false;
  /** TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET on CLOCK_REALTIME: a step of the clock cancels the timer. */
  #cancelOnSet = false;
  /** The clock was stepped since: the next read answers ECANCELED. */
  #canceled = false;
  /** Stops hearing of realtime clock steps (CLOCK_REALTIME timers only). */
  #offClockSet: (() => void) | null = null;

  constructor(
    private readonly kernel: Kernel,
    readonly clock: number,
    flags: number,
  ) {
    super(O_RDWR | (flags & O_NONBLOCK), 'anon_inode:[timerfd]');
    if (clock === CLOCK_REALTIME) this.#offClockSet = kernel.clock.onSet((step) => this.#clockSet(step));
  }

  /**
   * The guest stepped CLOCK_REALTIME: an absolute expiry stays at its time on
   * the clock (it may have passed now, or be further off), a relative one
   * keeps counting elapsed time, as Linux's relative timers run on
   * CLOCK_MONOTONIC; a TFD_TIMER_CANCEL_ON_SET timer is canceled.
   */
  #clockSet(step: bigint): void {
    if (this.#due !== null && !this.#absolute) this.#due += step;
    if (this.#cancelOnSet) this.#canceled = true;
    this.#stopHost();
    this.#update();
    if (this.#ticks > 0n || this.#canceled) this.queue.wake();
    else if (this.queue.waiters > 0) this.#arm();
  }

  stat(): KStat {
    return anonStat();
  }

  now(): bigint {
    return this.clock === CLOCK_REALTIME ? this.kernel.clock.realtime() : monotonicNs();
  }

  /** Counts the expirations that have passed. */
  #update(): void {
    const due = this.#due;
    if (due === null) return;
    const now = this.now();
    if (now < due) return;
    if (this.#interval > 0n) {
      const n = (now - due) / this.#interval + 1n;
      this.#ticks += n;
      this.#due = due + n * this.#interval;
    } else {
      this.#ticks += 1n;
      this.#due = null;
    }
  }

  setting(): TimerSetting {
    this.#update();
    return { valueNs: this.#due === null ? 0n : this.#due - this.now(), intervalNs: this.#interval };
  }

  /** timerfd_settime: returns the old setting; a new setting forgets unread expirations. */
  set(valueNs: bigint, intervalNs: bigint, absolute: boolean, cancelOnSet = false): TimerSetting {
    const old = this.setting();
    this.#stopHost();
    this.#ticks = 0n;
    this.#absolute = absolute;
    this.#cancelOnSet = absolute && cancelOnSet && this.clock === CLOCK_REALTIME;
    this.#canceled = false;
    this.#interval = intervalNs;
    this.#due = valueNs === 0n ? null : absolute ? valueNs : this.now() + valueNs;
    if (this.queue.waiters > 0) this.#arm();
    return old;
  }

  override poll(): number {
    this.#update();
    return this.#ticks > 0n || this.#canceled ? POLL.IN : 0;
  }

  override get waitQueue(): WaitQueue {
    return this.queue;
  }

  override watch(task: Task): void {
    this.queue.add(task);
    this.#arm();
  }

  override read(task: Task, buf: Uint8Array): IoResult {
    if (buf.length < 8) return errno(E.EINVAL);
    this.#update();
    if (this.#canceled) {
      // The clock was stepped: what expired before does not count; the guest must look at the clock again.
      this.#canceled = false;
      this.#ticks = 0n;
      return errno(E.ECANCELED);
    }
    if (this.#ticks === 0n) {
      if ((this.flags & O_NONBLOCK) !== 0) return errno(E.EAGAIN);
      task.kernel.block(task, 'timerfd read', false);
      this.watch(task);
      return BLOCK;
    }
    new DataView(buf.buffer, buf.byteOffset, 8).setBigUint64(0, this.#ticks, true);
    this.#ticks = 0n;
    return 8;
  }

  /** A host timer for the next expiry, while someone waits for it. */
  #arm(): void {
    if (this.#due === null || this.#cancelHost !== null) return;
    const ms = Number(this.#due - this.now()) / 1e6;
    this.#cancelHost = this.kernel.hostTimer(ms + 1, () => {
      this.#cancelHost = null;
      this.#update();
      if (this.#ticks > 0n) this.queue.wake();
      else if (this.queue.waiters > 0) this.#arm();
    });
  }

  #stopHost(): void {
    this.#cancelHost?.();
    this.#cancelHost = null;
  }

  override release(): void {
    this.#offClockSet?.();
    this.#offClockSet = null;
    this.#stopHost();
    this.#due = null;
  }
}
