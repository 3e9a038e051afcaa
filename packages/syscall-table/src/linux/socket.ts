import {
  AF, BLOCK, E, errno, inetSocket, MSG, SCM, SO, SOCK, SOL, Socket, UnixSocket,
  type Cred, type OpenFile, type SendRequest, type SyscallArgs, type SyscallResult, type Task,
} from '@nommu/kernel';
import { partial, supported, type Family } from './define.js';

const MAX_RW = 0x7ffff000;
const IOV_MAX = 1024;
/** sizeof(struct sockaddr_storage): the most of an address the kernel reads. */
const SOCKADDR_MAX = 128;
/** SCM_MAX_FD: descriptors one message may carry. */
const SCM_MAX_FD = 253;
const AF_MAX = 46;
const SIZEOF_CMSGHDR = 16;
const SIZEOF_UCRED = 12;
const MSG_WAITFORONE = 0x10000;

/** struct msghdr offsets (x86-64). */
const MSGHDR = { name: 0, namelen: 8, iov: 16, iovlen: 24, control: 32, controllen: 40, flags: 48 } as const;
const SIZEOF_MMSGHDR = 64;

const cmsgAlign = (n: number): number => (n + 7) & ~7;

function socketOf(task: Task, fd: number): Socket {
  const f = task.process.files.get(fd);
  if (!(f instanceof Socket)) throw errno(E.ENOTSOCK);
  return f;
}

/** The guest's struct sockaddr (at most sockaddr_storage's size). */
function addrIn(task: Task, addr: number, len: number): Uint8Array {
  if (len < 0 || len > SOCKADDR_MAX) throw errno(E.EINVAL);
  return task.kernel.mem.copyIn(addr, len);
}

/** move_addr_to_user: as much of the address as fits, and its real length. */
function addrOut(task: Task, addr: number, lenp: number, bytes: Uint8Array): void {
  if (addr === 0 || lenp === 0) return;
  const mem = task.kernel.mem;
  const cap = mem.i32(lenp);
  if (cap < 0) throw errno(E.EINVAL);
  if (cap > 0) mem.copyOut(addr, bytes.subarray(0, Math.min(cap, bytes.length)));
  mem.setI32(lenp, bytes.length);
}

function flagsOfType(type: number): { kind: number; flags: number; cloexec: boolean } {
  const extra = type & ~SOCK.TYPE_MASK;
  if ((extra & ~(SOCK.NONBLOCK | SOCK.CLOEXEC)) !== 0) throw errno(E.EINVAL);
  return { kind: type & SOCK.TYPE_MASK, flags: extra & SOCK.NONBLOCK, cloexec: (extra & SOCK.CLOEXEC) !== 0 };
}

function unixType(kind: number, protocol: number): void {
  if (kind !== SOCK.STREAM && kind !== SOCK.DGRAM && kind !== SOCK.SEQPACKET) throw errno(E.ESOCKTNOSUPPORT);
  if (protocol !== 0 && protocol !== AF.UNIX) throw errno(E.EPROTONOSUPPORT);
}

function socket(task: Task, a: SyscallArgs): SyscallResult {
  const family = a.int(0);
  const { kind, flags, cloexec } = flagsOfType(a.int(1));
  const protocol = a.int(2);
  if (family < 0 || family >= AF_MAX) throw errno(E.EAFNOSUPPORT);
  let sock: Socket;
  if (family === AF.UNIX) {
    unixType(kind, protocol);
    sock = new UnixSocket(kind, flags);
  } else if (family === AF.INET || family === AF.INET6) {
    const s = inetSocket(family, kind, protocol, flags, task.kernel.net);
    if (!(s instanceof Socket)) return s;
    sock = s;
  } else {
    throw errno(E.EAFNOSUPPORT);
  }
  return task.process.files.install(sock, cloexec);
}

