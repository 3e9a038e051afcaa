/**
 * A deterministic fuzzer for execve's loading half. Mutants of two real
 * programs (musl static-PIE `hello`, Debian's static busybox) are loaded by
 * one kernel on the real Unicorn backend: each must be refused with an
 * ExecFailure or load into a consistent memory map, and nothing may leak.
 * Some of the mutants that load are then run to completion on fresh kernels.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExecFailure, KernelError, type Kernel, type LoadedProgram } from '../src/index.js';
import { BUSYBOX, MiB, buildConformance, conformanceProgram, newKernel, readBytes, runGuest } from './support.js';

const SEED = 0x6e6f6d6d; // 'nomm'
const MUTANTS_PER_BASE = 750;
const RUNS_PER_BASE = 20;
const RAM = 256 * MiB;

/** mulberry32: small, fast, and the same sequence everywhere. */
class Rng {
  #s: number;
  constructor(seed: number) {
    this.#s = seed >>> 0;
  }
  u32(): number {
    let t = (this.#s = (this.#s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }
  int(n: number): number {
    return this.u32() % n;
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!;
  }
  u64(): bigint {
    return (BigInt(this.u32()) << 32n) | BigInt(this.u32());
  }
}

interface Base {
  name: string;
  bytes: Uint8Array;
  phoff: number;
  phnum: number;
  /** Ends of the PT_LOAD segments' file data: truncating around them is interesting. */
  segmentEnds: number[];
  argv: string[];
}

function describeBase(name: string, file: string, argv: string[]): Base {
  const bytes = readBytes(file);
  const dv = new DataView(bytes.buffer);
  const phoff = Number(dv.getBigUint64(32, true));
  const phnum = dv.getUint16(56, true);
  const segmentEnds: number[] = [];
  for (let i = 0; i < phnum; i++) {
    const o = phoff + i * 56;
    if (dv.getUint32(o, true) === 1) segmentEnds.push(Number(dv.getBigUint64(o + 8, true) + dv.getBigUint64(o + 32, true)));
  }
  return { name, bytes, phoff, phnum, segmentEnds, argv };
}

const PHDR_FIELDS = [8, 16, 24, 32, 40, 48] as const;
const PT_TYPES = [0, 1, 2, 3, 4, 6, 7, 0x6474e550, 0x6474e551, 0x6474e552, 0xffffffff];

/** Values that sit on the edges the loader's arithmetic must respect. */
function interesting(rng: Rng, fileLen: number, old: bigint): bigint {
  const candidates = [
    0n, 1n, 0x7fn, 0x80n, 0xffn, 0xfffn, 0x1000n, 0x1001n, 0x7fffffffn, 0x80000000n, 0xffffffffn, 1n << 32n,
    1n << 52n, (1n << 53n) - 1n, 1n << 53n, (1n << 53n) + 1n, 1n << 60n, 1n << 63n, (1n << 64n) - 1n, (1n << 64n) - 4096n,
    BigInt(fileLen), BigInt(fileLen - 1), BigInt(fileLen + 1), BigInt(RAM), BigInt(RAM + 4096), 0x10000n, 0x400000n,
    old + 1n, old - 1n, old + 0x1000n, old - 0x1000n, old * 2n, old >> 1n, old + BigInt(RAM),
  ];
  return BigInt.asUintN(64, rng.int(8) === 0 ? rng.u64() : rng.pick(candidates));
}

/** One mutant of `base`, a function of (seed, index) only: it can be made again to run it. */
function mutate(base: Base, index: number): { bytes: Uint8Array; what: string[] } {
  const rng = new Rng(SEED ^ Math.imul(index + 1, 0x9e3779b1) ^ (base.name === 'busybox' ? 0x5bd1e995 : 0));
  let bytes = base.bytes.slice();
  const what: string[] = [];
  const dv = (): DataView => new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const phdrEnd = base.phoff + base.phnum * 56;
  const ops = 1 + rng.int(3);
  for (let k = 0; k < ops; k++) {
    const op = rng.int(100);
    if (op < 18) {
      // Bit flips in the ELF header.
      const n = 1 + rng.int(4);
      for (let j = 0; j < n; j++) {
        const at = rng.int(64);
        const bit = rng.int(8);
        if (at < bytes.length) bytes[at]! ^= 1 << bit;
        what.push(`flip ehdr[${at}] bit ${bit}`);
      }
    } else if (op < 32) {
      // A header field set to an edge value.
      const field = rng.pick([16, 18, 24, 32, 54, 56, 24, 32, 56] as const);
      if (field === 24 || field === 32) {
        const old = dv().getBigUint64(field, true);
        const v = interesting(rng, bytes.length, old);
        dv().setBigUint64(field, v, true);
        what.push(`ehdr u64 @${field} = 0x${v.toString(16)}`);
      } else {
        const v = rng.pick([0, 1, 2, 3, 4, 0x3e, 0x38, 0x40, 0xff, 0x100, 0x200, 0x201, 0xffff, base.phnum + 1, base.phnum - 1]);
        dv().setUint16(field, v, true);
        what.push(`ehdr u16 @${field} = ${v}`);
      }
    } else if (op < 52) {
      // A program header field set to an edge value.
      const i = rng.int(base.phnum);
      const field = rng.pick(PHDR_FIELDS);
      const at = base.phoff + i * 56 + field;
      const old = dv().getBigUint64(at, true);
      const v = interesting(rng, bytes.length, old);
      dv().setBigUint64(at, v, true);
      what.push(`phdr[${i}] u64 @${field} = 0x${v.toString(16)}`);
    } else if (op < 62) {
      // A program header's type changed.
      const i = rng.int(base.phnum);
      const t = rng.pick(PT_TYPES);
      dv().setUint32(base.phoff + i * 56, t, true);
      what.push(`phdr[${i}].type = 0x${t.toString(16)}`);
    } else if (op < 80) {
      // Bytes of the program header table overwritten.
      const n = 1 + rng.int(6);
      for (let j = 0; j < n; j++) {
        const at = base.phoff + rng.int(phdrEnd - base.phoff);
        const v = rng.int(2) === 0 ? rng.pick([0, 0xff, 0x7f, 0x80, 0x01, 0x10]) : rng.int(256);
        bytes[at] = v;
        what.push(`phdr byte ${at} = 0x${v.toString(16)}`);
      }
    } else if (op < 86) {
      // Two program headers swapped (PT_LOADs out of order, PT_INTERP moved...).
      const i = rng.int(base.phnum);
      const j = rng.int(base.phnum);
      const a = bytes.slice(base.phoff + i * 56, base.phoff + i * 56 + 56);
      bytes.copyWithin(base.phoff + i * 56, base.phoff + j * 56, base.phoff + j * 56 + 56);
      bytes.set(a, base.phoff + j * 56);
      what.push(`swap phdr ${i} <-> ${j}`);
    } else if (op < 96) {
      // Truncation: inside the header, inside the phdrs, around a segment's end, anywhere.
      const choice = rng.int(4);
      const seg = base.segmentEnds.length > 0 ? rng.pick(base.segmentEnds) : bytes.length;
      const len = [rng.int(65), base.phoff + rng.int(phdrEnd - base.phoff + 1), Math.max(0, seg - rng.int(64)), rng.int(bytes.length)][choice]!;
      bytes = bytes.slice(0, Math.min(len, bytes.length));
      what.push(`truncate to ${bytes.length}`);
      break; // the other operations assume the headers are all there
    } else {
      // Random bytes anywhere in the first page.
      const at = rng.int(Math.min(4096, bytes.length));
      const v = rng.int(256);
      bytes[at] = v;
      what.push(`byte ${at} = 0x${v.toString(16)}`);
    }
  }
  return { bytes, what };
}

/** Invariants of a program execve loaded. Returns what is wrong, or null. */
function checkLoaded(k: Kernel, loaded: LoadedProgram, usedBefore: number): string | null {
  const { mm } = loaded;
  const ramEnd = k.phys.base + k.phys.size;
  let prevEnd = 0;
  for (const v of mm.vmas) {
    if (v.start % 4096 !== 0 || v.end % 4096 !== 0 || v.end <= v.start) return `bad vma ${v.start}-${v.end}`;
    if (v.start < prevEnd) return `overlapping vmas at 0x${v.start.toString(16)}`;
    if (v.start < k.phys.base || v.end > ramEnd) return `vma 0x${v.start.toString(16)}-0x${v.end.toString(16)} outside RAM`;
    prevEnd = v.end;
  }
  if (!mm.covers(loaded.entry, loaded.entry + 1)) return `entry 0x${loaded.entry.toString(16)} is not mapped`;
  const stack = mm.vmas.find((v) => v.name === '[stack]');
  if (!stack || loaded.sp < stack.start || loaded.sp >= stack.end || loaded.sp % 16 !== 0) return `bad sp 0x${loaded.sp.toString(16)}`;
  if (k.phys.usedBytes !== usedBefore + mm.ownedBytes) {
    return `RAM accounting: used ${k.phys.usedBytes - usedBefore} bytes for ${mm.ownedBytes} owned`;
  }
  return null;
}

interface Outcome {
  base: Base;
  index: number;
  what: string[];
}

describe('fuzzing the ELF loader', () => {
  let dir: string;
  let bases: Base[];
  /** Mutants that loaded, by base. */
  const loadable = new Map<string, Outcome[]>();

  beforeAll(() => {
    buildConformance();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nommu-fuzz-'));
    bases = [
      describeBase('hello', conformanceProgram('musl-static-pie', 'hello'), ['hello']),
      describeBase('busybox', BUSYBOX, ['busybox', 'echo', 'fuzz']),
    ];
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it(`loads ${2 * MUTANTS_PER_BASE} mutants: each is refused with an ExecFailure or loads consistently, and no RAM leaks`, () => {
    const kernel = newKernel({ ramSize: RAM });
    const baseline = kernel.phys.usedBytes;
    const problems: string[] = [];
    const errnos = new Map<number, number>();
    let loads = 0;
    try {
      for (const base of bases) {
        const file = path.join(dir, base.name);
        const ok: Outcome[] = [];
        loadable.set(base.name, ok);
        for (let index = 0; index < MUTANTS_PER_BASE; index++) {
          const { bytes, what } = mutate(base, index);
          fs.rmSync(file, { force: true });
          fs.writeFileSync(file, bytes, { mode: 0o755 });
          const label = `${base.name} #${index} [${what.join('; ')}]`;
          let loaded: LoadedProgram | null = null;
          try {
            loaded = kernel.load('/', file, [file], []);
          } catch (e) {
            if (e instanceof ExecFailure) {
              errnos.set(e.errno, (errnos.get(e.errno) ?? 0) + 1);
              if (typeof e.message !== 'string' || e.message.length === 0) problems.push(`${label}: ExecFailure without a message`);
            } else {
              problems.push(`${label}: threw ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`);
            }
          }
          if (loaded) {
            loads++;
            const bad = checkLoaded(kernel, loaded, baseline);
            if (bad) problems.push(`${label}: ${bad}`);
            loaded.mm.release();
            ok.push({ base, index, what });
          }
          if (kernel.phys.usedBytes !== baseline) {
            problems.push(`${label}: ${kernel.phys.usedBytes - baseline} bytes of RAM still in use after it`);
            break;
          }
        }
      }
      expect(problems).toEqual([]);
      expect(kernel.phys.usedBytes).toBe(baseline);
      // The fuzzer must reach both sides of the parser, and the loader's own refusals.
      const summary = `${loads} loaded; refusals by errno: ${JSON.stringify([...errnos])}`;
      expect(loads, summary).toBeGreaterThan(100);
      expect(errnos.get(8) ?? 0, summary).toBeGreaterThan(100);
      expect(errnos.get(12) ?? 0, summary).toBeGreaterThan(0);
      // Errnos execve may answer. EIO comes from PT_INTERPs with an embedded NUL (see
      // the it.fails in elf.test.ts); ENAMETOOLONG from interpreter names made of file bytes.
      for (const errno of errnos.keys()) expect([2, 5, 8, 12, 13, 20, 36, 40], summary).toContain(errno);
    } finally {
      kernel.dispose();
    }
  });

  it(`runs ${2 * RUNS_PER_BASE} loadable mutants to an exit status, each on a fresh kernel`, async () => {
    const problems: string[] = [];
    const statuses: string[] = [];
    let timedOut = 0;
    for (const base of bases) {
      const ok = loadable.get(base.name) ?? [];
      expect(ok.length).toBeGreaterThanOrEqual(RUNS_PER_BASE);
      const step = ok.length / RUNS_PER_BASE;
      for (let r = 0; r < RUNS_PER_BASE; r++) {
        const { index, what } = ok[Math.floor(r * step)]!;
        const { bytes } = mutate(base, index);
        const file = path.join(dir, `${base.name}-run-${index}`);
        fs.writeFileSync(file, bytes, { mode: 0o755 });
        const label = `${base.name} #${index} [${what.join('; ')}]`;
        try {
          const run = await runGuest({ path: file, argv: base.argv }, { ramSize: RAM, timeoutMs: 5_000 });
          const s = run.status;
          if (!Number.isInteger(s.code) || s.code < 0 || s.code > 255 || !Number.isInteger(s.signal) || s.signal < 0 || s.signal > 64) {
            problems.push(`${label}: odd exit status ${JSON.stringify(s)}`);
          }
          if (run.timedOut) timedOut++;
          statuses.push(s.signal ? `sig${s.signal}` : `exit${s.code}`);
        } catch (e) {
          if (e instanceof KernelError) statuses.push(`KernelError ${e.code}`);
          else problems.push(`${label}: threw ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`);
        } finally {
          fs.rmSync(file, { force: true });
        }
      }
    }
    expect(problems).toEqual([]);
    expect(statuses).toHaveLength(2 * RUNS_PER_BASE);
    // Most mutants that load are still the program: some must run it to a normal exit.
    expect(statuses.filter((s) => s === 'exit0').length, statuses.join(' ')).toBeGreaterThan(0);
    expect(timedOut, statuses.join(' ')).toBeLessThanOrEqual(4);
  });
});
