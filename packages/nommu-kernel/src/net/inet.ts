import * as dgram from 'node:dgram';
import * as net from 'node:net';
import { E, errno, hostErrno, type Errno } from '../errno.js';
import { O_NONBLOCK, POLL } from '../fs/file.js';
import type { Task } from '../task/task.js';
import type { NetStack } from './stack.js';
import {
  AF, brokenPipe, mayBlock, MSG, optInt, optOf, SHUT, SOCK, Socket, SOL, scatter, totalLength,
  type Received, type SendRequest, type SockResult,
} from './socket.js';

export const IPPROTO = { IP: 0, TCP: 6, UDP: 17, IPV6: 41 } as const;
const TCP_OPT = { NODELAY: 1, MAXSEG: 2, KEEPIDLE: 4, KEEPINTVL: 5, KEEPCNT: 6 } as const;
const IP_OPT = { TOS: 1, TTL: 2 } as const;
const IPV6_V6ONLY = 26;
const POLLRDHUP = 0x2000;

/** An IP endpoint as Node names it. */
export interface Endpoint {
  host: string;
  port: number;
}

// ---- struct sockaddr_in / sockaddr_in6 ----

const SIZEOF_SOCKADDR_IN = 16;
const SIZEOF_SOCKADDR_IN6 = 28;
/** The shortest sockaddr_in6 Linux takes (RFC 2133's, without sin6_scope_id). */
const SIN6_LEN_RFC2133 = 24;

/** Reads the guest's address for a socket of `family`; AF_UNSPEC gives null. */
export function parseInetAddr(family: number, raw: Uint8Array): Endpoint | null | Errno {
  if (raw.length < 2) return errno(E.EINVAL);
  const fam = raw[0]! | (raw[1]! << 8);
  if (fam === AF.UNSPEC) return null;
  const port = (raw[2]! << 8) | raw[3]!;
  if (family === AF.INET) {
    if (raw.length < SIZEOF_SOCKADDR_IN) return errno(E.EINVAL);
    if (fam !== AF.INET) return errno(E.EAFNOSUPPORT);
    return { host: Array.from(raw.subarray(4, 8)).join('.'), port };
  }
  if (raw.length < SIN6_LEN_RFC2133) return errno(E.EINVAL);
  if (fam !== AF.INET6) return errno(E.EAFNOSUPPORT);
  return { host: formatIpv6(raw.subarray(8, 24)), port };
}

/** struct sockaddr_in(6) bytes for a Node address string and port. */
export function inetAddr(family: number, host: string, port: number): Uint8Array {
  if (family === AF.INET) {
    const out = new Uint8Array(SIZEOF_SOCKADDR_IN);
    out[0] = AF.INET;
    out[2] = port >> 8;
    out[3] = port & 0xff;
    const v4 = host.startsWith('::ffff:') ? host.slice(7) : host;
    if (net.isIPv4(v4)) out.set(v4.split('.').map(Number), 4);
    return out;
  }
  const out = new Uint8Array(SIZEOF_SOCKADDR_IN6);
  out[0] = AF.INET6;
  out[2] = port >> 8;
  out[3] = port & 0xff;
  out.set(parseIpv6(net.isIPv4(host) ? `::ffff:${host}` : host), 8);
  return out;
}

function formatIpv6(b: Uint8Array): string {
  const words: string[] = [];
  for (let i = 0; i < 16; i += 2) words.push(((b[i]! << 8) | b[i + 1]!).toString(16));
  return words.join(':');
}

function parseIpv6(s: string): Uint8Array {
  const out = new Uint8Array(16);
  const host = s.split('%')[0]!;
  const [head, tail] = host.includes('::') ? host.split('::') as [string, string] : [host, null];
  const words = (part: string): number[] => {
    if (part === '') return [];
    return part.split(':').flatMap((w) => {
      if (w.includes('.')) {
        const q = w.split('.').map(Number);
        return [(q[0]! << 8) | q[1]!, (q[2]! << 8) | q[3]!];
      }
      return [parseInt(w, 16) || 0];
    });
  };
  const h = words(head);
  const t = tail === null ? [] : words(tail);
  const all = [...h, ...new Array<number>(Math.max(0, 8 - h.length - t.length)).fill(0), ...t];
  all.slice(0, 8).forEach((w, i) => {
    out[i * 2] = w >> 8;
    out[i * 2 + 1] = w & 0xff;
  });
  return out;
}

