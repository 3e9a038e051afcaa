/**
 * nommu side of the conformance suite: runs a program through the real
 * `nommu` command (a spawned Node process, the Unicorn backend, no mocks).
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { CONFORMANCE_DIR, DEFAULT_ENV, type RunResult } from './native.js';

export const NOMMU_BIN: string = join(CONFORMANCE_DIR, '..', 'packages', 'cli', 'bin', 'nommu.js');

export interface NommuRunOptions {
  env?: Record<string, string>;
  input?: string;
  cwd?: string;
  timeoutMs?: number;
  /** Extra `nommu run` options placed before the program. */
  nommuArgs?: string[];
}

/** Runs `nommu run --clear-env --env ... <path> <args>` with exactly the environment runNative would give. */
export function runNommu(path: string, args: string[], opts: NommuRunOptions = {}): RunResult {
  const env = opts.env ?? DEFAULT_ENV;
  const envArgs = Object.entries(env).flatMap(([k, v]) => ['--env', `${k}=${v}`]);
  const r = spawnSync(process.execPath, [NOMMU_BIN, 'run', '--clear-env', ...envArgs, ...(opts.nommuArgs ?? []), path, ...args], {
    encoding: 'utf8',
    input: opts.input ?? '',
    cwd: opts.cwd ?? process.cwd(),
    timeout: opts.timeoutMs ?? 60_000,
    maxBuffer: 64 * 1024 * 1024,
    killSignal: 'SIGKILL',
  });
  if (r.error && (r.error as NodeJS.ErrnoException).code !== 'ETIMEDOUT') throw r.error;
  return { stdout: r.stdout, stderr: r.stderr, status: r.status, signal: r.signal };
}
