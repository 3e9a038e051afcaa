import { SIG } from '../signals.js';

export const SA = {
  NOCLDSTOP: 1, NOCLDWAIT: 2, SIGINFO: 4, RESTORER: 0x04000000, ONSTACK: 0x08000000, RESTART: 0x10000000,
  NODEFER: 0x40000000, RESETHAND: 0x80000000,
} as const;
export const SIG_DFL = 0n;
export const SIG_IGN = 1n;
export const SIZEOF_SIGACTION = 32;

/** struct kernel_sigaction as the process registered it. */
export interface SigAction {
  handler: bigint;
  flags: number;
  restorer: bigint;
  mask: bigint;
}

export function parseSigaction(bytes: Uint8Array | undefined): SigAction {
  if (!bytes) return { handler: SIG_DFL, flags: 0, restorer: 0n, mask: 0n };
  const dv = new DataView(bytes.buffer, bytes.byteOffset, SIZEOF_SIGACTION);
  return {
    handler: dv.getBigUint64(0, true),
    flags: Number(dv.getBigUint64(8, true) & 0xffffffffn),
    restorer: dv.getBigUint64(16, true),
    mask: dv.getBigUint64(24, true),
  };
}

export const bit = (sig: number): bigint => 1n << BigInt(sig - 1);

export type DefaultAction = 'term' | 'core' | 'ignore' | 'stop' | 'cont';

/** What SIG_DFL does for each signal (signal(7)). */
export function defaultAction(sig: number): DefaultAction {
  switch (sig) {
    case SIG.QUIT: case SIG.ILL: case SIG.TRAP: case SIG.ABRT: case SIG.BUS: case SIG.FPE: case SIG.SEGV:
    case SIG.XCPU: case SIG.XFSZ: case SIG.SYS:
      return 'core';
    case SIG.CHLD: case SIG.URG: case SIG.WINCH:
      return 'ignore';
    case SIG.CONT:
      return 'cont';
    case SIG.STOP: case SIG.TSTP: case SIG.TTIN: case SIG.TTOU:
      return 'stop';
    default:
      return 'term';
  }
}

/** SIGKILL and SIGSTOP can be neither caught, blocked nor ignored. */
export const UNBLOCKABLE = bit(SIG.KILL) | bit(SIG.STOP);
