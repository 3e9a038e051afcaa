import { SIG } from '../signals.js';

/** struct termios (the kernel's, x86-64): c_iflag, c_oflag, c_cflag, c_lflag, c_line, c_cc[19]. */
export const SIZEOF_TERMIOS = 36;
const CC = 17;

export const IFLAG = { ISTRIP: 0o40, INLCR: 0o100, IGNCR: 0o200, ICRNL: 0o400, IXON: 0o2000, IXANY: 0o4000 } as const;
export const OFLAG = { OPOST: 0o1, OLCUC: 0o2, ONLCR: 0o4, OCRNL: 0o10, ONOCR: 0o20, ONLRET: 0o40 } as const;
export const LFLAG = {
  ISIG: 0o1, ICANON: 0o2, ECHO: 0o10, ECHOE: 0o20, ECHOK: 0o40, ECHONL: 0o100, NOFLSH: 0o200, TOSTOP: 0o400,
  ECHOCTL: 0o1000, ECHOKE: 0o4000, IEXTEN: 0o100000,
} as const;
/** Indices into c_cc. */
export const V = {
  INTR: 0, QUIT: 1, ERASE: 2, KILL: 3, EOF: 4, TIME: 5, MIN: 6, START: 8, STOP: 9, SUSP: 10, EOL: 11, WERASE: 14,
  LNEXT: 15, EOL2: 16,
} as const;

/** The read buffer's size (N_TTY_BUF_SIZE): input waits in the unprocessed queue while it is full. */
export const N_TTY_BUF_SIZE = 4096;
/** How much unprocessed input a terminal holds (Linux's flip buffer limit) before its writer waits. */
export const INPUT_LIMIT = 65536;

/** The settings of a fresh terminal (tty_std_termios): cooked, echoing, 38400 baud, 8 bits. */
export function standardTermios(t: Uint8Array): void {
  const dv = new DataView(t.buffer, t.byteOffset, SIZEOF_TERMIOS);
  dv.setUint32(0, IFLAG.ICRNL | IFLAG.IXON, true);
  dv.setUint32(4, OFLAG.OPOST | OFLAG.ONLCR, true);
  dv.setUint32(8, 0xbf, true); // B38400 | CS8 | CREAD
  dv.setUint32(12, 0x8a3b, true); // ISIG | ICANON | ECHO | ECHOE | ECHOK | ECHOCTL | ECHOKE | IEXTEN
  t[16] = 0;
  t.fill(0, CC);
  t.set([3, 28, 127, 21, 4, 0, 1, 0, 17, 19, 26, 0, 18, 15, 23, 22], CC);
}

/** A queue of bytes: appended at the tail, taken from the head. */
export class ByteQueue {
  #buf = new Uint8Array(256);
  #head = 0;
  #tail = 0;

  get length(): number {
    return this.#tail - this.#head;
  }

