import { E, errno, type Errno } from '../errno.js';
import { O_NONBLOCK, OpenFile, type IoResult } from '../fs/file.js';
import { S_IFSOCK, syntheticStat, type KStat } from '../fs/stat.js';
import { WaitQueue } from '../fs/wait.js';
import { raiseSigpipe } from '../signals.js';
import { BLOCK } from '../syscalls.js';
import type { Task, WaitState } from '../task/task.js';

export const AF = { UNSPEC: 0, UNIX: 1, INET: 2, INET6: 10 } as const;
export const SOCK = { STREAM: 1, DGRAM: 2, RAW: 3, SEQPACKET: 5, TYPE_MASK: 0xf, NONBLOCK: 0o4000, CLOEXEC: 0o2000000 } as const;
export const MSG = {
  OOB: 0x1, PEEK: 0x2, DONTROUTE: 0x4, CTRUNC: 0x8, TRUNC: 0x20, DONTWAIT: 0x40, EOR: 0x80, WAITALL: 0x100,
  NOSIGNAL: 0x4000, CMSG_CLOEXEC: 0x40000000,
} as const;
export const SHUT = { RD: 0, WR: 1, RDWR: 2 } as const;
export const SOL = { SOCKET: 1, IP: 0, TCP: 6, UDP: 17, IPV6: 41 } as const;
export const SO = {
  DEBUG: 1, REUSEADDR: 2, TYPE: 3, ERROR: 4, DONTROUTE: 5, BROADCAST: 6, SNDBUF: 7, RCVBUF: 8, KEEPALIVE: 9,
  OOBINLINE: 10, LINGER: 13, REUSEPORT: 15, PASSCRED: 16, PEERCRED: 17, RCVLOWAT: 18, SNDLOWAT: 19, RCVTIMEO: 20,
  SNDTIMEO: 21, ACCEPTCONN: 30, PROTOCOL: 38, DOMAIN: 39,
} as const;
export const SCM = { RIGHTS: 1, CREDENTIALS: 2 } as const;

/** net.core.wmem_default / rmem_default, and the *_max a setsockopt is clamped to. */
export const DEFAULT_BUF = 212992;
const BUF_MAX = 212992;
const SOCK_MIN_SNDBUF = 4608;
const SOCK_MIN_RCVBUF = 2304;

/** struct ucred. */
export interface Cred {
  pid: number;
  uid: number;
  gid: number;
}

/** One send: the bytes (already copied from the guest) and what goes with them. */
export interface SendRequest {
  data: Uint8Array;
  flags: number;
  /** struct sockaddr bytes as the guest gave them (sendto, msg_name), or null. */
  addr: Uint8Array | null;
  /** SCM_RIGHTS: references the socket keeps only when the send succeeds. */
  fds: OpenFile[];
  /** SCM_CREDENTIALS as the sender stated them. */
  cred: Cred | null;
}

export interface Received {
  /** Bytes placed into the buffers. */
  n: number;
  /** The sender's address (datagram sockets), as struct sockaddr bytes. */
  addr: Uint8Array | null;
  /** Descriptions passed with SCM_RIGHTS; the receiver installs them (it owns these references). */
  fds: OpenFile[];
  /** The sender's credentials, when the receiver asked for them (SO_PASSCRED). */
  cred: Cred | null;
  /** msg_flags: MSG_TRUNC, MSG_CTRUNC... */
  flags: number;
}

export type SockResult<T> = T | Errno | typeof BLOCK;

let nextSocketInode = 1;

/** Copies `src` into consecutive buffers; returns the count copied. */
export function scatter(bufs: readonly Uint8Array[], src: Uint8Array): number {
  let n = 0;
  for (const b of bufs) {
    if (n >= src.length) break;
    const take = Math.min(b.length, src.length - n);
    b.set(src.subarray(n, n + take));
    n += take;
  }
  return n;
}

export function totalLength(bufs: readonly Uint8Array[]): number {
  return bufs.reduce((s, b) => s + b.length, 0);
}

/**
 * A socket: an open file with the socket operations. Every kind answers what
 * Linux answers for what it lacks. Readiness follows the file interface:
 * poll() says what is ready now, watch() wakes a parked task at the next change.
 */
export abstract class Socket extends OpenFile {
  readonly inode = nextSocketInode++;
  /** SO_ERROR: a pending asynchronous error, read once. */
  error = 0;
  sndbuf = DEFAULT_BUF;
  rcvbuf = DEFAULT_BUF;
  reuseAddr = false;
  keepAlive = false;
  passCred = false;
  /** SO_RCVTIMEO / SO_SNDTIMEO in ns (0: wait forever). */
  rcvTimeoNs = 0n;
  sndTimeoNs = 0n;
  readonly #queue: WaitQueue;

