/**
 * PhysicalMemory (the page allocator of the flat RAM) and MemoryMap (a
 * process's mappings) over a real Unicorn backend's RAM: what is freed is
 * zeroed in the very bytes the guest sees.
 */
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { createUnicornBackend, type CpuBackend } from '@nommu/x86-cpu';
import { Errno, MemoryMap, PAGE_SIZE, PhysicalMemory, mman, type Vma } from '../src/index.js';

const PAGES = 64;
const cpu: CpuBackend = createUnicornBackend({ ramSize: PAGES * PAGE_SIZE });
afterAll(() => cpu.dispose());

const BASE = cpu.ramBase;
const END = cpu.ramBase + cpu.ramSize;
const page = (n: number): number => BASE + n * PAGE_SIZE;

/** The guest's bytes at [addr, addr+len). */
const bytes = (addr: number, len: number): Uint8Array => cpu.ram.subarray(addr - BASE, addr - BASE + len);
const fillRam = (addr: number, len: number, v: number): void => void bytes(addr, len).fill(v);
const allZero = (addr: number, len: number): boolean => bytes(addr, len).every((b) => b === 0);
/** Freed RAM is zeroed when handed out again: take [addr, addr+len) back, look, and free it again. */
const zeroWhenReused = (addr: number, len: number): boolean => {
  if (!phys.allocAt(addr, len)) throw new Error('not free');
  const zero = allZero(addr, len);
  phys.free(addr, len);
  return zero;
};

let phys: PhysicalMemory;
beforeEach(() => {
  // Every test starts from all-free RAM; a previous test's leftovers are zeroed.
  cpu.zero(BASE, cpu.ramSize);
  phys = new PhysicalMemory(cpu);
});

