/**
 * The futex2 calls (Linux 5.16 futex_waitv, 6.7 futex_wake, futex_wait,
 * futex_requeue). They use the kernel's futex queues, so they and the
 * classic futex() wake each other's waiters on the same word. Only 32-bit
 * futexes exist (as on Linux: the other sizes answer EINVAL); timeouts are
 * absolute, on CLOCK_MONOTONIC or CLOCK_REALTIME, and a signal answers
 * ERESTARTSYS (EINTR after a handler without SA_RESTART, else the call runs
 * again with the same end).
 */
import { E, errno, type SyscallArgs, type SyscallResult, type Task } from '@nommu/kernel';
import { partial, type Family } from './define.js';
import { readTimespec } from './timespec.js';

const FUTEX2_SIZE_MASK = 0x03;
const FUTEX2_SIZE_U32 = 0x02;
const FUTEX2_NUMA = 0x04;
const FUTEX2_MPOL = 0x08;
const FUTEX2_PRIVATE = 128;
const FUTEX2_VALID_MASK = FUTEX2_SIZE_MASK | FUTEX2_NUMA | FUTEX2_MPOL | FUTEX2_PRIVATE;
const FUTEX_WAITV_MAX = 128;
/** sizeof(struct futex_waitv): u64 val, u64 uaddr, u32 flags, u32 __reserved. */
const WAITV_SIZE = 24;
const CLOCK_REALTIME = 0;
const CLOCK_MONOTONIC = 1;
const U32_MAX = 0xffffffffn;

/**
 * futex2 flags as Linux's futex_flags_valid takes them: no unknown bits and
 * a 32-bit size. FUTEX2_NUMA (a node word after the futex) is not kept
 * here: EINVAL, as a Linux without NUMA would not say; documented.
 */
function checkFlags(flags: number): void {
  if ((flags & ~FUTEX2_VALID_MASK) !== 0) throw errno(E.EINVAL);
  if ((flags & FUTEX2_SIZE_MASK) !== FUTEX2_SIZE_U32) throw errno(E.EINVAL);
  if ((flags & (FUTEX2_NUMA | FUTEX2_MPOL)) !== 0) throw errno(E.EINVAL);
}

/** A value or mask must fit the futex's size (futex_validate_input). */
function checkValue(v: bigint): void {
  if ((v & ~U32_MAX) !== 0n) throw errno(E.EINVAL);
}

/**
 * futex2_setup_timeout: the clock (REALTIME or MONOTONIC, else EINVAL), then
 * the absolute end (EFAULT, EINVAL for a negative or unnormalised one).
 * Returns the nanoseconds left, 0 when the end has passed. A CLOCK_REALTIME
 * end is converted once: setting the clock during the wait does not move it.
 */
function timeoutLeft(task: Task, addr: number, clockid: number): bigint | null {
  if (addr === 0) return null;
  if (clockid !== CLOCK_REALTIME && clockid !== CLOCK_MONOTONIC) throw errno(E.EINVAL);
  const end = readTimespec(task, addr);
  const k = task.kernel;
  const now = clockid === CLOCK_REALTIME ? k.clock.realtime() : k.clock.monotonic();
  return end > now ? end - now : 0n;
}

interface Waiter {
  val: number;
  addr: number;
  shared: boolean;
}

/** futex_parse_waitv: each entry's flags, reserved word and value are checked. */
function parseWaitv(task: Task, addr: number, n: number): Waiter[] {
  const mem = task.kernel.mem;
  const out: Waiter[] = [];
  for (let i = 0; i < n; i++) {
    const at = addr + i * WAITV_SIZE;
    const val = mem.u64(at);
    const uaddr = mem.u64(at + 8);
    const flags = mem.u32(at + 16);
    const reserved = mem.u32(at + 20);
    if ((flags & ~FUTEX2_VALID_MASK) !== 0 || reserved !== 0) throw errno(E.EINVAL);
    checkFlags(flags);
    checkValue(val);
    out.push({ val: Number(val), addr: Number(uaddr), shared: (flags & FUTEX2_PRIVATE) === 0 });
  }
  return out;
}

/**
 * get_futex_key's checks: 4-byte alignment (EINVAL), a user address, and for
 * a shared futex mapped memory (EFAULT); a private key is only an address.
 */
