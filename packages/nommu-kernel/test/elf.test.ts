/**
 * The ELF checks of execve: real binaries parse the way binutils' readelf
 * reads them, and hostile images are refused with ENOEXEC/ENOMEM as an
 * ExecFailure (never a host exception), both by parseElf and by a kernel's
 * load on the real backend, which must leave no RAM behind.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExecFailure, parseElf, type Kernel, type LoadedProgram } from '../src/index.js';
import {
  BUSYBOX,
  MiB,
  PF,
  PT,
  VARIANTS,
  buildConformance,
  buildElf,
  conformanceProgram,
  newKernel,
  readBytes,
  refusal,
  runGuest,
  tinyElf,
  type ElfSpec,
} from './support.js';

const RAM = 64 * MiB;
const ENOEXEC = 8;
const ENOMEM = 12;

beforeAll(() => buildConformance());

/** What readelf says about a file: the reference the parser is compared with. */
function readelf(file: string): { type: number; entry: number; phoff: number; phnum: number; interp: string | null; loads: number[][] } {
  const h = execFileSync('readelf', ['-hlW', file], { encoding: 'utf8' });
  const field = (name: string): string => new RegExp(`^\\s*${name}:\\s+(\\S+)`, 'm').exec(h)![1]!;
  const loads = [...h.matchAll(/^\s*LOAD\s+(0x\S+)\s+(0x\S+)\s+0x\S+\s+(0x\S+)\s+(0x\S+)/gm)].map((m) =>
    m.slice(1, 5).map((x) => Number.parseInt(x!, 16)),
  );
  return {
    type: { EXEC: 2, DYN: 3 }[field('Type') as 'EXEC' | 'DYN'],
    entry: Number.parseInt(field('Entry point address'), 16),
    phoff: Number(field('Start of program headers')),
    phnum: Number(field('Number of program headers')),
    interp: /Requesting program interpreter: ([^\]]+)\]/.exec(h)?.[1] ?? null,
    loads,
  };
}

describe('parseElf on real programs', () => {
  const cases: [string, string][] = [...VARIANTS.map((v): [string, string] => [v, conformanceProgram(v, 'hello')]), ['busybox', BUSYBOX]];

  it.each(cases)('%s hello agrees with readelf', (_name, file) => {
    const ref = readelf(file);
    const img = parseElf(readBytes(file), RAM);
    expect(img.type).toBe(ref.type);
    expect(img.entry).toBe(ref.entry);
    expect(img.phoff).toBe(ref.phoff);
    expect(img.phnum).toBe(ref.phnum);
    expect(img.phdrs).toHaveLength(ref.phnum);
    expect(img.interp).toBe(ref.interp);
    expect(img.loads.map((p) => [p.offset, p.vaddr, p.filesz, p.memsz])).toEqual(ref.loads);
    expect(img.minVaddr).toBe(Math.floor(ref.loads[0]![1]! / 4096) * 4096);
    const last = ref.loads.at(-1)!;
    expect(img.maxVaddr).toBe(Math.ceil((last[1]! + last[3]!) / 4096) * 4096);
    expect(img.entry).toBeGreaterThanOrEqual(img.minVaddr);
    expect(img.entry).toBeLessThan(img.maxVaddr);
  });

  it('tells the kinds apart: static PIE, static, dynamic PIE', () => {
    const kind = (file: string): [number, string | null] => {
      const img = parseElf(readBytes(file), RAM);
      return [img.type, img.interp];
    };
    expect(kind(conformanceProgram('musl-static-pie', 'hello'))).toEqual([3, null]);
    expect(kind(conformanceProgram('musl-static', 'hello'))).toEqual([2, null]);
    expect(kind(conformanceProgram('glibc-static', 'hello'))).toEqual([2, null]);
    expect(kind(conformanceProgram('glibc-dynamic', 'hello'))).toEqual([3, '/lib64/ld-linux-x86-64.so.2']);
    expect(kind(BUSYBOX)).toEqual([2, null]);
  });

  it('refuses a program larger than RAM with ENOMEM', () => {
    const f = refusal(() => parseElf(readBytes(BUSYBOX), 1 * MiB));
    expect(f.errno).toBe(ENOMEM);
  });
});

