import * as fs from 'node:fs';
import { E, errno, fcntl, HostFile, notPath, PipeEnd, Socket, type IoResult, type OpenFile, type SyscallArgs, type SyscallResult, type Task } from '@nommu/kernel';
import { partial, supported, type Family } from './define.js';
import { MAX_RW, readIovecs } from './iovec.js';


function readable(file: OpenFile): void {
  if (!file.readable) throw errno(E.EBADF);
}
function writable(file: OpenFile): void {
  if (!file.writable) throw errno(E.EBADF);
}


function read(task: Task, a: SyscallArgs) {
  const file = task.process.files.get(a.int(0));
  readable(file);
  const len = Math.min(a.ptr(2), MAX_RW);
  const buf = task.kernel.mem.bytes(a.ptr(1), len);
  return file.read(task, buf, null);
}

function write(task: Task, a: SyscallArgs) {
  const file = task.process.files.get(a.int(0));
  writable(file);
  const len = Math.min(a.ptr(2), MAX_RW);
  const data = task.kernel.mem.bytes(a.ptr(1), len);
  return file.write(task, data, null);
}

function pread64(task: Task, a: SyscallArgs) {
  const file = task.process.files.get(a.int(0));
  readable(file);
  if (!file.seekable) throw errno(E.ESPIPE);
  const pos = a.long(3);
  if (pos < 0) throw errno(E.EINVAL);
  return file.read(task, task.kernel.mem.bytes(a.ptr(1), Math.min(a.ptr(2), MAX_RW)), pos);
}

function pwrite64(task: Task, a: SyscallArgs) {
  const file = task.process.files.get(a.int(0));
  writable(file);
  if (!file.seekable) throw errno(E.ESPIPE);
  const pos = a.long(3);
  if (pos < 0) throw errno(E.EINVAL);
  return file.write(task, task.kernel.mem.bytes(a.ptr(1), Math.min(a.ptr(2), MAX_RW)), pos);
}

const RWF_HIPRI = 0x1;
const RWF_DSYNC = 0x2;
const RWF_SYNC = 0x4;
const RWF_NOWAIT = 0x8;
const RWF_APPEND = 0x10;
/** The RWF_* flags honoured; the rest (RWF_NOAPPEND, RWF_ATOMIC, RWF_DONTCACHE...) answer EOPNOTSUPP, as a kernel or file without them does. */
const RWF_HONOURED = RWF_HIPRI | RWF_DSYNC | RWF_SYNC | RWF_NOWAIT | RWF_APPEND;

/** Runs `io` with the file's status flags changed for this one call (RWF_NOWAIT, RWF_APPEND, a later vector). */
function withFlags<T>(file: OpenFile, set: number, io: () => T): T {
  const flags = file.flags;
  if ((flags | set) === flags) return io();
  file.flags |= set;
  try {
    return io();
  } finally {
    file.flags = (file.flags & ~set) | (flags & set);
  }
}

/** Could RWF_NOWAIT be honoured on this file (Linux's FMODE_NOWAIT)? Files that may wait: pipes, sockets, host files and streams. */
function nowaitOk(file: OpenFile): boolean {
  return file instanceof PipeEnd || file instanceof Socket || file instanceof HostFile || file.waitQueue !== null;
}

/**
 * preadv2/pwritev2: preadv/pwritev at `pos` (-1: the file offset, as
 * readv/writev), with RWF_* flags: HIPRI (no polled I/O here: a plain
 * transfer), DSYNC/SYNC (the host file is synced after a write), NOWAIT
 * (EAGAIN rather than waiting) and APPEND (a write at the end of the file).
 */
function vectored2(task: Task, a: SyscallArgs, dir: 'read' | 'write'): SyscallResult {
  const pos = a.long(3);
  const flags = a.int(5);
  const file = task.process.files.get(a.int(0));
  if (pos < -1) throw errno(E.EINVAL);
  if (dir === 'read') readable(file);
  else writable(file);
  if (pos !== -1 && !file.seekable) throw errno(E.ESPIPE);
  readIovecs(task, a.ptr(1), a.int(2));
  if ((flags & ~RWF_HONOURED) !== 0) throw errno(E.EOPNOTSUPP);
  if ((flags & RWF_NOWAIT) !== 0 && !nowaitOk(file)) throw errno(E.EOPNOTSUPP);
  let at: number | null = pos === -1 ? null : pos;
  let set = (flags & RWF_NOWAIT) !== 0 ? fcntl.O_NONBLOCK : 0;
  if (dir === 'write' && (flags & RWF_APPEND) !== 0) {
    // Appended whatever the offset; the file offset moves only for -1.
    if (at !== null && file.seekable) at = file.size();
    else set |= fcntl.O_APPEND;
  }
  const r = withFlags(file, set, () => vectored(task, a, dir, at));
  if (dir === 'write' && typeof r === 'number' && r > 0 && (flags & (RWF_DSYNC | RWF_SYNC)) !== 0 && file instanceof HostFile) {
    try {
      if ((flags & RWF_SYNC) !== 0) fs.fsyncSync(file.fd);
      else fs.fdatasyncSync(file.fd);
    } catch {
      return errno(E.EIO);
    }
  }
  return r;
}

