import { performance } from 'node:perf_hooks';
import type { CpuBackend } from '@nommu/x86-cpu';
import { VdsoClock } from '@nommu/um-entry';
import type { UserMemory } from './memory/user.js';

const SHIFT = 32n;
const RECALIBRATE_NS = 50_000_000n;

/** Host time now, in nanoseconds: CLOCK_MONOTONIC and CLOCK_REALTIME. */
export function monotonicNs(): bigint {
  return process.hrtime.bigint();
}
export function realtimeNs(): bigint {
  return BigInt(Math.round((performance.timeOrigin + performance.now()) * 1000)) * 1000n;
}

/**
 * The clock record in the vvar page that lets the vDSO answer
 * clock_gettime without entering the kernel: TSC ticks since a base, scaled to
 * nanoseconds. The kernel refreshes the base while it runs; guest time never
 * goes backwards across a refresh.
 */
export class VdsoClockKeeper {
  #tscBase = 0n;
  #monoBase = 0n;
  /**
   * CLOCK_REALTIME - CLOCK_MONOTONIC, taken once. Taken again at each rebase,
   * from two host reads some microseconds apart (more when Node was
   * preempted between them), it moved REALTIME against MONOTONIC: a 30 ms
   * sleep read less than 30 ms on REALTIME.
   */
  readonly #realOffset = realtimeNs() - monotonicNs();
  /** Guest CLOCK_REALTIME - host CLOCK_REALTIME: what the guest set (clock_settime, settimeofday, adjtimex, --date). */
  #guestOffset = 0n;
  /** Called after every step of the guest clock, with the step (ns). */
  readonly #onSet = new Set<(stepNs: bigint) => void>();
  #mult = 0n;
  #lastUpdate = 0n;
  #seq = 0n;
  readonly #calTsc: bigint;
  readonly #calNs: bigint;

  constructor(
    private readonly cpu: CpuBackend,
    private readonly mem: UserMemory,
    private readonly addr: number,
  ) {
    this.#calTsc = cpu.readTsc();
    this.#calNs = monotonicNs();
    // A first estimate of the tick rate from a 2 ms spin; refined at every refresh.
    let ns: bigint;
    let tsc: bigint;
    do {
      ns = monotonicNs();
      tsc = cpu.readTsc();
    } while (ns - this.#calNs < 2_000_000n);
    if (tsc <= this.#calTsc) return; // no usable TSC: the vDSO stays disabled and falls back to syscalls
    this.#mult = ((ns - this.#calNs) << SHIFT) / (tsc - this.#calTsc);
    this.#rebase(tsc, ns);
  }

  /** Called from the kernel's slow paths: keeps the vDSO's extrapolation short. */
  refresh(): void {
    if (this.#mult === 0n) return;
    const ns = monotonicNs();
    if (ns - this.#lastUpdate < RECALIBRATE_NS) return;
    const tsc = this.cpu.readTsc();
    // What the guest may have read so far was computed with the old rate.
    const guestSaw = this.#extrapolate(tsc);
    if (tsc > this.#calTsc) this.#mult = ((ns - this.#calNs) << SHIFT) / (tsc - this.#calTsc);
    this.#rebase(tsc, ns > guestSaw ? ns : guestSaw);
  }

  /** What the vDSO would answer for CLOCK_MONOTONIC at `tsc`. */
  #extrapolate(tsc: bigint): bigint {
    return this.#monoBase + (((tsc - this.#tscBase) * this.#mult) >> SHIFT);
  }

  /** New base: at TSC `tsc` the guest's CLOCK_MONOTONIC reads `mono`. */
  #rebase(tsc: bigint, mono: bigint): void {
    const now = monotonicNs();
    this.#monoBase = mono;
    this.#tscBase = tsc;
    this.#lastUpdate = now;
    const a = this.addr;
    this.mem.setU64(a + VdsoClock.TSC_BASE, tsc);
    this.mem.setU64(a + VdsoClock.MULT, this.#mult);
    this.mem.setU32(a + VdsoClock.SHIFT, Number(SHIFT));
    this.mem.setU32(a + VdsoClock.ENABLED, 1);
    this.mem.setI64(a + VdsoClock.MONO_NS, this.#monoBase);
    this.mem.setI64(a + VdsoClock.REAL_NS, mono + this.#realOffset + this.#guestOffset);
    this.mem.setI64(a + VdsoClock.BOOT_NS, this.#monoBase);
    this.mem.setU64(a + VdsoClock.SEQ, ++this.#seq);
  }

  /** Kernel-side clocks that agree with the vDSO's (the guest may compare them). */
  monotonic(): bigint {
    if (this.#mult === 0n) return monotonicNs();
    return this.#extrapolate(this.cpu.readTsc());
  }
  realtime(): bigint {
    if (this.#mult === 0n) return realtimeNs() + this.#guestOffset;
    return this.monotonic() + this.#realOffset + this.#guestOffset;
  }

  /** Guest CLOCK_REALTIME minus the host's (0 until the guest sets its clock). */
  get realtimeOffset(): bigint {
    return this.#guestOffset;
  }

  /**
   * Steps the guest's CLOCK_REALTIME (never the host's) so that it reads
   * `ns` now. The vvar record changes with it, so the vDSO's answers include
   * the step without a trap. Then whoever counts on realtime hears of it
   * (absolute timers, sleeps until a realtime deadline).
   */
  setRealtime(ns: bigint): void {
    this.stepRealtime(ns - this.realtime());
  }

  /** Moves the guest's CLOCK_REALTIME by `stepNs` (ADJ_SETOFFSET). */
  stepRealtime(stepNs: bigint): void {
    this.#guestOffset += stepNs;
    if (this.#mult !== 0n) {
      // The kernel writes the record only while no guest code runs; seq tells a preempted reader to read again.
      this.mem.setI64(this.addr + VdsoClock.REAL_NS, this.#monoBase + this.#realOffset + this.#guestOffset);
      this.mem.setU64(this.addr + VdsoClock.SEQ, ++this.#seq);
    }
    for (const f of [...this.#onSet]) f(stepNs);
  }

  /** Calls `f` after each step of the guest's realtime clock; returns the function that stops it. */
  onSet(f: (stepNs: bigint) => void): () => void {
    this.#onSet.add(f);
    return () => this.#onSet.delete(f);
  }
}