  constructor(
    readonly family: number,
    readonly type: number,
    readonly protocol: number,
    flags: number,
    /** Do host events (not only guest tasks) change this socket? */
    hostBacked = false,
  ) {
    // The field initialiser below takes this same number.
    super(2 /* O_RDWR */ | (flags & O_NONBLOCK), `socket:[${nextSocketInode}]`);
    this.#queue = new WaitQueue(hostBacked);
  }

  get nonblocking(): boolean {
    return (this.flags & O_NONBLOCK) !== 0;
  }

  stat(): KStat {
    return { ...syntheticStat(S_IFSOCK | 0o777, 0, this.inode), dev: 8 };
  }

  bind(_task: Task, _addr: Uint8Array): SockResult<number> {
    return errno(E.EOPNOTSUPP);
  }
  listen(_task: Task, _backlog: number): SockResult<number> {
    return errno(E.EOPNOTSUPP);
  }
  accept(_task: Task, _flags: number): SockResult<Socket> {
    return errno(E.EOPNOTSUPP);
  }
  connect(_task: Task, _addr: Uint8Array): SockResult<number> {
    return errno(E.EOPNOTSUPP);
  }
  abstract sockname(): Uint8Array;
  abstract peername(): Uint8Array | Errno;
  abstract send(task: Task, req: SendRequest): SockResult<number>;
  abstract recv(task: Task, bufs: readonly Uint8Array[], flags: number): SockResult<Received>;
  abstract shutdown(task: Task, how: number): number | Errno;
  /** Bytes a read would return now (FIONREAD). */
  abstract pending(): number;

  /** SO_LINGER: on or off, and the seconds last set while on (Linux keeps them when it is turned off). */
  lingerOn = false;
  lingerSecs = 0;

  /** Options of a protocol level; SOL_SOCKET's common ones are answered here. */
  setsockopt(level: number, name: number, val: Uint8Array): number | Errno {
    if (level !== SOL.SOCKET) return errno(E.ENOPROTOOPT);
    const int = optInt(val);
    if (int === null) return errno(E.EINVAL);
    switch (name) {
      case SO.REUSEADDR: this.reuseAddr = int !== 0; return 0;
      case SO.KEEPALIVE: this.keepAlive = int !== 0; this.applyOptions(); return 0;
      case SO.PASSCRED: this.passCred = int !== 0; return 0;
      case SO.SNDBUF: this.sndbuf = Math.max(Math.min(Math.max(int, 0), BUF_MAX) * 2, SOCK_MIN_SNDBUF); this.changed(); return 0;
      case SO.RCVBUF: this.rcvbuf = Math.max(Math.min(Math.max(int, 0), BUF_MAX) * 2, SOCK_MIN_RCVBUF); this.changed(); return 0;
      case SO.RCVTIMEO:
      case SO.SNDTIMEO: {
        if (val.length < 16) return errno(E.EINVAL);
        const dv = new DataView(val.buffer, val.byteOffset, 16);
        const sec = dv.getBigInt64(0, true);
        const usec = dv.getBigInt64(8, true);
        if (usec < 0n || usec >= 1_000_000n) return errno(E.EDOM);
        const ns = sec < 0n ? 0n : sec * 1_000_000_000n + usec * 1000n;
        if (name === SO.RCVTIMEO) this.rcvTimeoNs = ns;
        else this.sndTimeoNs = ns;
        return 0;
      }
      case SO.LINGER: {
        // struct linger { int l_onoff, l_linger }: kept and read back (a close still ends the connection gracefully).
        if (val.length < 8) return errno(E.EINVAL);
        const dv = new DataView(val.buffer, val.byteOffset, 8);
        this.lingerOn = dv.getInt32(0, true) !== 0;
        if (this.lingerOn) this.lingerSecs = dv.getUint32(4, true);
        return 0;
      }
      case SO.DEBUG: case SO.DONTROUTE: case SO.BROADCAST: case SO.OOBINLINE: case SO.RCVLOWAT: case SO.REUSEPORT:
        return 0;
      default:
        return errno(E.ENOPROTOOPT);
    }
  }

