import type { CpuBackend } from '@nommu/x86-cpu';
import { E, errno } from '../errno.js';

const EFAULT = errno(E.EFAULT);
const decoder = new TextDecoder('utf-8', { fatal: false });

/**
 * Copy-in/copy-out: the only way the kernel touches guest memory. Every check
 * is against RAM bounds (a nommu kernel has no page tables to consult); a bad
 * pointer is EFAULT, never a host exception.
 */
export class UserMemory {
  readonly ram: Uint8Array;
  readonly base: number;
  readonly end: number;
  readonly view: DataView;
  /** 64-bit words of RAM, for aligned hot-path access (pt_regs). */
  readonly words: BigInt64Array;

  constructor(cpu: CpuBackend) {
    this.ram = cpu.ram;
    this.base = cpu.ramBase;
    this.end = cpu.ramBase + cpu.ramSize;
    this.view = new DataView(this.ram.buffer, this.ram.byteOffset, this.ram.byteLength);
    this.words = new BigInt64Array(this.ram.buffer, this.ram.byteOffset, this.ram.byteLength >> 3);
  }

  /** RAM offset of [addr, addr+len), or throws EFAULT. */
  offset(addr: number, len: number): number {
    if (!(addr >= this.base && len >= 0 && addr + len <= this.end)) throw EFAULT;
    return addr - this.base;
  }

  ok(addr: number, len: number): boolean {
    return addr >= this.base && len >= 0 && addr + len <= this.end;
  }

  /**
   * A zero-copy view of guest bytes (valid until the next guest run). No
   * bytes at all are always there, whatever the address (Linux's access_ok
   * of a zero length: write(fd, NULL, 0) is 0, not EFAULT).
   */
  bytes(addr: number, len: number): Uint8Array {
    if (len === 0) return this.ram.subarray(0, 0);
    const off = this.offset(addr, len);
    return this.ram.subarray(off, off + len);
  }

  copyIn(addr: number, len: number): Uint8Array {
    return this.bytes(addr, len).slice();
  }

  copyOut(addr: number, data: Uint8Array): void {
    if (data.length === 0) return;
    this.ram.set(data, this.offset(addr, data.length));
  }

  fill(addr: number, len: number, value = 0): void {
    const off = this.offset(addr, len);
    this.ram.fill(value, off, off + len);
  }

  u8(addr: number): number { return this.ram[this.offset(addr, 1)]!; }
  u16(addr: number): number { return this.view.getUint16(this.offset(addr, 2), true); }
  u32(addr: number): number { return this.view.getUint32(this.offset(addr, 4), true); }
  i32(addr: number): number { return this.view.getInt32(this.offset(addr, 4), true); }
  u64(addr: number): bigint { return this.view.getBigUint64(this.offset(addr, 8), true); }
  i64(addr: number): bigint { return this.view.getBigInt64(this.offset(addr, 8), true); }
  /** A 64-bit value as a number (pointers and sizes below 2^53). */
  ptr(addr: number): number {
    const off = this.offset(addr, 8);
    // Two 32-bit halves: no BigInt (~4x faster); one rounding past 2^53, as Number(bigint) rounds.
    return this.view.getUint32(off + 4, true) * 0x1_0000_0000 + this.view.getUint32(off, true);
  }

  setU8(addr: number, v: number): void { this.ram[this.offset(addr, 1)] = v; }
  setU16(addr: number, v: number): void { this.view.setUint16(this.offset(addr, 2), v, true); }
  setU32(addr: number, v: number): void { this.view.setUint32(this.offset(addr, 4), v >>> 0, true); }
  setI32(addr: number, v: number): void { this.view.setInt32(this.offset(addr, 4), v, true); }
  setU64(addr: number, v: bigint | number): void {
    const off = this.offset(addr, 8);
    if (typeof v === 'number' && v >= 0 && Number.isSafeInteger(v)) {
      // Two 32-bit halves: no BigInt (~3x faster).
      this.view.setUint32(off, v >>> 0, true);
      this.view.setUint32(off + 4, Math.floor(v / 0x1_0000_0000), true);
      return;
    }
    this.view.setBigUint64(off, BigInt.asUintN(64, BigInt(v)), true);
  }
  setI64(addr: number, v: bigint | number): void {
    this.view.setBigInt64(this.offset(addr, 8), BigInt.asIntN(64, BigInt(v)), true);
  }

  /** A NUL-terminated string of at most `max` bytes (ENAMETOOLONG past it). */
  cstring(addr: number, max = 4096): string {
    return decoder.decode(this.cstringBytes(addr, max));
  }

  cstringBytes(addr: number, max = 4096): Uint8Array {
    const off = this.offset(addr, 1);
    const limit = Math.min(this.ram.length, off + max);
    const nul = this.ram.indexOf(0, off);
    if (nul < 0 || nul >= limit) {
      if (limit === this.ram.length && (nul < 0 || nul >= limit)) throw EFAULT;
      throw errno(E.ENAMETOOLONG);
    }
    return this.ram.subarray(off, nul);
  }

  /** A NULL-terminated array of string pointers (argv, envp). */
  stringArray(addr: number, maxCount = 1 << 16): string[] {
    const out: string[] = [];
    if (addr === 0) return out;
    for (let i = 0; ; i++) {
      if (i >= maxCount) throw errno(E.E2BIG);
      const p = this.ptr(addr + i * 8);
      if (p === 0) return out;
      out.push(this.cstring(p, 128 * 1024));
    }
  }

  writeCString(addr: number, s: string): number {
    const b = Buffer.from(s + '\0', 'utf8');
    this.copyOut(addr, b);
    return b.length;
  }
}
