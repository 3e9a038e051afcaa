import { randomBytes } from 'node:crypto';
import {
  CPU_BACKEND_INTERFACE_VERSION,
  Reg,
  REG_COUNT,
  StopReason,
  type CpuBackend,
  type StopInfo,
} from '@nommu/x86-cpu';
import { PtRegs, SIZEOF_PT_REGS, vdsoImage, vdsoLayout, type VdsoLayout } from '@nommu/um-entry';
import { E, Errno, errno } from './errno.js';
import { KernelError } from './errors.js';
import { FdTable, hostSink, hostSource, O_RDONLY, O_WRONLY, StreamFile, type StreamSink, type StreamSource } from './fs/file.js';
import { ProcFs } from './fs/procfs.js';
import { Vfs } from './fs/vfs.js';
import { ExecFailure } from './loader/elf.js';
import { loadProgram, type ExecEnv, type LoadedProgram } from './loader/exec.js';
import { PhysicalMemory, PAGE_SIZE } from './memory/ram.js';
import { UserMemory } from './memory/user.js';
import { SIG, signalFromStop } from './signals.js';
import { BLOCK, NORETURN, SYSCALL_REGISTRY_VERSION, SyscallArgs, type SyscallTable } from './syscalls.js';
import { initFpState, Process, RegsAt, Task, TaskState, type ExitStatus } from './task/task.js';
import { VdsoClockKeeper } from './time.js';

/** Version of the kernel's embedding API (KernelOptions, Kernel, hooks). */
export const KERNEL_API_VERSION = 1;

/** How long a task runs before the watchdog preempts it. */
const SLICE_MICROS = 10_000;
/** Longest the kernel keeps Node's event loop waiting. */
const YIELD_MS = 10;

const AX = PtRegs.AX >> 3;
const ORIG_AX = PtRegs.ORIG_AX >> 3;

export interface Identity {
  uid: number;
  gid: number;
  euid: number;
  egid: number;
}

/** Observes syscalls (strace). Absent, the syscall path pays nothing for it. */
export interface SyscallTracer {
  onEntry(task: Task, nr: number, args: SyscallArgs): void;
  onExit(task: Task, nr: number, result: bigint): void;
  /** The syscall parked the task; it will run again when the task wakes. */
  onBlock?(task: Task, nr: number): void;
  /** An unimplemented or unknown syscall answered -ENOSYS. */
  onUnimplemented?(task: Task, nr: number): void;
  onSignal?(task: Task, info: { signo: number; code: number; addr?: bigint }): void;
  onProcessExit?(process: Process, status: ExitStatus): void;
}

export interface KernelOptions {
  cpu: CpuBackend;
  syscalls: SyscallTable;
  /** Host directory that is the guest's '/'. Default '/'. */
  root?: string;
  readOnly?: boolean;
  identity?: Partial<Identity>;
  stdin?: StreamSource;
  stdout?: StreamSink;
  stderr?: StreamSink;
  /** Stack reserved for each program (bytes). */
  stackSize?: number;
  /** nommu brk area reserved at exec (bytes). */
  brkSize?: number;
  tracer?: SyscallTracer | null;
  hostname?: string;
}

export interface SpawnOptions {
  path: string;
  argv: string[];
  envp: string[];
  cwd?: string;
}

export { ExecFailure };

/**
 * The nommu kernel: one flat RAM shared by every process, one CPU, and the
 * run loop that executes guest code until it needs the kernel.
 */
export class Kernel {
  readonly cpu: CpuBackend;
  readonly syscalls: SyscallTable;
  readonly phys: PhysicalMemory;
  readonly mem: UserMemory;
  readonly vfs: Vfs;
  readonly vdso: VdsoLayout;
  readonly clock: VdsoClockKeeper;
  readonly identity: Identity;
  readonly hostname: string;
  readonly bootNs = process.hrtime.bigint();
  tracer: SyscallTracer | null;

  readonly processes = new Map<number, Process>();
  readonly tasks = new Map<number, Task>();
  #nextPid = 1;
  #current: Task | null = null;
  readonly #runQueue: Task[] = [];
  #init: Process | null = null;
  #result: ExitStatus | null = null;
  readonly #args: SyscallArgs;
  readonly #regs = new BigUint64Array(REG_COUNT);
  #wake: (() => void) | null = null;
  #hostWaiters = 0;
  readonly #stdio: { stdin: StreamSource; stdout: StreamSink; stderr: StreamSink };
  readonly #stackSize: number;
  readonly #brkSize: number;

