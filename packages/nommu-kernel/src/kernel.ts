import { performance } from 'node:perf_hooks';
import * as fs from 'node:fs';
import * as os from 'node:os';
import { randomBytes } from 'node:crypto';
import {
  CPU_BACKEND_INTERFACE_VERSION,
  FaultAccess,
  Reg,
  REG_COUNT,
  StopReason,
  type CpuBackend,
} from '@nommu/x86-cpu';
import { PtRegs, SIZEOF_PT_REGS, vdsoImage, vdsoLayout, type VdsoLayout } from '@nommu/um-entry';
import { E, Errno, errno, hostErrno } from './errno.js';
import { KernelError } from './errors.js';
import { OffloadTable } from './fs/offload.js';
import { MemoryOffloadState } from './memory/offload.js';
import { HookLists, SyscallCall, type KernelHooks, type MemoryFault } from './hooks.js';
import { FdTable, HostFile, hostSink, hostSource, O_RDONLY, O_RDWR, O_WRONLY, StreamFile, type OpenFile, type StreamSink, type StreamSource } from './fs/file.js';
import { ProcFs } from './fs/procfs.js';
import { PidFd } from './fs/pidfd.js';
import { DevFs } from './fs/devfs.js';
import { SysFs } from './fs/sysfs.js';
import { Terminal, type Tty } from './fs/tty.js';
import { Vfs, type MountSpec } from './fs/vfs.js';
import { OwnerMap, type KStat } from './fs/stat.js';
import { ExecFailure } from './loader/elf.js';
import { loadProgram, type ExecAt, type ExecEnv, type LoadedProgram } from './loader/exec.js';
import { NetStack } from './net/stack.js';
import { PhysicalMemory, PAGE_SIZE } from './memory/ram.js';
import { PROT_EXEC, PROT_READ, PROT_WRITE } from './memory/mm.js';
import { UserMemory } from './memory/user.js';
import { SIG, SI_CODE, signalFromStop } from './signals.js';
import { bit, defaultAction, parseSigaction, SA, SIG_DFL, SIG_IGN, UNBLOCKABLE, type SigAction } from './signal/action.js';
import { newAltStack, onAltStack, SS } from './signal/altstack.js';
import { buildFrame, restoreFrame, type SigInfo } from './signal/frame.js';
import { BLOCK, NORETURN, SYSCALL_REGISTRY_VERSION, SyscallArgs, type SyscallTable } from './syscalls.js';
import { commOf, initFpState, Process, RegsAt, Task, TaskState, type CpuTimer, type ExitStatus } from './task/task.js';
import { VdsoClockKeeper } from './time.js';
import { HostTimers } from './hosttimers.js';

/** Version of the kernel's embedding API (KernelOptions, Kernel, hooks). */
export const KERNEL_API_VERSION = 2;

/** Robust futex word bits (linux/futex.h) and the most list entries exit_robust_list walks. */
const FUTEX_WAITERS = 0x80000000;
const FUTEX_OWNER_DIED = 0x40000000;
const FUTEX_TID_MASK = 0x3fffffff;
const ROBUST_LIST_LIMIT = 2048;

/** The signals whose default action stops the process. */
const STOP_SIGNALS = bit(SIG.STOP) | bit(SIG.TSTP) | bit(SIG.TTIN) | bit(SIG.TTOU);
/** SIGCHLD si_code for a child that stopped or continued. */
const CLD_STOPPED = 5;
const CLD_CONTINUED = 6;
const SI_KERNEL = 0x80;
/** restart_syscall's number: what a restart block resumes through. */
const NR_RESTART_SYSCALL = 219;

/** How long a task runs (ms) before another runnable task gets the CPU: the watchdog's or the run loop's doing. */
const SLICE_MS = 10;
/** The shortest watchdog deadline a run gets (µs), even with less of the slice left. */
const MIN_RUN_MICROS = 200;
/** Longest the kernel keeps Node's event loop waiting. */
const YIELD_MS = 10;
/**
 * The same while no host event (a timer, host I/O) is awaited: then only host
 * signals (Ctrl-C) wait for the event loop; switching between guest tasks
 * needs no turn of it. Each turn cost the guest 0.05-3 ms here (V8's pending
 * GC work runs there).
 */
const YIELD_IDLE_MS = 50;

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
  onTaskCreate?(parent: Task, child: Task): void;
}

export interface KernelOptions {
  cpu: CpuBackend;
  syscalls: SyscallTable;
  /** Host directory that is the guest's '/'. Default '/'. */
  root?: string;
  /** The root mount is read-only: writes under it answer EROFS. */
  readOnly?: boolean;
  /** Bind and tmpfs mounts on top of the root, in order (see `Vfs.mount`). */
  mounts?: readonly MountSpec[];
  /** The kernel's own /dev (devfs, with a tmpfs on /dev/shm) under the mounts; false shows the root's /dev. Default true. */
  devfs?: boolean;
  /** The kernel's own /sys (sysfs: one CPU) under the mounts; false shows the root's /sys. Default true. */
  sysfs?: boolean;
  identity?: Partial<Identity>;
  stdin?: StreamSource;
  stdout?: StreamSink;
  stderr?: StreamSink;
  /** Stack reserved for each program (bytes). */
  stackSize?: number;
  /** nommu brk area reserved at exec (bytes). */
  brkSize?: number;
  tracer?: SyscallTracer | null;
  /** Hooks installed from the start (more with `Kernel.addHooks`). */
  hooks?: KernelHooks | readonly KernelHooks[];
  hostname?: string;
  /** Refuse what a kernel without an MMU refuses (fork) and record each refusal. */
  strictNommu?: boolean;
  /**
   * Page protections enforced for guest code (default true). False: only
   * PROT_NONE pages (stack guards) fault; the rest is recorded, as nommu Linux
   * does, and exec is cheaper on Unicorn (each change costs it a remap).
   */
  enforceProtections?: boolean;
  /**
   * The guest's CLOCK_REALTIME at boot (ns since the epoch), like faketime:
   * the guest clock then runs from there at the host's rate. Default: the
   * host's time. The host clock is never changed.
   */
  realtimeNs?: bigint;
}

/** clone(2) flags. */
export const CLONE = {
  VM: 0x100, FS: 0x200, FILES: 0x400, SIGHAND: 0x800, PIDFD: 0x1000, PTRACE: 0x2000, VFORK: 0x4000,
  PARENT: 0x8000, THREAD: 0x10000, SYSVSEM: 0x40000, SETTLS: 0x80000, PARENT_SETTID: 0x100000,
  CHILD_CLEARTID: 0x200000, DETACHED: 0x400000, CHILD_SETTID: 0x1000000,
} as const;

export interface CloneArgs {
  flags: number;
  stack: number;
  parentTid: number;
  childTid: number;
  tls: bigint | number;
  /** CLONE_PIDFD: where the parent's pidfd for the child goes (an int); clone() passes parentTid, clone3 its own field. */
  pidfd?: number;
}

/** sched_setscheduler's flag: a child of the task starts with the default policy. */
export const SCHED_RESET_ON_FORK = 0x40000000;

/** wait options that select events: a child that exited, stopped (WUNTRACED) or continued. */
export const WAIT_EXITED = 4;
export const WAIT_STOPPED = 2;
export const WAIT_CONTINUED = 8;
/** __WALL and __WCLONE: which children wait selects (see Kernel.findChild). */
export const WAIT_ALL = 0x40000000;
export const WAIT_CLONE = 0x80000000;

/** What wait4/waitid found: a zombie, or a stop or continue not yet collected (with its signal). */
export type ChildEvent =
  | { child: Process; kind: 'exited' }
  | { child: Process; kind: 'stopped' | 'continued'; signo: number };

export interface SpawnOptions {
  path: string;
  argv: string[];
  envp: string[];
  cwd?: string;
  /** The first process's nice value (-20..19). Default: nommu's own, as a native child would inherit. */
  nice?: number;
}

export { ExecFailure };

/**
 * The guest's filesystem tree; a mount that cannot be made is the embedder's error, not the guest's.
 * (A function, not a static private method of Kernel: see the bundle test in packages/cli/test.)
 */
function makeVfs(opts: KernelOptions, devfs: DevFs | null): Vfs {
  const vfs = new Vfs({
    ...(opts.root !== undefined ? { root: opts.root } : {}),
    readOnly: opts.readOnly ?? false,
    ...(devfs ? { devfs } : {}),
    ...(opts.sysfs === false ? {} : { sysfs: new SysFs() }),
  });
  for (const spec of opts.mounts ?? []) {
    try {
      vfs.mount(spec);
    } catch (e) {
      vfs.dispose();
      if (!(e instanceof Errno)) throw e;
      const what = { [E.ENOENT]: 'no such directory', [E.ENOTDIR]: 'not a directory', [E.EBUSY]: 'not a mount point' }[e.errno] ?? String(e);
      const source = spec.type === 'bind' ? `${spec.source} on ` : 'tmpfs on ';
      throw new KernelError('NOMMU_MOUNT', `cannot mount ${source}${spec.target}: ${what}`, { cause: e });
    }
  }
  return vfs;
}

/**
 * The nommu kernel: one flat RAM shared by every process, one CPU, and the
 * run loop that executes guest code until it needs the kernel.
 */
export class Kernel {
  readonly cpu: CpuBackend;
  /** The backend's offloaded I/O, kept equal to the running task's descriptors (null: the backend has none). */
  readonly #offload: OffloadTable | null;
  readonly #mmOffload: MemoryOffloadState | null;
  /** The kernel's /dev, unless the root's is shown. */
  readonly #devfs: DevFs | null;
  /** AT_RANDOM's bytes for each exec. */
  readonly #randomPool = new RandomPool();
  readonly syscalls: SyscallTable;
  readonly phys: PhysicalMemory;
  readonly mem: UserMemory;
  readonly vfs: Vfs;
  readonly vdso: VdsoLayout;
  readonly clock: VdsoClockKeeper;
  readonly identity: Identity;
  /**
   * Owners of host files: the host user nommu runs as and the guest's
   * identity (effective ids) trade places, so what the guest creates is its
   * own and what it chowns to itself is the host user's (a swap, so every id
   * still means one owner). Identity for root on both sides.
   */
  readonly owners: OwnerMap;
  /** uname's node name (KernelOptions.hostname; root in the guest may change it: sethostname). */
  hostname: string;
  /** uname's NIS domain name (setdomainname). */
  domainname = '(none)';
  readonly bootNs = process.hrtime.bigint();
  tracer: SyscallTracer | null;
  readonly strictNommu: boolean;
  /** What the program did that a kernel without an MMU refuses (with strictNommu). */
  readonly nommuViolations: string[] = [];
  /**
   * The syscalls the guest made, a byte per number of the table (1: made at
   * least once, answered or not). The CLI keeps V8's code cache of the kernel
   * as wide as the calls its runs have made.
   */
  readonly syscallsMade: Uint8Array;
  readonly #hookSets: KernelHooks[] = [];
  /** What the installed hooks listen to; null when none are (the syscall path checks only this). */
  #hooks: HookLists | null = null;

  /** Processes by pid, zombies included until they are reaped. */
  readonly processes = new Map<number, Process>();
  /** Live threads by tid. */
  readonly tasks = new Map<number, Task>();

