import { PtRegs } from '@nommu/um-entry';
import { FXSAVE_SIZE } from '@nommu/x86-cpu';
import { E, errno } from '../errno.js';
import type { UserMemory } from '../memory/user.js';
import type { AltStack } from './altstack.js';

/**
 * The x86-64 rt_sigframe exactly as Linux lays it out on the user stack:
 *
 *   frame+0    pretcode (sa_restorer: the handler returns there)
 *   frame+8    struct ucontext { uc_flags, uc_link, uc_stack, uc_mcontext, uc_sigmask }
 *   frame+312  siginfo_t (128 bytes)
 *   ...        FP state above the frame, 64-byte aligned: the fxsave layout, or
 *              with an XSAVE-capable backend the whole XSAVE image, marked as
 *              Linux marks it (FP_XSTATE_MAGIC1 in the fxsave area's software
 *              bytes, FP_XSTATE_MAGIC2 after the image)
 */
export const UC = { FLAGS: 0, LINK: 8, STACK: 16, MCONTEXT: 40, SIGMASK: 296, SIZE: 304 } as const;
export const FRAME = { PRETCODE: 0, UC: 8, INFO: 8 + UC.SIZE, SIZE: 8 + UC.SIZE + 128 } as const;

/** struct sigcontext (uc_mcontext) offsets. */
export const SC = {
  R8: 0, R9: 8, R10: 16, R11: 24, R12: 32, R13: 40, R14: 48, R15: 56, DI: 64, SI: 72, BP: 80, BX: 88,
  DX: 96, AX: 104, CX: 112, SP: 120, IP: 128, FLAGS: 136, CSGSFS: 144, ERR: 152, TRAPNO: 160,
  OLDMASK: 168, CR2: 176, FPSTATE: 184, SIZE: 256,
} as const;

/** pt_regs field <-> sigcontext field, for every general register plus ip, sp and flags. */
const REG_PAIRS: readonly [number, number][] = [
  [PtRegs.R8, SC.R8], [PtRegs.R9, SC.R9], [PtRegs.R10, SC.R10], [PtRegs.R11, SC.R11], [PtRegs.R12, SC.R12],
  [PtRegs.R13, SC.R13], [PtRegs.R14, SC.R14], [PtRegs.R15, SC.R15], [PtRegs.DI, SC.DI], [PtRegs.SI, SC.SI],
  [PtRegs.BP, SC.BP], [PtRegs.BX, SC.BX], [PtRegs.DX, SC.DX], [PtRegs.AX, SC.AX], [PtRegs.CX, SC.CX],
  [PtRegs.SP, SC.SP], [PtRegs.IP, SC.IP], [PtRegs.FLAGS, SC.FLAGS],
];

/** Flags a signal handler may change on return (Linux's FIX_EFLAGS: AC OF DF TF SF ZF AF PF CF RF). */
const FIX_EFLAGS = 0x40000n | 0x800n | 0x400n | 0x100n | 0x80n | 0x40n | 0x10n | 0x4n | 0x1n | 0x10000n;
const UC_FP_XSTATE = 1n;
const UC_SIGCONTEXT_SS = 2n;
const UC_STRICT_RESTORE_SS = 4n;
const REDZONE = 128;
const SW_BYTES = 464;
const FP_XSTATE_MAGIC1 = 0x46505853;
const FP_XSTATE_MAGIC2 = 0x46505845;
const XSTATE_HEADER = 512;

export interface SigInfo {
  signo: number;
  code: number;
  errno?: number;
  pid?: number;
  uid?: number;
  status?: number;
  addr?: bigint;
  value?: bigint;
  /** A POSIX timer's signal: si_timerid, and si_overrun (set when it is dequeued). */
  timerid?: number;
  overrun?: number;
  /** Called when the signal leaves the queue: delivered or taken (true), or discarded (false). */
  onDequeue?: (delivered: boolean) => void;
}

