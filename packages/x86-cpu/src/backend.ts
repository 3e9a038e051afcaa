/**
 * The CPU backend interface: what the nommu kernel needs from "a CPU".
 *
 * A backend owns guest RAM (one flat range, shared by the kernel and every guest
 * process), runs guest code until something needs the kernel, and reports why it
 * stopped. Bump CPU_BACKEND_INTERFACE_VERSION on any incompatible change; the
 * kernel refuses a backend whose interfaceVersion differs.
 */
export const CPU_BACKEND_INTERFACE_VERSION = 2;

/** Why run() returned. */
export const StopReason = {
  /** The guest reached the kernel trap (the vDSO's do_syscall_64). */
  KernelCall: 1,
  /** A memory access outside RAM or against a region's protection. */
  Fault: 2,
  /** An instruction the backend cannot decode or execute (SIGILL). */
  InvalidInstruction: 3,
  /** A CPU exception or software interrupt: see StopInfo.vector. */
  Exception: 4,
  /** The time slice given to run() ran out. */
  Preempted: 5,
  /** The guest executed hlt (a privileged instruction for user code). */
  Halt: 6,
} as const;
export type StopReason = (typeof StopReason)[keyof typeof StopReason];

export const FaultAccess = { Read: 1, Write: 2, Fetch: 3 } as const;
export type FaultAccess = (typeof FaultAccess)[keyof typeof FaultAccess];

/** Exception vectors a backend may report with StopReason.Exception. */
export const Vector = {
  DivideError: 0,
  Debug: 1,
  Breakpoint: 3,
  Overflow: 4,
  BoundRange: 5,
  InvalidOpcode: 6,
  GeneralProtection: 13,
} as const;

export interface StopInfo {
  reason: StopReason;
  /** rip when the guest stopped (the faulting instruction for faults). */
  rip: bigint;
  /** Faulting data address (Fault). */
  address: bigint;
  /** Fault: access kind; Exception: vector number. */
  access: FaultAccess | 0;
  /** Fault: the page was mapped but the access broke its protection. */
  protection: boolean;
  vector: number;
}

/** General registers, rip, rflags and the segment bases, in getRegs() order. */
export const Reg = {
  RAX: 0, RBX: 1, RCX: 2, RDX: 3, RSI: 4, RDI: 5, RBP: 6, RSP: 7,
  R8: 8, R9: 9, R10: 10, R11: 11, R12: 12, R13: 13, R14: 14, R15: 15,
  RIP: 16, RFLAGS: 17, FS_BASE: 18, GS_BASE: 19,
} as const;
export type Reg = (typeof Reg)[keyof typeof Reg];
export const REG_COUNT = 20;

/** Size of the x87/SSE state image in fxsave layout. */
export const FXSAVE_SIZE = 512;

export const Prot = { None: 0, Read: 1, Write: 2, Exec: 4, All: 7 } as const;

/** What the backend really executes: the kernel derives AT_HWCAP and /proc/cpuinfo from it. */
export interface CpuFeatures {
  vendor: string;
  modelName: string;
  family: number;
  model: number;
  stepping: number;
  /** CPUID.1:EDX, which Linux reports as AT_HWCAP on x86. */
  hwcap: number;
  /** AT_HWCAP2 bits (bit 1: FSGSBASE). */
  hwcap2: number;
  /** /proc/cpuinfo flag names. */
  flags: readonly string[];
}

/** What a backend may do itself with an offloaded file's calls (FileOffload.setMode). */
export const OffloadMode = {
  /** read and readv (with Positioned: also pread64). */
  Read: 1,
  /** write and writev (with Positioned: also pwrite64). */
  Write: 2,
  /** A file with an offset (a regular file): positioned host I/O at the slot's offset, which then moves. */
  Positioned: 4,
  /** A host pipe, socket or device: a write writes everything (waiting while it is full); a closed reader (EPIPE) leaves the call to the kernel. */
  Stream: 8,
} as const;

/**
 * Offloaded I/O: the guest's read, write, pread64, pwrite64, readv and writev
 * on descriptors the kernel lists are answered by the backend itself, on its
 * own reference to the host file, when every buffer is in RAM and the host
 * call succeeds; anything else still reaches the kernel, untouched. The
 * kernel lists only files whose calls it would answer with that same host
 * call, keeps the table equal to the running task's descriptors, and turns
 * offloading off while anything must see every call (a tracer, hooks).
 * Reads and writes through the kernel and through the backend share the
 * slot's offset.
 */
export interface FileOffload {
  /** Guest descriptors the table holds: 0 .. fds - 1. */
  readonly fds: number;
  /** Gives the backend its own reference to the open host descriptor; its slot, or -1 when it cannot take one. */
  attach(hostFd: number): number;
  /** Drops the backend's reference; the slot may be handed out again. */
  detach(slot: number): void;
  /** What the backend may do with the slot's calls: OffloadMode bits, 0 for nothing. */
  setMode(slot: number, mode: number): void;
  /** The offset of a Positioned slot (a backend moves it as it reads and writes). */
  getPos(slot: number): number;
  setPos(slot: number, pos: number): void;
  /** Guest descriptor fd (below `fds`) is the slot's file; -1: not offloaded. */
  setEntry(fd: number, slot: number): void;
  /** False: every call reaches the kernel, whatever the table says. */
  enabled: boolean;
}