function socketpair(task: Task, a: SyscallArgs): SyscallResult {
  const family = a.int(0);
  const { kind, flags, cloexec } = flagsOfType(a.int(1));
  const protocol = a.int(2);
  const sv = a.ptr(3);
  if (family === AF.INET || family === AF.INET6) throw errno(E.EOPNOTSUPP);
  if (family !== AF.UNIX) throw errno(E.EAFNOSUPPORT);
  unixType(kind, protocol);
  const mem = task.kernel.mem;
  mem.offset(sv, 8);
  const [s0, s1] = UnixSocket.pair(task, kind, flags);
  const files = task.process.files;
  const fd0 = files.install(s0, cloexec);
  let fd1: number;
  try {
    fd1 = files.install(s1, cloexec);
  } catch (e) {
    files.close(fd0);
    throw e;
  }
  mem.setI32(sv, fd0);
  mem.setI32(sv + 4, fd1);
  return 0;
}

function accept(task: Task, a: SyscallArgs, flags: number): SyscallResult {
  if ((flags & ~(SOCK.NONBLOCK | SOCK.CLOEXEC)) !== 0) throw errno(E.EINVAL);
  const sock = socketOf(task, a.int(0));
  const addr = a.ptr(1);
  const lenp = a.ptr(2);
  if (addr !== 0 && task.kernel.mem.i32(lenp) < 0) throw errno(E.EINVAL);
  const r = sock.accept(task, flags);
  if (!(r instanceof Socket)) return r;
  const peer = r.peername();
  addrOut(task, addr, lenp, peer instanceof Uint8Array ? peer : r.sockname());
  return task.process.files.install(r, (flags & SOCK.CLOEXEC) !== 0);
}

function name(task: Task, a: SyscallArgs, which: 'sock' | 'peer'): SyscallResult {
  const sock = socketOf(task, a.int(0));
  const bytes = which === 'sock' ? sock.sockname() : sock.peername();
  if (!(bytes instanceof Uint8Array)) return bytes;
  if (task.kernel.mem.i32(a.ptr(2)) < 0) throw errno(E.EINVAL);
  addrOut(task, a.ptr(1), a.ptr(2), bytes);
  return 0;
}

/** struct iovec[count] as views of guest memory. */
function iovViews(task: Task, addr: number, count: number): Uint8Array[] {
  if (count < 0 || count > IOV_MAX) throw errno(E.EMSGSIZE);
  const mem = task.kernel.mem;
  const out: Uint8Array[] = [];
  let total = 0;
  for (let i = 0; i < count; i++) {
    const base = mem.ptr(addr + i * 16);
    const len = mem.ptr(addr + i * 16 + 8);
    if (len > MAX_RW || (total += len) > MAX_RW) throw errno(E.EINVAL);
    out.push(mem.bytes(base, len));
  }
  return out;
}

function gather(views: Uint8Array[]): Uint8Array {
  if (views.length === 1) return views[0]!;
  const out = new Uint8Array(views.reduce((s, v) => s + v.length, 0));
  let off = 0;
  for (const v of views) {
    out.set(v, off);
    off += v.length;
  }
  return out;
}

/** One send; the request's descriptors go back unless the socket kept them. */
function doSend(task: Task, sock: Socket, req: SendRequest): SyscallResult {
  try {
    return sock.send(task, req);
  } finally {
    for (const f of req.fds) f.put();
  }
}

function sendto(task: Task, a: SyscallArgs): SyscallResult {
  const sock = socketOf(task, a.int(0));
  const data = task.kernel.mem.bytes(a.ptr(1), Math.min(a.ptr(2), MAX_RW));
  const addr = a.ptr(4) !== 0 ? addrIn(task, a.ptr(4), a.int(5)) : null;
  return doSend(task, sock, { data, flags: a.int(3), addr: addr && addr.length > 0 ? addr : null, fds: [], cred: null });
}

