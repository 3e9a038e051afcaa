import { PAGE_SIZE } from './page.js';

/** Who holds a page: an address space (processes sharing one, like vfork children, share a holder). */
export type Holder = object;

interface SharedPage {
  /** Whose bytes are in RAM now (null: nobody's, e.g. the resident holder left). */
  resident: Holder | null;
  /** Bytes of each holder that is not resident; null means a page of zeros. */
  readonly saved: Map<Holder, Uint8Array | null>;
  /** It was a hole (in a zero run) until a holder wrote it: left with zeros, it becomes one again. */
  wasHole?: true;
}

/**
 * Pages that several address spaces hold at the same address: without an MMU
 * a forked child must see the parent's memory at the parent's addresses, and
 * two ET_EXEC programs want the same link address. One holder's bytes are
 * resident in RAM; the others wait in host buffers and are swapped in when a
 * task of theirs gets the CPU. Costs are per shared page, paid at switches
 * between holders (counted in `swaps`).
 */
export class Overlays {
  readonly #pages = new Map<number, SharedPage>();
  /**
   * Runs of pages that were holes (zeros, no host memory) when fork shared
   * them, sorted and disjoint: each holder's bytes there are zeros, and the
   * holders' protections agree (see `materialize`). Nothing is copied or
   * swapped for them until a holder writes one: `#settle` finds the pages
   * that got data since, which become per-page entries of the holder that
   * ran. A fork of a process with an 8 MiB stack and a 32 MiB heap
   * reservation thus tracks the few pages it touched, not 10,000.
   */
  readonly #zeros: ZeroRun[] = [];
  /** The holder whose task has run since the last `activate` (its writes land in RAM). */
  #active: Holder | null = null;
  /** The pages whose bytes of a holder wait outside RAM: what `activate` swaps in, without visiting the resident ones. */
  readonly #away = new Map<Holder, Set<number>>();
  /** Pages copied in or out so far (for benchmarks and /proc). */
  swaps = 0;

  constructor(
    private readonly ram: Uint8Array,
    private readonly base: number,
    /** Tells the CPU that the bytes of a page changed under it (its translated code is stale). */
    private readonly changed: (addr: number, len: number) => void,
    /** A holder's bytes became the bytes of these pages (ascending) in RAM: the CPU must now enforce that holder's protection there. */
    private readonly resident: (holder: Holder, pages: readonly number[]) => void,
    /** The backend's CpuBackend.dataExtents (byte addresses), or null: then every page may hold data and fork copies it. */
    private readonly dataExtents: ((addr: number, len: number) => number[]) | null = null,
    /**
     * Zeroes RAM and gives its host memory back (CpuBackend.zero): a page
     * whose last holder's bytes are zeros becomes a hole again, which the
     * next fork shares as a zero run instead of copying it page by page.
     */
    private readonly zero: ((addr: number, len: number) => void) | null = null,
  ) {}

  /** Shared pages and runs of zero pages: 0 when no address spaces share anything. */
  get size(): number {
    return this.#pages.size + this.#zeros.length;
  }

  has(page: number): boolean {
    return this.#pages.has(page) || this.#runAt(page) !== null;
  }

  holders(page: number): number {
    const p = this.#pages.get(page);
    if (p) return p.saved.size + (p.resident ? 1 : 0);
    return this.#runAt(page)?.holders.length ?? 0;
  }

