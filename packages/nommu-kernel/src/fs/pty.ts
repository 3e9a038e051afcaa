import { E, errno, type Errno } from '../errno.js';
import type { Kernel } from '../kernel.js';
import { SIG } from '../signals.js';
import { BLOCK } from '../syscalls.js';
import type { Task, WaitState } from '../task/task.js';
import { O_CLOEXEC, O_NOCTTY, O_NONBLOCK, OpenFile, POLL, type IoResult } from './file.js';
import { ByteQueue, N_TTY_BUF_SIZE, V } from './ldisc.js';
import { makedev, type KStat } from './stat.js';
import { Tty, type TtySide } from './tty.js';
import { WaitQueue } from './wait.js';

const TIOCSPGRP = 0x5410;
const TIOCGPTN = 0x80045430;
const TIOCSPTLCK = 0x40045431;
const TIOCGPTLCK = 0x80045439;
const TIOCGPTPEER = 0x5441;

export const PTY_SLAVE_MAJOR = 136;
/** How much slave output waits for the master's reads (Linux: its flip buffer and the master's read buffer). */
const OUTPUT_LIMIT = 65536 + N_TTY_BUF_SIZE;

/**
 * A pseudo-terminal pair: the terminal state is the slave's (the master's
 * termios and window-size ioctls act on it, as Linux's do). What the master
 * writes is the slave's input, through its line discipline; what the slave
 * writes goes through output processing to the master, and so does echo.
 */
export class Pty extends Tty {
  /** Slave output and echo, for the master to read. */
  readonly output = new ByteQueue();
  /** Slave opens refused with EIO until unlockpt (TIOCSPTLCK 0). */
  locked = true;
  /** Open descriptions of the slave. */
  slaves = 0;
  /** The last slave closed (Linux's TTY_OTHER_CLOSED on the master): its reads end in EIO, until a slave opens again. */
  slaveClosed = false;
  /** The master closed: the slave is hung up (reads 0, writes EIO) and gone from /dev/pts. */
  hungUp = false;
  /** Slave-side waiters (input, room for output, hang-up) and master-side ones. */
  readonly slaveQueue = new WaitQueue();
  readonly masterQueue = new WaitQueue();

  constructor(
    readonly kernel: Kernel,
    /** N of /dev/pts/N. */
    readonly index: number,
    /** The slave node's stat. */
    readonly slaveStat: () => KStat,
    /** Takes the slave's node out of /dev/pts. */
    private readonly onHangUp: () => void,
  ) {
    super();
  }

  get rdev(): number {
    return makedev(PTY_SLAVE_MAJOR, this.index);
  }

  protected signalForeground(signo: number): void {
    if (this.foreground !== 0) this.kernel.signalGroup(this.foreground, signo);
  }

  protected echo(bytes: readonly number[]): void {
    if (bytes.length === 0) return;
    this.output.push(bytes);
    this.masterQueue.wake();
  }

  protected override outputStarted(): void {
    this.slaveQueue.wake();
  }

  /** TCFLSH: a slave's input is what the master wrote, its output what the master reads. */
  protected override flush(queue: number, side: TtySide): void {
    const input = side === 'master' ? queue !== 0 : queue !== 1;
    const output = side === 'master' ? queue !== 1 : queue !== 0;
    if (input) this.ldisc.flushInput(true);
    if (output) this.output.clear();
    this.changed();
  }

  /** Something either end may wait for changed. */
  changed(): void {
    this.slaveQueue.wake();
    this.masterQueue.wake();
  }

  /** /dev/tty of a process whose controlling terminal this is. */
  override reopen(task: Task, flags: number): OpenFile | null {
    return this.openSlave(task, flags | O_NOCTTY);
  }

  /**
   * An open of the slave (/dev/pts/N, TIOCGPTPEER): EIO while locked. A
   * session leader without a controlling terminal gets this one, unless
   * O_NOCTTY or another session has it.
   */
  openSlave(task: Task, flags: number): PtySlave {
    if (this.locked || this.hungUp) throw errno(E.EIO);
    const proc = task.process;
    if ((flags & O_NOCTTY) === 0 && proc.sid === proc.pid && proc.ctty === null && this.session === 0) this.attach(proc);
    return new PtySlave(this, flags & ~O_CLOEXEC);
  }

  /** The master's last close: the slave hangs up. */
  masterClosed(): void {
    this.hungUp = true;
    this.onHangUp();
    this.hangUp(this.kernel);
    this.changed();
  }
}