  #room(n: number): void {
    if (this.#tail + n <= this.#buf.length) return;
    const len = this.length;
    const buf = len + n <= this.#buf.length / 2 ? this.#buf : new Uint8Array(Math.max(this.#buf.length * 2, len + n));
    buf.set(this.#buf.subarray(this.#head, this.#tail), 0);
    this.#buf = buf;
    this.#head = 0;
    this.#tail = len;
  }

  push(data: ArrayLike<number>): void {
    this.#room(data.length);
    this.#buf.set(data, this.#tail);
    this.#tail += data.length;
  }

  pushByte(b: number): void {
    this.#room(1);
    this.#buf[this.#tail++] = b;
  }

  shift(): number {
    return this.#buf[this.#head++]!;
  }

  /** Moves up to buf.length bytes into buf; returns how many. */
  read(buf: Uint8Array, max = buf.length): number {
    const n = Math.min(max, buf.length, this.length);
    buf.set(this.#buf.subarray(this.#head, this.#head + n));
    this.#head += n;
    if (this.#head === this.#tail) this.#head = this.#tail = 0;
    return n;
  }

  clear(): void {
    this.#head = this.#tail = 0;
  }
}

export interface LdiscHooks {
  /** Echo, already through output processing: to the terminal's output. */
  echo(bytes: readonly number[]): void;
  /** A signal key (ISIG): to the foreground process group. */
  signal(signo: number): void;
  /** Output was started again (VSTART, or a signal key): writers waiting for it may go on. */
  outputStarted(): void;
}

const isCntrl = (c: number): boolean => c < 0x20 || c === 0x7f;
const isAlnum = (c: number): boolean => (c >= 0x30 && c <= 0x39) || ((c | 0x20) >= 0x61 && (c | 0x20) <= 0x7a);

/** A line ends at `at` (a count of bytes ever queued); `eof`: it ended with VEOF, which is not stored. */
interface LineEnd {
  at: number;
  eof: boolean;
}

/**
 * The terminal line discipline (Linux's N_TTY) over one termios: input
 * processing (ISTRIP, INLCR, IGNCR, ICRNL, IXON), signal keys (ISIG), the
 * canonical mode's line editing (VERASE, VWERASE, VKILL, VLNEXT, lines ended
 * by NL, VEOL, VEOL2 or VEOF), echo (ECHO, ECHOE, ECHOK, ECHOKE, ECHONL,
 * ECHOCTL), and output processing (OPOST: ONLCR, OCRNL, ONOCR, ONLRET,
 * OLCUC). Input is taken at once while the read buffer has room; the rest
 * waits unprocessed, as in Linux's flip buffer.
 */
export class LineDiscipline {
  readonly termios = new Uint8Array(SIZEOF_TERMIOS);
  /** Input not processed yet: the read buffer was full. */
  readonly #pending = new ByteQueue();
  /** Processed input, readable. */
  readonly #ready = new ByteQueue();
  /** The canonical line being edited (not readable until it ends). */
  #line: number[] = [];
  /** Where complete canonical lines end in #ready. */
  #ends: LineEnd[] = [];
  /** Bytes ever queued to #ready and ever taken from it: the coordinates of #ends. */
  #queued = 0;
  #taken = 0;
  /** The next input byte is taken literally (VLNEXT). */
  #lnext = false;
  /** The output column, for erasing tabs and ONOCR; and the column the current line started at. */
  #column = 0;
  #lineColumn = 0;
  /** Output stopped by VSTOP (IXON) or TCOOFF. */
  stopped = false;

  constructor(private readonly hooks: LdiscHooks) {
    standardTermios(this.termios);
  }

  #u32(off: number): number {
    const t = this.termios;
    return (t[off]! | (t[off + 1]! << 8) | (t[off + 2]! << 16) | (t[off + 3]! << 24)) >>> 0;
  }
  get iflag(): number {
    return this.#u32(0);
  }
  get oflag(): number {
    return this.#u32(4);
  }
  get lflag(): number {
    return this.#u32(12);
  }
  cc(index: number): number {
    return this.termios[CC + index]!;
  }
  get canonical(): boolean {
    return (this.lflag & LFLAG.ICANON) !== 0;
  }

  /** TCSETS*: new settings. Switching ICANON makes what was typed readable (off) or one line (on), as Linux does. */
  setTermios(bytes: Uint8Array): void {
    const was = this.lflag;
    const wasIxon = (this.iflag & IFLAG.IXON) !== 0;
    this.termios.set(bytes.subarray(0, SIZEOF_TERMIOS));
    if (((was ^ this.lflag) & LFLAG.ICANON) !== 0) {
      this.#queue(this.#line);
      this.#line = [];
      this.#ends = [];
      if (this.canonical && this.#ready.length > 0) this.#ends.push({ at: this.#queued, eof: false });
      this.#lnext = false;
    }
    if (wasIxon && (this.iflag & IFLAG.IXON) === 0) this.#start();
    this.#process();
  }

  /** Takes input for processing (a pty master's write, host keys): returns how many bytes fit. */
  receive(data: Uint8Array, limit = INPUT_LIMIT): number {
    const n = Math.min(data.length, Math.max(0, limit - this.#pending.length));
    this.#pending.push(data.subarray(0, n));
    this.#process();
    return n;
  }

  /** Room left for input (what a writer may add without waiting). */
  inputRoom(limit = INPUT_LIMIT): number {
    return Math.max(0, limit - this.#pending.length);
  }

  #room(): number {
    return N_TTY_BUF_SIZE - 1 - this.#ready.length - this.#line.length;
  }

  #process(): void {
    while (this.#pending.length > 0) {
      if (this.#room() <= 0 && (!this.canonical || this.#ends.length > 0)) return;
      this.#char(this.#pending.shift());
    }
  }

  #queue(bytes: ArrayLike<number>): void {
    this.#ready.push(bytes);
    this.#queued += bytes.length;
  }

  /** One input byte through the discipline (n_tty_receive_char and its special cases). */
  #char(input: number): void {
    const iflag = this.iflag;
    const lflag = this.lflag;
    const canon = (lflag & LFLAG.ICANON) !== 0;
    let c = (iflag & IFLAG.ISTRIP) !== 0 ? input & 0x7f : input;
    if (this.#lnext) {
      this.#lnext = false;
      if ((lflag & LFLAG.ECHO) !== 0) this.#echo([8]); // the "^" shown for VLNEXT goes
      this.#ordinary(c, canon);
      return;
    }
    if ((iflag & IFLAG.IXON) !== 0) {
      if (c === this.cc(V.START)) return this.#start();
      if (c === this.cc(V.STOP)) {
        this.stopped = true;
        return;
      }
      if (this.stopped && (iflag & IFLAG.IXANY) !== 0) this.#start();
    }
    if ((lflag & LFLAG.ISIG) !== 0) {
      const sig = c === this.cc(V.INTR) ? SIG.INT : c === this.cc(V.QUIT) ? SIG.QUIT : c === this.cc(V.SUSP) ? SIG.TSTP : 0;
      if (sig !== 0) {
        if ((lflag & LFLAG.NOFLSH) === 0) this.flushInput(false);
        this.hooks.signal(sig);
        if ((iflag & IFLAG.IXON) !== 0) this.#start();
        if ((lflag & LFLAG.ECHO) !== 0) this.#echoChar(c);
        return;
      }
    }
    if (c === 0x0d) {
      if ((iflag & IFLAG.IGNCR) !== 0) return;
      if ((iflag & IFLAG.ICRNL) !== 0) c = 0x0a;
    } else if (c === 0x0a && (iflag & IFLAG.INLCR) !== 0) {
      c = 0x0d;
    }
    if (!canon) {
      if ((lflag & LFLAG.ECHO) !== 0) {
        if (c === 0x0a) this.#echo([0x0a]);
        else this.#echoChar(c);
      }
      this.#queue([c]);
      return;
    }
    const iexten = (lflag & LFLAG.IEXTEN) !== 0;
    if (c === this.cc(V.ERASE) || c === this.cc(V.KILL) || (iexten && c === this.cc(V.WERASE))) {
      this.#erase(c === this.cc(V.ERASE) ? 'erase' : c === this.cc(V.KILL) ? 'kill' : 'werase');
      return;
    }
    if (iexten && c === this.cc(V.LNEXT)) {
      this.#lnext = true;
      if ((lflag & LFLAG.ECHO) !== 0) {
        this.#startLine();
        this.#echo([0x5e, 8]);
      }
      return;
    }
    if (c === 0x0a) {
      if ((lflag & (LFLAG.ECHO | LFLAG.ECHONL)) !== 0) this.#echo([0x0a]);
      this.#line.push(c);
      this.#endLine(false);
      return;
    }
    if (c === this.cc(V.EOF)) {
      this.#endLine(true);
      return;
    }
    if (c === this.cc(V.EOL) || (iexten && c === this.cc(V.EOL2))) {
      if ((lflag & LFLAG.ECHO) !== 0) {
        this.#startLine();
        this.#echoChar(c);
      }
      this.#line.push(c);
      this.#endLine(false);
      return;
    }
    this.#ordinary(c, true);
  }

  #ordinary(c: number, canon: boolean): void {
    if (!canon) {
      if ((this.lflag & LFLAG.ECHO) !== 0) this.#echoChar(c);
      this.#queue([c]);
      return;
    }
    if (this.#room() <= 0) return; // a full line: the byte is lost
    if ((this.lflag & LFLAG.ECHO) !== 0) {
      this.#startLine();
      this.#echoChar(c);
    }
    this.#line.push(c);
  }

  #startLine(): void {
    if (this.#line.length === 0) this.#lineColumn = this.#column;
  }

  #endLine(eof: boolean): void {
    this.#queue(this.#line);
    this.#line = [];
    this.#ends.push({ at: this.#queued, eof });
  }

  #start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.hooks.outputStarted();
  }

  /** TCXONC: TCOOFF / TCOON. */
  setStopped(on: boolean): void {
    if (on) this.stopped = true;
    else this.#start();
  }

  /** VERASE, VWERASE, VKILL on the line being edited, with their echo (Linux's eraser()). */
  #erase(kind: 'erase' | 'werase' | 'kill'): void {
    const line = this.#line;
    if (line.length === 0) return;
    const lflag = this.lflag;
    const echo = (lflag & LFLAG.ECHO) !== 0;
    if (kind === 'kill') {
      if (!echo) {
        line.length = 0;
        return;
      }
      const full = LFLAG.ECHOK | LFLAG.ECHOKE | LFLAG.ECHOE;
      if ((lflag & full) !== full) {
        line.length = 0;
        this.#echoChar(this.cc(V.KILL));
        if ((lflag & LFLAG.ECHOK) !== 0) this.#echo([0x0a]);
        return;
      }
    }
    const ctl = (lflag & LFLAG.ECHOCTL) !== 0;
    let alnums = 0;
    while (line.length > 0) {
      const c = line[line.length - 1]!;
      if (kind === 'werase') {
        if (isAlnum(c) || c === 0x5f) alnums++;
        else if (alnums > 0) break;
      }
      line.pop();
      if (echo) {
        if (kind === 'erase' && (lflag & LFLAG.ECHOE) === 0) {
          this.#echoChar(this.cc(V.ERASE));
        } else if (c === 0x09) {
          this.#echo(new Array<number>(this.#tabWidth()).fill(8));
        } else {
          if (isCntrl(c) && ctl) this.#echo([8, 0x20, 8]);
          if (!isCntrl(c) || ctl) this.#echo([8, 0x20, 8]);
        }
      }
      if (kind === 'erase') break;
    }
  }

