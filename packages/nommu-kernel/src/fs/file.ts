import * as fs from 'node:fs';
import * as tty from 'node:tty';
import { OffloadMode, type FileOffload } from '@nommu/x86-cpu';
import { E, errno, hostErrno, type Errno } from '../errno.js';
import { raiseSigpipe } from '../signals.js';
import { BLOCK } from '../syscalls.js';
import type { Task } from '../task/task.js';
import { S_IFCHR, statFromHost, syntheticStat, type KStat } from './stat.js';
import { FIONREAD } from './tty.js';
import { anyLocks, inodeKey, releaseDescription, releasePosix } from './locks.js';
import { WaitQueue } from './wait.js';
import { readableSource } from './stdio.js';
import type { Mount } from './vfs.js';

export const O_ACCMODE = 0o3;
export const O_RDONLY = 0o0;
export const O_WRONLY = 0o1;
export const O_RDWR = 0o2;
export const O_CREAT = 0o100;
export const O_EXCL = 0o200;
export const O_NOCTTY = 0o400;
export const O_TRUNC = 0o1000;
export const O_APPEND = 0o2000;
export const O_NONBLOCK = 0o4000;
export const O_DIRECTORY = 0o200000;
export const O_NOFOLLOW = 0o400000;
export const O_CLOEXEC = 0o2000000;
export const O_PATH = 0o10000000;
/** O_TMPFILE as open(2) takes it: __O_TMPFILE with O_DIRECTORY. */
export const O_TMPFILE = 0o20200000;

export type IoResult = number | Errno | typeof BLOCK;

/**
 * A file gets a backend slot only after this many reads and writes through
 * the kernel: handing a descriptor to the backend costs a message each way
 * (~5-10 us), which a file read once (its data, then the end of file) never repays.
 */
const OFFLOAD_AFTER = 2;

let generation = 0;
/** Bumped whenever a descriptor table or a file's status flags change: when the CPU backend's offload table must be looked at again. */
export function filesGeneration(): number {
  return generation;
}

/** Told of a host file's data reads (IN_ACCESS) and writes (IN_MODIFY), and of its last close (task null), while fs/inotify.ts watches anything. */
type FileEvents = (task: Task | null, file: HostFile, mask: number) => void;
let fileEvents: FileEvents | null = null;
/** Set by fs/inotify.ts while some watch exists: host files are then never offloaded, so their I/O passes the kernel. */
export function setFileEvents(hook: FileEvents | null): void {
  fileEvents = hook;
  generation++;
}

export const POLL = { IN: 0x1, PRI: 0x2, OUT: 0x4, ERR: 0x8, HUP: 0x10, NVAL: 0x20, RDNORM: 0x40, WRNORM: 0x100 } as const;

/** d_type values. */
export const DT = { UNKNOWN: 0, FIFO: 1, CHR: 2, DIR: 4, BLK: 6, REG: 8, LNK: 10, SOCK: 12 } as const;

export interface DirEntry {
  name: string;
  ino: number;
  type: number;
}

/**
 * An open file description: what dup() and fork share (offset, status flags).
 * Subclasses implement the operations their kind of file has; the rest answer
 * the errno Linux gives.
 */
export abstract class OpenFile {
  refs = 1;
  #pos = 0;
  /** While the CPU backend holds this file for offloaded I/O: its slot (the offset lives there when Positioned). */
  #offload: { io: FileOffload; slot: number; positioned: boolean } | null = null;
  #flags: number;
  constructor(
    flags: number,
    readonly guestPath: string,
  ) {
    this.#flags = flags;
  }

  /** The status flags (O_*); a change may change what the backend may offload. */
  get flags(): number {
    return this.#flags;
  }
  set flags(v: number) {
    this.#flags = v;
    generation++;
  }

  /** The file offset. */
  get pos(): number {
    const o = this.#offload;
    return o !== null && o.positioned ? o.io.getPos(o.slot) : this.#pos;
  }
  set pos(v: number) {
    const o = this.#offload;
    if (o !== null && o.positioned) o.io.setPos(o.slot, v);
    else this.#pos = v;
  }

