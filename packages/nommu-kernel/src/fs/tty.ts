import * as tty from 'node:tty';

export const SIZEOF_TERMIOS = 36;
const ICRNL = 0o400;
const ISIG = 0o1;
const ICANON = 0o2;
const ECHO = 0o10;
const VINTR = 0;
const VQUIT = 1;
const VSUSP = 10;
const CC = 17;

/**
 * The guest's controlling terminal when nommu runs on one. The guest's termios
 * lives here; switching off ICANON or ECHO puts the host terminal in raw mode,
 * and then this is the line discipline for ISIG (Ctrl-C, Ctrl-\ become signals)
 * and ICRNL. The host terminal is restored when the kernel is done.
 */
export class Terminal {
  readonly termios = new Uint8Array(SIZEOF_TERMIOS);
  /** Foreground process group (TIOCSPGRP); 0 until the guest sets one. */
  foreground = 0;
  #raw = false;

  constructor(
    private readonly fd: number,
    /** Raises a signal in the foreground group. */
    private readonly signal: (signo: number) => void,
  ) {
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

  /** Gives the host terminal back as nommu found it. */
  restore(): void {
    if (!this.#raw) return;
    this.#raw = false;
    const stream = this.fd === 0 ? (process.stdin as tty.ReadStream) : null;
    if (stream?.isTTY) stream.setRawMode(false);
  }

  static isTerminal(fd: number): boolean {
    return tty.isatty(fd);
  }
}
