import { BLOCK, E, errno, POLL, UNBLOCKABLE, type OpenFile, type SyscallArgs, type SyscallResult, type Task } from '@nommu/kernel';
import { supported, type Family } from './define.js';
import { expired, finish, readSigmask, signalPending, timedWait } from './timed_wait.js';
import { readTimeout } from './timespec.js';

interface Watch {
  fd: number;
  events: number;
}

/** One pass over the descriptors: revents for each (POLLNVAL for a closed one). */
function scan(task: Task, watches: Watch[]): { revents: number[]; ready: number; files: OpenFile[] } {
  const files: OpenFile[] = [];
  const revents = watches.map(({ fd, events }) => {
    if (fd < 0) return 0;
    let f: OpenFile;
    try {
      f = task.process.files.get(fd);
    } catch {
      return POLL.NVAL;
    }
    files.push(f);
    return f.poll(task) & (events | POLL.ERR | POLL.HUP);
  });
  return { revents, ready: revents.filter((r) => r !== 0).length, files };
}

type Wait = ReturnType<typeof timedWait>;

/**
 * How the caller hears the time left (Linux's poll_select_finish): select
 * writes it into its timeval, pselect6 and ppoll into their timespec, when
 * the call returns, times out or is interrupted (a restart then waits only
 * for the rest). Null for poll (milliseconds by value) and for a zero or
 * absent timeout, which Linux leaves alone.
 */
type TimeLeft = ((ns: bigint) => void) | null;

function timeLeft(w: Wait): bigint {
  if (w.deadline === null) return 0n;
  const left = w.deadline - process.hrtime.bigint();
  return left > 0n ? left : 0n;
}

/** The call ends with `result`: the caller's mask comes back and hears the time left. */
function done<T>(task: Task, w: Wait, left: TimeLeft, result: T): T {
  left?.(timeLeft(w));
  return finish(task, w, result);
}

/**
 * Nothing ready: watch every file, then sleep until one changes or the
 * deadline (fixed at the first run) passes; the call then looks again.
 * A handler that runs ends the call with EINTR, SA_RESTART or not (Linux's
 * ERESTARTNOHAND: only a signal that runs no handler restarts it). `restart`
 * is poll's restart block, which waits for the time left.
 */
function sleepOn(task: Task, w: Wait, files: OpenFile[], why: string, left: TimeLeft, restart: Task['restartBlock'] = null): SyscallResult {
  // A signal the temporary mask lets through is pending: its handler ends the call (EINTR); if it runs none, the call restarts.
  if (w.savedMask !== null && signalPending(task)) {
    left?.(timeLeft(w));
    return errno(E.ERESTARTNOHAND);
  }
  for (const f of files) f.watch(task);
  const host = files.some((f) => f.waitQueue?.host === true);
  task.kernel.waitDeadline(task, why, w.deadline, host);
  task.interruptCode = restart ? E.ERESTART_RESTARTBLOCK : E.ERESTARTNOHAND;
  if (restart) task.restartBlock = restart;
  if (left) task.onInterrupt = () => left(timeLeft(w));
  return BLOCK;
}

function doPoll(task: Task, fdsAddr: number, nfds: number, timeoutNs: bigint | null, mask: bigint | null, left: TimeLeft): SyscallResult {
  const mem = task.kernel.mem;
  if (nfds < 0 || nfds > task.process.files.limit) throw errno(E.EINVAL);
  const watches: Watch[] = [];
  for (let i = 0; i < nfds; i++) watches.push({ fd: mem.i32(fdsAddr + i * 8), events: mem.u16(fdsAddr + i * 8 + 4) });
  const w = timedWait(task, timeoutNs, mask);
  const { revents, ready, files } = scan(task, watches);
  revents.forEach((r, i) => mem.setU16(fdsAddr + i * 8 + 6, r));
  if (ready > 0 || timeoutNs === 0n || expired(w)) return done(task, w, left, ready);
  // poll (no mask, a timeout in milliseconds by value) restarts through its restart block for the time left.
  const restart = mask === null && left === null && w.deadline !== null ? pollRestart(fdsAddr, nfds, w.deadline) : null;
  return sleepOn(task, w, files, 'poll', left, restart);
}

/** Linux's do_restart_poll: poll again until the same deadline. */
function pollRestart(fdsAddr: number, nfds: number, deadline: bigint): Task['restartBlock'] {
  return (t) => {
    const rest = deadline - process.hrtime.bigint();
    return doPoll(t, fdsAddr, nfds, rest > 0n ? rest : 0n, null, null);
  };
}

const FD_SETSIZE = 1024;