describe('PhysicalMemory', () => {
  it('describes the backend RAM, all of it free', () => {
    expect(phys.base).toBe(BASE);
    expect(phys.size).toBe(PAGES * PAGE_SIZE);
    expect(phys.usedBytes).toBe(0);
    expect(phys.freeBytes).toBe(PAGES * PAGE_SIZE);
    expect(phys.isFree(BASE, cpu.ramSize)).toBe(true);
  });

  it('setProt tells the CPU only the runs of pages whose protection changes, one call per run', () => {
    const protects: [number, number, number][] = [];
    const counted: CpuBackend = Object.create(cpu, {
      protect: { value: (addr: number, len: number, prot: number) => { protects.push([(addr - BASE) / PAGE_SIZE, len / PAGE_SIZE, prot]); return cpu.protect(addr, len, prot); } },
      dataExtents: { value: (addr: number, len: number) => cpu.dataExtents!(addr, len) },
    });
    const ram = new PhysicalMemory(counted);
    const R = mman.PROT_READ;
    const RW = mman.PROT_READ | mman.PROT_WRITE;
    ram.setProt(page(4), 4 * PAGE_SIZE, R); // pages 4..7 from the free RAM's rwx
    ram.setProt(page(10), PAGE_SIZE, 0);
    ram.setProt(page(12), 2 * PAGE_SIZE, R);
    expect(protects).toEqual([[4, 4, R], [10, 1, 0], [12, 2, R]]);
    protects.length = 0;
    // Over 2..15: pages already read-only are left alone, each other run changes once.
    ram.setProt(page(2), 14 * PAGE_SIZE, R);
    expect(protects).toEqual([[2, 2, R], [8, 4, R], [14, 2, R]]);
    protects.length = 0;
    ram.setProt(page(2), 14 * PAGE_SIZE, R); // nothing to change
    ram.setProt(page(0), PAGES * PAGE_SIZE, RW | 8); // a bit the CPU does not know (PROT_SEM) is not its business
    expect(protects).toEqual([[0, PAGES, RW]]);
    cpu.protect(BASE, cpu.ramSize, 7);
  });

  it('finds a changed page anywhere in a long run: at every offset of a word of pages', () => {
    const R = mman.PROT_READ;
    const RW = mman.PROT_READ | mman.PROT_WRITE;
    const protects: [number, number, number][] = [];
    const spy = Object.create(cpu, {
      protect: { value: (addr: number, len: number, prot: number) => { protects.push([(addr - BASE) / PAGE_SIZE, len / PAGE_SIZE, prot]); return cpu.protect(addr, len, prot); } },
    }) as CpuBackend;
    const ram = new PhysicalMemory(spy);
    ram.setProt(page(1), 62 * PAGE_SIZE, R);
    for (let odd = 1; odd < 63; odd++) {
      ram.setProt(page(odd), PAGE_SIZE, RW);
      protects.length = 0;
      // One page differs inside 62 pages that start off a word's boundary: found wherever it is.
      ram.setProt(page(1), 62 * PAGE_SIZE, R);
      expect(protects).toEqual([[odd, 1, R]]);
    }
    cpu.protect(BASE, cpu.ramSize, 7);
  });

  it('freed RAM keeps its protection: a program mapped again at the same addresses changes none', () => {
    const protects: [number, number, number][] = [];
    const counted: CpuBackend = Object.create(cpu, {
      protect: { value: (addr: number, len: number, prot: number) => { protects.push([(addr - BASE) / PAGE_SIZE, len / PAGE_SIZE, prot]); return cpu.protect(addr, len, prot); } },
      zero: { value: (addr: number, len: number) => cpu.zero(addr, len) },
      dataExtents: { value: (addr: number, len: number) => cpu.dataExtents!(addr, len) },
    });
    const ram = new PhysicalMemory(counted);
    const R = mman.PROT_READ;
    const RX = mman.PROT_READ | mman.PROT_EXEC;
    const RW = mman.PROT_READ | mman.PROT_WRITE;
    const image = (): MemoryMap => {
      const mm = new MemoryMap(ram);
      expect(mm.reserve(4 * PAGE_SIZE, page(8))).toBe(page(8));
      mm.insert(vma(page(8), page(9), { prot: R }));
      mm.insert(vma(page(9), page(11), { prot: RX }));
      mm.insert(vma(page(11), page(12), { prot: RW }));
      return mm;
    };
    image().release();
    expect(protects).toEqual([[8, 1, R], [9, 2, RX], [11, 1, RW]]);
    expect(ram.usedBytes).toBe(0);
    protects.length = 0;
    const again = image();
    expect(protects).toEqual([]);
    again.release();
    // Another owner's mapping sets its own protection over the old one.
    const other = new MemoryMap(ram);
    other.reserve(4 * PAGE_SIZE, page(8));
    other.insert(vma(page(8), page(12), { prot: RW }));
    expect(protects).toEqual([[8, 3, RW]]);
    other.release();
    cpu.protect(BASE, cpu.ramSize, 7);
  });

  it('once retired (the run is over), frees keep the accounting but leave the bytes and protections alone', () => {
    const a = phys.alloc(2 * PAGE_SIZE)!;
    fillRam(a, 2 * PAGE_SIZE, 0x5a);
    phys.setProt(a, PAGE_SIZE, 1);
    phys.free(a, PAGE_SIZE);
    expect(zeroWhenReused(a, PAGE_SIZE)).toBe(true);
    phys.retire();
    phys.free(a + PAGE_SIZE, PAGE_SIZE);
    expect(phys.usedBytes).toBe(0);
    expect(bytes(a + PAGE_SIZE, PAGE_SIZE).every((b) => b === 0x5a)).toBe(true);
  });

  it('allocates whole pages, from the top of RAM down', () => {
    const a = phys.alloc(1);
    expect(a).toBe(END - PAGE_SIZE);
    expect(phys.usedBytes).toBe(PAGE_SIZE);
    const b = phys.alloc(PAGE_SIZE + 1);
    expect(b).toBe(END - 3 * PAGE_SIZE);
    expect(phys.usedBytes).toBe(3 * PAGE_SIZE);
    const c = phys.alloc(PAGE_SIZE);
    expect(c).toBe(END - 4 * PAGE_SIZE);
    expect(phys.freeBytes).toBe((PAGES - 4) * PAGE_SIZE);
    for (const addr of [a, b, c]) expect(addr! % PAGE_SIZE).toBe(0);
    expect(phys.isFree(END - 4 * PAGE_SIZE, 4 * PAGE_SIZE)).toBe(false);
    expect(phys.isFree(BASE, END - 4 * PAGE_SIZE - BASE)).toBe(true);
  });

  it('honours a larger alignment', () => {
    expect(phys.alloc(PAGE_SIZE)).toBe(END - PAGE_SIZE);
    const aligned = phys.alloc(PAGE_SIZE, 8 * PAGE_SIZE);
    expect(aligned).not.toBeNull();
    expect(aligned! % (8 * PAGE_SIZE)).toBe(0);
    expect(aligned! + PAGE_SIZE).toBeLessThanOrEqual(END - PAGE_SIZE);
  });

  it('takes exactly the pages allocAt names, and only when all of them are free', () => {
    expect(phys.allocAt(page(10), 2 * PAGE_SIZE)).toBe(true);
    expect(phys.usedBytes).toBe(2 * PAGE_SIZE);
    expect(phys.isFree(page(10), PAGE_SIZE)).toBe(false);
    expect(phys.isFree(page(11), PAGE_SIZE)).toBe(false);
    expect(phys.isFree(page(9), PAGE_SIZE)).toBe(true);
    expect(phys.isFree(page(12), PAGE_SIZE)).toBe(true);
    // Any overlap with taken pages is refused and changes nothing.
    expect(phys.allocAt(page(11), 2 * PAGE_SIZE)).toBe(false);
    expect(phys.allocAt(page(9), 2 * PAGE_SIZE)).toBe(false);
    expect(phys.allocAt(page(8), 8 * PAGE_SIZE)).toBe(false);
    expect(phys.usedBytes).toBe(2 * PAGE_SIZE);
    // A sub-page range takes the page around it.
    expect(phys.allocAt(page(20) + 100, 10)).toBe(true);
    expect(phys.usedBytes).toBe(3 * PAGE_SIZE);
    expect(phys.isFree(page(20), PAGE_SIZE)).toBe(false);
    expect(phys.isFree(page(21), PAGE_SIZE)).toBe(true);
    // Top-down allocation goes around the exact ranges.
    expect(phys.alloc(PAGE_SIZE)).toBe(END - PAGE_SIZE);
  });

  it('places a mapping that moves to grow low, with as much again free below it (none at RAM\'s start) and above it', () => {
    expect(phys.allocToGrow(2 * PAGE_SIZE)).toBe(BASE);
    expect(phys.allocToGrow(2 * PAGE_SIZE + 1)).toBe(page(2 + 3));
    expect(phys.isFree(page(8), 3 * PAGE_SIZE)).toBe(true);
    // Ordinary allocations still come from the top down, into the room above last.
    expect(phys.alloc(PAGE_SIZE)).toBe(END - PAGE_SIZE);
    expect(phys.usedBytes).toBe(6 * PAGE_SIZE);
  });

  it('skips extents without that room, then takes the bottom of the largest that fits, and answers null when none does', () => {
    phys.allocAt(page(0), PAGE_SIZE);
    phys.allocAt(page(4), PAGE_SIZE);
    phys.allocAt(page(20), (PAGES - 20) * PAGE_SIZE);
    // Free: pages 1-3 and 5-19. Four pages need 4 below and 4 above: only 5-19 has them.
    expect(phys.allocToGrow(4 * PAGE_SIZE)).toBe(page(5 + 4));
    // Free: 1-3, 5-8 and 13-19. Five pages with room fit nowhere: the bottom of 13-19.
    expect(phys.allocToGrow(5 * PAGE_SIZE)).toBe(page(13));
    expect(phys.allocToGrow(5 * PAGE_SIZE)).toBeNull();
    expect(phys.allocToGrow(0)).toBeNull();
    expect(phys.usedBytes).toBe((2 + PAGES - 20 + 4 + 5) * PAGE_SIZE);
  });

  it('keeps a growing mapping out of the low 64 MiB, where static programs are linked, while other RAM has room', () => {
    const big = createUnicornBackend({ ramSize: 256 << 20 });
    try {
      const ram = new PhysicalMemory(big);
      const at = ram.allocToGrow(1 << 20)!;
      expect(at).toBeGreaterThanOrEqual(big.ramBase + (64 << 20));
      expect(ram.isFree(0x400000, 32 << 20)).toBe(true);
      // Without room above 64 MiB, the low RAM serves after all.
      expect(ram.allocAt(big.ramBase + (64 << 20), (192 << 20) - big.ramBase)).toBe(false); // part of it is taken
      const rest = new PhysicalMemory(big);
      expect(rest.allocAt(big.ramBase + (64 << 20), big.ramSize - (64 << 20))).toBe(true);
      expect(rest.allocToGrow(1 << 20)).toBe(big.ramBase);
    } finally {
      big.dispose();
    }
  });

  it('refuses allocAt ranges outside RAM, straddling its ends, or empty', () => {
    expect(phys.allocAt(BASE - PAGE_SIZE, PAGE_SIZE)).toBe(false);
    expect(phys.allocAt(BASE - PAGE_SIZE, 2 * PAGE_SIZE)).toBe(false);
    expect(phys.allocAt(END - PAGE_SIZE, 2 * PAGE_SIZE)).toBe(false);
    expect(phys.allocAt(END, PAGE_SIZE)).toBe(false);
    expect(phys.allocAt(0, PAGE_SIZE)).toBe(false);
    expect(phys.allocAt(page(3), 0)).toBe(false);
    expect(phys.isFree(END, PAGE_SIZE)).toBe(false);
    expect(phys.isFree(BASE - PAGE_SIZE, PAGE_SIZE)).toBe(false);
    expect(phys.usedBytes).toBe(0);
  });

  it('answers null when RAM runs out, never throws', () => {
    expect(phys.alloc(cpu.ramSize + PAGE_SIZE)).toBeNull();
    expect(phys.alloc(0)).toBeNull();
    expect(phys.alloc(-PAGE_SIZE)).toBeNull();
    expect(phys.alloc(Number.MAX_SAFE_INTEGER)).toBeNull();
    expect(phys.alloc(Number.POSITIVE_INFINITY)).toBeNull();
    expect(phys.usedBytes).toBe(0);
    const got: number[] = [];
    for (;;) {
      const a = phys.alloc(3 * PAGE_SIZE);
      if (a === null) break;
      got.push(a);
    }
    expect(got.length).toBe(Math.floor(PAGES / 3));
    // 64 = 21 * 3 + 1: one page left, usable by a one-page request only.
    expect(phys.freeBytes).toBe(PAGE_SIZE);
    expect(phys.alloc(2 * PAGE_SIZE)).toBeNull();
    expect(phys.alloc(PAGE_SIZE)).toBe(BASE);
    expect(phys.alloc(1)).toBeNull();
    expect(phys.usedBytes).toBe(cpu.ramSize);
  });

  it('coalesces freed neighbours: after freeing everything, a full-size allocation succeeds', () => {
    const blocks: [number, number][] = [];
    for (let i = 0; i < 16; i++) {
      const len = ((i % 3) + 1) * PAGE_SIZE;
      const a = phys.alloc(len);
      expect(a).not.toBeNull();
      blocks.push([a!, len]);
    }
    expect(phys.alloc(cpu.ramSize)).toBeNull();
    // Free in an order that makes left, right and both-sided merges happen.
    const order = [1, 3, 2, 0, 15, 7, 5, 6, 4, 14, 8, 10, 12, 9, 11, 13];
    for (const i of order) phys.free(blocks[i]![0], blocks[i]![1]);
    expect(phys.usedBytes).toBe(0);
    expect(phys.isFree(BASE, cpu.ramSize)).toBe(true);
    expect(phys.alloc(cpu.ramSize)).toBe(BASE);
    expect(phys.freeBytes).toBe(0);
  });

  it('frees part of an allocation and merges it back with the free space around', () => {
    const a = phys.alloc(8 * PAGE_SIZE)!;
    phys.free(a + 2 * PAGE_SIZE, 3 * PAGE_SIZE);
    expect(phys.usedBytes).toBe(5 * PAGE_SIZE);
    expect(phys.isFree(a + 2 * PAGE_SIZE, 3 * PAGE_SIZE)).toBe(true);
    expect(phys.isFree(a + PAGE_SIZE, PAGE_SIZE)).toBe(false);
    expect(phys.isFree(a + 5 * PAGE_SIZE, PAGE_SIZE)).toBe(false);
    expect(phys.allocAt(a + 2 * PAGE_SIZE, 3 * PAGE_SIZE)).toBe(true);
    phys.free(a, 8 * PAGE_SIZE);
    expect(phys.alloc(cpu.ramSize)).toBe(BASE);
  });

  it('throws on a double free', () => {
    const a = phys.alloc(2 * PAGE_SIZE)!;
    phys.free(a, 2 * PAGE_SIZE);
    expect(() => phys.free(a, 2 * PAGE_SIZE)).toThrow(/double free/);
    expect(() => phys.free(a + PAGE_SIZE, PAGE_SIZE)).toThrow(/double free/);
    const b = phys.alloc(PAGE_SIZE)!;
    const c = phys.alloc(PAGE_SIZE)!;
    phys.free(c, PAGE_SIZE);
    // c is free, b is not: a free spanning both is a double free too.
    expect(() => phys.free(c, 2 * PAGE_SIZE)).toThrow(/double free/);
    expect(b).toBe(c + PAGE_SIZE);
  });

  /*
   * BUG (memory/ram.ts, PhysicalMemory.free): the double-free checks run after
   * `cpu.zero(start, end - start)` and `#used -= end - start`. A rejected free
   * therefore still zeroes every page of the range (also pages another owner
   * holds) and corrupts the usedBytes accounting. Found with: alloc b, alloc c
   * (c = b - 4096), free(c), then free(c, 2 pages) -> throws, but b's bytes are
   * now zero and usedBytes dropped by 2 pages while 1 page is still allocated.
   */
  it('a refused double free changes neither the accounting nor anybody\'s memory', () => {
    const b = phys.alloc(PAGE_SIZE)!;
    const c = phys.alloc(PAGE_SIZE)!;
    expect(b).toBe(c + PAGE_SIZE);
    fillRam(b, PAGE_SIZE, 0xab);
    phys.free(c, PAGE_SIZE);
    const used = phys.usedBytes;
    expect(() => phys.free(c, 2 * PAGE_SIZE)).toThrow(/double free/);
    expect(phys.usedBytes).toBe(used);
    expect(bytes(b, PAGE_SIZE).every((x) => x === 0xab)).toBe(true);
  });

  it('zeroes at once past 64 MiB of freed RAM waiting to be zeroed', () => {
    const big = createUnicornBackend({ ramSize: 128 << 20 });
    try {
      const ram = new PhysicalMemory(big);
      const a = ram.alloc(80 << 20)!;
      big.ram.fill(0x5a, a - big.ramBase, a - big.ramBase + (80 << 20));
      ram.free(a, 80 << 20);
      expect(big.ram.subarray(a - big.ramBase, a - big.ramBase + (80 << 20)).every((x) => x === 0)).toBe(true);
    } finally {
      big.dispose();
    }
  });

  it('zeroes RAM handed out again in place, up to 4 MiB: the host keeps its pages for the new owner', () => {
    const len = 32 * PAGE_SIZE;
    const a = phys.alloc(len)!;
    fillRam(a, len, 7);
    phys.free(a, len);
    expect(phys.allocAt(a, len)).toBe(true);
    // Still backed: an exec copying its image there takes no page fault (given back, they would be holes).
    expect(cpu.dataExtents!(a, len)).toEqual([a, a + len]);
    expect(allZero(a, len)).toBe(true);
    phys.free(a, len);
  });

  it('hands back freed memory as zeros', () => {
    const a = phys.alloc(4 * PAGE_SIZE)!;
    fillRam(a, 4 * PAGE_SIZE, 0x5a);
    expect(allZero(a, 4 * PAGE_SIZE)).toBe(false);
    phys.free(a + PAGE_SIZE, PAGE_SIZE);
    // Zeroed when handed out again, not before: RAM freed and never reused costs nothing.
    expect(bytes(a + PAGE_SIZE, PAGE_SIZE).every((x) => x === 0x5a)).toBe(true);
    expect(zeroWhenReused(a + PAGE_SIZE, PAGE_SIZE)).toBe(true);
    // The pages still allocated keep their bytes.
    expect(bytes(a, PAGE_SIZE).every((x) => x === 0x5a)).toBe(true);
    expect(bytes(a + 2 * PAGE_SIZE, 2 * PAGE_SIZE).every((x) => x === 0x5a)).toBe(true);
    phys.free(a, PAGE_SIZE);
    phys.free(a + 2 * PAGE_SIZE, 2 * PAGE_SIZE);
    // Top-down again: the same addresses come back, all zero.
    const again = phys.alloc(4 * PAGE_SIZE)!;
    expect(again).toBe(a);
    expect(allZero(again, 4 * PAGE_SIZE)).toBe(true);
  });
});

