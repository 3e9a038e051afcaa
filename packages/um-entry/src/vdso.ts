import { VDSO_IMAGE_BASE64, VDSO_MAPPED_SIZE, VDSO_SYMBOLS } from './generated/vdso-image.js';

export { VDSO_MAPPED_SIZE, VDSO_SYMBOLS, VDSO_TOOLCHAIN } from './generated/vdso-image.js';
export type VdsoSymbol = keyof typeof VDSO_SYMBOLS;

let image: Uint8Array | undefined;

/** The vDSO ELF image (shared, do not modify). */
export function vdsoImage(): Uint8Array {
  image ??= new Uint8Array(Buffer.from(VDSO_IMAGE_BASE64, 'base64'));
  return image;
}

/**
 * The vvar clock record the vDSO time functions read (see src/asm/vclock.c),
 * as byte offsets from the vdso_clock symbol.
 */
export const VdsoClock = {
  TSC_BASE: 0,
  MULT: 8,
  SHIFT: 16,
  ENABLED: 20,
  MONO_NS: 24,
  REAL_NS: 32,
  BOOT_NS: 40,
  SEQ: 48,
  SIZE: 56,
} as const;

/** Addresses of the entry's pieces once the vDSO is mapped at `base`. */
export interface VdsoLayout {
  base: number;
  size: number;
  /** __kernel_vsyscall: where `syscall` continues. */
  vsyscall: number;
  /** The exit path, from `movq current_ptregs, %rsp` on: a task resumes here. */
  vsyscallExit: number;
  /** The `syscall` inside do_syscall_64 that traps into the kernel. */
  trap: number;
  currentPtregs: number;
  currentTopOfStack: number;
  clock: number;
}

export function vdsoLayout(base: number): VdsoLayout {
  return {
    base,
    size: VDSO_MAPPED_SIZE,
    vsyscall: base + VDSO_SYMBOLS.__kernel_vsyscall,
    vsyscallExit: base + VDSO_SYMBOLS.__kernel_vsyscall_exit,
    trap: base + VDSO_SYMBOLS.__nommu_kernel_trap,
    currentPtregs: base + VDSO_SYMBOLS.current_ptregs,
    currentTopOfStack: base + VDSO_SYMBOLS.current_top_of_stack,
    clock: base + VDSO_SYMBOLS.vdso_clock,
  };
}
