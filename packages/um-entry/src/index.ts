export { PT_REGS_ABI_VERSION, PT_REGS_FIELDS, PtRegs, SIZEOF_PT_REGS, SYSCALL_ARG_OFFSETS, ENOSYS_RESULT } from './ptregs.js';
export type { PtRegsField } from './ptregs.js';
export { VDSO_MAPPED_SIZE, VDSO_SYMBOLS, VDSO_TOOLCHAIN, VdsoClock, vdsoImage, vdsoLayout } from './vdso.js';
export type { VdsoLayout, VdsoSymbol } from './vdso.js';
export { kernelVsyscall, syscallInstruction } from './reference.js';
export type { ShimGlobals, ShimMemory, UserRegs } from './reference.js';

/** Version of this package's public interface (pt_regs ABI, vDSO layout, model). */
export const UM_ENTRY_INTERFACE_VERSION = 1;