const vma = (start: number, end: number, extra: Partial<Vma> = {}): Vma => ({
  start,
  end,
  prot: mman.PROT_READ | mman.PROT_WRITE,
  shared: false,
  name: '',
  fileOffset: 0,
  dev: 0,
  inode: 0,
  owned: true,
  ...extra,
});

const ENOMEM = 12;

/** The errno an Errno-throwing call answers; anything else thrown (or nothing) fails. */
function thrownErrno(f: () => unknown): number {
  try {
    f();
  } catch (e) {
    if (e instanceof Errno) return e.errno;
    throw e;
  }
  throw new Error('expected an Errno, nothing was thrown');
}

const spans = (mm: MemoryMap): [number, number][] => mm.vmas.map((v) => [v.start, v.end]);

describe('MemoryMap', () => {
  /** A map owning `n` fresh pages at a reserved address, as mmap would make it. */
  const mapped = (mm: MemoryMap, n: number, extra: Partial<Vma> = {}): number => {
    const at = mm.reserve(n * PAGE_SIZE);
    mm.insert(vma(at, at + n * PAGE_SIZE, extra));
    return at;
  };

  it('reserve takes RAM anywhere or at a fixed address, and answers ENOMEM as an Errno', () => {
    const mm = new MemoryMap(phys);
    const a = mm.reserve(PAGE_SIZE + 1);
    expect(phys.usedBytes).toBe(2 * PAGE_SIZE);
    expect(mm.reserve(PAGE_SIZE, page(4))).toBe(page(4));
    expect(thrownErrno(() => mm.reserve(PAGE_SIZE, a))).toBe(ENOMEM);
    expect(thrownErrno(() => mm.reserve(cpu.ramSize))).toBe(ENOMEM);
    expect(phys.usedBytes).toBe(3 * PAGE_SIZE);
    expect(mm.reserveToGrow(PAGE_SIZE)).toBe(BASE);
    expect(thrownErrno(() => mm.reserveToGrow(cpu.ramSize))).toBe(ENOMEM);
    expect(phys.usedBytes).toBe(4 * PAGE_SIZE);
  });

  it('unmap splits a mapping and frees exactly the unmapped pages', () => {
    const mm = new MemoryMap(phys);
    const at = mapped(mm, 8, { name: '/bin/x', fileOffset: 0x1000 });
    fillRam(at, 8 * PAGE_SIZE, 0x11);
    expect(phys.usedBytes).toBe(8 * PAGE_SIZE);
    mm.unmap(at + 2 * PAGE_SIZE, at + 5 * PAGE_SIZE);
    expect(phys.usedBytes).toBe(5 * PAGE_SIZE);
    expect(spans(mm)).toEqual([
      [at, at + 2 * PAGE_SIZE],
      [at + 5 * PAGE_SIZE, at + 8 * PAGE_SIZE],
    ]);
    // The right piece keeps mapping the same file bytes.
    expect(mm.vmas[1]!.fileOffset).toBe(0x1000 + 5 * PAGE_SIZE);
    expect(mm.vmas[1]!.name).toBe('/bin/x');
    expect(phys.isFree(at + 2 * PAGE_SIZE, 3 * PAGE_SIZE)).toBe(true);
    expect(zeroWhenReused(at + 2 * PAGE_SIZE, 3 * PAGE_SIZE)).toBe(true);
    expect(bytes(at, 2 * PAGE_SIZE).every((b) => b === 0x11)).toBe(true);
    expect(bytes(at + 5 * PAGE_SIZE, 3 * PAGE_SIZE).every((b) => b === 0x11)).toBe(true);
    expect(mm.ownedBytes).toBe(5 * PAGE_SIZE);
  });

  it('unmap rounds to pages, spans several mappings and skips holes', () => {
    const mm = new MemoryMap(phys);
    const a = mapped(mm, 3);
    const b = mapped(mm, 3);
    expect(b).toBe(a - 3 * PAGE_SIZE);
    // From the middle of b's second page to one byte into a's first page.
    mm.unmap(b + PAGE_SIZE + 123, a + 1);
    expect(spans(mm)).toEqual([
      [b, b + PAGE_SIZE],
      [a + PAGE_SIZE, a + 3 * PAGE_SIZE],
    ]);
    expect(phys.usedBytes).toBe(3 * PAGE_SIZE);
    // Unmapping what is not mapped is not an error and frees nothing.
    mm.unmap(b + PAGE_SIZE, a + PAGE_SIZE);
    mm.unmap(page(0), page(2));
    expect(phys.usedBytes).toBe(3 * PAGE_SIZE);
  });

  it('unmap leaves RAM it does not own alone, and unmapKeepingRam keeps it reserved', () => {
    const mm = new MemoryMap(phys);
    const shared = phys.alloc(2 * PAGE_SIZE)!;
    mm.insert(vma(shared, shared + 2 * PAGE_SIZE, { owned: false, name: '[vdso]' }));
    const own = mapped(mm, 2);
    mm.unmap(shared, shared + 2 * PAGE_SIZE);
    expect(phys.usedBytes).toBe(4 * PAGE_SIZE);
    mm.unmapKeepingRam(own, own + PAGE_SIZE);
    expect(phys.usedBytes).toBe(4 * PAGE_SIZE);
    expect(spans(mm)).toEqual([[own + PAGE_SIZE, own + 2 * PAGE_SIZE]]);
  });

  it('protect splits a mapping into up to three with the new protection in the middle', () => {
    const mm = new MemoryMap(phys);
    const at = mapped(mm, 6, { fileOffset: 0 });
    mm.protect(at + PAGE_SIZE, at + 3 * PAGE_SIZE, mman.PROT_READ);
    expect(mm.vmas.map((v) => [v.start - at, v.end - at, v.prot, v.fileOffset])).toEqual([
      [0, PAGE_SIZE, 3, 0],
      [PAGE_SIZE, 3 * PAGE_SIZE, 1, PAGE_SIZE],
      [3 * PAGE_SIZE, 6 * PAGE_SIZE, 3, 3 * PAGE_SIZE],
    ]);
    // Protection is an attribute: no RAM changes hands.
    expect(phys.usedBytes).toBe(6 * PAGE_SIZE);
    mm.protect(at, at + 6 * PAGE_SIZE, 0);
    expect(mm.vmas.every((v) => v.prot === 0)).toBe(true);
    expect(mm.covers(at, at + 6 * PAGE_SIZE)).toBe(true);
  });

  it('protect of a range with a hole is ENOMEM and changes nothing', () => {
    const mm = new MemoryMap(phys);
    const a = mapped(mm, 2);
    const b = phys.alloc(PAGE_SIZE)!; // a hole between the two mappings
    const c = mapped(mm, 2);
    expect(c).toBe(b - 2 * PAGE_SIZE);
    const before = structuredClone(mm.vmas);
    expect(thrownErrno(() => mm.protect(c, a + 2 * PAGE_SIZE, mman.PROT_READ))).toBe(ENOMEM);
    expect(mm.vmas).toEqual(before);
  });

  it('covers() answers whether every byte of a range is mapped', () => {
    const mm = new MemoryMap(phys);
    const a = mapped(mm, 2);
    const b = mapped(mm, 2); // adjacent, below a
    expect(b + 2 * PAGE_SIZE).toBe(a);
    expect(mm.covers(b, a + 2 * PAGE_SIZE)).toBe(true);
    expect(mm.covers(b + 10, a + 10)).toBe(true);
    expect(mm.covers(b - 1, a)).toBe(false);
    expect(mm.covers(b, a + 2 * PAGE_SIZE + 1)).toBe(false);
    mm.unmap(b + PAGE_SIZE, a);
    expect(mm.covers(b, a + 2 * PAGE_SIZE)).toBe(false);
    expect(mm.covers(a, a + 2 * PAGE_SIZE)).toBe(true);
    expect(mm.covers(b, b + PAGE_SIZE)).toBe(true);
    expect(new MemoryMap(phys).covers(page(1), page(2))).toBe(false);
  });

  it('release() gives back every owned page and forgets every mapping', () => {
    const mm = new MemoryMap(phys);
    const other = phys.alloc(PAGE_SIZE)!; // somebody else's page
    const a = mapped(mm, 5);
    mapped(mm, 1);
    mm.insert(vma(other, other + PAGE_SIZE, { owned: false }));
    mm.protect(a + PAGE_SIZE, a + 2 * PAGE_SIZE, mman.PROT_READ);
    mm.unmap(a + 3 * PAGE_SIZE, a + 4 * PAGE_SIZE);
    mm.brkStart = mm.brk = a;
    mm.brkLimit = a + PAGE_SIZE;
    fillRam(a, PAGE_SIZE, 0x77);
    expect(phys.usedBytes).toBe(6 * PAGE_SIZE);
    mm.release();
    expect(mm.vmas).toEqual([]);
    expect([mm.brkStart, mm.brk, mm.brkLimit]).toEqual([0, 0, 0]);
    expect(phys.usedBytes).toBe(PAGE_SIZE);
    expect(phys.isFree(other, PAGE_SIZE)).toBe(false);
    expect(zeroWhenReused(a, PAGE_SIZE)).toBe(true);
    phys.free(other, PAGE_SIZE);
    expect(phys.alloc(cpu.ramSize)).toBe(BASE);
  });

  it('keeps the pages of a file mapping past the end of the file inaccessible, whatever protection it gets', () => {
    const protects: [number, number, number][] = [];
    const counted: CpuBackend = Object.create(cpu, {
      protect: { value: (addr: number, len: number, prot: number) => { protects.push([(addr - BASE) / PAGE_SIZE, len / PAGE_SIZE, prot]); return cpu.protect(addr, len, prot); } },
      dataExtents: { value: (addr: number, len: number) => cpu.dataExtents!(addr, len) },
    });
    const mm = new MemoryMap(new PhysicalMemory(counted));
    const RW = mman.PROT_READ | mman.PROT_WRITE;
    // Four pages at file offset one page, over a file of two pages and a bit: the mapping's first two pages hold file bytes.
    mm.reserve(4 * PAGE_SIZE, page(8));
    mm.insert(vma(page(8), page(12), { fileOffset: PAGE_SIZE, fileSize: 2 * PAGE_SIZE + 10 }));
    expect(protects).toEqual([[8, 2, RW], [10, 2, 0]]);
    expect([8, 9, 10, 11].map((n) => mm.protAt(page(n)))).toEqual([RW, RW, 0, 0]);
    expect(mm.isPastEndOfFile(page(9) + PAGE_SIZE - 1, mman.PROT_READ)).toBe(false);
    expect(mm.isPastEndOfFile(page(10), mman.PROT_READ)).toBe(true);
    expect(mm.isPastEndOfFile(page(10), mman.PROT_EXEC)).toBe(false); // not executable: SIGSEGV
    expect(mm.allows(page(8), page(10), mman.PROT_WRITE)).toBe(true);
    expect(mm.allows(page(9), page(10) + 1, mman.PROT_READ)).toBe(false);
    // mprotect of the whole mapping, then of a piece: the pieces keep knowing where the file ends.
    protects.length = 0;
    mm.protect(page(8), page(12), mman.PROT_READ);
    expect(protects).toEqual([[8, 2, mman.PROT_READ]]);
    mm.protect(page(11), page(12), RW);
    expect(mm.protAt(page(11))).toBe(0);
    expect(mm.isPastEndOfFile(page(11), mman.PROT_WRITE)).toBe(true);
    expect(mm.isPastEndOfFile(page(10), mman.PROT_WRITE)).toBe(false); // read-only: SIGSEGV
    cpu.protect(BASE, cpu.ramSize, 7);
  });

  it('fork() keeps MAP_SHARED pages the same pages, freed when the last holder lets go', () => {
    const parent = new MemoryMap(phys);
    const shared = mapped(parent, 2, { shared: true });
    const priv = mapped(parent, 1);
    fillRam(shared, 2 * PAGE_SIZE, 0x11);
    fillRam(priv, PAGE_SIZE, 0x22);
    const child = parent.fork();
    // A write to the shared pages while the child's memory is resident is the parent's too.
    phys.overlays.activate(child);
    fillRam(shared, PAGE_SIZE, 0x33);
    fillRam(priv, PAGE_SIZE, 0x44);
    phys.overlays.activate(parent);
    expect(bytes(shared, PAGE_SIZE).every((x) => x === 0x33)).toBe(true);
    expect(bytes(priv, PAGE_SIZE).every((x) => x === 0x22)).toBe(true);
    // The parent goes first (munmap of one shared page, then exit): the child keeps its pages and bytes.
    parent.unmap(shared, shared + PAGE_SIZE);
    parent.release();
    phys.overlays.activate(child);
    expect(phys.usedBytes).toBe(3 * PAGE_SIZE);
    expect(bytes(shared, PAGE_SIZE).every((x) => x === 0x33)).toBe(true);
    expect(bytes(shared + PAGE_SIZE, PAGE_SIZE).every((x) => x === 0x11)).toBe(true);
    expect(bytes(priv, PAGE_SIZE).every((x) => x === 0x44)).toBe(true);
    child.release();
    expect(phys.usedBytes).toBe(0);
    expect(zeroWhenReused(shared, 2 * PAGE_SIZE)).toBe(true);
  });
});