function doSelect(task: Task, a: SyscallArgs, timeoutNs: bigint | null, mask: bigint | null, left: TimeLeft): SyscallResult {
  const mem = task.kernel.mem;
  const nfds = a.int(0);
  if (nfds < 0 || nfds > FD_SETSIZE) throw errno(E.EINVAL);
  const sets = [a.ptr(1), a.ptr(2), a.ptr(3)];
  const bytes = Math.ceil(nfds / 64) * 8;
  const inSets = sets.map((p) => (p === 0 ? null : mem.copyIn(p, bytes)));
  const has = (set: Uint8Array | null, fd: number): boolean => set !== null && ((set[fd >> 3]! >> (fd & 7)) & 1) === 1;
  const watches: Watch[] = [];
  for (let fd = 0; fd < nfds; fd++) {
    const events = (has(inSets[0]!, fd) ? POLL.IN : 0) | (has(inSets[1]!, fd) ? POLL.OUT : 0) | (has(inSets[2]!, fd) ? POLL.PRI : 0);
    if (events !== 0) watches.push({ fd, events });
  }
  const { revents, files } = scan(task, watches);
  if (revents.some((r) => r === POLL.NVAL)) throw errno(E.EBADF);
  const w = timedWait(task, timeoutNs, mask);
  const outSets = inSets.map((s) => (s === null ? null : new Uint8Array(s.length)));
  let count = 0;
  watches.forEach(({ fd, events }, i) => {
    const r = revents[i]!;
    const mark = (k: number): void => {
      outSets[k]![fd >> 3]! |= 1 << (fd & 7);
      count++;
    };
    if ((events & POLL.IN) !== 0 && (r & (POLL.IN | POLL.HUP | POLL.ERR)) !== 0) mark(0);
    if ((events & POLL.OUT) !== 0 && (r & (POLL.OUT | POLL.ERR)) !== 0) mark(1);
    if ((events & POLL.PRI) !== 0 && (r & POLL.PRI) !== 0) mark(2);
  });
  if (count > 0 || timeoutNs === 0n || expired(w)) {
    // Only a call that returns writes the sets (a timeout reports them empty); one that sleeps keeps
    // the caller's sets to watch them again when it runs again.
    sets.forEach((p, k) => p !== 0 && mem.copyOut(p, outSets[k]!));
    return done(task, w, left, count);
  }
  return sleepOn(task, w, files, 'select', left);
}

function timevalNs(task: Task, addr: number): bigint | null {
  if (addr === 0) return null;
  const mem = task.kernel.mem;
  const sec = mem.i64(addr);
  const usec = mem.i64(addr + 8);
  if (sec < 0n || usec < 0n || usec >= 1_000_000n) throw errno(E.EINVAL);
  return sec * 1_000_000_000n + usec * 1000n;
}

/** pselect6's sixth argument: a pointer to { const sigset_t *ss; size_t ss_len }. */
function pselectMask(task: Task, addr: number): bigint | null {
  if (addr === 0) return null;
  const mem = task.kernel.mem;
  return withoutUnblockable(readSigmask(task, mem.ptr(addr), mem.ptr(addr + 8)));
}

function withoutUnblockable(mask: bigint | null): bigint | null {
  return mask === null ? null : mask & ~UNBLOCKABLE;
}

/**
 * The time left goes into the struct at `addr`: seconds, then nanoseconds
 * (ppoll's and pselect6's timespec, `unitNs` 1) or microseconds rounded down
 * (select's timeval, `unitNs` 1000). Nothing for a zero or absent timeout.
 */
function timeLeftTo(task: Task, addr: number, timeoutNs: bigint | null, unitNs: bigint): TimeLeft {
  if (timeoutNs === null || timeoutNs === 0n) return null;
  const mem = task.kernel.mem;
  return (ns) => {
    // A timeout the caller may not write back is left as it is (Linux ignores that copy's failure).
    if (!mem.ok(addr, 16)) return;
    mem.setI64(addr, ns / 1_000_000_000n);
    mem.setI64(addr + 8, (ns % 1_000_000_000n) / unitNs);
  };
}

export const pollFamily: Family = {
  poll: supported((t, a) => {
    const ms = a.int(2);
    return doPoll(t, a.ptr(0), a.int(1), ms < 0 ? null : BigInt(ms) * 1_000_000n, null, null);
  }),
  ppoll: supported((t, a) => {
    const timeout = readTimeout(t, a.ptr(2));
    return doPoll(t, a.ptr(0), a.int(1), timeout, withoutUnblockable(readSigmask(t, a.ptr(3), a.ptr(4))), timeLeftTo(t, a.ptr(2), timeout, 1n));
  }),
  select: supported((t, a) => {
    const timeout = timevalNs(t, a.ptr(4));
    return doSelect(t, a, timeout, null, timeLeftTo(t, a.ptr(4), timeout, 1000n));
  }),
  pselect6: supported((t, a) => {
    const timeout = readTimeout(t, a.ptr(4));
    return doSelect(t, a, timeout, pselectMask(t, a.ptr(5)), timeLeftTo(t, a.ptr(4), timeout, 1n));
  }),
};
