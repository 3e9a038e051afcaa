import { E, errno } from '../errno.js';
import { BLOCK } from '../syscalls.js';
import { bit, UNBLOCKABLE } from '../signal/action.js';
import type { SigInfo } from '../signal/frame.js';
import type { Process, Task } from '../task/task.js';
import { O_NONBLOCK, O_RDWR, OpenFile, POLL, type IoResult } from './file.js';
import { anonStat, type KStat } from './stat.js';
import type { WaitQueue } from './wait.js';

export const SIZEOF_SIGNALFD_SIGINFO = 128;

/** struct signalfd_siginfo offsets. */
const SSI = { SIGNO: 0, ERRNO: 4, CODE: 8, PID: 12, UID: 16, TID: 24, OVERRUN: 32, STATUS: 40, INT: 44, PTR: 48, ADDR: 72 } as const;

/**
 * signalfd(2): reading takes pending signals of the mask (the reader's own and
 * its process's), as sigtimedwait would, instead of running their handlers.
 */
export class SignalFd extends OpenFile {
  override get seeksNowhere(): boolean {
    return true;
  }
  #mask = 0n;

  constructor(
    mask: bigint,
    flags: number,
    /** The process that made it: whose signals a reader without a task context sees. */
    readonly owner: Process,
  ) {
    super(O_RDWR | (flags & O_NONBLOCK), 'anon_inode:[signalfd]');
    this.mask = mask;
  }

  get mask(): bigint {
    return this.#mask;
  }
  /** SIGKILL and SIGSTOP are never taken through a signalfd. */
  set mask(m: bigint) {
    this.#mask = m & ~UNBLOCKABLE;
  }

  stat(): KStat {
    return anonStat();
  }

  #pending(task: Task | undefined): boolean {
    const queues = task ? [task.pending, task.process.pending] : [this.owner.pending];
    return queues.some((q) => q.some((i) => (this.#mask & bit(i.signo)) !== 0n));
  }

  override poll(task?: Task): number {
    return this.#pending(task) ? POLL.IN : 0;
  }

  override get waitQueue(): WaitQueue {
    return this.owner.signalQueue;
  }

  /** The reader's process is the one whose signals can arrive. */
  override watch(task: Task): void {
    task.process.signalQueue.add(task);
  }

  override read(task: Task, buf: Uint8Array): IoResult {
    const room = Math.floor(buf.length / SIZEOF_SIGNALFD_SIGINFO);
    if (room === 0) return errno(E.EINVAL);
    let n = 0;
    while (n < room) {
      const info = task.kernel.takePending(task, this.#mask);
      if (!info) break;
      encode(buf.subarray(n * SIZEOF_SIGNALFD_SIGINFO, (n + 1) * SIZEOF_SIGNALFD_SIGINFO), info);
      n++;
    }
    if (n > 0) return n * SIZEOF_SIGNALFD_SIGINFO;
    if ((this.flags & O_NONBLOCK) !== 0) return errno(E.EAGAIN);
    task.kernel.block(task, 'signalfd read', false);
    this.watch(task);
    return BLOCK;
  }
}

function encode(out: Uint8Array, info: SigInfo): void {
  out.fill(0);
  const dv = new DataView(out.buffer, out.byteOffset, SIZEOF_SIGNALFD_SIGINFO);
  dv.setUint32(SSI.SIGNO, info.signo, true);
  dv.setInt32(SSI.ERRNO, info.errno ?? 0, true);
  dv.setInt32(SSI.CODE, info.code, true);
  if (info.addr !== undefined) {
    dv.setBigUint64(SSI.ADDR, info.addr, true);
    return;
  }
  if (info.timerid !== undefined) {
    dv.setUint32(SSI.TID, info.timerid, true);
    dv.setUint32(SSI.OVERRUN, info.overrun ?? 0, true);
  }
  dv.setUint32(SSI.PID, info.pid ?? 0, true);
  dv.setUint32(SSI.UID, info.uid ?? 0, true);
  if (info.status !== undefined) dv.setInt32(SSI.STATUS, info.status, true);
  if (info.value !== undefined) {
    dv.setInt32(SSI.INT, Number(BigInt.asIntN(32, info.value)), true);
    dv.setBigUint64(SSI.PTR, info.value, true);
  }
}