  /** How many columns the tab just erased took: from where the rest of the line ends to the next tab stop. */
  #tabWidth(): number {
    let col = this.#lineColumn;
    const ctl = (this.lflag & LFLAG.ECHOCTL) !== 0;
    for (const c of this.#line) {
      if (c === 0x09) col = (col | 7) + 1;
      else if (!isCntrl(c)) col++;
      else if (ctl) col += 2;
    }
    return ((col | 7) + 1) - col;
  }

  /** Echo of one input character: a control character as ^X under ECHOCTL (tab and newline as themselves). */
  #echoChar(c: number): void {
    if ((this.lflag & LFLAG.ECHOCTL) !== 0 && isCntrl(c) && c !== 0x09 && c !== 0x0a) this.#echo([0x5e, c ^ 0o100]);
    else this.#echo([c]);
  }

  #echo(bytes: readonly number[]): void {
    const out: number[] = [];
    for (const b of bytes) this.#output(b, out);
    this.hooks.echo(out);
  }

  /** Output processing of one byte (OPOST), appended to `out`. */
  #output(c: number, out: number[]): void {
    const o = this.oflag;
    if ((o & OFLAG.OPOST) === 0) {
      out.push(c);
      return;
    }
    switch (c) {
      case 0x0a:
        if ((o & OFLAG.ONLCR) !== 0) {
          out.push(0x0d, 0x0a);
          this.#column = 0;
          return;
        }
        if ((o & OFLAG.ONLRET) !== 0) this.#column = 0;
        out.push(c);
        return;
      case 0x0d:
        if ((o & OFLAG.ONOCR) !== 0 && this.#column === 0) return;
        if ((o & OFLAG.OCRNL) !== 0) {
          if ((o & OFLAG.ONLRET) !== 0) this.#column = 0;
          out.push(0x0a);
          return;
        }
        this.#column = 0;
        out.push(c);
        return;
      case 0x09:
        this.#column = (this.#column | 7) + 1;
        out.push(c);
        return;
      case 0x08:
        if (this.#column > 0) this.#column--;
        out.push(c);
        return;
      default:
        if ((o & OFLAG.OLCUC) !== 0 && c >= 0x61 && c <= 0x7a) c -= 0x20;
        if (!isCntrl(c)) this.#column++;
        out.push(c);
    }
  }

  /**
   * Output processing of written bytes while `room` output bytes fit: the
   * bytes to send, and how many of `data` they stand for.
   */
  processOutput(data: Uint8Array, room: number): { out: Uint8Array; used: number } {
    if ((this.oflag & OFLAG.OPOST) === 0) {
      const n = Math.min(room, data.length);
      return { out: data.subarray(0, n), used: n };
    }
    const out: number[] = [];
    let used = 0;
    const one: number[] = [];
    while (used < data.length) {
      one.length = 0;
      const col = this.#column;
      this.#output(data[used]!, one);
      if (out.length + one.length > room) {
        this.#column = col;
        break;
      }
      for (const b of one) out.push(b);
      used++;
    }
    return { out: Uint8Array.from(out), used };
  }

  /** Can a read return now? Canonical: a whole line. Otherwise any byte, or VMIN bytes for poll when VTIME is 0. */
  readable(forPoll: boolean): boolean {
    if (this.canonical) return this.#ends.length > 0;
    const min = this.cc(V.MIN);
    const need = forPoll && this.cc(V.TIME) === 0 && min > 0 ? min : 1;
    return this.#ready.length >= need;
  }

  /** Bytes a non-canonical read may take now. */
  get available(): number {
    return this.#ready.length;
  }

  /** FIONREAD: the bytes of complete lines in canonical mode, else every processed byte. */
  get queued(): number {
    if (!this.canonical) return this.#ready.length;
    const last = this.#ends[this.#ends.length - 1];
    return last ? last.at - this.#taken : 0;
  }

  /** A read: in canonical mode at most one line (0 for a VEOF at a line's start); null when nothing is there to read. */
  read(buf: Uint8Array): number | null {
    if (!this.canonical) {
      if (this.#ready.length === 0) return null;
      const n = this.#ready.read(buf);
      this.#taken += n;
      this.#process();
      return n;
    }
    const end = this.#ends[0];
    if (!end) return null;
    const n = this.#ready.read(buf, end.at - this.#taken);
    this.#taken += n;
    if (this.#taken === end.at) this.#ends.shift();
    this.#process();
    return n;
  }

  /** TCIFLUSH, or a signal key without NOFLSH: every byte typed and not read yet goes (the unprocessed ones too unless `pending` is false). */
  flushInput(pending: boolean): void {
    if (pending) this.#pending.clear();
    this.#taken += this.#ready.length;
    this.#ready.clear();
    this.#line = [];
    this.#ends = [];
    this.#lnext = false;
  }
}
