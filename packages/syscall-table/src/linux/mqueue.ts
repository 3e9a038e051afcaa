/**
 * POSIX message queues: mq_open, mq_unlink, mq_timedsend, mq_timedreceive,
 * mq_notify, mq_getsetattr. The queues live in the kernel's namespace
 * (kernel/fs/mqueue.ts); a queue descriptor is a file descriptor (poll,
 * select, epoll, dup, fork, read() of its status line).
 */
import {
  BLOCK,
  E,
  Errno,
  errno,
  fcntl,
  MQ_PRIO_MAX,
  MQ_SIGEV,
  MessageQueue,
  MqFile,
  mqNamespace,
  SIZEOF_MQ_ATTR,
  Socket,
  type MqMessage,
  type SyscallArgs,
  type SyscallResult,
  type Task,
} from '@nommu/kernel';
import { partial, supported, type Family } from './define.js';
import { readTimespec } from './timespec.js';

/** Linux's NAME_MAX: a longer queue name is ENAMETOOLONG. */
const NAME_MAX = 255;
/** sizeof(struct sigevent), and its fields mq_notify reads. */
const SIZEOF_SIGEVENT = 64;
const SEV = { VALUE: 0, SIGNO: 8, NOTIFY: 12 } as const;
/** The cookie SIGEV_THREAD passes to the netlink socket (NOTIFY_COOKIE_LEN). */
const NOTIFY_COOKIE_LEN = 32;
/** Signals valid_signal() takes: 0 to _NSIG. */
const NSIG = 64;

/**
 * The queue name as the syscall takes it (libc strips the leading slash):
 * getname's rules (EFAULT, ENAMETOOLONG at PATH_MAX, ENOENT when empty), then
 * the lookup's in the mqueue root (EACCES for ".", ".." and a name with a
 * slash, ENAMETOOLONG past NAME_MAX). Bytes are kept as latin1 characters.
 */
function queueName(task: Task, addr: number): string {
  const bytes = task.kernel.mem.cstringBytes(addr);
  if (bytes.length === 0) throw errno(E.ENOENT);
  const name = Buffer.from(bytes).toString('latin1');
  if (name === '.' || name === '..' || name.includes('/')) throw errno(E.EACCES);
  if (bytes.length > NAME_MAX) throw errno(E.ENAMETOOLONG);
  return name;
}

/** The queue a descriptor is; EBADF for any other file. */
function mqFile(task: Task, fd: number): MqFile {
  const f = task.process.files.get(fd);
  if (!(f instanceof MqFile)) throw errno(E.EBADF);
  return f;
}

/** An optional absolute CLOCK_REALTIME timeout: read and checked (EFAULT, EINVAL) at entry, as Linux's prepare_timeout. */
function deadlineOf(task: Task, addr: number): bigint | null {
  return addr === 0 ? null : readTimespec(task, addr);
}

/** Is a descriptor free below the table's limit (mq_open takes one before it looks the name up)? */
function freeDescriptor(task: Task): boolean {
  const files = task.process.files;
  return files.list().filter((fd) => fd < files.limit).length < files.limit;
}

function mqOpen(task: Task, a: SyscallArgs): SyscallResult {
  const k = task.kernel;
  const mem = k.mem;
  const oflag = a.int(1);
  const mode = a.uint(2) & 0xffff;
  const attrAddr = a.ptr(3);
  let attr: { maxmsg: bigint; msgsize: bigint } | null = null;
  if (attrAddr !== 0) {
    if (!mem.ok(attrAddr, SIZEOF_MQ_ATTR)) throw errno(E.EFAULT);
    attr = { maxmsg: mem.i64(attrAddr + 8), msgsize: mem.i64(attrAddr + 16) };
  }
  const name = queueName(task, a.ptr(0));
  if (!freeDescriptor(task)) throw errno(E.EMFILE);
  const ns = mqNamespace(k);
  let q = ns.names.get(name);
  if (q === undefined) {
    if ((oflag & fcntl.O_CREAT) === 0) throw errno(E.ENOENT);
    q = ns.create(task, name, mode & ~task.process.umask & 0o7777, attr);
  } else {
    if ((oflag & (fcntl.O_CREAT | fcntl.O_EXCL)) === (fcntl.O_CREAT | fcntl.O_EXCL)) throw errno(E.EEXIST);
    const acc = oflag & fcntl.O_ACCMODE;
    if (acc === fcntl.O_ACCMODE) throw errno(E.EINVAL);
    if (!q.permits([4, 2, 6][acc]!)) throw errno(E.EACCES);
  }
  const flags = oflag & ~(fcntl.O_CREAT | fcntl.O_EXCL | fcntl.O_NOCTTY | fcntl.O_TRUNC | fcntl.O_CLOEXEC);
  // A queue descriptor is always close-on-exec.
  return task.process.files.install(new MqFile(q, flags), true);
}

/** mq_unlink: the name goes; the queue lives on while open. The mqueue root is sticky: only the owner (or root) may remove a queue. */
function mqUnlink(task: Task, a: SyscallArgs): SyscallResult {
  const k = task.kernel;
  const name = queueName(task, a.ptr(0));
  const q = mqNamespace(k).names.get(name);
  if (q === undefined) throw errno(E.ENOENT);
  const { euid } = k.identity;
  if (euid !== 0 && euid !== q.uid) throw errno(E.EPERM);
  q.unlink();
  return 0;
}