/** siginfo_t, 128 bytes: the union laid out for kill/queue, child and fault signals. */
export function writeSiginfo(mem: UserMemory, addr: number, info: SigInfo): void {
  mem.fill(addr, 128);
  mem.setI32(addr, info.signo);
  mem.setI32(addr + 4, info.errno ?? 0);
  mem.setI32(addr + 8, info.code);
  if (info.addr !== undefined) {
    mem.setU64(addr + 16, info.addr);
    return;
  }
  if (info.timerid !== undefined) {
    mem.setI32(addr + 16, info.timerid);
    mem.setI32(addr + 20, info.overrun ?? 0);
    mem.setU64(addr + 24, info.value ?? 0n);
    return;
  }
  mem.setI32(addr + 16, info.pid ?? 0);
  mem.setI32(addr + 20, info.uid ?? 0);
  if (info.status !== undefined) mem.setI32(addr + 24, info.status);
  else if (info.value !== undefined) mem.setU64(addr + 24, info.value);
}

export interface FrameInput {
  ptregs: number;
  fpState: Uint8Array;
  mask: bigint;
  info: SigInfo;
  restorer: bigint;
  /** The alternate stack (recorded in uc_stack with its flags as set), if any. */
  altStack: AltStack | null;
  /** The interrupted code runs on the alternate stack: the frame must fit in it. */
  onAltStack: boolean;
  /** Switch to the alternate stack (SA_ONSTACK, and not already on it). */
  switchStack: boolean;
  /**
   * May the process write [addr, addr+len)? The kernel's copies ignore page
   * protections, so the frame is checked against the process's mappings.
   */
  mayWrite?: (addr: number, len: number) => boolean;
}

/** A bad frame address: the caller turns it into SIGSEGV. */
const BAD_FRAME = errno(E.EFAULT);

/** Builds the frame below the interrupted rsp (or on the alternate stack); returns its address. */
export function buildFrame(mem: UserMemory, f: FrameInput): number {
  const pt = f.ptregs;
  const userSp = mem.ptr(pt + PtRegs.SP);
  let sp = f.altStack && f.switchStack ? Number(f.altStack.sp + f.altStack.size) : userSp - REDZONE;
  const fpSize = f.fpState.length;
  const xstate = fpSize > FXSAVE_SIZE;
  sp = Math.floor((sp - fpSize - (xstate ? 4 : 0)) / 64) * 64;
  const fpAddr = sp;
  const frame = Math.floor((sp - FRAME.SIZE) / 16) * 16 - 8;
  const len = fpAddr + fpSize + (xstate ? 4 : 0) - frame;
  mem.offset(frame, len); // EFAULT if any of it is not RAM
  // On the alternate stack (or going there) the frame must fit in it: never below it (Linux's check too).
  const alt = f.altStack;
  if (alt !== null && (f.onAltStack || f.switchStack) && !(BigInt(frame) > alt.sp && BigInt(frame) - alt.sp <= alt.size)) throw BAD_FRAME;
  if (f.mayWrite && !f.mayWrite(frame, len)) throw BAD_FRAME;
  mem.copyOut(fpAddr, f.fpState);
  mem.fill(fpAddr + SW_BYTES, FXSAVE_SIZE - SW_BYTES);
  if (xstate) {
    mem.setU32(fpAddr + SW_BYTES, FP_XSTATE_MAGIC1);
    mem.setU32(fpAddr + SW_BYTES + 4, fpSize + 4); // extended_size
    mem.setU64(fpAddr + SW_BYTES + 8, mem.u64(fpAddr + XSTATE_HEADER) | 3n); // xfeatures
    mem.setU32(fpAddr + SW_BYTES + 16, fpSize); // xstate_size
    mem.setU32(fpAddr + fpSize, FP_XSTATE_MAGIC2);
  }
  mem.setU64(frame + FRAME.PRETCODE, f.restorer);
  const uc = frame + FRAME.UC;
  mem.fill(uc, UC.SIZE);
  mem.setU64(uc + UC.FLAGS, UC_FP_XSTATE | UC_SIGCONTEXT_SS | UC_STRICT_RESTORE_SS);
  if (f.altStack) {
    mem.setU64(uc + UC.STACK, f.altStack.sp);
    mem.setI32(uc + UC.STACK + 8, f.altStack.flags);
    mem.setU64(uc + UC.STACK + 16, f.altStack.size);
  } else {
    mem.setI32(uc + UC.STACK + 8, 2); // SS_DISABLE
  }
  const mc = uc + UC.MCONTEXT;
  for (const [p, s] of REG_PAIRS) mem.setU64(mc + s, mem.u64(pt + p));
  mem.setU16(mc + SC.CSGSFS, 0x33); // cs: user code segment
  mem.setU16(mc + SC.CSGSFS + 6, 0x2b); // ss
  mem.setU64(mc + SC.FPSTATE, fpAddr);
  mem.setU64(mc + SC.OLDMASK, f.mask);
  mem.setU64(uc + UC.SIGMASK, f.mask);
  writeSiginfo(mem, frame + FRAME.INFO, f.info);
  return frame;
}

