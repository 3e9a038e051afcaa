import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CPU_BACKEND_INTERFACE_VERSION,
  createUnicornBackend,
  FaultAccess,
  Reg,
  REG_COUNT,
  StopReason,
  Vector,
  type CpuBackend,
} from '../src/index.js';

const CODE = 0x20000;
let cpu: CpuBackend;

beforeAll(() => {
  cpu = createUnicornBackend({ ramSize: 16 << 20 });
});
afterAll(() => cpu.dispose());

/** Loads code at CODE and runs it from there. */
function runCode(bytes: number[], slice = 0): StopReason {
  cpu.ram.set(bytes, CODE - cpu.ramBase);
  cpu.invalidateCode(CODE, 4096);
  cpu.setReg(Reg.RIP, BigInt(CODE));
  cpu.setReg(Reg.RSP, BigInt(CODE + 0x8000));
  return cpu.run(slice);
}

describe('Unicorn backend', () => {
  it('describes itself and the CPU it really executes', () => {
    expect(cpu.name).toBe('unicorn');
    expect(cpu.interfaceVersion).toBe(CPU_BACKEND_INTERFACE_VERSION);
    expect(cpu.features.vendor).toMatch(/^(AuthenticAMD|GenuineIntel)$/);
    expect(cpu.features.flags).toContain('sse2');
    expect(cpu.features.flags).toContain('lm');
    // Unicorn 2.0.1 cannot run AVX: the features must not claim it.
    expect(cpu.features.flags).not.toContain('avx');
    expect(cpu.features.hwcap & (1 << 26)).not.toBe(0); // SSE2 in CPUID.1:EDX
  });

  it('exposes RAM zero-copy at its base address', () => {
    expect(cpu.ram.length).toBe(16 << 20);
    // mov rax, [CODE+0x100]; hlt
    cpu.ram.set([1, 2, 3, 4, 5, 6, 7, 8], CODE + 0x100 - cpu.ramBase);
    expect(runCode([0x48, 0x8b, 0x04, 0x25, ...le32(CODE + 0x100), 0xf4])).toBe(StopReason.Halt);
    expect(cpu.getReg(Reg.RAX)).toBe(0x0807060504030201n);
  });

  it('applies the hardware semantics of syscall and stops at the kernel trap', () => {
    const vsyscall = CODE + 0x800;
    const trap = CODE + 0x810;
    cpu.ram.set([0x90, 0x90, 0x0f, 0x05], vsyscall - cpu.ramBase + 14); // padding before the trap
    cpu.ram.set([0x0f, 0x05], trap - cpu.ramBase);
    // at vsyscall: jmp to trap (eb 0e = jmp +14)
    cpu.ram.set([0xeb, 0x0e], vsyscall - cpu.ramBase);
    cpu.setKernelEntry(vsyscall, trap);
    cpu.setReg(Reg.RFLAGS, 0x202n);
    // mov eax, 39; syscall
    expect(runCode([0xb8, 39, 0, 0, 0, 0x0f, 0x05, 0xf4])).toBe(StopReason.KernelCall);
    expect(cpu.getReg(Reg.RCX)).toBe(BigInt(CODE + 7)); // the instruction after syscall
    expect(cpu.getReg(Reg.R11) & 0xfffn).toBe(0x202n);
    expect(cpu.getReg(Reg.RIP)).toBe(BigInt(trap + 2));
    expect(cpu.getReg(Reg.RAX)).toBe(39n);
    cpu.setKernelEntry(0, 0);
  });

  it('reports memory faults with the address and access kind', () => {
    // mov rax, 0x20; mov [rax], eax
    expect(runCode([0x48, 0xc7, 0xc0, 0x20, 0, 0, 0, 0x89, 0x00])).toBe(StopReason.Fault);
    const w = cpu.lastStop();
    expect(w.address).toBe(0x20n);
    expect(w.access).toBe(FaultAccess.Write);
    // xor eax, eax; mov eax, [rax+8]
    expect(runCode([0x31, 0xc0, 0x8b, 0x40, 0x08])).toBe(StopReason.Fault);
    expect(cpu.lastStop()).toMatchObject({ address: 8n, access: FaultAccess.Read });
    // jmp to an address outside RAM
    expect(runCode([0x48, 0xc7, 0xc0, 0x00, 0x10, 0, 0, 0xff, 0xe0])).toBe(StopReason.Fault);
    expect(cpu.lastStop()).toMatchObject({ access: FaultAccess.Fetch, address: 0x1000n });
  });

  describe('page protections', () => {
    const DATA = CODE + 0x10000;
    // mov al, [rbx]; hlt   and   mov [rbx], al; hlt
    const READ = [0x8a, 0x03, 0xf4];
    const WRITE = [0x88, 0x03, 0xf4];
    function access(code: number[], at = DATA): StopReason {
      cpu.setReg(Reg.RBX, BigInt(at));
      return runCode(code);
    }
    afterAll(() => expect(cpu.protect(cpu.ramBase, cpu.ramSize, 7)).toBe(true));

    it('hold after the engine cached the page, fault after fault, and across code invalidation', () => {
      expect(access(WRITE)).toBe(StopReason.Halt);
      expect(access(READ)).toBe(StopReason.Halt);
      expect(cpu.protect(DATA, 4096, 1)).toBe(true);
      for (let i = 0; i < 2; i++) {
        // Unicorn 2.0.1 grants the page's entry full rights before its check: a second write must fault too.
        expect(access(WRITE)).toBe(StopReason.Fault);
        expect(cpu.lastStop()).toMatchObject({ address: BigInt(DATA), access: FaultAccess.Write, protection: true });
      }
      expect(access(READ)).toBe(StopReason.Halt);
      expect(cpu.protect(DATA, 4096, 0)).toBe(true);
      expect(access(READ)).toBe(StopReason.Fault);
      expect(cpu.lastStop()).toMatchObject({ access: FaultAccess.Read, protection: true });
      // Looking up the page's code refills its entry; the rights must survive that.
      cpu.invalidateCode(DATA, 4096);
      expect(access(READ)).toBe(StopReason.Fault);
      expect(cpu.protect(DATA, 4096, 3)).toBe(true);
      expect(access(WRITE)).toBe(StopReason.Halt);
      // The page after it never changed.
      expect(access(WRITE, DATA + 4096)).toBe(StopReason.Halt);
    });

    it('stop code that ran before from running once PROT_EXEC is gone', () => {
      expect(runCode([0xb8, 1, 0, 0, 0, 0xf4])).toBe(StopReason.Halt);
      expect(cpu.protect(CODE, 4096, 3)).toBe(true);
      cpu.setReg(Reg.RIP, BigInt(CODE));
      expect(cpu.run(0)).toBe(StopReason.Fault);
      expect(cpu.lastStop()).toMatchObject({ address: BigInt(CODE), access: FaultAccess.Fetch, protection: true });
      expect(cpu.protect(CODE, 4096, 5)).toBe(true);
      cpu.setReg(Reg.RIP, BigInt(CODE));
      expect(cpu.run(0)).toBe(StopReason.Halt);
      expect(cpu.protect(CODE, 4096, 7)).toBe(true);
    });

    it('give up enforcing, never crash, past the ranges the engine can hold, and enforce again after', () => {
      const base = cpu.ramBase + (8 << 20);
      let refusedAt = -1;
      // Every other page read-only: one engine region per page.
      for (let i = 0; i < 1024 && refusedAt < 0; i++) {
        if (!cpu.protect(base + i * 2 * 4096, 4096, 1)) refusedAt = i;
      }
      expect(refusedAt).toBeGreaterThan(100);
      // The chunk lost its protections: more permissive than asked, never less.
      expect(access(WRITE, base)).toBe(StopReason.Halt);
      expect(access(WRITE, base + refusedAt * 2 * 4096)).toBe(StopReason.Halt);
      expect(cpu.protect(base, 4096, 1)).toBe(true);
      expect(access(WRITE, base)).toBe(StopReason.Fault);
    });
  });

  it('reports CPU exceptions with fault and trap semantics', () => {
    // xor ecx, ecx; xor edx, edx; mov eax, 1; div ecx
    expect(runCode([0x31, 0xc9, 0x31, 0xd2, 0xb8, 1, 0, 0, 0, 0xf7, 0xf1])).toBe(StopReason.Exception);
    expect(cpu.lastStop()).toMatchObject({ vector: Vector.DivideError, rip: BigInt(CODE + 9) });
    expect(runCode([0x90, 0xcc, 0x90])).toBe(StopReason.Exception);
    expect(cpu.lastStop()).toMatchObject({ vector: Vector.Breakpoint, rip: BigInt(CODE + 2) });
  });

  it('reports every exception as itself, not as a double fault after the first', () => {
    // QEMU keeps the last exception until an IDT delivers it; the backend must forget it.
    for (let i = 0; i < 3; i++) {
      expect(runCode([0x31, 0xc9, 0x31, 0xd2, 0xb8, 1, 0, 0, 0, 0xf7, 0xf1])).toBe(StopReason.Exception);
      expect(cpu.lastStop().vector).toBe(Vector.DivideError);
    }
    expect(runCode([0x0f, 0x0b])).toBe(StopReason.InvalidInstruction);
    expect(runCode([0x90, 0xcc, 0x90])).toBe(StopReason.Exception);
    expect(cpu.lastStop().vector).toBe(Vector.Breakpoint);
  });

  it('reports instructions it cannot execute', () => {
    expect(runCode([0x0f, 0x0b])).toBe(StopReason.InvalidInstruction); // ud2
    expect(cpu.lastStop().rip).toBe(BigInt(CODE));
    expect(runCode([0xc5, 0xfc, 0x57, 0xc0])).toBe(StopReason.InvalidInstruction); // vxorps ymm0 (AVX)
  });

  it('preempts a runaway guest with the watchdog', () => {
    const t0 = performance.now();
    expect(runCode([0xeb, 0xfe], 20_000)).toBe(StopReason.Preempted); // jmp .
    const ms = performance.now() - t0;
    expect(ms).toBeGreaterThanOrEqual(15);
    expect(ms).toBeLessThan(2000);
    expect(cpu.getReg(Reg.RIP)).toBe(BigInt(CODE));
  });

  it('resumes exactly where it was preempted, even mid-loop of stores', () => {
    // xor eax,eax; mov ecx,N; l: add rax,rcx; imul rbx,rax,3; push rbx; pop rdx; dec ecx; jnz l; hlt
    const N = 2_000_000;
    const code = [0x31, 0xc0, 0xb9, ...le32(N), 0x48, 0x01, 0xc8, 0x48, 0x6b, 0xd8, 0x03, 0x53, 0x5a, 0xff, 0xc9, 0x75, 0xf3, 0xf4];
    let preemptions = 0;
    let r = runCode(code, 200);
    while (r === StopReason.Preempted) {
      preemptions++;
      r = cpu.run(200);
    }
    expect(r).toBe(StopReason.Halt);
    expect(preemptions).toBeGreaterThan(10);
    expect(cpu.getReg(Reg.RAX)).toBe((BigInt(N) * BigInt(N + 1)) / 2n);
  });

  it('round-trips general registers', () => {
    const regs = new BigUint64Array(REG_COUNT);
    for (let i = 0; i < REG_COUNT; i++) regs[i] = 0x1111_0000_0000_0000n * BigInt((i % 7) + 1) + BigInt(i);
    regs[Reg.RIP] = BigInt(CODE);
    regs[Reg.RFLAGS] = 0x246n;
    regs[Reg.FS_BASE] = 0x7000_1234n;
    regs[Reg.GS_BASE] = 0x7000_5678n;
    cpu.setRegs(regs);
    const back = new BigUint64Array(REG_COUNT);
    cpu.getRegs(back);
    expect([...back]).toEqual([...regs]);
  });

  it('round-trips x87 and SSE state in fxsave layout', () => {
    // fld1; fldpi; movq xmm3, rax-ish constant via fxrstor-free path: load xmm3 from memory
    cpu.ram.set([0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11, 0xff, 0xee, 0xdd, 0xcc, 0xbb, 0xaa, 0x99, 0x00], CODE + 0x200 - cpu.ramBase);
    expect(runCode([0xd9, 0xe8, 0xd9, 0xeb, 0x0f, 0x10, 0x1c, 0x25, ...le32(CODE + 0x200), 0xf4])).toBe(StopReason.Halt);
    const fx = new Uint8Array(512);
    cpu.getFpState(fx);
    expect(fx[0]! | (fx[1]! << 8)).toBe(0x37f); // FCW as the ABI wants it (Unicorn resets it to 0)
    expect(((fx[2]! | (fx[3]! << 8)) >> 11) & 7).toBe(6); // two pushes: TOP = 6
    // ST0 = pi: mantissa c90fdaa22168c235, exponent 0x4000
    expect(Buffer.from(fx.subarray(32, 42)).toString('hex')).toBe('35c26821a2da0fc90040');
    expect(Buffer.from(fx.subarray(160 + 48, 160 + 64)).toString('hex')).toBe('8877665544332211ffeeddccbbaa9900');
    expect(fx[24]! | (fx[25]! << 8)).toBe(0x1f80);
    const copy = fx.slice();
    cpu.setFpState(new Uint8Array(512).fill(0).map((_, i) => (i === 0 ? 0x7f : i === 1 ? 3 : i === 24 ? 0x80 : i === 25 ? 0x1f : 0)));
    cpu.setFpState(copy);
    const again = new Uint8Array(512);
    cpu.getFpState(again);
    expect(Buffer.from(again).toString('hex')).toBe(Buffer.from(fx).toString('hex'));
  });

  it('drops translated code only when told to', () => {
    expect(runCode([0xb8, 1, 0, 0, 0, 0xf4])).toBe(StopReason.Halt);
    expect(cpu.getReg(Reg.RAX)).toBe(1n);
    cpu.ram.set([0xb8, 2, 0, 0, 0, 0xf4], CODE - cpu.ramBase);
    cpu.invalidateCode(CODE, 4096);
    cpu.setReg(Reg.RIP, BigInt(CODE));
    cpu.run(0);
    expect(cpu.getReg(Reg.RAX)).toBe(2n);
  });

  it('zeroes ranges and reads the TSC the guest sees', () => {
    cpu.ram.fill(0xaa, 0x100000, 0x100000 + 200_000);
    cpu.zero(cpu.ramBase + 0x100000, 200_000);
    expect(cpu.ram.subarray(0x100000, 0x100000 + 200_000).every((b) => b === 0)).toBe(true);
    const t0 = cpu.readTsc();
    expect(runCode([0x0f, 0x31, 0xf4])).toBe(StopReason.Halt); // rdtsc
    const guest = (cpu.getReg(Reg.RDX) << 32n) | (cpu.getReg(Reg.RAX) & 0xffff_ffffn);
    expect(guest).toBeGreaterThanOrEqual(t0);
    expect(guest).toBeLessThanOrEqual(cpu.readTsc());
  });

  it('tells pages holding data (present or swapped out) from untouched ones', () => {
    const off = 0x400000;
    const base = cpu.ramBase + off;
    cpu.zero(base, 64 * 4096);
    expect(cpu.dataExtents!(base, 64 * 4096)).toEqual([]);
    cpu.ram[off + 3 * 4096] = 1;
    cpu.ram.fill(1, off + 40 * 4096, off + 42 * 4096);
    expect(cpu.dataExtents!(base, 64 * 4096)).toEqual([base + 3 * 4096, base + 4 * 4096, base + 40 * 4096, base + 42 * 4096]);
    cpu.zero(base, 64 * 4096);
    expect(cpu.dataExtents!(base, 64 * 4096)).toEqual([]);
    expect(() => cpu.dataExtents!(0, 16)).toThrow(/inside RAM/);
  });

  it('refuses bad arguments with errors, not crashes', () => {
    expect(() => cpu.protect(cpu.ramBase + 1, 4096, 7)).toThrow(/page-aligned/);
    expect(() => cpu.zero(0, 16)).toThrow(/inside RAM/);
    expect(() => cpu.getRegs(new BigUint64Array(3))).toThrow(/need 20/);
    expect(() => createUnicornBackend({ ramSize: 12345 })).toThrow(/page-aligned/);
  });

  it('is unusable after dispose, without crashing', () => {
    const other = createUnicornBackend({ ramSize: 1 << 20 });
    other.dispose();
    expect(() => other.run(0)).toThrow(/disposed/);
  });
});

function le32(v: number): number[] {
  return [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff];
}
