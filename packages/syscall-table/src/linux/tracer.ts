import type { ExitStatus, Process, SyscallArgs, SyscallTracer, Task } from '@nommu/kernel';
import {
  decodeEntry,
  formatExit,
  formatExitStatus,
  formatNoReturn,
  formatSignal,
  SyscallSummary,
  type DecodedEntry,
  type GuestMemoryReader,
} from '../strace/index.js';
import { syscallByNr } from '../table/index.js';

export interface StraceOptions {
  /** Receives each finished line (without newline). */
  write(line: string): void;
  /** strace -c: count instead of printing calls; the table is written at the end. */
  summary?: boolean;
}

/** strace for the nommu kernel: decodes at entry, prints at exit, like strace -f. */
export class StraceTracer implements SyscallTracer {
  readonly #pending = new Map<number, { nr: number; entry: DecodedEntry | null; start: number }>();
  readonly #warned = new Set<number>();
  readonly #summary: SyscallSummary | null;
  #reader: GuestMemoryReader | null = null;
  #tasksSeen = new Set<number>();

  constructor(private readonly opts: StraceOptions) {
    this.#summary = opts.summary ? new SyscallSummary() : null;
  }

  #memory(task: Task): GuestMemoryReader {
    if (!this.#reader) {
      const mem = task.kernel.mem;
      this.#reader = {
        read(addr: bigint, len: number): Uint8Array | null {
          const a = Number(addr);
          return mem.ok(a, len) ? mem.copyIn(a, len) : null;
        },
      };
    }
    return this.#reader;
  }

  #prefix(task: Task): string {
    this.#tasksSeen.add(task.tid);
    return this.#tasksSeen.size > 1 || task.kernel.tasks.size > 1 ? `[pid ${task.tid}] ` : '';
  }

  onEntry(task: Task, nr: number, args: SyscallArgs): void {
    const entry = this.#summary ? null : decodeEntry(nr, args.all(), this.#memory(task));
    this.#pending.set(task.tid, { nr, entry, start: performance.now() });
  }

  onExit(task: Task, nr: number, result: bigint): void {
    const p = this.#pending.get(task.tid);
    this.#pending.delete(task.tid);
    if (!p) return;
    if (!p.entry) {
      this.#summary?.record(nr, result, Math.round((performance.now() - p.start) * 1e6));
      return;
    }
    this.opts.write(this.#prefix(task) + formatExit(p.entry, result, this.#memory(task)));
  }

  onUnimplemented(task: Task, nr: number): void {
    if (this.#warned.has(nr)) return;
    this.#warned.add(nr);
    const name = syscallByNr(nr)?.name ?? `syscall_${nr}`;
    this.opts.write(`${this.#prefix(task)}nommu: ${name} (${nr}) is not implemented: answering -ENOSYS`);
  }

  onSignal(task: Task, info: { signo: number; code: number; addr?: bigint }): void {
    if (this.#summary) return;
    this.opts.write(this.#prefix(task) + formatSignal(info));
  }

  onProcessExit(process: Process, status: ExitStatus): void {
    const leader = process.threads[0];
    if (leader) {
      const p = this.#pending.get(leader.tid);
      this.#pending.delete(leader.tid);
      // strace -c leaves out calls that never return (exit_group).
      if (p?.entry) this.opts.write(this.#prefix(leader) + formatNoReturn(p.entry));
    }
    if (this.#summary) return;
    const prefix = leader ? this.#prefix(leader) : '';
    this.opts.write(
      prefix +
        (status.signal
          ? formatExitStatus('killed', status.signal, status.coreDumped)
          : formatExitStatus('exited', status.code)),
    );
  }

  /** The strace -c table (summary mode), or ''. */
  summaryText(): string {
    return this.#summary ? this.#summary.format() : '';
  }
}
