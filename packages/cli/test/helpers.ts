import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO: string = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
export const NOMMU_BIN: string = join(REPO, 'packages/cli/bin/nommu.js');
export const CONFORMANCE_OUT: string = join(REPO, 'conformance/out');

/** A small, fixed environment so that runs do not depend on the developer's shell. */
export const BASE_ENV: Readonly<Record<string, string>> = Object.freeze({
  PATH: '/usr/local/bin:/usr/bin:/bin',
  LANG: 'C',
});

export interface Result {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface SpawnOptions {
  env?: Readonly<Record<string, string>>;
  cwd?: string;
  /** Written to stdin, which is then closed; without it stdin is empty. */
  input?: string;
  timeoutMs?: number;
}

/** Runs a command asynchronously and collects everything it prints. */
export function runCommand(cmd: string, args: readonly string[], opts: SpawnOptions = {}): Promise<Result> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(cmd, args, {
      env: { ...(opts.env ?? BASE_ENV) },
      cwd: opts.cwd ?? REPO,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.stdin.on('error', () => {
      // the program may exit without reading its input
    });
    child.stdin.end(opts.input ?? '');
    const timeoutMs = opts.timeoutMs ?? 50_000;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${cmd} ${args.join(' ')} did not finish in ${timeoutMs} ms\nstderr: ${stderr}`));
    }, timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (status, signal) => {
      clearTimeout(timer);
      resolvePromise({ status, signal, stdout, stderr });
    });
  });
}

/** `node packages/cli/bin/nommu.js ...args`. */
export function nommu(args: readonly string[], opts: SpawnOptions = {}): Promise<Result> {
  return runCommand(process.execPath, [NOMMU_BIN, ...args], opts);
}

/** Lines of a text that ends with a newline (a missing final newline is kept as a last line). */
export function lines(text: string): string[] {
  const parts = text.split('\n');
  if (parts.at(-1) === '') parts.pop();
  return parts;
}

/** A stderr that is exactly one line and no JavaScript stack trace. */
export function expectOneLine(stderr: string): string {
  if (!/^[^\n]+\n$/.test(stderr)) throw new Error(`expected exactly one line on stderr, got ${JSON.stringify(stderr)}`);
  if (/^\s+at /m.test(stderr)) throw new Error(`stack trace on stderr: ${stderr}`);
  return stderr.slice(0, -1);
}

let conformanceBuilt = false;

/** Builds the conformance programs (make-like, cheap when up to date). */
export function ensureConformance(): void {
  if (conformanceBuilt) return;
  const r = spawnSync('bash', [join(REPO, 'conformance/build.sh')], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`conformance/build.sh failed (${r.status ?? r.signal}):\n${r.stderr}`);
  conformanceBuilt = true;
}

export function conformanceProgram(name: string, variant = 'musl-static'): string {
  return join(CONFORMANCE_OUT, variant, name);
}

export function hasTool(name: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' }).status === 0;
}

export const HAVE_MUSL_GCC: boolean = hasTool('musl-gcc');
export const HAVE_STRACE: boolean = hasTool('strace');

/** A temporary directory, removed by the returned cleanup function. */
export function tempDir(prefix: string): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), `nommu-${prefix}-`));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Compiles C source with `musl-gcc -static` into dir/name; throws with the compiler's output on failure. */
export function compileMusl(dir: string, name: string, source: string): string {
  const src = join(dir, `${name}.c`);
  const out = join(dir, name);
  writeFileSync(src, source);
  const r = spawnSync('musl-gcc', ['-static', '-O0', '-o', out, src], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`musl-gcc ${name}.c failed:\n${r.stderr}`);
  return out;
}

export function writeExecutable(path: string, content: string | Uint8Array): string {
  writeFileSync(path, content);
  chmodSync(path, 0o755);
  return path;
}