  constructor(opts: KernelOptions) {
    const cpu = opts.cpu;
    if (cpu.interfaceVersion !== CPU_BACKEND_INTERFACE_VERSION) {
      throw new KernelError(
        'NOMMU_BACKEND_VERSION',
        `CPU backend '${cpu.name}' implements interface v${cpu.interfaceVersion}; this kernel needs v${CPU_BACKEND_INTERFACE_VERSION}`,
      );
    }
    if (opts.syscalls.version !== SYSCALL_REGISTRY_VERSION) {
      throw new KernelError(
        'NOMMU_TABLE_VERSION',
        `syscall table registry v${opts.syscalls.version}; this kernel needs v${SYSCALL_REGISTRY_VERSION}`,
      );
    }
    this.cpu = cpu;
    this.syscalls = opts.syscalls;
    this.tracer = opts.tracer ?? null;
    this.phys = new PhysicalMemory(cpu);
    this.mem = new UserMemory(cpu);
    this.vfs = new Vfs({ ...(opts.root !== undefined ? { root: opts.root } : {}), readOnly: opts.readOnly ?? false });
    this.vfs.procfs = new ProcFs(this);
    this.identity = { uid: 0, gid: 0, euid: 0, egid: 0, ...opts.identity };
    this.hostname = opts.hostname ?? 'nommu';
    this.#stackSize = opts.stackSize ?? 8 << 20;
    this.#brkSize = opts.brkSize ?? 32 << 20;
    this.#stdio = {
      stdin: opts.stdin ?? hostSource(0),
      stdout: opts.stdout ?? hostSink(1),
      stderr: opts.stderr ?? hostSink(2),
    };
    this.#args = new SyscallArgs(this.mem.words);