/** A blocking write parked part way (either end): how much went in already. */
class TtyWrite implements WaitState {
  constructor(
    readonly file: OpenFile,
    readonly total: number,
    public done: number,
  ) {}
  cancel(): void {}
}

/** A non-canonical read waiting with VTIME: its deadline, and how many bytes had come when it was set. */
class TtyRead implements WaitState {
  constructor(
    readonly file: OpenFile,
    readonly deadline: bigint | null,
    readonly seen: number,
  ) {}
  cancel(): void {}
}

/**
 * Runs a write in pieces: `put` takes what fits of the rest and says how
 * much; a blocking writer waits on `queue` for room, an interrupting signal
 * ends the call with the count so far.
 */
function writeInPieces(file: OpenFile, task: Task, data: Uint8Array, queue: WaitQueue, put: (rest: Uint8Array) => number): IoResult {
  const st = task.waitState;
  const parked = st instanceof TtyWrite && st.file === file && st.total === data.length ? st : null;
  let done = parked?.done ?? 0;
  if (data.length === 0) return 0;
  done += put(data.subarray(done));
  if (done === data.length) return done;
  if ((file.flags & O_NONBLOCK) !== 0) return done > 0 ? done : errno(E.EAGAIN);
  if (parked) parked.done = done;
  else task.waitState = new TtyWrite(file, data.length, done);
  task.kernel.block(task, 'tty write', false);
  queue.add(task);
  if (done > 0) task.interruptCode = -done;
  return BLOCK;
}

/** The master side, as /dev/ptmx opens it. */
export class PtyMaster extends OpenFile {
  constructor(
    readonly pty: Pty,
    flags: number,
    guestPath: string,
    private readonly statOf: () => KStat,
  ) {
    super(flags, guestPath);
  }

  stat(): KStat {
    return this.statOf();
  }

  override read(task: Task, buf: Uint8Array): IoResult {
    const pty = this.pty;
    if (buf.length === 0) return 0;
    if (pty.output.length > 0) {
      const n = pty.output.read(buf);
      pty.slaveQueue.wake();
      return n;
    }
    if (pty.slaveClosed) return errno(E.EIO);
    if ((this.flags & O_NONBLOCK) !== 0) return errno(E.EAGAIN);
    task.kernel.block(task, 'pty master read', false);
    pty.masterQueue.add(task);
    return BLOCK;
  }

  /** Input for the slave: through its line discipline as far as there is room. */
  override write(task: Task, data: Uint8Array): IoResult {
    const pty = this.pty;
    return writeInPieces(this, task, data, pty.masterQueue, (rest) => {
      const n = pty.ldisc.receive(rest);
      if (n > 0) pty.slaveQueue.wake();
      return n;
    });
  }

  override poll(): number {
    const pty = this.pty;
    let ev = 0;
    if (pty.output.length > 0) ev |= POLL.IN | POLL.RDNORM;
    if (pty.slaveClosed) ev |= POLL.HUP;
    if (pty.ldisc.inputRoom() > 0) ev |= POLL.OUT | POLL.WRNORM;
    return ev;
  }

  override get waitQueue(): WaitQueue {
    return this.pty.masterQueue;
  }

  override ioctl(task: Task, request: number, argp: number): number | Errno {
    const pty = this.pty;
    const mem = task.kernel.mem;
    switch (request) {
      case TIOCGPTN:
        mem.setI32(argp, pty.index);
        return 0;
      case TIOCSPTLCK:
        pty.locked = mem.i32(argp) !== 0;
        return 0;
      case TIOCGPTLCK:
        mem.setI32(argp, pty.locked ? 1 : 0);
        return 0;
      case TIOCGPTPEER: {
        const slave = pty.openSlave(task, argp);
        return task.process.files.install(slave, (argp & O_CLOEXEC) !== 0);
      }
      default:
        return pty.ioctl(task, request, argp, pty.output.length, 'master');
    }
  }

  override release(): void {
    this.pty.masterClosed();
  }
}

/** An open of the slave, /dev/pts/N. */
export class PtySlave extends OpenFile {
  constructor(
    readonly pty: Pty,
    flags: number,
  ) {
    super(flags, `/dev/pts/${pty.index}`);
    pty.slaves++;
    pty.slaveClosed = false;
    pty.masterQueue.wake();
  }

