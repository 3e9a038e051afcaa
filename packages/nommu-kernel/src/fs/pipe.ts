import { E, errno } from '../errno.js';
import { BLOCK } from '../syscalls.js';
import type { Task } from '../task/task.js';
import { O_NONBLOCK, OpenFile, POLL, type IoResult } from './file.js';
import { S_IFIFO, syntheticStat, type KStat } from './stat.js';

export const PIPE_BUF = 4096;
const DEFAULT_CAPACITY = 65536;
let nextInode = 1;

/** A pipe's buffer and the tasks waiting on it. Lives in the kernel, never on the host. */
export class Pipe {
  readonly #chunks: Uint8Array[] = [];
  size = 0;
  capacity = DEFAULT_CAPACITY;
  readers = 0;
  writers = 0;
  readonly inode = nextInode++;
  readonly #waiters = new Set<Task>();

  read(buf: Uint8Array): number {
    let n = 0;
    while (n < buf.length && this.#chunks.length > 0) {
      const c = this.#chunks[0]!;
      const take = Math.min(c.length, buf.length - n);
      buf.set(c.subarray(0, take), n);
      n += take;
      if (take === c.length) this.#chunks.shift();
      else this.#chunks[0] = c.subarray(take);
    }
    this.size -= n;
    return n;
  }

  write(data: Uint8Array): void {
    this.#chunks.push(data.slice());
    this.size += data.length;
  }

  wait(task: Task, reason: string): typeof BLOCK {
    this.#waiters.add(task);
    task.kernel.block(task, reason, false);
    return BLOCK;
  }

  /** poll/select: wake `task` at the next change. */
  watch(task: Task): void {
    this.#waiters.add(task);
  }

  /** Something changed: every waiter runs its syscall again. */
  wakeAll(): void {
    for (const t of this.#waiters) t.kernel.wakeUp(t, false);
    this.#waiters.clear();
  }
}

/** One end of a pipe (or FIFO). */
export class PipeEnd extends OpenFile {
  constructor(
    readonly pipe: Pipe,
    flags: number,
    readonly isReader: boolean,
  ) {
    super(flags, `pipe:[${pipe.inode}]`);
    if (isReader) pipe.readers++;
    else pipe.writers++;
  }

  stat(): KStat {
    return { ...syntheticStat(S_IFIFO | 0o600, 0, this.pipe.inode), dev: 12 };
  }

  override poll(): number {
    const p = this.pipe;
    if (this.isReader) return (p.size > 0 ? POLL.IN : 0) | (p.writers === 0 ? POLL.HUP : 0);
    return (p.readers === 0 ? POLL.ERR : 0) | (p.capacity - p.size >= PIPE_BUF ? POLL.OUT : 0);
  }

  override watch(task: Task): void {
    this.pipe.watch(task);
  }

  override read(task: Task, buf: Uint8Array): IoResult {
    const p = this.pipe;
    if (buf.length === 0) return 0;
    if (p.size > 0) {
      const n = p.read(buf);
      p.wakeAll();
      return n;
    }
    if (p.writers === 0) return 0;
    if ((this.flags & O_NONBLOCK) !== 0) return errno(E.EAGAIN);
    return p.wait(task, 'pipe read');
  }

  override write(task: Task, data: Uint8Array): IoResult {
    const p = this.pipe;
    // No readers: SIGPIPE to the writing thread, and EPIPE if it survives.
    if (p.readers === 0) {
      task.kernel.sendSignal(task, { signo: 13, code: 0x80 });
      return errno(E.EPIPE);
    }
    if (data.length === 0) return 0;
    const space = p.capacity - p.size;
    // Writes of at most PIPE_BUF bytes are atomic: all or nothing.
    const n = data.length <= PIPE_BUF ? (space >= data.length ? data.length : 0) : Math.min(space, data.length);
    if (n === 0) {
      if ((this.flags & O_NONBLOCK) !== 0) return errno(E.EAGAIN);
      return p.wait(task, 'pipe write');
    }
    p.write(data.subarray(0, n));
    p.wakeAll();
    return n;
  }

  override release(): void {
    if (this.isReader) this.pipe.readers--;
    else this.pipe.writers--;
    this.pipe.wakeAll();
  }
}