  /**
   * What the CPU backend may do itself with this file's calls (OffloadMode
   * bits; 0: nothing), on `offloadHostFd()`: only what the file's own read and
   * write would do with that descriptor.
   */
  offloadMode(): number {
    return 0;
  }
  offloadHostFd(): number {
    return -1;
  }
  /** Reads and writes that moved data, done by the kernel itself, counted up to OFFLOAD_AFTER. */
  #kernelIo = 0;
  /** A read or write the kernel did: after OFFLOAD_AFTER of them, the file is worth a backend slot. */
  protected noteIo(): void {
    if (this.#kernelIo < OFFLOAD_AFTER && ++this.#kernelIo === OFFLOAD_AFTER) generation++;
  }
  /** The file's slot in `io` (attached the first time, with the file's mode refreshed each time); -1 if it is not offloaded. */
  offloadSlot(io: FileOffload): number {
    if (this.#kernelIo < OFFLOAD_AFTER) return -1;
    const mode = this.offloadMode();
    let o = this.#offload;
    if (o === null) {
      if (mode === 0) return -1;
      const slot = io.attach(this.offloadHostFd());
      if (slot < 0) return -1;
      o = this.#offload = { io, slot, positioned: false };
    } else if (o.io !== io) {
      return -1;
    }
    const positioned = (mode & OffloadMode.Positioned) !== 0;
    if (positioned !== o.positioned) {
      if (positioned) io.setPos(o.slot, this.#pos);
      else this.#pos = io.getPos(o.slot);
      o.positioned = positioned;
    }
    io.setMode(o.slot, mode);
    return mode === 0 ? -1 : o.slot;
  }
  #detachOffload(): void {
    const o = this.#offload;
    if (o === null) return;
    if (o.positioned) this.#pos = o.io.getPos(o.slot);
    this.#offload = null;
    o.io.detach(o.slot);
  }

  get readable(): boolean {
    return (this.flags & O_ACCMODE) !== O_WRONLY && (this.flags & O_PATH) === 0;
  }
  get writable(): boolean {
    return (this.flags & O_ACCMODE) !== O_RDONLY && (this.flags & O_PATH) === 0;
  }
  /** Can lseek move this file's offset? (ESPIPE otherwise) */
  get seekable(): boolean {
    return false;
  }
  /** Does lseek answer 0 and move nothing, whatever it asks (Linux's noop_llseek: eventfd, timerfd, signalfd, epoll, inotify)? */
  get seeksNowhere(): boolean {
    return false;
  }

  abstract stat(): KStat;
  read(_task: Task, _buf: Uint8Array, _pos: number | null): IoResult {
    return errno(E.EINVAL);
  }
  write(_task: Task, _data: Uint8Array, _pos: number | null): IoResult {
    return errno(E.EINVAL);
  }
  ioctl(_task: Task, _request: number, _argp: number): number | Errno {
    return errno(E.ENOTTY);
  }
  /** Size for SEEK_END. */
  size(): number {
    return this.stat().size;
  }
  /** lseek of a file whose offset means nothing (memory devices): the answer, instead of the usual rules. */
  seekTo?(offset: number, whence: number): number;
  /**
   * Readiness now, as poll(2) events (POLLIN 1, POLLOUT 4, POLLERR 8, POLLHUP 16),
   * seen by `task` when given (a signalfd answers for the caller's signals).
   */
  poll(_task?: Task): number {
    return POLL.IN | POLL.OUT;
  }
  /**
   * The queue woken whenever this file's readiness may change: how poll,
   * select and epoll sleep on it. null for files that are always ready
   * (regular files, most devices), which epoll refuses with EPERM as Linux does.
   */
  get waitQueue(): WaitQueue | null {
    return null;
  }
  /** Wakes the parked `task` when this file's readiness may change (joins `waitQueue`). */
  watch(task: Task): void {
    this.waitQueue?.add(task);
  }
  /** A directory's entries (getdents64 walks them with `pos` as the index); null if not a directory. */
  dirEntries(): DirEntry[] | null {
    return null;
  }
  /** Called when the last descriptor referring to it closes. */
  release(): void {}
  /** What advisory locks (flock, fcntl) are keyed by: the file's inode. */
  lockKey(): string {
    return inodeKey(this, null);
  }

  get(): this {
    this.refs++;
    return this;
  }
  put(): void {
    if (--this.refs !== 0) return;
    if (anyLocks()) releaseDescription(this);
    this.#detachOffload();
    this.release();
  }
}

/** A file of the host filesystem under the guest root or another mount. */
export class HostFile extends OpenFile {
  constructor(
    readonly fd: number,
    flags: number,
    guestPath: string,
    readonly hostPath: string,
    /** The mount it was opened on (its st_dev, read-only flag and statfs); null: the root as the host sees it. */
    readonly mount: Mount | null = null,
  ) {
    super(flags, guestPath);
  }

  /**
   * A host file without positional I/O (a terminal or serial line a bind
   * mount shows): found at its first pread failing with ESPIPE; from then on
   * it is read and written at the host's own offset, and lseek is ESPIPE.
   */
  #stream = false;

  override get seekable(): boolean {
    return !this.#stream;
  }
  /** Is the host file a regular file (fstat once, at the first offload question)? */
  #regular: boolean | null = null;

  /** A regular host file: the backend may pread/pwrite it at the offset, as read and write here do (not O_APPEND writes, which need the size). */
  override offloadMode(): number {
    if (this.#stream || (this.flags & O_PATH) !== 0 || fileEvents !== null) return 0;
    if (this.#regular === null) {
      try {
        this.#regular = fs.fstatSync(this.fd).isFile();
      } catch {
        this.#regular = false;
      }
    }
    if (!this.#regular) return 0;
    let mode = OffloadMode.Positioned;
    if (this.readable) mode |= OffloadMode.Read;
    if (this.writable && (this.flags & O_APPEND) === 0) mode |= OffloadMode.Write;
    return mode;
  }
  override offloadHostFd(): number {
    return this.fd;
  }
  stat(): KStat {
    const st = statFromHost(fs.fstatSync(this.fd, { bigint: true }));
    return this.mount ? { ...st, dev: this.mount.devOf(st.dev) } : st;
  }
  override read(task: Task, buf: Uint8Array, pos: number | null): IoResult {
    for (;;) {
      try {
        const n = fs.readSync(this.fd, buf, 0, buf.length, this.#stream ? null : (pos ?? this.pos));
        if (n > 0) {
          this.noteIo();
          fileEvents?.(task, this, 0x1 /* IN_ACCESS */);
        }
        if (pos === null && !this.#stream) this.pos += n;
        return n;
      } catch (err) {
        const e = this.#failed(task, err, pos);
        if (e !== null) return e;
      }
    }
  }
  override write(task: Task, data: Uint8Array, pos: number | null): IoResult {
    for (;;) {
      try {
        const at = this.#stream ? null : (pos ?? ((this.flags & O_APPEND) !== 0 ? this.size() : this.pos));
        const n = fs.writeSync(this.fd, data, 0, data.length, at);
        if (n > 0) {
          this.noteIo();
          fileEvents?.(task, this, 0x2 /* IN_MODIFY */);
        }
        if (at !== null && pos === null) this.pos = at + n;
        return n;
      } catch (err) {
        const e = this.#failed(task, err, pos);
        if (e !== null) return e;
      }
    }
  }

  /**
   * A host read or write failed: null to try again without a position (the
   * file turned out to be a stream); for EAGAIN (host devices are opened
   * non-blocking, so Node never waits in a read) a blocking guest waits a
   * little and its call runs again; else the errno.
   */
  #failed(task: Task, err: unknown, pos: number | null): IoResult | null {
    const e = hostErrno(err);
    if (e.errno === E.ESPIPE && !this.#stream) {
      this.#stream = true;
      return pos === null ? null : e;
    }
    if (e.errno !== E.EAGAIN || (this.flags & O_NONBLOCK) !== 0) return e;
    // The host offers no wake-up for a device: look again shortly, Node's event loop running meanwhile.
    return task.kernel.waitDeadline(task, 'host device', process.hrtime.bigint() + 10_000_000n, true);
  }
  #entries: DirEntry[] | null = null;

  /** Read once per open (like a directory stream), in the host filesystem's own order. */
  override dirEntries(): DirEntry[] | null {
    if (this.#entries) return this.#entries;
    const st = fs.fstatSync(this.fd, { bigint: true });
    if (!st.isDirectory()) return null;
    const parent = fs.statSync(this.hostPath + '/..', { bigint: true });
    const out: DirEntry[] = [
      { name: '.', ino: Number(st.ino), type: DT.DIR },
      { name: '..', ino: Number(parent.ino), type: DT.DIR },
    ];
    // In the host directory's own order (fs.opendir, not readdir, which sorts): archives come out as natively.
    for (const d of readDirInOrder(this.hostPath)) {
      let ino = 0;
      try {
        ino = Number(fs.lstatSync(`${this.hostPath}/${d.name}`, { bigint: true }).ino);
      } catch {
        continue; // gone since the listing
      }
      const type = d.isDirectory() ? DT.DIR : d.isFile() ? DT.REG : d.isSymbolicLink() ? DT.LNK : d.isFIFO() ? DT.FIFO
        : d.isCharacterDevice() ? DT.CHR : d.isBlockDevice() ? DT.BLK : d.isSocket() ? DT.SOCK : DT.UNKNOWN;
      out.push({ name: d.name, ino, type });
    }
    this.#entries = out;
    return out;
  }

  override lockKey(): string {
    return inodeKey(this, this.fd);
  }

  override release(): void {
    fileEvents?.(null, this, this.writable ? 0x8 /* IN_CLOSE_WRITE */ : 0x10 /* IN_CLOSE_NOWRITE */);
    try {
      fs.closeSync(this.fd);
    } catch {
      // Already closed by the host: nothing to give back.
    }
  }
}

/**
 * A file whose bytes the kernel makes up at open (/proc). A directory lists
 * its entries at the first getdents, as Linux does, so /proc/self/fd shows
 * the descriptor that reads it.
 */
export class SyntheticFile extends OpenFile {
  #entries: DirEntry[] | null = null;
  constructor(
    flags: number,
    guestPath: string,
    private readonly data: Uint8Array,
    private readonly mode: number,
    private readonly listEntries: (() => DirEntry[]) | null = null,
  ) {
    super(flags, guestPath);
  }
  override dirEntries(): DirEntry[] | null {
    if (this.listEntries && !this.#entries) this.#entries = this.listEntries();
    return this.#entries;
  }
  override get seekable(): boolean {
    return true;
  }
  stat(): KStat {
    return { ...syntheticStat(this.mode), size: 0 };
  }
  override size(): number {
    return this.data.length;
  }
  override read(_task: Task, buf: Uint8Array, pos: number | null): IoResult {
    const at = pos ?? this.pos;
    const n = Math.max(0, Math.min(buf.length, this.data.length - at));
    buf.set(this.data.subarray(at, at + n));
    if (pos === null) this.pos += n;
    return n;
  }
}

/** Where a guest's standard stream goes: a host descriptor or the embedder's callback. */
export interface StreamSink {
  /**
   * Takes all of `data`, or returns false when the reader went away before
   * it took any (a host pipe's EPIPE): the guest's write then gets SIGPIPE
   * and EPIPE, as a write to a pipe without readers. Any other return value
   * (a callback's own) means taken.
   */
  write(data: Uint8Array): boolean | void;
  /** The host descriptor behind it, if any (for isatty and terminal control). */
  readonly hostFd?: number;
  /**
   * write() writes all of the data, unchanged, to hostFd (waiting while it is
   * full; a closed reader ends it): a CPU backend may then do the guest's
   * writes itself (OffloadMode.Stream), unless hostFd is a terminal.
   */
  readonly direct?: boolean;
}

export interface StreamSource {
  /** Reads up to buf.length bytes; 0 at end of input; null when nothing is ready yet. */
  read(buf: Uint8Array): number | null;
  /** Would a read return without waiting? */
  ready?(): boolean;
  /** Bytes a read would return now (FIONREAD). */
  queued?(): number;
  /** After a null read: calls `ready` once when a read may succeed. */
  wait?(ready: () => void): void;
  /** Lets go of host resources (the kernel is done). */
  close?(): void;
  /** Passes host input through a line discipline before the guest sees it. */
  filter?: ((data: Buffer) => Buffer) | undefined;
  readonly hostFd?: number;
}

/** A standard stream of the nommu process, as a character device. */
export class StreamFile extends OpenFile {
  constructor(
    flags: number,
    guestPath: string,
    private readonly sink: StreamSink | null,
    private readonly source: StreamSource | null,
    /** Its stat when it is a device of the guest's /dev (the console); default the host descriptor's. */
    private readonly statOf: (() => KStat) | null = null,
  ) {
    super(flags, guestPath);
  }

  /** The host descriptor behind it, if any. */
  get hostFd(): number | undefined {
    return this.sink?.hostFd ?? this.source?.hostFd;
  }
  #notTerminal: boolean | null = null;

  /** Writes to a direct host sink that is not a terminal (where no terminal rule applies): the backend may do them. */
  override offloadMode(): number {
    const sink = this.sink;
    if (sink?.direct !== true || sink.hostFd === undefined || !this.writable) return 0;
    this.#notTerminal ??= !tty.isatty(sink.hostFd);
    return this.#notTerminal ? OffloadMode.Write | OffloadMode.Stream : 0;
  }
  override offloadHostFd(): number {
    return this.sink?.hostFd ?? -1;
  }

  stat(): KStat {
    if (this.statOf !== null) return this.statOf();
    const fd = this.hostFd;
    if (fd !== undefined) {
      try {
        return statFromHost(fs.fstatSync(fd, { bigint: true }));
      } catch {
        // fall through to a plain character device
      }
    }
    return syntheticStat(S_IFCHR | 0o620, 0x8800);
  }
  /** Is this the terminal nommu runs on (so terminal rules and ioctls apply)? */
  #terminal(task: Task): boolean {
    const fd = this.sink?.hostFd ?? this.source?.hostFd;
    return fd !== undefined && task.kernel.terminal !== null && tty.isatty(fd);
  }

  override read(task: Task, buf: Uint8Array): IoResult {
    const src = this.source;
    if (!src) return errno(E.EBADF);
    if (this.#terminal(task)) {
      const stop = task.kernel.terminalCheck(task, 21); // SIGTTIN
      if (stop !== 0) return stop;
    }
    const n = src.read(buf);
    if (n !== null) return n;
    if ((this.flags & O_NONBLOCK) !== 0 || !src.wait) return errno(E.EAGAIN);
    // Nothing yet: the task sleeps, Node's event loop runs, the data wakes it.
    task.kernel.block(task, 'read from the host', true);
    this.watch(task);
    return BLOCK;
  }
  override write(task: Task, data: Uint8Array): IoResult {
    if (!this.sink) return errno(E.EBADF);
    if (task.kernel.terminal?.stopsBackgroundWrites && this.#terminal(task)) {
      const stop = task.kernel.terminalCheck(task, 22); // SIGTTOU
      if (stop !== 0) return stop;
    }
    if (data.length > 0) this.noteIo();
    if (this.sink.write(data) === false) {
      // The reader is gone, as for a pipe without readers.
      raiseSigpipe(task);
      return errno(E.EPIPE);
    }
    return data.length;
  }

  override poll(): number {
    let ev = 0;
    if (this.sink) ev |= POLL.OUT;
    if (this.source && (this.source.ready?.() ?? true)) ev |= POLL.IN;
    return ev;
  }

  /** Woken by host input; only an input stream that can be waited on ever changes. */
  override get waitQueue(): WaitQueue | null {
    return this.source?.wait ? sourceQueue(this.source) : null;
  }

  override watch(task: Task): void {
    const src = this.source;
    if (!src?.wait) return;
    const q = sourceQueue(src);
    q.add(task);
    if (src.ready?.() ?? true) return;
    // The source keeps one callback: the queue's, which wakes every watcher.
    src.wait(() => q.wake());
  }

  /** Terminal requests, answered only when the host descriptor is the terminal nommu runs on; FIONREAD on a host pipe too. */
  override ioctl(task: Task, request: number, argp: number): number | Errno {
    const queued = this.source?.queued?.() ?? 0;
    if (this.#terminal(task)) return task.kernel.terminal!.ioctl(task, request, argp, queued);
    if (request === FIONREAD && this.source?.queued) {
      task.kernel.mem.setI32(argp, queued);
      return 0;
    }
    return errno(E.ENOTTY);
  }
}

/** One queue per host source, however many open files (dup, /dev/stdin) read it. */
const sourceQueues = new WeakMap<StreamSource, WaitQueue>();
function sourceQueue(src: StreamSource): WaitQueue {
  let q = sourceQueues.get(src);
  if (!q) {
    q = new WaitQueue(true);
    sourceQueues.set(src, q);
  }
  return q;
}

/** Host descriptor sinks/sources for the CLI: synchronous, retrying on EAGAIN. */
export function hostSink(fd: number): StreamSink {
  return {
    hostFd: fd,
    direct: true,
    write(data: Uint8Array): boolean {
      let off = 0;
      while (off < data.length) {
        try {
          off += fs.writeSync(fd, data, off, data.length - off);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'EAGAIN') continue;
          // The reader is gone: the guest's write says so if none of it went (the next one will, else).
          if ((err as NodeJS.ErrnoException).code === 'EPIPE') return off > 0;
          throw err;
        }
      }
      return true;
    },
  };
}

/**
 * The host's stdin for the guest. Files are read synchronously (they never
 * block); pipes, terminals and sockets through Node's stream, so a guest
 * waiting for input never stalls Node's event loop.
 */
export function hostSource(fd: number): StreamSource {
  let kind: fs.Stats | null = null;
  try {
    kind = fs.fstatSync(fd);
  } catch {
    kind = null;
  }
  if (fd === 0 && kind && (kind.isFIFO() || kind.isSocket() || tty.isatty(fd))) return streamSource(process.stdin, fd);
  return syncSource(fd);
}

function streamSource(stream: NodeJS.ReadStream, fd: number): StreamSource {
  const source = readableSource(stream);
  const pause = source.close!;
  return Object.assign(source, {
    hostFd: fd,
    close(): void {
      pause();
      if (!tty.isatty(fd)) stream.destroy();
      else (stream as unknown as { unref?: () => void }).unref?.();
    },
  });
}

function syncSource(fd: number): StreamSource {
  return {
    hostFd: fd,
    read(buf: Uint8Array): number {
      for (;;) {
        try {
          return fs.readSync(fd, buf, 0, buf.length, null);
        } catch (err) {
          const code = (err as NodeJS.ErrnoException).code;
          if (code === 'EAGAIN') continue;
          if (code === 'EOF') return 0;
          throw err;
        }
      }
    },
  };
}

interface FdEntry {
  file: OpenFile;
  cloexec: boolean;
}

/** A process's descriptor table (shared by CLONE_FILES). */
export class FdTable {
  readonly #fds: (FdEntry | undefined)[] = [];
  limit = 1024;
  /** Processes sharing this table (CLONE_FILES). */
  users = 1;

  get(fd: number): OpenFile {
    const e = fd >= 0 ? this.#fds[fd] : undefined;
    if (!e) throw errno(E.EBADF);
    return e.file;
  }
  /** The file at fd, if open (no errno). */
  peek(fd: number): OpenFile | undefined {
    return this.#fds[fd]?.file;
  }

  /** Installs `file` at the lowest free descriptor >= min; takes over the caller's reference. */
  install(file: OpenFile, cloexec: boolean, min = 0): number {
    for (let fd = min; fd < this.limit; fd++) {
      if (!this.#fds[fd]) {
        this.#fds[fd] = { file, cloexec };
        generation++;
        return fd;
      }
    }
    file.put();
    throw errno(E.EMFILE);
  }

  /** Installs at exactly `fd`, closing what was there (dup2). */
  installAt(fd: number, file: OpenFile, cloexec: boolean): void {
    if (fd < 0 || fd >= this.limit) throw errno(E.EBADF);
    const old = this.#fds[fd];
    if (old && anyLocks()) releasePosix(old.file.lockKey(), this);
    this.#fds[fd] = { file, cloexec };
    generation++;
    old?.file.put();
  }

  close(fd: number): void {
    const e = fd >= 0 ? this.#fds[fd] : undefined;
    if (!e) throw errno(E.EBADF);
    // POSIX record locks belong to the table: any close of the file drops them.
    if (anyLocks()) releasePosix(e.file.lockKey(), this);
    this.#fds[fd] = undefined;
    generation++;
    e.file.put();
  }

  cloexec(fd: number): boolean {
    this.get(fd);
    return this.#fds[fd]!.cloexec;
  }
  setCloexec(fd: number, on: boolean): void {
    this.get(fd);
    this.#fds[fd]!.cloexec = on;
  }

  /** Descriptors in use, ascending. */
  list(): number[] {
    const out: number[] = [];
    this.#fds.forEach((e, fd) => e && out.push(fd));
    return out;
  }

  /** A copy sharing the open file descriptions (fork without CLONE_FILES). */
  clone(): FdTable {
    const t = new FdTable();
    t.limit = this.limit;
    this.#fds.forEach((e, fd) => {
      if (e) t.#fds[fd] = { file: e.file.get(), cloexec: e.cloexec };
    });
    return t;
  }

  closeOnExec(): void {
    this.#fds.forEach((e, fd) => e?.cloexec && this.close(fd));
  }

  closeAll(): void {
    this.#fds.forEach((e, fd) => e && this.close(fd));
  }
}

/** A host directory's entries in its own order (what getdents gives natively); fs.readdirSync sorts them by name. */
function readDirInOrder(path: string): fs.Dirent[] {
  const dir = fs.opendirSync(path, { bufferSize: 256 });
  const out: fs.Dirent[] = [];
  try {
    for (let d = dir.readSync(); d !== null; d = dir.readSync()) out.push(d);
  } finally {
    dir.closeSync();
  }
  return out;
}
