import { E, errno } from '../errno.js';
import type { Process } from '../task/task.js';
import { O_NONBLOCK, O_RDWR, OpenFile, POLL, type IoResult } from './file.js';
import { anonStat, type KStat } from './stat.js';
import type { WaitQueue } from './wait.js';

/**
 * A pidfd (pidfd_open, pidfd_send_signal, pidfd_getfd, waitid P_PIDFD): it
 * names one process for as long as it is open, and polls readable once the
 * process has exited (and hung up once it is reaped). read and write are EINVAL.
 */
export class PidFd extends OpenFile {
  constructor(
    readonly target: Process,
    flags: number,
  ) {
    super(O_RDWR | (flags & O_NONBLOCK), 'anon_inode:[pidfd]');
  }

  /** The process is gone from the process table: waited for, or never anyone's to wait for. */
  get reaped(): boolean {
    return this.target.kernel.processes.get(this.target.pid) !== this.target;
  }

  stat(): KStat {
    return anonStat();
  }

  override poll(): number {
    if (this.target.exitStatus === null) return 0;
    return POLL.IN | POLL.RDNORM | (this.reaped ? POLL.HUP : 0);
  }

  override get waitQueue(): WaitQueue {
    return this.target.exitQueue;
  }

  override read(): IoResult {
    return errno(E.EINVAL);
  }

  override write(): IoResult {
    return errno(E.EINVAL);
  }
}
