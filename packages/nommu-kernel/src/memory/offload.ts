import type { MemoryOffload } from '@nommu/x86-cpu';
import type { MemoryMap, Vma } from './mm.js';
import { pageUp } from './page.js';

/** The most room past its end a growable mapping is offered at once (the room is not reserved: nothing else allocates during a run). */
const GROW_ROOM_MAX = 256 << 20;

/**
 * Keeps a CPU backend's MemoryOffload equal to the running process's break
 * and growable mapping: written before each run when the process, its map or
 * the free RAM changed since, and taken back after each run, before the
 * kernel looks at the map again.
 */
export class MemoryOffloadState {
  #mm: MemoryMap | null = null;
  #mmGeneration = -1;
  #physGeneration = -1;
  /** The break and the growable mapping's end as the backend was told (or last moved them). */
  #brk = -1;
  #grow: Vma | null = null;
  #growEnd = 0;

  constructor(readonly io: MemoryOffload) {}

  /** Before a run of a process with map `mm`; `allowed` false (a tracer or hooks listen) turns the offload off. */
  publish(mm: MemoryMap, allowed: boolean): void {
    const io = this.io;
    if (!allowed) {
      if (io.enabled) io.enabled = false;
      this.#mm = null;
      return;
    }
    if (mm === this.#mm && mm.brk === this.#brk && mm.generation === this.#mmGeneration && mm.phys.generation === this.#physGeneration) return;
    const phys = mm.phys;
    // Below the break, pages sealed since (mseal) are the kernel's to refuse.
    io.setBreak(mm.brkStart, mm.brk, mm.brkLimit, !mm.sealedIn(pageUp(mm.brkStart), pageUp(mm.brkLimit)));
    const g = mm.growable();
    if (g !== null) {
      const v = g.vma;
      io.setGrowable(v.start, v.end, phys.growRoom(v.end, GROW_ROOM_MAX), phys.cpuProt(v.prot), g.prefault);
    } else {
      io.setGrowable(0, 0, 0, 0, false);
    }
    this.#mm = mm;
    this.#brk = mm.brk;
    this.#grow = g?.vma ?? null;
    this.#growEnd = g?.vma.end ?? 0;
    this.#mmGeneration = mm.generation;
    this.#physGeneration = phys.generation;
    io.enabled = true;
  }

  /** After a run: the break and the mapping the backend moved become the kernel's. */
  takeBack(): void {
    const mm = this.#mm;
    if (mm === null) return;
    const io = this.io;
    const brk = io.brk;
    if (brk !== this.#brk) {
      mm.brk = brk;
      this.#brk = brk;
    }
    const v = this.#grow;
    if (v !== null) {
      const end = io.growEnd;
      if (end !== this.#growEnd) {
        mm.grownByCpu(v, end);
        this.#growEnd = end;
      }
    }
  }
}