// ---- hostile images ----

const u64 = (n: number | bigint): bigint => BigInt.asUintN(64, BigInt(n));

/** Variations of the tiny runnable ELF, each of which execve must refuse. */
const hostile: [string, () => Uint8Array][] = [
  ['an empty file', () => new Uint8Array(0)],
  ['just the magic', () => Uint8Array.from([0x7f, 0x45, 0x4c, 0x46])],
  ['a truncated header', () => buildElf(tinyElf()).subarray(0, 63)],
  ['32-bit class', () => buildElf({ ...tinyElf(), ident: [0x7f, 0x45, 0x4c, 0x46, 1, 1, 1, 0] })],
  ['class 0', () => buildElf({ ...tinyElf(), ident: [0x7f, 0x45, 0x4c, 0x46, 0, 1, 1, 0] })],
  ['big-endian', () => buildElf({ ...tinyElf(), ident: [0x7f, 0x45, 0x4c, 0x46, 2, 2, 1, 0] })],
  ['ELF version 0', () => buildElf({ ...tinyElf(), ident: [0x7f, 0x45, 0x4c, 0x46, 2, 1, 0, 0] })],
  ['machine i386', () => buildElf({ ...tinyElf(), machine: 3 })],
  ['machine aarch64', () => buildElf({ ...tinyElf(), machine: 183 })],
  ['ET_REL', () => buildElf({ ...tinyElf(), type: 1 })],
  ['ET_CORE', () => buildElf({ ...tinyElf(), type: 4 })],
  ['ET_NONE', () => buildElf({ ...tinyElf(), type: 0 })],
  ['phentsize 32', () => buildElf({ ...tinyElf(), phentsize: 32 })],
  ['phnum 0', () => buildElf({ ...tinyElf(), phnum: 0 })],
  ['phnum 65535', () => buildElf({ ...tinyElf(), phnum: 65535 })],
  ['phoff past the end', () => buildElf({ ...tinyElf(), phoff: 0x10000n })],
  ['phoff whose table runs past the end', () => buildElf({ ...tinyElf(), phoff: u64(0x1100 - 56) })],
  ['phoff 2^64-1', () => buildElf({ ...tinyElf(), phoff: u64(-1) })],
  ['no PT_LOAD', () => withPhdrs([{ type: PT.GNU_STACK }, { type: PT.GNU_STACK }])],
  ['segment offset+filesz past the end', () => withPhdr(1, { filesz: 0x101n })],
  ['segment offset past the end', () => withPhdr(1, { offset: 0x2000n, vaddr: 0x402000n })],
  ['segment offset 2^64-4096', () => withPhdr(1, { offset: u64(-4096), vaddr: 0x401000n })],
  ['filesz > memsz', () => withPhdr(0, { memsz: 0xfffn })],
  ['p_memsz 1<<60', () => withPhdr(1, { memsz: 1n << 60n })],
  ['p_memsz 2^52 (a safe number, larger than RAM)', () => withPhdr(1, { memsz: 1n << 52n })],
  ['p_memsz 2^64-1', () => withPhdr(1, { memsz: u64(-1) })],
  ['p_vaddr 2^64-4096', () => withPhdr(1, { vaddr: u64(-4096) })],
  ['segments spanning more than RAM', () => withPhdr(1, { vaddr: 0x400000n + BigInt(RAM) })],
  ['overlapping PT_LOADs', () => withPhdr(1, { vaddr: 0x400800n, offset: 0x800n })],
  ['overlapping PT_LOADs, page-congruent', () => withPhdr(1, { vaddr: 0x400000n, offset: 0x1000n })],
  ['out-of-order PT_LOADs', () => withPhdrs([{ vaddr: 0x402000n, offset: 0n }, { vaddr: 0x401000n, offset: 0x1000n, memsz: 0x100n }])],
  ['vaddr and offset not congruent', () => withPhdr(1, { vaddr: 0x401800n })],
  ['entry 0 in an ET_EXEC', () => buildElf({ ...tinyElf(), entry: 0n })],
  ['entry below the segments', () => buildElf({ ...tinyElf(), entry: 0x3fffffn })],
  ['entry past the segments', () => buildElf({ ...tinyElf(), entry: 0x403000n })],
  ['entry 2^64-1', () => buildElf({ ...tinyElf(), entry: u64(-1) })],
  ['PT_INTERP not NUL-terminated', () => withInterp('/lib64/ld-linux-x86-64.so.2', false)],
  ['PT_INTERP of one NUL byte', () => withInterp('', true)],
  ['PT_INTERP past the end of the file', () => withInterp('/x', true, 0x2000n)],
  ['PT_INTERP longer than PATH_MAX', () => withInterp('/'.repeat(5000), true)],
  ['two PT_INTERPs', () => twoInterps()],
];

