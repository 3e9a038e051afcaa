import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { E, errno, hostErrno, type Errno } from '../errno.js';
import { O_NONBLOCK, POLL, type OpenFile } from '../fs/file.js';
import type { Task } from '../task/task.js';
import type { NetStack } from './stack.js';
import {
  AF, brokenPipe, mayBlock, MSG, SHUT, SOCK, Socket, scatter, totalLength,
  type Cred, type Received, type SendRequest, type SockResult,
} from './socket.js';

/** offsetof(struct sockaddr_un, sun_path), sizeof(struct sockaddr_un). */
const SUN_PATH = 2;
const SIZEOF_SOCKADDR_UN = 110;
/** net.unix.max_dgram_qlen: datagrams a socket queues from senders that are not its peer. */
const MAX_DGRAM_QLEN = 10;
const POLLRDHUP = 0x2000;
/** Temporary names of host listeners (see #listenOnHost). */
let nextTemp = 0;
/** What a host process connected through a host socket shows as its credentials: the overflow ids, pid 0 (not in the guest). */
const HOST_CRED: Cred = { pid: 0, uid: 65534, gid: 65534 };

interface Message {
  data: Uint8Array;
  /** Bytes of a stream message already read. */
  off: number;
  fds: OpenFile[];
  cred: Cred;
  /** The sender's address (datagrams); null when it has none (recvfrom then gives length 0). */
  from: Uint8Array | null;
}

/** An AF_UNIX socket, entirely inside the kernel: queues of messages between guest sockets. */
export class UnixSocket extends Socket {
  state: 'unconnected' | 'listening' | 'connected' = 'unconnected';
  /** struct sockaddr_un bytes this socket is bound to (family + name), or null. */
  addr: Uint8Array | null = null;
  #boundPath: string | null = null;
  /** The namespace the name is in (release() has no task to find it through). */
  #net: NetStack | null = null;
  peer: UnixSocket | null = null;
  readonly queue: Message[] = [];
  queued = 0;
  readonly #backlog: UnixSocket[] = [];
  #maxBacklog = 0;
  rcvShut = false;
  sndShut = false;
  closed = false;
  /** SO_PEERCRED. */
  peerCred: Cred | null = null;
  /** Who called listen() (what connecting clients see as SO_PEERCRED). */
  #listenCred: Cred | null = null;
  /**
   * A stream connected to a socket a host process listens on: the guest's
   * socket has an in-kernel peer like any other, whose queue is written to
   * this Node socket (and whose end ends it); what the host sends lands in
   * the guest socket's queue.
   */
  #host: net.Socket | null = null;
  /** A connect to a host socket under way, settled by the host's answer. */
  #hostConnect: { done: boolean; err: number } | null = null;
  /** A listening pathname socket's host side: host processes connect to its name. */
  #hostServer: net.Server | null = null;

  constructor(type: number, flags: number) {
    super(AF.UNIX, type, 0, flags);
  }