  stat(): KStat {
    return this.pty.slaveStat();
  }

  /**
   * n_tty_read: canonical mode returns a line (waiting for one); otherwise
   * VMIN and VTIME decide: with VMIN 0 VTIME 0 it never waits, VMIN alone
   * waits for that many bytes, VTIME alone waits that long for any, and both
   * wait for the first byte and then at most VTIME between bytes.
   */
  override read(task: Task, buf: Uint8Array): IoResult {
    const pty = this.pty;
    if (pty.hungUp) return 0;
    const stop = task.kernel.terminalCheck(task, SIG.TTIN, pty);
    if (stop !== 0) return stop;
    if (buf.length === 0) return 0;
    const ld = pty.ldisc;
    const take = (): number => {
      const n = ld.read(buf) ?? 0;
      pty.changed();
      return n;
    };
    if (ld.canonical) {
      if (ld.readable(false)) return take();
      return this.#wait(task, null, 0);
    }
    const min = ld.cc(V.MIN);
    const time = ld.cc(V.TIME);
    const avail = ld.available;
    if (min === 0 && time === 0) return take();
    if (avail >= (min === 0 ? 1 : Math.min(min, buf.length))) return take();
    if ((this.flags & O_NONBLOCK) !== 0) return avail > 0 ? take() : errno(E.EAGAIN);
    if (time === 0) return this.#wait(task, null, avail);
    const st = task.waitState instanceof TtyRead && task.waitState.file === this ? task.waitState : null;
    const now = process.hrtime.bigint();
    const span = BigInt(time) * 100_000_000n;
    if (min === 0) {
      const deadline = st?.deadline ?? now + span;
      if (now >= deadline) return 0;
      return this.#wait(task, deadline, 0);
    }
    // The inter-byte timer runs from the last byte that came; none yet: no timer.
    if (avail === 0) return this.#wait(task, null, 0);
    if (st && st.seen === avail && st.deadline !== null) {
      if (now >= st.deadline) return take();
      return this.#wait(task, st.deadline, avail);
    }
    return this.#wait(task, now + span, avail);
  }

  #wait(task: Task, deadline: bigint | null, seen: number): IoResult {
    if ((this.flags & O_NONBLOCK) !== 0) return errno(E.EAGAIN);
    task.waitState = new TtyRead(this, deadline, seen);
    this.pty.slaveQueue.add(task);
    if (deadline !== null) return task.kernel.waitDeadline(task, 'tty read', deadline, false);
    task.kernel.block(task, 'tty read', false);
    return BLOCK;
  }

  /** Output through OPOST to the master, as far as there is room (none while output is stopped). */
  override write(task: Task, data: Uint8Array): IoResult {
    const pty = this.pty;
    if (pty.hungUp) return errno(E.EIO);
    if (pty.stopsBackgroundWrites) {
      const stop = task.kernel.terminalCheck(task, SIG.TTOU, pty);
      if (stop !== 0) return stop;
    }
    return writeInPieces(this, task, data, pty.slaveQueue, (rest) => {
      if (pty.ldisc.stopped) return 0;
      const room = OUTPUT_LIMIT - pty.output.length;
      if (room <= 0) return 0;
      const { out, used } = pty.ldisc.processOutput(rest, room);
      if (out.length > 0) {
        pty.output.push(out);
        pty.masterQueue.wake();
      }
      return used;
    });
  }

  override poll(): number {
    const pty = this.pty;
    if (pty.hungUp) return POLL.IN | POLL.OUT | POLL.ERR | POLL.HUP | POLL.RDNORM | POLL.WRNORM;
    let ev = 0;
    if (pty.ldisc.readable(true)) ev |= POLL.IN | POLL.RDNORM;
    if (!pty.ldisc.stopped && pty.output.length < OUTPUT_LIMIT) ev |= POLL.OUT | POLL.WRNORM;
    return ev;
  }

  override get waitQueue(): WaitQueue {
    return this.pty.slaveQueue;
  }

  override ioctl(task: Task, request: number, argp: number): number | Errno {
    const pty = this.pty;
    if (pty.hungUp) return errno(request === TIOCSPGRP ? E.ENOTTY : E.EIO);
    return pty.ioctl(task, request, argp, pty.ldisc.queued);
  }

  override release(): void {
    const pty = this.pty;
    if (--pty.slaves === 0) pty.slaveClosed = true;
    pty.changed();
  }
}
