import { E, errno } from '../errno.js';
import { BLOCK } from '../syscalls.js';
import type { Task } from '../task/task.js';
import { O_NONBLOCK, O_RDWR, OpenFile, POLL, type IoResult } from './file.js';
import { anonStat, type KStat } from './stat.js';
import { WaitQueue } from './wait.js';

export const EFD_SEMAPHORE = 1;
const MAX = 0xfffffffffffffffen;

/** eventfd(2): a 64-bit counter that write adds to and read takes (all of it, or 1 with EFD_SEMAPHORE). */
export class EventFd extends OpenFile {
  override get seeksNowhere(): boolean {
    return true;
  }
  readonly queue = new WaitQueue();

  constructor(
    public count: bigint,
    flags: number,
    readonly semaphore: boolean,
  ) {
    super(O_RDWR | (flags & O_NONBLOCK), 'anon_inode:[eventfd]');
  }

  stat(): KStat {
    return anonStat();
  }

  override poll(): number {
    return (this.count > 0n ? POLL.IN : 0) | (this.count < MAX ? POLL.OUT : 0);
  }

  override get waitQueue(): WaitQueue {
    return this.queue;
  }

  override read(task: Task, buf: Uint8Array): IoResult {
    if (buf.length < 8) return errno(E.EINVAL);
    if (this.count === 0n) {
      if ((this.flags & O_NONBLOCK) !== 0) return errno(E.EAGAIN);
      task.kernel.block(task, 'eventfd read', false);
      this.queue.add(task);
      return BLOCK;
    }
    const take = this.semaphore ? 1n : this.count;
    this.count -= take;
    new DataView(buf.buffer, buf.byteOffset, 8).setBigUint64(0, take, true);
    this.queue.wake();
    return 8;
  }

  override write(task: Task, data: Uint8Array): IoResult {
    if (data.length < 8) return errno(E.EINVAL);
    const v = new DataView(data.buffer, data.byteOffset, 8).getBigUint64(0, true);
    if (v === 0xffffffffffffffffn) return errno(E.EINVAL);
    if (MAX - this.count < v) {
      if ((this.flags & O_NONBLOCK) !== 0) return errno(E.EAGAIN);
      task.kernel.block(task, 'eventfd write', false);
      this.queue.add(task);
      return BLOCK;
    }
    this.count += v;
    if (v > 0n) this.queue.wake();
    return 8;
  }
}
