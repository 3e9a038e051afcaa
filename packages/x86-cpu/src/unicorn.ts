import { createRequire } from 'node:module';
import {
  CPU_BACKEND_INTERFACE_VERSION,
  FXSAVE_SIZE,
  Reg,
  REG_COUNT,
  StopReason,
  type CpuBackend,
  type CpuFeatures,
  type FaultAccess,
  type StopInfo,
} from './backend.js';
import { buildOutput } from './build-path.js';
import { CpuBackendError } from './errors.js';
import { cleanUpProbe, describeFeatures, executeCpuid } from './features.js';

interface Addon {
  UnicornBackend: new (ramBase: number, ramSize: number, stopInfo: BigUint64Array) => NativeBackend;
  unicornVersion(): string;
}
interface NativeBackend {
  readonly ram: ArrayBuffer;
  setKernelEntry(vsyscall: number, trap: number): void;
  run(sliceMicros: number): number;
  getReg(id: number): bigint;
  setReg(id: number, v: bigint): void;
  getRegs(out: BigUint64Array): void;
  setRegs(v: BigUint64Array): void;
  getFpState(out: Uint8Array): void;
  setFpState(v: Uint8Array): void;
  protect(addr: number, len: number, prot: number): boolean;
  invalidateCode(addr: number, len: number): void;
  zero(addr: number, len: number): void;
  dataExtents(addr: number, len: number): number[];
  residentBytes(): number;
  readTsc(): bigint;
  setCpuid(entries: Uint32Array): void;
  dispose(): void;
}

let addon: Addon | undefined;

/** Loads the addon on first use, so importing this package never needs it. */
function loadAddon(): Addon {
  if (addon) return addon;
  const require = createRequire(import.meta.url);
  try {
    addon = require(buildOutput('nommu_unicorn.node')) as Addon;
  } catch (cause) {
    throw new CpuBackendError(
      'NOMMU_ADDON_MISSING',
      'the Unicorn backend addon is not built: run scripts/setup.sh (needs libunicorn-dev)',
      { cause },
    );
  }
  return addon;
}

/** Version of the libunicorn the addon is linked against. */
export function unicornVersion(): string {
  return loadAddon().unicornVersion();
}

export interface UnicornBackendOptions {
  /** Guest address of the first RAM byte (page-aligned). Below it nothing is mapped. */
  ramBase?: number;
  /** RAM size in bytes (page-aligned). */
  ramSize: number;
}

const SI_ADDRESS = 1;
const SI_DETAIL = 2;
const SI_RIP = 3;

class UnicornBackend implements CpuBackend {
  readonly name = 'unicorn';
  readonly interfaceVersion = CPU_BACKEND_INTERFACE_VERSION;
  /** The watchdog's deadline is set at each run(). */
  readonly slicePerRun = true;
  readonly ramBase: number;
  readonly ramSize: number;
  readonly ram: Uint8Array;
  readonly features: CpuFeatures;
  readonly fpStateSize = FXSAVE_SIZE;
  readonly #native: NativeBackend;
  readonly #stopInfo = new BigUint64Array(4);
  #lastReason: StopReason = StopReason.Halt;

  constructor(opts: UnicornBackendOptions) {
    const ramBase = opts.ramBase ?? 0x10000;
    const Native = loadAddon().UnicornBackend;
    try {
      this.#native = new Native(ramBase, opts.ramSize, this.#stopInfo);
    } catch (cause) {
      throw new CpuBackendError('NOMMU_BACKEND_INIT', `cannot create the Unicorn engine: ${String(cause)}`, { cause });
    }
    this.ramBase = ramBase;
    this.ramSize = opts.ramSize;
    this.ram = new Uint8Array(this.#native.ram);
    try {
      this.#completeCpuid();
      this.features = describeFeatures((leaf, sub = 0) => executeCpuid(this, leaf, sub));
    } finally {
      cleanUpProbe(this);
    }
  }

  /**
   * Unicorn 2.0.1's CPUID leaves out features its translator does execute
   * (x87, TSC, MMX, SSE3, SYSCALL: each measured), and glibc's loader refuses
   * to start on a CPU below the x86-64 baseline. Answer CPUID with them added;
   * never with anything it cannot run (POPCNT, MOVBE, PCLMULQDQ, XSAVE, AVX).
   */
  #completeCpuid(): void {
    const leaf1 = executeCpuid(this, 1);
    const ext1 = executeCpuid(this, 0x80000001);
    const FPU = 1 << 0, TSC = 1 << 4, MMX = 1 << 23, PNI = 1 << 0, SYSCALL = 1 << 11;
    this.#native.setCpuid(
      new Uint32Array([
        1, 0xffffffff, leaf1[0], leaf1[1], (leaf1[2] | PNI) >>> 0, (leaf1[3] | FPU | TSC | MMX) >>> 0,
        0x80000001, 0xffffffff, ext1[0], ext1[1], ext1[2], (ext1[3] | SYSCALL) >>> 0,
      ]),
    );
  }

  setKernelEntry(vsyscall: number, trap: number): void {
    this.#native.setKernelEntry(vsyscall, trap);
  }

  run(sliceMicros: number): StopReason {
    const r = this.#native.run(sliceMicros) as StopReason;
    this.#lastReason = r;
    return r;
  }

  lastStop(): StopInfo {
    const si = this.#stopInfo;
    const detail = Number(si[SI_DETAIL]);
    const fault = this.#lastReason === StopReason.Fault;
    return {
      reason: this.#lastReason,
      rip: si[SI_RIP]!,
      address: fault ? si[SI_ADDRESS]! : 0n,
      access: fault ? ((detail & 0xff) as FaultAccess) : 0,
      protection: fault && (detail & 0x100) !== 0,
      vector: this.#lastReason === StopReason.Exception ? detail : 0,
    };
  }

  getReg(reg: Reg): bigint { return this.#native.getReg(reg); }
  setReg(reg: Reg, value: bigint): void { this.#native.setReg(reg, BigInt.asUintN(64, value)); }
  getRegs(out: BigUint64Array): void { checkLen(out.length, REG_COUNT, 'getRegs'); this.#native.getRegs(out); }
  setRegs(values: BigUint64Array): void { checkLen(values.length, REG_COUNT, 'setRegs'); this.#native.setRegs(values); }
  getFpState(out: Uint8Array): void { checkLen(out.length, FXSAVE_SIZE, 'getFpState'); this.#native.getFpState(out); }
  setFpState(state: Uint8Array): void { checkLen(state.length, FXSAVE_SIZE, 'setFpState'); this.#native.setFpState(state); }
  protect(addr: number, len: number, prot: number): boolean { return this.#native.protect(addr, len, prot); }
  invalidateCode(addr: number, len: number): void { this.#native.invalidateCode(addr, len); }
  zero(addr: number, len: number): void { this.#native.zero(addr, len); }
  /** Pages present or swapped out (/proc/self/pagemap): fork's copies skip the others. */
  dataExtents(addr: number, len: number): number[] { return this.#native.dataExtents(addr, len); }
  residentBytes(): number { return this.#native.residentBytes(); }
  readTsc(): bigint { return this.#native.readTsc(); }
  dispose(): void { this.#native.dispose(); }
}

function checkLen(got: number, want: number, what: string): void {
  if (got < want) throw new CpuBackendError('NOMMU_BAD_ARGUMENT', `${what}: buffer of ${got}, need ${want}`);
}

/** Creates a Unicorn backend owning `ramSize` bytes of guest RAM. */
export function createUnicornBackend(opts: UnicornBackendOptions): CpuBackend {
  return new UnicornBackend(opts);
}
