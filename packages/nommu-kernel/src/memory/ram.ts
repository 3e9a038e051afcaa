import type { CpuBackend } from '@nommu/x86-cpu';
import { Overlays, type Holder } from './overlay.js';

import { PAGE_SIZE, pageDown, pageUp } from './page.js';

export { PAGE_SIZE, pageDown, pageUp };

const PROT_ALL = 7;
/** A page whose protection the backend could not set as asked. */
const PROT_UNKNOWN = 0xff;
/**
 * The first index from `from` on whose value is not `v` (pages.length if
 * none): four pages a word where the buffer allows (an exec protects tens of
 * MB, thousands of pages, while its code is cold; a brk area alone is 8,192).
 */
function firstOther(pages: Uint8Array, v: number, from: number): number {
  const n = pages.length;
  let i = from;
  while (i < n && ((pages.byteOffset + i) & 3) !== 0) {
    if (pages[i] !== v) return i;
    i++;
  }
  if (i >= n) return n;
  const word = (v * 0x01010101) >>> 0;
  const words = new Uint32Array(pages.buffer, pages.byteOffset + i, (n - i) >>> 2);
  let k = 0;
  while (k < words.length && words[k] === word) k++;
  i += k * 4;
  while (i < n && pages[i] === v) i++;
  return i;
}

/** An address space whose mappings say which protection a page of it has (a MemoryMap). */
export interface ProtHolder {
  protAt(addr: number): number;
}

interface Extent {
  start: number;
  end: number;
}

/** At most this much freed RAM waits to be zeroed at its next use (see PhysicalMemory.#dirty); past it, a free zeroes at once. */
const DIRTY_MAX = 64 << 20;
/** The most freed RAM zeroed in place when handed out again (see #zeroInPlace). */
const REUSE_IN_PLACE = 4 << 20;

/** Low RAM kept for static programs' link addresses (0x400000 and up, their brk after them) as long as other RAM serves. */
const EXEC_AREA = 64 << 20;

/**
 * The flat RAM every process and the kernel share, handed out in pages.
 * Memory is zero when it is handed out: freed RAM is zeroed (whole pages go
 * back to the host) at its next allocation, or at once past DIRTY_MAX.
 */
export class PhysicalMemory {
  readonly base: number;
  readonly size: number;
  /** Changes whenever the free pool, the RAM waiting to be zeroed or a page's protection changes. */
  generation = 0;
  /** Free extents, sorted by address, never adjacent. */
  readonly #free: Extent[];
  #used = 0;

  /** Pages several address spaces hold at once (fork, same-address ET_EXEC images). */
  readonly overlays: Overlays;

  /**
   * `enforce` false: only PROT_NONE reaches the CPU (guard pages), every other
   * protection is recorded but leaves the page fully usable, as on nommu Linux
   * (cheaper on backends where a change costs a remap).
   */
  constructor(
    private readonly cpu: CpuBackend,
    /** Are protections other than PROT_NONE enforced for guest code? */
    readonly enforce = true,
  ) {
    this.base = cpu.ramBase;
    this.size = cpu.ramSize;
    this.#free = [{ start: this.base, end: this.base + this.size }];
    this.#prot = new Uint8Array(this.size / PAGE_SIZE).fill(PROT_ALL);
    this.overlays = new Overlays(
      cpu.ram,
      cpu.ramBase,
      (addr, len) => cpu.invalidateCode(addr, len),
      (holder, pages) => {
        const mm = holder as ProtHolder;
        // Runs of consecutive pages with one protection: one backend call each.
        for (let i = 0; i < pages.length; ) {
          const prot = mm.protAt(pages[i]! * PAGE_SIZE);
          let j = i + 1;
          while (j < pages.length && pages[j] === pages[j - 1]! + 1 && mm.protAt(pages[j]! * PAGE_SIZE) === prot) j++;
          this.setProt(pages[i]! * PAGE_SIZE, (j - i) * PAGE_SIZE, prot);
          i = j;
        }
      },
      cpu.dataExtents ? (addr, len) => cpu.dataExtents!(addr, len) : null,
      (addr, len) => cpu.zero(addr, len),
    );
  }