    // The vDSO: mapped once at the top of RAM, shared by every process.
    const image = vdsoImage();
    const size = Math.ceil(image.length / PAGE_SIZE) * PAGE_SIZE;
    const base = this.phys.alloc(size);
    if (base === null) throw new KernelError('NOMMU_NOMEM', 'no RAM for the vDSO');
    this.mem.copyOut(base, image);
    this.vdso = vdsoLayout(base);
    cpu.setKernelEntry(this.vdso.vsyscall, this.vdso.trap);
    this.clock = new VdsoClockKeeper(cpu, this.mem, this.vdso.clock);
  }

  get current(): Task | null {
    return this.#current;
  }

  // ---- processes ----

  #execEnv(self: Process | null): ExecEnv {
    return {
      self,
      cpu: this.cpu,
      phys: this.phys,
      mem: this.mem,
      vfs: this.vfs,
      features: this.cpu.features,
      vdso: { base: this.vdso.base, size: this.vdso.size },
      identity: this.identity,
      stackSize: this.#stackSize,
      brkSize: this.#brkSize,
      random: (n) => randomBytes(n),
    };
  }

  /** Loads a program (execve's checks) without touching any process. Throws ExecFailure. */
  load(cwd: string, path: string, argv: string[], envp: string[], self: Process | null = null): LoadedProgram {
    return loadProgram(this.#execEnv(self), cwd, path, argv, envp);
  }

  #newTask(process: Process, tid: number): Task {
    const block = this.phys.alloc(PAGE_SIZE);
    if (block === null) throw errno(E.ENOMEM);
    const ptregs = block + PAGE_SIZE - SIZEOF_PT_REGS - 8;
    const task = new Task(tid, process, block, ptregs, ptregs - (ptregs % 16));
    process.threads.push(task);
    this.tasks.set(tid, task);
    initFpState(task.fpState);
    return task;
  }

  /** Starts the first process (pid 1). Throws ExecFailure if the program cannot run. */
  spawn(opts: SpawnOptions): Process {
    if (this.#init) throw new KernelError('NOMMU_ALREADY_STARTED', 'the first process exists already');
    const cwd = opts.cwd ?? '/';
    const loaded = this.load(cwd, opts.path, opts.argv, opts.envp);
    const files = new FdTable();
    files.installAt(0, new StreamFile(O_RDONLY, '/dev/stdin', null, this.#stdio.stdin), false);
    files.installAt(1, new StreamFile(O_WRONLY, '/dev/stdout', this.#stdio.stdout, null), false);
    files.installAt(2, new StreamFile(O_WRONLY, '/dev/stderr', this.#stdio.stderr, null), false);
    const pid = this.#nextPid++;
    const proc = new Process(this, pid, loaded.mm, files);
    proc.cwd = this.vfs.resolve('/', cwd).guest;
    this.processes.set(pid, proc);
    const task = this.#newTask(proc, pid);
    this.#startImage(task, loaded);
    this.#init = proc;
    this.#runQueue.push(task);
    return proc;
  }

  /** Points a task at a freshly loaded image: registers as Linux leaves them at exec. */
  #startImage(task: Task, loaded: LoadedProgram): void {
    const proc = task.process;
    proc.mm = loaded.mm;
    proc.exe = loaded.exe;
    proc.argv = loaded.argv;
    proc.envp = loaded.envp;
    const pt = this.mem.bytes(task.ptregs, SIZEOF_PT_REGS);
    pt.fill(0);
    this.mem.setU64(task.ptregs + PtRegs.IP, loaded.entry);
    this.mem.setU64(task.ptregs + PtRegs.SP, loaded.sp);
    this.mem.setU64(task.ptregs + PtRegs.FLAGS, 0x202);
    task.regsAt = RegsAt.Full;
    task.fsBase = 0n;
    task.gsBase = 0n;
    initFpState(task.fpState);
    if (this.#current === task) this.#current = null; // reload its CPU state
  }

  /** Replaces the calling process's image (execve). Returns NORETURN or throws an Errno. */
  exec(task: Task, path: string, argv: string[], envp: string[]): typeof NORETURN {
    const proc = task.process;
    let loaded: LoadedProgram;
    try {
      loaded = this.load(proc.cwd, path, argv, envp, proc);
    } catch (e) {
      if (e instanceof ExecFailure) throw Errno.of(e.errno);
      throw e;
    }
    proc.mm.release();
    proc.files.closeOnExec();
    this.#startImage(task, loaded);
    return NORETURN;
  }

  /** Ends a whole process with `status` (exit_group, fatal signal). */
  exitProcess(proc: Process, status: ExitStatus): void {
    if (proc.exitStatus) return;
    proc.exitStatus = status;
    for (const t of proc.threads) {
      t.state = TaskState.Zombie;
      this.tasks.delete(t.tid);
      this.phys.free(t.kernelBlock, PAGE_SIZE);
      if (this.#current === t) this.#current = null;
    }
    proc.files.closeAll();
    proc.mm.release();
    this.processes.delete(proc.pid);
    this.tracer?.onProcessExit?.(proc, status);
    if (proc === this.#init) this.#result = status;
  }

  // ---- the run loop ----

  /** Runs until the first process exits; resolves with its exit status. */
  async run(): Promise<ExitStatus> {
    if (!this.#init) throw new KernelError('NOMMU_NOT_STARTED', 'spawn() a program first');
    let lastYield = performance.now();
    let entries = 0;
    while (this.#result === null) {
      const task = this.#pickNext();
      if (!task) {
        if (this.#hostWaiters === 0) {
          const waits = [...this.tasks.values()].map((t) => `${t.tid}: ${t.waitReason}`).join(', ');
          throw new KernelError('NOMMU_DEADLOCK', `deadlock: every guest task is blocked (${waits})`);
        }
        await new Promise<void>((r) => (this.#wake = r));
        continue;
      }
      this.#switchTo(task);
      if (task.restartSyscall) {
        task.restartSyscall = false;
        this.#doSyscall64(task);
        continue;
      }
      const reason = this.cpu.run(SLICE_MICROS);
      if (reason === StopReason.KernelCall) {
        this.#doSyscall64(task);
      } else {
        this.#handleStop(task, reason);
      }
      if ((++entries & 255) === 0 || reason === StopReason.Preempted) {
        this.clock.refresh();
        const now = performance.now();
        if (now - lastYield >= YIELD_MS) {
          await new Promise<void>((r) => setImmediate(r));
          lastYield = performance.now();
        }
      }
    }
    return this.#result;
  }

  #pickNext(): Task | null {
    const cur = this.#current;
    if (cur && cur.state === TaskState.Runnable) return cur;
    while (this.#runQueue.length > 0) {
      const t = this.#runQueue.shift()!;
      if (t.state === TaskState.Runnable && this.tasks.has(t.tid)) return t;
    }
    return null;
  }

  /** Makes `next` the task on the CPU: the context switch. */
  #switchTo(next: Task): void {
    const prev = this.#current;
    if (prev === next) return;
    const cpu = this.cpu;
    if (prev && prev.state !== TaskState.Zombie) {
      cpu.getFpState(prev.fpState);
      prev.fsBase = cpu.getReg(Reg.FS_BASE);
      if (prev.regsAt === RegsAt.Cpu) this.#saveUserRegs(prev);
    }
    this.mem.setU64(this.vdso.currentPtregs, next.ptregs);
    this.mem.setU64(this.vdso.currentTopOfStack, next.topOfStack);
    cpu.setFpState(next.fpState);
    if (next.regsAt === RegsAt.Full) {
      this.#loadUserRegs(next);
    } else {
      // Back to user mode through the shim's exit path, which pops pt_regs.
      cpu.setReg(Reg.RIP, BigInt(this.vdso.vsyscallExit));
    }
    cpu.setReg(Reg.FS_BASE, next.fsBase);
    next.regsAt = RegsAt.Cpu;
    this.#current = next;
  }

  /** CPU registers -> pt_regs (the task was stopped in user code). */
  #saveUserRegs(task: Task): void {
    const r = this.#regs;
    this.cpu.getRegs(r);
    const m = this.mem;
    const p = task.ptregs;
    const map: [number, number][] = [
      [PtRegs.R15, Reg.R15], [PtRegs.R14, Reg.R14], [PtRegs.R13, Reg.R13], [PtRegs.R12, Reg.R12],
      [PtRegs.BP, Reg.RBP], [PtRegs.BX, Reg.RBX], [PtRegs.R11, Reg.R11], [PtRegs.R10, Reg.R10],
      [PtRegs.R9, Reg.R9], [PtRegs.R8, Reg.R8], [PtRegs.AX, Reg.RAX], [PtRegs.CX, Reg.RCX],
      [PtRegs.DX, Reg.RDX], [PtRegs.SI, Reg.RSI], [PtRegs.DI, Reg.RDI], [PtRegs.IP, Reg.RIP],
      [PtRegs.FLAGS, Reg.RFLAGS], [PtRegs.SP, Reg.RSP],
    ];
    for (const [off, reg] of map) m.setU64(p + off, r[reg]!);
    m.setI64(p + PtRegs.ORIG_AX, -1n);
    task.regsAt = RegsAt.Full;
  }

  /** pt_regs -> CPU registers, every one of them (the iret-style return). */
  #loadUserRegs(task: Task): void {
    const r = this.#regs;
    const m = this.mem;
    const p = task.ptregs;
    r[Reg.R15] = m.u64(p + PtRegs.R15);
    r[Reg.R14] = m.u64(p + PtRegs.R14);
    r[Reg.R13] = m.u64(p + PtRegs.R13);
    r[Reg.R12] = m.u64(p + PtRegs.R12);
    r[Reg.RBP] = m.u64(p + PtRegs.BP);
    r[Reg.RBX] = m.u64(p + PtRegs.BX);
    r[Reg.R11] = m.u64(p + PtRegs.R11);
    r[Reg.R10] = m.u64(p + PtRegs.R10);
    r[Reg.R9] = m.u64(p + PtRegs.R9);
    r[Reg.R8] = m.u64(p + PtRegs.R8);
    r[Reg.RAX] = m.u64(p + PtRegs.AX);
    r[Reg.RCX] = m.u64(p + PtRegs.CX);
    r[Reg.RDX] = m.u64(p + PtRegs.DX);
    r[Reg.RSI] = m.u64(p + PtRegs.SI);
    r[Reg.RDI] = m.u64(p + PtRegs.DI);
    r[Reg.RIP] = m.u64(p + PtRegs.IP);
    r[Reg.RFLAGS] = m.u64(p + PtRegs.FLAGS);
    r[Reg.RSP] = m.u64(p + PtRegs.SP);
    r[Reg.FS_BASE] = task.fsBase;
    r[Reg.GS_BASE] = task.gsBase;
    this.cpu.setRegs(r);
  }

  /**
   * do_syscall_64: the number from orig_ax, the handler only when the number is
   * below the table's size (as unsigned: -1 is huge), else ax keeps the -ENOSYS
   * the shim preset. Then the exit work.
   */
  #doSyscall64(task: Task): void {
    task.regsAt = RegsAt.Syscall;
    const words = this.mem.words;
    const base = (task.ptregs - this.mem.base) >> 3;
    const nrRaw = words[base + ORIG_AX]!;
    const table = this.syscalls;
    const tracer = this.tracer;
    const args = this.#args;
    args.base = base;
    const nr = nrRaw >= 0n && nrRaw < BigInt(table.size) ? Number(nrRaw) : -1;
    const handler = nr >= 0 ? table.handlers[nr] : undefined;
    if (tracer) tracer.onEntry(task, nr >= 0 ? nr : Number(BigInt.asIntN(32, nrRaw)), args);
    if (handler !== undefined) {
      let result;
      try {
        result = handler(task, args);
      } catch (e) {
        if (!(e instanceof Errno)) throw e;
        result = e;
      }
      if (typeof result === 'number') words[base + AX] = BigInt(result);
      else if (typeof result === 'bigint') words[base + AX] = result;
      else if (result instanceof Errno) words[base + AX] = BigInt(-result.errno);
      else if (result === BLOCK) {
        // Parked: when woken, the syscall runs again from its pt_regs (as Linux restarts).
        task.restartSyscall = true;
        if (tracer) tracer.onBlock?.(task, nr);
        return;
      } else if (result === NORETURN) {
        if (tracer && task.process.exitStatus === null) tracer.onExit(task, nr, 0n);
        return;
      }
    } else if (tracer) {
      tracer.onUnimplemented?.(task, nr >= 0 ? nr : Number(BigInt.asIntN(32, nrRaw)));
    }
    if (tracer) tracer.onExit(task, nr >= 0 ? nr : Number(BigInt.asIntN(32, nrRaw)), words[base + AX]!);
    this.#exitWork(task);
  }

  /** interrupt_end: what runs before any return to user mode. */
  #exitWork(_task: Task): void {
    // Scheduling happens in #pickNext; signal delivery joins here.
  }

  /** A stop that is not a syscall: preemption, or a fault that becomes a signal. */
  #handleStop(task: Task, reason: StopReason): void {
    task.regsAt = RegsAt.Cpu;
    if (reason === StopReason.Preempted) {
      // The entry and exit paths run with "interrupts off": never switch mid-shim.
      const rip = Number(this.cpu.getReg(Reg.RIP));
      if (rip >= this.vdso.vsyscall && rip < this.vdso.trap + 16) return;
      if (this.#runQueue.length > 0) {
        this.#runQueue.push(task);
        this.#switchTo(this.#runQueue.shift()!);
      }
      return;
    }
    const stop = this.cpu.lastStop();
    const sig = signalFromStop(stop);
    this.tracer?.onSignal?.(task, { signo: sig.signo, code: sig.code, ...(sig.addr !== undefined ? { addr: sig.addr } : {}) });
    this.#forceFatal(task, sig.signo, stop);
  }

  /** No handlers yet: a fault kills the process the way its default action does. */
  #forceFatal(task: Task, signo: number, _stop: StopInfo): void {
    const core = signo === SIG.SEGV || signo === SIG.BUS || signo === SIG.ILL || signo === SIG.FPE || signo === SIG.TRAP;
    this.exitProcess(task.process, { code: 0, signal: signo, coreDumped: core });
  }

  /** For blocking syscalls: the task sleeps until `wakeUp`. */
  block(task: Task, reason: string, hostEvent: boolean): void {
    task.state = TaskState.Blocked;
    task.waitReason = reason;
    if (hostEvent) this.#hostWaiters++;
  }

  wakeUp(task: Task, hostEvent: boolean): void {
    if (hostEvent) this.#hostWaiters--;
    if (task.state !== TaskState.Blocked) return;
    task.state = TaskState.Runnable;
    this.#runQueue.push(task);
    const w = this.#wake;
    this.#wake = null;
    w?.();
  }

  /** Host memory in use by guest RAM (for leak checks). */
  get ramInUse(): number {
    return this.phys.usedBytes;
  }

  /** Frees the backend (its RAM and engine). */
  dispose(): void {
    this.cpu.dispose();
  }
}
