import { SYSCALL_ARG_OFFSETS } from '@nommu/um-entry';
import type { Errno } from './errno.js';
import type { Task } from './task/task.js';

/** Version of the registry interface below; a table built for another refuses to load. */
export const SYSCALL_REGISTRY_VERSION = 1;

/** What a handler answers: a result, an Errno, or BLOCK after parking the task. */
export type SyscallResult = number | bigint | Errno | typeof BLOCK | typeof NORETURN;

/** The task was parked (task.block): the syscall runs again when it wakes. */
export const BLOCK: unique symbol = Symbol('BLOCK');
/** The task no longer returns to this syscall (exit, successful execve that replaced registers). */
export const NORETURN: unique symbol = Symbol('NORETURN');

export type SyscallHandler = (task: Task, args: SyscallArgs) => SyscallResult;

export type SupportLevel = 'supported' | 'partial' | 'unimplemented';

export interface SyscallEntry {
  readonly nr: number;
  readonly name: string;
  readonly handler: SyscallHandler | null;
  readonly level: SupportLevel;
  /** What is missing (partial) or why it is absent (unimplemented). */
  readonly note: string;
  /** The errno an unimplemented entry answers (ENOSYS unless noted). */
  readonly errno: number;
}

export interface DecodedSyscallArg {
  /** The argument's name in the syscall's signature (`pathname`, `flags`). */
  readonly name: string;
  /** The raw register. */
  readonly value: bigint;
  /** As strace prints it at entry (`"/etc/passwd"`, `O_RDONLY|O_CLOEXEC`); an argument the kernel fills in shows its address. */
  readonly text: string;
}

export interface DecodedSyscall {
  readonly nr: number;
  readonly name: string;
  readonly args: readonly DecodedSyscallArg[];
  /** The whole call as strace shows it at entry: `openat(AT_FDCWD, "/etc/passwd", O_RDONLY)`. */
  readonly text: string;
}

/** Reads guest bytes for a decoder; null where they are not readable. */
export interface SyscallMemoryReader {
  read(addr: bigint, len: number): Uint8Array | null;
}

/** Names and renders a call's arguments; @nommu/syscall-table's table brings one (its strace decoder). */
export type SyscallDecoder = (nr: number, args: readonly bigint[], memory: SyscallMemoryReader) => DecodedSyscall;

/**
 * The dispatch table: handlers indexed by syscall number. The kernel owns the
 * type; @nommu/syscall-table fills it. Numbers past `size` or without a handler
 * answer -ENOSYS, as the entry shim presets.
 */
export class SyscallTable {
  readonly version = SYSCALL_REGISTRY_VERSION;
  /** Dense for the hot path: handlers[nr] or undefined. */
  readonly handlers: (SyscallHandler | undefined)[] = [];
  readonly entries = new Map<number, SyscallEntry>();
  /** Decodes arguments for hooks (`SyscallCall.decode`); null: they see raw registers only. */
  decoder: SyscallDecoder | null = null;

  get size(): number {
    return this.handlers.length;
  }

  register(entry: SyscallEntry): void {
    this.entries.set(entry.nr, entry);
    while (this.handlers.length <= entry.nr) this.handlers.push(undefined);
    this.handlers[entry.nr] = entry.handler ?? undefined;
  }

  /** Replace or add one handler (library users' overrides). */
  override(nr: number, name: string, handler: SyscallHandler, note = 'overridden by the embedder'): void {
    this.register({ nr, name, handler, level: 'supported', note, errno: 0 });
  }

  entry(nr: number): SyscallEntry | undefined {
    return this.entries.get(nr);
  }
}

const ARG_WORDS = SYSCALL_ARG_OFFSETS.map((o) => o >> 3);

/**
 * Typed access to the six argument registers of the syscall in progress,
 * read from pt_regs in guest RAM. One instance is reused for every syscall.
 */
export class SyscallArgs {
  /** Index of pt_regs in `words` (pt_regs address - RAM base) / 8. */
  base = 0;
  constructor(private readonly words: BigInt64Array) {}

  /** Raw 64-bit register value (signed view). */
  raw(i: number): bigint {
    return this.words[this.base + ARG_WORDS[i]!]!;
  }
  /** A C `int`: the low 32 bits, signed. */
  int(i: number): number {
    return Number(BigInt.asIntN(32, this.raw(i)));
  }
  /** A C `unsigned int`. */
  uint(i: number): number {
    return Number(BigInt.asUintN(32, this.raw(i)));
  }
  /** A C `long` (values past 2^53 lose precision). */
  long(i: number): number {
    return Number(this.raw(i));
  }
  /** An unsigned 64-bit value (pointer, size_t) as a number; huge values stay huge and fail bounds checks. */
  ptr(i: number): number {
    return Number(BigInt.asUintN(64, this.raw(i)));
  }
  u64(i: number): bigint {
    return BigInt.asUintN(64, this.raw(i));
  }
  all(): bigint[] {
    return [0, 1, 2, 3, 4, 5].map((i) => this.raw(i));
  }
}
