import { E, errno, Socket, type OpenFile, type SyscallArgs, type Task } from '@nommu/kernel';
import { supported, type Family } from './define.js';

const MAX_RW = 0x7ffff000;
const IOV_MAX = 1024;

function readable(file: OpenFile): void {
  if (!file.readable) throw errno(E.EBADF);
}
function writable(file: OpenFile): void {
  if (!file.writable) throw errno(E.EBADF);
}

/** Reads struct iovec[count] at addr: [base, len] pairs. */
function iovecs(task: Task, addr: number, count: number): [number, number][] {
  if (count < 0 || count > IOV_MAX) throw errno(E.EINVAL);
  const mem = task.kernel.mem;
  const out: [number, number][] = [];
  let total = 0;
  for (let i = 0; i < count; i++) {
    const base = mem.ptr(addr + i * 16);
    const len = mem.ptr(addr + i * 16 + 8);
    if (len > MAX_RW) throw errno(E.EINVAL);
    total += len;
    if (total > MAX_RW) throw errno(E.EINVAL);
    out.push([base, len]);
  }
  return out;
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

/** readv/writev: one pass over the vectors; a short transfer ends it, as Linux does. */
function vectored(task: Task, a: SyscallArgs, dir: 'read' | 'write', pos: number | null) {
  const file = task.process.files.get(a.int(0));
  if (dir === 'read') readable(file);
  else writable(file);
  if (pos !== null && !file.seekable) throw errno(E.ESPIPE);
  const mem = task.kernel.mem;
  if (file instanceof Socket) {
    // A socket takes the vectors in one call: a datagram is one message, however many buffers carry it.
    const views = iovecs(task, a.ptr(1), a.int(2)).map(([base, len]) => mem.bytes(base, len));
    if (dir === 'read') return file.readv(task, views);
    const data = new Uint8Array(views.reduce((n, v) => n + v.length, 0));
    views.reduce((off, v) => (data.set(v, off), off + v.length), 0);
    return file.write(task, data);
  }
  let done = 0;
  for (const [base, len] of iovecs(task, a.ptr(1), a.int(2))) {
    if (len === 0) continue;
    const buf = mem.bytes(base, len);
    const at = pos === null ? null : pos + done;
    const r = dir === 'read' ? file.read(task, buf, at) : file.write(task, buf, at);
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
  const file = task.process.files.get(a.int(0));
  if (!file.seekable) throw errno(E.ESPIPE);
  const off = a.long(1);
  const whence = a.uint(2);
  let pos: number;
  switch (whence) {
    case SEEK_SET: pos = off; break;
    case SEEK_CUR: pos = file.pos + off; break;
    case SEEK_END: pos = file.size() + off; break;
    case SEEK_DATA: {
      // Files have no holes here: data is everywhere before the end.
      if (off < 0) throw errno(E.EINVAL);
      if (off >= file.size()) throw errno(E.ENXIO);
      pos = off;
      break;
    }
    case SEEK_HOLE: {
      if (off < 0) throw errno(E.EINVAL);
      if (off >= file.size()) throw errno(E.ENXIO);
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
  lseek: supported(lseek),
};
