import { E } from '../errno.js';

export const ET_EXEC = 2;
export const ET_DYN = 3;
export const EM_X86_64 = 62;
export const PT_LOAD = 1;
export const PT_DYNAMIC = 2;
export const PT_INTERP = 3;
export const PT_PHDR = 6;
export const PT_TLS = 7;
export const PT_GNU_STACK = 0x6474e551;
export const PF_X = 1;
export const PF_W = 2;
export const PF_R = 4;

const MAX_PHNUM = 512;
const PATH_MAX = 4096;

/** Why a program cannot be executed: the errno execve answers and a message for people. */
export class ExecFailure {
  constructor(
    readonly errno: number,
    readonly message: string,
  ) {}
}

export interface ProgramHeader {
  type: number;
  flags: number;
  offset: number;
  vaddr: number;
  filesz: number;
  memsz: number;
  align: number;
}

export interface ElfImage {
  type: number;
  entry: number;
  phoff: number;
  phnum: number;
  phdrs: ProgramHeader[];
  loads: ProgramHeader[];
  interp: string | null;
  /** [min, max) of the PT_LOAD segments' virtual addresses, page-aligned. */
  minVaddr: number;
  maxVaddr: number;
  /** p_memsz of PT_GNU_STACK when nonzero (the nommu stack size hint). */
  stackSize: number;
}

export function isElf(data: Uint8Array): boolean {
  return data.length >= 4 && data[0] === 0x7f && data[1] === 0x45 && data[2] === 0x4c && data[3] === 0x46;
}

const fail = (errno: number, message: string): never => {
  throw new ExecFailure(errno, message);
};

/**
 * Parses and checks an ELF executable completely before anything is loaded: a
 * truncated or hostile file is refused with ENOEXEC, never half-loaded.
 * `data` may be only the file's beginning (headers, program headers and
 * PT_INTERP must be in it) when `fileSize` says how long the file is.
 */
export function parseElf(data: Uint8Array, ramSize: number, fileSize: number = data.length): ElfImage {
  if (!isElf(data)) fail(E.ENOEXEC, 'not an ELF file');
  if (data.length < 64) fail(E.ENOEXEC, 'truncated ELF header');
  const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
  if (data[4] !== 2) fail(E.ENOEXEC, 'not a 64-bit ELF file');
  if (data[5] !== 1) fail(E.ENOEXEC, 'not a little-endian ELF file');
  if (data[6] !== 1) fail(E.ENOEXEC, 'unknown ELF version');
  const type = dv.getUint16(16, true);
  const machine = dv.getUint16(18, true);
  if (machine !== EM_X86_64) fail(E.ENOEXEC, `ELF machine ${machine} is not x86-64`);
  if (type !== ET_EXEC && type !== ET_DYN) fail(E.ENOEXEC, `ELF type ${type} is not an executable`);
  const entry = num(dv.getBigUint64(24, true));
  const phoff = num(dv.getBigUint64(32, true));
  const phentsize = dv.getUint16(54, true);
  const phnum = dv.getUint16(56, true);
  if (phentsize !== 56) fail(E.ENOEXEC, `bad program header size ${phentsize}`);
  if (phnum === 0 || phnum > MAX_PHNUM) fail(E.ENOEXEC, `bad program header count ${phnum}`);
  if (phoff + phnum * 56 > data.length) fail(E.ENOEXEC, 'program headers past the end of the file');

  const phdrs: ProgramHeader[] = [];
  for (let i = 0; i < phnum; i++) {
    const o = phoff + i * 56;
    phdrs.push({
      type: dv.getUint32(o, true),
      flags: dv.getUint32(o + 4, true),
      offset: num(dv.getBigUint64(o + 8, true)),
      vaddr: num(dv.getBigUint64(o + 16, true)),
      filesz: num(dv.getBigUint64(o + 32, true)),
      memsz: num(dv.getBigUint64(o + 40, true)),
      align: num(dv.getBigUint64(o + 48, true)),
    });
  }

  const loads = phdrs.filter((p) => p.type === PT_LOAD);
  if (loads.length === 0) fail(E.ENOEXEC, 'no loadable segments');
  let prevEnd = -1;
  for (const p of loads) {
    if (p.filesz > p.memsz) fail(E.ENOEXEC, 'segment file size exceeds its memory size');
    if (p.offset + p.filesz > fileSize) fail(E.ENOEXEC, 'segment extends past the end of the file');
    if (p.memsz > ramSize) fail(E.ENOMEM, 'segment larger than RAM');
    if (p.align > 1 && (p.vaddr - p.offset) % 4096 !== 0) fail(E.ENOEXEC, 'segment misaligned with its file offset');
    if (p.vaddr < prevEnd) fail(E.ENOEXEC, 'segments overlap or are out of order');
    prevEnd = p.vaddr + p.memsz;
  }
  const minVaddr = Math.floor(loads[0]!.vaddr / 4096) * 4096;
  const maxVaddr = Math.ceil(prevEnd / 4096) * 4096;
  if (maxVaddr - minVaddr > ramSize) fail(E.ENOMEM, 'program larger than RAM');
  if (type === ET_EXEC && entry === 0) fail(E.ENOEXEC, 'no entry point');
  if (entry < minVaddr || entry >= maxVaddr) fail(E.ENOEXEC, 'entry point outside the loaded segments');

  let interp: string | null = null;
  const pi = phdrs.filter((p) => p.type === PT_INTERP);
  if (pi.length > 1) fail(E.ENOEXEC, 'more than one PT_INTERP');
  if (pi[0]) {
    const p = pi[0];
    if (p.filesz < 2 || p.filesz > PATH_MAX || p.offset + p.filesz > data.length) fail(E.ENOEXEC, 'bad PT_INTERP');
    if (data[p.offset + p.filesz - 1] !== 0) fail(E.ENOEXEC, 'PT_INTERP is not NUL-terminated');
    // Like Linux: the name ends at its first NUL.
    const raw = Buffer.from(data.subarray(p.offset, p.offset + p.filesz - 1));
    const nul = raw.indexOf(0);
    interp = (nul < 0 ? raw : raw.subarray(0, nul)).toString('latin1');
    if (interp.length === 0) fail(E.ENOEXEC, 'empty PT_INTERP');
  }
  const gnuStack = phdrs.find((p) => p.type === PT_GNU_STACK);
  return {
    type,
    entry,
    phoff,
    phnum,
    phdrs,
    loads,
    interp,
    minVaddr,
    maxVaddr,
    stackSize: gnuStack && gnuStack.memsz > 0 ? Math.min(gnuStack.memsz, ramSize / 4) : 0,
  };
}

/** Every address and size must be a safe JS number: anything bigger is hostile. */
function num(v: bigint): number {
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) fail(E.ENOEXEC, 'address or size out of range');
  return Number(v);
}