/** The tiny ELF with fields of program header `i` replaced. */
function withPhdr(i: number, p: Partial<ElfSpec['phdrs'][number]>): Uint8Array {
  const spec = tinyElf();
  spec.phdrs[i] = { ...spec.phdrs[i]!, ...p };
  return buildElf(spec);
}

function withPhdrs(ps: Partial<ElfSpec['phdrs'][number]>[], entry = 0x401100n): Uint8Array {
  const spec = tinyElf();
  ps.forEach((p, i) => (spec.phdrs[i] = { ...spec.phdrs[i]!, ...p }));
  spec.entry = entry;
  return buildElf(spec);
}

/** The tiny ELF with a third program header, PT_INTERP, naming `name` (in the data page). */
function withInterp(name: string, nul: boolean, offset = 0x1000n): Uint8Array {
  const bytes = Buffer.from(name + (nul ? '\0' : ''), 'latin1');
  const spec = tinyElf();
  spec.size = Math.max(spec.size, 0x1000 + bytes.length);
  spec.phdrs[1]!.filesz = BigInt(spec.size - 0x1000);
  spec.phdrs[1]!.memsz = BigInt(Math.max(0x2000, spec.size - 0x1000));
  spec.phdrs.push({ type: PT.INTERP, flags: PF.R, offset, vaddr: 0x401000n, filesz: BigInt(bytes.length), memsz: BigInt(bytes.length), align: 1n });
  spec.phnum = 3;
  spec.payload.push({ at: 0x1000, bytes });
  return buildElf(spec);
}

function twoInterps(): Uint8Array {
  const spec = tinyElf();
  const name = Buffer.from('/lib64/ld-linux-x86-64.so.2\0', 'latin1');
  const interp = { type: PT.INTERP, flags: PF.R, offset: 0x1000n, vaddr: 0x401000n, filesz: BigInt(name.length), memsz: BigInt(name.length), align: 1n };
  spec.phdrs.push(interp, { ...interp });
  spec.phnum = 4;
  spec.payload.push({ at: 0x1000, bytes: name });
  return buildElf(spec);
}