/**
 * Memory calls a backend may answer itself, as the kernel would, without a
 * kernel call: brk inside the running process's break area, and mremap
 * growing one mapping the kernel names in place, into room the kernel found
 * free and zeroed. The kernel writes the running process's values before a
 * run and takes back what moved after it (`brk`, `growEnd`); anything else
 * (a shrinking mremap, another mapping, a break past its area) still reaches
 * the kernel. Off while anything must see every call (a tracer, hooks).
 */
export interface MemoryOffload {
  /** False: every brk and mremap reaches the kernel. */
  enabled: boolean;
  /**
   * The break area [start, limit] and the break. `shrink`: a brk below the
   * break may be answered too (it zeroes the bytes given back); false when
   * sealed pages (mseal) lie there, which only the kernel checks.
   */
  setBreak(start: number, brk: number, limit: number, shrink: boolean): void;
  /** The break now (the backend moves it as it answers brk). */
  readonly brk: number;
  /**
   * The mapping [start, end) may grow in place up to `limit` (page-aligned),
   * its new pages getting protection `prot` (enforced by the backend) and,
   * with `prefault`, backed at once (CpuBackend.prefault's rule). limit =
   * end: none may.
   */
  setGrowable(start: number, end: number, limit: number, prot: number, prefault: boolean): void;
  /** The growable mapping's end now (the backend moves it as it answers mremap). */
  readonly growEnd: number;
}

export interface CpuBackend {
  readonly name: string;
  readonly interfaceVersion: number;
  /** Guest address of ram[0]. */
  readonly ramBase: number;
  readonly ramSize: number;
  /** Zero-copy view of guest RAM: ram[addr - ramBase]. */
  readonly ram: Uint8Array;
  readonly features: CpuFeatures;
  /**
   * Bytes of FP/vector state getFpState/setFpState move: FXSAVE_SIZE (the
   * fxsave layout) or an XSAVE image in standard format whose first 512 bytes
   * are that layout (what Linux puts in a signal frame).
   */
  readonly fpStateSize: number;

  /**
   * Where guest `syscall` goes: the backend sets rcx = next rip and r11 = rflags
   * and continues at `vsyscall`; reaching `trap` stops with KernelCall.
   */
  setKernelEntry(vsyscall: number, trap: number): void;

  /** Run from the current rip; sliceMicros > 0 preempts after that long. Hot path. */
  run(sliceMicros: number): StopReason;
  /**
   * True when each run() measures its slice from the call, so the kernel may
   * pass what is left of a task's slice at no cost. Absent or false: the
   * backend keeps a periodic tick of that period (re-armed, at a cost, only
   * when the value changes), and the kernel passes one fixed value.
   */
  readonly slicePerRun?: boolean;
  /** Details of the last stop (allocates: not for the syscall path). */
  lastStop(): StopInfo;

  getReg(reg: Reg): bigint;
  setReg(reg: Reg, value: bigint): void;
  /** Read all REG_COUNT registers into `out` (Reg order). */
  getRegs(out: BigUint64Array): void;
  setRegs(values: BigUint64Array): void;
  /** FP/vector state: fpStateSize bytes (or only the fxsave part if `out` is FXSAVE_SIZE long). */
  getFpState(out: Uint8Array): void;
  setFpState(state: Uint8Array): void;

  /**
   * Guest code's rights on a page-aligned range inside RAM (prot is a Prot bit
   * set); the host's own accesses are not checked. Code translated while the
   * range was executable is dropped. Returns false when the backend could not
   * enforce it, having too many distinct protection ranges: the range (and
   * possibly memory around it) is then left more permissive than asked,
   * never less — on a CPU without an MMU, protections are advisory.
   */
  protect(addr: number, len: number, prot: number): boolean;
  /**
   * Optional hint: back a page-aligned, guest-writable range with host memory
   * now, as an MMU-less kernel does at mmap time, so that its first touches
   * by guest code cost no page fault each. Starts with the next run (a backend
   * may go on with it while guest code runs, which faults in what it touches first).
   */
  prefault?(addr: number, len: number): void;
  /**
   * Optional: the backend answers some read and write calls itself, without
   * stopping with KernelCall, on the descriptors the kernel lists (see
   * FileOffload). Absent: every call reaches the kernel.
   */
  readonly offload?: FileOffload;
  /** Optional: brk and in-place mremap growth answered by the backend itself (see MemoryOffload). Absent: every call reaches the kernel. */
  readonly memoryOffload?: MemoryOffload;
  /**
   * Optional: copies `len` bytes of host file `hostFd` from offset `pos` into
   * RAM at `addr`, as a pread into `ram` would but without faulting in the
   * pages one by one (an exec's image). Returns the bytes copied, fewer at
   * the end of the file, or -1 when the host refused (the caller reads).
   */
  readFile?(hostFd: number, pos: number, addr: number, len: number): number;
  /** Forget translated code for a range the host rewrote (a no-op for real CPUs). */
  invalidateCode(addr: number, len: number): void;
  /** Zero a range, returning whole pages to the host. */
  zero(addr: number, len: number): void;
  /**
   * Optional: the runs of [addr, addr+len) that may hold nonzero bytes, as
   * [start, end, start, end, ...] in ascending order; every other page reads
   * as zeros and occupies no host memory (never written since it was last
   * zeroed). Absent: any page may. fork uses it to leave untouched memory
   * (most of a stack or a heap reservation) uncopied.
   */
  dataExtents?(addr: number, len: number): number[];
  /** Host memory the guest RAM occupies now. */
  residentBytes(): number;
  /** The value the guest's rdtsc would read now (the vDSO clock is built on it). */
  readTsc(): bigint;

  dispose(): void;
}
