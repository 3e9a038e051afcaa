import { SYSCALL_ARG_OFFSETS } from '@nommu/um-entry';
import { GuestMemory } from './memory/guest.js';
import type { UserMemory } from './memory/user.js';
import type { DecodedSyscall } from './syscalls.js';
import type { SigInfo } from './signal/frame.js';
import type { ExitStatus, Process, Task } from './task/task.js';

const ARG_WORDS = SYSCALL_ARG_OFFSETS.map((o) => o >> 3);

/**
 * One syscall as a hook sees it: number, name, the six argument registers.
 * Valid during the hook call only (keep values, not the object).
 */
export class SyscallCall {
  #memory: GuestMemory | null = null;

  constructor(
    readonly task: Task,
    readonly nr: number,
    /** The table's name for `nr`, or `syscall_<nr>`. */
    readonly name: string,
    private readonly mem: UserMemory,
    /** Index of the task's pt_regs in `mem.words`. */
    private readonly base: number,
  ) {}

  /** Argument register `i` (0-5: rdi, rsi, rdx, r10, r8, r9) as an unsigned 64-bit value. */
  arg(i: number): bigint {
    return BigInt.asUintN(64, this.mem.words[this.base + ARG_WORDS[i]!]!);
  }

  args(): bigint[] {
    return [0, 1, 2, 3, 4, 5].map((i) => this.arg(i));
  }

  /**
   * Changes argument register `i` before the handler reads it. As with
   * ptrace at syscall entry, the guest finds the new value in that register
   * when the call returns.
   */
  setArg(i: number, value: bigint | number): void {
    if (!(i >= 0 && i < 6)) throw new RangeError(`syscall argument index ${i} (0-5)`);
    this.mem.words[this.base + ARG_WORDS[i]!] = BigInt.asIntN(64, BigInt(value));
  }

  /**
   * The call with its arguments named and rendered as strace does, from the
   * syscall table's decoder; without one, arguments are `arg0`.. in hex.
   */
  decode(): DecodedSyscall {
    const args = this.args();
    const decoder = this.task.kernel.syscalls.decoder;
    if (decoder) {
      const memory = this.memory;
      return decoder(this.nr, args, {
        read: (addr, len) => (memory.valid(addr, len) ? memory.read(addr, len) : null),
      });
    }
    const decoded = args.map((value, i) => ({ name: `arg${i}`, value, text: `0x${value.toString(16)}` }));
    return { nr: this.nr, name: this.name, args: decoded, text: `${this.name}(${decoded.map((a) => a.text).join(', ')})` };
  }

  /** The calling process's memory, EFAULT-checked. */
  get memory(): GuestMemory {
    return (this.#memory ??= new GuestMemory(this.mem, this.task));
  }
}

/** What a before-syscall hook may answer instead of letting the handler run. */
export type SyscallVerdict = { result: bigint | number } | { errno: number };

/** A memory fault of a task, before it becomes SIGSEGV. */
export interface MemoryFault {
  /** The faulting data address (the instruction's for fetches). */
  address: bigint;
  rip: bigint;
  access: 'read' | 'write' | 'fetch';
  /** Mapped, but the access broke the mapping's protection (else: nothing mapped there). */
  protection: boolean;
  /** The signal it becomes. */
  signo: number;
  code: number;
}

/**
 * Typed observation and control points of the kernel. Every member is
 * optional; with no hooks installed the syscall path costs one null check.
 * An `Errno` thrown by `beforeSyscall` or `afterSyscall` becomes the syscall's
 * answer; any other exception ends `Kernel.run()` with that error.
 */
export interface KernelHooks {
  /**
   * Before the handler. Change arguments with `call.setArg`; return a verdict
   * to skip the handler and answer with it. Hooks run in the order they were
   * added; the first verdict wins and later hooks are not asked. A call that
   * parked and runs again after a wake-up is not seen twice.
   */
  beforeSyscall?(call: SyscallCall): SyscallVerdict | undefined | void;
  /**
   * When the call returns (also after a skip): `result` is rax (negative errno
   * on failure); return a value to replace it. Not called for calls that do
   * not return (exit, exit_group, a successful execve, rt_sigreturn).
   */
  afterSyscall?(call: SyscallCall, result: bigint): bigint | number | undefined | void;
  /** A process replaced its image (execve succeeded): the resolved guest path and the new argv/envp. */
  onExec?(task: Task, exec: { path: string; argv: readonly string[]; envp: readonly string[] }): void;
  /** A signal is delivered: a handler is about to run, or its default action kills the process. */
  onSignal?(task: Task, info: Readonly<SigInfo>): void;
  /** clone/fork/vfork created `child` (a thread or a new process). */
  onTaskCreate?(parent: Task, child: Task): void;
  /** A thread ended (exit, exit_group, exec, a fatal signal). */
  onTaskExit?(task: Task): void;
  /** A process ended with `status` (it stays a zombie until reaped); its threads' onTaskExit follow. */
  onProcessExit?(process: Process, status: ExitStatus): void;
  /** A task touched memory it may not; the signal follows. */
  onFault?(task: Task, fault: MemoryFault): void;
}

/** The installed hooks, one list per point, so the kernel asks only those that listen. */
export class HookLists {
  readonly before: NonNullable<KernelHooks['beforeSyscall']>[] = [];
  readonly after: NonNullable<KernelHooks['afterSyscall']>[] = [];
  readonly exec: NonNullable<KernelHooks['onExec']>[] = [];
  readonly signal: NonNullable<KernelHooks['onSignal']>[] = [];
  readonly taskCreate: NonNullable<KernelHooks['onTaskCreate']>[] = [];
  readonly taskExit: NonNullable<KernelHooks['onTaskExit']>[] = [];
  readonly processExit: NonNullable<KernelHooks['onProcessExit']>[] = [];
  readonly fault: NonNullable<KernelHooks['onFault']>[] = [];

  /** The lists for `sets`, or null when nothing listens (the hot path then checks one field). */
  static of(sets: readonly KernelHooks[]): HookLists | null {
    if (sets.length === 0) return null;
    const l = new HookLists();
    for (const h of sets) {
      if (h.beforeSyscall) l.before.push(h.beforeSyscall.bind(h));
      if (h.afterSyscall) l.after.push(h.afterSyscall.bind(h));
      if (h.onExec) l.exec.push(h.onExec.bind(h));
      if (h.onSignal) l.signal.push(h.onSignal.bind(h));
      if (h.onTaskCreate) l.taskCreate.push(h.onTaskCreate.bind(h));
      if (h.onTaskExit) l.taskExit.push(h.onTaskExit.bind(h));
      if (h.onProcessExit) l.processExit.push(h.onProcessExit.bind(h));
      if (h.onFault) l.fault.push(h.onFault.bind(h));
    }
    return l;
  }

  /** Does any hook see syscalls (so every call must reach the kernel)? */
  get syscalls(): boolean {
    return this.before.length > 0 || this.after.length > 0;
  }

  /** Before-syscall hooks in order: the answer of the first that gives one, else null. */
  runBefore(call: SyscallCall): bigint | null {
    for (const h of this.before) {
      const v = h(call);
      if (v) return 'errno' in v ? BigInt(-Math.abs(v.errno)) : BigInt.asIntN(64, BigInt(v.result));
    }
    return null;
  }

  /** After-syscall hooks in order, each seeing the result the previous one left. */
  runAfter(call: SyscallCall, result: bigint): bigint {
    let r = result;
    for (const h of this.after) {
      const v = h(call, r);
      if (v !== undefined) r = BigInt.asIntN(64, BigInt(v));
    }
    return r;
  }
}
