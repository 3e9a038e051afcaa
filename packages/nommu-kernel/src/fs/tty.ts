import * as fs from 'node:fs';
import * as tty from 'node:tty';
import { E, errno, type Errno } from '../errno.js';
import type { Kernel } from '../kernel.js';
import { SIG } from '../signals.js';
import type { Process, Task } from '../task/task.js';
import type { OpenFile } from './file.js';
import { LFLAG, LineDiscipline, SIZEOF_TERMIOS } from './ldisc.js';

export { SIZEOF_TERMIOS };
const SIZEOF_WINSIZE = 8;

const TCGETS = 0x5401;
const TCSETS = 0x5402;
const TCSETSW = 0x5403;
const TCSETSF = 0x5404;
const TCSBRK = 0x5409;
const TCXONC = 0x540a;
const TCFLSH = 0x540b;
const TIOCSCTTY = 0x540e;
const TIOCGPGRP = 0x540f;
const TIOCSPGRP = 0x5410;
const TIOCOUTQ = 0x5411;
const TIOCGWINSZ = 0x5413;
const TIOCSWINSZ = 0x5414;
export const FIONREAD = 0x541b;
const TIOCNOTTY = 0x5422;
const TIOCGETD = 0x5424;
const TCSBRKP = 0x5425;
const TIOCGSID = 0x5429;

/** Which end of a terminal an ioctl came through: a pty's master acts on its slave, with its own rules for a few requests. */
export type TtySide = 'terminal' | 'master';

/**
 * What every terminal has: its settings and line discipline, window size,
 * foreground process group and session, and the terminal ioctls. The host
 * terminal (Terminal) and pseudo-terminals (Pty) build on it.
 */
export abstract class Tty {
  readonly ldisc: LineDiscipline;
  /** struct winsize: ws_row, ws_col, ws_xpixel, ws_ypixel. */
  readonly winsize = new Uint8Array(SIZEOF_WINSIZE);
  /** Foreground process group (TIOCSPGRP); 0 when none. */
  foreground = 0;
  /** The session it is the controlling terminal of; 0 when none. */
  session = 0;

  constructor() {
    this.ldisc = new LineDiscipline({
      echo: (bytes) => this.echo(bytes),
      signal: (signo) => this.signalForeground(signo),
      outputStarted: () => this.outputStarted(),
    });
  }

  get termios(): Uint8Array {
    return this.ldisc.termios;
  }

  /** /proc/PID/stat's tty_nr: the device number, 0 when it has none the guest could name. */
  abstract get rdev(): number;
  /** Raises a signal in the foreground group (signal keys, SIGWINCH). */
  protected abstract signalForeground(signo: number): void;
  /** Echo of typed input, already through output processing. */
  protected abstract echo(bytes: readonly number[]): void;
  /** Output may go on again (VSTART). */
  protected outputStarted(): void {}
  /** TCFLSH: 0 input, 1 output, 2 both, as seen from `side`. */
  protected flush(_queue: number, _side: TtySide): void {}
  /** A new open of the terminal as a controlling terminal (/dev/tty); null when it cannot be opened that way. */
  reopen(_task: Task, _flags: number): OpenFile | null {
    return null;
  }

  /** Is the terminal `proc`'s controlling terminal? */
  controls(proc: Process): boolean {
    return proc.ctty === this && this.session !== 0 && proc.sid === this.session;
  }

  /** Would a write by a background process need the job control check (TOSTOP set)? */
  get stopsBackgroundWrites(): boolean {
    return (this.ldisc.lflag & LFLAG.TOSTOP) !== 0;
  }

  /** TCSETS*: the new settings. */
  protected set(bytes: Uint8Array): void {
    this.ldisc.setTermios(bytes);
  }