  /**
   * The thread a pid or tid names, as Linux finds it: a live thread, or the
   * leader of a process that exited and was not reaped yet (kill, tgkill,
   * sched_* and getpriority still find a zombie; they answer ESRCH only once
   * it is reaped).
   */
  findTask(tid: number): Task | undefined {
    return this.tasks.get(tid) ?? this.processes.get(tid)?.threads[0];
  }

  #nextPid = 1;
  #current: Task | null = null;
  readonly #runQueue: Task[] = [];
  #init: Process | null = null;
  #result: ExitStatus | null = null;
  readonly #args: SyscallArgs;
  readonly #regs = new BigUint64Array(REG_COUNT);
  #wake: (() => void) | null = null;
  /** When the running task got the CPU (picked, and switched in): its slice ends SLICE_MS later. */
  #sliceStart = 0;
  /** The backend measures each run's slice (see CpuBackend.slicePerRun). */
  readonly #slicePerRun: boolean;
  /** The current task gives up the CPU at the next pick (sched_yield, end of slice). */
  #yieldCpu = false;
  #hostWaiters = 0;
  /** Sockets: the AF_UNIX namespaces, and the host sockets behind AF_INET ones (each a possible waker). */
  readonly net = new NetStack((delta) => (this.#hostWaiters += delta));
  readonly #stdio: { stdin: StreamSource; stdout: StreamSink; stderr: StreamSink };
  readonly #stackSize: number;
  /** The host terminal, when nommu's stdin, stdout or stderr is one. */
  readonly terminal: Terminal | null;
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
    this.#offload = cpu.offload ? new OffloadTable(cpu.offload) : null;
    this.#mmOffload = cpu.memoryOffload ? new MemoryOffloadState(cpu.memoryOffload) : null;
    this.#slicePerRun = cpu.slicePerRun === true;
    this.syscalls = opts.syscalls;
    this.syscallsMade = new Uint8Array(opts.syscalls.size);
    this.tracer = opts.tracer ?? null;
    if (opts.hooks) for (const h of Array.isArray(opts.hooks) ? opts.hooks : [opts.hooks as KernelHooks]) this.addHooks(h);
    this.strictNommu = opts.strictNommu ?? false;
    this.phys = new PhysicalMemory(cpu, opts.enforceProtections ?? true);
    this.mem = new UserMemory(cpu);
    this.#devfs = opts.devfs === false ? null : new DevFs(this);
    this.vfs = makeVfs(opts, this.#devfs);
    this.vfs.procfs = new ProcFs(this);
    this.identity = { uid: 0, gid: 0, euid: 0, egid: 0, ...opts.identity };
    this.owners = new OwnerMap(process.getuid?.() ?? 0, process.getgid?.() ?? 0, this.identity.euid, this.identity.egid);
    this.hostname = opts.hostname ?? 'nommu';
    this.#stackSize = opts.stackSize ?? 8 << 20;
    this.#brkSize = opts.brkSize ?? 32 << 20;
    this.#stdio = {
      stdin: opts.stdin ?? hostSource(0),
      stdout: opts.stdout ?? hostSink(1),
      stderr: opts.stderr ?? hostSink(2),
    };
    this.#args = new SyscallArgs(this.mem.words);
    const { stdin, stdout, stderr } = this.#stdio;
    const ttyFd = [stdin.hostFd, stdout.hostFd, stderr.hostFd].find((fd) => fd !== undefined && Terminal.isTerminal(fd));
    this.terminal = ttyFd !== undefined ? new Terminal(ttyFd, (signo) => this.signalForeground(signo)) : null;
    if (this.terminal && stdin.hostFd !== undefined && Terminal.isTerminal(stdin.hostFd)) stdin.filter = (d) => this.terminal!.input(d);

    // The vDSO: mapped once at the top of RAM, shared by every process.
    const image = vdsoImage();
    const size = Math.ceil(image.length / PAGE_SIZE) * PAGE_SIZE;
    const base = this.phys.alloc(size);
    if (base === null) throw new KernelError('NOMMU_NOMEM', 'no RAM for the vDSO');
    this.mem.copyOut(base, image);
    this.vdso = vdsoLayout(base);
    cpu.setKernelEntry(this.vdso.vsyscall, this.vdso.trap);
    this.clock = new VdsoClockKeeper(cpu, this.mem, this.vdso.clock);
    if (opts.realtimeNs !== undefined) this.clock.setRealtime(opts.realtimeNs);
  }


  get current(): Task | null {
    return this.#current;
  }

  /** Installs hooks (after those already there); returns the function that removes them. */
  addHooks(hooks: KernelHooks): () => void {
    this.#hookSets.push(hooks);
    this.#hooks = HookLists.of(this.#hookSets);
    return () => {
      const i = this.#hookSets.indexOf(hooks);
      if (i < 0) return;
      this.#hookSets.splice(i, 1);
      this.#hooks = HookLists.of(this.#hookSets);
    };
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
      random: (n) => this.#randomPool.take(n),
      holderOf: (addr) => {
        for (const p of this.processes.values()) {
          if (p.exitStatus === null && p.mm.vmas.some((v) => v.owned && v.start <= addr && addr < v.end)) return p.mm;
        }
        return null;
      },
    };
  }

  /** Loads a program (execve's checks) without touching any process. Throws ExecFailure. */
  load(cwd: string, path: string, argv: string[], envp: string[], self: Process | null = null, at: ExecAt = {}): LoadedProgram {
    return loadProgram(this.#execEnv(self), cwd, path, argv, envp, at);
  }

  #newTask(process: Process, tid: number): Task {
    const block = this.phys.alloc(PAGE_SIZE);
    if (block === null) throw errno(E.ENOMEM);
    // The shim writes pt_regs here from guest mode; freed RAM keeps its last owner's protection.
    this.phys.setProt(block, PAGE_SIZE, PROT_READ | PROT_WRITE);
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
    const { stdin, stdout, stderr } = this.#stdio;
    const tty = this.#terminalStreams();
    // A standard stream on the terminal nommu runs on is that terminal, the console, open for
    // reading and writing as a login's terminal is (less and man reopen /proc/self/fd/2 to read keys).
    const onTerminal = (sink: StreamSink | null): StreamFile => new StreamFile(O_RDWR, '/dev/console', sink, tty.source, this.#consoleStat());
    files.installAt(0, tty.source ? onTerminal(tty.sink) : (hostRegularFile(stdin) ?? new StreamFile(O_RDONLY, '/dev/stdin', null, stdin)), false);
    files.installAt(1, isTerminalSink(stdout) ? onTerminal(stdout) : new StreamFile(O_WRONLY, '/dev/stdout', stdout, null), false);
    files.installAt(2, isTerminalSink(stderr) ? onTerminal(stderr) : new StreamFile(O_WRONLY, '/dev/stderr', stderr, null), false);
    const pid = this.#nextPid++;
    const proc = new Process(this, pid, loaded.mm, files);
    proc.cwd = this.vfs.resolve('/', cwd).guest;
    this.processes.set(pid, proc);
    const task = this.#newTask(proc, pid);
    task.nice = Math.max(-20, Math.min(19, Math.trunc(opts.nice ?? hostNice())));
    this.#startImage(task, loaded, opts.path);
    this.#init = proc;
    this.terminal?.attach(proc);
    this.#runQueue.push(task);
    return proc;
  }

  /** Points a task at a freshly loaded image: registers as Linux leaves them at exec. */
  #startImage(task: Task, loaded: LoadedProgram, filename: string): void {
    const proc = task.process;
    task.comm = commOf(filename);
    proc.mm = loaded.mm;
    proc.exe = loaded.exe;
    proc.argv = loaded.argv;
    proc.envp = loaded.envp;
    proc.auxv = loaded.auxv;
    const pt = this.mem.bytes(task.ptregs, SIZEOF_PT_REGS);
    pt.fill(0);
    this.mem.setU64(task.ptregs + PtRegs.IP, loaded.entry);
    this.mem.setU64(task.ptregs + PtRegs.SP, loaded.sp);
    this.mem.setU64(task.ptregs + PtRegs.FLAGS, 0x202);
    task.regsAt = RegsAt.Full;
    task.fsBase = 0n;
    task.gsBase = 0n;
    initFpState(task.fpState);
    if (this.#hooks) for (const h of this.#hooks.exec) h(task, { path: loaded.exe, argv: loaded.argv, envp: loaded.envp });
  }

  /**
   * Replaces the calling process's image (execve; execveat's extras in `at`).
   * Returns NORETURN or throws an Errno.
   */
  exec(task: Task, path: string, argv: string[], envp: string[], at: ExecAt = {}): typeof NORETURN {
    const proc = task.process;
    let loaded: LoadedProgram;
    try {
      loaded = this.load(proc.cwd, path, argv, envp, proc, at);
    } catch (e) {
      if (e instanceof ExecFailure) throw Errno.of(e.errno);
      throw e;
    }
    // Other threads die at exec (Linux's de_thread); a vfork parent gets its memory back.
    for (const t of [...proc.threads]) if (t !== task) this.#reapThread(t);
    // A thread other than the leader that execs becomes the leader: its tid is the pid.
    if (task.tid !== proc.pid) {
      this.tasks.delete(task.tid);
      task.tid = proc.pid;
      this.tasks.set(task.tid, task);
    }
    this.#releaseRobustFutexes(task);
    // mm_release: CLONE_CHILD_CLEARTID is honoured for whoever still shares the old memory, then forgotten.
    if (task.clearChildTid !== 0) {
      if (proc.mm.users > 1 && this.mem.ok(task.clearChildTid, 4)) {
        this.mem.setU32(task.clearChildTid, 0);
        this.futexWake(proc, task.clearChildTid, 1, 0xffffffff, true);
      }
      task.clearChildTid = 0;
    }
    proc.mm.put();
    // A descriptor table or signal actions shared with another process (CLONE_FILES, CLONE_SIGHAND) become the new image's own first.
    if (proc.files.users > 1) {
      proc.files.users--;
      proc.files = proc.files.clone();
    }
    proc.files.closeOnExec();
    this.#deleteTimers(proc);
    proc.sigactions = new Map(proc.sigactions);
    // Handled signals go back to their default action; ignored ones stay ignored.
    for (const sig of [...proc.sigactions.keys()]) if (this.sigaction(proc, sig).handler !== SIG_IGN) proc.sigactions.delete(sig);
    task.altStack = null;
    task.rseq = null;
    this.#startImage(task, loaded, at.file?.guest ?? path);
    this.#releaseVforkParent(proc);
    return NORETURN;
  }

  #deleteTimers(proc: Process): void {
    for (const t of proc.timers.values()) t.delete();
    proc.timers.clear();
  }

