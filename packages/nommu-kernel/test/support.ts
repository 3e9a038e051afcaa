/** Helpers shared by the kernel's tests: real programs, a real backend, captured output. */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createLinuxSyscallTable } from '@nommu/syscall-table/linux';
import { createUnicornBackend } from '@nommu/x86-cpu';
import { ExecFailure, Kernel, KernelError, type ExitStatus, type KernelOptions } from '../src/index.js';

export const CONFORMANCE_DIR = fileURLToPath(new URL('../../../conformance/', import.meta.url));
export const VARIANTS = ['musl-static-pie', 'musl-static', 'glibc-static', 'glibc-dynamic'] as const;
export type Variant = (typeof VARIANTS)[number];
export const BUSYBOX = '/bin/busybox';

export const conformanceProgram = (variant: Variant, name: string): string => `${CONFORMANCE_DIR}out/${variant}/${name}`;

/** Builds the conformance programs (make-like: a no-op when they are up to date). */
export function buildConformance(): void {
  execFileSync('bash', [`${CONFORMANCE_DIR}build.sh`], { stdio: ['ignore', 'inherit', 'inherit'] });
}

export const MiB = 1 << 20;

/** A kernel on a fresh Unicorn backend with the real Linux syscall table. */
export function newKernel(opts: Partial<KernelOptions> & { ramSize?: number } = {}): Kernel {
  const { ramSize = 256 * MiB, ...rest } = opts;
  return new Kernel({ cpu: createUnicornBackend({ ramSize }), syscalls: createLinuxSyscallTable(), ...rest });
}

/** Output the guest writes, collected. */
export class Capture {
  readonly chunks: Buffer[] = [];
  #bytes = 0;
  constructor(private readonly limit = 1 << 20) {}
  readonly sink = {
    write: (d: Uint8Array): void => {
      if (this.#bytes >= this.limit) return;
      this.#bytes += d.length;
      this.chunks.push(Buffer.from(d));
    },
  };
  text(): string {
    return Buffer.concat(this.chunks).toString('latin1');
  }
}

/** Standard input at end of file. */
export const noInput = { read: (): number => 0 };

export interface GuestRun {
  status: ExitStatus;
  stdout: string;
  stderr: string;
  /** The guard killed it. */
  timedOut: boolean;
}

/**
 * Spawns and runs one program on its own kernel. After `timeoutMs` the guard
 * kills the process (SIGKILL) the way an exit_group would end it.
 */
export async function runGuest(
  spawn: { path: string; argv: string[]; envp?: string[]; cwd?: string },
  opts: Partial<KernelOptions> & { ramSize?: number; timeoutMs?: number } = {},
): Promise<GuestRun> {
  const { timeoutMs = 20_000, ...kopts } = opts;
  const out = new Capture();
  const err = new Capture();
  const kernel = newKernel({ stdin: noInput, stdout: out.sink, stderr: err.sink, ...kopts });
  try {
    const proc = kernel.spawn({ envp: [], ...spawn });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      kernel.exitProcess(proc, { code: 0, signal: 9, coreDumped: false });
    }, timeoutMs);
    try {
      const status = await kernel.run();
      return { status, stdout: out.text(), stderr: err.text(), timedOut };
    } finally {
      clearTimeout(timer);
    }
  } finally {
    kernel.dispose();
  }
}

/** What a refusal must look like: an ExecFailure with the errno and a message. */
export function refusal(f: () => unknown): ExecFailure {
  let thrown: unknown;
  try {
    f();
  } catch (e) {
    thrown = e;
  }
  if (!(thrown instanceof ExecFailure)) {
    throw new Error(`expected an ExecFailure, got ${thrown === undefined ? 'no exception' : String(thrown)}`, { cause: thrown });
  }
  return thrown;
}

export { KernelError };

// ---- ELF images built by hand ----

export interface Phdr {
  type: number;
  flags: number;
  offset: bigint;
  vaddr: bigint;
  filesz: bigint;
  memsz: bigint;
  align: bigint;
}

export interface ElfSpec {
  ident?: number[];
  type: number;
  machine: number;
  entry: bigint;
  phoff: bigint;
  phentsize: number;
  phnum: number;
  phdrs: Phdr[];
  /** Total file size; payload bytes are copied at their offsets. */
  size: number;
  payload: { at: number; bytes: Uint8Array }[];
}

export const PT = { LOAD: 1, INTERP: 3, PHDR: 6, GNU_STACK: 0x6474e551 } as const;
export const PF = { X: 1, W: 2, R: 4 } as const;

