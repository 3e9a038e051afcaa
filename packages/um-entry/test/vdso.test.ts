import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { VDSO_MAPPED_SIZE, VDSO_SYMBOLS, VDSO_TOOLCHAIN, vdsoImage } from '../src/index.js';

const pkg = join(import.meta.dirname, '..');

function haveToolchain(): boolean {
  const ld = spawnSync('ld', ['--version'], { encoding: 'utf8' });
  return spawnSync('gcc', ['--version']).status === 0 && ld.status === 0 && ld.stdout.split('\n')[0] === VDSO_TOOLCHAIN;
}

/** The dynamic symbols of an ELF64 shared object, with their version names. */
function dynamicSymbols(img: Uint8Array): Map<string, { value: number; version: string }> {
  const b = Buffer.from(img);
  const shoff = Number(b.readBigUInt64LE(0x28));
  const shnum = b.readUInt16LE(0x3c);
  const sections = Array.from({ length: shnum }, (_, i) => {
    const o = shoff + i * 64;
    return { type: b.readUInt32LE(o + 4), offset: Number(b.readBigUInt64LE(o + 24)), size: Number(b.readBigUInt64LE(o + 32)), link: b.readUInt32LE(o + 40) };
  });
  const dynsym = sections.find((s) => s.type === 11)!;
  const strtab = sections[dynsym.link]!;
  const versym = sections.find((s) => s.type === 0x6fffffff)!;
  const verdef = sections.find((s) => s.type === 0x6ffffffd)!;
  const str = (off: number): string => b.toString('latin1', strtab.offset + off, b.indexOf(0, strtab.offset + off));
  const versions = new Map<number, string>();
  for (let o = verdef.offset; ; ) {
    const ndx = b.readUInt16LE(o + 4);
    const aux = b.readUInt32LE(o + 12);
    versions.set(ndx, str(b.readUInt32LE(o + aux)));
    const next = b.readUInt32LE(o + 16);
    if (next === 0) break;
    o += next;
  }
  const out = new Map<string, { value: number; version: string }>();
  for (let i = 1; i < dynsym.size / 24; i++) {
    const o = dynsym.offset + i * 24;
    const name = str(b.readUInt32LE(o));
    const v = b.readUInt16LE(versym.offset + i * 2) & 0x7fff;
    out.set(name, { value: Number(b.readBigUInt64LE(o + 8)), version: versions.get(v) ?? '' });
  }
  return out;
}

describe('the vDSO image', () => {
  it('is an x86-64 ELF shared object exporting the entry and the time fast paths as LINUX_2.6', () => {
    const img = vdsoImage();
    expect(Buffer.from(img.subarray(0, 4)).toString('latin1')).toBe('\x7fELF');
    expect(img[4]).toBe(2); // 64-bit
    expect(Buffer.from(img).readUInt16LE(16)).toBe(3); // ET_DYN
    expect(Buffer.from(img).readUInt16LE(18)).toBe(62); // x86-64
    const syms = dynamicSymbols(img);
    for (const name of ['__kernel_vsyscall', '__vdso_clock_gettime', '__vdso_gettimeofday', '__vdso_time', '__vdso_getcpu']) {
      expect(syms.get(name), name).toMatchObject({ version: 'LINUX_2.6' });
    }
    expect(syms.get('__kernel_vsyscall')!.value).toBe(VDSO_SYMBOLS.__kernel_vsyscall);
    // The kernel-only symbols stay private.
    expect(syms.has('current_ptregs')).toBe(false);
    expect(syms.has('do_syscall_64')).toBe(false);
    expect(VDSO_MAPPED_SIZE % 4096).toBe(0);
    expect(VDSO_SYMBOLS.current_ptregs).toBeLessThan(VDSO_MAPPED_SIZE);
  });

  it('is what the assembler and linker produce from src/asm (reproducible build)', (ctx) => {
    if (!haveToolchain()) {
      ctx.skip();
      return;
    }
    const out = mkdtempSync(join(tmpdir(), 'nommu-vdso-test-'));
    try {
      execFileSync(process.execPath, [join(pkg, 'scripts', 'build-vdso.mjs'), '--out', out]);
      const rebuilt = readFileSync(join(out, 'vdso-image.ts'), 'utf8');
      const committed = readFileSync(join(pkg, 'src', 'generated', 'vdso-image.ts'), 'utf8');
      expect(rebuilt).toBe(committed);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});
