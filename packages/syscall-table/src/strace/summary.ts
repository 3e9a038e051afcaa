import { MAX_ERRNO, syscallByNr } from '../table/index.js';
import { hex, i64 } from './values.js';

interface Counts {
  calls: number;
  errors: number;
  nanos: number;
}

/** strace -c: counts calls, errors and time per syscall and prints strace's table. */
export class SyscallSummary {
  readonly #counts = new Map<number, Counts>();

  /** One finished call; nanos is the time it took. */
  record(nr: number, result: bigint, nanos: number): void {
    let c = this.#counts.get(nr);
    if (!c) {
      c = { calls: 0, errors: 0, nanos: 0 };
      this.#counts.set(nr, c);
    }
    const r = i64(result);
    c.calls++;
    if (r < 0n && r >= -BigInt(MAX_ERRNO)) c.errors++;
    c.nanos += Math.max(0, nanos);
  }

  /**
   * The table, lines joined by newlines and without a trailing one, sorted like strace -c
   * (most time first; ties in syscall-number order, unknown numbers last).
   */
  format(): string {
    const rows = [...this.#counts.entries()]
      .map(([nr, c]) => ({ nr, name: syscallByNr(nr)?.name, ...c }))
      .sort((a, b) => Number(a.name === undefined) - Number(b.name === undefined) || a.nr - b.nr)
      .map((r) => ({ ...r, name: r.name ?? `syscall_${hex(BigInt(r.nr))}` }));
    rows.sort((a, b) => b.nanos - a.nanos);

    const totalNanos = rows.reduce((s, r) => s + r.nanos, 0);
    const totalCalls = rows.reduce((s, r) => s + r.calls, 0);
    const totalErrors = rows.reduce((s, r) => s + r.errors, 0);
    const seconds = (ns: number): string => (ns / 1e9).toFixed(6);
    const perCall = (ns: number, calls: number): number => (calls === 0 ? 0 : Math.floor(Math.floor(ns / calls) / 1000));
    const maxAvg = rows.reduce((m, r) => Math.max(m, perCall(r.nanos, r.calls)), 0);

    const w = {
      pct: 6,
      sec: Math.max(11, seconds(totalNanos).length),
      avg: Math.max(11, String(maxAvg).length),
      calls: Math.max(9, String(totalCalls).length),
      errors: Math.max(9, String(totalErrors).length),
      name: Math.max(16, ...rows.map((r) => r.name.length + 1)),
    };
    const line = (pct: string, sec: string, avg: string, calls: string, errors: string, name: string): string =>
      [pct.padStart(w.pct), sec.padStart(w.sec), avg.padStart(w.avg), calls.padStart(w.calls), errors.padStart(w.errors), name].join(' ');
    const dashes = [w.pct, w.sec, w.avg, w.calls, w.errors, w.name].map((n) => '-'.repeat(n)).join(' ');
    // %.0d prints nothing for zero, so error-free rows leave the column blank.
    const errorText = (n: number): string => (n === 0 ? '' : String(n));

    const out = [line('% time', 'seconds', 'usecs/call', 'calls', 'errors', 'syscall'), dashes];
    for (const r of rows) {
      const pct = r.nanos === 0 ? 0 : (100 * r.nanos) / totalNanos;
      out.push(line(pct.toFixed(2), seconds(r.nanos), String(perCall(r.nanos, r.calls)), String(r.calls), errorText(r.errors), r.name));
    }
    out.push(dashes);
    const totalAvg = totalCalls === 0 ? 0 : Math.floor((totalNanos / 1e9 / totalCalls) * 1e6);
    out.push(line('100.00', seconds(totalNanos), String(totalAvg), String(totalCalls), errorText(totalErrors), 'total'));
    return out.join('\n');
  }
}