describe('fork of untouched memory (zero runs)', () => {
  const mapped = (mm: MemoryMap, n: number): number => {
    const at = mm.reserve(n * PAGE_SIZE);
    mm.insert(vma(at, at + n * PAGE_SIZE));
    return at;
  };

  it('the backend tells holes from data', () => {
    fillRam(page(3), PAGE_SIZE, 1);
    const ext = cpu.dataExtents!(page(0), 8 * PAGE_SIZE);
    expect(ext).toEqual([page(3), page(4)]);
  });

  it('copies only the pages holding data; a page one side writes later stays its own', () => {
    const parent = new MemoryMap(phys);
    const heap = mapped(parent, 16);
    fillRam(heap, PAGE_SIZE, 0x22); // page 0 touched, 1..15 never
    const child = parent.fork();
    expect(phys.overlays.holders(heap / PAGE_SIZE)).toBe(2);
    expect(phys.overlays.holders(heap / PAGE_SIZE + 9)).toBe(2);
    // One page entry and one run of zeros, not 16 pages swapped at each switch.
    expect(phys.overlays.size).toBe(2);
    phys.overlays.activate(child);
    fillRam(heap + 9 * PAGE_SIZE, PAGE_SIZE, 0x44); // the child writes an untouched page
    const swaps = phys.overlays.swaps;
    phys.overlays.activate(parent);
    expect(allZero(heap + 9 * PAGE_SIZE, PAGE_SIZE)).toBe(true);
    expect(bytes(heap, PAGE_SIZE).every((x) => x === 0x22)).toBe(true);
    fillRam(heap + 5 * PAGE_SIZE, 8, 0x55); // and the parent another
    phys.overlays.activate(child);
    expect(bytes(heap + 9 * PAGE_SIZE, PAGE_SIZE).every((x) => x === 0x44)).toBe(true);
    expect(allZero(heap + 5 * PAGE_SIZE, PAGE_SIZE)).toBe(true);
    // Each switch moved only the pages written so far, 2 swaps each (out, in): pages 0 and 9, then 0, 9 and 5.
    expect(phys.overlays.swaps - swaps).toBe(10);
    phys.overlays.activate(parent);
    expect(bytes(heap + 5 * PAGE_SIZE, 8).every((x) => x === 0x55)).toBe(true);
    parent.release();
    child.release();
    expect(phys.usedBytes).toBe(0);
    expect(phys.overlays.size).toBe(0);
  });

  it('what the exiting side wrote since the last switch is not left to the other', () => {
    const parent = new MemoryMap(phys);
    const heap = mapped(parent, 8);
    const child = parent.fork();
    phys.overlays.activate(child);
    fillRam(heap + 2 * PAGE_SIZE, PAGE_SIZE, 0x66); // the child writes and exits, no switch in between
    child.release();
    phys.overlays.activate(parent);
    expect(allZero(heap, 8 * PAGE_SIZE)).toBe(true);
    expect(phys.usedBytes).toBe(8 * PAGE_SIZE);
    // The parent alone again: its pages are ordinary pages.
    expect(phys.overlays.size).toBe(0);
    parent.release();
    expect(phys.usedBytes).toBe(0);
  });

  it('pages the other side wrote are holes again once it is gone: the next fork shares them as zeros, copies none', () => {
    for (const switchBack of [false, true]) {
      const parent = new MemoryMap(phys);
      const heap = mapped(parent, 40);
      const child = parent.fork();
      phys.overlays.activate(child);
      // The child writes 32 untouched pages (a big read, getrandom...): a run the backend gives back whole (64 KiB or more).
      fillRam(heap + 4 * PAGE_SIZE, 32 * PAGE_SIZE, 0x66);
      if (switchBack) phys.overlays.activate(parent); // the parent's zeros go back into RAM while the child lives
      phys.overlays.batch(() => child.release());
      phys.overlays.activate(parent);
      expect(phys.overlays.size).toBe(0);
      expect(cpu.dataExtents!(heap, 40 * PAGE_SIZE)).toEqual([]);
      const next = parent.fork();
      expect(phys.overlays.size).toBe(1); // one run of zeros, no page entries
      expect(allZero(heap, 40 * PAGE_SIZE)).toBe(true);
      next.release();
      parent.release();
      expect(phys.usedBytes).toBe(0);
    }
  });

  it('a protection one side sets on untouched pages is its own', () => {
    const protects: [number, number, number][] = [];
    const counted: CpuBackend = Object.create(cpu, {
      protect: { value: (addr: number, len: number, prot: number) => { protects.push([(addr - BASE) / PAGE_SIZE, len / PAGE_SIZE, prot]); return cpu.protect(addr, len, prot); } },
      dataExtents: { value: (addr: number, len: number) => cpu.dataExtents!(addr, len) },
      zero: { value: (addr: number, len: number) => cpu.zero(addr, len) },
      invalidateCode: { value: (addr: number, len: number) => cpu.invalidateCode(addr, len) },
    });
    const ram = new PhysicalMemory(counted);
    const RW = mman.PROT_READ | mman.PROT_WRITE;
    const parent = new MemoryMap(ram);
    const at = parent.reserve(4 * PAGE_SIZE);
    parent.insert(vma(at, at + 4 * PAGE_SIZE));
    const child = parent.fork();
    ram.overlays.activate(child);
    child.protect(at + PAGE_SIZE, at + 2 * PAGE_SIZE, mman.PROT_READ);
    protects.length = 0;
    ram.overlays.activate(parent);
    expect(protects).toEqual([[(at - BASE) / PAGE_SIZE + 1, 1, RW]]);
    protects.length = 0;
    ram.overlays.activate(child);
    expect(protects).toEqual([[(at - BASE) / PAGE_SIZE + 1, 1, mman.PROT_READ]]);
    parent.release();
    child.release();
    expect(ram.usedBytes).toBe(0);
    cpu.protect(BASE, cpu.ramSize, 7);
  });

  it('a fork of a fork shares the run three ways', () => {
    const a = new MemoryMap(phys);
    const heap = mapped(a, 4);
    const b = a.fork();
    phys.overlays.activate(b);
    const c = b.fork();
    expect(phys.overlays.holders(heap / PAGE_SIZE + 3)).toBe(3);
    fillRam(heap + 3 * PAGE_SIZE, 4, 0x77); // b writes
    phys.overlays.activate(c);
    expect(allZero(heap, 4 * PAGE_SIZE)).toBe(true);
    phys.overlays.activate(a);
    expect(allZero(heap, 4 * PAGE_SIZE)).toBe(true);
    phys.overlays.activate(b);
    expect(bytes(heap + 3 * PAGE_SIZE, 4).every((x) => x === 0x77)).toBe(true);
    for (const m of [b, a, c]) m.release();
    expect(phys.usedBytes).toBe(0);
    expect(phys.overlays.size).toBe(0);
  });
});

