/**
 * The real entry/exit shim, executed by the Unicorn backend, against the
 * TypeScript reference model on the same input registers: the pt_regs image
 * must match byte for byte, and so must the registers the user sees after
 * return (only rcx and r11 may change, rax holds the result).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUnicornBackend, Reg, REG_COUNT, StopReason, type CpuBackend } from '@nommu/x86-cpu';
import {
  kernelVsyscall,
  PT_REGS_FIELDS,
  PtRegs,
  SIZEOF_PT_REGS,
  syscallInstruction,
  vdsoImage,
  vdsoLayout,
  type ShimMemory,
  type UserRegs,
  type VdsoLayout,
} from '../src/index.js';

const RAM = 0x10000;
const USER_CODE = 0x40000;
const USER_STACK = 0x80000;
const PTREGS_A = 0x90000;
const PTREGS_B = 0x91000;
const KSTACK = 0x98000;
const VDSO = 0x100000;

let cpu: CpuBackend;
let vdso: VdsoLayout;
const view = (): DataView => new DataView(cpu.ram.buffer, cpu.ram.byteOffset, cpu.ram.byteLength);
const rd = (a: number): bigint => view().getBigUint64(a - RAM, true);
const wr = (a: number, v: bigint): void => view().setBigUint64(a - RAM, BigInt.asUintN(64, v), true);

beforeAll(() => {
  cpu = createUnicornBackend({ ramBase: RAM, ramSize: 4 << 20 });
  cpu.ram.set(vdsoImage(), VDSO - RAM);
  vdso = vdsoLayout(VDSO);
  cpu.setKernelEntry(vdso.vsyscall, vdso.trap);
  // User code: syscall; hlt
  cpu.ram.set([0x0f, 0x05, 0xf4], USER_CODE - RAM);
});
afterAll(() => cpu.dispose());

const NAMES = ['rax', 'rbx', 'rcx', 'rdx', 'rsi', 'rdi', 'rbp', 'rsp', 'r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15'] as const;
const REG_OF: Record<(typeof NAMES)[number], number> = {
  rax: Reg.RAX, rbx: Reg.RBX, rcx: Reg.RCX, rdx: Reg.RDX, rsi: Reg.RSI, rdi: Reg.RDI, rbp: Reg.RBP, rsp: Reg.RSP,
  r8: Reg.R8, r9: Reg.R9, r10: Reg.R10, r11: Reg.R11, r12: Reg.R12, r13: Reg.R13, r14: Reg.R14, r15: Reg.R15,
};

function randomRegs(seed: number, nr: bigint): UserRegs {
  let x = BigInt(seed) * 0x9e3779b97f4a7c15n;
  const next = (): bigint => {
    x = BigInt.asUintN(64, x * 6364136223846793005n + 1442695040888963407n);
    return x;
  };
  const r = Object.fromEntries(NAMES.map((n) => [n, next()])) as unknown as UserRegs;
  r.rax = nr;
  r.rsp = BigInt(USER_STACK);
  r.rip = BigInt(USER_CODE);
  r.rflags = seed % 2 ? 0x202n : 0x2c7n; // IF, plus CF/PF/ZF/SF on odd seeds
  return r;
}

function loadCpu(r: UserRegs): void {
  const regs = new BigUint64Array(REG_COUNT);
  for (const n of NAMES) regs[REG_OF[n]] = r[n];
  regs[Reg.RIP] = r.rip;
  regs[Reg.RFLAGS] = r.rflags;
  cpu.setRegs(regs);
}

function readCpu(): UserRegs {
  const regs = new BigUint64Array(REG_COUNT);
  cpu.getRegs(regs);
  const r = Object.fromEntries(NAMES.map((n) => [n, regs[REG_OF[n]]!])) as unknown as UserRegs;
  r.rip = regs[Reg.RIP]!;
  r.rflags = regs[Reg.RFLAGS]!;
  return r;
}

/** The model's memory: a sparse copy, so it never touches the CPU's RAM. */
function modelMemory(): ShimMemory & { bytes(addr: number, len: number): Buffer } {
  const m = new Map<bigint, bigint>();
  return {
    read64: (a) => m.get(a) ?? 0n,
    write64: (a, v) => void m.set(a, v),
    bytes(addr, len) {
      const b = Buffer.alloc(len);
      for (let i = 0; i < len; i += 8) b.writeBigUInt64LE(m.get(BigInt(addr + i)) ?? 0n, i);
      return b;
    },
  };
}

/** Runs user `syscall` on the real shim; `kernel` plays do_syscall_64 at the trap. */
function runReal(r: UserRegs, kernel: (ptregs: number) => void): { ptregs: Buffer; after: UserRegs } {
  wr(vdso.currentPtregs, BigInt(PTREGS_A));
  wr(vdso.currentTopOfStack, BigInt(KSTACK));
  cpu.ram.fill(0, PTREGS_A - RAM, PTREGS_A - RAM + SIZEOF_PT_REGS);
  loadCpu(r);
  expect(cpu.run(0)).toBe(StopReason.KernelCall);
  // do_syscall_64(regs): rdi holds the pt_regs pointer, as the C ABI passes it.
  expect(cpu.getReg(Reg.RDI)).toBe(BigInt(PTREGS_A));
  const ptregs = Buffer.from(cpu.ram.subarray(PTREGS_A - RAM, PTREGS_A - RAM + SIZEOF_PT_REGS));
  kernel(PTREGS_A);
  expect(cpu.run(0)).toBe(StopReason.Halt);
  const after = readCpu();
  after.rip -= 1n; // hlt stops after itself: report the address the shim jumped to
  return { ptregs, after };
}

