import { E, errno } from '../errno.js';
import type { Task } from '../task/task.js';
import type { UserMemory } from './user.js';

const EFAULT = errno(E.EFAULT);

/** A guest address as a number, or EFAULT when it cannot be one (negative, past 2^53). */
function address(addr: bigint | number): number {
  const a = typeof addr === 'bigint' ? (addr >= 0n && addr <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(addr) : -1) : addr;
  if (!Number.isSafeInteger(a) || a < 0) throw EFAULT;
  return a;
}

/**
 * A task's memory for embedders (hooks, examples): every access is checked
 * against the process's mappings as well as RAM, so a hostile pointer ends
 * in an EFAULT `Errno`, never in a host exception or in another process's
 * (or the kernel's) memory. An `Errno` thrown by a hook is the syscall's answer.
 */
export class GuestMemory {
  constructor(
    private readonly mem: UserMemory,
    private readonly task: Task,
  ) {}

  /** Is [addr, addr+len) mapped by the process? */
  valid(addr: bigint | number, len: number): boolean {
    try {
      this.#check(address(addr), len);
      return true;
    } catch {
      return false;
    }
  }

  #check(a: number, len: number): number {
    if (!Number.isSafeInteger(len) || len < 0 || !this.mem.ok(a, len)) throw EFAULT;
    if (len > 0 && !this.task.process.mm.covers(a, a + len)) throw EFAULT;
    return a;
  }

  /** A copy of `len` bytes at `addr`. */
  read(addr: bigint | number, len: number): Uint8Array {
    return this.mem.copyIn(this.#check(address(addr), len), len);
  }

  /** A NUL-terminated string (UTF-8) of at most `max` bytes; ENAMETOOLONG past it. */
  readString(addr: bigint | number, max = 4096): string {
    const a = address(addr);
    // The string may end before the mapping does: check page by page as it is scanned.
    for (let n = 0; n < max; ) {
      const chunk = Math.min(max - n, 4096 - ((a + n) % 4096));
      const bytes = this.read(a + n, chunk);
      const nul = bytes.indexOf(0);
      if (nul >= 0) return Buffer.from(this.mem.bytes(a, n + nul)).toString('utf8');
      n += chunk;
    }
    throw errno(E.ENAMETOOLONG);
  }

  readU32(addr: bigint | number): number {
    return this.mem.u32(this.#check(address(addr), 4));
  }

  readU64(addr: bigint | number): bigint {
    return this.mem.u64(this.#check(address(addr), 8));
  }

  /** Writes bytes, or a string as UTF-8 with its terminating NUL. */
  write(addr: bigint | number, data: Uint8Array | string): void {
    const bytes = typeof data === 'string' ? Buffer.from(data + '\0', 'utf8') : data;
    this.mem.copyOut(this.#check(address(addr), bytes.length), bytes);
  }

  writeU32(addr: bigint | number, value: number): void {
    this.mem.setU32(this.#check(address(addr), 4), value);
  }

  writeU64(addr: bigint | number, value: bigint | number): void {
    this.mem.setU64(this.#check(address(addr), 8), value);
  }
}
