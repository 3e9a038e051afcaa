/**
 * nommu side of the conformance suite: runs a program through the real
 * `nommu` command (a spawned Node process, the Unicorn backend, no mocks).
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { CONFORMANCE_DIR, DEFAULT_ENV, type RunResult } from './native.js';

/** The CPU backend every run uses: NOMMU_BACKEND=native runs the whole suite on the native backend. */
export const BACKEND: string = process.env.NOMMU_BACKEND ?? 'unicorn';
const BACKEND_ARGS = BACKEND === 'unicorn' ? [] : ['--backend', BACKEND];

export const NOMMU_BIN: string = join(CONFORMANCE_DIR, '..', 'packages', 'cli', 'bin', 'nommu.js');

export interface NommuRunOptions {
  env?: Record<string, string>;
  input?: string;
  cwd?: string;
  timeoutMs?: number;
  /** Extra `nommu run` options placed before the program. */
  nommuArgs?: string[];
}

/**
 * Runs `nommu run --clear-env --env ... <path> <args>` with exactly the
 * environment runNative would give. Asynchronous, so a long guest run never
 * blocks the test runner's own event loop.
 */
export function runNommu(path: string, args: string[], opts: NommuRunOptions = {}): Promise<RunResult> {
  const env = opts.env ?? DEFAULT_ENV;
  const envArgs = Object.entries(env).flatMap(([k, v]) => ['--env', `${k}=${v}`]);
  const argv = [NOMMU_BIN, 'run', '--clear-env', ...BACKEND_ARGS, ...envArgs, ...(opts.nommuArgs ?? []), path, ...args];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, argv, { cwd: opts.cwd ?? process.cwd(), stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (status, signal) => {
      clearTimeout(timer);
      resolve({ stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8'), status, signal });
    });
    child.stdin.on('error', () => {});
    child.stdin.end(opts.input ?? '');
  });
}
