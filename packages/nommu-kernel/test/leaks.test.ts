/**
 * Resource leaks over many processes on one kernel (real Unicorn backend):
 * the conformance program spawn_loop runs 1000 children through
 * vfork+execve and 200 through posix_spawn, one after another; each child
 * maps and touches 8 MiB, opens a file and exits without giving anything
 * back. At the start of every round the kernel's RAM in use, the driver's
 * descriptors and the host's RAM and descriptors must be where they were.
 */
import * as fs from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { Capture, MiB, buildConformance, conformanceProgram, newKernel, noInput } from './support.js';

const VFORKS = 1000;
const SPAWNS = 200;
const CHILD_BYTES = 8 * MiB;

const hostFds = (): number => fs.readdirSync('/proc/self/fd').length;

beforeAll(buildConformance);

describe('spawn_loop on one kernel', () => {
  it(`${VFORKS} vfork+execve and ${SPAWNS} posix_spawn children: no RAM, descriptor or host memory leak`, async () => {
    const out = new Capture();
    const err = new Capture();
    const kernel = newKernel({ ramSize: 128 * MiB, stdin: noInput, stdout: out.sink, stderr: err.sink });
    const idle = kernel.phys.usedBytes;
    // The backend's one /proc/self/pagemap descriptor for the whole process, opened at its first use: not a leak.
    kernel.cpu.dataExtents?.(kernel.phys.base, 4096);
    const hostFdsBefore = hostFds();
    /** At each fork-like syscall of the driver: the start of a round, the previous child reaped. */
    const rounds: { used: number; resident: number; dirty: number; fds: string }[] = [];
    /** At each child's exit, before its memory goes back. */
    const childPeaks: number[] = [];
    try {
      const driver = kernel.spawn({
        path: conformanceProgram('musl-static', 'spawn_loop'),
        argv: ['spawn_loop', String(VFORKS), String(SPAWNS)],
        envp: [],
      });
      kernel.addHooks({
        beforeSyscall(call) {
          if (call.task.process !== driver || !['vfork', 'clone', 'clone3', 'fork'].includes(call.name)) return;
          rounds.push({ used: kernel.phys.usedBytes, resident: kernel.cpu.residentBytes(), dirty: kernel.phys.dirtyBytes, fds: driver.files.list().join(',') });
        },
        onProcessExit(p) {
          if (p !== driver) childPeaks.push(kernel.phys.usedBytes);
        },
      });
      const status = await kernel.run();
      expect(err.text()).toBe('');
      expect(out.text()).toContain('spawn_loop ok\n');
      expect(status).toEqual({ code: 0, signal: 0, coreDumped: false });

      expect(rounds.length).toBe(VFORKS + SPAWNS);
      expect(childPeaks.length).toBe(VFORKS + SPAWNS);
      const first = rounds[0]!;
      // Every child really held its 8 MiB when it exited...
      expect(Math.min(...childPeaks)).toBeGreaterThanOrEqual(first.used + CHILD_BYTES);
      // ...and every round of a loop starts with exactly the RAM and descriptors of its first round
      // (posix_spawn's rounds are measured inside libc's call, with its own pipe open).
      for (const loop of [rounds.slice(0, VFORKS), rounds.slice(VFORKS)]) {
        const at = loop[0]!;
        expect(loop.flatMap((r, i) => (r.used !== at.used ? [`round ${i}: ${r.used - at.used} bytes more`] : []))).toEqual([]);
        expect(new Set(loop.map((r) => r.fds))).toEqual(new Set([at.fds]));
      }
      // Freed RAM is zeroed, and its pages go back to the host, when it is handed out again (what a child
      // freed waits for the next child): after the first round, the host's share and that backlog stay flat.
      const steady = rounds.slice(1);
      const resident = steady.map((r) => r.resident);
      expect(Math.max(...resident) - Math.min(...resident)).toBeLessThan(2 * MiB);
      const dirty = steady.map((r) => r.dirty);
      expect(Math.max(...dirty) - Math.min(...dirty)).toBeLessThan(2 * MiB);
      // Once the driver is gone too, only the kernel's own pages (the vDSO) are in use.
      expect(kernel.phys.usedBytes).toBe(idle);
      expect(kernel.tasks.size).toBe(0);
      expect([...kernel.processes.values()]).toEqual([driver]);
    } finally {
      kernel.dispose();
    }
    // A leak adds descriptors. (Files run one after another in one process: a socket an earlier file
    // let go of may still be closing when this one starts, so the count may go down meanwhile.)
    expect(hostFds()).toBeLessThanOrEqual(hostFdsBefore);
  }, 180_000);
});
