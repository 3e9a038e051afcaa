import { readCString, type GuestMemoryReader } from './memory.js';
import { MAX_STRLEN, PATH_MAX, quoteBytes, quoteHex } from './quote.js';
import { addr as address, u64 } from './values.js';

/** A NUL-terminated string, cut at MAX_STRLEN with "..." after the quote. */
export function formatString(mem: GuestMemoryReader, addr: bigint): string {
  if (u64(addr) === 0n) return 'NULL';
  const s = readCString(mem, addr, MAX_STRLEN + 1);
  if (!s) return address(addr);
  const cut = s.bytes.length > MAX_STRLEN;
  return quoteBytes(cut ? s.bytes.subarray(0, MAX_STRLEN) : s.bytes) + (cut ? '...' : '');
}

/** A path: never cut (up to PATH_MAX). */
export function formatPath(mem: GuestMemoryReader, addr: bigint): string {
  if (u64(addr) === 0n) return 'NULL';
  const s = readCString(mem, addr, PATH_MAX);
  return s ? quoteBytes(s.bytes) : address(addr);
}

/** len bytes of a buffer, showing at most MAX_STRLEN of them. */
export function formatBuffer(mem: GuestMemoryReader, addr: bigint, len: bigint, hex = false): string {
  if (u64(addr) === 0n) return 'NULL';
  const n = len < 0n ? 0 : Number(len > BigInt(MAX_STRLEN) ? BigInt(MAX_STRLEN) : len);
  const bytes = n === 0 ? new Uint8Array(0) : mem.read(addr, n);
  if (!bytes) return address(addr);
  return (hex ? quoteHex(bytes) : quoteBytes(bytes)) + (len > BigInt(MAX_STRLEN) ? '...' : '');
}
