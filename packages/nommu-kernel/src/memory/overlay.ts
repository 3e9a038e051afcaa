import { PAGE_SIZE } from './page.js';

/** Who holds a page: an address space (processes sharing one, like vfork children, share a holder). */
export type Holder = object;

interface SharedPage {
  /** Whose bytes are in RAM now (null: nobody's, e.g. the resident holder left). */
  resident: Holder | null;
  /** Bytes of each holder that is not resident; null means a page of zeros. */
  readonly saved: Map<Holder, Uint8Array | null>;
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
  readonly #byHolder = new Map<Holder, Set<number>>();
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
  ) {}

  get size(): number {
    return this.#pages.size;
  }

  has(page: number): boolean {
    return this.#pages.has(page);
  }

  holders(page: number): number {
    const p = this.#pages.get(page);
    return p ? p.saved.size + (p.resident ? 1 : 0) : 0;
  }

  #bytes(page: number): Uint8Array {
    const off = page * PAGE_SIZE - this.base;
    return this.ram.subarray(off, off + PAGE_SIZE);
  }

  #index(holder: Holder, index = this.#byHolder): Set<number> {
    let s = index.get(holder);
    if (!s) {
      s = new Set();
      index.set(holder, s);
    }
    return s;
  }

  /** Keeps `holder`'s bytes of `page` out of RAM. */
  #save(p: SharedPage, page: number, holder: Holder, bytes: Uint8Array | null): void {
    p.saved.set(holder, bytes);
    this.#index(holder, this.#away).add(page);
  }

  /** Forgets `holder`'s saved bytes of `page`; returns them. */
  #unsave(p: SharedPage, page: number, holder: Holder): Uint8Array | null {
    const bytes = p.saved.get(holder) ?? null;
    p.saved.delete(holder);
    forget(this.#away, holder, page);
    return bytes;
  }

  /** `to` gets a private copy of `from`'s bytes for each page (fork). */
  duplicate(from: Holder, to: Holder, firstPage: number, count: number): void {
    for (let page = firstPage; page < firstPage + count; page++) {
      let p = this.#pages.get(page);
      if (!p) {
        p = { resident: from, saved: new Map() };
        this.#pages.set(page, p);
        this.#index(from).add(page);
      }
      const src = p.resident === from ? snapshot(this.#bytes(page)) : (p.saved.get(from) ?? null);
      this.#save(p, page, to, src === null ? null : src.slice());
      this.#index(to).add(page);
    }
  }

  /**
   * `holder` takes pages that `others` hold, with fresh zeroed bytes of its
   * own, resident now (an ET_EXEC image loaded over another process's).
   */
  claim(holder: Holder, others: Holder, firstPage: number, count: number): void {
    for (let page = firstPage; page < firstPage + count; page++) {
      let p = this.#pages.get(page);
      if (!p) {
        p = { resident: others, saved: new Map() };
        this.#pages.set(page, p);
        this.#index(others).add(page);
      }
      this.#evict(page, p);
      this.#bytes(page).fill(0);
      p.resident = holder;
      this.#index(holder).add(page);
    }
  }

  /** While batching (see `batch`), pages that became resident, by holder. */
  #pending: Map<Holder, number[]> | null = null;

  /** Runs `fn` and reports the pages it made resident once per holder, in runs, at the end. */
  batch<T>(fn: () => T): T {
    if (this.#pending) return fn();
    this.#pending = new Map();
    try {
      return fn();
    } finally {
      const pending = this.#pending;
      this.#pending = null;
      for (const [holder, pages] of pending) this.resident(holder, pages.sort((a, b) => a - b));
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
    this.changed(page * PAGE_SIZE, PAGE_SIZE);
  }

  /** Saves the resident holder's bytes out of RAM. */
  #evict(page: number, p: SharedPage): void {
    if (p.resident === null) return;
    this.#save(p, page, p.resident, snapshot(this.#bytes(page)));
    p.resident = null;
    this.swaps++;
  }

  /**
   * `holder` lets go of a page. Returns true when nobody else holds it (the
   * caller frees the RAM); else the page stays, and if one holder is left it
   * becomes an ordinary page of that holder again.
   */
  release(holder: Holder, page: number): boolean {
    const p = this.#pages.get(page);
    if (!p) return true;
    forget(this.#byHolder, holder, page);
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
      if (p.resident === null) {
        this.#restore(page, this.#unsave(p, page, last));
      }
      this.#madeResident(last, [page]);
      this.#pages.delete(page);
      forget(this.#byHolder, last, page);
    }
    return false;
  }
}

const ZERO_PAGE = Buffer.alloc(PAGE_SIZE);

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