/** The SOL_SOCKET control messages of a sendmsg: SCM_RIGHTS and SCM_CREDENTIALS. */
function controlIn(task: Task, sock: Socket, addr: number, len: number, req: SendRequest): void {
  const mem = task.kernel.mem;
  let off = 0;
  while (off + SIZEOF_CMSGHDR <= len) {
    const clen = mem.ptr(addr + off);
    const level = mem.i32(addr + off + 8);
    const type = mem.i32(addr + off + 12);
    if (clen < SIZEOF_CMSGHDR || off + clen > len) throw errno(E.EINVAL);
    const data = addr + off + SIZEOF_CMSGHDR;
    const dlen = clen - SIZEOF_CMSGHDR;
    if (level !== SOL.SOCKET || !(sock instanceof UnixSocket)) throw errno(E.EINVAL);
    if (type === SCM.RIGHTS) {
      const n = Math.floor(dlen / 4);
      if (req.fds.length + n > SCM_MAX_FD) throw errno(E.EINVAL);
      for (let i = 0; i < n; i++) req.fds.push(task.process.files.get(mem.i32(data + i * 4)).get());
    } else if (type === SCM.CREDENTIALS) {
      if (dlen !== SIZEOF_UCRED) throw errno(E.EINVAL);
      const cred: Cred = { pid: mem.i32(data), uid: mem.u32(data + 4), gid: mem.u32(data + 8) };
      const id = task.kernel.identity;
      const root = id.euid === 0;
      if ((cred.pid !== task.process.pid && !(root && task.kernel.processes.has(cred.pid))) ||
          (!root && (cred.uid !== id.uid && cred.uid !== id.euid)) || (!root && cred.gid !== id.gid && cred.gid !== id.egid)) {
        throw errno(E.EPERM);
      }
      req.cred = cred;
    } else {
      throw errno(E.EINVAL);
    }
    off += cmsgAlign(clen);
  }
}

function sendmsgAt(task: Task, sock: Socket, msg: number, flags: number): SyscallResult {
  const mem = task.kernel.mem;
  const nameAddr = mem.ptr(msg + MSGHDR.name);
  const namelen = mem.i32(msg + MSGHDR.namelen);
  const views = iovViews(task, mem.ptr(msg + MSGHDR.iov), Number(BigInt.asIntN(32, mem.u64(msg + MSGHDR.iovlen))));
  const req: SendRequest = { data: new Uint8Array(0), flags, addr: null, fds: [], cred: null };
  try {
    if (nameAddr !== 0 && namelen !== 0) req.addr = addrIn(task, nameAddr, namelen);
    const clen = mem.ptr(msg + MSGHDR.controllen);
    if (clen > 0) {
      if (clen > 0x7fffffff) throw errno(E.ENOBUFS);
      controlIn(task, sock, mem.ptr(msg + MSGHDR.control), clen, req);
    }
    req.data = gather(views);
  } catch (e) {
    for (const f of req.fds) f.put();
    throw e;
  }
  return doSend(task, sock, req);
}

function recvfrom(task: Task, a: SyscallArgs): SyscallResult {
  const sock = socketOf(task, a.int(0));
  const buf = task.kernel.mem.bytes(a.ptr(1), Math.min(a.ptr(2), MAX_RW));
  const addr = a.ptr(4);
  const lenp = a.ptr(5);
  if (addr !== 0 && task.kernel.mem.i32(lenp) < 0) throw errno(E.EINVAL);
  const r = sock.recv(task, [buf], a.int(3));
  if (r === BLOCK || !('n' in r)) return r;
  for (const f of r.fds) f.put();
  addrOut(task, addr, lenp, r.addr ?? new Uint8Array(0));
  return r.n;
}

/** Writes the control messages a receive brought; returns msg_flags bits (MSG_CTRUNC) and the length used. */
function controlOut(task: Task, addr: number, cap: number, fds: OpenFile[], cred: Cred | null, flags: number): { used: number; flags: number } {
  const mem = task.kernel.mem;
  let used = 0;
  let out = 0;
  if (cred) {
    if (addr !== 0 && cap - used >= SIZEOF_CMSGHDR + SIZEOF_UCRED) {
      const at = addr + used;
      mem.setU64(at, SIZEOF_CMSGHDR + SIZEOF_UCRED);
      mem.setI32(at + 8, SOL.SOCKET);
      mem.setI32(at + 12, SCM.CREDENTIALS);
      mem.setI32(at + 16, cred.pid);
      mem.setU32(at + 20, cred.uid);
      mem.setU32(at + 24, cred.gid);
      used += Math.min(cmsgAlign(SIZEOF_CMSGHDR + SIZEOF_UCRED), cap - used);
    } else {
      out |= MSG.CTRUNC;
    }
  }
  if (fds.length > 0) {
    const room = addr === 0 || cap - used < SIZEOF_CMSGHDR ? 0 : Math.floor((cap - used - SIZEOF_CMSGHDR) / 4);
    const take = Math.min(room, fds.length);
    const installed: number[] = [];
    let i = 0;
    try {
      for (; i < take; i++) installed.push(task.process.files.install(fds[i]!, (flags & MSG.CMSG_CLOEXEC) !== 0));
    } catch {
      i++; // install gave that reference back
    }
    for (const f of fds.slice(i)) f.put();
    if (installed.length < fds.length) out |= MSG.CTRUNC;
    if (installed.length > 0) {
      const at = addr + used;
      const clen = SIZEOF_CMSGHDR + 4 * installed.length;
      mem.setU64(at, clen);
      mem.setI32(at + 8, SOL.SOCKET);
      mem.setI32(at + 12, SCM.RIGHTS);
      installed.forEach((fd, k) => mem.setI32(at + 16 + 4 * k, fd));
      used += Math.min(cmsgAlign(clen), cap - used);
    }
  }
  return { used, flags: out };
}