  /** The protection the CPU enforces on each page now (RAM never allocated: PROT_ALL; freed RAM keeps its last). */
  readonly #prot: Uint8Array;

  /**
   * Makes the CPU enforce `prot` on [addr, addr+len) for guest code (the
   * kernel's view of RAM stays writable). Only pages whose protection changes
   * reach the backend, which drops code translated under the old protection.
   * A backend out of protection ranges leaves pages more permissive than asked
   * (advisory, as without an MMU); their protection is then unknown here, so
   * the next change always reaches the backend.
   */
  setProt(addr: number, len: number, asked: number): void {
    const rwx = asked & PROT_ALL; // the CPU knows read, write and execute (PROT_SEM and such are not its business)
    const prot = this.enforce || rwx === 0 ? rwx : PROT_ALL;
    const first = (pageDown(addr) - this.base) / PAGE_SIZE;
    const end = (pageUp(addr + len) - this.base) / PAGE_SIZE;
    // Runs found a word at a time (firstOther) and with indexOf: an exec protects tens of MB while its code is cold.
    const pages = this.#prot.subarray(first, end);
    let i = firstOther(pages, prot, 0);
    while (i < pages.length) {
      let j = pages.indexOf(prot, i);
      if (j < 0) j = pages.length;
      const enforced = this.cpu.protect(this.base + (first + i) * PAGE_SIZE, (j - i) * PAGE_SIZE, prot);
      pages.fill(enforced ? prot : PROT_UNKNOWN, i, j);
      this.generation++;
      i = firstOther(pages, prot, j);
    }
  }

  /** The protection the CPU is asked to enforce for a mapping's `prot` (see setProt). */
  cpuProt(asked: number): number {
    const rwx = asked & PROT_ALL;
    return this.enforce || rwx === 0 ? rwx : PROT_ALL;
  }

  /** The CPU enforces `prot` on [addr, addr+len) already (it set it itself, MemoryOffload): recorded without a backend call. */
  protSet(addr: number, len: number, prot: number): void {
    const first = (pageDown(addr) - this.base) / PAGE_SIZE;
    this.#prot.fill(this.cpuProt(prot), first, (pageUp(addr + len) - this.base) / PAGE_SIZE);
    this.generation++;
  }

  /**
   * Where the free RAM from `addr` on stops being free or zeroed, at most
   * `max` bytes on: room a mapping ending at `addr` may grow into without
   * the kernel (MemoryOffload), as nothing else allocates until the kernel
   * runs again. `addr` itself when there is none.
   */
  growRoom(addr: number, max: number): number {
    const ext = this.#free.find((e) => e.start <= addr && addr < e.end);
    if (ext === undefined) return addr;
    let end = Math.min(ext.end, addr + max);
    for (const d of this.#dirty) {
      if (d.end <= addr) continue;
      if (d.start < end) end = Math.max(addr, d.start);
      break;
    }
    return end;
  }

  /** Holders beyond the first of MAP_SHARED pages that fork gave to more address spaces, by page number. */
  readonly #sharers = new Map<number, number>();

  /** One more address space holds the very pages of [addr, addr+len) (a MAP_SHARED mapping across fork). */
  share(addr: number, len: number): void {
    for (let a = pageDown(addr); a < pageUp(addr + len); a += PAGE_SIZE) {
      const page = a / PAGE_SIZE;
      this.#sharers.set(page, (this.#sharers.get(page) ?? 0) + 1);
    }
  }

