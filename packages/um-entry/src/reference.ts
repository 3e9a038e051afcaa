import { ENOSYS_RESULT, SIZEOF_PT_REGS } from './ptregs.js';

/**
 * A TypeScript model of the entry/exit shim (src/asm/entry_64.S), instruction
 * for instruction. It is the test oracle for the real shim, and the entry path
 * for a backend that cannot execute the shim itself.
 */
export interface UserRegs {
  rax: bigint; rbx: bigint; rcx: bigint; rdx: bigint; rsi: bigint; rdi: bigint; rbp: bigint; rsp: bigint;
  r8: bigint; r9: bigint; r10: bigint; r11: bigint; r12: bigint; r13: bigint; r14: bigint; r15: bigint;
  rip: bigint; rflags: bigint;
}

export interface ShimMemory {
  read64(addr: bigint): bigint;
  write64(addr: bigint, value: bigint): void;
}

export interface ShimGlobals {
  /** Reads current_ptregs (the kernel may change it inside do_syscall_64). */
  currentPtregs(): bigint;
  currentTopOfStack(): bigint;
  /** Address of __kernel_vsyscall_exit, the return address `call do_syscall_64` pushes. */
  exitAddress: bigint;
}

const M64 = (1n << 64n) - 1n;
const u64 = (v: bigint): bigint => v & M64;

/** What the `syscall` instruction does before the shim runs: rcx = next rip, r11 = rflags. */
export function syscallInstruction(regs: UserRegs, vsyscall: bigint, insnLength = 2n): UserRegs {
  return { ...regs, rcx: u64(regs.rip + insnLength), r11: regs.rflags, rip: vsyscall };
}

/**
 * Runs __kernel_vsyscall from its first instruction to `jmp *%rcx` and returns
 * the registers at the jump target. `doSyscall64(regs)` is the kernel.
 */
export function kernelVsyscall(
  entry: UserRegs,
  mem: ShimMemory,
  globals: ShimGlobals,
  doSyscall64: (ptregs: bigint) => void,
): UserRegs {
  const r = { ...entry };
  const push = (v: bigint): void => {
    r.rsp = u64(r.rsp - 8n);
    mem.write64(r.rsp, u64(v));
  };
  const pop = (): bigint => {
    const v = mem.read64(r.rsp);
    r.rsp = u64(r.rsp + 8n);
    return v;
  };

  r.r11 = r.rsp;
  r.rsp = u64(globals.currentPtregs() + BigInt(SIZEOF_PT_REGS));
  push(0n); // ss
  push(r.r11); // sp
  push(r.rflags); // flags
  push(0n); // cs
  push(r.rcx); // ip
  push(r.rax); // orig_ax
  push(r.rdi);
  push(r.rsi);
  push(r.rdx);
  push(r.rcx);
  push(ENOSYS_RESULT); // ax
  push(r.r8);
  push(r.r9);
  push(r.r10);
  push(r.r11);
  push(r.rbx);
  push(r.rbp);
  push(r.r12);
  push(r.r13);
  push(r.r14);
  push(r.r15);
  r.rsi = r.rdx = r.rcx = r.r8 = r.r9 = r.r10 = r.r11 = r.rbx = r.rbp = r.r12 = r.r13 = r.r14 = r.r15 = 0n;
  r.rdi = r.rsp;
  r.rsp = globals.currentTopOfStack();
  push(globals.exitAddress); // call do_syscall_64
  doSyscall64(r.rdi);
  r.rsp = u64(r.rsp + 8n); // ret

  // __kernel_vsyscall_exit
  r.rsp = globals.currentPtregs();
  r.r15 = pop();
  r.r14 = pop();
  r.r13 = pop();
  r.r12 = pop();
  r.rbp = pop();
  r.rbx = pop();
  r.r11 = pop();
  r.r10 = pop();
  r.r9 = pop();
  r.r8 = pop();
  r.rax = pop();
  r.rcx = pop();
  r.rdx = pop();
  r.rsi = pop();
  r.rdi = pop();
  r.rsp = u64(r.rsp + 8n); // orig_ax
  r.rcx = pop(); // ip
  r.rsp = u64(r.rsp + 8n); // cs
  r.rflags = pop();
  r.rsp = pop();
  r.rip = r.rcx;
  return r;
}
