import * as tty from 'node:tty';
import { E, errno, type Errno } from '../errno.js';
import { SIG } from '../signals.js';
import type { Process, Task } from '../task/task.js';

export const SIZEOF_TERMIOS = 36;
const SIZEOF_WINSIZE = 8;
const ICRNL = 0o400;
const ISIG = 0o1;
const ICANON = 0o2;
const ECHO = 0o10;
const TOSTOP = 0o400;
const VINTR = 0;
const VQUIT = 1;
const VSUSP = 10;
const CC = 17;

const TCGETS = 0x5401;
const TCSETS = 0x5402;
const TCSETSW = 0x5403;
const TCSETSF = 0x5404;
const TIOCSCTTY = 0x540e;
const TIOCGPGRP = 0x540f;
const TIOCSPGRP = 0x5410;
const TIOCGWINSZ = 0x5413;
const TIOCSWINSZ = 0x5414;
export const FIONREAD = 0x541b;
const TIOCNOTTY = 0x5422;
const TIOCGSID = 0x5429;

/**
 * The guest's controlling terminal when nommu runs on one. The guest's termios
 * lives here; switching off ICANON or ECHO puts the host terminal in raw mode,
 * and then this is the line discipline for ISIG (Ctrl-C, Ctrl-\ become signals)
 * and ICRNL. The window size follows the host's (SIGWINCH to the foreground
 * group). The host terminal is restored when the kernel is done.
 */
export class Terminal {
  readonly termios = new Uint8Array(SIZEOF_TERMIOS);
  /** struct winsize: ws_row, ws_col, ws_xpixel, ws_ypixel. */
  readonly winsize = new Uint8Array(SIZEOF_WINSIZE);
  /** Foreground process group (TIOCSPGRP); 0 when none. */
  foreground = 0;
  /** The session it is the controlling terminal of; 0 when none. */
  session = 0;
  #raw = false;
  /** The host stream whose size the guest sees, and its resize listener. */
  readonly #output: tty.WriteStream | null;
  readonly #onResize = (): void => this.#hostSize(true);