/** What rt_sigreturn takes back besides the registers: the signal mask and the alternate stack (uc_stack). */
export interface Restored {
  mask: bigint;
  altStack: AltStack;
}

/**
 * rt_sigreturn: the frame the handler returned from, back into pt_regs;
 * returns the mask and alternate stack to restore. A frame (or FP state) the
 * process may not read (`mayRead`), or that is not RAM, throws EFAULT before
 * anything changes.
 */
export function restoreFrame(mem: UserMemory, ptregs: number, fpOut: Uint8Array, mayRead?: (addr: number, len: number) => boolean): Restored {
  const frame = mem.ptr(ptregs + PtRegs.SP) - 8;
  const uc = frame + FRAME.UC;
  const mc = uc + UC.MCONTEXT;
  const readable = (addr: number, len: number): void => {
    mem.offset(addr, len);
    if (mayRead && !mayRead(addr, len)) throw BAD_FRAME;
  };
  readable(frame, FRAME.SIZE);
  const fp = mem.ptr(mc + SC.FPSTATE);
  const size = fpOut.length;
  let full = false;
  if (fp !== 0) {
    readable(fp, FXSAVE_SIZE);
    full = size > FXSAVE_SIZE && mem.u32(fp + SW_BYTES) === FP_XSTATE_MAGIC1 && mem.u32(fp + SW_BYTES + 16) === size;
    if (full) {
      readable(fp, size + 4);
      full = mem.u32(fp + size) === FP_XSTATE_MAGIC2;
    }
  }
  const oldFlags = mem.u64(ptregs + PtRegs.FLAGS);
  for (const [p, s] of REG_PAIRS) mem.setU64(ptregs + p, mem.u64(mc + s));
  const flags = mem.u64(mc + SC.FLAGS);
  mem.setU64(ptregs + PtRegs.FLAGS, (oldFlags & ~FIX_EFLAGS) | (flags & FIX_EFLAGS) | 0x202n);
  mem.setI64(ptregs + PtRegs.ORIG_AX, -1n);
  if (fp !== 0) {
    if (full) {
      fpOut.set(mem.bytes(fp, size));
    } else {
      // Only the fxsave part: the extended state (AVX and up) returns to its initial state.
      fpOut.set(mem.bytes(fp, FXSAVE_SIZE));
      if (size > FXSAVE_SIZE) {
        fpOut.fill(0, XSTATE_HEADER, Math.min(size, XSTATE_HEADER + 64));
        fpOut[XSTATE_HEADER] = 3;
      }
    }
    // MXCSR reserved bits would fault on a real CPU: Linux refuses them the same way.
    const mxcsr = mem.u32(fp + 24) & 0xffff;
    fpOut[24] = mxcsr & 0xff;
    fpOut[25] = mxcsr >> 8;
    fpOut[26] = fpOut[27] = 0;
  }
  const altStack = { sp: mem.u64(uc + UC.STACK), flags: mem.i32(uc + UC.STACK + 8), size: mem.u64(uc + UC.STACK + 16) };
  return { mask: mem.u64(uc + UC.SIGMASK), altStack };
}
