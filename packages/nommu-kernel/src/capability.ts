import type { Identity } from './kernel.js';

/** The highest capability number (CAP_CHECKPOINT_RESTORE, Linux 5.9 to 6.18). */
export const CAP_LAST_CAP = 40;

/**
 * The capabilities of the guest identity, as a bit set: every one for
 * effective root, none otherwise (the kernel has one identity, so nothing
 * holds a set in between).
 */
export function capabilities(id: Identity): bigint {
  return id.euid === 0 ? (1n << BigInt(CAP_LAST_CAP + 1)) - 1n : 0n;
}

/** CAP_IPC_LOCK: lock memory past RLIMIT_MEMLOCK. */
export const CAP_IPC_LOCK = 14;
/** CAP_SYS_NICE: lower a nice value, raise a scheduling or I/O priority. */
export const CAP_SYS_NICE = 23;
/** CAP_SYS_TIME: set the (guest's) system clock: clock_settime, settimeofday, adjtimex. */
export const CAP_SYS_TIME = 25;

/** Whether the guest identity holds capability `cap`. */
export function capable(id: Identity, cap: number): boolean {
  return (capabilities(id) >> BigInt(cap)) & 1n ? true : false;
}