describe('fork overlays and the CPU', () => {
  it('rewrite and invalidate only pages whose bytes differ, and change protections once per run of pages', () => {
    // The real backend, its calls counted: which pages the CPU is told about.
    const invalidated: number[] = [];
    const told: number[] = []; // pages per call
    const protects: [number, number, number][] = [];
    const counted: CpuBackend = Object.create(cpu, {
      invalidateCode: { value: (addr: number, len: number) => { invalidated.push((addr - BASE) / PAGE_SIZE); told.push(len / PAGE_SIZE); cpu.invalidateCode(addr, len); } },
      protect: { value: (addr: number, len: number, prot: number) => { protects.push([(addr - BASE) / PAGE_SIZE, len / PAGE_SIZE, prot]); return cpu.protect(addr, len, prot); } },
      dataExtents: { value: (addr: number, len: number) => cpu.dataExtents!(addr, len) },
    });
    const ram = new PhysicalMemory(counted);
    const parent = new MemoryMap(ram);
    const child = new MemoryMap(ram);
    const first = BASE / PAGE_SIZE + 8;
    fillRam(page(8), 4 * PAGE_SIZE, 1);
    // Both hold pages 8..11; the parent's mapping there is read-execute, the child's read-write.
    parent.insert(vma(page(8), page(12), { prot: mman.PROT_READ | mman.PROT_EXEC }));
    child.insert(vma(page(8), page(12), { prot: mman.PROT_READ | mman.PROT_WRITE }));
    ram.overlays.duplicate(parent, child, first, 4);
    ram.overlays.activate(child);
    bytes(page(9), 1)[0] = 2; // the child writes one page
    invalidated.length = 0;
    protects.length = 0;
    ram.overlays.activate(parent);
    expect(invalidated).toEqual([9]);
    expect(Array.from(bytes(page(9), 1))).toEqual([1]);
    // Four pages back to the parent's protection: one change for the run.
    expect(protects).toEqual([[8, 4, mman.PROT_READ | mman.PROT_EXEC]]);
    ram.overlays.activate(child);
    expect(Array.from(bytes(page(9), 1))).toEqual([2]);
    // The child writes three pages in a row: the CPU is told once for the run (each call can cost Unicorn a remap).
    for (const n of [9, 10, 11]) bytes(page(n), 1)[0] = 3;
    invalidated.length = 0;
    told.length = 0;
    ram.overlays.activate(parent);
    expect(invalidated).toEqual([9]);
    expect(told).toEqual([3]);
    cpu.protect(BASE, cpu.ramSize, 7);
  });
});