/** x86-64: exit_group(42). */
export const EXIT42 = Uint8Array.from([0xbf, 0x2a, 0, 0, 0, 0xb8, 0xe7, 0, 0, 0, 0x0f, 0x05]);

/**
 * A tiny static ET_EXEC that really runs (exit_group(42)): text at 0x400000
 * (file 0..0x1000, code at 0x400100), data at 0x401000 (file 0x1000..0x1100, 8 KiB in memory).
 */
export function tinyElf(): ElfSpec {
  return {
    type: 2,
    machine: 62,
    entry: 0x400100n,
    phoff: 64n,
    phentsize: 56,
    phnum: 2,
    phdrs: [
      { type: PT.LOAD, flags: PF.R | PF.X, offset: 0n, vaddr: 0x400000n, filesz: 0x1000n, memsz: 0x1000n, align: 0x1000n },
      { type: PT.LOAD, flags: PF.R | PF.W, offset: 0x1000n, vaddr: 0x401000n, filesz: 0x100n, memsz: 0x2000n, align: 0x1000n },
    ],
    size: 0x1100,
    payload: [{ at: 0x100, bytes: EXIT42 }],
  };
}

export function buildElf(s: ElfSpec): Uint8Array {
  const out = new Uint8Array(s.size);
  const dv = new DataView(out.buffer);
  const ident = s.ident ?? [0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0];
  ident.forEach((b, i) => (out[i] = b));
  const put16 = (o: number, v: number): void => {
    if (o + 2 <= out.length) dv.setUint16(o, v, true);
  };
  const put32 = (o: number, v: number): void => {
    if (o + 4 <= out.length) dv.setUint32(o, v >>> 0, true);
  };
  const put64 = (o: number, v: bigint): void => {
    if (o + 8 <= out.length) dv.setBigUint64(o, BigInt.asUintN(64, v), true);
  };
  put16(16, s.type);
  put16(18, s.machine);
  put32(20, 1);
  put64(24, s.entry);
  put64(32, s.phoff);
  put16(52, 64);
  put16(54, s.phentsize);
  put16(56, s.phnum);
  const phoff = Number(s.phoff);
  s.phdrs.forEach((p, i) => {
    const o = phoff + i * 56;
    put32(o, p.type);
    put32(o + 4, p.flags);
    put64(o + 8, p.offset);
    put64(o + 16, p.vaddr);
    put64(o + 24, p.vaddr);
    put64(o + 32, p.filesz);
    put64(o + 40, p.memsz);
    put64(o + 48, p.align);
  });
  for (const { at, bytes } of s.payload) out.set(bytes.subarray(0, Math.max(0, out.length - at)), at);
  return out;
}

/** Reads a file's bytes into a fresh Uint8Array (not a pooled Buffer). */
export const readBytes = (p: string): Uint8Array => new Uint8Array(fs.readFileSync(p));

/** `path` and `path2` stand for the addresses of the probe's NUL-terminated strings. */
export type ProbeArg = number | bigint | 'path' | 'path2';

/**
 * A static ET_EXEC that makes one syscall and exits with its negated result:
 * 0 on success, the errno on failure (so the exit status is the answer).
 */
export function syscallProbe(nr: number, args: ProbeArg[], pathString: string, path2String = ''): Uint8Array {
  const spec = tinyElf();
  const pathAt = 0x200;
  const path2At = 0x600;
  // movabs into rdi, rsi, rdx, r10, r8, r9
  const movabs = [[0x48, 0xbf], [0x48, 0xbe], [0x48, 0xba], [0x49, 0xba], [0x49, 0xb8], [0x49, 0xb9]];
  const code: number[] = [];
  args.forEach((a, i) => {
    const v = a === 'path' ? 0x400000n + BigInt(pathAt) : a === 'path2' ? 0x400000n + BigInt(path2At) : BigInt.asUintN(64, BigInt(a));
    code.push(...movabs[i]!);
    for (let b = 0n; b < 64n; b += 8n) code.push(Number((v >> b) & 0xffn));
  });
  code.push(0xb8, nr & 0xff, (nr >> 8) & 0xff, 0, 0); // mov eax, nr
  code.push(0x0f, 0x05); // syscall
  code.push(0x89, 0xc7, 0xf7, 0xdf); // mov edi, eax; neg edi
  code.push(0xb8, 0xe7, 0, 0, 0, 0x0f, 0x05); // exit_group(edi)
  spec.payload = [
    { at: 0x100, bytes: Uint8Array.from(code) },
    { at: pathAt, bytes: Buffer.from(pathString + '\0', 'utf8') },
    { at: path2At, bytes: Buffer.from(path2String + '\0', 'utf8') },
  ];
  return buildElf(spec);
}
