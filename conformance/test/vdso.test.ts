/**
 * nommu-only behaviour of the vDSO (a real kernel's vDSO differs on purpose):
 * programs find __kernel_vsyscall and call it directly, and the time fast paths
 * answer without entering the kernel.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { ensurePrograms, programPath, runNative, VARIANTS } from '../harness/native.js';
import { runNommu } from '../harness/nommu.js';

beforeAll(() => ensurePrograms());

describe.each(VARIANTS)('%s', (variant) => {
  it('calls __kernel_vsyscall found through AT_SYSINFO_EHDR, with the same results as libc', async () => {
    const r = await runNommu(programPath('vsyscall_direct', variant), []);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('direct write\ndirect getpid matches: yes\ndirect write returned 13\n');
    expect(r.status).toBe(0);
    // Natively there is no such symbol: the program says so.
    expect(runNative(programPath('vsyscall_direct', variant), []).stdout).toBe('no __kernel_vsyscall\n');
  });

  it('serves clock_gettime from the vDSO without entering the kernel', async () => {
    const r = await runNommu(programPath('vdso_time', variant), [], { nommuArgs: ['--strace=summary'] });
    expect(r.stdout).toBe('monotonic ok\nrealtime ok\ngettimeofday ok\n');
    // 100001 CLOCK_MONOTONIC reads happened; the kernel saw none of them.
    expect(r.stderr).toMatch(/calls +errors syscall/);
    expect(r.stderr).not.toMatch(/ clock_gettime\n/);
    expect(r.stderr).toMatch(/ writev?\n/);
  });
});
