/**
 * Differential tests: every conformance program, in every libc/link variant,
 * must give the same stdout, stderr and exit status under nommu as natively.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_ENV, ensurePrograms, programPath, runNative, VARIANTS, type RunResult } from '../harness/native.js';
import { BACKEND, runNommu } from '../harness/nommu.js';

interface Case {
  program: string;
  args?: string[];
  env?: Record<string, string>;
  input?: string;
}

let scratchRoot = '';
beforeAll(() => {
  ensurePrograms();
  scratchRoot = mkdtempSync(join(tmpdir(), 'nommu-conf-'));
});
afterAll(() => rmSync(scratchRoot, { recursive: true, force: true }));

let scratchCount = 0;
/** A fresh, empty directory: native and nommu runs must not see each other's files. */
function scratch(): string {
  const dir = join(scratchRoot, String(++scratchCount));
  mkdirSync(dir);
  return dir;
}

/**
 * Lines that differ for a reason outside the kernel, each with the reason.
 * Unicorn 2.0.1 (QEMU 5.0's TCG) never raises floating-point exception flags,
 * so fetestexcept() reads 0 and musl's strtod cannot see an underflow.
 */
const BACKEND_LIMITS: { backend: string; program: string; line: RegExp; reason: string }[] = [
  { backend: 'unicorn', program: 'float', line: /^exceptions: /, reason: 'Unicorn 2.0.1 does not raise FP exception flags' },
  { backend: 'unicorn', program: 'float', line: /^strtod\("2\.2250738585072011e-308"\)/, reason: 'musl detects underflow through FP exception flags' },
];

function split(program: string, out: string): { comparable: string; limited: string[] } {
  const limits = BACKEND_LIMITS.filter((l) => l.program === program && l.backend === BACKEND);
  const lines = out.split('\n');
  return {
    comparable: lines.filter((l) => !limits.some((x) => x.line.test(l))).join('\n'),
    limited: lines.filter((l) => limits.some((x) => x.line.test(l))),
  };
}

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
  { program: 'grow_memory' },
  { program: 'proc_maps' },
  { program: 'epoll', input: 'input for epoll\n' },
  { program: 'poll_select', input: 'input for poll and select\n' },
  { program: 'eventfd_timerfd' },
  { program: 'signalfd' },
  { program: 'fifo', env: { NOMMU_TEST_TMPDIR: '@scratch' } },
  { program: 'locks', env: { NOMMU_TEST_TMPDIR: '@scratch' } },
  { program: 'devices', env: { NOMMU_TEST_TMPDIR: '@scratch' } },
  { program: 'opath', env: { NOMMU_TEST_TMPDIR: '@scratch' } },
  { program: 'file_calls', env: { NOMMU_TEST_TMPDIR: '@scratch' } },
  { program: 'unix_sockets', env: { NOMMU_TEST_TMPDIR: '@scratch' } },
  { program: 'inet_sockets' },
  { program: 'job_control' },
  { program: 'terminals' },
  { program: 'timers' },
  { program: 'cputime' },
  { program: 'prof_sleep' },
  { program: 'sched_policy' },
  { program: 'shm_shared' },
  { program: 'pidfd' },
  { program: 'sysv_ipc' },
  { program: 'inotify', env: { NOMMU_TEST_TMPDIR: '@scratch' } },
  { program: 'mounts', env: { NOMMU_TEST_TMPDIR: '@scratch' } },
  { program: 'rseq', env: { GLIBC_TUNABLES: 'glibc.pthread.rseq=0' } },
  { program: 'clock_set' },
  { program: 'futex2' },
  { program: 'mem_calls', env: { NOMMU_TEST_TMPDIR: '@scratch' } },
  { program: 'mqueue' },
  { program: 'mlock_caps' },
  { program: 'splice', env: { NOMMU_TEST_TMPDIR: '@scratch' } },
  { program: 'misc_calls', env: { NOMMU_TEST_TMPDIR: '@scratch' } },
  { program: 'cpu_affinity' },
  { program: 'clocks' },
  { program: 'procfs', args: ['one', 'two words'] },
  { program: 'errors', env: { NOMMU_TEST_TMPDIR: '@scratch' } },
  { program: 'directories', env: { NOMMU_TEST_TMPDIR: '@scratch' } },
  { program: 'fcntl', env: { NOMMU_TEST_TMPDIR: '@scratch' } },
  { program: 'limits' },
  { program: 'identity' },
  { program: 'file_copy', env: { NOMMU_TEST_TMPDIR: '@scratch' } },
  { program: 'file_offsets', env: { NOMMU_TEST_TMPDIR: '@scratch' } },
  { program: 'signals3', env: { NOMMU_TEST_TMPDIR: '@scratch' } },
];

/** A nommu exit status of 128+N stands for "killed by signal N", which spawnSync reports apart. */
function normalize(r: RunResult): { stdout: string; stderr: string; status: number | null } {
  return { stdout: r.stdout, stderr: r.stderr, status: r.status };
}

describe.each(VARIANTS)('%s', (variant) => {
  it.each(CASES.map((c) => [`${c.program} ${(c.args ?? []).join(" ")}`.trim(), c] as const))("%s", async (_name, c) => {
    const env = (): Record<string, string> =>
      Object.fromEntries(Object.entries({ ...DEFAULT_ENV, ...c.env }).map(([k, v]) => [k, v === '@scratch' ? scratch() : v]));
    const path = programPath(c.program, variant);
    const input = c.input !== undefined ? { input: c.input } : {};
    const native = normalize(runNative(path, c.args ?? [], { env: env(), ...input }));
    // The ground truth must itself be a pass: a program that fails natively is a bug in the program.
    const report = `native run of ${c.program} failed:\n${native.stdout}${native.stderr}`;
    expect(native.stdout, report).not.toMatch(/^FAIL/m);
    if (c.program !== 'exit_code') expect(native.status, report).toBe(0);
    const nommu = normalize(await runNommu(path, c.args ?? [], { env: env(), ...input }));
    const n = split(c.program, native.stdout);
    const m = split(c.program, nommu.stdout);
    expect({ ...nommu, stdout: m.comparable }).toEqual({ ...native, stdout: n.comparable });
    // The known limits must really be the only difference; when the backend learns them, this fails.
    if (n.limited.length > 0) expect(m.limited).not.toEqual(n.limited);
  });
});