function recvmsgAt(task: Task, sock: Socket, msg: number, flags: number): SyscallResult {
  const mem = task.kernel.mem;
  const nameAddr = mem.ptr(msg + MSGHDR.name);
  const namelen = mem.i32(msg + MSGHDR.namelen);
  const control = mem.ptr(msg + MSGHDR.control);
  const controllen = mem.ptr(msg + MSGHDR.controllen);
  mem.offset(msg, 56);
  const views = iovViews(task, mem.ptr(msg + MSGHDR.iov), Number(BigInt.asIntN(32, mem.u64(msg + MSGHDR.iovlen))));
  if (nameAddr !== 0 && namelen < 0) throw errno(E.EINVAL);
  const r = sock.recv(task, views, flags & ~MSG.CMSG_CLOEXEC);
  if (r === BLOCK || !('n' in r)) return r;
  // Linux hands MSG_CMSG_CLOEXEC back in msg_flags.
  let outFlags = r.flags | (flags & MSG.CMSG_CLOEXEC);
  if (nameAddr !== 0) {
    const a = r.addr ?? new Uint8Array(0);
    mem.copyOut(nameAddr, a.subarray(0, Math.min(Math.max(namelen, 0), a.length)));
    mem.setI32(msg + MSGHDR.namelen, a.length);
  } else {
    mem.setI32(msg + MSGHDR.namelen, 0);
  }
  const c = controlOut(task, control, Math.min(controllen, 0x7fffffff), r.fds, r.cred, flags);
  outFlags |= c.flags;
  mem.setU64(msg + MSGHDR.controllen, c.used);
  mem.setI32(msg + MSGHDR.flags, outFlags);
  return r.n;
}

/** sendmmsg/recvmmsg: one message after another; a later one never waits (the count so far is the answer). */
function multi(task: Task, a: SyscallArgs, dir: 'send' | 'recv'): SyscallResult {
  const sock = socketOf(task, a.int(0));
  const vec = a.ptr(1);
  const vlen = Math.min(a.uint(2), IOV_MAX);
  const flags = a.int(3);
  const mem = task.kernel.mem;
  let done = 0;
  for (; done < vlen; done++) {
    const msg = vec + done * SIZEOF_MMSGHDR;
    const more = done === 0 ? flags : flags | (dir === 'recv' ? MSG.DONTWAIT : 0);
    let r: SyscallResult;
    try {
      r = dir === 'send' ? sendmsgAt(task, sock, msg, more) : recvmsgAt(task, sock, msg, more & ~MSG_WAITFORONE);
    } catch (e) {
      if (done > 0) break;
      throw e;
    }
    if (typeof r !== 'number') {
      if (done > 0) break;
      return r;
    }
    mem.setU32(msg + 56, r);
  }
  return done;
}

function setsockopt(task: Task, a: SyscallArgs): SyscallResult {
  const sock = socketOf(task, a.int(0));
  const len = a.int(4);
  if (len < 0) throw errno(E.EINVAL);
  const val = task.kernel.mem.copyIn(a.ptr(3), Math.min(len, 4096));
  return sock.setsockopt(a.int(1), a.int(2), val);
}

