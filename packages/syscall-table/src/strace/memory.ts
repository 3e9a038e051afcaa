export interface GuestMemoryReader {
  /** Copy len bytes at addr; null if any byte is not readable guest memory. */
  read(addr: bigint, len: number): Uint8Array | null;
}

const PAGE = 4096n;

/** Little-endian field reads over a copied-in struct. */
export class View {
  readonly #dv: DataView;
  constructor(readonly bytes: Uint8Array) {
    this.#dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  u8(off: number): number {
    return this.#dv.getUint8(off);
  }
  u16(off: number): number {
    return this.#dv.getUint16(off, true);
  }
  u32(off: number): number {
    return this.#dv.getUint32(off, true);
  }
  i32(off: number): number {
    return this.#dv.getInt32(off, true);
  }
  u64(off: number): bigint {
    return this.#dv.getBigUint64(off, true);
  }
  i64(off: number): bigint {
    return this.#dv.getBigInt64(off, true);
  }
}

export function readView(mem: GuestMemoryReader, addr: bigint, len: number): View | null {
  const bytes = mem.read(addr, len);
  return bytes && bytes.length >= len ? new View(bytes) : null;
}

/**
 * Read a NUL-terminated string of at most max bytes. Reads go a page at a time, and in
 * smaller pieces near unreadable memory, so a string that ends just before it still reads.
 * null when the string runs into unreadable memory before its NUL (strace then prints the
 * address).
 */
export function readCString(
  mem: GuestMemoryReader,
  addr: bigint,
  max: number,
): { bytes: Uint8Array; terminated: boolean } | null {
  const chunks: Uint8Array[] = [];
  let total = 0;
  let at = addr;
  let step = Number(PAGE);
  while (total < max) {
    const room = Number(PAGE - (at % PAGE));
    const want = Math.min(room, max - total, step);
    const chunk = mem.read(at, want);
    if (!chunk) {
      if (want === 1) return null;
      step = Math.max(1, want >> 3);
      continue;
    }
    const nul = chunk.indexOf(0);
    if (nul >= 0) {
      chunks.push(chunk.subarray(0, nul));
      return { bytes: concat(chunks, total + nul), terminated: true };
    }
    chunks.push(chunk);
    total += chunk.length;
    at += BigInt(chunk.length);
  }
  return { bytes: concat(chunks, total), terminated: false };
}

function concat(chunks: readonly Uint8Array[], len: number): Uint8Array {
  if (chunks.length === 1 && chunks[0]?.length === len) return chunks[0];
  const out = new Uint8Array(len);
  let off = 0;
  for (const c of chunks) {
    out.set(c.subarray(0, len - off), off);
    off += c.length;
    if (off >= len) break;
  }
  return out;
}
