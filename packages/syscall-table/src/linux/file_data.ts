import * as fs from 'node:fs';
import { E, errno, fcntl, fsnotify, hostErrno, HostFile, IN, stat, type OpenFile, type SyscallArgs, type SyscallResult, type Task } from '@nommu/kernel';
import { partial, type Family } from './define.js';
import { F_SEAL_FUTURE_WRITE, F_SEAL_WRITE, MemFd } from './memfd.js';

/** MAX_RW_COUNT: what one transfer moves at most. */
const MAX_RW = 0x7ffff000;
const CHUNK = 1 << 16;

/** The file type bits of an open file. */
function typeOf(file: OpenFile): number {
  return file.stat().mode & stat.S_IFMT;
}

/** A later chunk never sleeps (the bytes already moved are the answer): the write is made as with O_NONBLOCK. */
function writeNoWait(task: Task, dst: OpenFile, data: Uint8Array, at: number | null): ReturnType<OpenFile['write']> {
  const flags = dst.flags;
  dst.flags |= fcntl.O_NONBLOCK;
  try {
    return dst.write(task, data, at);
  } finally {
    dst.flags = flags;
  }
}

/**
 * Moves up to `count` bytes from `src` at `pos` to `dst` (at `dstPos`, or its
 * own offset when null), a chunk at a time: what was read but not written is
 * never consumed. Answers the bytes moved, or the first step's error or BLOCK.
 */
function transfer(task: Task, src: OpenFile, pos: number, dst: OpenFile, dstPos: number | null, count: number): { done: number; result: SyscallResult } {
  let done = 0;
  const buf = new Uint8Array(Math.min(CHUNK, count));
  while (done < count) {
    const want = Math.min(buf.length, count - done);
    const r = src.read(task, buf.subarray(0, want), pos + done);
    if (typeof r !== 'number') return { done, result: done > 0 ? done : r };
    if (r === 0) break;
    const chunk = buf.subarray(0, r);
    const at = dstPos === null ? null : dstPos + done;
    const w = done === 0 ? dst.write(task, chunk, at) : writeNoWait(task, dst, chunk, at);
    if (typeof w !== 'number') return { done, result: done > 0 ? done : w };
    done += w;
    if (w < r) break;
  }
  return { done, result: done };
}

/** sendfile: in_fd must be a file read at an offset (a regular file or /proc file); out_fd any writable file. */
function sendfile(task: Task, a: SyscallArgs): SyscallResult {
  const files = task.process.files;
  const offAddr = a.ptr(2);
  // The loff_t is copied in first (EFAULT before any descriptor check).
  const given = offAddr !== 0 ? Number(task.kernel.mem.i64(offAddr)) : null;
  const inFile = files.get(a.int(1));
  if (!inFile.readable) throw errno(E.EBADF);
  if (given !== null && !inFile.seekable) throw errno(E.ESPIPE);
  const pos = given ?? inFile.pos;
  if (pos < 0) throw errno(E.EINVAL);
  const count = Math.min(a.ptr(3), MAX_RW);
  const out = files.get(a.int(0));
  if (!out.writable) throw errno(E.EBADF);
  // Only files the page cache can splice from serve as the source.
  if (!inFile.seekable || typeOf(inFile) !== stat.S_IFREG) throw errno(E.EINVAL);
  if (out instanceof HostFile && typeOf(out) === stat.S_IFREG && (out.flags & fcntl.O_APPEND) !== 0) throw errno(E.EINVAL);
  if (count === 0) return 0;
  const { done, result } = transfer(task, inFile, pos, out, null, count);
  if (offAddr !== 0) task.kernel.mem.setI64(offAddr, pos + done);
  else inFile.pos = pos + done;
  return result;
}