  getsockopt(level: number, name: number): Uint8Array | Errno {
    if (level !== SOL.SOCKET) return errno(E.ENOPROTOOPT);
    switch (name) {
      case SO.TYPE: return optOf(this.type);
      case SO.DOMAIN: return optOf(this.family);
      case SO.PROTOCOL: return optOf(this.protocol);
      case SO.ERROR: {
        const e = this.error;
        this.error = 0;
        return optOf(e);
      }
      case SO.REUSEADDR: return optOf(this.reuseAddr ? 1 : 0);
      case SO.KEEPALIVE: return optOf(this.keepAlive ? 1 : 0);
      case SO.PASSCRED: return optOf(this.passCred ? 1 : 0);
      case SO.SNDBUF: return optOf(this.sndbuf);
      case SO.RCVBUF: return optOf(this.rcvbuf);
      case SO.ACCEPTCONN: return optOf(this.listening ? 1 : 0);
      case SO.RCVLOWAT: return optOf(1);
      case SO.SNDLOWAT: return optOf(1);
      case SO.LINGER: {
        const out = new Uint8Array(8);
        const dv = new DataView(out.buffer);
        dv.setInt32(0, this.lingerOn ? 1 : 0, true);
        dv.setInt32(4, Math.min(this.lingerSecs, 0x7fffffff), true);
        return out;
      }
      case SO.RCVTIMEO: return timevalOf(this.rcvTimeoNs);
      case SO.SNDTIMEO: return timevalOf(this.sndTimeoNs);
      default: return errno(E.ENOPROTOOPT);
    }
  }

  get listening(): boolean {
    return false;
  }

  /** Pushes option values to a host socket, if there is one. */
  protected applyOptions(): void {}

  override read(task: Task, buf: Uint8Array): IoResult {
    return this.readv(task, [buf]);
  }

  /** readv(2): one receive into every buffer (one datagram, not one per buffer). */
  readv(task: Task, bufs: readonly Uint8Array[]): IoResult {
    const r = this.recv(task, bufs, 0);
    if (r === BLOCK || !('n' in r)) return r;
    for (const f of r.fds) f.put(); // read(2) has nowhere to put passed descriptors: they are discarded
    return r.n;
  }

  override write(task: Task, data: Uint8Array): IoResult {
    return this.send(task, { data, flags: 0, addr: null, fds: [], cred: null });
  }

  override ioctl(task: Task, request: number, argp: number): number | Errno {
    if (request === FIONREAD) {
      task.kernel.mem.setI32(argp, this.pending());
      return 0;
    }
    return errno(E.ENOTTY);
  }

  override get waitQueue(): WaitQueue {
    return this.#queue;
  }

  /**
   * Parks `task` until this socket changes; with a SO_RCVTIMEO/SO_SNDTIMEO
   * `timeoutNs`, EAGAIN once that much time has passed since the call began,
   * and a handler ends the call with EINTR even with SA_RESTART (Linux's
   * sock_intr_errno: only an untimed wait restarts).
   */
  wait(task: Task, reason: string, timeoutNs = 0n): typeof BLOCK | Errno {
    const k = task.kernel;
    let deadline: bigint | null = null;
    if (timeoutNs > 0n) {
      const st = task.waitState as SocketWait | null;
      deadline = st?.socketDeadline ?? process.hrtime.bigint() + timeoutNs;
      if (process.hrtime.bigint() >= deadline) return errno(E.EAGAIN);
      const wait: SocketWait = { socketDeadline: deadline };
      task.waitState = wait;
    }
    k.waitDeadline(task, reason, deadline, this.#queue.host);
    if (deadline !== null) task.interruptCode = E.EINTR;
    this.#queue.add(task);
    return BLOCK;
  }

  /** Readiness may have changed: every waiter runs its syscall again. */
  changed(): void {
    this.#queue.wake();
  }
}

/** A socket wait's deadline, kept across the re-runs of its syscall. */
interface SocketWait extends WaitState {
  socketDeadline: bigint;
}

const FIONREAD = 0x541b;

/** An int option value (a shorter buffer is EINVAL, as Linux's copy of sizeof(int)). */
export function optInt(val: Uint8Array): number | null {
  if (val.length < 4) return null;
  return new DataView(val.buffer, val.byteOffset, 4).getInt32(0, true);
}

export function optOf(v: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setInt32(0, v, true);
  return b;
}

function timevalOf(ns: bigint): Uint8Array {
  const b = new Uint8Array(16);
  const dv = new DataView(b.buffer);
  dv.setBigInt64(0, ns / 1_000_000_000n, true);
  dv.setBigInt64(8, (ns % 1_000_000_000n) / 1000n, true);
  return b;
}

/** The SIGPIPE a write to a closed stream raises unless MSG_NOSIGNAL. */
export function brokenPipe(task: Task, flags: number): Errno {
  if ((flags & MSG.NOSIGNAL) === 0) raiseSigpipe(task);
  return errno(E.EPIPE);
}

/** Should this call wait, or answer EAGAIN? */
export function mayBlock(sock: Socket, flags: number): boolean {
  return !sock.nonblocking && (flags & MSG.DONTWAIT) === 0;
}
