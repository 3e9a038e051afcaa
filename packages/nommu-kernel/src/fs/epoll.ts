import { E, errno } from '../errno.js';
import type { Task } from '../task/task.js';
import { O_RDWR, OpenFile, POLL } from './file.js';
import { anonStat, type KStat } from './stat.js';
import { WaitQueue } from './wait.js';

export const EPOLL = {
  IN: 0x1, PRI: 0x2, OUT: 0x4, ERR: 0x8, HUP: 0x10, RDNORM: 0x40, RDBAND: 0x80, WRNORM: 0x100, WRBAND: 0x200,
  MSG: 0x400, RDHUP: 0x2000, EXCLUSIVE: 1 << 28, WAKEUP: 1 << 29, ONESHOT: 1 << 30, ET: 2 ** 31,
} as const;

/** What EPOLLEXCLUSIVE may be combined with. */
export const EPOLL_EXCLUSIVE_OK = EPOLL.IN | EPOLL.OUT | EPOLL.ERR | EPOLL.HUP | EPOLL.WAKEUP | EPOLL.ET | EPOLL.EXCLUSIVE;
/** The bits that ask for events (the rest are behaviour flags). */
const EVENT_BITS = 0x0fffffff;

/** One watched (file, fd) pair. */
interface EpollItem {
  readonly fd: number;
  readonly file: OpenFile;
  events: number;
  data: bigint;
  /** EPOLLONESHOT fired: nothing is reported until EPOLL_CTL_MOD. */
  disabled: boolean;
  /** The file's wait-queue sequence when last reported (edge-triggered items). */
  seen: number;
}

export interface EpollEvent {
  events: number;
  data: bigint;
}

/**
 * An epoll instance. Readiness is asked of each watched file when epoll_wait
 * looks (its poll()); a waiter sleeps on every file's wait queue. Edge-triggered
 * items are reported once per wake of their file's queue (the queue's `seq`),
 * which is when Linux's callback would have queued them. An item goes away when
 * its open file description is released, as on Linux (not at close of one fd).
 */
export class EpollFile extends OpenFile {
  override get seeksNowhere(): boolean {
    return true;
  }
  /** Report order: a reported level-triggered item goes to the back, so every ready one gets its turn. */
  #items: EpollItem[] = [];
  /** epoll_ctl changes wake waiters (a new ready item). */
  readonly queue = new WaitQueue();

  constructor(flags: number) {
    super(O_RDWR | flags, 'anon_inode:[eventpoll]');
  }

  stat(): KStat {
    return anonStat();
  }

  #live(): EpollItem[] {
    if (this.#items.some((i) => i.file.refs === 0)) this.#items = this.#items.filter((i) => i.file.refs > 0);
    return this.#items;
  }

  #find(fd: number, file: OpenFile): EpollItem | undefined {
    return this.#live().find((i) => i.fd === fd && i.file === file);
  }

  /** Does this instance watch `other`, directly or through nested instances? (ELOOP) */
  reaches(other: EpollFile, depth = 0): boolean {
    if (depth > 5) return true;
    return this.#live().some((i) => i.file === other || (i.file instanceof EpollFile && i.file.reaches(other, depth + 1)));
  }

  add(fd: number, file: OpenFile, events: number, data: bigint): void {
    if (this.#find(fd, file)) throw errno(E.EEXIST);
    this.#items.push({ fd, file, events: events | EPOLL.ERR | EPOLL.HUP, data, disabled: false, seen: -1 });
    this.queue.wake();
  }

  modify(fd: number, file: OpenFile, events: number, data: bigint): void {
    const item = this.#find(fd, file);
    if (!item) throw errno(E.ENOENT);
    if ((item.events & EPOLL.EXCLUSIVE) !== 0) throw errno(E.EINVAL);
    item.events = events | EPOLL.ERR | EPOLL.HUP;
    item.data = data;
    item.disabled = false;
    item.seen = -1;
    this.queue.wake();
  }

  remove(fd: number, file: OpenFile): void {
    const item = this.#find(fd, file);
    if (!item) throw errno(E.ENOENT);
    this.#items.splice(this.#items.indexOf(item), 1);
  }

  /** The files watched under descriptor number `fd`, oldest first (kcmp's KCMP_EPOLL_TFD). */
  watchedAt(fd: number): OpenFile[] {
    return this.#live().filter((i) => i.fd === fd).map((i) => i.file);
  }

  /** An item's events now, or 0 (disabled, or an edge already reported). */
  #ready(task: Task | undefined, item: EpollItem): number {
    if (item.disabled) return 0;
    const ev = pollBits(item.file.poll(task)) & item.events & EVENT_BITS;
    if (ev === 0) return 0;
    if ((item.events & EPOLL.ET) !== 0 && (item.file.waitQueue?.seq ?? 0) === item.seen) return 0;
    return ev;
  }

  /** epoll_wait's harvest: up to `max` ready items, with their edge and one-shot state advanced. */
  collect(task: Task, max: number): EpollEvent[] {
    const out: EpollEvent[] = [];
    const reported: EpollItem[] = [];
    for (const item of this.#live()) {
      if (out.length >= max) break;
      const ev = this.#ready(task, item);
      if (ev === 0) continue;
      out.push({ events: ev, data: item.data });
      if ((item.events & EPOLL.ET) !== 0) item.seen = item.file.waitQueue?.seq ?? 0;
      if ((item.events & EPOLL.ONESHOT) !== 0) item.disabled = true;
      else if ((item.events & EPOLL.ET) === 0) reported.push(item);
    }
    if (reported.length > 0) this.#items = [...this.#items.filter((i) => !reported.includes(i)), ...reported];
    return out;
  }

  override poll(task?: Task): number {
    return this.#live().some((i) => this.#ready(task, i) !== 0) ? POLL.IN : 0;
  }

  override get waitQueue(): WaitQueue {
    return this.queue;
  }

  /** A waiter wakes when any watched file may have changed, or the set itself did. */
  override watch(task: Task): void {
    this.queue.add(task);
    for (const i of this.#live()) i.file.watch(task);
  }

  /** Is any watched file woken by the host (input, timers)? */
  get hostWoken(): boolean {
    return this.#live().some((i) => i.file.waitQueue?.host === true || (i.file instanceof EpollFile && i.file.hostWoken));
  }
}

/** poll(2) bits as epoll bits: POLLRDNORM and POLLWRNORM come along with IN and OUT, as Linux's poll methods set them. */
function pollBits(p: number): number {
  let ev = p;
  if ((p & POLL.IN) !== 0) ev |= EPOLL.RDNORM;
  if ((p & POLL.OUT) !== 0) ev |= EPOLL.WRNORM;
  return ev;
}
