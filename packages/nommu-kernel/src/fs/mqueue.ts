import { E, errno, type Errno } from '../errno.js';
import type { Kernel } from '../kernel.js';
import { PerKernel } from '../perkernel.js';
import type { MemoryMap } from '../memory/mm.js';
import { BLOCK } from '../syscalls.js';
import { TaskState, type Process, type Task, type WaitState } from '../task/task.js';
import { O_ACCMODE, O_NONBLOCK, O_RDWR, O_WRONLY, OpenFile, POLL, type IoResult } from './file.js';
import { S_IFREG, type KStat } from './stat.js';
import { WaitQueue } from './wait.js';

/**
 * POSIX message queues (mq_overview(7)): a per-kernel namespace of queues
 * (Linux's mqueue filesystem of the IPC namespace), each an inode that lives
 * while it has a name or an open description, and MqFile, the open
 * description a queue descriptor is.
 */

/** Priorities are below this (sysconf(_SC_MQ_PRIO_MAX)). */
export const MQ_PRIO_MAX = 32768;
/** What a process with CAP_SYS_RESOURCE may ask for, whatever the sysctls say. */
export const HARD_MSGMAX = 65536;
export const HARD_MSGSIZEMAX = 16 * 1024 * 1024;
/** The /proc/sys/fs/mqueue defaults. */
export const MQ_LIMITS = { queuesMax: 256, msgMax: 10, msgsizeMax: 8192, msgDefault: 10, msgsizeDefault: 8192 } as const;
/** si_code of a message queue notification signal. */
export const SI_MESGQ = -3;
/** sigev_notify values mq_notify takes. */
export const MQ_SIGEV = { SIGNAL: 0, NONE: 1, THREAD: 2 } as const;
/** struct mq_attr: mq_flags, mq_maxmsg, mq_msgsize, mq_curmsgs, four reserved longs. */
export const SIZEOF_MQ_ATTR = 64;

/** The size an mqueue inode reports, and the longest line read() gives (Linux's FILENT_SIZE). */
const FILENT_SIZE = 80;
/** What RLIMIT_MSGQUEUE counts per message besides its bytes: a struct msg_msg, and a priority tree node. */
const MSG_MSG_SIZE = 48n;
const TREE_NODE_SIZE = 48n;
/** st_dev of the mqueue filesystem (an anonymous device, 0:19 here). */
const MQUEUE_DEV = 19;
const RLIMIT_MSGQUEUE = 12;
const DEFAULT_RLIMIT_MSGQUEUE = 819200n;

export interface MqMessage {
  readonly prio: number;
  readonly data: Uint8Array;
}

/** A registration made by mq_notify: one process, until it fires, is removed, or the process lets go of the queue. */
interface Notification {
  readonly owner: Process;
  /** The owner's address space when it registered: after an exec the signal is not sent (Linux's self_exec_id). */
  readonly mm: MemoryMap;
  readonly how: number;
  readonly signo: number;
  readonly value: bigint;
}

/**
 * One blocked mq_timedsend or mq_timedreceive, kept across the re-runs of its
 * syscall. A send or receive on the other side completes it directly (Linux's
 * pipelined_send/pipelined_receive): `done` with the message taken (a sender's
 * went into the queue) or handed over (a receiver's).
 */
class MqWait implements WaitState {
  done = false;
  constructor(
    readonly queue: MessageQueue,
    readonly task: Task,
    readonly list: MqWait[],
    /** A sender's message, or a receiver's once it is handed one. */
    public msg: MqMessage | null,
  ) {}

  /** Is its task asleep in this wait (not woken by a signal, a timeout or anything else)? */
  get asleep(): boolean {
    return this.task.state === TaskState.Blocked && this.task.waitState === this;
  }

  leave(): void {
    const i = this.list.indexOf(this);
    if (i >= 0) this.list.splice(i, 1);
  }

  /** Ended without the handler (a signal, death): it leaves the queue; a message of its own is dropped. */
  cancel(): void {
    this.leave();
  }
}

/** The queues of one kernel: names, how many exist, and the bytes RLIMIT_MSGQUEUE counts (one guest identity: one user). */
export class MqNamespace {
  readonly names = new Map<string, MessageQueue>();
  /** Queues that exist (named, or unlinked but still open). */
  count = 0;
  bytes = 0n;
  #nextIno = 1;