describe('hostile images', () => {
  let dir: string;
  let kernel: Kernel;
  let baseline: number;

  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nommu-elf-'));
    kernel = newKernel({ ramSize: RAM });
    baseline = kernel.phys.usedBytes;
  });
  afterAll(() => {
    kernel.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** Writes an image as an executable file and has the kernel load it. */
  const load = (name: string, image: Uint8Array): (() => LoadedProgram) => {
    const file = path.join(dir, name.replace(/[^\w]+/g, '_'));
    fs.writeFileSync(file, image, { mode: 0o755 });
    return () => kernel.load('/', file, [file], []);
  };

  it('the untouched tiny ELF is a real program: it loads and exits with 42', async () => {
    const image = buildElf(tinyElf());
    const img = parseElf(image, RAM);
    expect(img.loads).toHaveLength(2);
    const loaded = load('tiny', image)();
    expect(loaded.entry).toBe(0x400100);
    loaded.mm.release();
    expect(kernel.phys.usedBytes).toBe(baseline);
    const file = path.join(dir, 'tiny');
    const run = await runGuest({ path: file, argv: ['tiny'] }, { ramSize: RAM });
    expect(run.status).toEqual({ code: 42, signal: 0, coreDumped: false });
  });

  it.each(hostile)('refuses %s: parseElf and kernel.load answer ENOEXEC/ENOMEM', (name, make) => {
    const image = make();
    const parsed = refusal(() => parseElf(image, RAM));
    expect([ENOEXEC, ENOMEM]).toContain(parsed.errno);
    expect(typeof parsed.message).toBe('string');
    expect(parsed.message.length).toBeGreaterThan(0);
    const loaded = refusal(load(name, image));
    expect(loaded).toBeInstanceOf(ExecFailure);
    expect(loaded.errno).toBe(parsed.errno);
    expect(loaded.message.length).toBeGreaterThan(0);
    expect(kernel.phys.usedBytes).toBe(baseline);
  });

  it('says ENOEXEC (not ENOMEM) for files that are not x86-64 executables', () => {
    for (const [name, make] of hostile.slice(0, 15)) {
      expect([name, refusal(() => parseElf(make(), RAM)).errno]).toEqual([name, ENOEXEC]);
    }
  });

  it('an ET_EXEC linked below RAM or over memory in use is ENOMEM from the loader, with nothing left allocated', () => {
    const low = tinyElf();
    low.phdrs[0]!.vaddr = 0x1000n;
    low.phdrs[1]!.vaddr = 0x2000n;
    low.entry = 0x1100n;
    const f = refusal(load('low', buildElf(low)));
    expect(f.errno).toBe(ENOMEM);
    expect(f.message).toMatch(/outside RAM/);
    // The vDSO sits at the top of RAM: an image linked there finds its pages in use.
    const top = kernel.phys.base + kernel.phys.size - 0x2000;
    const high = tinyElf();
    high.phdrs[0]!.vaddr = BigInt(top);
    high.phdrs[1]!.vaddr = BigInt(top + 0x1000);
    high.entry = BigInt(top + 0x100);
    const g = refusal(load('high', buildElf(high)));
    expect(g.errno).toBe(ENOMEM);
    expect(kernel.phys.usedBytes).toBe(baseline);
  });

  it('an interpreter that does not exist is ENOENT, one that is a directory EACCES', () => {
    const missing = refusal(load('interp_missing', withInterp('/nonexistent/ld.so', true)));
    expect(missing.errno).toBe(2);
    const directory = refusal(load('interp_dir', withInterp('/tmp', true)));
    expect(directory.errno).toBe(13);
    expect(kernel.phys.usedBytes).toBe(baseline);
  });

  it('an interpreter that itself asks for an interpreter is ENOEXEC', () => {
    const selfInterp = path.join(dir, 'self_interp');
    fs.writeFileSync(selfInterp, withInterp(selfInterp, true), { mode: 0o755 });
    const f = refusal(() => kernel.load('/', selfInterp, [selfInterp], []));
    expect(f.errno).toBe(ENOEXEC);
    expect(kernel.phys.usedBytes).toBe(baseline);
  });

  /*
   * BUG (loader/elf.ts parseElf + fs/vfs.ts): Linux's load_elf_binary takes
   * PT_INTERP as a C string, so "/tmp\0junk\0" names /tmp (-> EACCES, a
   * directory). parseElf keeps the embedded NUL in the name; the resolver
   * hands "tmp\0junk" to fs.lstatSync, whose ERR_INVALID_ARG_VALUE becomes
   * EIO ("error 5") instead.
   */
  it('a PT_INTERP with an embedded NUL names the path before the NUL, as on Linux', () => {
    const f = refusal(load('interp_nul', withInterp('/tmp\0junk', true)));
    expect(f.errno).toBe(13);
  });
});
