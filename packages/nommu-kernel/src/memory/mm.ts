import { E, errno } from '../errno.js';
import { PAGE_SIZE, pageDown, pageUp, type PhysicalMemory } from './ram.js';

export const PROT_READ = 1;
export const PROT_WRITE = 2;
export const PROT_EXEC = 4;
export const MAP_SHARED = 0x01;
export const MAP_PRIVATE = 0x02;
export const MAP_FIXED = 0x10;
export const MAP_ANONYMOUS = 0x20;
export const MAP_GROWSDOWN = 0x100;
export const MAP_NORESERVE = 0x4000;
export const MAP_POPULATE = 0x8000;
export const MAP_STACK = 0x20000;
export const MAP_FIXED_NOREPLACE = 0x100000;

/** One mapping of a process, as /proc/PID/maps shows it. */
export interface Vma {
  start: number;
  end: number;
  prot: number;
  shared: boolean;
  /** '[stack]', '[heap]', '[vdso]', a path, or '' for anonymous memory. */
  name: string;
  fileOffset: number;
  dev: number;
  inode: number;
  /**
   * The process owns the RAM under this mapping and frees it on unmap and
   * exit; the CPU enforces `prot` on owned mappings only (the vDSO is the
   * kernel's, and its shim must keep running whatever the guest asks).
   */
  owned: boolean;
  /**
   * A file mapping: the file's size when it was mapped. Pages of the mapping
   * wholly past it are inaccessible and a touch raises SIGBUS (BUS_ADRERR),
   * as on Linux; without a shared page cache a later ftruncate that grows
   * the file does not make them valid.
   */
  fileSize?: number;
  /**
   * How many times the process mapped this very range (a shared tmpfs file
   * mapped again: without an MMU it comes back at the same address); munmap
   * drops one. Absent: once.
   */
  maps?: number;
  /**
   * Mapped to be touched sparsely (MAP_NORESERVE, MAP_STACK, MAP_GROWSDOWN):
   * left to fault page by page, never backed ahead of use by the CPU
   * (CpuBackend.prefault), not even when mremap grows it.
   */
  lazy?: boolean;
  /** mlock'ed (see MemoryMap.lock). Not inherited by fork. */
  locked?: boolean;
  /** MADV_DONTFORK: a forked child does not get this mapping (MADV_DOFORK undoes it). */
  dontFork?: boolean;
  /**
   * mseal'ed: munmap, mremap, mprotect, MAP_FIXED over it and discarding
   * madvise answer EPERM (the memory handlers check it). Kept by the pieces
   * of a split and by fork; gone at exec with the whole map.
   */
  sealed?: boolean;
}

/** Where the pages of `v` past the end of its file begin (`v.end` when none are). */
export function pastEndOfFile(v: Vma): number {
  if (v.fileSize === undefined) return v.end;
  return Math.min(v.end, Math.max(v.start, v.start - v.fileOffset + pageUp(v.fileSize)));
}

/**
 * A process's view of the flat RAM: which ranges it mapped, with which
 * attributes. Nothing here translates addresses: without an MMU a mapping is
 * a reservation of physical RAM at its own address. Protections are per page
 * of RAM in the CPU, applied when a mapping is made or changed; pages several
 * processes hold at one address (fork overlays) get the resident holder's.
 */
let nextId = 1;

export class MemoryMap {
  /** Distinguishes address spaces in futex keys. */
  readonly id = nextId++;
  /** Sorted by start, non-overlapping. */
  readonly vmas: Vma[] = [];
  brkStart = 0;
  brk = 0;
  /** End of the brk area reserved at exec: nommu brk never grows past it. */
  brkLimit = 0;
  /** membarrier's registrations (MEMBARRIER_CMD_REGISTER_* bits), as Linux keeps them in the mm: fork copies them, exec starts without. */
  membarrierRegistrations = 0;

  /** Changes whenever a mapping is made, removed, split or changed here (see MemoryOffloadState). */
  generation = 0;

