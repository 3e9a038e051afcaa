/**
 * The native backend on this host: guest code on the real CPU in the runner
 * process. Skips, saying why, only where the host cannot run it.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CPU_BACKEND_INTERFACE_VERSION,
  createNativeBackend,
  FaultAccess,
  nativeBackendUnavailable,
  Prot,
  Reg,
  REG_COUNT,
  StopReason,
  Vector,
  type CpuBackend,
} from '../src/index.js';

const CODE = 0x20000;
const why = nativeBackendUnavailable();
if (why) console.warn(`native backend tests skipped: ${why}`);
let cpu: CpuBackend;

beforeAll(() => {
  if (!why) cpu = createNativeBackend({ ramSize: 16 << 20 });
});
afterAll(() => cpu?.dispose());

function runCode(bytes: number[], slice = 0): StopReason {
  cpu.ram.set(bytes, CODE - cpu.ramBase);
  cpu.setReg(Reg.RIP, BigInt(CODE));
  cpu.setReg(Reg.RSP, BigInt(CODE + 0x8000));
  return cpu.run(slice);
}
const le32 = (v: number): number[] => [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff];
const HLT = 0xf4;

describe.skipIf(why !== null)('native backend', () => {
  it('describes the host CPU it runs on', () => {
    expect(cpu.name).toBe('native');
    expect(cpu.interfaceVersion).toBe(CPU_BACKEND_INTERFACE_VERSION);
    expect(cpu.features.vendor).toMatch(/^(AuthenticAMD|GenuineIntel)$/);
    expect(cpu.features.flags).toContain('sse2');
    expect(cpu.features.hwcap2 & 2).toBe(2); // FSGSBASE
    // An XSAVE image at least as large as the legacy area plus its header.
    expect(cpu.fpStateSize).toBeGreaterThanOrEqual(576);
  });

  it('shares RAM with the runner both ways', () => {
    cpu.ram.set([1, 2, 3, 4, 5, 6, 7, 8], CODE + 0x100 - cpu.ramBase);
    // mov rax, [CODE+0x100]; mov [CODE+0x108], rax; hlt
    expect(runCode([0x48, 0x8b, 0x04, 0x25, ...le32(CODE + 0x100), 0x48, 0x89, 0x04, 0x25, ...le32(CODE + 0x108), HLT])).toBe(StopReason.Halt);
    expect(cpu.getReg(Reg.RAX)).toBe(0x0807060504030201n);
    expect([...cpu.ram.subarray(CODE + 0x108 - cpu.ramBase, CODE + 0x110 - cpu.ramBase)]).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
  });

  it('stops at an unpatched trap through its SIGSYS', () => {
    // The trap's own `syscall` instruction clobbers rcx and r11, as on any CPU; the shim saved them.
    const vsyscall = CODE + 0x800;
    const trap = CODE + 0x810;
    cpu.ram.set([0xeb, 0x0e], vsyscall - cpu.ramBase);
    cpu.ram.set([0x0f, 0x05, 0x90], trap - cpu.ramBase);
    cpu.setKernelEntry(vsyscall, trap);
    cpu.setReg(Reg.RFLAGS, 0x202n);
    expect(runCode([0xb8, 39, 0, 0, 0, 0x0f, 0x05, HLT])).toBe(StopReason.KernelCall);
    expect(cpu.getReg(Reg.RIP)).toBe(BigInt(trap + 2));
    expect(cpu.getReg(Reg.RAX)).toBe(39n);
    cpu.setKernelEntry(0, 0);
  });

  it('applies the semantics of syscall, patches the vDSO trap into a jump and resumes at its ret', () => {
    const vsyscall = CODE + 0x900;
    const trap = CODE + 0x910;
    cpu.ram.set([0xeb, 0x0e], vsyscall - cpu.ramBase);
    cpu.ram.set([0x0f, 0x05, 0xc3, ...new Array<number>(14).fill(0xcc)], trap - cpu.ramBase);
    cpu.setKernelEntry(vsyscall, trap);
    cpu.setReg(Reg.RFLAGS, 0x202n);
    // mov eax, 60; syscall; mov ebx, eax; hlt
    expect(runCode([0xb8, 60, 0, 0, 0, 0x0f, 0x05, 0x89, 0xc3, HLT])).toBe(StopReason.KernelCall);
    expect(cpu.getReg(Reg.RCX)).toBe(BigInt(CODE + 7)); // the instruction after syscall
    expect(cpu.getReg(Reg.R11) & 0xfffn).toBe(0x202n);
    expect([...cpu.ram.subarray(trap - cpu.ramBase, trap - cpu.ramBase + 3)]).toEqual([0xeb, 0x01, 0xc3]);
    expect(cpu.getReg(Reg.RIP)).toBe(BigInt(trap + 2));
    expect(cpu.getReg(Reg.RAX)).toBe(60n);
    // The kernel answers: rax = 7, and the guest resumes after its syscall (as the shim's ret would).
    cpu.setReg(Reg.RAX, 7n);
    cpu.setReg(Reg.RIP, cpu.getReg(Reg.RCX));
    expect(cpu.run(0)).toBe(StopReason.Halt);
    expect(cpu.getReg(Reg.RBX)).toBe(7n);
    cpu.setKernelEntry(0, 0);
  });

  describe('syscall sites rewritten into direct calls of the shim', () => {
    const vsyscall = CODE + 0xa00;
    const trap = CODE + 0xa10;
    const SITE = CODE + 0x40;
    // mov eax, 60; syscall; mov ebx, eax; hlt
    const CALL = [0xb8, 60, 0, 0, 0, 0x0f, 0x05, 0x89, 0xc3, HLT];
    function enterAt(at: number): StopReason {
      cpu.setReg(Reg.RIP, BigInt(at));
      cpu.setReg(Reg.RSP, BigInt(CODE + 0x8000));
      cpu.setReg(Reg.RFLAGS, 0x202n);
      return cpu.run(0);
    }
    function expectKernelCall(at: number): void {
      // A red zone the stub must not touch.
      cpu.ram.fill(0x5a, CODE + 0x8000 - 128 - cpu.ramBase, CODE + 0x8000 - cpu.ramBase);
      expect(enterAt(at)).toBe(StopReason.KernelCall);
      expect(cpu.getReg(Reg.RAX)).toBe(60n);
      expect(cpu.getReg(Reg.RCX)).toBe(BigInt(at + 7));
      expect(cpu.getReg(Reg.R11) & 0xfffn).toBe(0x202n);
      expect(cpu.ram.subarray(CODE + 0x8000 - 128 - cpu.ramBase, CODE + 0x8000 - cpu.ramBase).every((b) => b === 0x5a)).toBe(true);
      cpu.setReg(Reg.RAX, 9n);
      cpu.setReg(Reg.RIP, cpu.getReg(Reg.RCX));
      expect(cpu.run(0)).toBe(StopReason.Halt);
      expect(cpu.getReg(Reg.RBX)).toBe(9n);
    }
    beforeAll(() => {
      if (why) return;
      cpu.ram.set([0xeb, 0x0e], vsyscall - cpu.ramBase);
      cpu.ram.set([0x0f, 0x05, 0xc3, ...new Array<number>(14).fill(0xcc)], trap - cpu.ramBase);
      cpu.setKernelEntry(vsyscall, trap);
    });
    afterAll(() => cpu?.setKernelEntry(0, 0));

    it('rewrite mov $nr, %eax into a jump the first time the site traps, with the same semantics after', () => {
      cpu.ram.set(CALL, SITE - cpu.ramBase);
      expectKernelCall(SITE);
      const bytes = [...cpu.ram.subarray(SITE - cpu.ramBase, SITE + 7 - cpu.ramBase)];
      expect(bytes[0]).toBe(0xe9);
      expect(bytes.slice(5)).toEqual([0x0f, 0x05]); // the syscall stays: a jump to it or a restart still traps
      expectKernelCall(SITE); // through the stub
      expect([...cpu.ram.subarray(SITE - cpu.ramBase, SITE + 7 - cpu.ramBase)]).toEqual(bytes);
      // Straight to the kept syscall instruction, rax set by someone else: trapped as before.
      cpu.setReg(Reg.RAX, 60n);
      cpu.setReg(Reg.RIP, BigInt(SITE + 5));
      cpu.setReg(Reg.RFLAGS, 0x202n);
      expect(cpu.run(0)).toBe(StopReason.KernelCall);
      expect(cpu.getReg(Reg.RCX)).toBe(BigInt(SITE + 7));
    });

    it('leave other instructions alone: a REX prefix, or an immediate that is not the syscall number', () => {
      // mov r8d, 60; syscall, with rax = 60 from before: the b8 belongs to the REX-prefixed mov.
      const rex = [0x41, 0xb8, 60, 0, 0, 0, 0x0f, 0x05, HLT];
      cpu.ram.set(rex, SITE + 0x100 - cpu.ramBase);
      cpu.setReg(Reg.RAX, 60n);
      expect(enterAt(SITE + 0x100)).toBe(StopReason.KernelCall);
      expect(cpu.getReg(Reg.R8)).toBe(60n);
      expect([...cpu.ram.subarray(SITE + 0x100 - cpu.ramBase, SITE + 0x100 + rex.length - cpu.ramBase)]).toEqual(rex);
      // b8 imm32 right before the syscall, but entered at the syscall with another rax: not that mov's call.
      const other = [0xb8, 61, 0, 0, 0, 0x0f, 0x05, HLT];
      cpu.ram.set(other, SITE + 0x200 - cpu.ramBase);
      cpu.setReg(Reg.RAX, 60n);
      cpu.setReg(Reg.RIP, BigInt(SITE + 0x205));
      cpu.setReg(Reg.RFLAGS, 0x202n);
      expect(cpu.run(0)).toBe(StopReason.KernelCall);
      expect([...cpu.ram.subarray(SITE + 0x200 - cpu.ramBase, SITE + 0x200 + other.length - cpu.ramBase)]).toEqual(other);
    });

    describe('a syscall followed by a register-only instruction: both become a jump, the byte after the syscall a punned int3', () => {
      const AFTER = SITE + 0x300;
      // mov rax, rbx (the number comes from elsewhere); syscall; mov rdi, rax; hlt
      const CODE_AFTER = [0x48, 0x89, 0xd8, 0x0f, 0x05, 0x48, 0x89, 0xc7, HLT];
      const S = AFTER + 3;
      let stubResume = 0n;
      function callFrom(at: number, rbx: bigint): StopReason {
        cpu.setReg(Reg.RBX, rbx);
        return enterAt(at);
      }
      function answer(rax: bigint): void {
        cpu.setReg(Reg.RAX, rax);
        cpu.setReg(Reg.RIP, cpu.getReg(Reg.RCX));
        expect(cpu.run(0)).toBe(StopReason.Halt);
        expect(cpu.getReg(Reg.RDI)).toBe(rax);
      }

      it('traps the first time, then enters the shim through the stub with the same semantics', () => {
        cpu.ram.set(CODE_AFTER, AFTER - cpu.ramBase);
        cpu.ram.fill(0x5a, CODE + 0x8000 - 128 - cpu.ramBase, CODE + 0x8000 - cpu.ramBase);
        expect(callFrom(AFTER, 39n)).toBe(StopReason.KernelCall);
        expect(cpu.getReg(Reg.RCX)).toBe(BigInt(S + 2));
        answer(5n);
        const at = (i: number): number => cpu.ram[S + i - cpu.ramBase]!;
        expect(at(0)).toBe(0xe9);
        expect(at(2)).toBe(0xcc); // the old start of `mov rdi, rax`
        expect(at(5)).toBe(HLT); // what follows the instruction is untouched
        expect(callFrom(AFTER, 40n)).toBe(StopReason.KernelCall);
        expect(cpu.getReg(Reg.RAX)).toBe(40n);
        expect(cpu.getReg(Reg.R11) & 0xfffn).toBe(0x202n);
        stubResume = cpu.getReg(Reg.RCX);
        // rcx points into the stub area after RAM, not back into the guest's code.
        expect(stubResume >= BigInt(cpu.ramBase + cpu.ram.length)).toBe(true);
        expect(cpu.ram.subarray(CODE + 0x8000 - 128 - cpu.ramBase, CODE + 0x8000 - cpu.ramBase).every((b) => b === 0x5a)).toBe(true);
        answer(7n);
      });

      it('sends code that reaches the old next instruction (a jump, a task that trapped before) to its copy', () => {
        cpu.setReg(Reg.RAX, 11n);
        cpu.setReg(Reg.RIP, BigInt(S + 2));
        cpu.setReg(Reg.RFLAGS, 0x202n);
        expect(cpu.run(0)).toBe(StopReason.Halt);
        expect(cpu.getReg(Reg.RDI)).toBe(11n);
      });

      it('restarts through the syscall kept in the stub (rcx - 2), which traps', () => {
        cpu.setReg(Reg.RAX, 39n);
        cpu.setReg(Reg.RIP, stubResume - 2n);
        cpu.setReg(Reg.RSP, BigInt(CODE + 0x8000));
        cpu.setReg(Reg.RFLAGS, 0x202n);
        expect(cpu.run(0)).toBe(StopReason.KernelCall);
        expect(cpu.getReg(Reg.RCX)).toBe(stubResume);
        answer(13n);
      });

      it("rewrites glibc's `syscall; cmp $-4096, %rax`, keeping the flags the branch after it reads", () => {
        const at = SITE + 0x380;
        // mov rax, rbx; syscall; cmp rax, -4096; ja err; mov edi, 1; hlt; err: mov edi, 2; hlt
        const code = [0x48, 0x89, 0xd8, 0x0f, 0x05, 0x48, 0x3d, 0x00, 0xf0, 0xff, 0xff, 0x77, 0x06, 0xbf, 1, 0, 0, 0, HLT, 0xbf, 2, 0, 0, 0, HLT];
        cpu.ram.set(code, at - cpu.ramBase);
        for (const [result, edi] of [[3n, 1n], [-9n & 0xffffffffffffffffn, 2n], [0n, 1n]] as const) {
          expect(callFrom(at, 0n)).toBe(StopReason.KernelCall);
          cpu.setReg(Reg.RAX, result);
          cpu.setReg(Reg.RIP, cpu.getReg(Reg.RCX));
          expect(cpu.run(0)).toBe(StopReason.Halt);
          expect(cpu.getReg(Reg.RDI)).toBe(edi);
        }
        // The jump covers the syscall and 3 bytes of the cmp; its 3 other bytes are int3.
        expect([...cpu.ram.subarray(at + 3 + 5 - cpu.ramBase, at + 3 + 8 - cpu.ramBase)]).toEqual([0xcc, 0xcc, 0xcc]);
        expect(cpu.ram[at + 3 - cpu.ramBase]).toBe(0xe9);
      });

      it("rewrites musl's `syscall; ret` followed by alignment padding, never one followed by other code", () => {
        const at = SITE + 0x3c0;
        // mov rax, rbx; call f; mov rdi, rax; hlt; (pad) f: syscall; ret; nopw (6 bytes)
        const f = at + 0x10;
        const code = [0x48, 0x89, 0xd8, 0xe8, ...le32(f - (at + 8)), 0x48, 0x89, 0xc7, HLT];
        cpu.ram.set(code, at - cpu.ramBase);
        const body = [0x0f, 0x05, 0xc3, 0x66, 0x0f, 0x1f, 0x44, 0x00, 0x00];
        cpu.ram.set(body, f - cpu.ramBase);
        for (const v of [21n, 22n]) {
          expect(callFrom(at, 39n)).toBe(StopReason.KernelCall);
          answer(v);
        }
        expect(cpu.ram[f - cpu.ramBase]).toBe(0xe9);
        expect(cpu.ram[f + 2 - cpu.ramBase]).toBe(0xcc);
        // A `ret` whose next byte may be a function's first: left alone.
        const g = at + 0x30;
        const tight = [0x0f, 0x05, 0xc3, 0x55, 0x48, 0x89, 0xe5];
        cpu.ram.set(tight, g - cpu.ramBase);
        cpu.ram.set([0x48, 0x89, 0xd8, 0xe8, ...le32(g - (at + 8)), 0x48, 0x89, 0xc7, HLT], at - cpu.ramBase);
        expect(callFrom(at, 39n)).toBe(StopReason.KernelCall);
        answer(23n);
        expect([...cpu.ram.subarray(g - cpu.ramBase, g + tight.length - cpu.ramBase)]).toEqual(tight);
      });

      it('leaves a syscall alone when what follows is short, touches memory or is an int3 of the guest', () => {
        const cases = [
          [0x0f, 0x05, 0x89, 0xc7, HLT], // mov edi, eax: 2 bytes
          [0x0f, 0x05, 0x48, 0x89, 0x43, 0x30, HLT], // mov [rbx+0x30], rax
          [0x0f, 0x05, 0x48, 0x8b, 0x0d, 0, 0, 0, 0, HLT], // mov rcx, [rip]
        ];
        cases.forEach((bytes, i) => {
          const at = SITE + 0x400 + i * 0x40;
          cpu.ram.set(bytes, at - cpu.ramBase);
          cpu.setReg(Reg.RAX, 39n);
          cpu.setReg(Reg.RBX, BigInt(CODE + 0x6000));
          expect(enterAt(at)).toBe(StopReason.KernelCall);
          expect([...cpu.ram.subarray(at - cpu.ramBase, at + bytes.length - cpu.ramBase)]).toEqual(bytes);
        });
        // The guest's own int3 right after a rewritten site's jump is its own breakpoint.
        expect(runCode([0x90, 0xcc, 0x90])).toBe(StopReason.Exception);
        expect(cpu.lastStop()).toMatchObject({ vector: Vector.Breakpoint, rip: BigInt(CODE + 2) });
      });
    });

    it('can be turned off', () => {
      const off = createNativeBackend({ ramSize: 16 << 20, rewriteSyscalls: false });
      try {
        off.ram.set([0xeb, 0x0e], vsyscall - off.ramBase);
        off.ram.set([0x0f, 0x05, 0xc3, ...new Array<number>(14).fill(0xcc)], trap - off.ramBase);
        off.setKernelEntry(vsyscall, trap);
        off.ram.set(CALL, SITE - off.ramBase);
        for (let i = 0; i < 2; i++) {
          off.setReg(Reg.RIP, BigInt(SITE));
          off.setReg(Reg.RSP, BigInt(CODE + 0x8000));
          expect(off.run(0)).toBe(StopReason.KernelCall);
          expect(off.getReg(Reg.RCX)).toBe(BigInt(SITE + 7));
        }
        expect([...off.ram.subarray(SITE - off.ramBase, SITE + CALL.length - off.ramBase)]).toEqual(CALL);
      } finally {
        off.dispose();
      }
    });
  });

  it('reports memory faults with address, access kind and protection', () => {
    expect(runCode([0x48, 0xc7, 0xc0, 0x20, 0, 0, 0, 0x89, 0x00])).toBe(StopReason.Fault);
    expect(cpu.lastStop()).toMatchObject({ address: 0x20n, access: FaultAccess.Write, protection: false, rip: BigInt(CODE + 7) });
    expect(runCode([0x31, 0xc0, 0x8b, 0x40, 0x08])).toBe(StopReason.Fault);
    expect(cpu.lastStop()).toMatchObject({ address: 8n, access: FaultAccess.Read });
    expect(runCode([0x48, 0xc7, 0xc0, 0x00, 0x10, 0, 0, 0xff, 0xe0])).toBe(StopReason.Fault);
    expect(cpu.lastStop()).toMatchObject({ access: FaultAccess.Fetch, address: 0x1000n });
  });

  it('enforces page protections for the guest, never for the kernel', () => {
    const page = CODE + 0x10000;
    cpu.protect(page, 4096, Prot.None);
    // mov dword [page], 1
    expect(runCode([0xc7, 0x04, 0x25, ...le32(page), 1, 0, 0, 0, HLT])).toBe(StopReason.Fault);
    expect(cpu.lastStop()).toMatchObject({ address: BigInt(page), access: FaultAccess.Write, protection: true });
    cpu.ram[page - cpu.ramBase] = 42; // the kernel's view stays writable
    cpu.protect(page, 4096, Prot.All);
    expect(runCode([0x8b, 0x04, 0x25, ...le32(page), HLT])).toBe(StopReason.Halt);
    expect(cpu.getReg(Reg.RAX) & 0xffn).toBe(42n);
  });

  it('applies queued protection changes in order before the guest runs, past the queue size too', () => {
    // 300 changes on alternating pages (no two merge): more than the queue holds, so it is flushed on the way.
    const base = CODE + 0x20000;
    for (let i = 0; i < 300; i++) cpu.protect(base + (i % 150) * 8192, 4096, i < 150 ? Prot.None : Prot.Read);
    // The last change of page 149 (index 299) was Read: a read works, a write faults.
    const last = base + 149 * 8192;
    expect(runCode([0x8b, 0x04, 0x25, ...le32(last), HLT])).toBe(StopReason.Halt);
    expect(runCode([0xc7, 0x04, 0x25, ...le32(last), 1, 0, 0, 0, HLT])).toBe(StopReason.Fault);
    expect(cpu.lastStop()).toMatchObject({ address: BigInt(last), access: FaultAccess.Write, protection: true });
    // Adjacent pages with one protection merge into one change; a later change overrides an earlier one.
    cpu.protect(base, 4096, Prot.All);
    cpu.protect(base + 4096, 4096, Prot.All);
    cpu.protect(base + 4096, 4096, Prot.None);
    expect(runCode([0xc7, 0x04, 0x25, ...le32(base), 1, 0, 0, 0, HLT])).toBe(StopReason.Halt);
    expect(runCode([0x8b, 0x04, 0x25, ...le32(base + 4096), HLT])).toBe(StopReason.Fault);
    for (let i = 0; i < 150; i++) cpu.protect(base + i * 8192, 8192, Prot.All);
    expect(runCode([0xc7, 0x04, 0x25, ...le32(last), 1, 0, 0, 0, HLT])).toBe(StopReason.Halt);
  });

  it('reports CPU exceptions with fault and trap semantics', () => {
    expect(runCode([0x31, 0xc9, 0x31, 0xd2, 0xb8, 1, 0, 0, 0, 0xf7, 0xf1])).toBe(StopReason.Exception);
    expect(cpu.lastStop()).toMatchObject({ vector: Vector.DivideError, rip: BigInt(CODE + 9) });
    expect(runCode([0x90, 0xcc, 0x90])).toBe(StopReason.Exception);
    expect(cpu.lastStop()).toMatchObject({ vector: Vector.Breakpoint, rip: BigInt(CODE + 2) });
    expect(runCode([0x0f, 0x0b])).toBe(StopReason.InvalidInstruction);
    expect(cpu.lastStop().rip).toBe(BigInt(CODE));
    expect(runCode([0x90, HLT])).toBe(StopReason.Halt);
  });

  it('survives a fault storm and keeps answering', () => {
    for (let i = 0; i < 5000; i++) {
      expect(runCode([0x31, 0xc0, 0x8b, 0x00])).toBe(StopReason.Fault);
    }
    expect(runCode([0xb8, 5, 0, 0, 0, HLT])).toBe(StopReason.Halt);
    expect(cpu.getReg(Reg.RAX)).toBe(5n);
  });

  it('preempts a runaway guest and resumes it exactly', () => {
    const t0 = performance.now();
    expect(runCode([0xeb, 0xfe], 20_000)).toBe(StopReason.Preempted);
    expect(performance.now() - t0).toBeLessThan(2000);
    expect(cpu.getReg(Reg.RIP)).toBe(BigInt(CODE));
    const N = 50_000_000;
    const code = [0x31, 0xc0, 0xb9, ...le32(N), 0x48, 0x01, 0xc8, 0x48, 0x6b, 0xd8, 0x03, 0x53, 0x5a, 0xff, 0xc9, 0x75, 0xf3, HLT];
    let preemptions = 0;
    let r = runCode(code, 1000);
    while (r === StopReason.Preempted) {
      preemptions++;
      r = cpu.run(1000);
    }
    expect(r).toBe(StopReason.Halt);
    expect(preemptions).toBeGreaterThan(3);
    expect(cpu.getReg(Reg.RAX)).toBe((BigInt(N) * BigInt(N + 1)) / 2n);
  });

  it('round-trips general registers and segment bases', () => {
    const regs = new BigUint64Array(REG_COUNT);
    for (let i = 0; i < 16; i++) regs[i] = 0x1111_0000_0000_0000n * BigInt((i % 7) + 1) + BigInt(i);
    regs[Reg.RSP] = BigInt(CODE + 0x8000);
    regs[Reg.RIP] = BigInt(CODE);
    regs[Reg.RFLAGS] = 0x246n;
    regs[Reg.FS_BASE] = 0x7000_1234n;
    regs[Reg.GS_BASE] = 0x7000_5678n;
    cpu.ram.set([0x90, HLT], CODE - cpu.ramBase);
    cpu.setRegs(regs);
    expect(cpu.run(0)).toBe(StopReason.Halt);
    const back = new BigUint64Array(REG_COUNT);
    cpu.getRegs(back);
    regs[Reg.RIP] = BigInt(CODE + 1);
    expect([...back].map((v, i) => (i === Reg.RFLAGS ? v & 0xcd5n : v))).toEqual([...regs].map((v, i) => (i === Reg.RFLAGS ? v & 0xcd5n : v)));
  });

  it('keeps x87, SSE and AVX state across runs and preemptions', () => {
    cpu.ram.set([...Array(32).keys()].map((i) => i * 7 + 1), CODE + 0x200 - cpu.ramBase);
    const avx = cpu.features.flags.includes('avx');
    // fld1; fldpi; movups xmm3, [CODE+0x200]; (vmovdqu ymm5, [CODE+0x200]); hlt
    const load = [0xd9, 0xe8, 0xd9, 0xeb, 0x0f, 0x10, 0x1c, 0x25, ...le32(CODE + 0x200)];
    const loadY = avx ? [0xc5, 0xfe, 0x6f, 0x2c, 0x25, ...le32(CODE + 0x200)] : [];
    expect(runCode([...load, ...loadY, HLT])).toBe(StopReason.Halt);
    const fp = new Uint8Array(cpu.fpStateSize);
    cpu.getFpState(fp);
    expect(fp[0]! | (fp[1]! << 8)).toBe(0x37f);
    expect(Buffer.from(fp.subarray(32, 42)).toString('hex')).toBe('35c26821a2da0fc90040');
    // Spin through preemptions, then store ymm5 / xmm3 back: nothing may have been lost.
    const store = avx ? [0xc5, 0xfe, 0x7f, 0x2c, 0x25, ...le32(CODE + 0x300)] : [0x0f, 0x11, 0x1c, 0x25, ...le32(CODE + 0x300)];
    const spin = [0xb9, ...le32(30_000_000), 0xff, 0xc9, 0x75, 0xfc];
    cpu.ram.set([...spin, ...store, HLT], CODE - cpu.ramBase);
    cpu.setReg(Reg.RIP, BigInt(CODE));
    let r = cpu.run(500);
    while (r === StopReason.Preempted) r = cpu.run(500);
    expect(r).toBe(StopReason.Halt);
    const n = avx ? 32 : 16;
    expect([...cpu.ram.subarray(CODE + 0x300 - cpu.ramBase, CODE + 0x300 - cpu.ramBase + n)]).toEqual(
      [...cpu.ram.subarray(CODE + 0x200 - cpu.ramBase, CODE + 0x200 - cpu.ramBase + n)],
    );
    // setFpState with garbage must not break the runner (MXCSR and the XSAVE header are sanitised).
    cpu.setFpState(new Uint8Array(cpu.fpStateSize).fill(0xff));
    expect(runCode([0x90, HLT])).toBe(StopReason.Halt);
    cpu.setFpState(fp);
    cpu.getFpState(fp);
    expect(fp[0]! | (fp[1]! << 8)).toBe(0x37f);
  });

  it('zeroes ranges, returns pages and reads the same TSC as the guest', () => {
    cpu.ram.fill(0xaa, 0x100000, 0x100000 + 400_000);
    const before = cpu.residentBytes();
    cpu.zero(cpu.ramBase + 0x100000, 400_000);
    // Measured before reading: a read of a returned page (shared memory) allocates it again.
    expect(cpu.residentBytes()).toBeLessThan(before - 300_000);
    expect(cpu.ram.subarray(0x100000, 0x100000 + 400_000).every((b) => b === 0)).toBe(true);
    const t0 = cpu.readTsc();
    expect(runCode([0x0f, 0x31, HLT])).toBe(StopReason.Halt);
    const guest = (cpu.getReg(Reg.RDX) << 32n) | (cpu.getReg(Reg.RAX) & 0xffff_ffffn);
    expect(guest).toBeGreaterThanOrEqual(t0);
    expect(guest).toBeLessThanOrEqual(cpu.readTsc());
  });

  it('copies a host file into RAM that guest code reads at once, short at its end, -1 for a bad descriptor', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nommu-readfile-'));
    try {
      const file = path.join(dir, 'f');
      const data = Buffer.alloc(3 * 4096 + 100);
      for (let i = 0; i < data.length; i++) data[i] = (i * 7 + (i >> 12)) & 0xff;
      fs.writeFileSync(file, data);
      const fd = fs.openSync(file, 'r');
      try {
        const off = 0x600000;
        cpu.zero(cpu.ramBase + off, 8 * 4096);
        // From file offset 10, to an unaligned address, past the end of the file: the bytes there are.
        expect(cpu.readFile!(fd, 10, cpu.ramBase + off + 3, 8 * 4096)).toBe(data.length - 10);
        expect(Buffer.from(cpu.ram.subarray(off + 3, off + 3 + data.length - 10)).equals(data.subarray(10))).toBe(true);
        expect(cpu.ram[off + 2]).toBe(0);
        expect(cpu.ram[off + 3 + data.length - 10]).toBe(0);
        // The runner's mapping sees them: guest code loads the last byte copied.
        const last = cpu.ramBase + off + 3 + data.length - 11;
        expect(runCode([0x0f, 0xb6, 0x04, 0x25, ...le32(last), HLT])).toBe(StopReason.Halt); // movzbl last, %eax
        expect(Number(cpu.getReg(Reg.RAX))).toBe(data[data.length - 1]);
        expect(cpu.readFile!(-1, 0, cpu.ramBase + off, 4096)).toBe(-1);
        expect(() => cpu.readFile!(fd, 0, cpu.ramBase + cpu.ramSize - 4096, 8192)).toThrow(/inside guest RAM/);
      } finally {
        fs.closeSync(fd);
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('tells pages holding data from holes: written by Node or by guest code, until zeroed', () => {
    const off = 0x500000;
    const base = cpu.ramBase + off;
    cpu.zero(base, 16 * 4096);
    expect(cpu.dataExtents!(base, 16 * 4096)).toEqual([]);
    cpu.ram[off + 2 * 4096 + 5] = 1; // Node writes page 2
    expect(runCode([0xc7, 0x04, 0x25, ...le32(base + 9 * 4096), 7, 0, 0, 0, HLT])).toBe(StopReason.Halt); // the guest page 9
    expect(cpu.dataExtents!(base, 16 * 4096)).toEqual([base + 2 * 4096, base + 3 * 4096, base + 9 * 4096, base + 10 * 4096]);
    cpu.zero(base, 16 * 4096);
    expect(cpu.dataExtents!(base, 16 * 4096)).toEqual([]);
    expect(() => cpu.dataExtents!(0, 4096)).toThrow(/outside guest RAM/);
  });

  it('prefaults a range from its next run on, while guest code runs: the host backs it with memory, its bytes stay zero', async () => {
    const off = 0x300000;
    const len = 1 << 20;
    cpu.zero(cpu.ramBase + off, len);
    const before = cpu.residentBytes();
    cpu.prefault!(cpu.ramBase + off, len);
    expect(runCode([HLT])).toBe(StopReason.Halt);
    // The runner's helper thread populates it meanwhile (1 MiB: a few ms).
    for (let i = 0; i < 200 && cpu.residentBytes() < before + len; i++) await new Promise((r) => setTimeout(r, 10));
    expect(cpu.residentBytes()).toBeGreaterThanOrEqual(before + len);
    expect(cpu.ram.subarray(off, off + len).every((b) => b === 0)).toBe(true);
    // Guest code writes there as anywhere else; zero() gives the pages back.
    expect(runCode([0xc7, 0x04, 0x25, ...le32(cpu.ramBase + off + 8), 7, 0, 0, 0, HLT])).toBe(StopReason.Halt);
    expect(cpu.ram[off + 8]).toBe(7);
    cpu.zero(cpu.ramBase + off, len);
    expect(cpu.residentBytes()).toBeLessThan(before + len / 2);
  });

  it('leaves a range of 64 KiB or less to fault in when touched: populating it costs what the touch would', async () => {
    const off = 0x500000;
    const len = 64 * 1024;
    cpu.zero(cpu.ramBase + off, len);
    const before = cpu.residentBytes();
    cpu.prefault!(cpu.ramBase + off, len);
    expect(runCode([HLT])).toBe(StopReason.Halt);
    await new Promise((r) => setTimeout(r, 50));
    expect(cpu.residentBytes()).toBeLessThan(before + len);
  });

  it("can lower the priority of the process's other threads, and of those only", () => {
    // In a child process: the change is not undone.
    const script = `
      import { readdirSync, readFileSync } from 'node:fs';
      import { createNativeBackend } from ${JSON.stringify(new URL('../dist/index.js', import.meta.url).href)};
      const nice = () => readdirSync('/proc/self/task').map((t) => [t, Number(readFileSync('/proc/self/task/' + t + '/stat', 'utf8').split(') ')[1].split(' ')[16])]);
      const before = nice();
      const cpu = createNativeBackend({ ramSize: 1 << 20, deprioritizeHostThreads: process.argv[1] === 'yes' });
      const after = nice();
      cpu.dispose();
      console.log(JSON.stringify({ pid: process.pid, before, after }));
    `;
    for (const mode of ['yes', 'no']) {
      const r = spawnSync(process.execPath, ['--input-type=module', '-e', script, mode], { encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
      const { pid, before, after } = JSON.parse(r.stdout) as { pid: number; before: [string, number][]; after: [string, number][] };
      const was = new Map(before);
      const main = after.find(([t]) => Number(t) === pid)!;
      expect(main[1]).toBe(was.get(String(pid)));
      const others = after.filter(([t]) => Number(t) !== pid && was.has(t));
      expect(others.length).toBeGreaterThan(0);
      for (const [t, n] of others) expect(n).toBe(mode === 'yes' ? Math.min(19, was.get(t)! + 10) : was.get(t));
    }
  });

  it('refuses bad arguments with errors, not crashes', () => {
    expect(() => cpu.protect(cpu.ramBase + 1, 4096, 7)).toThrow(/page-aligned/);
    expect(() => cpu.zero(0, 16)).toThrow(/outside guest RAM/);
    expect(() => cpu.prefault!(cpu.ramBase + 16, 4096)).toThrow(/page-aligned/);
    expect(() => cpu.prefault!(cpu.ramBase + cpu.ramSize, 4096)).toThrow(/outside guest RAM/);
    expect(() => cpu.getRegs(new BigUint64Array(3))).toThrow(/need 20/);
    expect(() => createNativeBackend({ ramSize: 12345 })).toThrow(/page-aligned/);
  });

  it('reports a runner that died instead of hanging, and is unusable after dispose', () => {
    const other = createNativeBackend({ ramSize: 1 << 20 }) as CpuBackend & { runnerPid: number };
    process.kill(other.runnerPid, 'SIGKILL');
    other.ram.set([0xeb, 0xfe], 0x10000);
    other.setReg(Reg.RIP, BigInt(other.ramBase + 0x10000));
    expect(() => other.run(1000)).toThrow(/runner process died of signal 9/);
    other.dispose();
    expect(() => other.run(0)).toThrow(/disposed/);
  });
});