  /**
   * The terminal ioctls. `queued` is how many input bytes wait to be read
   * (FIONREAD). Changing the settings from a background group is subject
   * to SIGTTOU.
   */
  ioctl(task: Task, request: number, argp: number, queued: number, side: TtySide = 'terminal'): number | Errno {
    const kernel = task.kernel;
    const mem = kernel.mem;
    const proc = task.process;
    switch (request) {
      case TCGETS:
        mem.copyOut(argp, this.termios);
        return 0;
      case TCSETS:
      case TCSETSW:
      case TCSETSF: {
        const bytes = mem.copyIn(argp, SIZEOF_TERMIOS);
        const stop = kernel.terminalCheck(task, SIG.TTOU, this);
        if (stop !== 0) return stop;
        if (request === TCSETSF) this.flush(0, side);
        this.set(bytes);
        return 0;
      }
      case TIOCGWINSZ:
        mem.copyOut(argp, this.winsize);
        return 0;
      case TIOCSWINSZ: {
        const bytes = mem.copyIn(argp, SIZEOF_WINSIZE);
        if (bytes.every((b, i) => b === this.winsize[i])) return 0;
        this.winsize.set(bytes);
        this.signalForeground(SIG.WINCH);
        return 0;
      }
      case TIOCGPGRP:
        if (side !== 'master' && !this.controls(proc)) return errno(E.ENOTTY);
        mem.setI32(argp, this.foreground);
        return 0;
      case TIOCSPGRP: {
        const pgrp = mem.i32(argp);
        if (!this.controls(proc)) return errno(E.ENOTTY);
        const stop = kernel.terminalCheck(task, SIG.TTOU, this);
        if (stop !== 0) return stop;
        if (pgrp < 0) return errno(E.EINVAL);
        const members = [...kernel.processes.values()].filter((p) => p.pgid === pgrp && p.exitStatus === null);
        if (members.length === 0) return errno(E.ESRCH);
        if (members.some((p) => p.sid !== proc.sid)) return errno(E.EPERM);
        this.foreground = pgrp;
        return 0;
      }
      case TIOCSCTTY: {
        if (this.controls(proc)) return 0;
        // Only a session leader without a controlling terminal may take one; a terminal of another session only by force (arg 1, root).
        if (proc.sid !== proc.pid || proc.ctty) return errno(E.EPERM);
        if (this.session !== 0) {
          if (argp !== 1 || kernel.identity.euid !== 0) return errno(E.EPERM);
          for (const p of kernel.processes.values()) if (p.sid === this.session && p.ctty === this) p.ctty = null;
        }
        this.attach(proc);
        return 0;
      }
      case TIOCNOTTY:
        if (side === 'master' || !this.controls(proc)) return errno(E.ENOTTY);
        if (proc.sid === proc.pid) this.disassociate(kernel, false);
        else proc.ctty = null;
        return 0;
      case TIOCGSID:
        if ((side !== 'master' && !this.controls(proc)) || this.session === 0) return errno(E.ENOTTY);
        mem.setI32(argp, this.session);
        return 0;
      case FIONREAD:
        mem.setI32(argp, queued);
        return 0;
      case TIOCOUTQ:
        mem.setI32(argp, 0);
        return 0;
      case TCFLSH:
        if (argp > 2) return errno(E.EINVAL);
        this.flush(argp, side);
        return 0;
      case TCXONC:
        // TCOOFF 0, TCOON 1 stop and restart output; TCIOFF/TCION would send STOP/START characters to a device.
        if (argp > 3) return errno(E.EINVAL);
        if (argp <= 1) this.ldisc.setStopped(argp === 0);
        return 0;
      case TCSBRK:
      case TCSBRKP:
        // Nothing waits in an output queue, and no line carries a break.
        return 0;
      case TIOCGETD:
        mem.setI32(argp, 0); // N_TTY
        return 0;
      default:
        return errno(E.ENOTTY);
    }
  }

  /** Becomes the controlling terminal of `proc`'s session, its group in the foreground. */
  attach(proc: Process): void {
    this.session = proc.sid;
    this.foreground = proc.pgid;
    proc.ctty = this;
  }

  /**
   * The session gives the terminal up (its leader's TIOCNOTTY or exit): the
   * foreground group gets SIGHUP (and SIGCONT, unless the leader exited), and
   * no process of the session has it any more.
   */
  disassociate(kernel: Kernel, onExit: boolean): void {
    const fg = this.foreground;
    for (const p of kernel.processes.values()) {
      if (p.sid === this.session && p.ctty === this) p.ctty = null;
    }
    if (fg !== 0) {
      kernel.signalGroup(fg, SIG.HUP);
      if (!onExit) kernel.signalGroup(fg, SIG.CONT);
    }
    this.session = 0;
    this.foreground = 0;
  }