  constructor(readonly phys: PhysicalMemory) {}

  /** The mapping mremap grew last, which the CPU may grow further in place (MemoryOffload); see markGrowable. */
  #growing: Vma | null = null;
  #growingPrefault = false;

  /**
   * `v` just grew or moved to grow (mremap): the CPU backend may grow it
   * further in place by itself. `prefault`: back its new pages at once, the
   * rule mremap applies to it.
   */
  markGrowable(v: Vma, prefault: boolean): void {
    this.#growing = v;
    this.#growingPrefault = prefault;
    this.generation++;
  }

  /**
   * The mapping markGrowable named, if it is still one of this map's as it
   * was (not split, changed or unmapped since), owned, anonymous (no file
   * end to keep inaccessible) and not sealed.
   */
  growable(): { vma: Vma; prefault: boolean } | null {
    const v = this.#growing;
    if (v === null || !v.owned || v.sealed === true || v.fileSize !== undefined || !this.vmas.includes(v)) return null;
    return { vma: v, prefault: this.#growingPrefault };
  }

  /** mremap grew `v` in place to `end`, its RAM taken already: the CPU enforces its protection there. */
  extend(v: Vma, end: number): void {
    const from = v.end;
    v.end = end;
    this.generation++;
    this.enforce(v, from, end);
  }

  /**
   * The CPU backend grew `v` in place to `end` (MemoryOffload) from room
   * that was free and zeroed (PhysicalMemory.growRoom), and enforces its
   * protection there already: the RAM becomes the process's.
   */
  grownByCpu(v: Vma, end: number): void {
    const from = v.end;
    if (!this.phys.allocAt(from, end - from)) throw new RangeError(`memory offload: 0x${from.toString(16)}-0x${end.toString(16)} was not free`);
    v.end = end;
    this.generation++;
    if (this.phys.overlays.size > 0) this.phys.overlays.materialize(from / PAGE_SIZE, (end - from) / PAGE_SIZE);
    this.phys.protSet(from, end - from, v.prot);
  }

  find(addr: number): Vma | undefined {
    return this.vmas.find((v) => v.start <= addr && addr < v.end);
  }

  /** The protection the CPU must enforce at `addr` while this process's bytes are there. */
  protAt(addr: number): number {
    const v = this.find(addr);
    if (!v?.owned) return PROT_READ | PROT_WRITE | PROT_EXEC;
    return addr >= pastEndOfFile(v) ? 0 : v.prot;
  }

  /**
   * Is a fault at `addr` a touch of a page of a file mapping wholly past the
   * end of the file (SIGBUS)? Only if the mapping's protection allows the
   * access (`need`: PROT_READ, PROT_WRITE or PROT_EXEC); else it is SIGSEGV.
   */
  isPastEndOfFile(addr: number, need: number): boolean {
    const v = this.find(addr);
    if (v === undefined || addr < pastEndOfFile(v)) return false;
    // On x86 any access right lets a page be read.
    return need === PROT_READ ? v.prot !== 0 : (v.prot & need) !== 0;
  }

  /**
   * Makes the CPU enforce `prot` on [start, end) of `v` (an owned mapping):
   * pages past the end of its file stay inaccessible whatever `prot` says.
   */
  enforce(v: Vma, start: number, end: number, prot = v.prot): void {
    if (!v.owned || end <= start) return;
    // Pages fork left as zero runs share one protection: this holder's own becomes per page.
    if (this.phys.overlays.size > 0) this.phys.overlays.materialize(start / PAGE_SIZE, (end - start) / PAGE_SIZE);
    const eof = Math.max(start, Math.min(end, pastEndOfFile(v)));
    if (eof > start) this.phys.setProt(start, eof - start, prot);
    if (end > eof) this.phys.setProt(eof, end - eof, 0);
  }

  /**
   * May the process access every byte of [start, end) with `prot`
   * (PROT_READ, PROT_WRITE)? Unmapped bytes may not be accessed. Without
   * enforced protections only PROT_NONE pages refuse, as the CPU does then.
   */
  allows(start: number, end: number, prot: number): boolean {
    if (end <= start) return true;
    let at = start;
    for (const v of this.vmas) {
      if (v.end <= at) continue;
      if (v.start > at) return false;
      const have = v.prot === 0 || this.phys.enforce ? v.prot : PROT_READ | PROT_WRITE | PROT_EXEC;
      if ((have & prot) !== prot) return false;
      if (prot !== 0 && Math.min(end, v.end) > pastEndOfFile(v)) return false;
      at = v.end;
      if (at >= end) return true;
    }
    return false;
  }

  /** Does a sealed mapping (mseal) overlap [start, end)? */
  sealedIn(start: number, end: number): boolean {
    return this.vmas.some((v) => v.sealed === true && v.start < end && start < v.end);
  }

  /** Seals [start, end) (mseal), splitting mappings at its ends; ENOMEM if a page there is unmapped. */
  seal(start: number, end: number): void {
    this.#change(start, end, { sealed: true });
  }

  /** Is [start, end) entirely covered by this process's mappings? */
  covers(start: number, end: number): boolean {
    let at = start;
    for (const v of this.vmas) {
      if (v.end <= at) continue;
      if (v.start > at) return false;
      at = v.end;
      if (at >= end) return true;
    }
    return at >= end;
  }

  insert(vma: Vma): void {
    let i = 0;
    while (i < this.vmas.length && this.vmas[i]!.start < vma.start) i++;
    if (this.lockFuture) vma.locked = true;
    this.vmas.splice(i, 0, vma);
    this.generation++;
    this.enforce(vma, vma.start, vma.end);
  }

  /**
   * Reserves fresh RAM for a mapping: at `hint` when it is free and `fixed`
   * demands it, else anywhere. Returns the address or throws ENOMEM.
   */
  reserve(len: number, fixedAt?: number): number {
    const size = pageUp(len);
    if (fixedAt !== undefined) {
      if (!this.phys.allocAt(fixedAt, size)) throw errno(E.ENOMEM);
      return fixedAt;
    }
    const addr = this.phys.alloc(size);
    if (addr === null) throw errno(E.ENOMEM);
    return addr;
  }

  /**
   * Reserves fresh RAM for a mapping that moves because it grows (mremap),
   * where it has room to grow again in place. Returns the address or throws ENOMEM.
   */
  reserveToGrow(len: number): number {
    const addr = this.phys.allocToGrow(pageUp(len));
    if (addr === null) throw errno(E.ENOMEM);
    return addr;
  }

  /** Removes [start, end) from the map, splitting mappings; owned RAM is freed (zeroed). */
  unmap(start: number, end: number): void {
    this.#cut(start, end, true);
  }

  /** Removes [start, end) from the map but keeps its RAM reserved for a mapping that replaces it. */
  unmapKeepingRam(start: number, end: number): void {
    this.#cut(start, end, false);
  }

  #cut(start: number, end: number, free: boolean): void {
    start = pageDown(start);
    end = pageUp(end);
    const keep: Vma[] = [];
    for (const v of this.vmas) {
      if (v.end <= start || v.start >= end) {
        keep.push(v);
        continue;
      }
      const cutStart = Math.max(v.start, start);
      const cutEnd = Math.min(v.end, end);
      if (v.owned && free) this.phys.release(this, cutStart, cutEnd - cutStart);
      if (v.start < cutStart) keep.push({ ...v, end: cutStart });
      if (cutEnd < v.end) keep.push({ ...v, start: cutEnd, fileOffset: v.fileOffset + (cutEnd - v.start) });
    }
    this.vmas.splice(0, this.vmas.length, ...keep.sort((a, b) => a.start - b.start));
    this.generation++;
  }