/** What SO_PEERCRED gives without a peer: no pid, the overflow ids. */
const NO_PEER: Cred = { pid: 0, uid: 65534, gid: 65534 };

function getsockopt(task: Task, a: SyscallArgs): SyscallResult {
  const sock = socketOf(task, a.int(0));
  const mem = task.kernel.mem;
  const level = a.int(1);
  const optname = a.int(2);
  const val = a.ptr(3);
  const lenp = a.ptr(4);
  const len = mem.i32(lenp);
  if (len < 0) throw errno(E.EINVAL);
  let bytes: Uint8Array;
  if (level === SOL.SOCKET && optname === SO.PEERCRED) {
    const c = (sock instanceof UnixSocket ? sock.peerCred : null) ?? NO_PEER;
    bytes = new Uint8Array(SIZEOF_UCRED);
    const dv = new DataView(bytes.buffer);
    dv.setInt32(0, c.pid, true);
    dv.setUint32(4, c.uid, true);
    dv.setUint32(8, c.gid, true);
  } else {
    const r = sock.getsockopt(level, optname);
    if (!(r instanceof Uint8Array)) return r;
    bytes = r;
  }
  const n = Math.min(len, bytes.length);
  mem.copyOut(val, bytes.subarray(0, n));
  mem.setI32(lenp, n);
  return 0;
}

export const socketFamily: Family = {
  socket: partial('AF_UNIX, and AF_INET/AF_INET6 TCP and UDP on host sockets; no raw, netlink or packet sockets', socket),
  socketpair: supported(socketpair),
  bind: partial('a pathname AF_UNIX name is a placeholder file until a stream socket listens: then a real socket host processes connect to (datagram and seqpacket names stay placeholders); AF_INET TCP binds listen on the host at once', (t, a) =>
    socketOf(t, a.int(0)).bind(t, addrIn(t, a.ptr(1), a.int(2))),
  ),
  listen: partial('the backlog of a TCP socket is the host\'s', (t, a) => socketOf(t, a.int(0)).listen(t, a.int(1))),
  accept: supported((t, a) => accept(t, a, 0)),
  accept4: supported((t, a) => accept(t, a, a.int(3))),
  connect: partial('an AF_UNIX stream reaches a socket a host process listens on too (data both ways, shutdown, non-blocking connect; descriptors passed to it are dropped, and its SO_PEERCRED is the overflow ids); AF_UNIX datagram and seqpacket sockets reach guest sockets only', (t, a) => socketOf(t, a.int(0)).connect(t, addrIn(t, a.ptr(1), a.int(2)))),
  getsockname: supported((t, a) => name(t, a, 'sock')),
  getpeername: supported((t, a) => name(t, a, 'peer')),
  sendto: partial('MSG_OOB and MSG_MORE are ignored', sendto),
  recvfrom: partial('MSG_OOB and MSG_ERRQUEUE are not supported', recvfrom),
  sendmsg: partial('control messages: SCM_RIGHTS and SCM_CREDENTIALS on AF_UNIX only', (t, a) => sendmsgAt(t, socketOf(t, a.int(0)), a.ptr(1), a.int(2))),
  recvmsg: partial('control messages: SCM_RIGHTS and SCM_CREDENTIALS on AF_UNIX only', (t, a) => recvmsgAt(t, socketOf(t, a.int(0)), a.ptr(1), a.int(2))),
  sendmmsg: partial('messages after the first never wait', (t, a) => multi(t, a, 'send')),
  recvmmsg: partial('messages after the first never wait (as MSG_WAITFORONE); the timeout is ignored', (t, a) => multi(t, a, 'recv')),
  shutdown: supported((t, a) => socketOf(t, a.int(0)).shutdown(t, a.int(1))),
  setsockopt: partial('SOL_SOCKET basics, TCP_NODELAY/KEEP*, IP_TOS/TTL, IPV6_V6ONLY; others ENOPROTOOPT', setsockopt),
  getsockopt: partial('SOL_SOCKET basics (SO_PEERCRED included), TCP_NODELAY/KEEP*, IP_TOS/TTL, IPV6_V6ONLY; others ENOPROTOOPT', getsockopt),
};
