import * as fs from 'node:fs';
import { ExecFailure, Kernel, KernelError, SIG, signalDescription, type ExitStatus } from '@nommu/kernel';
import { createLinuxSyscallTable, StraceTracer } from '@nommu/syscall-table/linux';
import { UsageError, type RunOptions } from './args.js';
import { BACKENDS, createBackend } from './backend.js';
import { errorPrefix } from './color.js';
import { findProgram } from './nommu.js';

/** The program's environment: the host's, edited by --env / --unset-env / --clear-env. */
function environment(o: RunOptions): string[] {
  const env = new Map<string, string>();
  if (!o.clearEnv) for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env.set(k, v);
  for (const k of o.unsetEnv) env.delete(k);
  for (const [k, v] of o.env) env.set(k, v);
  return [...env].map(([k, v]) => `${k}=${v}`);
}

let made: number[] = [];

/** The syscall numbers the guest of the last `run` or `shell` made (what bin/nommu.js keeps its code cache to). */
export function syscallsMadeByRun(): readonly number[] {
  return made;
}

/** `nommu run`: returns the exit status for the nommu process. */
export async function run(o: RunOptions): Promise<number> {
  if (!(BACKENDS as readonly string[]).includes(o.backend)) {
    throw new UsageError(`unknown backend '${o.backend}' (available: ${BACKENDS.join(', ')})`);
  }
  if (!isDirectory(o.root)) throw new UsageError(`--root ${o.root}: not a directory`);
  let straceFd: number | null = null;
  let tracer: StraceTracer | null = null;
  if (o.strace) {
    if (o.strace.file !== null) {
      try {
        straceFd = fs.openSync(o.strace.file, 'w');
      } catch (e) {
        throw new UsageError(`--strace=${o.strace.file}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'No such file or directory' : (e as Error).message}`);
      }
    }
    const fd = straceFd ?? 2;
    tracer = new StraceTracer({ write: (line) => fs.writeSync(fd, line + '\n'), summary: o.strace.summary });
  }
  // This process exists to run the guest: Node's helper threads may yield to the native backend's hand-over.
  const cpu = createBackend(o.backend, o.mem, { rewriteSyscalls: o.rewriteSyscalls, deprioritizeHostThreads: true });
  let kernel: Kernel;
  try {
    kernel = new Kernel({
      cpu,
      syscalls: createLinuxSyscallTable(),
      root: o.root,
      readOnly: o.readOnly,
      mounts: o.mounts,
      identity: { uid: o.uid, gid: o.gid, euid: o.uid, egid: o.gid },
      tracer,
      strictNommu: o.strictNommu,
      enforceProtections: o.protections,
      ...(o.date !== null ? { realtimeNs: o.date } : {}),
    });
  } catch (e) {
    cpu.dispose();
    if (straceFd !== null) fs.closeSync(straceFd);
    if (e instanceof KernelError && e.code === 'NOMMU_MOUNT') throw new UsageError(e.message);
    throw e;
  }
  try {
    const envp = environment(o);
    const cwd = o.cwd ?? guestCwd(kernel, process.cwd());
    try {
      const r = kernel.vfs.resolve('/', cwd);
      if (!fs.statSync(r.host).isDirectory()) throw new Error('not a directory');
    } catch {
      throw new UsageError(`--cwd ${cwd}: not a directory in the guest`);
    }
    const path = findProgram(kernel, o.program, envp, cwd);
    try {
      kernel.spawn({ path, argv: [o.argv0 ?? o.program, ...o.args], envp, cwd });
    } catch (e) {
      if (!(e instanceof ExecFailure)) throw e;
      const notFound = e.errno === 2 && !o.program.includes('/') ? 'command not found' : e.message;
      const detail = e.errno === 8 ? `cannot execute binary file: ${e.message}` : notFound;
      process.stderr.write(`${errorPrefix()} ${o.program}: ${detail}\n`);
      return e.errno === 2 ? 127 : 126;
    }
    const stopForwarding = forwardHostSignals(kernel);
    let status;
    try {
      status = await kernel.run();
    } finally {
      stopForwarding();
      made = [];
      kernel.syscallsMade.forEach((m, nr) => m && made.push(nr));
    }
    if (tracer && o.strace?.summary) {
      const fd = straceFd ?? 2;
      fs.writeSync(fd, tracer.summaryText() + '\n');
    }
    if (o.strictNommu) reportNommu(kernel.nommuViolations);
    return report(status);
  } finally {
    if (straceFd !== null) fs.closeSync(straceFd);
    kernel.dispose();
  }
}

/** The host working directory as a guest path when it lies inside the root, else '/'. */
function guestCwd(kernel: Kernel, hostCwd: string): string {
  const root = kernel.vfs.root;
  if (root === '/') return hostCwd;
  if (hostCwd === root) return '/';
  if (hostCwd.startsWith(root + '/')) return hostCwd.slice(root.length);
  return '/';
}

/**
 * Ctrl-C, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1 and SIGUSR2 sent to nommu go to the guest's foreground process
 * group; a second Ctrl-C within a second stops nommu.
 */
function forwardHostSignals(kernel: Kernel): () => void {
  // SIGUSR1 too (dd prints its progress on it): Node's own use of it, starting the inspector, is for --inspect.
  const numbers: Record<string, number> = { SIGINT: 2, SIGTERM: 15, SIGHUP: 1, SIGQUIT: 3, SIGUSR1: 10, SIGUSR2: 12 };
  let lastInt = 0;
  const handlers = Object.entries(numbers).map(([name, signo]) => {
    const handler = (): void => {
      if (name === 'SIGINT') {
        const now = Date.now();
        if (now - lastInt < 1000) {
          process.stderr.write('\nnommu: interrupted\n');
          process.exit(130);
        }
        lastInt = now;
      }
      kernel.signalForeground(signo);
    };
    process.on(name as NodeJS.Signals, handler);
    return [name, handler] as const;
  });
  return () => {
    for (const [name, h] of handlers) process.off(name as NodeJS.Signals, h);
  };
}

export function isDirectory(p: string): boolean {
  try {
    return fs.statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/** The --strict-nommu compatibility report, on stderr. */
function reportNommu(violations: readonly string[]): void {
  if (violations.length === 0) {
    process.stderr.write('nommu: strict nommu: nothing this program did needs an MMU\n');
    return;
  }
  const lines = [...new Set(violations)];
  process.stderr.write(`nommu: strict nommu: ${violations.length} operation(s) an MMU-less kernel refuses:\n`);
  for (const l of lines) process.stderr.write(`  - ${l}\n`);
}

function report(status: ExitStatus): number {
  if (status.signal === 0) return status.code;
  // As shells do, no word about SIGPIPE: the reader went away, on purpose (`| head`).
  if (status.signal !== SIG.PIPE) process.stderr.write(`${signalDescription(status.signal)}\n`);
  return 128 + status.signal;
}