  /** Sets the protection of [start, end) (mprotect): recorded for /proc/maps and enforced by the CPU where it can. */
  protect(start: number, end: number, prot: number): void {
    for (const v of this.#change(start, end, { prot })) this.enforce(v, v.start, v.end);
  }

  /**
   * Marks [start, end) locked or not (mlock, munlock). Without swap every
   * page is resident anyway; the mark is what VmLck and RLIMIT_MEMLOCK count.
   */
  lock(start: number, end: number, locked: boolean): void {
    this.#change(start, end, { locked });
  }

  /** MADV_DONTFORK (true) and MADV_DOFORK (false) over [start, end). */
  dontFork(start: number, end: number, on: boolean): void {
    this.#change(start, end, { dontFork: on });
  }

  /** Splits the mappings at start and end and applies `patch` to the pieces between; ENOMEM if a page there is unmapped. */
  #change(start: number, end: number, patch: Partial<Pick<Vma, 'prot' | 'locked' | 'sealed' | 'dontFork'>>): Vma[] {
    if (!this.covers(start, end)) throw errno(E.ENOMEM);
    const out: Vma[] = [];
    const changed: Vma[] = [];
    for (const v of this.vmas) {
      if (v.end <= start || v.start >= end) {
        out.push(v);
        continue;
      }
      const a = Math.max(v.start, start);
      const b = Math.min(v.end, end);
      if (v.start < a) out.push({ ...v, end: a });
      const piece: Vma = { ...v, ...patch, start: a, end: b, fileOffset: v.fileOffset + (a - v.start) };
      out.push(piece);
      changed.push(piece);
      if (b < v.end) out.push({ ...v, start: b, fileOffset: v.fileOffset + (b - v.start) });
    }
    this.vmas.splice(0, this.vmas.length, ...out);
    this.generation++;
    return changed;
  }

