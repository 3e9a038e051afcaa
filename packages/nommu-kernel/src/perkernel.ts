import type { Kernel } from './kernel.js';

/**
 * State a module keeps for each kernel without a field on Kernel (a syscall
 * family's namespace, a notifier): made at its first use, gone with the
 * kernel.
 */
export class PerKernel<T> {
  readonly #map = new WeakMap<Kernel, T>();
  constructor(private readonly make: (k: Kernel) => T) {}

  /** The kernel's state, made now if it has none yet. */
  of(k: Kernel): T {
    let v = this.#map.get(k);
    if (v === undefined) this.#map.set(k, (v = this.make(k)));
    return v;
  }

  /** The kernel's state if it was made: a cheap test for code that has nothing to do before. */
  peek(k: Kernel): T | undefined {
    return this.#map.get(k);
  }
}