  constructor(
    private readonly fd: number,
    /** Raises a signal in the foreground group. */
    private readonly signal: (signo: number) => void,
  ) {
    const out = [process.stdout, process.stderr].find((s) => s.isTTY) ?? null;
    this.#output = out;
    this.#hostSize(false);
    out?.on('resize', this.#onResize);
    const dv = this.#view();
    // A cooked terminal as a fresh login has it (Node cannot read the host's termios).
    dv.setUint32(0, 0x500, true); // c_iflag: ICRNL | IXON
    dv.setUint32(4, 0x5, true); // c_oflag: OPOST | ONLCR
    dv.setUint32(8, 0xbf, true); // c_cflag: B38400 | CS8 | CREAD
    dv.setUint32(12, 0x8a3b, true); // c_lflag: ISIG | ICANON | ECHO | ECHOE | ECHOK | ECHOCTL | ECHOKE | IEXTEN
    this.termios.set([3, 28, 127, 21, 4, 0, 1, 0, 17, 19, 26, 0, 18, 15, 23, 22], CC);
  }

  #view(): DataView {
    return new DataView(this.termios.buffer, this.termios.byteOffset, SIZEOF_TERMIOS);
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

  /** Is the terminal `proc`'s controlling terminal? */
  controls(proc: Process): boolean {
    return proc.ctty && this.session !== 0 && proc.sid === this.session;
  }

  /** Would a write by `proc` need the job control check (TOSTOP set)? */
  get stopsBackgroundWrites(): boolean {
    return (this.#lflag & TOSTOP) !== 0;
  }

  /**
   * The terminal ioctls. `queued` is how many input bytes wait to be read (FIONREAD).
   * Changing the settings from a background group is subject to SIGTTOU (`check`).
   */
  ioctl(task: Task, request: number, argp: number, queued: number): number | Errno {
    const mem = task.kernel.mem;
    const proc = task.process;
    switch (request) {
      case TCGETS:
        mem.copyOut(argp, this.termios);
        return 0;
      case TCSETS:
      case TCSETSW:
      case TCSETSF: {
        const bytes = mem.copyIn(argp, SIZEOF_TERMIOS);
        const stop = task.kernel.terminalCheck(task, SIG.TTOU);
        if (stop !== 0) return stop;
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
        this.signal(SIG.WINCH);
        return 0;
      }
      case TIOCGPGRP:
        if (!this.controls(proc)) return errno(E.ENOTTY);
        mem.setI32(argp, this.foreground);
        return 0;
      case TIOCSPGRP: {
        const pgrp = mem.i32(argp);
        if (!this.controls(proc)) return errno(E.ENOTTY);
        const stop = task.kernel.terminalCheck(task, SIG.TTOU);
        if (stop !== 0) return stop;
        if (pgrp < 0) return errno(E.EINVAL);
        const members = [...task.kernel.processes.values()].filter((p) => p.pgid === pgrp && p.exitStatus === null);
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
          if (argp !== 1 || task.kernel.identity.euid !== 0) return errno(E.EPERM);
          for (const p of task.kernel.processes.values()) if (p.sid === this.session) p.ctty = false;
        }
        this.session = proc.sid;
        this.foreground = proc.pgid;
        proc.ctty = true;
        return 0;
      }
      case TIOCNOTTY:
        if (!this.controls(proc)) return errno(E.ENOTTY);
        if (proc.sid === proc.pid) this.#hangUp(task);
        else proc.ctty = false;
        return 0;
      case TIOCGSID:
        if (!this.controls(proc)) return errno(E.ENOTTY);
        mem.setI32(argp, this.session);
        return 0;
      case FIONREAD:
        mem.setI32(argp, queued);
        return 0;
      default:
        return errno(E.ENOTTY);
    }
  }

  /** The session leader gives the terminal up: its foreground group gets SIGHUP and SIGCONT, and the whole session loses it. */
  #hangUp(task: Task): void {
    const kernel = task.kernel;
    const fg = this.foreground;
    for (const p of kernel.processes.values()) {
      if (p.sid === this.session) p.ctty = false;
      if (fg !== 0 && p.pgid === fg && p.exitStatus === null) {
        kernel.sendSignal(p, { signo: SIG.HUP, code: 0x80 });
        kernel.sendSignal(p, { signo: SIG.CONT, code: 0x80 });
      }
    }
    this.session = 0;
    this.foreground = 0;
  }
  get #iflag(): number {
    return this.#view().getUint32(0, true);
  }
  get #lflag(): number {
    return this.#view().getUint32(12, true);
  }

  /** TCSETS*: store the guest's termios and give the host terminal the matching mode. */
  set(bytes: Uint8Array): void {
    this.termios.set(bytes.subarray(0, SIZEOF_TERMIOS));
    const raw = (this.#lflag & (ICANON | ECHO)) !== (ICANON | ECHO);
    if (raw !== this.#raw) {
      this.#raw = raw;
      const stream = this.fd === 0 ? (process.stdin as tty.ReadStream) : null;
      if (stream?.isTTY) stream.setRawMode(raw);
    }
  }

  /** Host input on its way to the guest: in raw mode, the line discipline's signal keys and ICRNL. */
  input(data: Buffer): Buffer {
    if (!this.#raw) return data;
    const out: number[] = [];
    const isig = (this.#lflag & ISIG) !== 0;
    const cc = this.termios.subarray(CC);
    for (const b of data) {
      if (isig && b !== 0 && b === cc[VINTR]) this.signal(2);
      else if (isig && b !== 0 && b === cc[VQUIT]) this.signal(3);
      else if (isig && b !== 0 && b === cc[VSUSP]) this.signal(20);
      else if (b === 0x0d && (this.#iflag & ICRNL) !== 0) out.push(0x0a);
      else out.push(b);
    }
    return Buffer.from(out);
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