function mqTimedsend(task: Task, a: SyscallArgs): SyscallResult {
  // Run again after parking: a receiver (or room) completed it.
  if (MessageQueue.resumed(task)) return 0;
  const deadline = deadlineOf(task, a.ptr(4));
  const prio = a.uint(3);
  if (prio >= MQ_PRIO_MAX) throw errno(E.EINVAL);
  const f = mqFile(task, a.int(0));
  if (!f.canSend) throw errno(E.EBADF);
  const len = a.u64(2);
  if (len > BigInt(f.queue.msgsize)) throw errno(E.EMSGSIZE);
  const data = task.kernel.mem.copyIn(a.ptr(1), Number(len));
  return f.queue.send(task, f, prio, data, deadline);
}

/** Hands a received message to the caller: its priority, then its bytes (EFAULT after the message left the queue, as Linux). */
function deliver(task: Task, a: SyscallArgs, m: MqMessage): number {
  const mem = task.kernel.mem;
  const prioAddr = a.ptr(3);
  if (prioAddr !== 0) mem.setU32(prioAddr, m.prio);
  mem.copyOut(a.ptr(1), m.data);
  return m.data.length;
}

function mqTimedreceive(task: Task, a: SyscallArgs): SyscallResult {
  const resumed = MessageQueue.resumed(task);
  if (resumed) return deliver(task, a, resumed.msg!);
  const deadline = deadlineOf(task, a.ptr(4));
  const f = mqFile(task, a.int(0));
  if (!f.canReceive) throw errno(E.EBADF);
  if (a.u64(2) < BigInt(f.queue.msgsize)) throw errno(E.EMSGSIZE);
  const r = f.queue.receive(task, f, deadline);
  if (r === BLOCK || r instanceof Errno) return r;
  return deliver(task, a, r);
}

/**
 * mq_notify: SIGEV_SIGNAL (signal 0 registers but sends nothing) and
 * SIGEV_NONE register the caller's process; NULL drops its registration.
 * SIGEV_THREAD needs a netlink socket, which the socket layer does not have.
 */
function mqNotify(task: Task, a: SyscallArgs): SyscallResult {
  const mem = task.kernel.mem;
  const sev = a.ptr(1);
  let how = -1;
  let signo = 0;
  let value = 0n;
  if (sev !== 0) {
    if (!mem.ok(sev, SIZEOF_SIGEVENT)) throw errno(E.EFAULT);
    how = mem.i32(sev + SEV.NOTIFY);
    signo = mem.i32(sev + SEV.SIGNO);
    value = mem.u64(sev + SEV.VALUE);
    if (how !== MQ_SIGEV.NONE && how !== MQ_SIGEV.SIGNAL && how !== MQ_SIGEV.THREAD) throw errno(E.EINVAL);
    if (how === MQ_SIGEV.SIGNAL && (signo < 0 || signo > NSIG)) throw errno(E.EINVAL);
    if (how === MQ_SIGEV.THREAD) {
      // The cookie, then the socket named by sigev_signo: it must be a netlink socket, and there are none.
      if (!mem.ok(Number(value), NOTIFY_COOKIE_LEN)) throw errno(E.EFAULT);
      const sock = task.process.files.get(signo);
      throw errno(sock instanceof Socket ? E.EINVAL : E.ENOTSOCK);
    }
  }
  const q = mqFile(task, a.int(0)).queue;
  if (sev === 0) q.unregister(task);
  else q.register(task, how, signo, value);
  return 0;
}

/** mq_getsetattr: mq_flags (only O_NONBLOCK, of this description) may change; the rest is the queue's. */
function mqGetsetattr(task: Task, a: SyscallArgs): SyscallResult {
  const mem = task.kernel.mem;
  const newAddr = a.ptr(1);
  const oldAddr = a.ptr(2);
  let newFlags: bigint | null = null;
  if (newAddr !== 0) {
    if (!mem.ok(newAddr, SIZEOF_MQ_ATTR)) throw errno(E.EFAULT);
    newFlags = mem.i64(newAddr);
    if ((newFlags & ~BigInt(fcntl.O_NONBLOCK)) !== 0n) throw errno(E.EINVAL);
  }
  const f = mqFile(task, a.int(0));
  const q = f.queue;
  const old = [BigInt(f.flags & fcntl.O_NONBLOCK), BigInt(q.maxmsg), BigInt(q.msgsize), BigInt(q.curmsgs)];
  if (newFlags !== null) {
    f.flags = (f.flags & ~fcntl.O_NONBLOCK) | Number(newFlags);
    q.ctimeNs = task.kernel.clock.realtime();
  }
  if (oldAddr !== 0) {
    if (!mem.ok(oldAddr, SIZEOF_MQ_ATTR)) throw errno(E.EFAULT);
    mem.fill(oldAddr, SIZEOF_MQ_ATTR);
    old.forEach((v, i) => mem.setI64(oldAddr + i * 8, v));
  }
  return 0;
}

export const mqueueFamily: Family = {
  mq_open: partial('queues live in the kernel: there is no mqueue filesystem to mount or list (/dev/mqueue) and no /proc/sys/fs/mqueue tunables; limits are the Linux defaults (msg_max 10, msgsize_max 8192, queues_max 256; root, which holds every capability, up to 65536 messages of 16 MiB and any number of queues); RLIMIT_MSGQUEUE counts the bytes of every queue of the one guest identity', mqOpen),
  mq_unlink: supported(mqUnlink),
  mq_timedsend: supported(mqTimedsend),
  mq_timedreceive: supported(mqTimedreceive),
  mq_notify: partial('SIGEV_SIGNAL and SIGEV_NONE; SIGEV_THREAD needs a netlink socket, which the socket layer lacks: the raw call answers EINVAL for any socket (ENOTSOCK otherwise), and libc fails earlier at socket(AF_NETLINK) (glibc reports ENOSYS, musl EAFNOSUPPORT). A registration ends when its process exits, execs or closes its last descriptor of the queue (Linux: any of them)', mqNotify),
  mq_getsetattr: supported(mqGetsetattr),
};
