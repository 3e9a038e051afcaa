import type { FdTable } from '../fs/file.js';
import type { Kernel } from '../kernel.js';
import type { MemoryMap } from '../memory/mm.js';
import type { AltStack } from '../signal/altstack.js';
import type { SigInfo } from '../signal/frame.js';
import type { PosixTimer } from '../signal/timers.js';
import type { HostTimer } from '../hosttimers.js';
import type { SyscallResult } from '../syscalls.js';
import { WaitQueue } from '../fs/wait.js';
import type { Tty } from '../fs/tty.js';

/**
 * What a parked syscall keeps across its re-runs (Linux's restart_block): the
 * deadline of a timed wait, a half-done FIFO open. The kernel drops it when the
 * syscall returns; `cancel` undoes what it holds if the wait ends without the
 * handler (a signal, the task's death).
 */
export interface WaitState {
  cancel?(): void;
}

/** Where a task's user registers are right now. */
export const RegsAt = {
  /** In its pt_regs, saved by the entry shim: resume through the shim's exit path. */
  Syscall: 0,
  /** In the CPU (it was preempted or faulted in user code). */
  Cpu: 1,
  /** In its pt_regs, all of them (rcx and r11 too): restore every register directly. */
  Full: 2,
} as const;
export type RegsAt = (typeof RegsAt)[keyof typeof RegsAt];

export const TaskState = { Runnable: 0, Blocked: 1, Zombie: 2 } as const;
export type TaskState = (typeof TaskState)[keyof typeof TaskState];

/** A CPU-time interval timer: CPU time left before its signal, and the reload (ms). */
export interface CpuTimer {
  leftMs: number;
  intervalMs: number;
}

/** How a process ended, in wait-status terms. */
export interface ExitStatus {
  /** Exit code when the process exited. */
  code: number;
  /** Terminating signal, or 0. */
  signal: number;
  coreDumped: boolean;
}

/**
 * Linux's fs_struct: the working directory, the root directory (chroot) and
 * the umask. Every thread of a process shares its process's; clone(CLONE_FS)
 * shares it between processes too, unshare(CLONE_FS) takes a private copy.
 */
export class FsContext {
  /** Canonical guest path (from the kernel's root) of the working directory. */
  cwd = '/';
  /** Canonical guest path (from the kernel's root) of the root directory: '/' until chroot. */
  root = '/';
  umask = 0o022;

  copy(): FsContext {
    const c = new FsContext();
    c.cwd = this.cwd;
    c.root = this.root;
    c.umask = this.umask;
    return c;
  }
}

/**
 * A process (thread group): what its threads share. Fields are touched only
 * by the kernel while no guest code runs (one CPU, one kernel thread).
 */
