/**
 * Differential tests: every conformance program, in every libc/link variant,
 * must give the same stdout, stderr and exit status under nommu as natively.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_ENV, ensurePrograms, programPath, runNative, VARIANTS, type RunResult } from '../harness/native.js';
import { runNommu } from '../harness/nommu.js';

interface Case {
  program: string;
  args?: string[];
  env?: Record<string, string>;
  input?: string;
}

let scratch = '';
beforeAll(() => {
  ensurePrograms();
  scratch = mkdtempSync(join(tmpdir(), 'nommu-conf-'));
});
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const CASES: Case[] = [
  { program: 'hello' },
  { program: 'argv_env', args: ['one', 'two words', ''], env: { NOMMU_TEST_ZED: 'z', NOMMU_TEST_ALPHA: 'a=b', OTHER: 'x' } },
  { program: 'exit_code', args: ['3'] },
  { program: 'exit_code', args: ['255'] },
  { program: 'auxv' },
  { program: 'tls' },
  { program: 'float' },
  { program: 'syscall_nosys' },
  { program: 'stdin_cat', input: 'line one\nline two\n'.repeat(500) },
  { program: 'vdso_time' },
  { program: 'malloc_stress' },
  { program: 'files_basic', env: { NOMMU_TEST_TMPDIR: '@scratch' } },
  { program: 'mmap_basic', env: { NOMMU_TEST_TMPDIR: '@scratch' } },
];

/** A nommu exit status of 128+N stands for "killed by signal N", which spawnSync reports apart. */
function normalize(r: RunResult): { stdout: string; stderr: string; status: number | null } {
  return { stdout: r.stdout, stderr: r.stderr, status: r.status };
}

describe.each(VARIANTS)('%s', (variant) => {
  it.each(CASES.map((c) => [`${c.program} ${(c.args ?? []).join(' ')}`.trim(), c] as const))('%s', (_name, c) => {
    const env = Object.fromEntries(
      Object.entries({ ...DEFAULT_ENV, ...c.env }).map(([k, v]) => [k, v === '@scratch' ? scratch : v]),
    );
    const path = programPath(c.program, variant);
    const opts = { env, ...(c.input !== undefined ? { input: c.input } : {}) };
    const native = runNative(path, c.args ?? [], opts);
    const nommu = runNommu(path, c.args ?? [], opts);
    expect(normalize(nommu)).toEqual(normalize(native));
  });
});
