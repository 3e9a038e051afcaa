/**
 * The kernel's host timers: sleeps and timeouts, alarm()/ITIMER_REAL,
 * timerfds and POSIX timers. Each is a Node timer, so it fires when the
 * host is idle; while guest code computes, Node's event loop turns only
 * between runs, so the run loop also asks `fireDue` at every entry and caps
 * each run at `nextDueMs`: a timer fires on time whether the guest sleeps,
 * computes or makes syscalls (before, a 1 ms ITIMER_REAL armed and disarmed
 * around 8 ms of computing never fired: no event-loop turn fell in between).
 */

/** One armed timer. */
export interface HostTimer {
  /** Due time, host monotonic ns. */
  readonly dueNs: bigint;
  /** The same, on performance.now()'s scale (ms), for the run loop's cheap comparison. */
  readonly dueMs: number;
  readonly fire: () => void;
  /** The Node timer standing for it now (re-armed until the due time: see arm). */
  node: ReturnType<typeof setTimeout> | undefined;
}

export class HostTimers {
  readonly #armed = new Set<HostTimer>();
  /**
   * No armed timer is due before this (performance.now() ms). It may be
   * early after a cancel: then fireDue finds nothing and looks again.
   */
  nextDueMs = Infinity;

  /**
   * Calls `fire` once, when the host's monotonic clock reaches `dueNs`.
   * Node's timers count whole milliseconds of a loop clock that may lag, so
   * one can fire a little early, and they take at most 2^31-1 ms (~24.8
   * days; a longer delay fires at once): the Node timer re-arms for what is
   * left, and a timer never fires early.
   */
  arm(dueNs: bigint, fire: () => void): HostTimer {
    const now = process.hrtime.bigint();
    const t: HostTimer = { dueNs, dueMs: performance.now() + Number(dueNs - now) / 1e6, fire, node: undefined };
    const check = (): void => {
      const left = t.dueNs - process.hrtime.bigint();
      if (left > 0n) t.node = setTimeout(check, timerMs(left));
      else this.#fire(t);
    };
    t.node = setTimeout(check, timerMs(dueNs - now));
    this.#armed.add(t);
    if (t.dueMs < this.nextDueMs) this.nextDueMs = t.dueMs;
    return t;
  }

  /** Disarms `t`; false if it had fired or was cancelled already. */
  cancel(t: HostTimer): boolean {
    if (!this.#armed.delete(t)) return false;
    clearTimeout(t.node);
    return true;
  }

  /** Fires every timer due by now (the run loop calls it once performance.now() passes nextDueMs). */
  fireDue(): void {
    const now = process.hrtime.bigint();
    let next = Infinity;
    for (const t of [...this.#armed]) {
      if (!this.#armed.has(t)) continue; // cancelled by one fired before it
      if (t.dueNs <= now) this.#fire(t);
      else if (t.dueMs < next) next = t.dueMs;
    }
    // Timers armed by the ones that fired count too.
    for (const t of this.#armed) if (t.dueMs < next) next = t.dueMs;
    this.nextDueMs = next;
  }

  /** Cancels every timer (the kernel is done). */
  cancelAll(): void {
    for (const t of this.#armed) clearTimeout(t.node);
    this.#armed.clear();
    this.nextDueMs = Infinity;
  }

  #fire(t: HostTimer): void {
    if (!this.cancel(t)) return;
    t.fire();
  }
}

/** A setTimeout delay for `ns`: whole milliseconds, 0 to Node's limit (longer waits re-arm). */
function timerMs(ns: bigint): number {
  return Math.max(0, Math.min(Number(ns / 1_000_000n), 2 ** 31 - 1));
}