  /** Drops one holder of a shared page; true if others still hold it. */
  #unshare(page: number): boolean {
    const n = this.#sharers.get(page);
    if (n === undefined) return false;
    if (n === 1) this.#sharers.delete(page);
    else this.#sharers.set(page, n - 1);
    return true;
  }

  /** `holder` gives back [addr, addr+len): pages still held by others stay allocated. */
  release(holder: Holder, addr: number, len: number): void {
    const start = pageDown(addr);
    const end = pageUp(addr + len);
    if (this.overlays.size === 0 && this.#sharers.size === 0) {
      this.free(start, end - start);
      return;
    }
    this.overlays.batch(() => {
      this.overlays.settle();
      let run = -1;
      for (let a = start; a < end; ) {
        const page = a / PAGE_SIZE;
        const zeros = this.overlays.releaseRun(holder, page, end / PAGE_SIZE);
        const stop = zeros ? zeros.end * PAGE_SIZE : a + PAGE_SIZE;
        const gone = zeros ? zeros.gone : !this.#unshare(page) && this.overlays.release(holder, page);
        if (gone && run < 0) run = a;
        if (!gone && run >= 0) {
          this.free(run, a - run);
          run = -1;
        }
        a = stop;
      }
      if (run >= 0) this.free(run, end - run);
    });
  }

  get usedBytes(): number {
    return this.#used;
  }
  get freeBytes(): number {
    return this.size - this.#used;
  }

  /** Allocates `len` bytes (rounded to pages) anywhere, highest addresses first. */
  alloc(len: number, align = PAGE_SIZE): number | null {
    const size = pageUp(len);
    if (size <= 0) return null;
    for (let i = this.#free.length - 1; i >= 0; i--) {
      const ext = this.#free[i]!;
      const start = Math.floor((ext.end - size) / align) * align;
      if (start >= ext.start) {
        this.#take(i, start, start + size);
        return start;
      }
    }
    return null;
  }

  /**
   * Allocates `len` bytes (rounded to pages) for a mapping that moves because
   * it grows (mremap), where it can grow again in place: at the bottom of the
   * lowest free extent with as much again free above it, leaving as much
   * again free below it for whatever ends there to grow into (two mappings
   * growing in turn then leapfrog with sizes growing like Fibonacci's). alloc
   * takes from the top down, so the room above lasts. With no such extent, at
   * the bottom of the largest one that fits. A mapping grown n times by small
   * steps then moves O(log n) times instead of at nearly every step. RAM below
   * EXEC_AREA is used last.
   */
  allocToGrow(len: number): number | null {
    const size = pageUp(len);
    if (size <= 0) return null;
    // First above the low RAM where static (ET_EXEC) programs are linked (0x400000 and their brk), which exec needs free.
    for (const floor of [this.base + EXEC_AREA, this.base]) {
      for (let i = 0; i < this.#free.length; i++) {
        const ext = this.#free[i]!;
        const from = Math.max(ext.start, floor);
        const below = from === this.base ? 0 : size;
        if (ext.end - from >= below + 2 * size) {
          this.#take(i, from + below, from + below + size);
          return from + below;
        }
      }
    }
    let largest: Extent | undefined;
    for (const ext of this.#free) if (ext.end - ext.start >= size && (!largest || ext.end - ext.start > largest.end - largest.start)) largest = ext;
    if (!largest) return null;
    const start = largest.start;
    this.#take(this.#free.indexOf(largest), start, start + size);
    return start;
  }

  /** Allocates exactly [addr, addr+len) if all of it is free. */
  allocAt(addr: number, len: number): boolean {
    const start = pageDown(addr);
    const end = pageUp(addr + len);
    const i = this.#free.findIndex((e) => e.start <= start && end <= e.end);
    if (i < 0 || end <= start) return false;
    this.#take(i, start, end);
    return true;
  }

  /** Is every byte of [addr, addr+len) free? */
  isFree(addr: number, len: number): boolean {
    const start = pageDown(addr);
    const end = pageUp(addr + len);
    return this.#free.some((e) => e.start <= start && end <= e.end);
  }

  #retired = false;

  /**
   * No guest code runs on this RAM again (the first process is exiting, the
   * kernel is done): frees keep their accounting but skip zeroing and
   * protection changes (on Unicorn, ~10 ms of a hello world's exit).
   */
  retire(): void {
    this.#retired = true;
  }

  /**
   * Freed RAM not zeroed yet, sorted, disjoint: zeroed when it is handed out
   * again (as Linux zeroes a page when it allocates it), so RAM freed and
   * never reused costs nothing. Zeroing a range of the native backend's RAM
   * punches it out of the host file mapped in two processes: ~0.35 ms per MB
   * of pages here (a 10 MB munmap 3.4 ms, a busybox exit 1.3 ms).
   */
  readonly #dirty: Extent[] = [];
  #dirtyBytes = 0;
  /** Freed bytes not zeroed yet (they may still occupy host memory). */
  get dirtyBytes(): number {
    return this.#dirtyBytes;
  }

  /** Returns [addr, addr+len) to the pool, to be zeroed before its next use (unless retired). */
  free(addr: number, len: number): void {
    const start = pageDown(addr);
    const end = pageUp(addr + len);
    if (end <= start) return;
    let i = 0;
    while (i < this.#free.length && this.#free[i]!.start < start) i++;
    const prev = this.#free[i - 1];
    const next = this.#free[i];
    if (prev && prev.end > start) throw new RangeError(`double free at 0x${start.toString(16)}`);
    if (next && next.start < end) throw new RangeError(`double free at 0x${next.start.toString(16)}`);
    if (!this.#retired) {
      if (this.#dirtyBytes + (end - start) <= DIRTY_MAX) this.#addDirty(start, end);
      else this.cpu.zero(start, end - start);
      // The protection stays: the next owner's mapping sets its own (MemoryMap.enforce), and the
      // same program run again at the same addresses then changes nothing (each change can cost
      // the Unicorn backend a ~1.5 ms remap, the native one an mprotect).
    }
    this.#used -= end - start;
    this.generation++;
    if (prev && prev.end === start && next && next.start === end) {
      prev.end = next.end;
      this.#free.splice(i, 1);
    } else if (prev && prev.end === start) {
      prev.end = end;
    } else if (next && next.start === end) {
      next.start = start;
    } else {
      this.#free.splice(i, 0, { start, end });
    }
  }

  #take(i: number, start: number, end: number): void {
    const ext = this.#free[i]!;
    this.generation++;
    this.#used += end - start;
    const pieces: Extent[] = [];
    if (ext.start < start) pieces.push({ start: ext.start, end: start });
    if (end < ext.end) pieces.push({ start: end, end: ext.end });
    this.#free.splice(i, 1, ...pieces);
    if (this.#dirtyBytes > 0) this.#clean(start, end);
  }

  #addDirty(start: number, end: number): void {
    const d = this.#dirty;
    let i = 0;
    while (i < d.length && d[i]!.end < start) i++;
    this.#dirtyBytes += end - start;
    // Freed ranges never overlap a dirty one (that RAM is free already): merge with neighbours that touch.
    if (i < d.length && d[i]!.end === start) {
      d[i]!.end = end;
      if (i + 1 < d.length && d[i + 1]!.start === end) d.splice(i, 2, { start: d[i]!.start, end: d[i + 1]!.end });
    } else if (i < d.length && d[i]!.start === end) {
      d[i]!.start = start;
    } else {
      d.splice(i, 0, { start, end });
    }
  }

  /** Zeroes what of [start, end) is dirty: RAM being handed out. */
  /**
   * Zeroes RAM handed out again. Up to REUSE_IN_PLACE bytes, the pages that
   * hold data are cleared where they are: the host keeps them, and the new
   * owner's first writes (an exec copying its image) take no page fault in
   * Node or in the native runner. Larger ranges go back to the host.
   */
  #zeroInPlace(a: number, b: number): void {
    if (b - a > REUSE_IN_PLACE || !this.cpu.dataExtents) {
      this.cpu.zero(a, b - a);
      return;
    }
    const ext = this.cpu.dataExtents(a, b - a);
    for (let i = 0; i < ext.length; i += 2) this.cpu.ram.fill(0, ext[i]! - this.base, ext[i + 1]! - this.base);
  }

  #clean(start: number, end: number): void {
    const d = this.#dirty;
    for (let i = 0; i < d.length && d[i]!.start < end; ) {
      const e = d[i]!;
      if (e.end <= start) {
        i++;
        continue;
      }
      const a = Math.max(start, e.start);
      const b = Math.min(end, e.end);
      this.#zeroInPlace(a, b);
      this.#dirtyBytes -= b - a;
      const rest: Extent[] = [];
      if (e.start < a) rest.push({ start: e.start, end: a });
      if (b < e.end) rest.push({ start: b, end: e.end });
      d.splice(i, 1, ...rest);
      i += rest.length;
    }
  }
}
