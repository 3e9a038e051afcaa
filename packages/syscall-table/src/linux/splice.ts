/**
 * splice, tee and vmsplice: data moved through a pipe's buffer by the kernel.
 * A pipe here is a queue of bytes, not of pages: splice and tee copy the
 * bytes (Linux moves or shares page references), vmsplice copies the caller's
 * memory into the pipe (Linux maps the pages: a later change to the buffer is
 * seen by the reader there, not here). Room in a pipe is counted in bytes,
 * where Linux counts buffer slots of up to a page each.
 *
 * The waits are those of read and write on a pipe: for data in the input
 * pipe, for room in the output one, EAGAIN instead with SPLICE_F_NONBLOCK or
 * an O_NONBLOCK pipe (vmsplice looks at the flag only, as Linux), a signal
 * ends them as it ends a pipe read (EINTR, or a restart with SA_RESTART).
 */
import { E, errno, fcntl, notPath, PipeEnd, raiseSigpipe, stat, type Errno, type OpenFile, type Pipe, type SyscallArgs, type SyscallResult, type Task } from '@nommu/kernel';
import { partial, type Family } from './define.js';
import { MAX_RW, readIovecs } from './iovec.js';

const SPLICE_F_MOVE = 0x1;
const SPLICE_F_NONBLOCK = 0x2;
const SPLICE_F_MORE = 0x4;
const SPLICE_F_GIFT = 0x8;
const SPLICE_F_ALL = SPLICE_F_MOVE | SPLICE_F_NONBLOCK | SPLICE_F_MORE | SPLICE_F_GIFT;

const LOFF_MAX = 2n ** 63n - 1n;

/** get_pipe_info: the pipe behind an open file (a pipe or a FIFO), or null. */
function pipeOf(file: OpenFile): Pipe | null {
  return file instanceof PipeEnd ? file.pipe : null;
}

/** Writing into a pipe nobody reads: SIGPIPE to the caller, and EPIPE if it survives. */
function broken(task: Task): Errno {
  raiseSigpipe(task);
  return errno(E.EPIPE);
}

/** No data yet in `p` (which has writers): EAGAIN, or sleep until a writer comes by. */
function waitData(task: Task, p: Pipe, nonblock: boolean): SyscallResult {
  return nonblock ? errno(E.EAGAIN) : p.wait(task, p.readQueue, 'splice from a pipe');
}

/** No room in `p`: EAGAIN, or sleep until a reader takes some. */
function waitRoom(task: Task, p: Pipe, nonblock: boolean): SyscallResult {
  return nonblock ? errno(E.EAGAIN) : p.wait(task, p.writeQueue, 'splice into a pipe');
}

const room = (p: Pipe): number => Math.max(0, p.capacity - p.size);

/** Adds bytes to a pipe (neither atomic nor waiting: what splice and vmsplice put in) and wakes its readers. */
function fill(p: Pipe, data: Uint8Array): void {
  if (data.length === 0) return;
  p.write(data);
  p.readQueue.wake();
}

/** Takes `n` bytes from the front of a pipe and wakes its writers. */
function drain(p: Pipe, n: number): void {
  if (n <= 0) return;
  p.read(new Uint8Array(n));
  p.writeQueue.wake();
}

/** Runs `io` with O_NONBLOCK set on `file` when `nonblock` (a socket or device read or write that must not wait). */
function maybeNonblock<T>(file: OpenFile, nonblock: boolean, io: () => T): T {
  const flags = file.flags;
  if (!nonblock || (flags & fcntl.O_NONBLOCK) !== 0) return io();
  file.flags = flags | fcntl.O_NONBLOCK;
  try {
    return io();
  } finally {
    file.flags = (file.flags & ~fcntl.O_NONBLOCK) | (flags & fcntl.O_NONBLOCK);
  }
}

/** rw_verify_area: a length that is negative as ssize_t, a negative offset, or an end past LLONG_MAX is EINVAL. */
function verifyArea(pos: bigint, len: bigint): void {
  if (len > LOFF_MAX || pos < 0n || pos + len > LOFF_MAX) throw errno(E.EINVAL);
}

/** splice_pipe_to_pipe: waits for input (unless no writer is left), then for room; moves what both allow. */
function pipeToPipe(task: Task, ip: Pipe, op: Pipe, len: number, nonblock: boolean): SyscallResult {
  if (ip.size === 0 && ip.writers > 0) return waitData(task, ip, nonblock);
  if (room(op) === 0) {
    if (op.readers === 0) return broken(task);
    return waitRoom(task, op, nonblock);
  }
  if (op.readers === 0) return broken(task);
  if (ip.size === 0) return 0;
  const buf = new Uint8Array(Math.min(len, ip.size, room(op)));
  ip.read(buf);
  ip.writeQueue.wake();
  fill(op, buf);
  return buf.length;
}

