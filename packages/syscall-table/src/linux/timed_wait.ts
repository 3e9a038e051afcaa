import { bit, E, errno, type Task, type WaitState } from '@nommu/kernel';

/**
 * The state a timed wait (poll, select, epoll_wait) keeps across the re-runs
 * of its syscall: the deadline fixed at the first run, and the caller's signal
 * mask while a ppoll/pselect/epoll_pwait mask is in force.
 */
class TimedWait implements WaitState {
  constructor(
    readonly deadline: bigint | null,
    readonly savedMask: bigint | null,
  ) {}

  /** Ended by a signal: the caller's mask stays saved for the handler frame to restore. */
  cancel(): void {}
}

/** This call's wait: made at its first run (the timeout starts then), found again at each re-run. */
export function timedWait(task: Task, timeoutNs: bigint | null, mask: bigint | null = null): TimedWait {
  const st = task.waitState;
  if (st instanceof TimedWait) return st;
  const w = new TimedWait(timeoutNs === null ? null : process.hrtime.bigint() + timeoutNs, mask === null ? null : task.sigmask);
  if (mask !== null) {
    // Like sigsuspend: the handler frame of a signal that ends the wait restores the caller's mask.
    task.savedSigmask = task.sigmask;
    task.sigmask = mask;
  }
  task.waitState = w;
  return w;
}

/** Has the deadline passed? */
export function expired(w: TimedWait): boolean {
  return w.deadline !== null && process.hrtime.bigint() >= w.deadline;
}

/** The wait ends with a result: the caller's mask comes back. */
export function finish<T>(task: Task, w: TimedWait, result: T): T {
  if (w.savedMask !== null) {
    task.sigmask = w.savedMask;
    task.savedSigmask = null;
  }
  return result;
}

/** A signal the temporary mask lets through is already pending: the wait ends at once with EINTR. */
export function signalPending(task: Task): boolean {
  return [...task.pending, ...task.process.pending].some((i) => (task.sigmask & bit(i.signo)) === 0n);
}

/** Reads a sigset argument (NULL: none); the size must be 8 as on x86-64. */
export function readSigmask(task: Task, addr: number, size: number): bigint | null {
  if (addr === 0) return null;
  if (size !== 8) throw errno(E.EINVAL);
  return task.kernel.mem.u64(addr);
}