  /** A thread is gone: its kernel block returns to RAM, CLONE_CHILD_CLEARTID is honoured. */
  #reapThread(t: Task): void {
    if (t.state === TaskState.Zombie) return;
    if (this.#hooks) for (const h of this.#hooks.taskExit) h(t);
    this.#inMemoryOf(t, () => {
      this.#releaseRobustFutexes(t);
      if (t.clearChildTid !== 0 && this.mem.ok(t.clearChildTid, 4) && t.process.exitStatus === null) {
        this.mem.setU32(t.clearChildTid, 0);
        this.futexWake(t.process, t.clearChildTid, 1, 0xffffffff, true);
      }
    });
    this.#cancelTimer(t);
    this.#leaveWait(t);
    // A thread killed in a futex wait leaves its queues: a later wake must not count it (and lose a live waiter's wake).
    this.#dropFutexWait(t);
    if (t.state === TaskState.Blocked && t.hostWait) this.#hostWaiters--;
    t.state = TaskState.Zombie;
    this.tasks.delete(t.tid);
    this.phys.free(t.kernelBlock, PAGE_SIZE);
    const i = t.process.threads.indexOf(t);
    if (i >= 0 && t.process.threads.length > 1) t.process.threads.splice(i, 1);
    if (this.#current === t) this.#current = null;
  }

  /** exit(2): one thread ends; the last one ends the process. */
  exitThread(task: Task, code: number): void {
    const live = task.process.threads.filter((t) => t.state !== TaskState.Zombie);
    if (live.length <= 1) {
      this.exitProcess(task.process, { code: code & 0xff, signal: 0, coreDumped: false });
      return;
    }
    this.#reapThread(task);
  }

  /** Ends a whole process with `status` (exit_group, fatal signal); it stays a zombie until reaped. */
  exitProcess(proc: Process, status: ExitStatus): void {
    if (proc.exitStatus) return;
    this.tracer?.onProcessExit?.(proc, status);
    if (this.#hooks) for (const h of this.#hooks.processExit) h(proc, status);
    for (const t of [...proc.threads]) this.#reapThread(t);
    this.#deleteTimers(proc);
    proc.exitStatus = status;
    proc.exitQueue.wake();
    // A session leader's exit takes its pseudo-terminal from the session (the host terminal stays with the guest's init).
    const ctty = proc.ctty;
    if (ctty && ctty !== this.terminal && proc.sid === proc.pid && ctty.controls(proc)) ctty.disassociate(this, true);
    if (--proc.files.users === 0) proc.files.closeAll();
    // The first process's exit ends the run: its memory needs no zeroing or protection changes.
    if (proc === this.#init) this.phys.retire();
    proc.mm.put();
    this.#releaseVforkParent(proc);
    // Orphans go to the nearest living subreaper above (PR_SET_CHILD_SUBREAPER), else to the first process, as to init.
    const init = this.#init;
    const orphans = proc.children.splice(0);
    let reaper = proc.parent;
    while (reaper && !(reaper.childSubreaper && reaper.exitStatus === null)) reaper = reaper.parent;
    reaper ??= init && init !== proc ? init : null;
    for (const c of orphans) {
      c.parent = reaper;
      c.adopted = reaper === init || reaper === null;
      if (c.parent) c.parent.children.push(c);
    }
    proc.stopped = false;
    proc.jobEvent = null;
    // Process groups this exit leaves orphaned, with a stopped member, get SIGHUP and SIGCONT (Linux's kill_orphaned_pgrp).
    const parentOf = proc.parent;
    if (parentOf && parentOf.pgid !== proc.pgid && parentOf.sid === proc.sid) this.#hangUpOrphaned(proc.pgid);
    for (const c of orphans) if (c.pgid !== proc.pgid && c.sid === proc.sid) this.#hangUpOrphaned(c.pgid);
    if (proc === init) {
      this.#result = status;
      this.#kick(); // an embedder may end the run from a host callback while the loop waits
      return;
    }
    const parent = proc.parent;
    if (!parent || parent.exitStatus) {
      this.processes.delete(proc.pid);
      return;
    }
    const chld = this.sigaction(parent, SIG.CHLD);
    if (proc.exitSignal === SIG.CHLD && (chld.handler === SIG_IGN || (chld.flags & SA.NOCLDWAIT) !== 0)) this.reap(proc, false);
    for (const w of parent.childWaiters) this.wakeUp(w, false);
    parent.childWaiters.clear();
    if (proc.exitSignal > 0) {
      this.sendSignal(parent, {
        signo: proc.exitSignal,
        code: status.signal === 0 ? 1 : status.coreDumped ? 3 : 2, // CLD_EXITED, CLD_DUMPED, CLD_KILLED
        pid: proc.pid,
        uid: this.identity.uid,
        status: status.signal === 0 ? status.code : status.signal,
      });
    }
  }

  #releaseVforkParent(proc: Process): void {
    const parent = proc.vforkParent;
    if (!parent) return;
    proc.vforkParent = null;
    this.wakeUp(parent, false, BigInt(proc.pid));
  }

  /**
   * clone/fork/vfork: a thread (CLONE_THREAD), a process sharing the memory
   * (CLONE_VM, vfork), or a forked process whose memory is a private copy at the
   * same addresses. Returns the child's tid, or BLOCK for vfork (the parent
   * resumes with the tid when the child execs or exits).
   */
  clone(task: Task, c: CloneArgs): number | typeof BLOCK {
    const F = CLONE;
    const flags = c.flags;
    if ((flags & F.THREAD) !== 0 && (flags & F.SIGHAND) === 0) throw errno(E.EINVAL);
    if ((flags & F.SIGHAND) !== 0 && (flags & F.VM) === 0) throw errno(E.EINVAL);
    // A pidfd names a process: not for a thread (Linux 6.9 added thread pidfds; this kernel answers as before).
    if ((flags & F.PIDFD) !== 0 && (flags & F.THREAD) !== 0) throw errno(E.EINVAL);
    if ((flags & F.VM) === 0 && this.strictNommu) {
      this.nommuViolations.push(`fork() by ${task.process.exe} (pid ${task.process.pid}): a nommu kernel answers EINVAL`);
      throw errno(E.EINVAL);
    }
    const parent = task.process;
    const cpu = this.cpu;
    let proc: Process;
    const tid = this.#nextPid++;
    if ((flags & F.THREAD) !== 0) {
      proc = parent;
    } else {
      let mm;
      if ((flags & F.VM) !== 0) {
        mm = parent.mm;
        mm.users++;
      } else {
        mm = parent.mm.fork();
      }
      let files;
      if ((flags & F.FILES) !== 0) {
        files = parent.files;
        files.users++;
      } else {
        files = parent.files.clone();
      }
      proc = new Process(this, tid, mm, files);
      proc.parent = (flags & F.PARENT) !== 0 && parent.parent ? parent.parent : parent;
      proc.parent.children.push(proc);
      proc.pgid = parent.pgid;
      proc.sid = parent.sid;
      proc.ctty = parent.ctty;
      // CLONE_FS: one working directory, root and umask for both; otherwise a copy.
      proc.fsContext = (flags & F.FS) !== 0 ? parent.fsContext : parent.fsContext.copy();
      for (const [r, lim] of parent.rlimits) proc.rlimits.set(r, lim);
      proc.exe = parent.exe;
      proc.argv = parent.argv;
      proc.envp = parent.envp;
      proc.auxv = parent.auxv;
      // CLONE_SIGHAND: one table of signal actions for both; otherwise a copy.
      if ((flags & F.SIGHAND) !== 0) proc.sigactions = parent.sigactions;
      else for (const [sig, act] of parent.sigactions) proc.sigactions.set(sig, act.slice());
      proc.exitSignal = flags & 0xff;
      this.processes.set(tid, proc);
    }
    const child = this.#newTask(proc, tid);
    // The child returns from the same syscall with 0, on its own stack if given one.
    this.mem.copyOut(child.ptregs, this.mem.bytes(task.ptregs, SIZEOF_PT_REGS).slice());
    this.mem.setU64(child.ptregs + PtRegs.AX, 0);
    if (c.stack !== 0) this.mem.setU64(child.ptregs + PtRegs.SP, c.stack);
    child.regsAt = RegsAt.Syscall;
    cpu.getFpState(child.fpState);
    child.fsBase = (flags & F.SETTLS) !== 0 ? BigInt.asUintN(64, BigInt(c.tls)) : cpu.getReg(Reg.FS_BASE);
    child.gsBase = task.gsBase;
    child.sigmask = task.sigmask;
    child.comm = task.comm;
    child.nice = task.nice;
    child.personality = task.personality;
    child.noNewPrivs = task.noNewPrivs;
    if ((flags & F.VM) === 0) child.rseq = task.rseq;
    if (task.ioprio !== null && task.ioprio >> 13 !== 0) child.ioprio = task.ioprio;
    // SCHED_RESET_ON_FORK: the child starts as SCHED_OTHER, and with nice 0 if its parent's was negative.
    if ((task.schedPolicy & SCHED_RESET_ON_FORK) === 0) child.schedPolicy = task.schedPolicy;
    else if (child.nice < 0) child.nice = 0;
    // fork and vfork keep the alternate signal stack; a thread sharing the memory starts without one.
    if ((flags & F.VM) === 0 || (flags & F.VFORK) !== 0) child.altStack = task.altStack ? { ...task.altStack } : null;
    if ((flags & F.PARENT_SETTID) !== 0) this.mem.setU32(c.parentTid, tid);
    if ((flags & F.CHILD_SETTID) !== 0) {
      if ((flags & F.VM) !== 0) this.mem.setU32(c.childTid, tid);
      else child.setChildTid = c.childTid;
    }
    if ((flags & F.CHILD_CLEARTID) !== 0) child.clearChildTid = c.childTid;
    // CLONE_PIDFD: a close-on-exec pidfd in the parent's table only (the child's was copied before).
    if ((flags & F.PIDFD) !== 0 && c.pidfd) this.mem.setI32(c.pidfd, parent.files.install(new PidFd(proc, 0), true));
    this.#runQueue.push(child);
    this.tracer?.onTaskCreate?.(task, child);
    if (this.#hooks) for (const h of this.#hooks.taskCreate) h(task, child);
    if ((flags & F.VFORK) !== 0 && (flags & F.THREAD) === 0) {
      proc.vforkParent = task;
      this.block(task, 'vfork', false);
      return BLOCK;
    }
    return tid;
  }

  /**
   * wait4/waitid's search: the first child matching `pid` (Linux's pid
   * selector) with an event `events` asks for (WEXITED 4, WSTOPPED 2,
   * WCONTINUED 8), and whether any child matches at all. As Linux's
   * eligible_child, a "clone" child (one whose exit signal is not SIGCHLD)
   * matches only with __WCLONE, and then only such children do; __WALL
   * (in `events` too) matches both.
   */
  findChild(task: Task, pid: number, events: number): { found: ChildEvent | null; any: boolean } {
    const self = task.process;
    const all = (events & WAIT_ALL) !== 0;
    const clones = (events & WAIT_CLONE) !== 0;
    const match = (c: Process): boolean =>
      (all || (c.exitSignal !== SIG.CHLD) === clones) &&
      (pid === -1 ? true : pid > 0 ? c.pid === pid : pid === 0 ? c.pgid === self.pgid : c.pgid === -pid);
    const kids = self.children.filter(match);
    for (const child of kids) {
      if (child.exitStatus !== null) {
        if ((events & WAIT_EXITED) !== 0) return { found: { child, kind: 'exited' }, any: true };
        continue;
      }
      const ev = child.jobEvent;
      if (ev && (events & (ev.kind === 'stopped' ? WAIT_STOPPED : WAIT_CONTINUED)) !== 0) {
        return { found: { child, kind: ev.kind, signo: ev.signo }, any: true };
      }
    }
    return { found: null, any: kids.length > 0 };
  }

  /** Removes a zombie for good once its parent has collected its status (and, waited for, its CPU time). */
  reap(child: Process, waited = true): void {
    const p = child.parent;
    if (p) {
      p.children.splice(p.children.indexOf(child), 1);
      if (waited) {
        p.childUtimeMs += child.utimeMs + child.childUtimeMs;
        p.childStimeMs += child.stimeMs + child.childStimeMs;
      }
    }
    this.processes.delete(child.pid);
    child.exitQueue.wake();
  }

  /** Parks `task` until a child of its process changes state. */
  waitForChild(task: Task): typeof BLOCK {
    task.process.childWaiters.add(task);
    this.block(task, 'wait for child', false);
    return BLOCK;
  }

  // ---- futexes ----

  readonly #futexes = new Map<string, { task: Task; bitset: number; result: bigint }[]>();

  /**
   * Futex keys as Linux makes them: a private op keys by address space and
   * address; a shared op on MAP_SHARED memory by the memory itself (its
   * address: RAM is flat), elsewhere by address space and address, yet never
   * equal to a private key (Linux's FUT_OFF_MMSHARED): a FUTEX_WAKE does not
   * wake a FUTEX_WAIT_PRIVATE waiter.
   */
  #futexKey(proc: Process, addr: number, shared: boolean): string {
    if (!shared) return `${proc.mm.id}:${addr}`;
    return proc.mm.find(addr)?.shared ? `s:${addr}` : `${proc.mm.id}:s:${addr}`;
  }

  /** FUTEX_WAIT: parks until a wake (resumes with 0) or the timeout (ETIMEDOUT). */
  futexWait(task: Task, addr: number, bitset: number, shared: boolean, timeoutNs: bigint | null): typeof BLOCK {
    const key = this.#futexKey(task.process, addr, shared);
    let q = this.#futexes.get(key);
    if (!q) {
      q = [];
      this.#futexes.set(key, q);
    }
    q.push({ task, bitset, result: 0n });
    task.futexKeys.push(key);
    this.block(task, `futex ${addr.toString(16)}`, timeoutNs !== null);
    if (timeoutNs !== null) {
      this.#armTimer(task, timeoutNs, BigInt(-E.ETIMEDOUT));
      // A timed wait is never restarted after a handler (Linux's restart block), SA_RESTART or not: EINTR.
      task.interruptCode = E.ERESTART_RESTARTBLOCK;
    }
    return BLOCK;
  }

  /**
   * futex_waitv and the futex2 futex_wait: parks `task` on every futex of
   * `futexes` at once (the caller compared their values); a wake of any of
   * them (futex2 or classic) takes it off all the queues and it resumes with
   * that futex's index. `timeoutNs` ends it with ETIMEDOUT; a signal answers
   * ERESTARTSYS (the timeouts are absolute: a restart waits for the same end).
   */
  futexWaitMany(task: Task, futexes: readonly { addr: number; shared: boolean; bitset: number }[], timeoutNs: bigint | null): typeof BLOCK {
    futexes.forEach((f, i) => {
      const key = this.#futexKey(task.process, f.addr, f.shared);
      let q = this.#futexes.get(key);
      if (!q) {
        q = [];
        this.#futexes.set(key, q);
      }
      q.push({ task, bitset: f.bitset, result: BigInt(i) });
      task.futexKeys.push(key);
    });
    this.block(task, `futex_waitv ${futexes.map((f) => f.addr.toString(16)).join(',')}`, timeoutNs !== null);
    if (timeoutNs !== null) this.#armTimer(task, timeoutNs, BigInt(-E.ETIMEDOUT));
    return BLOCK;
  }

  futexWake(proc: Process, addr: number, count: number, bitset: number, shared: boolean): number {
    const key = this.#futexKey(proc, addr, shared);
    const q = this.#futexes.get(key);
    if (!q) return 0;
    let woken = 0;
    for (let i = 0; i < q.length && woken < count; ) {
      const w = q[i]!;
      if ((w.bitset & bitset) === 0) {
        i++;
        continue;
      }
      q.splice(i, 1);
      // A futex_waitv waiter leaves its other queues too.
      this.#dropFutexWait(w.task);
      this.#cancelTimer(w.task);
      this.wakeUp(w.task, false, w.result);
      woken++;
    }
    if (q.length === 0) this.#futexes.delete(key);
    return woken;
  }

  /** FUTEX_REQUEUE: wake `count`, move up to `requeue` of the rest to addr2. */
  futexRequeue(proc: Process, addr: number, addr2: number, count: number, requeue: number, shared: boolean, shared2 = shared): number {
    const woken = this.futexWake(proc, addr, count, 0xffffffff, shared);
    const key = this.#futexKey(proc, addr, shared);
    const q = this.#futexes.get(key);
    if (!q) return woken;
    const key2 = this.#futexKey(proc, addr2, shared2);
    if (key2 === key) return woken + Math.min(requeue, q.length);
    const moved = q.splice(0, requeue);
    if (q.length === 0) this.#futexes.delete(key);
    const q2 = this.#futexes.get(key2) ?? [];
    for (const w of moved) {
      const keys = w.task.futexKeys;
      keys[keys.indexOf(key)] = key2;
    }
    q2.push(...moved);
    if (q2.length > 0) this.#futexes.set(key2, q2);
    return woken + moved.length;
  }

  /**
   * Runs `fn` with `t`'s memory resident: a forked process's pages may be
   * swapped out while another process has the CPU (a kill from outside).
   */
  #inMemoryOf(t: Task, fn: () => void): void {
    const cur = this.#current;
    if (this.phys.overlays.size === 0 || cur?.process.mm === t.process.mm) {
      fn();
      return;
    }
    this.phys.overlays.activate(t.process.mm);
    try {
      fn();
    } finally {
      // With no current task the next switch activates its own memory.
      if (cur) this.phys.overlays.activate(cur.process.mm);
    }
  }

  /**
   * Linux's exit_robust_list, for a thread that dies or execs: each robust
   * futex on its set_robust_list list that it still owns gets
   * FUTEX_OWNER_DIED (the owner's tid cleared), and one waiter is woken. The
   * list is guest memory: a bad pointer ends the walk.
   */
  #releaseRobustFutexes(t: Task): void {
    const head = t.robustList;
    if (head === 0) return;
    t.robustList = 0;
    const mem = this.mem;
    if (!mem.ok(head, 24)) return;
    const entry = (raw: bigint): { addr: number; pi: boolean } => ({ addr: Number(raw & ~1n), pi: (raw & 1n) !== 0n });
    const offset = Number(mem.i64(head + 8));
    const pending = entry(mem.u64(head + 16));
    /** handle_futex_death: false stops the walk. */
    const death = (uaddr: number, pi: boolean, pendingOp: boolean): boolean => {
      if (uaddr % 4 !== 0 || !mem.ok(uaddr, 4)) return false;
      const uval = mem.u32(uaddr);
      if (pendingOp && !pi && uval === 0) {
        // Died between releasing the lock and taking it off the list: a waiter may need the wake.
        this.futexWake(t.process, uaddr, 1, 0xffffffff, true);
        return true;
      }
      if ((uval & FUTEX_TID_MASK) !== t.tid) return true;
      mem.setU32(uaddr, (uval & FUTEX_WAITERS) | FUTEX_OWNER_DIED);
      if (!pi && (uval & FUTEX_WAITERS) !== 0) this.futexWake(t.process, uaddr, 1, 0xffffffff, true);
      return true;
    };
    let cur = entry(mem.u64(head));
    for (let limit = ROBUST_LIST_LIMIT; cur.addr !== head && limit > 0; limit--) {
      const nextOk = mem.ok(cur.addr, 8);
      const next = nextOk ? entry(mem.u64(cur.addr)) : null;
      if (cur.addr !== pending.addr && !death(cur.addr + offset, cur.pi, false)) return;
      if (next === null) return;
      cur = next;
    }
    if (pending.addr !== 0) death(pending.addr + offset, pending.pi, true);
  }

  /** Takes `task` off every futex queue it waits in. */
  #dropFutexWait(task: Task): void {
    if (task.futexKeys.length === 0) return;
    for (const key of task.futexKeys.splice(0)) {
      const q = this.#futexes.get(key);
      if (!q) continue;
      for (let i = q.length - 1; i >= 0; i--) if (q[i]!.task === task) q.splice(i, 1);
      if (q.length === 0) this.#futexes.delete(key);
    }
  }

  // ---- sleeping ----

  /**
   * Parks `task` until something it watches wakes it (its syscall then runs
   * again) or until `timeoutNs` passes (it returns 0): poll, select, epoll.
   */
  waitEvent(task: Task, reason: string, timeoutNs: bigint | null, hostEvent: boolean): typeof BLOCK {
    this.block(task, reason, hostEvent || timeoutNs !== null);
    if (timeoutNs !== null) this.#armTimer(task, timeoutNs, 0n);
    return BLOCK;
  }

  /** Like waitEvent, but the timeout ends the call with `onTimeout` (e.g. -EAGAIN). */
  waitEventWith(task: Task, reason: string, timeoutNs: bigint, onTimeout: bigint): typeof BLOCK {
    this.block(task, reason, true);
    this.#armTimer(task, timeoutNs, onTimeout);
    return BLOCK;
  }

  /**
   * Parks `task` for `ns` nanoseconds of host time; it resumes with 0. A
   * signal ends it, and `remaining` hears how much was left: EINTR after a
   * handler (never restarted, as nanosleep), or, when the signal runs none,
   * restart_syscall sleeps for the rest (Linux's hrtimer_nanosleep_restart).
   */
  sleep(task: Task, ns: bigint, remaining?: (ns: bigint) => void): typeof BLOCK {
    this.block(task, 'sleep', true);
    this.#armTimer(task, ns, 0n);
    task.interruptCode = E.ERESTART_RESTARTBLOCK;
    const due = process.hrtime.bigint() + ns;
    const left = (): bigint => {
      const now = process.hrtime.bigint();
      return due > now ? due - now : 0n;
    };
    task.onInterrupt = remaining ? () => remaining(left()) : null;
    task.restartBlock = (t) => {
      const rest = left();
      return rest > 0n ? this.sleep(t, rest, remaining) : 0;
    };
    return BLOCK;
  }

  #armTimer(task: Task, ns: bigint, result: bigint | null): void {
    this.#cancelTimer(task);
    const fire = (): void => {
      task.timer = null;
      this.#dropFutexWait(task);
      this.wakeUp(task, true, result);
    };
    task.timer = this.#timers.arm(process.hrtime.bigint() + ns, fire);
  }

  /**
   * Parks `task` until something it watches wakes it or the monotonic
   * `deadlineNs` passes; either way its syscall runs again and decides (a
   * handler keeps the deadline in `task.waitState` across the re-runs).
   */
  waitDeadline(task: Task, reason: string, deadlineNs: bigint | null, hostEvent: boolean): typeof BLOCK {
    this.block(task, reason, hostEvent || deadlineNs !== null);
    if (deadlineNs !== null) {
      const left = deadlineNs - process.hrtime.bigint();
      this.#armTimer(task, left > 0n ? left : 0n, null);
    }
    return BLOCK;
  }

  readonly #timers = new HostTimers();

  /**
   * A host timer for kernel objects (timerfd): while armed it counts as a
   * host event the run loop waits for (not a deadlock). Returns its cancel.
   */
  hostTimer(ms: number, fire: () => void): () => void {
    this.#hostWaiters++;
    const timer = this.#timers.arm(process.hrtime.bigint() + BigInt(Math.max(0, Math.ceil(ms * 1e6))), () => {
      this.#hostWaiters--;
      fire();
      this.#kick();
    });
    return () => {
      if (this.#timers.cancel(timer)) this.#hostWaiters--;
    };
  }

  /** A wait ended without its handler deciding (a signal, a timeout result, death): drop what it held. */
  #endWaitState(task: Task): void {
    const st = task.waitState;
    if (st === null) return;
    task.waitState = null;
    st.cancel?.();
  }

  #leaveWait(task: Task): void {
    for (const q of task.waitQueues) q.remove(task);
    task.waitQueues.length = 0;
    this.#endWaitState(task);
  }

  #cancelTimer(task: Task): void {
    if (task.timer === null) return;
    this.#timers.cancel(task.timer);
    task.timer = null;
  }

  // ---- the run loop ----

  /** Something may have made a task runnable, or ended the run: the run loop's idle wait ends. */
  #kick(): void {
    const w = this.#wake;
    this.#wake = null;
    w?.();
  }

  /** Runs until the first process exits; resolves with its exit status. */
  async run(): Promise<ExitStatus> {
    if (!this.#init) throw new KernelError('NOMMU_NOT_STARTED', 'spawn() a program first');
    let lastYield = performance.now();
    while (this.#result === null) {
      const task = this.#pickNext();
      if (!task) {
        // The charge can fire a CPU-time timer whose signal wakes the task that just went to sleep (or kills
        // the first process): that wake came before the wait below, which would never end.
        this.#chargeSystem(performance.now());
        if (this.#runQueue.length > 0 || this.#result !== null) continue;
        if (this.#hostWaiters === 0 && !this.#terminalMayWake()) {
          const waits = [...this.tasks.values()].map((t) => `${t.tid}: ${t.process.stopped ? 'stopped' : t.waitReason}`).join(', ');
          throw new KernelError('NOMMU_DEADLOCK', `deadlock: every guest task is blocked (${waits})`);
        }
        // Waiting for the terminal alone: nothing else keeps Node's event loop alive meanwhile.
        const keepAlive = this.#hostWaiters === 0 ? setInterval(() => {}, 1 << 30) : null;
        await new Promise<void>((r) => (this.#wake = r));
        if (keepAlive) clearInterval(keepAlive);
        lastYield = performance.now();
        continue;
      }
      this.#switchTo(task);
      if (task.restartSyscall) {
        task.restartSyscall = false;
        const r = task.resumeWith;
        if (r === null) {
          this.#doSyscall64(task, true);
        } else {
          task.resumeWith = null;
          this.#endWaitState(task);
          const ax = (task.ptregs - this.mem.base + PtRegs.AX) >> 3;
          this.mem.words[ax] = r;
          if (this.#hooks !== null && this.#hooks.after.length > 0) this.#afterHooks(task, this.#hooks, (task.ptregs - this.mem.base) >> 3);
          this.tracer?.onExit(task, Number(this.mem.words[(task.ptregs - this.mem.base + PtRegs.ORIG_AX) >> 3]), this.mem.words[ax]!);
          this.#exitWork(task);
        }
        continue;
      }
      // The slice is time: 10 ms on the CPU since the task got it, however many syscalls it makes.
      const t0 = performance.now();
      if (t0 >= this.#timers.nextDueMs) {
        // A timer due while guest code ran fires now, not at the event loop's next turn; what it sent the
        // task is delivered before the task runs on (in the shim, "interrupts off": at its syscall's exit).
        this.#timers.fireDue();
        if ((task.pending.length > 0 || task.process.pending.length > 0) && (task.regsAt !== RegsAt.Cpu || !this.#inShim())) this.#deliverSignals(task);
        continue;
      }
      const used = t0 - this.#sliceStart;
      // With no host event to wait for (timers, host I/O), only host signals need the event loop.
      const alone = this.#hostWaiters === 0 && this.#runQueue.length === 0;
      const yieldMs = this.#hostWaiters === 0 ? YIELD_IDLE_MS : YIELD_MS;
      if (used >= SLICE_MS || t0 - lastYield >= yieldMs) {
        if (used >= SLICE_MS) this.#sliceOver(task, t0);
        this.clock.refresh();
        if (t0 - lastYield >= yieldMs) {
          // Node's event loop (host timers, I/O, signals) runs at least once a slice.
          this.#chargeSystem(t0);
          await new Promise<void>((r) => setImmediate(r));
          lastYield = performance.now();
        }
        continue;
      }
      this.#chargeSystem(t0);
      // Only with nobody to show each call to: tracers and syscall hooks see every read and write.
      if (this.#offload !== null || this.#mmOffload !== null) {
        const allowed = this.tracer === null && this.#hooks?.syscalls !== true;
        if (this.#offload !== null) this.#offload.publish(task.process.files, allowed);
        if (this.#mmOffload !== null) this.#mmOffload.publish(task.process.mm, allowed);
      }
      // A backend that measures each run's slice gets what is left of the task's; another keeps its periodic tick,
      // which need not come more often than the event loop's turn while the task runs alone and no CPU-time timer counts.
      const tickMs = alone && task.process.itimerVirtual === null && task.process.itimerProf === null ? YIELD_IDLE_MS : SLICE_MS;
      // Either way a run ends by the next host timer's due time, which then fires on time (above).
      const budget = this.#slicePerRun ? Math.max(MIN_RUN_MICROS, Math.ceil((SLICE_MS - used) * 1000)) : tickMs * 1000;
      const reason = this.cpu.run(Math.min(budget, Math.max(MIN_RUN_MICROS, Math.ceil((this.#timers.nextDueMs - t0) * 1000))));
      const t1 = performance.now();
      if (this.#mmOffload !== null) this.#mmOffload.takeBack();
      this.#chargeUser(task, t1 - t0);
      this.#accountTask = task;
      this.#accountSince = t1;
      if (reason === StopReason.KernelCall) {
        this.#doSyscall64(task);
      } else {
        this.#handleStop(task, reason);
      }
    }
    return this.#result;
  }

  /**
   * The running task used up its slice: it goes behind the other runnable
   * tasks, or, alone, starts a new slice. (Not when it gave up the CPU
   * already: it is queued once, and a second entry would give it two turns a
   * round; nor in the middle of the entry or exit shim, "interrupts off".)
   */
  #sliceOver(task: Task, now: number): void {
    if (this.#runQueue.length === 0 || this.#current !== task || task.state !== TaskState.Runnable || this.#yieldCpu ||
        (task.regsAt === RegsAt.Cpu && this.#inShim())) {
      this.#sliceStart = now;
      return;
    }
    this.#runQueue.push(task);
    this.#yieldCpu = true; // it keeps its CPU state until another task is switched in
  }

  /** The task the kernel works for since `#accountSince` (its system time), or null while idle. */
  #accountTask: Task | null = null;
  #accountSince = 0;

  /** Guest CPU time: what the CPU backend ran for `task`; ITIMER_VIRTUAL and ITIMER_PROF count it down. */
  #chargeUser(task: Task, ms: number): void {
    const proc = task.process;
    task.utimeMs += ms;
    proc.utimeMs += ms;
    if (proc.itimerVirtual !== null) this.#cpuTimerTick(proc, proc.itimerVirtual, ms, SIG.VTALRM);
    if (proc.itimerProf !== null) this.#cpuTimerTick(proc, proc.itimerProf, ms, SIG.PROF);
  }

  /** The kernel's time since the last run of the CPU is the system time of the task it ran for. */
  #chargeSystem(now: number): void {
    const task = this.#accountTask;
    if (task === null) return;
    this.#accountTask = null;
    const ms = now - this.#accountSince;
    const proc = task.process;
    task.stimeMs += ms;
    proc.stimeMs += ms;
    if (proc.itimerProf !== null) this.#cpuTimerTick(proc, proc.itimerProf, ms, SIG.PROF);
  }

  #cpuTimerTick(proc: Process, timer: CpuTimer, ms: number, signo: number): void {
    timer.leftMs -= ms;
    if (timer.leftMs > 0) return;
    if (timer.intervalMs > 0) {
      while (timer.leftMs <= 0) timer.leftMs += timer.intervalMs;
    } else if (signo === SIG.VTALRM) {
      proc.itimerVirtual = null;
    } else {
      proc.itimerProf = null;
    }
    if (proc.exitStatus === null) this.sendSignal(proc, { signo, code: SI_KERNEL });
  }

  #pickNext(): Task | null {
    const cur = this.#current;
    if (cur && cur.state === TaskState.Runnable) {
      if (!this.#yieldCpu && !cur.process.stopped) return cur;
      // A task stopped inside the entry shim must finish it first ("interrupts off"), even if its group stopped:
      // it is in the kernel, and Linux too finishes the syscall before the stop.
      if (cur.regsAt === RegsAt.Cpu && this.#inShim()) return cur;
    }
    this.#yieldCpu = false;
    while (this.#runQueue.length > 0) {
      const t = this.#runQueue.shift()!;
      // A stopped group's threads leave the queue; SIGCONT puts them back.
      if (t.state === TaskState.Runnable && this.tasks.has(t.tid) && !t.process.stopped) {
        // A fresh slice: from now if it is still on the CPU, else from the end of the switch (whose cost is not its).
        if (t === cur) this.#sliceStart = performance.now();
        return t;
      }
    }
    return null;
  }

  /** Makes `next` the task on the CPU: the context switch. */
  #switchTo(next: Task): void {
    const prev = this.#current;
    const cpu = this.cpu;
    if (prev === next) {
      // Still on the CPU; only a fresh image (execve) replaces its registers.
      if (next.regsAt === RegsAt.Full) {
        cpu.setFpState(next.fpState);
        this.#loadUserRegs(next);
        next.regsAt = RegsAt.Cpu;
      }
      return;
    }
    if (prev && prev.state !== TaskState.Zombie) {
      cpu.getFpState(prev.fpState);
      prev.fsBase = cpu.getReg(Reg.FS_BASE);
      if (prev.regsAt === RegsAt.Cpu) this.#saveUserRegs(prev);
    }
    if (this.phys.overlays.size > 0 && prev?.process.mm !== next.process.mm) this.phys.overlays.activate(next.process.mm);
    if (next.setChildTid !== 0) {
      this.mem.setU32(next.setChildTid, next.tid);
      next.setChildTid = 0;
    }
    this.mem.setU64(this.vdso.currentPtregs, next.ptregs);
    this.mem.setU64(this.vdso.currentTopOfStack, next.topOfStack);
    cpu.setFpState(next.fpState);
    if (next.regsAt === RegsAt.Full) {
      // Another task ran since it was stopped in user mode: a restartable sequence it was in restarts.
      if (next.rseq !== null) this.#rseqAbort(next);
      this.#loadUserRegs(next);
      next.regsAt = RegsAt.Cpu;
    } else {
      // Back to user mode through the shim's exit path, which pops pt_regs (still the truth until then).
      cpu.setReg(Reg.RIP, BigInt(this.vdso.vsyscallExit));
    }
    cpu.setReg(Reg.FS_BASE, next.fsBase);
    this.#current = next;
    this.#sliceStart = performance.now();
  }

  /** Is the CPU inside __kernel_vsyscall or do_syscall_64 (kernel mode, registers half in pt_regs)? */
  #inShim(): boolean {
    const rip = Number(this.cpu.getReg(Reg.RIP));
    return rip >= this.vdso.vsyscall && rip < this.vdso.trap + 16;
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
  #doSyscall64(task: Task, rerun = false): void {
    task.regsAt = RegsAt.Syscall;
    const words = this.mem.words;
    const base = (task.ptregs - this.mem.base) >> 3;
    const nrRaw = words[base + ORIG_AX]!;
    const table = this.syscalls;
    const tracer = this.tracer;
    const args = this.#args;
    args.base = base;
    // Unsigned bound check, as Linux does: -1 is huge. (Comparing as numbers avoids a BigInt per syscall.)
    const nr = nrRaw >= 0n && nrRaw < 0x100000000n && Number(nrRaw) < table.size ? Number(nrRaw) : -1;
    const handler = nr >= 0 ? table.handlers[nr] : undefined;
    if (nr >= 0) this.syscallsMade[nr] = 1;
    const hooks = this.#hooks;
    // A hook's answer replaces the handler; a parked call running again is not shown to them twice.
    const answered = hooks !== null && !rerun && hooks.before.length > 0 && this.#beforeHooks(task, hooks, base);
    if (tracer) tracer.onEntry(task, nr >= 0 ? nr : Number(BigInt.asIntN(32, nrRaw)), args);
    if (handler !== undefined && !answered) {
      let result;
      try {
        result = handler(task, args);
      } catch (e) {
        if (e instanceof Errno) result = e;
        // A host filesystem error a handler did not translate still becomes the guest's errno.
        else if (isHostError(e)) result = hostErrno(e);
        else throw e;
      }
      if (task.waitState !== null && result !== BLOCK) task.waitState = null;
      if (typeof result === 'number') words[base + AX] = BigInt(result);
      else if (typeof result === 'bigint') words[base + AX] = result;
      else if (result instanceof Errno) words[base + AX] = BigInt(-result.errno);
      else if (result === BLOCK) {
        // Parked: when woken, the syscall runs again from its pt_regs (as Linux restarts).
        task.restartSyscall = true;
        if (tracer) tracer.onBlock?.(task, nr);
        // Like Linux's interruptible sleeps, which look for a signal before sleeping: one that came while
        // the call ran (a wait woken, run again and about to sleep again) ends the sleep at once.
        if (task.state === TaskState.Blocked && this.#signalWaiting(task)) this.#interrupt(task);
        return;
      } else if (result === NORETURN) {
        // exit, execve, rt_sigreturn: the registers are new; nothing to write into ax.
        if (task.process.exitStatus !== null || task.state === TaskState.Zombie) return;
        if (tracer) tracer.onExit(task, nr, words[base + AX]!);
        this.#exitWork(task);
        return;
      }
    } else if (tracer && !answered) {
      tracer.onUnimplemented?.(task, nr >= 0 ? nr : Number(BigInt.asIntN(32, nrRaw)));
    }
    if (hooks !== null && hooks.after.length > 0) this.#afterHooks(task, hooks, base);
    if (tracer) tracer.onExit(task, nr >= 0 ? nr : Number(BigInt.asIntN(32, nrRaw)), words[base + AX]!);
    this.#exitWork(task);
  }

  /** The syscall in the pt_regs at `base` (word index), as hooks see it. */
  #hookCall(task: Task, base: number): SyscallCall {
    const nr = Number(BigInt.asIntN(32, this.mem.words[base + ORIG_AX]!));
    return new SyscallCall(task, nr, this.syscalls.entry(nr)?.name ?? `syscall_${nr}`, this.mem, base);
  }

  /** Runs the before-syscall hooks; true when one answered (its answer is in ax). */
  #beforeHooks(task: Task, hooks: HookLists, base: number): boolean {
    let answer: bigint | null;
    try {
      answer = hooks.runBefore(this.#hookCall(task, base));
    } catch (e) {
      if (!(e instanceof Errno)) throw e;
      answer = BigInt(-e.errno);
    }
    if (answer === null) return false;
    this.mem.words[base + AX] = answer;
    return true;
  }

  /** Runs the after-syscall hooks on the result in ax. */
  #afterHooks(task: Task, hooks: HookLists, base: number): void {
    const words = this.mem.words;
    try {
      words[base + AX] = hooks.runAfter(this.#hookCall(task, base), words[base + AX]!);
    } catch (e) {
      if (!(e instanceof Errno)) throw e;
      words[base + AX] = BigInt(-e.errno);
    }
  }

  /** interrupt_end: what runs before any return to user mode (scheduling is #pickNext's). */
  #exitWork(task: Task): void {
    if (task.pending.length > 0 || task.process.pending.length > 0 || this.#isRestart(task)) this.#deliverSignals(task);
  }

  /** Did a syscall end with a restart code? (orig_ax -1: not in a syscall, e.g. after rt_sigreturn) */
  #isRestart(task: Task): boolean {
    if (task.regsAt === RegsAt.Cpu) return false;
    const ax = this.mem.i64(task.ptregs + PtRegs.AX);
    return ax <= -512n && ax >= -516n && this.mem.i64(task.ptregs + PtRegs.ORIG_AX) >= 0n;
  }

  // ---- signals ----

  sigaction(proc: Process, sig: number): SigAction {
    return parseSigaction(proc.sigactions.get(sig));
  }

  #ignored(proc: Process, sig: number): boolean {
    const act = this.sigaction(proc, sig);
    if (act.handler === SIG_IGN) return true;
    if (act.handler !== SIG_DFL) return false;
    const what = defaultAction(sig);
    return what === 'ignore' || what === 'cont'; // SIGCONT's work is done when it is sent
  }

  /** Drops the pending signals in `mask` from the process and its threads. */
  #discardPending(proc: Process, mask: bigint): void {
    const drop = (q: SigInfo[]): void => {
      for (let i = q.length - 1; i >= 0; i--) if ((mask & bit(q[i]!.signo)) !== 0n) q.splice(i, 1)[0]!.onDequeue?.(false);
    };
    drop(proc.pending);
    for (const t of proc.threads) drop(t.pending);
  }

  /**
   * A default stop (Linux's do_signal_stop): the whole thread group stops at
   * once; its threads keep their place (a parked one stays parked) and are not
   * scheduled until SIGCONT. The parent hears of it (wait WUNTRACED, SIGCHLD).
   */
  #stopGroup(proc: Process, sig: number): void {
    // The first process is the guest's init: as for a PID namespace's init, a default stop does nothing to it
    // (nothing outside could continue it). The terminal's stop signals do nothing to an orphaned process group.
    if (proc.stopped || proc === this.#init || (sig !== SIG.STOP && this.#orphanedPgrp(proc.pgid))) return;
    proc.stopped = true;
    proc.jobEvent = { kind: 'stopped', signo: sig };
    this.#notifyParentJob(proc, CLD_STOPPED, sig);
  }

  /** SIGCONT sent to a stopped group: its runnable threads go back on the run queue. */
  #continueGroup(proc: Process): void {
    proc.stopped = false;
    proc.jobEvent = { kind: 'continued', signo: SIG.CONT };
    for (const t of proc.threads) if (t.state === TaskState.Runnable && !this.#runQueue.includes(t)) this.#runQueue.push(t);
    this.#notifyParentJob(proc, CLD_CONTINUED, SIG.CONT);
    this.#kick();
  }

  /** A child stopped or continued: wake the parent's waits, then SIGCHLD unless it asked for SA_NOCLDSTOP. */
  #notifyParentJob(proc: Process, code: number, status: number): void {
    const parent = proc.parent;
    if (!parent || parent.exitStatus) return;
    for (const w of parent.childWaiters) this.wakeUp(w, false);
    parent.childWaiters.clear();
    if ((this.sigaction(parent, SIG.CHLD).flags & SA.NOCLDSTOP) !== 0) return;
    this.sendSignal(parent, { signo: SIG.CHLD, code, pid: proc.pid, uid: this.identity.uid, status });
  }

  /**
   * POSIX's orphaned process group: no live member has a parent in another
   * group of the same session. The first process counts as having one (the
   * host shell that started nommu); one adopted by it does not (Linux's rule
   * for children of init).
   */
  #orphanedPgrp(pgid: number): boolean {
    for (const p of this.processes.values()) {
      if (p.pgid !== pgid || p.exitStatus) continue;
      if (p === this.#init) return false;
      const parent = p.parent;
      if (!parent || p.adopted || parent.exitStatus) continue;
      if (parent.pgid !== pgid && parent.sid === p.sid) return false;
    }
    return true;
  }

  #hangUpOrphaned(pgid: number): void {
    const members = [...this.processes.values()].filter((p) => p.pgid === pgid && !p.exitStatus);
    if (!members.some((p) => p.stopped) || !this.#orphanedPgrp(pgid)) return;
    for (const p of members) {
      this.sendSignal(p, { signo: SIG.HUP, code: SI_KERNEL });
      this.sendSignal(p, { signo: SIG.CONT, code: SI_KERNEL });
    }
  }

  /**
   * Generates a signal for a process (or one thread of it). Ignored signals that
   * are not blocked are dropped at once; a standard signal already pending is not
   * queued twice; a parked task that will take it is interrupted.
   */
  sendSignal(target: Process | Task, info: SigInfo): void {
    const proc = target instanceof Task ? target.process : target;
    if (proc.exitStatus) return;
    const sig = info.signo;
    if (sig === SIG.KILL) {
      this.exitProcess(proc, { code: 0, signal: SIG.KILL, coreDumped: false });
      return;
    }
    // Linux's prepare_signal: a stop discards a pending SIGCONT, SIGCONT discards pending stops and resumes.
    if (sig === SIG.CONT) {
      this.#discardPending(proc, STOP_SIGNALS);
      if (proc.stopped) this.#continueGroup(proc);
    } else if ((bit(sig) & STOP_SIGNALS) !== 0n) {
      this.#discardPending(proc, bit(SIG.CONT));
    }
    const threads = target instanceof Task ? [target] : proc.threads.filter((t) => t.state !== TaskState.Zombie);
    const blockedEverywhere = threads.every((t) => (t.sigmask & bit(sig)) !== 0n);
    if (!blockedEverywhere && this.#ignored(proc, sig)) return;
    // A default stop takes effect at once (no thread needs to leave its wait; they are simply not scheduled).
    if (!blockedEverywhere && defaultAction(sig) === 'stop' && this.sigaction(proc, sig).handler === SIG_DFL) {
      this.#stopGroup(proc, sig);
      return;
    }
    const queue = target instanceof Task ? target.pending : proc.pending;
    if (sig < 32 && queue.some((i) => i.signo === sig)) return;
    queue.push(info);
    proc.signalQueue.wake();
    // sigtimedwait takes blocked signals: wake a thread waiting for this one.
    const waiter = threads.find((t) => t.state === TaskState.Blocked && t.sigwait !== null && (t.sigwait & bit(sig)) !== 0n);
    if (waiter) {
      this.#cancelTimer(waiter);
      this.wakeUp(waiter, false);
      return;
    }
    // Who takes it: a thread that does not block it, preferably one that is parked.
    const taker = threads.find((t) => (t.sigmask & bit(sig)) === 0n && t.state === TaskState.Blocked) ??
      threads.find((t) => (t.sigmask & bit(sig)) === 0n);
    if (taker && taker.state === TaskState.Blocked) this.#interrupt(taker);
  }

  /** Is a signal pending that `task` would act on (not blocked, not ignored): one a sleep must not wait past? */
  #signalWaiting(task: Task): boolean {
    for (const q of [task.pending, task.process.pending]) {
      for (const info of q) {
        const b = bit(info.signo);
        if ((task.sigmask & b) !== 0n && (b & UNBLOCKABLE) === 0n) continue;
        if (!this.#ignored(task.process, info.signo)) return true;
      }
    }
    return false;
  }

  /** Ends a parked syscall so the signal can be handled (EINTR or a restart). */
  #interrupt(task: Task): void {
    if (task.waitReason === 'vfork') return; // a vfork parent waits for its child, whatever comes
    this.#dropFutexWait(task);
    this.#cancelTimer(task);
    task.process.childWaiters.delete(task);
    task.onInterrupt?.();
    task.onInterrupt = null;
    this.wakeUp(task, false, BigInt(-task.interruptCode));
    task.interruptCode = E.ERESTARTSYS;
  }

  #takeSignal(task: Task): SigInfo | null {
    const mask = task.sigmask;
    for (const q of [task.pending, task.process.pending]) {
      let best = -1;
      for (let i = 0; i < q.length; i++) {
        const s = q[i]!.signo;
        if ((mask & bit(s)) !== 0n && (bit(s) & UNBLOCKABLE) === 0n) continue;
        if (best < 0 || s < q[best]!.signo) best = i;
      }
      if (best >= 0) return dequeued(q.splice(best, 1)[0]!);
    }
    return null;
  }

  /** sigtimedwait's and signalfd's dequeue: the lowest pending signal in `set` (the thread's first), if any. */
  takePending(task: Task, set: bigint): SigInfo | null {
    for (const q of [task.pending, task.process.pending]) {
      let best = -1;
      for (let i = 0; i < q.length; i++) {
        const s = q[i]!.signo;
        if ((set & bit(s)) !== 0n && (best < 0 || s < q[best]!.signo)) best = i;
      }
      if (best >= 0) return dequeued(q.splice(best, 1)[0]!);
    }
    return null;
  }

  /** Delivers pending signals to `task`, which is about to return to user mode. */
  #deliverSignals(task: Task): void {
    if (task.regsAt === RegsAt.Cpu) this.#saveUserRegs(task);
    let delivered = false;
    for (;;) {
      const info = this.#takeSignal(task);
      if (!info) break;
      const proc = task.process;
      const sig = info.signo;
      const act = this.sigaction(proc, sig);
      if (act.handler === SIG_IGN) continue;
      if (act.handler === SIG_DFL) {
        const what = defaultAction(sig);
        if (what === 'stop') this.#stopGroup(proc, sig);
        if (what === 'ignore' || what === 'cont' || what === 'stop') continue;
        this.#signalSeen(task, info);
        this.exitProcess(proc, { code: 0, signal: sig, coreDumped: false }); // nommu writes no core files
        return;
      }
      this.#signalSeen(task, info);
      // A handler interrupting a restartable sequence returns to its abort handler (Linux's rseq_signal_deliver).
      if (task.rseq !== null) this.#rseqAbort(task);
      // Like Linux's exit loop: every deliverable signal gets a frame; the last one's handler runs first.
      if (!this.#setupFrame(task, info, act)) return;
      delivered = true;
    }
    if (delivered) return;
    this.#restartIfInterrupted(task, null);
    // No handler runs: the mask a sigsuspend or ppoll replaced comes back now (Linux's restore_saved_sigmask).
    if (task.savedSigmask !== null) {
      task.sigmask = task.savedSigmask;
      task.savedSigmask = null;
    }
  }

  /**
   * Linux's rseq_ip_fixup, on the registers in pt_regs: when the struct rseq
   * names a critical section (rseq_cs) and the saved instruction pointer is
   * inside it, the task goes on at the section's abort handler instead, whose
   * four bytes before must be the registered signature (SIGSEGV otherwise, as
   * for an unreadable descriptor). rseq_cs is cleared either way.
   */
  #rseqAbort(task: Task): void {
    const rs = task.rseq!;
    const mem = this.mem;
    const field = rs.addr + 8;
    if (!mem.ok(field, 8)) return this.#rseqFault(task);
    const cs = mem.u64(field);
    if (cs === 0n) return;
    const at = Number(cs);
    if (!mem.ok(at, 32)) return this.#rseqFault(task);
    const start = mem.u64(at + 8);
    const length = mem.u64(at + 16);
    const abort = mem.u64(at + 24);
    const ip = mem.u64(task.ptregs + PtRegs.IP);
    mem.setU64(field, 0n);
    if (ip - start >= length || ip < start) return;
    const abortAt = Number(abort);
    if (mem.u32(at) !== 0 || (abort >= start && abort - start < length) || !mem.ok(abortAt - 4, 4) || mem.u32(abortAt - 4) !== rs.sig) {
      return this.#rseqFault(task);
    }
    mem.setU64(task.ptregs + PtRegs.IP, abort);
  }

  /** A struct rseq or critical-section descriptor the kernel cannot use: SIGSEGV, as Linux's force_sig. */
  #rseqFault(task: Task): void {
    this.sendSignal(task, { signo: SIG.SEGV, code: SI_KERNEL });
  }

  #signalSeen(task: Task, info: SigInfo): void {
    this.tracer?.onSignal?.(task, info);
    if (this.#hooks) for (const h of this.#hooks.signal) h(task, info);
  }

  /** Linux's restart rules for a syscall that a signal interrupted. */
  #restartIfInterrupted(task: Task, act: SigAction | null): void {
    if (!this.#isRestart(task)) return;
    const p = task.ptregs;
    const ax = this.mem.i64(p + PtRegs.AX);
    const code = Number(-ax);
    // With no handler everything restarts; a restart block through restart_syscall, for the time left.
    const restart =
      act === null ? true : code === E.ERESTARTNOINTR || (code === E.ERESTARTSYS && (act.flags & SA.RESTART) !== 0);
    if (restart) {
      const nr = code === E.ERESTART_RESTARTBLOCK ? BigInt(NR_RESTART_SYSCALL) : this.mem.u64(p + PtRegs.ORIG_AX);
      this.mem.setU64(p + PtRegs.AX, nr);
      this.mem.setU64(p + PtRegs.IP, this.mem.u64(p + PtRegs.IP) - 2n); // back onto the syscall instruction
      task.regsAt = RegsAt.Full;
    } else {
      this.mem.setI64(p + PtRegs.AX, BigInt(-E.EINTR));
    }
  }

  /** Builds a handler's frame; false when the process died instead (no room for it). */
  #setupFrame(task: Task, info: SigInfo, act: SigAction): boolean {
    this.#restartIfInterrupted(task, act);
    const sig = info.signo;
    if (this.#current === task) this.cpu.getFpState(task.fpState);
    // SA_RESETHAND: SIG_DFL from now on, before the frame (Linux's get_signal); the flags stay.
    if ((act.flags & SA.RESETHAND) !== 0) this.#resetHandler(task.process, sig);
    const alt = task.altStack;
    const sp = this.mem.u64(task.ptregs + PtRegs.SP);
    const onAlt = onAltStack(alt, sp);
    const oldMask = task.savedSigmask ?? task.sigmask;
    const mm = task.process.mm;
    let frame: number;
    try {
      frame = buildFrame(this.mem, {
        ptregs: task.ptregs,
        fpState: task.fpState,
        mask: oldMask,
        info,
        restorer: (act.flags & SA.RESTORER) !== 0 ? act.restorer : 0n,
        altStack: alt,
        onAltStack: onAlt,
        switchStack: (act.flags & SA.ONSTACK) !== 0 && alt !== null && !onAlt,
        mayWrite: (addr, len) => mm.allows(addr, addr + len, PROT_WRITE),
      });
    } catch (e) {
      if (!(e instanceof Errno)) throw e;
      // No room for the frame (Linux's force_sigsegv): SIGSEGV, fatal if it was SIGSEGV's own frame.
      return this.#forceSegv(task, sig === SIG.SEGV);
    }
    task.savedSigmask = null;
    const p = task.ptregs;
    this.mem.setU64(p + PtRegs.IP, act.handler);
    this.mem.setU64(p + PtRegs.SP, frame);
    this.mem.setU64(p + PtRegs.DI, sig);
    this.mem.setU64(p + PtRegs.SI, frame + 8 + 304);
    this.mem.setU64(p + PtRegs.DX, frame + 8);
    this.mem.setU64(p + PtRegs.AX, 0);
    this.mem.setU64(p + PtRegs.FLAGS, this.mem.u64(p + PtRegs.FLAGS) & ~0x500n); // DF and TF off
    initFpState(task.fpState); // handlers start with a clean FPU
    task.sigmask |= act.mask | ((act.flags & SA.NODEFER) !== 0 ? 0n : bit(sig));
    task.sigmask &= ~UNBLOCKABLE;
    // SS_AUTODISARM: no alternate stack while the handler runs; rt_sigreturn brings it back from uc_stack.
    if (alt !== null && (alt.flags & SS.AUTODISARM) !== 0) task.altStack = null;
    task.regsAt = RegsAt.Full;
    if (this.#current === task) this.#current = null; // reload everything, FPU included
    if (!this.#runQueue.includes(task)) this.#runQueue.unshift(task);
    return true;
  }

  /** The handler of `sig` becomes SIG_DFL; the flags and mask stay registered, as Linux keeps them. */
  #resetHandler(proc: Process, sig: number): void {
    const bytes = proc.sigactions.get(sig);
    if (!bytes) return;
    const reset = bytes.slice();
    reset.fill(0, 0, 8);
    proc.sigactions.set(sig, reset);
  }

  /**
   * The kernel could not write a signal frame or read one back (Linux's
   * force_sigsegv, signal_fault): SIGSEGV, which kills unless `fatal` is
   * false and an unblocked handler catches it (on the alternate stack, say).
   * False when the process died.
   */
  #forceSegv(task: Task, fatal: boolean): boolean {
    const info: SigInfo = { signo: SIG.SEGV, code: SI_KERNEL };
    const act = this.sigaction(task.process, SIG.SEGV);
    this.#signalSeen(task, info);
    if (fatal || (task.sigmask & bit(SIG.SEGV)) !== 0n || act.handler === SIG_IGN || act.handler === SIG_DFL) {
      this.exitProcess(task.process, { code: 0, signal: SIG.SEGV, coreDumped: false });
      return false;
    }
    return this.#setupFrame(task, info, act);
  }

  /** rt_sigreturn: back to where the signal interrupted, every register as it was. */
  sigreturn(task: Task): typeof NORETURN {
    const mm = task.process.mm;
    task.restartBlock = null;
    try {
      const back = restoreFrame(this.mem, task.ptregs, task.fpState, (addr, len) => mm.allows(addr, addr + len, PROT_READ));
      task.sigmask = back.mask & ~UNBLOCKABLE;
      // uc_stack comes back as sigaltstack would set it at the restored rsp; Linux ignores what it refuses.
      const alt = newAltStack(task.altStack, this.mem.u64(task.ptregs + PtRegs.SP), back.altStack);
      if (!(alt instanceof Errno)) task.altStack = alt;
    } catch (e) {
      if (!(e instanceof Errno)) throw e;
      // A frame the process may not read: nothing was restored; SIGSEGV, as Linux's signal_fault.
      this.mem.setU64(task.ptregs + PtRegs.AX, 0);
      this.#forceSegv(task, false);
      return NORETURN;
    }
    task.regsAt = RegsAt.Full;
    if (this.#current === task) this.#current = null;
    if (!this.#runQueue.includes(task)) this.#runQueue.unshift(task);
    return NORETURN;
  }

  /** A synchronous fault: delivered even if blocked or ignored (then it kills), like force_sig. */
  #forceSignal(task: Task, info: SigInfo): void {
    const proc = task.process;
    const act = this.sigaction(proc, info.signo);
    const blocked = (task.sigmask & bit(info.signo)) !== 0n;
    if (blocked || act.handler === SIG_IGN || act.handler === SIG_DFL) {
      this.#signalSeen(task, info);
      this.exitProcess(proc, { code: 0, signal: info.signo, coreDumped: false });
      return;
    }
    this.#saveUserRegs(task);
    this.#signalSeen(task, info);
    this.#setupFrame(task, info, act);
  }

  /** alarm(2) / ITIMER_REAL: returns the seconds that were left. */
  setAlarm(proc: Process, ms: number, intervalMs: number): number {
    const old = proc.alarm;
    const left = old ? Math.max(0, old.due - performance.now()) : 0;
    if (old) {
      this.#timers.cancel(old.timer);
      this.#hostWaiters--;
      proc.alarm = null;
    }
    if (ms > 0) {
      const fire = (): void => {
        this.#hostWaiters--;
        proc.alarm = null;
        if (proc.exitStatus) return;
        if (intervalMs > 0) this.setAlarm(proc, intervalMs, intervalMs);
        this.sendSignal(proc, { signo: SIG.ALRM, code: 0x80 });
        this.#kick();
      };
      this.#hostWaiters++;
      const timer = this.#timers.arm(process.hrtime.bigint() + BigInt(Math.ceil(ms * 1e6)), fire);
      proc.alarm = { timer, due: timer.dueMs, intervalMs };
    }
    return left;
  }

  /** A stop that is not a syscall: preemption, or a fault that becomes a signal. */
  #handleStop(task: Task, reason: StopReason): void {
    task.regsAt = RegsAt.Cpu;
    if (reason === StopReason.Preempted) {
      // The entry and exit paths run with "interrupts off": never switch mid-shim.
      if (this.#inShim()) return;
      if (task.pending.length > 0 || task.process.pending.length > 0) this.#deliverSignals(task);
      if (this.#runQueue.length > 0 && !this.#yieldCpu) {
        this.#runQueue.push(task);
        this.#yieldCpu = true;
      }
      return;
    }
    const stop = this.cpu.lastStop();
    let sig = signalFromStop(stop);
    // A page of a file mapping wholly past the end of the file: SIGBUS, as Linux's filemap fault answers.
    const need = stop.access === FaultAccess.Write ? PROT_WRITE : stop.access === FaultAccess.Fetch ? PROT_EXEC : PROT_READ;
    if (stop.reason === StopReason.Fault && sig.addr !== undefined && task.process.mm.isPastEndOfFile(Number(sig.addr), need)) {
      sig = { signo: SIG.BUS, code: SI_CODE.BUS_ADRERR, addr: sig.addr };
    }
    if (this.#hooks && stop.reason === StopReason.Fault) {
      const access = stop.access === FaultAccess.Write ? 'write' : stop.access === FaultAccess.Fetch ? 'fetch' : 'read';
      const fault: MemoryFault = { address: sig.addr ?? stop.address, rip: stop.rip, access, protection: stop.protection, signo: sig.signo, code: sig.code };
      for (const h of this.#hooks.fault) h(task, fault);
    }
    this.#forceSignal(task, { signo: sig.signo, code: sig.code, ...(sig.addr !== undefined ? { addr: sig.addr } : {}) });
  }

  /** For blocking syscalls: the task sleeps until `wakeUp`. */
  block(task: Task, reason: string, hostEvent: boolean): void {
    task.state = TaskState.Blocked;
    task.waitReason = reason;
    task.hostWait = hostEvent;
    if (hostEvent) this.#hostWaiters++;
  }

  /** Ends a task's sleep; `result` (if not null) is what its syscall returns, else it runs again. */
  wakeUp(task: Task, _hostEvent: boolean, result: bigint | null = null): void {
    if (task.state !== TaskState.Blocked) return;
    if (task.hostWait) {
      task.hostWait = false;
      this.#hostWaiters--;
    }
    task.state = TaskState.Runnable;
    task.onInterrupt = null;
    // The wait's timeout goes with the wait (a re-parked handler arms it again from its deadline).
    this.#cancelTimer(task);
    for (const q of task.waitQueues) q.remove(task);
    task.waitQueues.length = 0;
    task.interruptCode = E.ERESTARTSYS; // a wait that wants another answer sets it again when it parks
    task.resumeWith = result;
    this.#runQueue.push(task);
    this.#kick();
  }

  /** Host memory in use by guest RAM (for leak checks). */
  get ramInUse(): number {
    return this.phys.usedBytes;
  }

  /** sched_yield: let the other runnable tasks go first. */
  yield(task: Task): void {
    if (this.#runQueue.length === 0 || this.#yieldCpu) return;
    this.#runQueue.push(task);
    this.#yieldCpu = true;
  }

  /**
   * Job control at the terminal (Linux's __tty_check_change): a process of the
   * terminal's session outside its foreground group that reads (SIGTTIN) or
   * writes with TOSTOP / changes settings (SIGTTOU) stops its group with that
   * signal and retries the call when continued. A blocked or ignored SIGTTOU
   * lets it through, SIGTTIN then gives EIO, and so does an orphaned group.
   */
  terminalCheck(task: Task, signo: number, term: Tty | null = this.terminal): 0 | Errno {
    const proc = task.process;
    if (!term?.controls(proc) || term.foreground === 0 || proc.pgid === term.foreground) return 0;
    if ((task.sigmask & bit(signo)) !== 0n || this.sigaction(proc, signo).handler === SIG_IGN) {
      return signo === SIG.TTIN ? errno(E.EIO) : 0;
    }
    if (this.#orphanedPgrp(proc.pgid)) return errno(E.EIO);
    for (const p of this.processes.values()) {
      if (p.pgid === proc.pgid && p.exitStatus === null) this.sendSignal(p, { signo, code: SI_KERNEL });
    }
    return errno(E.ERESTARTSYS);
  }

  /** A new open of `task`'s controlling terminal (/dev/tty); null when it has none. */
  openTerminal(task: Task, flags: number): OpenFile | null {
    const ctty = task.process.ctty;
    if (ctty && ctty !== this.terminal) return ctty.controls(task.process) ? ctty.reopen(task, flags) : null;
    if (!this.terminal?.controls(task.process)) return null;
    const { source, sink } = this.#terminalStreams();
    const acc = flags & 3;
    return new StreamFile(flags, '/dev/tty', acc === O_RDONLY ? null : sink, acc === O_WRONLY ? null : source);
  }

  /** The standard streams that are the terminal nommu runs on: its input, and the output that writes to it. */
  #terminalStreams(): { source: StreamSource | null; sink: StreamSink | null } {
    const { stdin, stdout, stderr } = this.#stdio;
    const source = stdin.hostFd !== undefined && Terminal.isTerminal(stdin.hostFd) ? stdin : null;
    return { source, sink: isTerminalSink(stdout) ? stdout : isTerminalSink(stderr) ? stderr : null };
  }

  /** The console's stat, from the kernel's /dev (null when the root's /dev is shown: the host descriptor's then). */
  #consoleStat(): (() => KStat) | null {
    const devfs = this.#devfs;
    return devfs !== null ? () => devfs.consoleStat() : null;
  }

  /** A new open of /dev/console: the terminal nommu runs on, else its standard input and output. */
  openConsole(flags: number): StreamFile {
    const out = this.#terminalStreams().sink ?? this.#stdio.stdout;
    const acc = flags & 3;
    return new StreamFile(flags, '/dev/console', acc === O_RDONLY ? null : out, acc === O_WRONLY ? null : this.#stdio.stdin, this.#consoleStat());
  }

  /**
   * Can the terminal still end a wait where every task is blocked? Yes when its
   * foreground group catches a signal that a key or a window resize raises.
   */
  #terminalMayWake(): boolean {
    const fg = this.terminal?.foreground || 0;
    if (fg === 0) return false;
    for (const p of this.processes.values()) {
      if (p.pgid !== fg || p.exitStatus !== null) continue;
      for (const sig of [SIG.INT, SIG.QUIT, SIG.TSTP, SIG.WINCH]) {
        const h = this.sigaction(p, sig).handler;
        if (h !== SIG_DFL && h !== SIG_IGN) return true;
      }
    }
    return false;
  }

  /** A signal from a terminal to a process group (SI_KERNEL, as Linux's kill_pgrp from the tty layer). */
  signalGroup(pgid: number, signo: number): void {
    for (const p of this.processes.values()) {
      if (p.pgid === pgid && p.exitStatus === null) this.sendSignal(p, { signo, code: SI_KERNEL });
    }
  }

  /** A terminal signal key, or a host signal meant for the guest (nommu's Ctrl-C, SIGTERM, SIGHUP): to the foreground group. */
  signalForeground(signo: number): void {
    const group = this.terminal?.foreground || this.#init?.pgid || 1;
    for (const p of this.processes.values()) {
      if (p.pgid === group && p.exitStatus === null) this.sendSignal(p, { signo, code: 0x80 });
    }
    this.#kick();
  }

  /** Frees the backend (its RAM and engine) and the host streams. */
  dispose(): void {
    this.terminal?.restore();
    this.#stdio.stdin.close?.();
    this.#timers.cancelAll();
    this.net.dispose();
    this.cpu.dispose();
    this.vfs.dispose();
  }
}

/** A signal leaves its queue to be handled or taken: a timer's signal learns its overrun. */
function dequeued(info: SigInfo): SigInfo {
  info.onDequeue?.(true);
  return info;
}

function isHostError(e: unknown): boolean {
  return e instanceof Error && typeof (e as NodeJS.ErrnoException).code === 'string' && typeof (e as NodeJS.ErrnoException).syscall === 'string';
}

function hostNice(): number {
  try {
    return os.getPriority();
  } catch {
    return 0;
  }
}

/**
 * Random bytes handed out from a pool refilled 4 KiB at a time:
 * crypto.randomBytes costs ~10-15 us a call however few bytes it makes, and
 * every exec wants 16 (AT_RANDOM).
 */
class RandomPool {
  #pool = new Uint8Array(0);
  #at = 0;

  take(n: number): Uint8Array {
    if (n > 1024) return randomBytes(n);
    if (this.#at + n > this.#pool.length) {
      this.#pool = randomBytes(4096);
      this.#at = 0;
    }
    const out = Uint8Array.from(this.#pool.subarray(this.#at, this.#at + n)); // a copy (a Buffer's slice is a view)
    this.#pool.fill(0, this.#at, this.#at + n);
    this.#at += n;
    return out;
  }
}

/** Does this standard output write to a terminal? */
function isTerminalSink(sink: StreamSink): boolean {
  return sink.hostFd !== undefined && Terminal.isTerminal(sink.hostFd);
}

/**
 * Standard input redirected from a host regular file (`< file`): that file,
 * which seeks, preads and maps as natively (`head -n1; cat` seeks back), read
 * through a descriptor of its own from where the host's offset was. (Node has
 * no lseek: the host's own offset does not move.) Null for anything else.
 */
function hostRegularFile(source: StreamSource): HostFile | null {
  const fd = source.hostFd;
  if (fd === undefined || source.filter !== undefined) return null;
  try {
    if (!fs.fstatSync(fd).isFile()) return null;
    const hostPath = fs.readlinkSync(`/proc/self/fd/${fd}`);
    const pos = Number(/^pos:\s*(\d+)/m.exec(fs.readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'))?.[1] ?? 0);
    const file = new HostFile(fs.openSync(`/proc/self/fd/${fd}`, 'r'), O_RDONLY, hostPath, hostPath);
    file.pos = pos;
    return file;
  } catch {
    return null;
  }
}
