import * as fs from 'node:fs';
import { E, errno, type Errno } from '../errno.js';
import { raiseSigpipe } from '../signals.js';
import { BLOCK } from '../syscalls.js';
import type { Task, WaitState } from '../task/task.js';
import { O_NONBLOCK, OpenFile, POLL, type IoResult } from './file.js';
import { S_IFIFO, statFromHost, syntheticStat, type KStat } from './stat.js';
import { FIONREAD } from './tty.js';
import { WaitQueue } from './wait.js';

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
  /** Readers wait here for data or for the last writer to go (Linux's rd_wait). */
  readonly readQueue = new WaitQueue();
  /** Writers wait here for room or for the last reader to go (wr_wait). */
  readonly writeQueue = new WaitQueue();
  /** Opens of each end so far: a FIFO opener waits for the other end's count to move. */
  readOpens = 0;
  writeOpens = 0;
  /** For a FIFO: the name it was opened by (what fstat and /proc/self/fd show). */
  fifo: { guest: string; host: string } | null = null;
  /** Called when no end is open any more (a FIFO's buffer is then dropped). */
  onLastClose: (() => void) | null = null;

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

  /** Copies the first bytes of the pipe into `buf` without taking them (tee, and splice before it knows how many it may take). */
  peek(buf: Uint8Array): number {
    let n = 0;
    for (const c of this.#chunks) {
      if (n >= buf.length) break;
      const take = Math.min(c.length, buf.length - n);
      buf.set(c.subarray(0, take), n);
      n += take;
    }
    return n;
  }

  write(data: Uint8Array): void {
    this.#chunks.push(data.slice());
    this.size += data.length;
  }

  wait(task: Task, queue: WaitQueue, reason: string): typeof BLOCK {
    task.kernel.block(task, reason, false);
    queue.add(task);
    return BLOCK;
  }
}

/** A blocking write parked part way: how much of it is in the pipe already (its call runs again for the rest). */
class PipeWrite implements WaitState {
  constructor(
    readonly pipe: Pipe,
    readonly total: number,
    public done: number,
  ) {}
  /** Interrupted: the bytes stay in the pipe; the count is the call's answer. */
  cancel(): void {}
}

/** One end of a pipe, or a FIFO opened for reading, writing or both (O_RDWR). */
export class PipeEnd extends OpenFile {
  readonly isWriter: boolean;

  constructor(
    readonly pipe: Pipe,
    flags: number,
    readonly isReader: boolean,
    /** A FIFO opened O_RDWR is a reader and a writer at once. */
    both = false,
  ) {
    super(flags, pipe.fifo?.guest ?? `pipe:[${pipe.inode}]`);
    this.isWriter = !isReader || both;
    if (isReader) {
      pipe.readers++;
      pipe.readOpens++;
      pipe.writeQueue.wake();
    }
    if (this.isWriter) {
      pipe.writers++;
      pipe.writeOpens++;
      pipe.readQueue.wake();
    }
  }

  stat(): KStat {
    const fifo = this.pipe.fifo;
    if (fifo) {
      try {
        return statFromHost(fs.lstatSync(fifo.host, { bigint: true }));
      } catch {
        // unlinked since: the pipe lives on without its name
      }
    }
    return { ...syntheticStat(S_IFIFO | 0o600, 0, this.pipe.inode), dev: 12 };
  }

  override poll(): number {
    const p = this.pipe;
    let ev = 0;
    if (this.isReader) ev |= (p.size > 0 ? POLL.IN : 0) | (p.writers === 0 ? POLL.HUP : 0);
    if (this.isWriter) ev |= (p.readers === 0 ? POLL.ERR : 0) | (p.capacity - p.size >= PIPE_BUF ? POLL.OUT : 0);
    return ev;
  }

  override get waitQueue(): WaitQueue {
    return this.isReader ? this.pipe.readQueue : this.pipe.writeQueue;
  }

  override watch(task: Task): void {
    if (this.isReader) this.pipe.readQueue.add(task);
    if (this.isWriter) this.pipe.writeQueue.add(task);
  }

  override read(task: Task, buf: Uint8Array): IoResult {
    const p = this.pipe;
    if (buf.length === 0) return 0;
    if (p.size > 0) {
      const n = p.read(buf);
      p.writeQueue.wake();
      return n;
    }
    if (p.writers === 0) return 0;
    if ((this.flags & O_NONBLOCK) !== 0) return errno(E.EAGAIN);
    return p.wait(task, p.readQueue, 'pipe read');
  }

  /**
   * pipe_write: a write of at most PIPE_BUF bytes goes in whole or not at
   * all; a larger one takes what room there is. Without O_NONBLOCK the call
   * waits until every byte is in (a signal then ends it with the count so
   * far, as Linux does); with it, a write that finds no room is EAGAIN.
   */
  override write(task: Task, data: Uint8Array): IoResult {
    const p = this.pipe;
    const st = task.waitState;
    const parked = st instanceof PipeWrite && st.pipe === p && st.total === data.length ? st : null;
    let done = parked?.done ?? 0;
    // No readers: SIGPIPE to the writing thread, and EPIPE if it survives (or the count already written).
    if (p.readers === 0) {
      raiseSigpipe(task);
      return done > 0 ? done : errno(E.EPIPE);
    }
    if (data.length === 0) return 0;
    const space = p.capacity - p.size;
    const left = data.length - done;
    // Writes of at most PIPE_BUF bytes are atomic: all or nothing.
    const n = data.length <= PIPE_BUF ? (space >= left ? left : 0) : Math.min(space, left);
    if (n > 0) {
      p.write(data.subarray(done, done + n));
      p.readQueue.wake();
      done += n;
    }
    if (done === data.length) return done;
    if ((this.flags & O_NONBLOCK) !== 0) return done > 0 ? done : errno(E.EAGAIN);
    // Wait for room; the call runs again with what is written so far, which an interrupting signal returns.
    if (parked) parked.done = done;
    else task.waitState = new PipeWrite(p, data.length, done);
    p.wait(task, p.writeQueue, 'pipe write');
    if (done > 0) task.interruptCode = -done;
    return BLOCK;
  }

  /** FIONREAD: the bytes in the pipe, asked at either end (as Linux's pipe_ioctl). */
  override ioctl(task: Task, request: number, argp: number): number | Errno {
    if (request !== FIONREAD) return errno(E.ENOTTY);
    task.kernel.mem.setI32(argp, this.pipe.size);
    return 0;
  }

  override release(): void {
    const p = this.pipe;
    if (this.isReader) {
      p.readers--;
      p.writeQueue.wake();
    }
    if (this.isWriter) {
      p.writers--;
      p.readQueue.wake();
    }
    if (p.readers === 0 && p.writers === 0) p.onLastClose?.();
  }
}