  /** Index of the first run ending after `page`. */
  #runIndex(page: number): number {
    const z = this.#zeros;
    let lo = 0;
    let hi = z.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (z[mid]!.end <= page) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  #runAt(page: number): ZeroRun | null {
    const r = this.#zeros[this.#runIndex(page)];
    return r && r.first <= page ? r : null;
  }

  /** Splits runs so that none crosses `page` (a run boundary falls there). */
  #cut(page: number): void {
    const i = this.#runIndex(page);
    const r = this.#zeros[i];
    if (!r || r.first >= page) return;
    this.#zeros.splice(i, 1, { first: r.first, end: page, holders: r.holders }, { first: page, end: r.end, holders: [...r.holders] });
  }

  /** The runs inside [first, end), after cutting at both ends. */
  #runsIn(first: number, end: number): ZeroRun[] {
    this.#cut(first);
    this.#cut(end);
    const out: ZeroRun[] = [];
    for (let i = this.#runIndex(first); i < this.#zeros.length && this.#zeros[i]!.first < end; i++) out.push(this.#zeros[i]!);
    return out;
  }

  #dropRun(r: ZeroRun): void {
    this.#zeros.splice(this.#zeros.indexOf(r), 1);
  }

  /**
   * Pages of zero runs in [first, end) become per-page entries: the active
   * holder's bytes resident (if it holds them), every other holder's saved
   * as zeros.
   */
  #toPages(first: number, end: number): void {
    for (const r of this.#runsIn(first, end)) {
      this.#dropRun(r);
      const resident = this.#active !== null && r.holders.includes(this.#active) ? this.#active : null;
      for (let page = r.first; page < r.end; page++) {
        const p: SharedPage = { resident, saved: new Map(), wasHole: true };
        this.#pages.set(page, p);
        for (const h of r.holders) if (h !== resident) this.#save(p, page, h, null);
      }
    }
  }

  /**
   * Pages of zero runs that got data since the last look were written by the
   * active holder (or hold zeros a prefault put there): they become its own,
   * per page.
   */
  settle(): void {
    if (this.#zeros.length === 0) return;
    const found = this.#zeros.flatMap((r) => this.#dataPages(r.first, r.end));
    for (let i = 0; i < found.length; i += 2) this.#toPages(found[i]!, found[i + 1]!);
  }

  /**
   * One holder is about to give [firstPage, firstPage+count) a protection of
   * its own (mprotect, mmap MAP_FIXED): zero runs there become per-page
   * entries, whose protection follows the resident holder.
   */
  materialize(firstPage: number, count: number): void {
    if (this.#zeros.length === 0) return;
    this.settle();
    this.#toPages(firstPage, firstPage + count);
  }

  /** The runs of pages [first, end) that may hold data, as [first, end, ...] page numbers (without dataExtents: all of it). */
  #dataPages(first: number, end: number): number[] {
    if (this.dataExtents === null) return [first, end];
    return this.dataExtents(first * PAGE_SIZE, (end - first) * PAGE_SIZE).map((a, i) => (i % 2 === 0 ? Math.floor(a / PAGE_SIZE) : Math.ceil(a / PAGE_SIZE)));
  }

  #bytes(page: number): Uint8Array {
    const off = page * PAGE_SIZE - this.base;
    return this.ram.subarray(off, off + PAGE_SIZE);
  }

  /** The pages whose bytes of `holder` wait outside RAM (created empty). */
  #awayOf(holder: Holder): Set<number> {
    let s = this.#away.get(holder);
    if (!s) {
      s = new Set();
      this.#away.set(holder, s);
    }
    return s;
  }

  /** Keeps `holder`'s bytes of `page` out of RAM. */
  #save(p: SharedPage, page: number, holder: Holder, bytes: Uint8Array | null): void {
    p.saved.set(holder, bytes);
    this.#awayOf(holder).add(page);
  }

  /** Forgets `holder`'s saved bytes of `page`; returns them. */
  #unsave(p: SharedPage, page: number, holder: Holder): Uint8Array | null {
    const bytes = p.saved.get(holder) ?? null;
    p.saved.delete(holder);
    forget(this.#away, holder, page);
    return bytes;
  }

  /**
   * `to` gets a private copy of `from`'s bytes for each page (fork; `from`
   * is the holder that runs). Pages that are holes join a zero run instead.
   */
  duplicate(from: Holder, to: Holder, firstPage: number, count: number): void {
    this.settle();
    this.#active = from;
    const end = firstPage + count;
    for (const r of this.#runsIn(firstPage, end)) if (r.holders.includes(from)) r.holders.push(to);
    const data = new Uint8Array(count);
    const found = this.#dataPages(firstPage, end);
    for (let i = 0; i < found.length; i += 2) data.fill(1, found[i]! - firstPage, found[i + 1]! - firstPage);
    const hole = (page: number): boolean => data[page - firstPage] === 0 && !this.#pages.has(page);
    for (let page = firstPage; page < end; ) {
      // Runs `to` joined above stay runs (a page of one holding data has a prefault's zeros, put there after the settle).
      const run = this.#runAt(page);
      if (run) {
        page = run.end;
        continue;
      }
      if (hole(page)) {
        let stop = page + 1;
        while (stop < end && hole(stop) && this.#runAt(stop) === null) stop++;
        this.#zeros.splice(this.#runIndex(page), 0, { first: page, end: stop, holders: [from, to] });
        page = stop;
        continue;
      }
      let p = this.#pages.get(page);
      if (!p) {
        p = { resident: from, saved: new Map() };
        this.#pages.set(page, p);
      }
      const src = p.resident === from ? snapshot(this.#bytes(page)) : (p.saved.get(from) ?? null);
      this.#save(p, page, to, src === null ? null : src.slice());
      page++;
    }
  }

  /**
   * `holder` takes pages that `others` hold, with fresh zeroed bytes of its
   * own, resident now (an ET_EXEC image loaded over another process's).
   */
  claim(holder: Holder, others: Holder, firstPage: number, count: number): void {
    this.materialize(firstPage, count);
    for (let page = firstPage; page < firstPage + count; page++) {
      let p = this.#pages.get(page);
      if (!p) {
        p = { resident: others, saved: new Map() };
        this.#pages.set(page, p);
      }
      this.#evict(page, p);
      this.#bytes(page).fill(0);
      p.resident = holder;
    }
  }

  /** While batching (see `batch`), pages that became resident, by holder. */
  #pending: Map<Holder, number[]> | null = null;
  /** Pages to zero as holes at the end of the batch (see `zero`). */
  #holes: number[] = [];
  /** Pages whose bytes changed in the batch, for the CPU's translated code (see #codeChanged). */
  #stale: number[] = [];

  #flushStale(): void {
    const pages = this.#stale.sort((a, b) => a - b);
    this.#stale = [];
    for (let i = 0; i < pages.length; ) {
      let j = i + 1;
      while (j < pages.length && pages[j]! <= pages[j - 1]! + 1) j++;
      this.changed(pages[i]! * PAGE_SIZE, (pages[j - 1]! + 1 - pages[i]!) * PAGE_SIZE);
      i = j;
    }
  }

  /** Runs `fn` and reports the pages it made resident once per holder, in runs, at the end. */
  batch<T>(fn: () => T): T {
    if (this.#pending) return fn();
    this.#pending = new Map();
    try {
      return fn();
    } finally {
      const pending = this.#pending;
      this.#pending = null;
      this.#punch();
      this.#flushStale();
      for (const [holder, pages] of pending) this.resident(holder, pages.sort((a, b) => a - b));
    }
  }

  #hole(page: number): void {
    this.#holes.push(page);
    if (!this.#pending) this.#punch();
  }

  /**
   * Zeroes the pages queued as holes, a backend call per run of 64 KiB or
   * more; shorter runs (an exec'd image over its parent's pages) are zeroed
   * in place, which costs less than giving them back and faulting them in again.
   */
  #punch(): void {
    const pages = this.#holes.sort((a, b) => a - b);
    this.#holes = [];
    for (let i = 0; i < pages.length; ) {
      let j = i + 1;
      while (j < pages.length && pages[j] === pages[j - 1]! + 1) j++;
      if (j - i >= HOLE_MIN_PAGES) {
        this.zero!(pages[i]! * PAGE_SIZE, (j - i) * PAGE_SIZE);
        this.changed(pages[i]! * PAGE_SIZE, (j - i) * PAGE_SIZE);
      } else {
        for (let k = i; k < j; k++) this.#restore(pages[k]!, null);
      }
      i = j;
    }
  }

  #madeResident(holder: Holder, pages: number[]): void {
    if (pages.length === 0) return;
    if (!this.#pending) {
      this.resident(holder, pages.sort((a, b) => a - b));
      return;
    }
    const list = this.#pending.get(holder);
    if (list) list.push(...pages);
    else this.#pending.set(holder, pages);
  }

  /** Puts `holder`'s bytes in RAM for every page it shares. */
  activate(holder: Holder): void {
    this.batch(() => this.#activate(holder));
  }

  #activate(holder: Holder): void {
    if (holder !== this.#active) {
      this.settle();
      this.#active = holder;
    }
    const away = this.#away.get(holder);
    if (!away || away.size === 0) return;
    const moved: number[] = [];
    for (const page of [...away]) {
      const p = this.#pages.get(page)!;
      this.#evict(page, p);
      this.#restore(page, this.#unsave(p, page, holder));
      p.resident = holder;
      moved.push(page);
      this.swaps++;
    }
    // One protection change per run of pages, not per page: each costs the Unicorn backend a remap.
    this.#madeResident(holder, moved);
  }

  /**
   * Puts a holder's saved bytes (null: zeros) in RAM. Text and untouched data
   * are the same in every holder: equal bytes are left alone, which keeps the
   * CPU's translated code.
   */
  #restore(page: number, saved: Uint8Array | null): void {
    const ram = this.#bytes(page);
    if (Buffer.compare(ram, saved ?? ZERO_PAGE) === 0) return;
    if (saved === null) ram.fill(0);
    else ram.set(saved);
    this.#codeChanged(page);
  }

  /**
   * The bytes of `page` changed under the CPU: inside a batch the CPU is told
   * once per run of pages at its end (each call can cost the Unicorn backend
   * a remap: an exec'd busybox over its static parent's pages, ~300 of them,
   * took ~230 ms per exec told page by page).
   */
  #codeChanged(page: number): void {
    if (this.#pending) this.#stale.push(page);
    else this.changed(page * PAGE_SIZE, PAGE_SIZE);
  }

  /** Saves the resident holder's bytes out of RAM. */
  #evict(page: number, p: SharedPage): void {
    if (p.resident === null) return;
    this.#save(p, page, p.resident, snapshot(this.#bytes(page)));
    p.resident = null;
    this.swaps++;
  }

  /**
   * `holder` lets go of the pages of the zero run at `page`, up to `limit`
   * (call `settle` first). Null when `page` is in no zero run; else where
   * the run ends and whether nobody holds its pages any more (the caller
   * frees the RAM). With one holder left they become its ordinary pages
   * (zeros, with the protection every holder had).
   */
  releaseRun(holder: Holder, page: number, limit: number): { end: number; gone: boolean } | null {
    const found = this.#runAt(page);
    if (!found) return null;
    const end = Math.min(found.end, limit);
    const r = this.#runsIn(page, end)[0]!;
    const i = r.holders.indexOf(holder);
    if (i >= 0) r.holders.splice(i, 1);
    if (r.holders.length <= 1) this.#dropRun(r);
    return { end, gone: r.holders.length === 0 };
  }

  /**
   * `holder` lets go of a page. Returns true when nobody else holds it (the
   * caller frees the RAM); else the page stays, and if one holder is left it
   * becomes an ordinary page of that holder again.
   */
  release(holder: Holder, page: number): boolean {
    const p = this.#pages.get(page);
    if (!p) return true;
    if (p.resident === holder) {
      p.resident = null;
    } else {
      this.#unsave(p, page, holder);
    }
    const left = [...p.saved.keys()];
    if (p.resident === null && left.length === 0) {
      this.#pages.delete(page);
      return true;
    }
    if (left.length + (p.resident ? 1 : 0) === 1) {
      const last = p.resident ?? left[0]!;
      // A page of a zero run the one left still holds as zeros (the other side wrote it: a stack or heap
      // page, a syscall's buffer) becomes a hole again, not resident zeros that every later fork would copy.
      const hole = p.wasHole === true && this.zero !== null;
      if (p.resident === null) {
        const saved = this.#unsave(p, page, last);
        if (saved === null && hole) this.#hole(page);
        else this.#restore(page, saved);
      } else if (hole && Buffer.compare(this.#bytes(page), ZERO_PAGE) === 0) {
        this.#hole(page);
      }
      this.#madeResident(last, [page]);
      this.#pages.delete(page);
    }
    return false;
  }
}

/** Pages [first, end) that read as zeros for each of `holders`. */
interface ZeroRun {
  first: number;
  end: number;
  holders: Holder[];
}

const ZERO_PAGE = Buffer.alloc(PAGE_SIZE);
/** The shortest run of pages given back to the host as a hole (see #punch). */
const HOLE_MIN_PAGES = 16;

/** Drops `page` from `holder`'s set in `index`, and the set once empty (a holder that left). */
function forget(index: Map<Holder, Set<number>>, holder: Holder, page: number): void {
  const pages = index.get(holder);
  if (!pages) return;
  pages.delete(page);
  if (pages.size === 0) index.delete(holder);
}

/** A copy of a page, or null when it is all zeros (most of a stack or a heap). */
function snapshot(bytes: Uint8Array): Uint8Array | null {
  return Buffer.compare(bytes, ZERO_PAGE) === 0 ? null : bytes.slice();
}