  constructor(readonly kernel: Kernel) {}

  /**
   * Creates the queue `name` (mqueue_create_attr / mqueue_get_inode): ENOSPC
   * past queues_max, EINVAL for attributes out of range, EMFILE past
   * RLIMIT_MSGQUEUE. Root (CAP_SYS_RESOURCE) is bound by the hard limits only.
   */
  create(task: Task, name: string, mode: number, attr: { maxmsg: bigint; msgsize: bigint } | null): MessageQueue {
    const { euid, egid } = this.kernel.identity;
    const privileged = euid === 0;
    if (this.count >= MQ_LIMITS.queuesMax && !privileged) throw errno(E.ENOSPC);
    const maxmsg = attr?.maxmsg ?? BigInt(Math.min(MQ_LIMITS.msgMax, MQ_LIMITS.msgDefault));
    const msgsize = attr?.msgsize ?? BigInt(Math.min(MQ_LIMITS.msgsizeMax, MQ_LIMITS.msgsizeDefault));
    if (maxmsg <= 0n || msgsize <= 0n) throw errno(E.EINVAL);
    const [maxMsgs, maxSize] = privileged ? [HARD_MSGMAX, HARD_MSGSIZEMAX] : [MQ_LIMITS.msgMax, MQ_LIMITS.msgsizeMax];
    if (maxmsg > BigInt(maxMsgs) || msgsize > BigInt(maxSize)) throw errno(E.EINVAL);
    const nodes = maxmsg < BigInt(MQ_PRIO_MAX) ? maxmsg : BigInt(MQ_PRIO_MAX);
    const bytes = maxmsg * msgsize + maxmsg * MSG_MSG_SIZE + nodes * TREE_NODE_SIZE;
    const limit = task.process.rlimits.get(RLIMIT_MSGQUEUE)?.[0] ?? DEFAULT_RLIMIT_MSGQUEUE;
    if (this.bytes + bytes > limit) throw errno(E.EMFILE);
    this.bytes += bytes;
    this.count++;
    const now = this.kernel.clock.realtime();
    const q = new MessageQueue(this, name, Number(maxmsg), Number(msgsize), mode, euid, egid, this.#nextIno++, bytes, now);
    this.names.set(name, q);
    return q;
  }
}

const namespaces = new PerKernel<MqNamespace>((k) => new MqNamespace(k));

/** The kernel's message queue namespace (made at first use). */
export function mqNamespace(kernel: Kernel): MqNamespace {
  return namespaces.of(kernel);
}

/** A message queue: the inode behind a name in the namespace and every description opened on it. */
export class MessageQueue {
  /** Highest priority first, FIFO within a priority. */
  readonly #messages: MqMessage[] = [];
  /** Bytes of the messages queued (QSIZE). */
  #qsize = 0;
  /** Woken when a message arrives or room appears: poll, select, epoll. */
  readonly pollQueue = new WaitQueue();
  readonly #senders: MqWait[] = [];
  readonly #receivers: MqWait[] = [];
  #notify: Notification | null = null;
  /** Still has its name (not mq_unlink'ed). */
  linked = true;
  /** Open descriptions (MqFile). */
  opens = 0;
  #freed = false;

  constructor(
    readonly ns: MqNamespace,
    readonly name: string,
    readonly maxmsg: number,
    readonly msgsize: number,
    readonly mode: number,
    readonly uid: number,
    readonly gid: number,
    readonly ino: number,
    /** What it counts against RLIMIT_MSGQUEUE. */
    readonly bytes: bigint,
    public ctimeNs: bigint,
  ) {}

  get curmsgs(): number {
    return this.#messages.length;
  }

  /** The name goes (mq_unlink); the queue stays while descriptions are open. */
  unlink(): void {
    if (this.ns.names.get(this.name) === this) this.ns.names.delete(this.name);
    this.linked = false;
    this.#maybeFree();
  }

  /** A description closed for the last time. */
  closed(): void {
    this.opens--;
    this.#maybeFree();
  }

  #maybeFree(): void {
    if (this.linked || this.opens > 0 || this.#freed) return;
    this.#freed = true;
    this.ns.count--;
    this.ns.bytes -= this.bytes;
  }