/** The wildcard address of a family, as Node names it. */
function anyHost(family: number): string {
  return family === AF.INET ? '0.0.0.0' : '::';
}

/** A host operation the guest waits for (bind, connect), kept across its syscall's re-runs. */
interface HostOp {
  kind: 'bind' | 'connect';
  done: boolean;
  err: number;
}

function nodeErrno(err: unknown): number {
  return hostErrno(err).errno;
}

/** The common part of TCP and UDP sockets: options and the host handle's lifetime. */
abstract class InetSocket extends Socket {
  protected op: HostOp | null = null;
  tos = 0;
  ttl = 64;
  v6only = false;

  constructor(family: number, type: number, protocol: number, flags: number, protected readonly net: NetStack) {
    super(family, type, protocol, flags, true);
  }

  /** Finishes a host operation: the waiting call runs again and finds it done. */
  protected finish(op: HostOp, err: number): void {
    op.done = true;
    op.err = err;
    this.changed();
  }

  /**
   * The outcome of a finished operation of `kind`, once; while it runs, a wait
   * (or `nonblockErr` on a non-blocking socket, when the call does not always wait).
   */
  protected awaitOp(task: Task, kind: HostOp['kind'], nonblockErr: number | null): SockResult<number> | null {
    const op = this.op;
    if (!op || op.kind !== kind) return null;
    if (!op.done) return this.nonblocking && nonblockErr !== null ? errno(nonblockErr) : this.wait(task, kind);
    this.op = null;
    return op.err === 0 ? 0 : errno(op.err);
  }

  override setsockopt(level: number, name: number, val: Uint8Array): number | Errno {
    if (level === SOL.SOCKET) return super.setsockopt(level, name, val);
    const v = optInt(val);
    if (v === null) return errno(E.EINVAL);
    if (level === IPPROTO.IP && this.family === AF.INET) {
      if (name === IP_OPT.TOS) return (this.tos = v & 0xff), 0;
      if (name === IP_OPT.TTL) {
        if (v < -1 || v === 0 || v > 255) return errno(E.EINVAL);
        return (this.ttl = v === -1 ? 64 : v), 0;
      }
    }
    if (level === IPPROTO.IPV6 && this.family === AF.INET6 && name === IPV6_V6ONLY) return (this.v6only = v !== 0), 0;
    return errno(E.ENOPROTOOPT);
  }

  override getsockopt(level: number, name: number): Uint8Array | Errno {
    if (level === SOL.SOCKET) return super.getsockopt(level, name);
    if (level === IPPROTO.IP && this.family === AF.INET) {
      if (name === IP_OPT.TOS) return optOf(this.tos);
      if (name === IP_OPT.TTL) return optOf(this.ttl);
    }
    if (level === IPPROTO.IPV6 && this.family === AF.INET6 && name === IPV6_V6ONLY) return optOf(this.v6only ? 1 : 0);
    return errno(E.ENOPROTOOPT);
  }

  protected unbound(): Uint8Array {
    return inetAddr(this.family, anyHost(this.family), 0);
  }
}

type TcpState = 'fresh' | 'binding' | 'bound' | 'listening' | 'connecting' | 'connected' | 'closed';

/**
 * A TCP socket on a Node net.Socket or net.Server. bind() opens the host
 * listening socket at once (so its port and EADDRINUSE are known there);
 * listen() then lets the guest accept what it queues. Received bytes wait in
 * the kernel; a full receive buffer pauses the host socket (flow control).
 */
export class TcpSocket extends InetSocket {
  state: TcpState = 'fresh';
  #server: net.Server | null = null;
  #sock: net.Socket | null = null;
  readonly #backlog: net.Socket[] = [];
  /** Where bind() put the socket, for a connect() that follows it. */
  #local: Endpoint | null = null;
  readonly #rx: Uint8Array[] = [];
  #rxBytes = 0;
  #eof = false;
  #rdShut = false;
  #wrShut = false;
  /** The connect() that completed has been reported (Linux's SS_CONNECTED). */
  #reported = false;
  noDelay = false;
  keepIdle = 7200;
  keepIntvl = 75;
  keepCnt = 9;

