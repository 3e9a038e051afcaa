import * as fs from 'node:fs';
import { Readable, Writable } from 'node:stream';
import {
  bufferSource,
  collectingSink,
  hostSink,
  hostSource,
  Kernel,
  readableSource,
  writableSink,
  type CollectingSink,
  type ExitStatus,
  type KernelHooks,
  type MountSpec,
  type Process,
  type StreamSink,
  type StreamSource,
  type SyscallHandler,
  type SyscallTable,
} from '@nommu/kernel';
import { syscallByName } from '@nommu/syscall-table';
import { createLinuxSyscallTable, StraceTracer } from '@nommu/syscall-table/linux';
import { createUnicornBackend, type CpuBackend } from '@nommu/x86-cpu';

/** The guest's stdin: bytes (a string is UTF-8), a Node stream, the host's stdin, or nothing (end of file). */
export type StdinOption = string | Uint8Array | Readable | 'inherit' | null;

/**
 * Where the guest's stdout or stderr goes: kept and returned as a string
 * ('collect', the default), the host's descriptor ('inherit'), nowhere, a Node
 * stream, or a callback that receives each write.
 */
export type OutputOption = 'collect' | 'inherit' | 'ignore' | Writable | ((chunk: Uint8Array) => void);

export interface NommuOptions {
  /** Host directory that is the guest's '/'. Default '/'. */
  root?: string;
  /** The guest cannot change anything under the root (EROFS). */
  readOnly?: boolean;
  /**
   * Mounts over the root, in order: `{ type: 'bind', source: hostDir, target: guestDir, readOnly? }`
   * or `{ type: 'tmpfs', target: guestDir }`. A target must be an existing guest directory.
   */
  mounts?: readonly MountSpec[];
  /** Guest RAM in bytes (with the default backend). Default 1 GiB. */
  memory?: number;
  /** The CPU backend; default: Unicorn with `memory` bytes of RAM. The Nommu disposes it. */
  backend?: CpuBackend;
  /** The dispatch table; default: every Linux x86-64 syscall nommu implements. */
  syscalls?: SyscallTable;
  hooks?: KernelHooks | readonly KernelHooks[];
  /** Identity the guest sees. Default 0/0 (root). */
  uid?: number;
  gid?: number;
  hostname?: string;
  /** The guest's CLOCK_REALTIME at start, ns since the epoch (as `nommu run --date`); default the host's time. */
  realtimeNs?: bigint;
  /** Receives each strace line (without newline), as `nommu run --strace` prints them. */
  strace?: (line: string) => void;
  /** Refuse what a kernel without an MMU refuses (fork: EINVAL); see `Nommu.kernel.nommuViolations`. */
  strictNommu?: boolean;
  /** Page protections enforced for guest code (default true; false: only PROT_NONE guard pages, as nommu Linux). */
  enforceProtections?: boolean;
  stdin?: StdinOption;
  stdout?: OutputOption;
  stderr?: OutputOption;
}

export interface ProgramOptions {
  /** A guest path, or a name without '/' looked up on the guest PATH (from `env`) like a shell. */
  program: string;
  args?: readonly string[];
  /** argv[0]; default `program` as given. */
  argv0?: string;
  /** The environment: an object, or NAME=VALUE strings. Default: PATH only. */
  env?: Readonly<Record<string, string | undefined>> | readonly string[];
  /** Guest working directory. Default '/'. */
  cwd?: string;
}

export interface RunResult {
  status: ExitStatus;
  /** As a shell reports it: the exit code, or 128+N after signal N. */
  exitCode: number;
  /** What the guest wrote, when the stream was 'collect' (else ''). */
  stdout: string;
  stderr: string;
}

export const DEFAULT_PATH = '/usr/local/bin:/usr/bin:/bin';

function source(o: StdinOption | undefined): StreamSource {
  if (o === undefined || o === null) return bufferSource('');
  if (o === 'inherit') return hostSource(0);
  if (typeof o === 'string' || o instanceof Uint8Array) return bufferSource(o);
  if (o instanceof Readable) return readableSource(o);
  throw new TypeError('stdin: a string, a Uint8Array, a Readable, "inherit" or null');
}

function sink(o: OutputOption | undefined, fd: number): { sink: StreamSink; collected: CollectingSink | null } {
  if (o === undefined || o === 'collect') {
    const c = collectingSink();
    return { sink: c, collected: c };
  }
  if (o === 'inherit') return { sink: hostSink(fd), collected: null };
  if (o === 'ignore') return { sink: { write: () => undefined }, collected: null };
  if (typeof o === 'function') return { sink: { write: (d) => void o(d.slice()) }, collected: null };
  if (o instanceof Writable) return { sink: writableSink(o), collected: null };
  throw new TypeError(`${fd === 1 ? 'stdout' : 'stderr'}: 'collect', 'inherit', 'ignore', a Writable or a function`);
}