  /** Permission to open it for `acc` (4 read, 2 write) by the guest identity: owner, group or other bits; root passes. */
  permits(acc: number): boolean {
    const { euid, egid } = this.ns.kernel.identity;
    if (euid === 0) return true;
    const bits = euid === this.uid ? this.mode >> 6 : egid === this.gid ? this.mode >> 3 : this.mode;
    return (bits & acc) === acc;
  }

  // ---- messages ----

  #insert(m: MqMessage): void {
    let lo = 0;
    let hi = this.#messages.length;
    // After every message of the same or a higher priority.
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.#messages[mid]!.prio >= m.prio) lo = mid + 1;
      else hi = mid;
    }
    this.#messages.splice(lo, 0, m);
    this.#qsize += m.data.length;
  }

  /** The first waiter still asleep in `list` (FIFO: every task has the same priority here). */
  #firstAsleep(list: MqWait[]): MqWait | null {
    for (const w of list) if (w.asleep) return w;
    return null;
  }

  #wake(w: MqWait): void {
    w.leave();
    w.done = true;
    w.task.kernel.wakeUp(w.task, false);
  }

  /** The re-run of a parked send or receive: its result once the other side completed it; else it leaves the queue and looks again. */
  static resumed(task: Task): { msg: MqMessage | null } | null {
    const st = task.waitState;
    if (!(st instanceof MqWait)) return null;
    task.waitState = null;
    if (st.done) return { msg: st.msg };
    st.leave();
    return null;
  }

  /**
   * mq_timedsend after its argument checks: to a receiver that is waiting,
   * else into the queue (notifying a registered process when the queue was
   * empty); a full queue answers EAGAIN (O_NONBLOCK) or waits for room until
   * the CLOCK_REALTIME `deadline` (ETIMEDOUT).
   */
  send(task: Task, file: MqFile, prio: number, data: Uint8Array, deadline: bigint | null): 0 | Errno | typeof BLOCK {
    const msg: MqMessage = { prio, data };
    if (this.#messages.length >= this.maxmsg) {
      if ((file.flags & O_NONBLOCK) !== 0) return errno(E.EAGAIN);
      return this.#sleep(task, new MqWait(this, task, this.#senders, msg), 'mq_timedsend', deadline);
    }
    const receiver = this.#firstAsleep(this.#receivers);
    if (receiver) {
      receiver.msg = msg;
      this.#wake(receiver);
    } else {
      this.#insert(msg);
      this.#notifyArrival(task);
      this.pollQueue.wake();
    }
    this.ctimeNs = this.ns.kernel.clock.realtime();
    return 0;
  }

  /**
   * mq_timedreceive after its argument checks: the oldest message of the
   * highest priority (a waiting sender's message then takes the room); an
   * empty queue answers EAGAIN (O_NONBLOCK) or waits until `deadline`.
   */
  receive(task: Task, file: MqFile, deadline: bigint | null): MqMessage | Errno | typeof BLOCK {
    const m = this.#messages.shift();
    if (m === undefined) {
      if ((file.flags & O_NONBLOCK) !== 0) return errno(E.EAGAIN);
      return this.#sleep(task, new MqWait(this, task, this.#receivers, null), 'mq_timedreceive', deadline);
    }
    this.#qsize -= m.data.length;
    this.ctimeNs = this.ns.kernel.clock.realtime();
    const sender = this.#firstAsleep(this.#senders);
    if (sender) {
      this.#insert(sender.msg!);
      this.#wake(sender);
    } else {
      this.pollQueue.wake();
    }
    return m;
  }

  #sleep(task: Task, w: MqWait, why: string, deadline: bigint | null): Errno | typeof BLOCK {
    const k = task.kernel;
    let until: bigint | null = null;
    if (deadline !== null) {
      const left = deadline - k.clock.realtime();
      if (left <= 0n) return errno(E.ETIMEDOUT);
      until = process.hrtime.bigint() + left;
    }
    w.list.push(w);
    task.waitState = w;
    // A signal ends the wait with ERESTARTSYS (EINTR, or a restart under SA_RESTART), as Linux's wq_sleep.
    return k.waitDeadline(task, why, until, false);
  }

  // ---- notification ----

  /** The registration, if its process still holds the queue open (Linux drops it when the owner closes it, exits or execs). */
  get notification(): Notification | null {
    const n = this.#notify;
    if (n === null) return null;
    const p = n.owner;
    const holds = p.exitStatus === null && p.files.list().some((fd) => {
      const f = p.files.peek(fd);
      return f instanceof MqFile && f.queue === this;
    });
    if (!holds) this.#notify = null;
    return this.#notify;
  }

  /** mq_notify with a sigevent: EBUSY while another registration stands. */
  register(task: Task, how: number, signo: number, value: bigint): void {
    if (this.notification !== null) throw errno(E.EBUSY);
    this.#notify = { owner: task.process, mm: task.process.mm, how, signo, value };
    this.ctimeNs = this.ns.kernel.clock.realtime();
  }

  /** mq_notify(NULL): drops the caller's registration (another process's stays, and that is no error). */
  unregister(task: Task): void {
    if (this.notification?.owner !== task.process) return;
    this.#notify = null;
    this.ctimeNs = this.ns.kernel.clock.realtime();
  }

  /** A message went into an empty queue with no receiver waiting: the registration fires once and goes. */
  #notifyArrival(sender: Task): void {
    const n = this.notification;
    if (n === null || this.#messages.length !== 1) return;
    this.#notify = null;
    if (n.how !== MQ_SIGEV.SIGNAL || n.signo === 0 || n.owner.mm !== n.mm) return;
    const k = this.ns.kernel;
    k.sendSignal(n.owner, { signo: n.signo, code: SI_MESGQ, pid: sender.process.pid, uid: k.identity.uid, value: n.value });
  }

  /** What read() of a queue descriptor gives. */
  statusLine(): string {
    const n = this.notification;
    const line =
      `QSIZE:${String(this.#qsize).padEnd(10)} ` +
      `NOTIFY:${String(n ? n.how : 0).padEnd(5)} ` +
      `SIGNO:${String(n && n.how === MQ_SIGEV.SIGNAL ? n.signo : 0).padEnd(5)} ` +
      `NOTIFY_PID:${String(n ? n.owner.pid : 0).padEnd(6)}\n`;
    return line.slice(0, FILENT_SIZE - 1);
  }
}