  constructor(family: number, flags: number, stack: NetStack, sock: net.Socket | null = null) {
    super(family, SOCK.STREAM, IPPROTO.TCP, flags, stack);
    if (sock) {
      this.#attach(sock);
      this.state = 'connected';
      this.#reported = true;
      sock.resume();
    }
  }

  override get listening(): boolean {
    return this.state === 'listening';
  }

  #attach(sock: net.Socket): void {
    this.#sock = sock;
    this.net.track(sock);
    sock.on('data', (d: Buffer) => {
      this.#rx.push(d);
      this.#rxBytes += d.length;
      if (this.#rxBytes >= this.rcvbuf) sock.pause();
      this.changed();
    });
    sock.on('end', () => {
      this.#eof = true;
      this.changed();
    });
    sock.on('drain', () => this.changed());
    sock.on('error', (e) => {
      this.error = nodeErrno(e);
      if (this.op && !this.op.done) this.finish(this.op, this.error);
      this.changed();
    });
    sock.on('close', () => {
      this.#eof = true;
      this.net.forget(sock);
      this.changed();
    });
    this.applyOptions();
  }

  protected override applyOptions(): void {
    const s = this.#sock;
    if (!s) return;
    s.setNoDelay(this.noDelay);
    s.setKeepAlive(this.keepAlive, this.keepIdle * 1000);
  }

  override bind(task: Task, raw: Uint8Array): SockResult<number> {
    // A bind is quick: it is waited for even on a non-blocking socket.
    const done = this.awaitOp(task, 'bind', null);
    if (done !== null) {
      this.state = done === 0 ? 'bound' : 'fresh';
      return done;
    }
    if (this.state !== 'fresh') return errno(E.EINVAL);
    const ep = parseInetAddr(this.family, raw);
    if (ep === null) return this.family === AF.INET ? this.bind(task, inetAddr(AF.INET, '0.0.0.0', 0)) : errno(E.EAFNOSUPPORT);
    if ('errno' in ep) return ep;
    this.#startServer(ep);
    return this.wait(task, 'bind');
  }