  /**
   * mlockall's MCL_FUTURE (and MCL_ONFAULT): mappings made from now on are
   * locked. Cleared by munlockall, fork and exec.
   */
  lockFuture = false;

  /** Bytes in locked mappings (VmLck; what RLIMIT_MEMLOCK limits). */
  get lockedBytes(): number {
    let n = 0;
    for (const v of this.vmas) if (v.locked) n += v.end - v.start;
    return n;
  }

  /** Frees everything the process owns (exit, execve). */
  release(): void {
    this.phys.overlays.batch(() => {
      for (const v of this.vmas) {
        if (v.owned) this.phys.release(this, v.start, v.end - v.start);
      }
    });
    this.vmas.length = 0;
    this.#growing = null;
    this.generation++;
    this.lockFuture = false;
    this.brkStart = this.brk = this.brkLimit = 0;
  }

  /** Address spaces using this map (vfork children and threads share it). */
  users = 1;

  /**
   * fork without an MMU: a new map with the same mappings at the same
   * addresses, each private page a copy that is swapped in while the child
   * runs; MAP_SHARED pages stay the same pages, held by both.
   */
  fork(): MemoryMap {
    const child = new MemoryMap(this.phys);
    for (const v of this.vmas) {
      if (v.dontFork) continue;
      const copy = { ...v };
      delete copy.locked;
      child.vmas.push(copy);
      if (!v.owned) continue;
      if (v.shared) this.phys.share(v.start, v.end - v.start);
      else this.phys.overlays.duplicate(this, child, v.start / PAGE_SIZE, (v.end - v.start) / PAGE_SIZE);
    }
    child.brkStart = this.brkStart;
    child.brk = this.brk;
    child.brkLimit = this.brkLimit;
    child.membarrierRegistrations = this.membarrierRegistrations;
    return child;
  }

  /** Drops one user; the last one releases the memory. */
  put(): void {
    if (--this.users === 0) this.release();
  }

  /** Bytes of RAM this process owns. */
  get ownedBytes(): number {
    let n = 0;
    for (const v of this.vmas) if (v.owned) n += v.end - v.start;
    return n;
  }
}

export { PAGE_SIZE };