/**
 * A message queue descriptor (mq_open): a file of the mqueue filesystem,
 * close-on-exec, pollable (POLLIN with a message queued, POLLOUT with room),
 * whose read() gives the queue's status line.
 */
export class MqFile extends OpenFile {
  constructor(
    readonly queue: MessageQueue,
    flags: number,
  ) {
    super(flags, `/${queue.name}`);
    queue.opens++;
  }

  /** Opened for reading (FMODE_READ): O_RDONLY or O_RDWR. */
  get canReceive(): boolean {
    const acc = this.flags & O_ACCMODE;
    return acc === 0 || acc === O_RDWR;
  }
  /** Opened for writing (FMODE_WRITE): O_WRONLY or O_RDWR. */
  get canSend(): boolean {
    const acc = this.flags & O_ACCMODE;
    return acc === O_WRONLY || acc === O_RDWR;
  }

  override get readable(): boolean {
    return this.canReceive;
  }
  override get writable(): boolean {
    return this.canSend;
  }

  override get seekable(): boolean {
    return true;
  }

  stat(): KStat {
    const q = this.queue;
    const t = q.ctimeNs;
    return {
      dev: MQUEUE_DEV, ino: q.ino, nlink: q.linked ? 1 : 0, mode: S_IFREG | q.mode, uid: q.uid, gid: q.gid,
      rdev: 0, size: FILENT_SIZE, blksize: 4096, blocks: 0, atimeNs: t, mtimeNs: t, ctimeNs: t,
    };
  }

  override poll(): number {
    const q = this.queue;
    return (q.curmsgs > 0 ? POLL.IN | POLL.RDNORM : 0) | (q.curmsgs < q.maxmsg ? POLL.OUT | POLL.WRNORM : 0);
  }

  override get waitQueue(): WaitQueue {
    return this.queue.pollQueue;
  }

  override read(_task: Task, buf: Uint8Array, pos: number | null): IoResult {
    const line = Buffer.from(this.queue.statusLine(), 'latin1');
    const at = pos ?? this.pos;
    const n = Math.max(0, Math.min(buf.length, line.length - at));
    buf.set(line.subarray(at, at + n));
    if (pos === null) this.pos += n;
    return n;
  }

  override release(): void {
    this.queue.closed();
  }
}

