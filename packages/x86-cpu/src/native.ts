import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import {
  CPU_BACKEND_INTERFACE_VERSION,
  FXSAVE_SIZE,
  REG_COUNT,
  Reg,
  StopReason,
  type CpuBackend,
  type CpuFeatures,
  type FaultAccess,
  type FileOffload,
  type MemoryOffload,
  type StopInfo,
} from './backend.js';
import { buildOutput } from './build-path.js';
import { CpuBackendError } from './errors.js';
import { cleanUpProbe, describeFeatures, executeCpuid } from './features.js';

type Handle = object;
interface Opened {
  handle: Handle;
  pid: number;
  ram: ArrayBuffer;
  state: ArrayBuffer;
  xsaveSize: number;
  xsaveMask: number;
  mxcsrMask: number;
  offload: ArrayBuffer;
  offloadTable: number;
  offloadSlots: number;
  offloadMm: number;
}
interface Addon {
  open(runnerPath: string, ramBase: number, ramSize: number, flags: number): Opened;
  close(h: Handle): void;
  run(h: Handle, sliceMicros: number): number;
  setKernelEntry(h: Handle, vsyscall: number, trap: number): void;
  protect(h: Handle, addr: number, len: number, prot: number): boolean;
  prefault(h: Handle, addr: number, len: number): void;
  zero(h: Handle, addr: number, len: number): void;
  readFile(h: Handle, hostFd: number, pos: number, addr: number, len: number): number;
  dataExtents(h: Handle, addr: number, len: number): number[];
  residentBytes(h: Handle): number;
  readTsc(): bigint;
  attachOffload(h: Handle, slot: number, hostFd: number): boolean;
  detachOffload(h: Handle, slot: number): void;
}

/** Layout of the addon's guest-state block (GuestState in native/native_backend.c). */
const STATE_STOP = 160;
const STATE_XSAVE = 256;
const XSAVE_HEADER = 512;

let addon: Addon | null | undefined;
let loadError = '';
const RUNNER = buildOutput('nommu-native-runner');

function loadAddon(): Addon | null {
  if (addon !== undefined) return addon;
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    loadError = `the native backend needs Linux on x86-64 (this is ${process.platform}/${process.arch})`;
    return (addon = null);
  }
  try {
    addon = createRequire(import.meta.url)(buildOutput('nommu_native.node')) as Addon;
    if (!existsSync(RUNNER)) throw new Error(`${RUNNER} is missing`);
  } catch (cause) {
    loadError = `the native backend addon is not built: run scripts/setup.sh (${String(cause)})`;
    addon = null;
  }
  return addon;
}

/** Why the native backend cannot run here, or null when it can be tried. */
export function nativeBackendUnavailable(): string | null {
  return loadAddon() ? null : loadError;
}

export interface NativeBackendOptions {
  /** Guest address of the first RAM byte (mapped there in the runner process). */
  ramBase?: number;
  ramSize: number;
  /**
   * Rewrite syscall sites whose bytes allow it (see the README), the first
   * time each traps, into a jump to a stub that calls __kernel_vsyscall
   * directly: later runs skip the SIGSYS. The guest sees the jump if it reads
   * its own code. Default true.
   */
  rewriteSyscalls?: boolean;
  /**
   * Lower by 10 nice levels the scheduling priority of the threads this
   * process has besides the calling one (V8's compiler and GC helpers,
   * libuv's pool). The hand-over with the runner spins on two cores; on a
   * machine with few cores those threads otherwise preempt a spinning side
   * (measured on 2 cores: a run's first 8,000 syscalls 5-7 us each instead
   * of 12-24 us). Not undone (raising a priority again needs privileges):
   * for a process that exists to run the guest, such as the CLI. Default false.
   */
  deprioritizeHostThreads?: boolean;
}

/** OFFLOAD_FDS and OFFLOAD_SLOTS (native_abi.h). */
const OFFLOAD_FDS = 64;
const OFFLOAD_SLOTS = 256;

/**
 * The runner answers the listed descriptors' calls itself (offload_call in
 * runner.c): a read of a host file then costs the host call plus ~0.6 us,
 * instead of a hand-over to Node and back. The table and the slots are shared
 * memory written directly; a slot's runner descriptor is passed over a socket.
 */