export class Process {
  readonly threads: Task[] = [];
  readonly children: Process[] = [];
  parent: Process | null = null;
  pgid: number;
  sid: number;
  /** Its controlling terminal (inherited by fork; setsid, TIOCNOTTY and a hang-up drop it); null when none. */
  ctty: Tty | null = null;
  /** Working directory, root and umask: shared by clone(CLONE_FS), copied otherwise (see FsContext). */
  fsContext = new FsContext();
  get cwd(): string {
    return this.fsContext.cwd;
  }
  set cwd(v: string) {
    this.fsContext.cwd = v;
  }
  get umask(): number {
    return this.fsContext.umask;
  }
  set umask(v: number) {
    this.fsContext.umask = v;
  }
  /** The root directory (chroot), a canonical guest path. */
  get root(): string {
    return this.fsContext.root;
  }
  set root(v: string) {
    this.fsContext.root = v;
  }
  /** Resource limits the process set (prlimit64), [soft, hard] by resource; the others have their defaults. Kept across fork and exec. */
  readonly rlimits = new Map<number, readonly [bigint, bigint]>();
  /** Guest path of the running executable (/proc/self/exe). */
  exe = '';
  argv: string[] = [];
  envp: string[] = [];
  /** The auxiliary vector the running program started with (/proc/<pid>/auxv). */
  auxv: readonly (readonly [number, number])[] = [];
  /** When the process was created (host monotonic ns; /proc/<pid>/stat's starttime). */
  readonly startNs = process.hrtime.bigint();
  exitStatus: ExitStatus | null = null;
  /** Signal sent to the parent at exit (SIGCHLD unless clone said otherwise). */
  exitSignal = 17;
  /** The task that vforked this process, parked until it execs or exits. */
  vforkParent: Task | null = null;
  /** Tasks in wait4/waitid on this process's children. */
  readonly childWaiters = new Set<Task>();
  /** struct sigaction bytes per signal, as registered; shared by clone(CLONE_SIGHAND) (a process's threads share their process's). */
  sigactions = new Map<number, Uint8Array>();
  /** Process-directed signals not yet delivered. */
  readonly pending: SigInfo[] = [];
  /** Woken when a signal is queued for the process or one of its threads (signalfd). */
  readonly signalQueue = new WaitQueue();
  /** Woken when the process exits and when it is reaped (pidfd). */
  readonly exitQueue = new WaitQueue();
  /** alarm()/ITIMER_REAL. */
  alarm: { timer: HostTimer; due: number; intervalMs: number } | null = null;
  /** Job control: a stop signal stopped the whole group; no thread runs until SIGCONT. */
  stopped = false;
  /** A stop or continue the parent has not collected yet (wait4 WUNTRACED / WCONTINUED), with its signal. */
  jobEvent: { kind: 'stopped' | 'continued'; signo: number } | null = null;
  /** Adopted by the first process after its parent died: like a child of init, it keeps no process group from being orphaned. */
  adopted = false;
  /** PR_SET_CHILD_SUBREAPER: orphaned descendants come to it rather than to the first process. Kept across exec, not inherited. */
  childSubreaper = false;
  /** Guest CPU time of every thread, dead ones included (ms): user is time in the CPU backend, system in the kernel for it. */
  utimeMs = 0;
  stimeMs = 0;
  /** CPU time of the children it waited for, and of theirs (times' tms_cutime, RUSAGE_CHILDREN). */
  childUtimeMs = 0;
  childStimeMs = 0;
  /** ITIMER_VIRTUAL (user time) and ITIMER_PROF (user and system time) of the whole group; null when disarmed. */
  itimerVirtual: CpuTimer | null = null;
  itimerProf: CpuTimer | null = null;
  /** POSIX timers (timer_create) by id; deleted at exec and exit. */
  readonly timers = new Map<number, PosixTimer>();
  /** The id the next timer_create tries first. */
  nextTimerId = 0;

  constructor(
    readonly kernel: Kernel,
    readonly pid: number,
    public mm: MemoryMap,
    public files: FdTable,
  ) {
    this.pgid = pid;
    this.sid = pid;
  }

  get leader(): Task {
    return this.threads[0]!;
  }
}