  /** The terminal hangs up (a pty's master went): the session loses it, its leader gets SIGHUP and SIGCONT. */
  hangUp(kernel: Kernel): void {
    for (const p of kernel.processes.values()) {
      if (p.sid !== this.session || this.session === 0) continue;
      if (p.ctty === this) p.ctty = null;
      if (p.pid === p.sid && p.exitStatus === null) {
        kernel.sendSignal(p, { signo: SIG.HUP, code: 0x80 });
        kernel.sendSignal(p, { signo: SIG.CONT, code: 0x80 });
      }
    }
    this.session = 0;
    this.foreground = 0;
  }
}

/**
 * The guest's controlling terminal when nommu runs on one. The guest's termios
 * lives here; switching off ICANON or ECHO puts the host terminal in raw mode,
 * and then the line discipline is nommu's: signal keys, input mapping,
 * canonical line editing and echo (so a password prompt, ICANON without ECHO,
 * still edits its line). The window size follows the host's (SIGWINCH to the
 * foreground group). The host terminal is restored when the kernel is done.
 */
export class Terminal extends Tty {
  #raw = false;
  /** The host stream whose size the guest sees (and where echo goes), and its resize listener. */
  readonly #output: tty.WriteStream | null;
  readonly #onResize = (): void => this.#hostSize(true);

  constructor(
    private readonly fd: number,
    /** Raises a signal in the foreground group. */
    private readonly signal: (signo: number) => void,
  ) {
    super();
    const out = [process.stdout, process.stderr].find((s) => s.isTTY) ?? null;
    this.#output = out;
    this.#hostSize(false);
    out?.on('resize', this.#onResize);
  }

  get rdev(): number {
    return 0;
  }

  protected signalForeground(signo: number): void {
    this.signal(signo);
  }

  protected echo(bytes: readonly number[]): void {
    const out = this.#output;
    if (out === null || bytes.length === 0) return;
    const fd = out === process.stdout ? 1 : 2;
    try {
      fs.writeSync(fd, Uint8Array.from(bytes));
    } catch {
      // the host terminal went away: nothing to show the echo on
    }
  }

  #winView(): DataView {
    return new DataView(this.winsize.buffer, this.winsize.byteOffset, SIZEOF_WINSIZE);
  }

  /** Takes the host window's size; a change raises SIGWINCH when `notify`. */
  #hostSize(notify: boolean): void {
    const rows = this.#output?.rows || 24;
    const cols = this.#output?.columns || 80;
    const dv = this.#winView();
    if (dv.getUint16(0, true) === rows && dv.getUint16(2, true) === cols) return;
    dv.setUint16(0, rows, true);
    dv.setUint16(2, cols, true);
    if (notify) this.signal(SIG.WINCH);
  }

  /** TCSETS*: store the guest's termios and give the host terminal the matching mode. */
  protected override set(bytes: Uint8Array): void {
    super.set(bytes);
    const lflag = this.ldisc.lflag;
    const raw = (lflag & (LFLAG.ICANON | LFLAG.ECHO)) !== (LFLAG.ICANON | LFLAG.ECHO);
    if (raw !== this.#raw) {
      this.#raw = raw;
      const stream = this.fd === 0 ? (process.stdin as tty.ReadStream) : null;
      if (stream?.isTTY) stream.setRawMode(raw);
    }
  }

  /** Host input on its way to the guest: in raw mode, through nommu's line discipline (what it makes readable). */
  input(data: Buffer): Buffer {
    if (!this.#raw) return data;
    this.ldisc.receive(data, Infinity);
    const out: Buffer[] = [];
    const buf = Buffer.alloc(4096);
    for (;;) {
      const n = this.ldisc.read(buf);
      if (n === null) break;
      // A VEOF at the start of a line would be a read of 0, which a stream cannot carry: it is dropped.
      if (n > 0) out.push(Buffer.from(buf.subarray(0, n)));
    }
    return Buffer.concat(out);
  }

  /** Gives the host terminal back as nommu found it, and stops following its size. */
  restore(): void {
    this.#output?.off('resize', this.#onResize);
    if (!this.#raw) return;
    this.#raw = false;
    const stream = this.fd === 0 ? (process.stdin as tty.ReadStream) : null;
    if (stream?.isTTY) stream.setRawMode(false);
  }

  static isTerminal(fd: number): boolean {
    return tty.isatty(fd);
  }
}