/** Pipes take the vectors as one transfer, as Linux's pipe_read/pipe_write: a write of at most PIPE_BUF is atomic, a blocking one waits until all is written. */
function pipeVectored(task: Task, file: PipeEnd, views: Uint8Array[], dir: 'read' | 'write'): IoResult {
  const total = views.reduce((n, v) => n + v.length, 0);
  if (dir === 'write') {
    const data = new Uint8Array(total);
    views.reduce((off, v) => (data.set(v, off), off + v.length), 0);
    return file.write(task, data);
  }
  // A read never takes more than the pipe can hold.
  const buf = new Uint8Array(Math.min(total, Math.max(file.pipe.capacity, file.pipe.size)));
  const r = file.read(task, buf);
  if (typeof r !== 'number') return r;
  let off = 0;
  for (const v of views) {
    if (off >= r) break;
    const n = Math.min(v.length, r - off);
    v.set(buf.subarray(off, off + n));
    off += n;
  }
  return r;
}

/** readv/writev: one pass over the vectors; a short transfer ends it, as Linux does. */
function vectored(task: Task, a: SyscallArgs, dir: 'read' | 'write', pos: number | null) {
  const file = task.process.files.get(a.int(0));
  if (dir === 'read') readable(file);
  else writable(file);
  if (pos !== null && !file.seekable) throw errno(E.ESPIPE);
  const mem = task.kernel.mem;
  // Empty vectors are skipped whatever their base ({NULL, 0} is what musl's stdio writes at exit).
  const buffers = (): Uint8Array[] => readIovecs(task, a.ptr(1), a.int(2)).filter(([, len]) => len > 0).map(([base, len]) => mem.bytes(base, len));
  if (file instanceof PipeEnd) return pipeVectored(task, file, buffers(), dir);
  if (file instanceof Socket) {
    // A socket takes the vectors in one call: a datagram is one message, however many buffers carry it.
    const views = buffers();
    if (dir === 'read') return file.readv(task, views);
    const data = new Uint8Array(views.reduce((n, v) => n + v.length, 0));
    views.reduce((off, v) => (data.set(v, off), off + v.length), 0);
    return file.write(task, data);
  }
  let done = 0;
  for (const [base, len] of readIovecs(task, a.ptr(1), a.int(2))) {
    if (len === 0) continue;
    const buf = mem.bytes(base, len);
    const at = pos === null ? null : pos + done;
    // After the first vector nothing waits: the bytes already moved are the answer.
    const io = (): IoResult => (dir === 'read' ? file.read(task, buf, at) : file.write(task, buf, at));
    const r = done === 0 ? io() : withFlags(file, fcntl.O_NONBLOCK, io);
    if (typeof r !== 'number') return done > 0 ? done : r;
    done += r;
    if (r < len) break;
  }
  return done;
}

const SEEK_SET = 0;
const SEEK_CUR = 1;
const SEEK_END = 2;
const SEEK_DATA = 3;
const SEEK_HOLE = 4;

function lseek(task: Task, a: SyscallArgs) {
  const file = notPath(task.process.files.get(a.int(0)));
  if (file.seeksNowhere) return 0;
  if (!file.seekable) throw errno(E.ESPIPE);
  const off = a.long(1);
  const whence = a.uint(2);
  if (file.seekTo) return file.seekTo(off, whence);
  let pos: number;
  switch (whence) {
    case SEEK_SET: pos = off; break;
    case SEEK_CUR: pos = file.pos + off; break;
    case SEEK_END: pos = file.size() + off; break;
    case SEEK_DATA: {
      // Files have no holes here: data is everywhere before the end. (A negative offset is a huge one, as Linux compares.)
      if (off < 0 || off >= file.size()) throw errno(E.ENXIO);
      pos = off;
      break;
    }
    case SEEK_HOLE: {
      if (off < 0 || off >= file.size()) throw errno(E.ENXIO);
      pos = file.size();
      break;
    }
    default: throw errno(E.EINVAL);
  }
  if (pos < 0) throw errno(E.EINVAL);
  file.pos = pos;
  return pos;
}

export const readWrite: Family = {
  read: supported(read),
  write: supported(write),
  pread64: supported(pread64),
  pwrite64: supported(pwrite64),
  readv: supported((t, a) => vectored(t, a, 'read', null)),
  writev: supported((t, a) => vectored(t, a, 'write', null)),
  preadv: supported((t, a) => vectored(t, a, 'read', a.long(3))),
  pwritev: supported((t, a) => vectored(t, a, 'write', a.long(3))),
  preadv2: partial('RWF_HIPRI (a plain read), RWF_NOWAIT (EAGAIN instead of waiting; EOPNOTSUPP on devices); other RWF_* flags EOPNOTSUPP', (t, a) => vectored2(t, a, 'read')),
  pwritev2: partial('RWF_HIPRI, RWF_DSYNC/RWF_SYNC (the host file synced after the write), RWF_NOWAIT, RWF_APPEND; other RWF_* flags (RWF_NOAPPEND, RWF_ATOMIC...) EOPNOTSUPP', (t, a) => vectored2(t, a, 'write')),
  lseek: supported(lseek),
};