class NativeOffload implements FileOffload {
  readonly fds = OFFLOAD_FDS;
  readonly #addon: Addon;
  readonly #h: Handle;
  readonly #on: Uint32Array;
  readonly #table: Int32Array;
  /** Per slot: [pos (float64), mode (uint32), pad]. */
  readonly #pos: Float64Array;
  readonly #mode: Uint32Array;
  readonly #free: number[] = [];

  constructor(a: Addon, h: Handle, opened: Opened) {
    this.#addon = a;
    this.#h = h;
    this.#on = new Uint32Array(opened.offload, 0, 1);
    this.#table = new Int32Array(opened.offload, opened.offloadTable, OFFLOAD_FDS);
    this.#pos = new Float64Array(opened.offload, opened.offloadSlots, OFFLOAD_SLOTS * 2);
    this.#mode = new Uint32Array(opened.offload, opened.offloadSlots, OFFLOAD_SLOTS * 4);
    for (let s = OFFLOAD_SLOTS - 1; s >= 0; s--) this.#free.push(s);
  }
  get enabled(): boolean {
    return this.#on[0] !== 0;
  }
  set enabled(on: boolean) {
    this.#on[0] = on ? 1 : 0;
  }
  attach(hostFd: number): number {
    const slot = this.#free.pop();
    if (slot === undefined) return -1;
    this.#mode[slot * 4 + 2] = 0;
    this.#pos[slot * 2] = 0;
    if (this.#addon.attachOffload(this.#h, slot, hostFd)) return slot;
    this.#free.push(slot);
    return -1;
  }
  detach(slot: number): void {
    for (let fd = 0; fd < OFFLOAD_FDS; fd++) if (this.#table[fd] === slot) this.#table[fd] = -1;
    this.#addon.detachOffload(this.#h, slot);
    this.#free.push(slot);
  }
  setMode(slot: number, mode: number): void {
    this.#mode[slot * 4 + 2] = mode;
  }
  getPos(slot: number): number {
    return this.#pos[slot * 2]!;
  }
  setPos(slot: number, pos: number): void {
    this.#pos[slot * 2] = pos;
  }
  setEntry(fd: number, slot: number): void {
    this.#table[fd] = slot;
  }
}

/** MmOffload's flags (native_abi.h). */
const MM_BRK = 1;
const MM_BRK_SHRINK = 2;
const MM_GROW = 4;
const MM_GROW_PREFAULT = 8;

/**
 * The runner answers brk and in-place mremap growth itself (mm_call in
 * runner.c): shared memory written directly, MmOffload's layout.
 */
class NativeMemoryOffload implements MemoryOffload {
  /** [on, flags, ..., grow_prot at 14]. */
  readonly #u32: Uint32Array;
  /** [_, brk_start, brk, brk_limit, grow_start, grow_end, grow_limit]. */
  readonly #f64: Float64Array;

  constructor(opened: Opened) {
    this.#u32 = new Uint32Array(opened.offload, opened.offloadMm, 16);
    this.#f64 = new Float64Array(opened.offload, opened.offloadMm, 7);
  }
  get enabled(): boolean {
    return this.#u32[0] !== 0;
  }
  set enabled(on: boolean) {
    this.#u32[0] = on ? 1 : 0;
  }
  setBreak(start: number, brk: number, limit: number, shrink: boolean): void {
    const f = this.#f64;
    f[1] = start;
    f[2] = brk;
    f[3] = limit;
    this.#u32[1] = (this.#u32[1]! & ~(MM_BRK | MM_BRK_SHRINK)) | (limit > start ? MM_BRK : 0) | (shrink ? MM_BRK_SHRINK : 0);
  }
  get brk(): number {
    return this.#f64[2]!;
  }
  setGrowable(start: number, end: number, limit: number, prot: number, prefault: boolean): void {
    const f = this.#f64;
    f[4] = start;
    f[5] = end;
    f[6] = limit;
    this.#u32[14] = prot;
    this.#u32[1] = (this.#u32[1]! & ~(MM_GROW | MM_GROW_PREFAULT)) | (limit > end ? MM_GROW : 0) | (prefault ? MM_GROW_PREFAULT : 0);
  }
  get growEnd(): number {
    return this.#f64[5]!;
  }
}

/** Runner flags (native_abi.h). */
const RUNNER_REWRITE_SYSCALLS = 1;
/** An addon-side open() flag (native_abi.h); the runner ignores it. */
const OPEN_DEPRIORITIZE_HOST_THREADS = 2;

/**
 * Guest code on the real CPU at native speed, in a companion process
 * (nommu-native-runner) that maps guest RAM at the guest's addresses; Node
 * shares that RAM and keeps the kernel. Guest code is not sandboxed from the
 * host: it runs with the runner's rights (a syscall it makes is trapped, but
 * this is not a security boundary). Use the Unicorn backend for isolation.
 */
class NativeBackend implements CpuBackend {
  readonly name = 'native';
  readonly interfaceVersion = CPU_BACKEND_INTERFACE_VERSION;
  readonly ramBase: number;
  readonly ramSize: number;
  readonly ram: Uint8Array;
  readonly features: CpuFeatures;
  readonly fpStateSize: number;
  readonly #addon: Addon;
  readonly #h: Handle;
  /** The runner process, for diagnostics. */
  readonly runnerPid: number;
  readonly offload: FileOffload;
  readonly memoryOffload: MemoryOffload;
  readonly #regs: BigUint64Array;
  readonly #stop: BigUint64Array;
  readonly #xsave: Uint8Array;
  readonly #xsaveMask: number;
  readonly #mxcsrMask: number;
  #disposed = false;

  constructor(a: Addon, opts: NativeBackendOptions) {
    this.#addon = a;
    const ramBase = opts.ramBase ?? 0x10000;
    let opened: Opened;
    try {
      const flags = (opts.rewriteSyscalls === false ? 0 : RUNNER_REWRITE_SYSCALLS) | (opts.deprioritizeHostThreads === true ? OPEN_DEPRIORITIZE_HOST_THREADS : 0);
      opened = a.open(RUNNER, ramBase, opts.ramSize, flags);
    } catch (cause) {
      const code = (cause as { code?: string }).code ?? 'NOMMU_BACKEND_INIT';
      throw new CpuBackendError(code, `native backend: ${(cause as Error).message}`, { cause });
    }
    this.#h = opened.handle;
    this.runnerPid = opened.pid;
    this.offload = new NativeOffload(a, opened.handle, opened);
    this.memoryOffload = new NativeMemoryOffload(opened);
    this.ramBase = ramBase;
    this.ramSize = opts.ramSize;
    this.ram = new Uint8Array(opened.ram);
    this.#regs = new BigUint64Array(opened.state, 0, REG_COUNT);
    this.#stop = new BigUint64Array(opened.state, STATE_STOP, 4);
    this.#xsave = new Uint8Array(opened.state, STATE_XSAVE, opened.xsaveSize);
    this.#xsaveMask = opened.xsaveMask;
    this.#mxcsrMask = opened.mxcsrMask;
    this.fpStateSize = opened.xsaveSize;
    try {
      const f = describeFeatures((leaf, sub = 0) => executeCpuid(this, leaf, sub));
      // AT_HWCAP2 bit 1: the host kernel lets user code use rd/wrfsbase (checked at open).
      this.features = { ...f, hwcap2: f.hwcap2 | 2 };
    } catch (e) {
      this.dispose();
      throw e;
    } finally {
      if (!this.#disposed) cleanUpProbe(this);
    }
  }

  setKernelEntry(vsyscall: number, trap: number): void {
    this.#addon.setKernelEntry(this.#h, vsyscall, trap);
  }

  run(sliceMicros: number): StopReason {
    try {
      return this.#addon.run(this.#h, sliceMicros) as StopReason;
    } catch (cause) {
      throw new CpuBackendError((cause as { code?: string }).code ?? 'NOMMU_BACKEND_DIED', `native backend: ${(cause as Error).message}`, { cause });
    }
  }

  lastStop(): StopInfo {
    const s = this.#stop;
    const reason = Number(s[0]) as StopReason;
    const detail = Number(s[2]);
    const fault = reason === StopReason.Fault;
    return {
      reason,
      rip: s[3]!,
      address: fault ? s[1]! : 0n,
      access: fault ? ((detail & 0xff) as FaultAccess) : 0,
      protection: fault && (detail & 0x100) !== 0,
      vector: reason === StopReason.Exception ? detail : 0,
    };
  }

  getReg(reg: Reg): bigint {
    return this.#regs[reg]!;
  }
  setReg(reg: Reg, value: bigint): void {
    this.#regs[reg] = BigInt.asUintN(64, value);
  }
  getRegs(out: BigUint64Array): void {
    checkLen(out.length, REG_COUNT, 'getRegs');
    out.set(this.#regs);
  }
  setRegs(values: BigUint64Array): void {
    checkLen(values.length, REG_COUNT, 'setRegs');
    this.#regs.set(values.subarray(0, REG_COUNT));
  }

  /** The XSAVE image (standard format; its first 512 bytes are the fxsave layout). */
  getFpState(out: Uint8Array): void {
    checkLen(out.length, FXSAVE_SIZE, 'getFpState');
    out.set(out.length >= this.fpStateSize ? this.#xsave : this.#xsave.subarray(0, FXSAVE_SIZE));
  }

  /**
   * Accepts a full image or only the fxsave part. Whatever the guest wrote
   * there, xrstor must not fault: MXCSR reserved bits and the XSAVE header are
   * made valid, as Linux's sigreturn does before restoring.
   */
  setFpState(state: Uint8Array): void {
    checkLen(state.length, FXSAVE_SIZE, 'setFpState');
    const x = this.#xsave;
    const full = state.length >= this.fpStateSize;
    x.set(full ? state.subarray(0, this.fpStateSize) : state.subarray(0, FXSAVE_SIZE));
    const mxcsr = (x[24]! | (x[25]! << 8) | (x[26]! << 16) | (x[27]! << 24)) & this.#mxcsrMask;
    x[24] = mxcsr & 0xff;
    x[25] = (mxcsr >>> 8) & 0xff;
    x[26] = (mxcsr >>> 16) & 0xff;
    x[27] = mxcsr >>> 24;
    if (this.fpStateSize > XSAVE_HEADER) {
      const bv = full ? (x[XSAVE_HEADER]! & this.#xsaveMask) | 3 : x[XSAVE_HEADER]! | 3;
      x.fill(0, XSAVE_HEADER, Math.min(this.fpStateSize, XSAVE_HEADER + 64));
      x[XSAVE_HEADER] = bv & this.#xsaveMask;
    }
  }

  /** Enforced in the runner's mapping only: the kernel's own accesses go through Node's. */
  protect(addr: number, len: number, prot: number): boolean {
    return this.#addon.protect(this.#h, addr, len, prot);
  }
  /**
   * Queued like a protection change: from its next run on, a helper thread of
   * the runner has the host allocate and map the pages (MADV_POPULATE_WRITE),
   * from the end backwards while the guest faults in the front pages, instead
   * of a page fault per page on first touch (~2-4 us each here, as guest RAM
   * is shared memory).
   */
  prefault(addr: number, len: number): void {
    this.#addon.prefault(this.#h, addr, len);
  }
  /** sendfile into the RAM memfd: the host kernel copies page by page, with no fault in Node's mapping and no zeroing first. */
  readFile(hostFd: number, pos: number, addr: number, len: number): number {
    return this.#addon.readFile(this.#h, hostFd, pos, addr, len);
  }
  /** The real CPU keeps its instruction cache coherent with stores. */
  invalidateCode(_addr: number, _len: number): void {}
  zero(addr: number, len: number): void {
    this.#addon.zero(this.#h, addr, len);
  }
  /** From the RAM memfd's holes (SEEK_DATA/SEEK_HOLE): fork's copies skip them. */
  dataExtents(addr: number, len: number): number[] {
    return this.#addon.dataExtents(this.#h, addr, len);
  }
  residentBytes(): number {
    return this.#addon.residentBytes(this.#h);
  }
  readTsc(): bigint {
    return this.#addon.readTsc();
  }
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    this.#addon.close(this.#h);
  }
}

function checkLen(got: number, want: number, what: string): void {
  if (got < want) throw new CpuBackendError('NOMMU_BAD_ARGUMENT', `${what}: buffer of ${got}, need ${want}`);
}

/** Creates the native backend, or throws CpuBackendError saying why this host cannot run it. */
export function createNativeBackend(opts: NativeBackendOptions): CpuBackend {
  const a = loadAddon();
  if (!a) throw new CpuBackendError('NOMMU_BACKEND_UNAVAILABLE', loadError);
  return new NativeBackend(a, opts);
}