/** Moves the bytes of the input pipe to a file, socket or device: those written are taken, the rest stay. */
function pipeToFile(task: Task, ip: Pipe, out: OpenFile, at: number | null, len: number, nonblock: boolean): SyscallResult {
  if (ip.size === 0) {
    if (ip.writers === 0) return 0;
    return waitData(task, ip, nonblock);
  }
  const data = new Uint8Array(Math.min(len, ip.size));
  ip.peek(data);
  // The output waits as its own write does (its O_NONBLOCK, not SPLICE_F_NONBLOCK, decides, as Linux's splice_to_socket).
  const w = out.write(task, data, at);
  if (typeof w !== 'number') {
    // A write that parks with part of it done (a terminal) answers that part if a signal ends it: take it from the pipe then.
    if (task.interruptCode < 0) task.onInterrupt = () => drain(ip, -task.interruptCode);
    return w;
  }
  drain(ip, w);
  return w;
}

/** Reads from a file, socket or device into the room the output pipe has. */
function fileToPipe(task: Task, src: OpenFile, at: number | null, op: Pipe, len: number, nonblock: boolean): SyscallResult {
  if (op.readers === 0) return broken(task);
  const space = room(op);
  if (space === 0) return waitRoom(task, op, nonblock);
  if ((src.stat().mode & stat.S_IFMT) === stat.S_IFDIR) throw errno(E.EINVAL);
  const buf = new Uint8Array(Math.min(len, space));
  const r = maybeNonblock(src, nonblock, () => src.read(task, buf, at));
  if (typeof r !== 'number') return r;
  fill(op, buf.subarray(0, r));
  return r;
}

function splice(task: Task, a: SyscallArgs): SyscallResult {
  const rawLen = a.u64(4);
  let flags = a.uint(5);
  if (rawLen === 0n) return 0;
  if ((flags & ~SPLICE_F_ALL) !== 0) throw errno(E.EINVAL);
  const files = task.process.files;
  // An O_PATH descriptor is no descriptor to these calls (Linux's fdget): EBADF.
  const input = notPath(files.get(a.int(0)));
  const out = notPath(files.get(a.int(2)));
  const offInAddr = a.ptr(1);
  const offOutAddr = a.ptr(3);
  const ip = pipeOf(input);
  const op = pipeOf(out);
  if ((ip && offInAddr !== 0) || (op && offOutAddr !== 0)) throw errno(E.ESPIPE);
  const mem = task.kernel.mem;
  // The offsets are copied in before anything else is looked at (EFAULT), the output's first.
  const offOut = offOutAddr !== 0 ? mem.i64(offOutAddr) : null;
  const offIn = offInAddr !== 0 ? mem.i64(offInAddr) : null;
  if (!input.readable || !out.writable) throw errno(E.EBADF);
  const len = Number(rawLen > BigInt(MAX_RW) ? BigInt(MAX_RW) : rawLen);
  if (ip && op) {
    if (ip === op) throw errno(E.EINVAL);
    if (((input.flags | out.flags) & fcntl.O_NONBLOCK) !== 0) flags |= SPLICE_F_NONBLOCK;
    return pipeToPipe(task, ip, op, len, (flags & SPLICE_F_NONBLOCK) !== 0);
  }
  if (ip) {
    if (offOut !== null && !out.seekable) throw errno(E.EINVAL);
    if ((out.flags & fcntl.O_APPEND) !== 0) throw errno(E.EINVAL);
    verifyArea(offOut ?? BigInt(out.seekable ? out.pos : 0), rawLen);
    if ((input.flags & fcntl.O_NONBLOCK) !== 0) flags |= SPLICE_F_NONBLOCK;
    const r = pipeToFile(task, ip, out, offOut !== null ? Number(offOut) : null, len, (flags & SPLICE_F_NONBLOCK) !== 0);
    if (offOut !== null && typeof r === 'number') mem.setI64(offOutAddr, offOut + BigInt(r));
    return r;
  }
  if (op) {
    if (offIn !== null && !input.seekable) throw errno(E.EINVAL);
    verifyArea(offIn ?? BigInt(input.seekable ? input.pos : 0), rawLen);
    if ((out.flags & fcntl.O_NONBLOCK) !== 0) flags |= SPLICE_F_NONBLOCK;
    const r = fileToPipe(task, input, offIn !== null ? Number(offIn) : null, op, len, (flags & SPLICE_F_NONBLOCK) !== 0);
    if (offIn !== null && typeof r === 'number') mem.setI64(offInAddr, offIn + BigInt(r));
    return r;
  }
  throw errno(E.EINVAL);
}