/** copy_file_range between regular files of one filesystem (EXDEV across mounts, as Linux without a cross-filesystem method). */
function copyFileRange(task: Task, a: SyscallArgs): SyscallResult {
  const files = task.process.files;
  const mem = task.kernel.mem;
  const inFile = files.get(a.int(0));
  const offInAddr = a.ptr(1);
  const out = files.get(a.int(2));
  const offOutAddr = a.ptr(3);
  const posIn = offInAddr !== 0 ? Number(mem.i64(offInAddr)) : inFile.pos;
  const posOut = offOutAddr !== 0 ? Number(mem.i64(offOutAddr)) : out.pos;
  const rawLen = a.ptr(4);
  if (a.uint(5) !== 0) throw errno(E.EINVAL);
  const stIn = inFile.stat();
  const stOut = out.stat();
  const tIn = stIn.mode & stat.S_IFMT;
  const tOut = stOut.mode & stat.S_IFMT;
  if (tIn === stat.S_IFDIR || tOut === stat.S_IFDIR) throw errno(E.EISDIR);
  if (tIn !== stat.S_IFREG || tOut !== stat.S_IFREG) throw errno(E.EINVAL);
  if (!inFile.readable || !out.writable || (out.flags & fcntl.O_APPEND) !== 0) throw errno(E.EBADF);
  if (stIn.dev !== stOut.dev || !(inFile instanceof HostFile) || !(out instanceof HostFile)) throw errno(E.EXDEV);
  // Offsets are added to the length as unsigned 64-bit values: a wrap is EOVERFLOW, a negative offset that does not wrap EINVAL.
  const wraps = (pos: number): boolean => (pos < 0 ? rawLen >= -pos : pos + rawLen >= 2 ** 64);
  if (wraps(posIn) || wraps(posOut)) throw errno(E.EOVERFLOW);
  const sizeIn = inFile.size();
  let len = posIn >= sizeIn ? 0 : Math.min(rawLen, sizeIn - posIn);
  if (stIn.ino === stOut.ino && posOut + len > posIn && posOut < posIn + len) throw errno(E.EINVAL);
  if (posIn < 0 || posOut < 0) throw errno(E.EINVAL);
  len = Math.min(len, MAX_RW);
  if (len === 0) return 0;
  const { done, result } = transfer(task, inFile, posIn, out, posOut, len);
  if (offInAddr !== 0) task.kernel.mem.setI64(offInAddr, posIn + done);
  else inFile.pos = posIn + done;
  if (offOutAddr !== 0) task.kernel.mem.setI64(offOutAddr, posOut + done);
  else out.pos = posOut + done;
  return result;
}

const FALLOC_FL_KEEP_SIZE = 0x1;
const FALLOC_FL_PUNCH_HOLE = 0x2;
const FALLOC_FL_ZERO_RANGE = 0x10;

/** Writes zeros over [from, to) of a host file. */
function zero(fd: number, from: number, to: number): void {
  const zeros = new Uint8Array(Math.min(CHUNK, Math.max(0, to - from)));
  for (let at = from; at < to; ) {
    at += fs.writeSync(fd, zeros, 0, Math.min(zeros.length, to - at), at);
  }
}

/**
 * fallocate: the size changes Linux makes, without reserving blocks (the host
 * allocates as it writes); a punched hole or zeroed range is written with
 * zeros rather than deallocated.
 */
function fallocate(task: Task, a: SyscallArgs): SyscallResult {
  const file = task.process.files.get(a.int(0));
  const mode = a.uint(1);
  const offset = a.long(2);
  const len = a.long(3);
  if (offset < 0 || len <= 0) throw errno(E.EINVAL);
  const op = mode & ~FALLOC_FL_KEEP_SIZE;
  if (op !== 0 && op !== FALLOC_FL_PUNCH_HOLE && op !== FALLOC_FL_ZERO_RANGE) throw errno(E.EOPNOTSUPP);
  if (op === FALLOC_FL_PUNCH_HOLE && (mode & FALLOC_FL_KEEP_SIZE) === 0) throw errno(E.EOPNOTSUPP);
  if (!file.writable) throw errno(E.EBADF);
  const type = typeOf(file);
  if (type === stat.S_IFIFO) throw errno(E.ESPIPE);
  if (type === stat.S_IFDIR) throw errno(E.EISDIR);
  if (type !== stat.S_IFREG || !(file instanceof HostFile)) throw errno(E.ENODEV);
  const end = offset + len;
  if (end > Number.MAX_SAFE_INTEGER) throw errno(E.EFBIG);
  const size = file.size();
  const grows = (mode & FALLOC_FL_KEEP_SIZE) === 0 && end > size;
  if (file instanceof MemFd) {
    if (op !== 0 && (file.seals & (F_SEAL_WRITE | F_SEAL_FUTURE_WRITE)) !== 0) throw errno(E.EPERM);
    if (grows) file.checkResize(end);
  }
  try {
    if (op !== 0) zero(file.fd, offset, Math.min(end, size));
    if (grows) fs.ftruncateSync(file.fd, end);
  } catch (err) {
    throw hostErrno(err);
  }
  fsnotify.notifyFile(task, file, IN.MODIFY);
  return 0;
}

export const fileData: Family = {
  sendfile: partial('in_fd must be a regular or /proc file (pipes and sockets as in_fd answer EINVAL); copies through the kernel a chunk at a time', sendfile),
  copy_file_range: partial('regular files on one mount (EXDEV across mounts); copies bytes, never shares extents', copyFileRange),
  fallocate: partial('modes 0, KEEP_SIZE, PUNCH_HOLE|KEEP_SIZE and ZERO_RANGE: sizes change as on Linux but no blocks are reserved, and punched holes are written with zeros (no real holes); other modes EOPNOTSUPP', fallocate),
};
