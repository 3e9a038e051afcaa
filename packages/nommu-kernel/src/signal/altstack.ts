import { E, errno, type Errno } from '../errno.js';

/** stack_t's ss_flags. */
export const SS = { ONSTACK: 1, DISABLE: 2, AUTODISARM: 0x80000000 } as const;
/** The flag bits of ss_flags (beside its mode). */
const SS_FLAG_BITS = SS.AUTODISARM;
/** MINSIGSTKSZ on x86-64. */
export const MINSIGSTKSZ = 2048n;

/** A thread's alternate signal stack, as sigaltstack set it; `flags` as given (SS_AUTODISARM kept). */
export interface AltStack {
  sp: bigint;
  size: bigint;
  flags: number;
}

/**
 * Is `sp` on the alternate stack (Linux's on_sig_stack)? With SS_AUTODISARM
 * never: the stack is disarmed while a handler runs on it.
 */
export function onAltStack(alt: AltStack | null, sp: bigint): boolean {
  if (alt === null || (alt.flags & SS.AUTODISARM) !== 0) return false;
  return sp > alt.sp && sp - alt.sp <= alt.size;
}

/** What sigaltstack reports in ss_flags (Linux's sas_ss_flags, with the flag bits). */
export function altStackFlags(alt: AltStack | null, sp: bigint): number {
  if (alt === null) return SS.DISABLE;
  return (onAltStack(alt, sp) ? SS.ONSTACK : 0) | (alt.flags & SS_FLAG_BITS);
}

/**
 * The new alternate stack sigaltstack (or rt_sigreturn, from uc_stack) asks
 * for, while the thread's stack pointer is `sp`: null to disable it, or the
 * errno Linux's do_sigaltstack answers.
 */
export function newAltStack(cur: AltStack | null, sp: bigint, want: AltStack): AltStack | null | Errno {
  if (onAltStack(cur, sp)) return errno(E.EPERM);
  const mode = (want.flags & ~SS_FLAG_BITS) >>> 0;
  if (mode !== 0 && mode !== SS.ONSTACK && mode !== SS.DISABLE) return errno(E.EINVAL);
  if (mode === SS.DISABLE) return null;
  if (want.size < MINSIGSTKSZ) return errno(E.ENOMEM);
  return { sp: want.sp, size: want.size, flags: want.flags >>> 0 };
}