/** tee: copies the input pipe's bytes into the output pipe, leaving them in the input. */
function tee(task: Task, a: SyscallArgs): SyscallResult {
  let flags = a.uint(3);
  if ((flags & ~SPLICE_F_ALL) !== 0) throw errno(E.EINVAL);
  const rawLen = a.u64(2);
  if (rawLen === 0n) return 0;
  const files = task.process.files;
  const input = notPath(files.get(a.int(0)));
  const out = notPath(files.get(a.int(1)));
  if (!input.readable || !out.writable) throw errno(E.EBADF);
  const ip = pipeOf(input);
  const op = pipeOf(out);
  if (!ip || !op || ip === op) throw errno(E.EINVAL);
  if (((input.flags | out.flags) & fcntl.O_NONBLOCK) !== 0) flags |= SPLICE_F_NONBLOCK;
  const nonblock = (flags & SPLICE_F_NONBLOCK) !== 0;
  if (ip.size === 0 && ip.writers > 0) return waitData(task, ip, nonblock);
  if (room(op) === 0) {
    if (op.readers === 0) return broken(task);
    return waitRoom(task, op, nonblock);
  }
  if (op.readers === 0) return broken(task);
  const len = Number(rawLen > BigInt(MAX_RW) ? BigInt(MAX_RW) : rawLen);
  const buf = new Uint8Array(Math.min(len, ip.size, room(op)));
  ip.peek(buf);
  fill(op, buf);
  return buf.length;
}


/**
 * vmsplice: the direction is the descriptor's: written into the pipe when it
 * is open for writing, else read out of it into the vectors. Writing waits
 * for some room, then puts in what fits; reading waits for some data, then
 * takes what there is, as read does.
 */
function vmsplice(task: Task, a: SyscallArgs): SyscallResult {
  const flags = a.uint(3);
  if ((flags & ~SPLICE_F_ALL) !== 0) throw errno(E.EINVAL);
  const file = notPath(task.process.files.get(a.int(0)));
  if (!file.writable && !file.readable) throw errno(E.EBADF);
  const vecs = readIovecs(task, a.ptr(1), a.u64(2)).filter(([, len]) => len > 0);
  const total = vecs.reduce((n, [, len]) => n + len, 0);
  if (total === 0) return 0;
  const p = pipeOf(file);
  if (!p) throw errno(E.EBADF);
  const nonblock = (flags & SPLICE_F_NONBLOCK) !== 0;
  const mem = task.kernel.mem;
  if (file.writable) {
    if (p.readers === 0) return broken(task);
    const space = room(p);
    if (space === 0) return waitRoom(task, p, nonblock);
    const data = new Uint8Array(Math.min(total, space));
    let off = 0;
    for (const [base, len] of vecs) {
      if (off >= data.length) break;
      const n = Math.min(len, data.length - off);
      data.set(mem.bytes(base, n), off);
      off += n;
    }
    fill(p, data);
    return data.length;
  }
  if (p.size === 0) {
    if (p.writers === 0) return 0;
    return waitData(task, p, nonblock);
  }
  // Every destination is checked before a byte is taken (EFAULT leaves the pipe as it was).
  const want = Math.min(total, p.size);
  const views: Uint8Array[] = [];
  let left = want;
  for (const [base, len] of vecs) {
    if (left === 0) break;
    const n = Math.min(len, left);
    views.push(mem.bytes(base, n));
    left -= n;
  }
  const buf = new Uint8Array(want);
  p.read(buf);
  p.writeQueue.wake();
  let off = 0;
  for (const v of views) {
    v.set(buf.subarray(off, off + v.length));
    off += v.length;
  }
  return want;
}

export const spliceFamily: Family = {
  splice: partial('pipes to and from files, sockets, devices and pipes; the bytes are copied (no page moving: SPLICE_F_MOVE and SPLICE_F_MORE change nothing); pipe room is counted in bytes, not page slots', splice),
  tee: partial('the bytes are copied into the output pipe (Linux shares the pages); pipe room is counted in bytes, not page slots', tee),
  vmsplice: partial('into a pipe the bytes are copied at the call (Linux maps the pages: later changes to the buffer are not seen by the reader here; SPLICE_F_GIFT changes nothing); out of a pipe as Linux, a copy; pipe room is counted in bytes, not page slots', vmsplice),
};
