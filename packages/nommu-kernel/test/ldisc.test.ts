/** The line discipline alone: input in, what a read gets, what echoes, which signals go. */
import { describe, expect, it } from 'vitest';
import { LineDiscipline } from '../src/fs/ldisc.js';

function ldisc() {
  const echoed: number[] = [];
  const signals: number[] = [];
  const ld = new LineDiscipline({ echo: (b) => echoed.push(...b), signal: (s) => signals.push(s), outputStarted: () => {} });
  const type = (s: string): number => ld.receive(Buffer.from(s, 'latin1'));
  const read = (size = 100): string | null => {
    const buf = new Uint8Array(size);
    const n = ld.read(buf);
    return n === null ? null : Buffer.from(buf.subarray(0, n)).toString('latin1');
  };
  const echo = (): string => Buffer.from(echoed.splice(0)).toString('latin1');
  const setLflag = (on: number, off: number): void => {
    const t = ld.termios.slice();
    const dv = new DataView(t.buffer);
    dv.setUint32(12, (dv.getUint32(12, true) | on) & ~off, true);
    ld.setTermios(t);
  };
  return { ld, type, read, echo, signals, setLflag };
}

describe('LineDiscipline', () => {
  it('edits a canonical line and echoes the editing', () => {
    const t = ldisc();
    t.type('abc\x7fd foo\x17x\n');
    expect(t.read()).toBe('abd x\n');
    expect(t.echo()).toBe('abc\b \bd foo\b \b\b \b\b \bx\r\n');
    t.type('gone\x15kept\n');
    expect(t.read()).toBe('kept\n');
  });

  it('gives one line per read, VEOF ends a line or reads 0', () => {
    const t = ldisc();
    t.type('one\ntwo\x04\x04');
    expect(t.ld.queued).toBe(7);
    expect(t.read(2)).toBe('on');
    expect(t.read()).toBe('e\n');
    expect(t.read()).toBe('two');
    expect(t.read()).toBe('');
    expect(t.read()).toBeNull();
  });

  it('raises signal keys, flushing the input', () => {
    const t = ldisc();
    t.type('junk\x03after\n');
    expect(t.signals).toEqual([2]);
    expect(t.read()).toBe('after\n');
    expect(t.echo()).toBe('junk^Cafter\r\n');
  });

  it('makes a partial line readable when ICANON goes off', () => {
    const t = ldisc();
    t.type('part');
    expect(t.read()).toBeNull();
    t.setLflag(0, 0o2);
    expect(t.read()).toBe('part');
    t.type('\r');
    expect(t.read()).toBe('\n');
  });

  it('processes output: ONLCR, and only what fits', () => {
    const t = ldisc();
    const { out, used } = t.ld.processOutput(Buffer.from('a\nb\n'), 4);
    expect(Buffer.from(out).toString()).toBe('a\r\nb');
    expect(used).toBe(3);
  });
});