  #startServer(ep: Endpoint): void {
    const op: HostOp = { kind: 'bind', done: false, err: 0 };
    this.op = op;
    this.state = 'binding';
    const server = net.createServer({ allowHalfOpen: true, pauseOnConnect: true });
    this.#server = server;
    this.net.track(server);
    server.on('connection', (s) => {
      this.#backlog.push(s);
      this.net.track(s);
      this.changed();
    });
    server.once('listening', () => {
      const a = server.address() as net.AddressInfo;
      this.#local = { host: a.address, port: a.port };
      this.finish(op, 0);
    });
    server.on('error', (e) => {
      if (!op.done) {
        this.net.forget(server);
        this.#server = null;
        this.finish(op, nodeErrno(e));
      }
    });
    server.listen({ host: ep.host, port: ep.port, backlog: 511, ipv6Only: this.v6only, exclusive: true });
  }

  override listen(task: Task, _backlog: number): SockResult<number> {
    // listen() without bind(): an ephemeral port on every address, waited for like a bind.
    if (this.state === 'fresh') this.#startServer({ host: anyHost(this.family), port: 0 });
    if (this.state === 'binding') {
      const op = this.op!;
      if (!op.done) return this.wait(task, 'listen');
      this.op = null;
      this.state = op.err === 0 ? 'bound' : 'fresh';
      if (op.err !== 0) return errno(op.err);
    }
    if (this.state === 'bound') {
      this.state = 'listening';
      this.changed();
    }
    return this.state === 'listening' ? 0 : errno(E.EINVAL);
  }

  override accept(task: Task, flags: number): SockResult<Socket> {
    if (this.state !== 'listening') return errno(E.EINVAL);
    const s = this.#backlog.shift();
    if (!s) return mayBlock(this, 0) ? this.wait(task, 'accept', this.rcvTimeoNs) : errno(E.EAGAIN);
    this.net.forget(s);
    return new TcpSocket(this.family, flags & O_NONBLOCK, this.net, s);
  }

  override connect(task: Task, raw: Uint8Array): SockResult<number> {
    const op = this.op;
    if (op?.kind === 'connect') {
      if (!op.done) return this.nonblocking ? errno(E.EALREADY) : this.wait(task, 'connect', this.sndTimeoNs);
      this.op = null;
      this.#reported = true;
      if (op.err !== 0) {
        this.state = 'fresh';
        this.error = 0;
        return errno(op.err);
      }
      return 0;
    }
    if (this.state === 'connected') {
      if (this.#reported) return errno(E.EISCONN);
      this.#reported = true;
      return 0;
    }
    if (this.state === 'listening') return errno(E.EINVAL);
    const ep = parseInetAddr(this.family, raw);
    if (ep === null) return errno(E.EAFNOSUPPORT);
    if ('errno' in ep) return ep;
    if (ep.port === 0) return errno(E.ECONNREFUSED); // nothing listens on port 0 (and Node refuses to try)
    const local = this.#local;
    if (this.#server) {
      // A bound socket that connects: the host listener goes, the address stays.
      this.net.forget(this.#server);
      this.#server.close();
      this.#server = null;
    }
    const started: HostOp = { kind: 'connect', done: false, err: 0 };
    this.op = started;
    this.state = 'connecting';
    this.#reported = false;
    const opts: net.NetConnectOpts = { host: ep.host, port: ep.port, allowHalfOpen: true, family: this.family === AF.INET ? 4 : 6 };
    if (local && local.port !== 0) Object.assign(opts, { localAddress: local.host, localPort: local.port });
    else if (local) Object.assign(opts, { localAddress: local.host });
    const sock = net.connect(opts);
    sock.once('connect', () => {
      this.state = 'connected';
      this.finish(started, 0);
    });
    this.#attach(sock);
    sock.once('error', () => {
      if (this.state === 'connecting') this.state = 'fresh';
    });
    if (this.nonblocking) return errno(E.EINPROGRESS);
    return this.wait(task, 'connect', this.sndTimeoNs);
  }

  sockname(): Uint8Array {
    const s = this.#sock;
    if (s?.localAddress !== undefined && s.localPort !== undefined) return inetAddr(this.family, s.localAddress, s.localPort);
    const l = this.#local;
    return l ? inetAddr(this.family, l.host, l.port) : this.unbound();
  }

  peername(): Uint8Array | Errno {
    const s = this.#sock;
    if (this.state !== 'connected' || !s || s.remoteAddress === undefined || s.remotePort === undefined) return errno(E.ENOTCONN);
    return inetAddr(this.family, s.remoteAddress, s.remotePort);
  }

  send(task: Task, req: SendRequest): SockResult<number> {
    const s = this.#sock;
    if (this.state === 'connecting') return mayBlock(this, req.flags) ? this.wait(task, 'connect') : errno(E.EAGAIN);
    if (this.#wrShut) return brokenPipe(task, req.flags);
    if (this.error !== 0) {
      const e = this.error;
      this.error = 0;
      return e === E.EPIPE ? brokenPipe(task, req.flags) : errno(e);
    }
    if (this.state !== 'connected' || !s || s.destroyed) return brokenPipe(task, req.flags);
    if (req.data.length === 0) return 0;
    if (s.writableLength >= this.sndbuf) {
      if (!mayBlock(this, req.flags)) return errno(E.EAGAIN);
      return this.wait(task, 'tcp send', this.sndTimeoNs);
    }
    s.write(Buffer.from(req.data));
    return req.data.length;
  }

  recv(task: Task, bufs: readonly Uint8Array[], flags: number): SockResult<Received> {
    if (this.state === 'listening' || this.state === 'fresh' || this.state === 'bound') return errno(E.ENOTCONN);
    if (this.state === 'connecting') return mayBlock(this, flags) ? this.wait(task, 'connect') : errno(E.EAGAIN);
    const want = totalLength(bufs);
    if (want === 0) return received(0);
    if (this.#rxBytes === 0) {
      if (this.error !== 0) {
        const e = this.error;
        this.error = 0;
        return errno(e === E.EPIPE ? E.ECONNRESET : e);
      }
      if (this.#eof || this.#rdShut) return received(0);
      if (!mayBlock(this, flags)) return errno(E.EAGAIN);
      return this.wait(task, 'tcp recv', this.rcvTimeoNs);
    }
    if ((flags & MSG.WAITALL) !== 0 && (flags & MSG.PEEK) === 0 && this.#rxBytes < want && !this.#eof && mayBlock(this, flags)) {
      return this.wait(task, 'tcp recv', this.rcvTimeoNs);
    }
    const all = this.#rx.length === 1 ? this.#rx[0]! : Buffer.concat(this.#rx);
    const n = scatter(bufs, all);
    if ((flags & MSG.PEEK) === 0) {
      this.#rx.length = 0;
      if (n < all.length) this.#rx.push(all.subarray(n));
      this.#rxBytes -= n;
      if (this.#rxBytes < this.rcvbuf && this.#sock?.isPaused()) this.#sock.resume();
    } else if (this.#rx.length > 1) {
      this.#rx.length = 0;
      this.#rx.push(all);
    }
    return received(n);
  }

  shutdown(_task: Task, how: number): number | Errno {
    if (how < SHUT.RD || how > SHUT.RDWR) return errno(E.EINVAL);
    if (this.state === 'listening' && how !== SHUT.WR) {
      this.#closeHost();
      this.state = 'fresh';
      this.changed();
      return 0;
    }
    if (this.state !== 'connected') return errno(E.ENOTCONN);
    if (how !== SHUT.WR) this.#rdShut = true;
    if (how !== SHUT.RD && !this.#wrShut) {
      this.#wrShut = true;
      this.#sock?.end();
    }
    this.changed();
    return 0;
  }

  pending(): number {
    return this.#rxBytes;
  }

  override poll(): number {
    let ev = this.error !== 0 ? POLL.ERR : 0;
    switch (this.state) {
      case 'listening':
        return ev | (this.#backlog.length > 0 ? POLL.IN : 0);
      case 'binding':
      case 'connecting':
        return ev;
      case 'connected': {
        const s = this.#sock!;
        if (this.#rxBytes > 0 || this.#eof || this.#rdShut) ev |= POLL.IN;
        if (this.#eof || this.#rdShut) ev |= POLLRDHUP;
        if ((this.#eof && this.#wrShut) || s.destroyed) ev |= POLL.HUP;
        if (!this.#wrShut && s.writableLength < this.sndbuf) ev |= POLL.OUT;
        return ev;
      }
      default:
        return ev | POLL.OUT | POLL.HUP;
    }
  }

  override setsockopt(level: number, name: number, val: Uint8Array): number | Errno {
    if (level !== IPPROTO.TCP) return super.setsockopt(level, name, val);
    const v = optInt(val);
    if (v === null) return errno(E.EINVAL);
    switch (name) {
      case TCP_OPT.NODELAY: this.noDelay = v !== 0; break;
      case TCP_OPT.KEEPIDLE: if (v < 1 || v > 32767) return errno(E.EINVAL); this.keepIdle = v; break;
      case TCP_OPT.KEEPINTVL: if (v < 1 || v > 32767) return errno(E.EINVAL); this.keepIntvl = v; break;
      case TCP_OPT.KEEPCNT: if (v < 1 || v > 127) return errno(E.EINVAL); this.keepCnt = v; break;
      default: return errno(E.ENOPROTOOPT);
    }
    this.applyOptions();
    return 0;
  }

  override getsockopt(level: number, name: number): Uint8Array | Errno {
    if (level !== IPPROTO.TCP) return super.getsockopt(level, name);
    switch (name) {
      case TCP_OPT.NODELAY: return optOf(this.noDelay ? 1 : 0);
      case TCP_OPT.KEEPIDLE: return optOf(this.keepIdle);
      case TCP_OPT.KEEPINTVL: return optOf(this.keepIntvl);
      case TCP_OPT.KEEPCNT: return optOf(this.keepCnt);
      default: return errno(E.ENOPROTOOPT);
    }
  }

  #closeHost(): void {
    const server = this.#server;
    if (server) {
      this.#server = null;
      this.net.forget(server);
      server.close();
    }
    for (const s of this.#backlog.splice(0)) {
      this.net.forget(s);
      s.destroy();
    }
  }

  override release(): void {
    this.#closeHost();
    const s = this.#sock;
    this.state = 'closed';
    if (s) {
      // Unread data makes the close a reset, as on Linux; otherwise the queued bytes go out, then FIN.
      if (this.#rxBytes > 0) s.resetAndDestroy();
      else if (!s.destroyed) {
        s.end();
        this.net.linger(s);
        s.once('finish', () => s.destroy());
      }
    }
    this.changed();
  }
}

function received(n: number): Received {
  return { n, addr: null, fds: [], cred: null, flags: 0 };
}

interface Datagram {
  data: Buffer;
  from: Endpoint;
}

/** A UDP socket on a Node dgram socket; datagrams wait in the kernel until read. */
export class UdpSocket extends InetSocket {
  #sock: dgram.Socket | null = null;
  #bound = false;
  #peer: Endpoint | null = null;
  readonly #rx: Datagram[] = [];
  #rxBytes = 0;
  #rdShut = false;
  #wrShut = false;

  constructor(family: number, flags: number, stack: NetStack) {
    super(family, SOCK.DGRAM, IPPROTO.UDP, flags, stack);
  }

  #open(): dgram.Socket {
    if (this.#sock) return this.#sock;
    const s = dgram.createSocket({ type: this.family === AF.INET ? 'udp4' : 'udp6', reuseAddr: this.reuseAddr, ipv6Only: this.v6only });
    this.#sock = s;
    this.net.track(s);
    s.on('message', (msg, rinfo) => {
      // A full receive buffer drops datagrams, as UDP does.
      if (this.#rxBytes + msg.length > this.rcvbuf) return;
      this.#rx.push({ data: msg, from: { host: rinfo.address, port: rinfo.port } });
      this.#rxBytes += msg.length;
      this.changed();
    });
    s.on('error', (e) => {
      const op = this.op;
      if (op && !op.done) this.finish(op, nodeErrno(e));
      else {
        this.error = nodeErrno(e);
        this.changed();
      }
    });
    s.on('close', () => this.net.forget(s));
    return s;
  }

  #bindHost(ep: Endpoint): void {
    const op: HostOp = { kind: 'bind', done: false, err: 0 };
    this.op = op;
    const s = this.#open();
    s.once('listening', () => {
      this.#bound = true;
      this.finish(op, 0);
    });
    s.bind({ address: ep.host, port: ep.port, exclusive: true });
  }

  override bind(task: Task, raw: Uint8Array): SockResult<number> {
    const done = this.awaitOp(task, 'bind', null);
    if (done !== null) return done;
    if (this.#bound) return errno(E.EINVAL);
    const ep = parseInetAddr(this.family, raw);
    if (ep === null) return this.family === AF.INET ? this.bind(task, inetAddr(AF.INET, '0.0.0.0', 0)) : errno(E.EAFNOSUPPORT);
    if ('errno' in ep) return ep;
    this.#bindHost(ep);
    return this.wait(task, 'bind');
  }

  /** An unbound socket that sends or connects gets an ephemeral port first; null once bound. */
  #autobind(task: Task): SockResult<number> | null {
    if (this.#bound) return null;
    const op = this.op;
    if (op?.kind === 'bind') {
      if (!op.done) return this.wait(task, 'bind');
      this.op = null;
      return op.err === 0 ? null : errno(op.err);
    }
    this.#bindHost({ host: anyHost(this.family), port: 0 });
    return this.wait(task, 'bind');
  }

  override connect(task: Task, raw: Uint8Array): SockResult<number> {
    const ep = parseInetAddr(this.family, raw);
    if (ep !== null && 'errno' in ep) return ep;
    if (ep === null) {
      if (this.#peer && this.#sock) this.#sock.disconnect();
      this.#peer = null;
      return 0;
    }
    if (ep.port === 0) return errno(E.EINVAL); // Node cannot connect a datagram socket to port 0
    const pending = this.#autobind(task);
    if (pending !== null) return pending;
    const done = this.awaitOp(task, 'connect', null);
    if (done !== null) {
      if (done === 0) this.#peer = ep;
      return done;
    }
    const s = this.#sock!;
    if (this.#peer) s.disconnect();
    this.#peer = null;
    const op: HostOp = { kind: 'connect', done: false, err: 0 };
    this.op = op;
    s.connect(ep.port, ep.host, (err?: Error) => this.finish(op, err ? nodeErrno(err) : 0));
    return this.wait(task, 'connect');
  }

  sockname(): Uint8Array {
    if (!this.#bound || !this.#sock) return this.unbound();
    const a = this.#sock.address();
    return inetAddr(this.family, a.address, a.port);
  }

  peername(): Uint8Array | Errno {
    return this.#peer ? inetAddr(this.family, this.#peer.host, this.#peer.port) : errno(E.ENOTCONN);
  }

  send(task: Task, req: SendRequest): SockResult<number> {
    if (this.#wrShut) return brokenPipe(task, req.flags);
    let to: Endpoint | null = null;
    if (req.addr) {
      const ep = parseInetAddr(this.family, req.addr);
      if (ep !== null && 'errno' in ep) return ep;
      if (ep !== null && ep.port === 0) return errno(E.EINVAL);
      to = ep;
    }
    if (!to && !this.#peer) return errno(E.EDESTADDRREQ);
    if (req.data.length > 65507) return errno(E.EMSGSIZE);
    const pending = this.#autobind(task);
    if (pending !== null) return pending;
    const s = this.#sock!;
    const data = Buffer.from(req.data);
    if (to && !(this.#peer && to.host === this.#peer.host && to.port === this.#peer.port)) {
      if (this.#peer) return errno(E.EISCONN);
      s.send(data, to.port, to.host);
    } else {
      s.send(data);
    }
    return req.data.length;
  }

  recv(task: Task, bufs: readonly Uint8Array[], flags: number): SockResult<Received> {
    const d = this.#rx[0];
    if (!d) {
      if (this.error !== 0) {
        const e = this.error;
        this.error = 0;
        return errno(e);
      }
      if (this.#rdShut) return received(0);
      if (!mayBlock(this, flags)) return errno(E.EAGAIN);
      return this.wait(task, 'udp recv', this.rcvTimeoNs);
    }
    const n = scatter(bufs, d.data);
    if ((flags & MSG.PEEK) === 0) {
      this.#rx.shift();
      this.#rxBytes -= d.data.length;
    }
    return {
      n: (flags & MSG.TRUNC) !== 0 ? d.data.length : n,
      addr: inetAddr(this.family, d.from.host, d.from.port),
      fds: [],
      cred: null,
      flags: n < d.data.length ? MSG.TRUNC : 0,
    };
  }

  shutdown(_task: Task, how: number): number | Errno {
    if (how < SHUT.RD || how > SHUT.RDWR) return errno(E.EINVAL);
    if (!this.#peer) return errno(E.ENOTCONN);
    if (how !== SHUT.WR) this.#rdShut = true;
    if (how !== SHUT.RD) this.#wrShut = true;
    this.changed();
    return 0;
  }

  pending(): number {
    return this.#rx[0]?.data.length ?? 0;
  }

  override poll(): number {
    let ev = POLL.OUT | (this.error !== 0 ? POLL.ERR : 0);
    if (this.#rx.length > 0 || this.#rdShut) ev |= POLL.IN;
    return ev;
  }

  override release(): void {
    const s = this.#sock;
    this.#sock = null;
    if (s) {
      this.net.forget(s);
      s.close();
    }
    this.changed();
  }
}

/** socket(AF_INET/AF_INET6, type, protocol): TCP and UDP; anything else is refused as Linux does. */
export function inetSocket(family: number, type: number, protocol: number, flags: number, stack: NetStack): Socket | Errno {
  if (type === SOCK.STREAM) {
    if (protocol !== 0 && protocol !== IPPROTO.TCP) return errno(E.EPROTONOSUPPORT);
    return new TcpSocket(family, flags, stack);
  }
  if (type === SOCK.DGRAM) {
    if (protocol !== 0 && protocol !== IPPROTO.UDP) return errno(E.EPROTONOSUPPORT);
    return new UdpSocket(family, flags, stack);
  }
  if (type === SOCK.RAW) return errno(E.EPERM);
  return errno(E.ESOCKTNOSUPPORT);
}