/** A thread: what the scheduler runs. Per-thread CPU state lives here and in its pt_regs. */
export class Task {
  state: TaskState = TaskState.Runnable;
  regsAt: RegsAt = RegsAt.Full;
  /** Thread-local storage base (arch_prctl ARCH_SET_FS). */
  fsBase = 0n;
  gsBase = 0n;
  /** FP/vector state while the task is switched out (the backend's fpStateSize bytes, fxsave layout first). */
  readonly fpState: Uint8Array;
  /** set_tid_address / CLONE_CHILD_CLEARTID. */
  clearChildTid = 0;
  /** set_robust_list: the guest's struct robust_list_head, walked when the thread dies or execs (0: none). */
  robustList = 0;
  /**
   * The thread's registered struct rseq (rseq(2)): its address, length and
   * abort signature; null when none. Kept by fork, dropped by clone with
   * CLONE_VM and by exec.
   */
  rseq: { addr: number; len: number; sig: number } | null = null;
  /** Blocked signals (bit n-1 for signal n). */
  sigmask = 0n;
  /** The mask rt_sigsuspend replaced, restored after the handler runs. */
  savedSigmask: bigint | null = null;
  /** Thread-directed signals not yet delivered. */
  readonly pending: SigInfo[] = [];
  /** sigaltstack: the alternate signal stack, if any. */
  altStack: AltStack | null = null;
  /** What an interrupted wait answers (Linux's restart codes), ERESTARTSYS by default. */
  interruptCode = 512;
  /** Called when a signal interrupts the wait (nanosleep's remaining time); dropped when the wait ends otherwise. */
  onInterrupt: (() => void) | null = null;
  /**
   * Linux's restart_block: how restart_syscall resumes a wait that answered
   * ERESTART_RESTARTBLOCK (a sleep, a timed futex wait, poll) for the time
   * left, when a signal interrupted it and ran no handler. Set by the wait,
   * kept across the re-runs of restart_syscall, dropped by rt_sigreturn.
   */
  restartBlock: ((task: Task) => SyscallResult) | null = null;
  /** The signals an rt_sigtimedwait waits for, or null. */
  sigwait: bigint | null = null;
  /** Woken from a parked syscall: run it again before returning to user mode... */
  restartSyscall = false;
  /** ...unless the waker decided the result (futex, vfork, sleeps): then return this. */
  resumeWith: bigint | null = null;
  /** CLONE_CHILD_SETTID for a forked child: written once its memory is resident. */
  setChildTid = 0;
  /** The futex queues the task waits in (several for futex_waitv). */
  readonly futexKeys: string[] = [];
  /** A host timer that ends a timed wait. */
  timer: HostTimer | null = null;
  /** Thread name: set by exec (commOf), inherited by clone, changed by PR_SET_NAME. */
  comm = '';
  /** Nice value, -20..19 (setpriority); inherited by clone, kept across exec. */
  nice = 0;
  /**
   * Scheduling policy as sched_setscheduler set it (SCHED_OTHER, BATCH or IDLE,
   * with the SCHED_RESET_ON_FORK bit); inherited by clone unless that bit is set.
   * Recorded and reported: one round-robin queue runs every task.
   */
  schedPolicy = 0;
  /** The persona (personality(2)); inherited by clone, kept across exec. */
  personality = 0;
  /** PR_SET_NO_NEW_PRIVS: sticky, inherited by children and kept across execve. */
  noNewPrivs = false;
  /**
   * I/O priority as ioprio_set set it (class << 13 | level); null until then
   * (Linux's task without an I/O context). Inherited by clone when its class
   * is not IOPRIO_CLASS_NONE. Recorded and reported: no I/O is queued.
   */
  ioprio: number | null = null;
  /** Parked waiting for the host (a timer, input): not a deadlock while it lasts. */
  hostWait = false;
  /** Guest CPU time of this thread (ms): user in the CPU backend, system in the kernel (CLOCK_THREAD_CPUTIME_ID). */
  utimeMs = 0;
  stimeMs = 0;
  /** Why the task is parked, for deadlock reports. */
  waitReason = '';
  /** The wait queues the parked task joined; it leaves them all when it wakes. */
  readonly waitQueues: WaitQueue[] = [];
  /** State of the parked syscall across its re-runs; null outside a wait. */
  waitState: WaitState | null = null;

  constructor(
    /** The thread id; a thread that execs takes its process's pid (it becomes the leader). */
    public tid: number,
    public process: Process,
    /** Kernel block of this task in RAM: its kernel stack with pt_regs on top. */
    readonly kernelBlock: number,
    readonly ptregs: number,
    readonly topOfStack: number,
  ) {
    this.fpState = new Uint8Array(process.kernel.cpu.fpStateSize);
  }

  get kernel(): Kernel {
    return this.process.kernel;
  }
}

/** TASK_COMM_LEN less the NUL: names are cut to 15 bytes. */
const COMM_BYTES = 15;

/** A thread name as Linux makes it: at exec the base name of the file given to execve, cut to 15 bytes. */
export function commOf(name: string): string {
  const base = name.slice(name.lastIndexOf('/') + 1);
  return Buffer.from(base, 'utf8').subarray(0, COMM_BYTES).toString('utf8');
}

/** Fresh x87/SSE state as a process starts: FCW 0x37f, MXCSR 0x1f80. */
export function initFpState(fp: Uint8Array): void {
  fp.fill(0);
  fp[0] = 0x7f;
  fp[1] = 0x03;
  fp[24] = 0x80;
  fp[25] = 0x1f;
  fp[28] = 0xff;
  fp[29] = 0xff;
}
