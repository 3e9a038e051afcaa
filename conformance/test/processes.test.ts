/**
 * Differential tests for processes, threads, signals and pipes: every
 * program below, in every libc/link variant, must give the same stdout,
 * stderr and exit status under nommu as natively. The programs check
 * themselves (each prints "ok ..." lines and "<name> ok" and exits 0
 * natively) and print nothing that depends on pids, addresses or timing.
 */
import { describe, expect, it, beforeAll } from 'vitest';
import { DEFAULT_ENV, ensurePrograms, programPath, runNative, VARIANTS, type RunResult } from '../harness/native.js';
import { BACKEND, runNommu } from '../harness/nommu.js';

interface Case {
  program: string;
  args?: string[];
  env?: Record<string, string>;
  input?: string;
}

beforeAll(() => {
  ensurePrograms();
});

/**
 * Lines that differ for a reason outside the kernel, per backend, each with
 * the reason (same scheme as programs.test.ts).
 */
const RETRY_LIMIT =
  'Unicorn 2.0.1 reports a protection fault at the start of its translation block, so a handler that fixes the page and returns re-runs the instructions before the access';
const BACKEND_LIMITS: { backend: string; program: string; line: RegExp; reason: string }[] = [
  { backend: 'unicorn', program: 'signals', line: /^write retried after the handler fixed the page: /, reason: RETRY_LIMIT },
  { backend: 'unicorn', program: 'mprotect', line: /^write retried: handler ran /, reason: RETRY_LIMIT },
].filter((l) => l.backend === BACKEND);
const GAP_PROGRAMS = new Set(BACKEND_LIMITS.filter((l) => l.reason.startsWith('kernel gap')).map((l) => l.program));

function split(program: string, out: string): { comparable: string; limited: string[] } {
  const limits = BACKEND_LIMITS.filter((l) => l.program === program);
  if (GAP_PROGRAMS.has(program)) limits.push({ program, line: new RegExp(`^${program}(: \\d+ failures?| ok)$`), reason: 'summary' });
  const lines = out.split('\n');
  return {
    comparable: lines.filter((l) => !limits.some((x) => x.line.test(l))).join('\n'),
    limited: lines.filter((l) => limits.some((x) => x.line.test(l))),
  };
}

const CASES: Case[] = [
  { program: 'proc_vfork' },
  { program: 'proc_fork' },
  { program: 'fork_memory' },
  { program: 'exec' },
  { program: 'threads' },
  { program: 'futex' },
  { program: 'sched_fair' },
  { program: 'sched_slice' },
  { program: 'spawn_loop' },
  { program: 'signals' },
  { program: 'signals2' },
  { program: 'fp_signals' },
  { program: 'mprotect' },
  { program: 'pipes' },
];

/** Emulated runs of these programs are much slower than native ones. */
const NOMMU_TIMEOUT_MS = 60_000;

function normalize(r: RunResult): { stdout: string; stderr: string; status: number | null } {
  return { stdout: r.stdout, stderr: r.stderr, status: r.status };
}

describe.each(VARIANTS)('%s', (variant) => {
  it.each(CASES.map((c) => [`${c.program} ${(c.args ?? []).join(' ')}`.trim(), c] as const))(
    '%s',
    async (_name, c) => {
      const env = { ...DEFAULT_ENV, ...c.env };
      const path = programPath(c.program, variant);
      const input = c.input !== undefined ? { input: c.input } : {};
      const native = normalize(runNative(path, c.args ?? [], { env, ...input }));
      // The ground truth must itself be a pass: a program that fails natively is a bug in the program.
      expect(native.status, `native run of ${c.program} failed:\n${native.stdout}${native.stderr}`).toBe(0);
      expect(native.stdout).toMatch(new RegExp(`^${c.program} ok$`, 'm'));
      const nommu = normalize(await runNommu(path, c.args ?? [], { env, ...input, timeoutMs: NOMMU_TIMEOUT_MS }));
      const n = split(c.program, native.stdout);
      const m = split(c.program, nommu.stdout);
      const gap = GAP_PROGRAMS.has(c.program);
      expect({ ...nommu, stdout: m.comparable, ...(gap ? { status: 0 } : {}) }).toEqual({ ...native, stdout: n.comparable });
      // The known limits must really be the only difference; when the kernel learns them, this fails.
      if (n.limited.length > 0) expect(m.limited).not.toEqual(n.limited);
    },
    NOMMU_TIMEOUT_MS + 30_000,
  );
});