function envList(env: ProgramOptions['env']): string[] {
  if (env === undefined) return [`PATH=${DEFAULT_PATH}`];
  if (Array.isArray(env)) return [...(env as readonly string[])];
  return Object.entries(env as Record<string, string | undefined>).flatMap(([k, v]) => (v === undefined ? [] : [`${k}=${v}`]));
}

/** Finds a program on the guest PATH as a shell does (only names without '/'); else the name as given. */
export function findProgram(kernel: Kernel, name: string, envp: readonly string[], cwd: string): string {
  if (name.includes('/')) return name;
  const pathVar = envp.find((e) => e.startsWith('PATH='))?.slice(5) ?? DEFAULT_PATH;
  for (const dir of pathVar.split(':')) {
    const candidate = `${dir === '' ? '.' : dir}/${name}`;
    try {
      const r = kernel.vfs.resolve(cwd, candidate);
      const st = fs.statSync(r.host);
      if (st.isFile() && (st.mode & 0o111) !== 0) return candidate;
    } catch {
      // not there: keep looking
    }
  }
  return name;
}

/**
 * A nommu machine for one program: the backend, the kernel and the Linux
 * syscall table wired together. `run()` starts the program (it may fork and
 * exec others) and resolves when it exits; then `dispose()` frees the RAM.
 */
export class Nommu {
  readonly kernel: Kernel;
  readonly syscalls: SyscallTable;
  readonly #stdout: CollectingSink | null;
  readonly #stderr: CollectingSink | null;
  #disposed = false;

  constructor(opts: NommuOptions = {}) {
    this.syscalls = opts.syscalls ?? createLinuxSyscallTable();
    const out = sink(opts.stdout, 1);
    const err = sink(opts.stderr, 2);
    this.#stdout = out.collected;
    this.#stderr = err.collected;
    const cpu = opts.backend ?? createUnicornBackend({ ramSize: Math.ceil((opts.memory ?? 1 << 30) / 4096) * 4096 });
    try {
      this.kernel = new Kernel({
        cpu,
        syscalls: this.syscalls,
        ...(opts.root !== undefined ? { root: opts.root } : {}),
        readOnly: opts.readOnly ?? false,
        mounts: opts.mounts ?? [],
        identity: { uid: opts.uid ?? 0, gid: opts.gid ?? 0, euid: opts.uid ?? 0, egid: opts.gid ?? 0 },
        stdin: source(opts.stdin),
        stdout: out.sink,
        stderr: err.sink,
        tracer: opts.strace ? new StraceTracer({ write: opts.strace }) : null,
        ...(opts.hooks !== undefined ? { hooks: opts.hooks } : {}),
        ...(opts.hostname !== undefined ? { hostname: opts.hostname } : {}),
        ...(opts.realtimeNs !== undefined ? { realtimeNs: opts.realtimeNs } : {}),
        strictNommu: opts.strictNommu ?? false,
        enforceProtections: opts.enforceProtections ?? true,
      });
    } catch (e) {
      cpu.dispose();
      throw e;
    }
  }

  /** Installs hooks; returns the function that removes them. */
  addHooks(hooks: KernelHooks): () => void {
    return this.kernel.addHooks(hooks);
  }

  /** Adds or replaces the handler of a syscall, by Linux x86-64 name or by number. */
  handle(syscall: string | number, handler: SyscallHandler): void {
    const nr = typeof syscall === 'number' ? syscall : syscallByName(syscall)?.nr;
    if (nr === undefined) throw new TypeError(`unknown syscall '${syscall}'`);
    this.syscalls.override(nr, typeof syscall === 'string' ? syscall : (this.syscalls.entry(nr)?.name ?? `syscall_${nr}`), handler);
  }

  /** Starts the program (the first process). Throws the kernel's ExecFailure when it cannot run. */
  spawn(p: ProgramOptions): Process {
    const envp = envList(p.env);
    const cwd = p.cwd ?? '/';
    const path = findProgram(this.kernel, p.program, envp, cwd);
    return this.kernel.spawn({ path, argv: [p.argv0 ?? p.program, ...(p.args ?? [])], envp, cwd });
  }

  /** Runs the spawned program to its exit. */
  async wait(): Promise<RunResult> {
    const status = await this.kernel.run();
    return {
      status,
      exitCode: status.signal === 0 ? status.code : 128 + status.signal,
      stdout: this.#stdout?.text() ?? '',
      stderr: this.#stderr?.text() ?? '',
    };
  }

  /** spawn() then wait(). */
  run(p: ProgramOptions): Promise<RunResult> {
    this.spawn(p);
    return this.wait();
  }

  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    this.kernel.dispose();
  }
}

export function createNommu(opts: NommuOptions = {}): Nommu {
  return new Nommu(opts);
}

/** Runs one program on a fresh nommu and frees it: `await runProgram({ program: 'echo', args: ['hi'] })`. */
export async function runProgram(opts: ProgramOptions & NommuOptions): Promise<RunResult> {
  const n = new Nommu(opts);
  try {
    return await n.run(opts);
  } finally {
    n.dispose();
  }
}