  /** An abstract name's key: Linux hashes the socket type with the name. */
  #key(name: Uint8Array): string {
    return `${this.type}:${hex(name)}`;
  }

  get #connectionBased(): boolean {
    return this.type !== SOCK.DGRAM;
  }

  override get listening(): boolean {
    return this.state === 'listening';
  }

  /** socketpair(2): two sockets connected to each other. */
  static pair(task: Task, type: number, flags: number): [UnixSocket, UnixSocket] {
    const a = new UnixSocket(type, flags);
    const b = new UnixSocket(type, flags);
    a.peer = b;
    b.peer = a;
    a.state = b.state = 'connected';
    a.peerCred = b.peerCred = credOf(task);
    return [a, b];
  }

  sockname(): Uint8Array {
    return this.addr ?? unnamed();
  }

  peername(): Uint8Array | Errno {
    const p = this.peer;
    if (!p || (this.#connectionBased && this.state !== 'connected')) return errno(E.ENOTCONN);
    return p.addr ?? unnamed();
  }

  override bind(task: Task, raw: Uint8Array): SockResult<number> {
    if (raw.length < SUN_PATH || raw.length > SIZEOF_SOCKADDR_UN || family(raw) !== AF.UNIX) return errno(E.EINVAL);
    const net = task.kernel.net;
    // As Linux: an abstract or automatic name is refused to a bound socket first; a path is created first.
    if (raw.length === SUN_PATH || raw[SUN_PATH] === 0) {
      if (this.addr) return errno(E.EINVAL);
      if (raw.length === SUN_PATH) return this.#autobind(task);
      const key = this.#key(raw.subarray(SUN_PATH));
      if (net.abstractNames.has(key)) return errno(E.EADDRINUSE);
      net.abstractNames.set(key, this);
      this.#net = net;
      this.addr = raw.slice();
      return 0;
    }
    const path = pathOf(raw);
    const k = task.kernel;
    const r = k.vfs.resolve(task.process.cwd, path, false, task.process);
    if (r.node) return errno(E.EADDRINUSE);
    if (r.mount?.readOnly) return errno(E.EROFS);
    let ino: bigint;
    try {
      const fd = fs.openSync(r.host, fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_WRONLY, 0o777 & ~task.process.umask);
      ino = fs.fstatSync(fd, { bigint: true }).ino;
      fs.closeSync(fd);
    } catch (err) {
      const e = hostErrno(err);
      return e.errno === E.EEXIST ? errno(E.EADDRINUSE) : e;
    }
    if (this.addr) {
      fs.rmSync(r.host, { force: true });
      return errno(E.EINVAL);
    }
    net.boundPaths.set(r.host, { sock: this, ino });
    this.#net = net;
    this.#boundPath = r.host;
    this.addr = sockaddrUn(Buffer.from(path + '\0', 'utf8'));
    return 0;
  }

  /** bind() with only the family: a unique abstract name of five hex digits, as Linux picks. */
  #autobind(task: Task): number {
    const names = task.kernel.net.abstractNames;
    for (let n = 1; ; n++) {
      const name = Buffer.from('\0' + n.toString(16).padStart(5, '0'), 'latin1');
      const key = this.#key(name);
      if (names.has(key)) continue;
      names.set(key, this);
      this.#net = task.kernel.net;
      this.addr = sockaddrUn(name);
      return 0;
    }
  }

  override listen(task: Task, backlog: number): SockResult<number> {
    if (this.type === SOCK.DGRAM) return errno(E.EOPNOTSUPP);
    if (this.state === 'connected' || !this.addr) return errno(E.EINVAL);
    this.state = 'listening';
    this.#maxBacklog = Math.max(0, Math.min(backlog, 4096));
    this.#listenCred = credOf(task);
    this.#listenOnHost(task.kernel.net);
    this.changed();
    return 0;
  }

  /** The socket bound to `raw`'s name, or why there is none. */
  #find(task: Task, raw: Uint8Array): UnixSocket | Errno {
    if (raw.length < SUN_PATH || raw.length > SIZEOF_SOCKADDR_UN) return errno(E.EINVAL);
    if (family(raw) !== AF.UNIX) return errno(E.EAFNOSUPPORT);
    if (raw.length === SUN_PATH) return errno(E.EINVAL);
    const net = task.kernel.net;
    // Abstract names are per socket type: another type's name is no name.
    if (raw[SUN_PATH] === 0) return net.abstractNames.get(this.#key(raw.subarray(SUN_PATH))) ?? errno(E.ECONNREFUSED);
    const r = task.kernel.vfs.resolve(task.process.cwd, pathOf(raw), true, task.process);
    if (r.node) return errno(E.ECONNREFUSED);
    let ino: bigint;
    try {
      ino = fs.lstatSync(r.host, { bigint: true }).ino;
    } catch (err) {
      return hostErrno(err);
    }
    const bound = net.boundPaths.get(r.host);
    return bound && bound.ino === ino ? bound.sock : errno(E.ECONNREFUSED);
  }

  override connect(task: Task, raw: Uint8Array): SockResult<number> {
    const pending = this.#hostConnect;
    if (pending !== null) {
      if (!pending.done) return this.nonblocking ? errno(E.EALREADY) : this.wait(task, 'unix connect', this.sndTimeoNs);
      this.#hostConnect = null;
      if (pending.err !== 0) {
        this.error = 0;
        return errno(pending.err);
      }
      return 0;
    }
    if (!this.#connectionBased) {
      if (raw.length >= 2 && family(raw) === AF.UNSPEC) {
        this.peer = null;
        this.state = 'unconnected';
        return 0;
      }
      const target = this.#find(task, raw);
      if (!(target instanceof UnixSocket)) return target;
      if (target.type !== this.type) return errno(E.EPROTOTYPE);
      this.peer = target;
      this.state = 'connected';
      this.peerCred = credOf(task);
      return 0;
    }
    if (this.state === 'connected') return errno(E.EISCONN);
    if (this.state === 'listening') return errno(E.EINVAL);
    const target = this.#find(task, raw);
    if (!(target instanceof UnixSocket)) {
      const host = target.errno === E.ECONNREFUSED && this.type === SOCK.STREAM ? hostSocketPath(task, raw) : null;
      return host !== null ? this.#connectHost(task, host, raw) : target;
    }
    if (target.type !== this.type) return errno(E.EPROTOTYPE);
    if (target.state !== 'listening' || target.closed) return errno(E.ECONNREFUSED);
    if (target.#backlog.length > target.#maxBacklog) {
      if (this.nonblocking) return errno(E.EAGAIN);
      return target.wait(task, 'unix connect', this.sndTimeoNs);
    }
    // The server's end exists at once; accept() only hands it out.
    const server = new UnixSocket(this.type, 0);
    server.addr = target.addr;
    server.peer = this;
    server.state = 'connected';
    server.peerCred = credOf(task);
    server.passCred = target.passCred;
    this.peer = server;
    this.state = 'connected';
    this.peerCred = target.#listenCred;
    target.#backlog.push(server);
    target.changed();
    this.changed();
    return 0;
  }

  /** connect() to a socket a host process listens on (a path no guest socket is bound to). */
  #connectHost(task: Task, hostPath: string, raw: Uint8Array): SockResult<number> {
    const stack = task.kernel.net;
    const sock = net.connect({ path: hostPath, allowHalfOpen: true });
    const pending = { done: false, err: 0 };
    this.#hostConnect = pending;
    const proxy = this.#bridge(stack, sock, sockaddrUn(Buffer.from(pathOf(raw) + '\0', 'utf8')), credOf(task), pending);
    sock.once('connect', () => {
      pending.done = true;
      this.peer = proxy;
      this.state = 'connected';
      this.peerCred = HOST_CRED;
      this.changed();
    });
    if (this.nonblocking) return errno(E.EINPROGRESS);
    return this.wait(task, 'unix connect', this.sndTimeoNs);
  }

  /**
   * Makes `sock`, a host connection, this socket's peer: an in-kernel socket
   * (returned) named `peerAddr` whose queue goes to the host, while what
   * the host sends lands in this socket's queue. `pending`: a connect under way.
   */
  #bridge(stack: NetStack, sock: net.Socket, peerAddr: Uint8Array, myCred: Cred, pending: { done: boolean; err: number } | null): UnixSocket {
    stack.track(sock);
    const proxy = new UnixSocket(this.type, 0);
    proxy.addr = peerAddr;
    proxy.#host = sock;
    proxy.peer = this;
    proxy.state = 'connected';
    proxy.peerCred = myCred;
    sock.on('data', (d: Buffer) => {
      this.queue.push({ data: d, off: 0, fds: [], cred: HOST_CRED, from: proxy.addr });
      this.queued += d.length;
      if (this.queued >= this.rcvbuf) sock.pause();
      this.changed();
    });
    sock.on('end', () => {
      this.rcvShut = true;
      proxy.sndShut = true;
      this.changed();
    });
    sock.on('drain', () => proxy.changed());
    sock.on('error', (e) => {
      const err = hostErrno(e).errno;
      if (pending !== null && !pending.done) {
        pending.done = true;
        pending.err = err;
      }
      this.error = err === E.EPIPE ? E.ECONNRESET : err;
      this.changed();
    });
    sock.on('close', () => {
      stack.forget(sock);
      proxy.closed = true;
      if (this.state === 'connected') this.rcvShut = true;
      this.changed();
    });
    return proxy;
  }

  /**
   * listen() on a pathname: host processes may connect too. The name's
   * placeholder file becomes a real socket a Node server listens on; each
   * host connection is a connected socket in the backlog, its peer the host.
   */
  #listenOnHost(stack: NetStack): void {
    const hostPath = this.#boundPath;
    if (hostPath === null || this.type !== SOCK.STREAM || this.#hostServer !== null) return;
    const server = net.createServer({ allowHalfOpen: true });
    this.#hostServer = server;
    stack.track(server);
    server.on('connection', (c) => {
      if (this.closed || this.state !== 'listening' || this.#backlog.length > this.#maxBacklog) {
        c.destroy();
        return;
      }
      const s = new UnixSocket(this.type, 0);
      s.addr = this.addr;
      s.state = 'connected';
      s.peerCred = HOST_CRED;
      s.passCred = this.passCred;
      s.peer = s.#bridge(stack, c, unnamed(), this.#listenCred ?? HOST_CRED, null);
      this.#backlog.push(s);
      this.changed();
    });
    server.on('error', () => {
      // The name stays the guest's alone, as before: host processes cannot connect to it.
      stack.forget(server);
      if (this.#hostServer === server) this.#hostServer = null;
    });
    // Node listens on a temporary name next to the real one, which then takes the socket's place: the
    // placeholder is replaced in one rename, and Node's unlink of its own name at close leaves the socket
    // file there, as Linux does.
    const temp = path.join(path.dirname(hostPath), `.nommu-sock-${process.pid}-${nextTemp++}`);
    server.listen(temp, () => {
      const entry = stack.boundPaths.get(hostPath);
      try {
        // Still this socket's name, not unlinked or bound again meanwhile?
        if (this.closed || entry?.sock !== this || fs.lstatSync(hostPath, { bigint: true }).ino !== entry.ino) throw new Error('gone');
        fs.renameSync(temp, hostPath);
        entry.ino = fs.lstatSync(hostPath, { bigint: true }).ino;
      } catch {
        fs.rmSync(temp, { force: true });
        stack.forget(server);
        server.close();
        if (this.#hostServer === server) this.#hostServer = null;
      }
    });
  }

  /** A host peer's queue goes to its host socket, as much as the host takes; its guest side's end ends it. */
  override changed(): void {
    const sock = this.#host;
    if (sock !== null) {
      while (this.queue.length > 0 && !sock.destroyed && sock.writableLength < this.sndbuf) {
        const m = this.queue.shift()!;
        sock.write(m.data.subarray(m.off));
        this.queued -= m.data.length - m.off;
        for (const f of m.fds) f.put(); // descriptors cannot go to a host process
      }
      if (sock.destroyed) {
        for (const m of this.queue.splice(0)) for (const f of m.fds) f.put();
        this.queued = 0;
      } else if (this.queue.length === 0 && this.rcvShut && !sock.writableEnded) {
        // The guest shut down writing (or closed): the host reads its end; closed, nothing more is read either.
        if (this.sndShut) sock.destroySoon();
        else sock.end();
      }
    }
    super.changed();
  }

  override accept(task: Task, flags: number): SockResult<UnixSocket> {
    if (this.state !== 'listening') return errno(E.EINVAL);
    const next = this.#backlog.shift();
    if (!next) {
      if (this.nonblocking) return errno(E.EAGAIN);
      return this.wait(task, 'accept', this.rcvTimeoNs);
    }
    next.flags = (next.flags & ~O_NONBLOCK) | (flags & O_NONBLOCK);
    this.changed(); // room in the backlog for a waiting connect
    return next;
  }

  override send(task: Task, req: SendRequest): SockResult<number> {
    if (this.type === SOCK.STREAM) return this.#sendStream(task, req);
    return this.#sendDgram(task, req);
  }

  #sendStream(task: Task, req: SendRequest): SockResult<number> {
    if (req.addr) return errno(this.state === 'connected' ? E.EISCONN : E.EOPNOTSUPP);
    const other = this.peer;
    if (this.state !== 'connected' || !other) return errno(E.ENOTCONN);
    if (this.sndShut || other.rcvShut || other.closed) return brokenPipe(task, req.flags);
    if (req.data.length === 0) return 0; // nothing is queued, descriptors included, as Linux
    const room = this.sndbuf - other.queued;
    if (room <= 0) {
      if (!mayBlock(this, req.flags)) return errno(E.EAGAIN);
      return other.wait(task, 'unix send', this.sndTimeoNs);
    }
    const n = Math.min(room, req.data.length);
    other.#enqueue(task, req, req.data.subarray(0, n), this);
    return n;
  }

  #sendDgram(task: Task, req: SendRequest): SockResult<number> {
    // Datagram and seqpacket sends answer EPIPE without SIGPIPE, as Linux's unix_dgram_sendmsg.
    if (this.type === SOCK.SEQPACKET && this.state !== 'connected') return errno(E.ENOTCONN);
    if (this.sndShut) return errno(E.EPIPE);
    let other: UnixSocket | null;
    if (req.addr && this.type === SOCK.DGRAM) {
      const found = this.#find(task, req.addr);
      if (!(found instanceof UnixSocket)) return found;
      if (found.type !== this.type) return errno(E.EPROTOTYPE);
      // A connected datagram socket hears only its peer.
      if (found.peer && found.peer !== this && found.state === 'connected') return errno(E.EPERM);
      other = found;
    } else {
      other = this.peer;
      if (!other) return errno(E.ENOTCONN);
    }
    if (other.closed) {
      if (this.peer === other && this.type === SOCK.DGRAM) {
        this.peer = null;
        this.state = 'unconnected';
      }
      return errno(this.type === SOCK.SEQPACKET ? E.EPIPE : E.ECONNREFUSED);
    }
    if (other.rcvShut) return errno(E.EPIPE);
    if (req.data.length > this.sndbuf - 32) return errno(E.EMSGSIZE);
    const full = other.queued + req.data.length > this.sndbuf ||
      (other.peer !== this && other.queue.length >= MAX_DGRAM_QLEN);
    if (full && other.queue.length > 0) {
      if (!mayBlock(this, req.flags)) return errno(E.EAGAIN);
      return other.wait(task, 'unix send', this.sndTimeoNs);
    }
    other.#enqueue(task, req, req.data, this);
    return req.data.length;
  }

  /** Queues a message from `sender` on this socket; the message takes the request's descriptors. */
  #enqueue(task: Task, req: SendRequest, data: Uint8Array, sender: UnixSocket): void {
    this.queue.push({ data: data.slice(), off: 0, fds: req.fds, cred: req.cred ?? credOf(task), from: sender.addr });
    req.fds = [];
    this.queued += data.length;
    this.changed();
  }

  override recv(task: Task, bufs: readonly Uint8Array[], flags: number): SockResult<Received> {
    if (this.state === 'listening') return errno(E.EINVAL);
    if (this.type === SOCK.STREAM) return this.#recvStream(task, bufs, flags);
    if (this.type === SOCK.SEQPACKET && this.state !== 'connected') return errno(E.ENOTCONN);
    const m = this.queue[0];
    if (!m) {
      if (this.rcvShut) return nothing();
      if (!mayBlock(this, flags)) return errno(E.EAGAIN);
      return this.wait(task, 'unix recv', this.rcvTimeoNs);
    }
    const n = scatter(bufs, m.data);
    const truncated = n < m.data.length;
    const out: Received = {
      n: (flags & MSG.TRUNC) !== 0 ? m.data.length : n,
      addr: m.from,
      fds: [],
      cred: this.passCred ? m.cred : null,
      flags: truncated ? MSG.TRUNC : 0,
    };
    if ((flags & MSG.PEEK) !== 0) {
      out.fds = m.fds.map((f) => f.get());
      return out;
    }
    this.queue.shift();
    this.queued -= m.data.length;
    out.fds = m.fds;
    this.#freed();
    return out;
  }

  #recvStream(task: Task, bufs: readonly Uint8Array[], flags: number): SockResult<Received> {
    if (this.state !== 'connected') return errno(E.EINVAL);
    const want = totalLength(bufs);
    if (want === 0) return nothing();
    if (this.queue.length === 0) {
      if (this.error !== 0) {
        const e = this.error;
        this.error = 0;
        return errno(e);
      }
      if (this.rcvShut) return nothing();
      if (!mayBlock(this, flags)) return errno(E.EAGAIN);
      return this.wait(task, 'unix recv', this.rcvTimeoNs);
    }
    // MSG_WAITALL: consume only once the whole request can be met (or no more is coming).
    if ((flags & MSG.WAITALL) !== 0 && (flags & MSG.PEEK) === 0 && this.queued < want && !this.rcvShut && mayBlock(this, flags)) {
      return this.wait(task, 'unix recv', this.rcvTimeoNs);
    }
    const peek = (flags & MSG.PEEK) !== 0;
    const out: Received = { n: 0, addr: null, fds: [], cred: null, flags: 0 };
    const cred = this.queue[0]!.cred;
    let i = 0;
    let b = 0;
    let bOff = 0;
    while (i < this.queue.length) {
      const m = this.queue[i]!;
      // Descriptors and credentials are never merged across messages.
      if (out.n > 0 && (m.fds.length > 0 || !sameCred(m.cred, cred))) break;
      let off = m.off;
      while (off < m.data.length && b < bufs.length) {
        const buf = bufs[b]!;
        const take = Math.min(buf.length - bOff, m.data.length - off);
        buf.set(m.data.subarray(off, off + take), bOff);
        off += take;
        bOff += take;
        out.n += take;
        if (bOff === buf.length) {
          b++;
          bOff = 0;
        }
      }
      if (m.fds.length > 0) {
        out.fds = peek ? m.fds.map((f) => f.get()) : m.fds;
        if (!peek) m.fds = [];
      }
      if (!peek) {
        this.queued -= off - m.off;
        m.off = off;
      }
      if (off < m.data.length) break;
      if (peek) i++;
      else this.queue.shift();
      if (out.fds.length > 0) break;
    }
    if (this.passCred) out.cred = cred;
    if (!peek) this.#freed();
    return out;
  }

  /** Room was made: a sender waiting for it may go on (a host peer reads again). */
  #freed(): void {
    this.changed();
    const p = this.peer;
    if (p) {
      if (p.#host?.isPaused() && this.queued < this.rcvbuf) p.#host.resume();
      p.changed();
    }
  }

  override shutdown(_task: Task, how: number): number | Errno {
    if (how < SHUT.RD || how > SHUT.RDWR) return errno(E.EINVAL);
    if (this.#connectionBased && this.state !== 'connected') return errno(E.ENOTCONN);
    const rd = how !== SHUT.WR;
    const wr = how !== SHUT.RD;
    if (rd) this.rcvShut = true;
    if (wr) this.sndShut = true;
    const p = this.peer;
    if (p && this.#connectionBased) {
      if (rd) p.sndShut = true;
      if (wr) p.rcvShut = true;
      p.changed();
    }
    this.changed();
    return 0;
  }

  pending(): number {
    if (this.type !== SOCK.DGRAM) return this.queued;
    return this.queue[0]?.data.length ?? 0;
  }

  override poll(): number {
    let ev = 0;
    if (this.error !== 0) ev |= POLL.ERR;
    if (this.#hostConnect !== null && !this.#hostConnect.done) return ev; // connecting to a host socket
    if (this.state === 'listening') return ev | (this.#backlog.length > 0 ? POLL.IN : 0);
    if (this.queue.length > 0) ev |= POLL.IN;
    if (this.rcvShut) ev |= POLL.IN | POLLRDHUP;
    if (this.rcvShut && this.sndShut) ev |= POLL.HUP;
    if (this.#connectionBased) {
      if (this.state === 'unconnected') ev |= POLL.HUP;
      const p = this.peer;
      if (this.state === 'connected' && (this.sndShut || !p || p.closed || p.queued < this.sndbuf)) ev |= POLL.OUT;
    } else {
      const p = this.peer;
      if (!p || p.closed || p.queued < this.sndbuf) ev |= POLL.OUT;
    }
    return ev;
  }

  override release(): void {
    this.closed = true;
    const server = this.#hostServer;
    if (server !== null) {
      this.#hostServer = null;
      this.#net?.forget(server);
      server.close();
    }
    const net = this.#net;
    if (this.addr && this.addr.length > SUN_PATH && this.addr[SUN_PATH] === 0) net?.abstractNames.delete(this.#key(this.addr.subarray(SUN_PATH)));
    if (this.#boundPath !== null) {
      const b = net?.boundPaths.get(this.#boundPath);
      if (b?.sock === this) net!.boundPaths.delete(this.#boundPath);
    }
    // Connections nobody accepted end with the listener.
    for (const s of this.#backlog.splice(0)) s.put();
    const p = this.peer;
    if (p && this.#connectionBased) {
      p.rcvShut = p.sndShut = true;
      if (this.queue.length > 0) p.error = E.ECONNRESET;
      p.changed();
    }
    this.peer = null;
    for (const m of this.queue.splice(0)) for (const f of m.fds) f.put();
    this.queued = 0;
    this.changed();
  }
}

/**
 * The host path of a pathname address if a host process's socket is there
 * (not a guest socket's placeholder): a connect() there reaches the host.
 */
function hostSocketPath(task: Task, raw: Uint8Array): string | null {
  if (raw.length <= SUN_PATH || raw[SUN_PATH] === 0) return null;
  const r = task.kernel.vfs.resolve(task.process.cwd, pathOf(raw), true, task.process);
  if (r.node) return null;
  try {
    return fs.statSync(r.host).isSocket() && !task.kernel.net.boundPaths.has(r.host) ? r.host : null;
  } catch {
    return null;
  }
}

function credOf(task: Task): Cred {
  return { pid: task.process.pid, uid: task.kernel.identity.euid, gid: task.kernel.identity.egid };
}

function sameCred(a: Cred, b: Cred): boolean {
  return a.pid === b.pid && a.uid === b.uid && a.gid === b.gid;
}

function nothing(): Received {
  return { n: 0, addr: null, fds: [], cred: null, flags: 0 };
}

function family(raw: Uint8Array): number {
  return raw[0]! | (raw[1]! << 8);
}

function hex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.length).toString('hex');
}

/** The path of a pathname address: sun_path up to its first NUL. */
function pathOf(raw: Uint8Array): string {
  const p = raw.subarray(SUN_PATH);
  const nul = p.indexOf(0);
  return Buffer.from(p.subarray(0, nul < 0 ? p.length : nul)).toString('utf8');
}

function sockaddrUn(name: Uint8Array): Uint8Array {
  const out = new Uint8Array(SUN_PATH + name.length);
  out[0] = AF.UNIX;
  out.set(name, SUN_PATH);
  return out;
}

/** An unbound AF_UNIX socket's name: the family alone. */
function unnamed(): Uint8Array {
  return Uint8Array.of(AF.UNIX, 0);
}