function runModel(r: UserRegs, kernel: (ptregs: number, mem: ShimMemory) => void) {
  const mem = modelMemory();
  let current = BigInt(PTREGS_A);
  const entry = syscallInstruction(r, BigInt(vdso.vsyscall));
  let image: Buffer<ArrayBufferLike> = Buffer.alloc(0);
  const after = kernelVsyscall(
    entry,
    mem,
    { currentPtregs: () => current, currentTopOfStack: () => BigInt(KSTACK), exitAddress: BigInt(vdso.vsyscallExit) },
    (p) => {
      image = mem.bytes(Number(p), SIZEOF_PT_REGS);
      kernel(Number(p), mem);
      current = BigInt(PTREGS_A);
    },
  );
  return { ptregs: image, after };
}

describe('__kernel_vsyscall against the reference model', () => {
  it.each([
    [1, 39n],
    [2, 1n],
    [3, 0n],
    [4, 1000n],
    [5, 0xffff_ffff_ffff_ffffn],
  ])('seed %i, nr %s: same pt_regs, same registers after return', (seed, nr) => {
    const r = randomRegs(seed, nr);
    const result = 0x1234_5678_9abc_def0n + BigInt(seed);
    const real = runReal(r, (p) => wr(p + PtRegs.AX, result));
    const model = runModel(r, (p, mem) => mem.write64(BigInt(p + PtRegs.AX), result));

    expect(real.ptregs.toString('hex')).toBe(model.ptregs.toString('hex'));
    // The picture the seed draws: orig_ax = nr, ax = -ENOSYS, ip = rcx = next instruction.
    expect(real.ptregs.readBigUInt64LE(PtRegs.ORIG_AX)).toBe(BigInt.asUintN(64, nr));
    expect(real.ptregs.readBigInt64LE(PtRegs.AX)).toBe(-38n);
    expect(real.ptregs.readBigUInt64LE(PtRegs.IP)).toBe(BigInt(USER_CODE + 2));
    expect(real.ptregs.readBigUInt64LE(PtRegs.SP)).toBe(BigInt(USER_STACK));
    expect(real.ptregs.readBigUInt64LE(PtRegs.DI)).toBe(r.rdi);
    expect(real.ptregs.readBigUInt64LE(PtRegs.R10)).toBe(r.r10);
    expect(real.ptregs.readBigUInt64LE(PtRegs.FLAGS) & 0xfffn).toBe(r.rflags & 0xfffn);

    for (const n of NAMES) {
      if (n === 'rcx' || n === 'r11') continue;
      expect({ reg: n, v: real.after[n] }).toEqual({ reg: n, v: model.after[n] });
      if (n !== 'rax') expect({ reg: n, v: real.after[n] }).toEqual({ reg: n, v: r[n] });
    }
    expect(real.after.rax).toBe(result);
    expect(real.after.rip).toBe(BigInt(USER_CODE + 2));
    expect(model.after.rip).toBe(BigInt(USER_CODE + 2));
    expect(real.after.rflags & 0xfffn).toBe(r.rflags & 0xfffn);
  });

  it('returns into whatever task is current when the kernel switched tasks', () => {
    // Task B was saved earlier; the kernel makes it current while A is in the syscall.
    const b = randomRegs(42, 0n);
    const imageB = Buffer.alloc(SIZEOF_PT_REGS);
    const fields: Record<string, bigint> = {
      R15: b.r15, R14: b.r14, R13: b.r13, R12: b.r12, BP: b.rbp, BX: b.rbx, R11: b.r11, R10: b.r10, R9: b.r9,
      R8: b.r8, AX: 77n, CX: 0n, DX: b.rdx, SI: b.rsi, DI: b.rdi, ORIG_AX: 0n, IP: BigInt(USER_CODE + 2), CS: 0n,
      FLAGS: 0x246n, SP: BigInt(USER_STACK - 0x100), SS: 0n,
    };
    for (const f of PT_REGS_FIELDS) imageB.writeBigUInt64LE(fields[f]!, PtRegs[f]);
    cpu.ram.set(imageB, PTREGS_B - RAM);
    const real = runReal(randomRegs(7, 39n), () => wr(vdso.currentPtregs, BigInt(PTREGS_B)));
    expect(real.after.rax).toBe(77n);
    expect(real.after.rsp).toBe(BigInt(USER_STACK - 0x100));
    expect(real.after.rbx).toBe(b.rbx);
    expect(real.after.r15).toBe(b.r15);
    expect(real.after.rflags & 0xfffn).toBe(0x246n);
  });
});
