/**
 * struct pt_regs as the entry shim builds it (x86-64, 168 bytes, r15 first).
 * The one definition of the layout: the kernel reads and writes saved user
 * registers (syscall arguments and results, signal frames, context switches)
 * only through these offsets.
 */
export const PT_REGS_ABI_VERSION = 1;

export const SIZEOF_PT_REGS = 168;

export const PtRegs = {
  R15: 0,
  R14: 8,
  R13: 16,
  R12: 24,
  BP: 32,
  BX: 40,
  R11: 48,
  R10: 56,
  R9: 64,
  R8: 72,
  AX: 80,
  CX: 88,
  DX: 96,
  SI: 104,
  DI: 112,
  ORIG_AX: 120,
  IP: 128,
  CS: 136,
  FLAGS: 144,
  SP: 152,
  SS: 160,
} as const;
export type PtRegsField = keyof typeof PtRegs;

/** Offsets of the six syscall arguments, in argument order (rdi, rsi, rdx, r10, r8, r9). */
export const SYSCALL_ARG_OFFSETS = [PtRegs.DI, PtRegs.SI, PtRegs.DX, PtRegs.R10, PtRegs.R8, PtRegs.R9] as const;

/** pt_regs fields in push order reversed (lowest address first), for dumps and tests. */
export const PT_REGS_FIELDS = (Object.keys(PtRegs) as PtRegsField[]).sort((a, b) => PtRegs[a] - PtRegs[b]);

/** -ENOSYS as the shim presets pt_regs->ax. */
export const ENOSYS_RESULT = -38n;
