import { E, EPOLL, EPOLL_EXCLUSIVE_OK, EpollFile, errno, fcntl, notPath, UNBLOCKABLE, type SyscallArgs, type SyscallResult, type Task } from '@nommu/kernel';
import { supported, type Family } from './define.js';
import { expired, finish, readSigmask, signalPending, timedWait } from './timed_wait.js';
import { readTimeout } from './timespec.js';

const EPOLL_CTL_ADD = 1;
const EPOLL_CTL_DEL = 2;
const EPOLL_CTL_MOD = 3;
/** struct epoll_event is packed on x86-64: u32 events, u64 data. */
const SIZEOF_EPOLL_EVENT = 12;
/** INT_MAX / sizeof(struct epoll_event), as Linux bounds maxevents. */
const EP_MAX_EVENTS = Math.floor(0x7fffffff / SIZEOF_EPOLL_EVENT);

function create(task: Task, flags: number): number {
  if ((flags & ~fcntl.O_CLOEXEC) !== 0) throw errno(E.EINVAL);
  return task.process.files.install(new EpollFile(0), (flags & fcntl.O_CLOEXEC) !== 0);
}

function epollOf(task: Task, fd: number): EpollFile {
  const f = task.process.files.get(fd);
  if (!(f instanceof EpollFile)) throw errno(E.EINVAL);
  return f;
}

/** epoll_ctl, with Linux's checks in Linux's order. */
function ctl(task: Task, a: SyscallArgs): number {
  const op = a.int(1);
  const fd = a.int(2);
  const mem = task.kernel.mem;
  const hasEvent = op !== EPOLL_CTL_DEL;
  let events = 0;
  let data = 0n;
  if (hasEvent) {
    events = mem.u32(a.ptr(3));
    data = mem.u64(a.ptr(3) + 4);
  }
  const files = task.process.files;
  const ep = notPath(files.get(a.int(0)));
  const target = notPath(files.get(fd));
  if (target.waitQueue === null) throw errno(E.EPERM);
  events &= ~EPOLL.WAKEUP; // needs CAP_BLOCK_SUSPEND, quietly dropped without it as Linux does
  if (ep === target || !(ep instanceof EpollFile)) throw errno(E.EINVAL);
  if (hasEvent && (events & EPOLL.EXCLUSIVE) !== 0) {
    if (op === EPOLL_CTL_MOD) throw errno(E.EINVAL);
    if (op === EPOLL_CTL_ADD && (target instanceof EpollFile || (events & ~EPOLL_EXCLUSIVE_OK) !== 0)) throw errno(E.EINVAL);
  }
  switch (op) {
    case EPOLL_CTL_ADD:
      if (target instanceof EpollFile && (target === ep || target.reaches(ep))) throw errno(E.ELOOP);
      ep.add(fd, target, events, data);
      return 0;
    case EPOLL_CTL_DEL:
      ep.remove(fd, target);
      return 0;
    case EPOLL_CTL_MOD:
      ep.modify(fd, target, events, data);
      return 0;
    default:
      throw errno(E.EINVAL);
  }
}

/** epoll_wait and its variants: harvest, or sleep on every watched file until the deadline. */
function wait(task: Task, epfd: number, eventsAddr: number, max: number, timeoutNs: bigint | null, mask: bigint | null): SyscallResult {
  if (max <= 0 || max > EP_MAX_EVENTS) throw errno(E.EINVAL);
  const ep = epollOf(task, epfd);
  const k = task.kernel;
  const w = timedWait(task, timeoutNs, mask === null ? null : mask & ~UNBLOCKABLE);
  const ready = ep.collect(task, max);
  if (ready.length > 0) {
    ready.forEach((e, i) => {
      k.mem.setU32(eventsAddr + i * SIZEOF_EPOLL_EVENT, e.events);
      k.mem.setU64(eventsAddr + i * SIZEOF_EPOLL_EVENT + 4, e.data);
    });
    return finish(task, w, ready.length);
  }
  if (timeoutNs === 0n || expired(w)) return finish(task, w, 0);
  if (w.savedMask !== null && signalPending(task)) return errno(E.EINTR);
  ep.watch(task);
  // A signal ends epoll_wait with EINTR, never a restart (SA_RESTART or not).
  task.interruptCode = E.EINTR;
  return k.waitDeadline(task, 'epoll_wait', w.deadline, ep.hostWoken);
}

function msTimeout(ms: number): bigint | null {
  return ms < 0 ? null : BigInt(ms) * 1_000_000n;
}

export const epollFamily: Family = {
  epoll_create: supported((t, a) => {
    if (a.int(0) <= 0) throw errno(E.EINVAL);
    return create(t, 0);
  }),
  epoll_create1: supported((t, a) => create(t, a.int(0))),
  epoll_ctl: supported(ctl),
  epoll_wait: supported((t, a) => wait(t, a.int(0), a.ptr(1), a.int(2), msTimeout(a.int(3)), null)),
  epoll_pwait: supported((t, a) => wait(t, a.int(0), a.ptr(1), a.int(2), msTimeout(a.int(3)), readSigmask(t, a.ptr(4), a.ptr(5)))),
  epoll_pwait2: supported((t, a) => wait(t, a.int(0), a.ptr(1), a.int(2), readTimeout(t, a.ptr(3)), readSigmask(t, a.ptr(4), a.ptr(5)))),
};