function checkAddr(task: Task, addr: number, shared: boolean): void {
  if (addr % 4 !== 0) throw errno(E.EINVAL);
  if (addr >= 2 ** 47 || (shared && !task.process.mm.find(addr))) throw errno(E.EFAULT);
}

/**
 * futex_wait_multiple: every address is checked, then every value compared
 * (EAGAIN, EWOULDBLOCK, at the first that differs), then the task waits on
 * them all; the wake names the index.
 */
function waitMany(task: Task, ws: Waiter[], bitset: number, left: bigint | null): SyscallResult {
  const k = task.kernel;
  for (const w of ws) checkAddr(task, w.addr, w.shared);
  for (const w of ws) if (k.mem.u32(w.addr) !== w.val) throw errno(E.EAGAIN);
  if (left !== null && left <= 0n) throw errno(E.ETIMEDOUT);
  return k.futexWaitMany(task, ws.map((w) => ({ addr: w.addr, shared: w.shared, bitset })), left);
}

function futexWaitv(task: Task, a: SyscallArgs): SyscallResult {
  const waiters = a.ptr(0);
  const n = a.uint(1);
  if (a.uint(2) !== 0) throw errno(E.EINVAL);
  if (n === 0 || n > FUTEX_WAITV_MAX || waiters === 0) throw errno(E.EINVAL);
  const left = timeoutLeft(task, a.ptr(3), a.int(4));
  return waitMany(task, parseWaitv(task, waiters, n), 0xffffffff, left);
}

function futexWake(task: Task, a: SyscallArgs): SyscallResult {
  const addr = a.ptr(0);
  const mask = a.u64(1);
  const nr = a.int(2);
  const flags = a.uint(3);
  checkFlags(flags);
  checkValue(mask);
  if (mask === 0n) throw errno(E.EINVAL);
  const shared = (flags & FUTEX2_PRIVATE) === 0;
  checkAddr(task, addr, shared);
  // FLAGS_STRICT: a count of 0 wakes nobody; a negative one still wakes one.
  if (nr === 0) return 0;
  return task.kernel.futexWake(task.process, addr, nr < 0 ? 1 : nr, Number(mask), shared);
}

function futexWait(task: Task, a: SyscallArgs): SyscallResult {
  const addr = a.ptr(0);
  const val = a.u64(1);
  const mask = a.u64(2);
  const flags = a.uint(3);
  checkFlags(flags);
  checkValue(val);
  checkValue(mask);
  const left = timeoutLeft(task, a.ptr(4), a.int(5));
  if (mask === 0n) throw errno(E.EINVAL);
  return waitMany(task, [{ val: Number(val), addr, shared: (flags & FUTEX2_PRIVATE) === 0 }], Number(mask), left);
}

/** futex_requeue: CMP_REQUEUE on two futex_waitv entries (the first's val is compared), each with its own flags. */
function futexRequeue(task: Task, a: SyscallArgs): SyscallResult {
  const k = task.kernel;
  const waiters = a.ptr(0);
  if (a.uint(1) !== 0 || waiters === 0) throw errno(E.EINVAL);
  const [w1, w2] = parseWaitv(task, waiters, 2) as [Waiter, Waiter];
  const nrWake = a.int(2);
  const nrRequeue = a.int(3);
  if (nrWake < 0 || nrRequeue < 0) throw errno(E.EINVAL);
  checkAddr(task, w1.addr, w1.shared);
  checkAddr(task, w2.addr, w2.shared);
  if (k.mem.u32(w1.addr) !== w1.val) throw errno(E.EAGAIN);
  return k.futexRequeue(task.process, w1.addr, w2.addr, nrWake, nrRequeue, w1.shared, w2.shared);
}

const NOTE = '32-bit futexes only, as Linux; FUTEX2_NUMA and FUTEX2_MPOL answer EINVAL; a CLOCK_REALTIME timeout is not moved by a later clock change';

export const futex2Family: Family = {
  futex_waitv: partial(NOTE, futexWaitv),
  futex_wake: partial(NOTE, futexWake),
  futex_wait: partial(NOTE, futexWait),
  futex_requeue: partial(NOTE, futexRequeue),
};
