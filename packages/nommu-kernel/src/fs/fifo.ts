import * as fs from 'node:fs';
import { E, errno } from '../errno.js';
import { BLOCK } from '../syscalls.js';
import type { Task, WaitState } from '../task/task.js';
import { O_ACCMODE, O_CLOEXEC, O_NONBLOCK, O_RDONLY, O_RDWR, O_WRONLY } from './file.js';
import { Pipe, PipeEnd } from './pipe.js';
import type { Resolved } from './vfs.js';

/** The kernel's pipe behind each FIFO in use, by host device and inode. */
const fifos = new WeakMap<object, Map<string, Pipe>>();

function pipeFor(task: Task, r: Resolved, st: fs.BigIntStats): Pipe {
  const k = task.kernel;
  let table = fifos.get(k);
  if (!table) {
    table = new Map();
    fifos.set(k, table);
  }
  const key = `${st.dev}:${st.ino}`;
  let pipe = table.get(key);
  if (!pipe) {
    const p = new Pipe();
    p.fifo = { guest: r.guest, host: r.host };
    p.onLastClose = () => table.delete(key);
    table.set(key, p);
    pipe = p;
  }
  return pipe;
}

/** A FIFO open that waits for the other end: the end it already counts, and that end's open count when it started. */
class FifoOpen implements WaitState {
  constructor(
    readonly end: PipeEnd,
    readonly otherOpens: number,
  ) {}
  cancel(): void {
    this.end.put();
  }
}

/**
 * open(2) of a FIFO: the host's node only names it; the data goes through a
 * kernel pipe shared by every opener. A reader waits for a writer and a writer
 * for a reader unless O_NONBLOCK (then a writer without reader gets ENXIO);
 * O_RDWR never waits. Returns the descriptor, or BLOCK while waiting.
 */
export function openFifo(task: Task, r: Resolved, st: fs.BigIntStats, flags: number): number | typeof BLOCK {
  const acc = flags & O_ACCMODE;
  const cloexec = (flags & O_CLOEXEC) !== 0;
  const fileFlags = flags & ~O_CLOEXEC;
  const files = task.process.files;
  const pending = task.waitState;
  if (pending instanceof FifoOpen) {
    const p = pending.end.pipe;
    const moved = pending.end.isReader ? p.writeOpens !== pending.otherOpens : p.readOpens !== pending.otherOpens;
    const present = pending.end.isReader ? p.writers > 0 : p.readers > 0;
    if (!moved && !present) return wait(task, pending);
    task.waitState = null;
    return files.install(pending.end, cloexec);
  }
  if (acc !== O_RDONLY && acc !== O_WRONLY && acc !== O_RDWR) throw errno(E.EINVAL);
  const pipe = pipeFor(task, r, st);
  if (acc === O_RDWR) return files.install(new PipeEnd(pipe, fileFlags, true, true), cloexec);
  const nonblock = (flags & O_NONBLOCK) !== 0;
  if (acc === O_WRONLY && nonblock && pipe.readers === 0) {
    if (pipe.writers === 0) pipe.onLastClose?.();
    throw errno(E.ENXIO);
  }
  const reader = acc === O_RDONLY;
  const end = new PipeEnd(pipe, fileFlags, reader);
  const other = reader ? pipe.writers : pipe.readers;
  if (other > 0 || nonblock) return files.install(end, cloexec);
  const st2 = new FifoOpen(end, reader ? pipe.writeOpens : pipe.readOpens);
  task.waitState = st2;
  return wait(task, st2);
}

function wait(task: Task, st: FifoOpen): typeof BLOCK {
  const p = st.end.pipe;
  task.kernel.block(task, 'fifo open', false);
  (st.end.isReader ? p.readQueue : p.writeQueue).add(task);
  return BLOCK;
}
