/**
 * Native side of the conformance suite: builds the C programs in
 * conformance/programs (via conformance/build.sh) and runs them directly on
 * the host, which is the ground truth that runs under nommu must match.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const VARIANTS = ['musl-static-pie', 'musl-static', 'glibc-static', 'glibc-dynamic', 'musl-dynamic'] as const;
export type Variant = (typeof VARIANTS)[number];

/** conformance/ (this file lives in conformance/harness/). */
export const CONFORMANCE_DIR: string = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const PROGRAMS_DIR: string = join(CONFORMANCE_DIR, 'programs');
export const OUT_DIR: string = join(CONFORMANCE_DIR, 'out');
export const BUILD_SCRIPT: string = join(CONFORMANCE_DIR, 'build.sh');

/** The environment a program gets when runNative() is not given one. */
export const DEFAULT_ENV: Readonly<Record<string, string>> = Object.freeze({
  PATH: '/usr/bin:/bin',
  LANG: 'C',
});

/** Absolute path of a built program, e.g. programPath('hello', 'musl-static'). */
export function programPath(name: string, variant: Variant): string {
  if (!(VARIANTS as readonly string[]).includes(variant)) {
    throw new Error(`unknown variant ${JSON.stringify(variant)}`);
  }
  if (name === '' || name.includes('/') || name.startsWith('.')) {
    throw new Error(`bad program name ${JSON.stringify(name)}`);
  }
  return join(OUT_DIR, variant, name);
}

let built = false;

/**
 * Runs build.sh synchronously, once per process. It rebuilds only what is
 * out of date, so this is cheap after the first build. Throws with the
 * compiler's stderr if the build fails.
 */
export function ensurePrograms(): void {
  // The suite's global set-up built them already (see global-setup.ts).
  if (built || process.env.NOMMU_CONFORMANCE_BUILT === '1') return;
  if (!existsSync(BUILD_SCRIPT)) {
    throw new Error(`conformance build script not found: ${BUILD_SCRIPT}`);
  }
  const r = spawnSync('bash', [BUILD_SCRIPT], {
    cwd: CONFORMANCE_DIR,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    maxBuffer: 64 * 1024 * 1024,
  });
  if (r.error) {
    throw new Error(`could not run ${BUILD_SCRIPT}: ${r.error.message}`);
  }
  if (r.status !== 0) {
    const how = r.signal ? `was killed by ${r.signal}` : `exited with status ${String(r.status)}`;
    throw new Error(`conformance build failed: build.sh ${how}\n${r.stderr}${r.stdout}`);
  }
  built = true;
}

export interface RunResult {
  stdout: string;
  stderr: string;
  status: number | null;
  signal: string | null;
}

export interface RunOptions {
  /** The complete environment (not merged with DEFAULT_ENV). Default: DEFAULT_ENV. */
  env?: Record<string, string>;
  /** Written to the program's stdin; without it stdin is empty. */
  input?: string;
  /** Working directory; default: this process's. */
  cwd?: string;
  /** Kill the program (SIGKILL) after this many milliseconds. Default 60000. */
  timeoutMs?: number;
}

/**
 * Runs a program natively with spawnSync. argv[0] is the path itself.
 * Output is decoded as UTF-8. A program killed by a signal (including the
 * timeout) gives status null and the signal's name.
 */
export function runNative(path: string, args: string[], opts: RunOptions = {}): RunResult {
  const r = spawnSync(path, args, {
    env: { ...(opts.env ?? DEFAULT_ENV) },
    input: opts.input ?? '',
    cwd: opts.cwd,
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
    timeout: opts.timeoutMs ?? 60_000,
    killSignal: 'SIGKILL',
  });
  if (r.error && (r.error as NodeJS.ErrnoException).code !== 'ETIMEDOUT') {
    throw new Error(`could not run ${path}: ${r.error.message}`);
  }
  return {
    stdout: r.stdout,
    stderr: r.stderr,
    status: r.status,
    signal: r.signal,
  };
}
