/**
 * Offloaded I/O (CpuBackend.offload): which files the kernel lists for the
 * backend to read and write itself, and that hooks still see every call. The
 * real native backend and busybox; its offload calls recorded through a Proxy.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createNativeBackend, nativeBackendUnavailable, type CpuBackend, type FileOffload } from '@nommu/x86-cpu';
import { BUSYBOX, MiB, runGuest } from './support.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nommu-offload-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
const big = path.join(dir, 'big');
fs.writeFileSync(big, Buffer.alloc(65536, 'b'));
const small = path.join(dir, 'small');
fs.writeFileSync(small, 'one small file\n');

const unavailable = nativeBackendUnavailable();

/** A native backend whose offload attach and detach calls are counted. */
function recordingBackend(): { cpu: CpuBackend; attached: number[]; detached: number[] } {
  const cpu = createNativeBackend({ ramSize: 64 * MiB });
  const io = cpu.offload!;
  const attached: number[] = [];
  const detached: number[] = [];
  const offload = new Proxy(io, {
    get: (t, k) => {
      if (k === 'attach') return (fd: number) => { const s = t.attach(fd); attached.push(s); return s; };
      if (k === 'detach') return (slot: number) => { detached.push(slot); t.detach(slot); };
      const v: unknown = Reflect.get(t, k, t);
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(t) : v;
    },
    set: (t, k, v) => Reflect.set(t, k, v, t),
  }) as FileOffload;
  const wrapped = new Proxy(cpu, {
    get: (t, k) => {
      if (k === 'offload') return offload;
      const v: unknown = Reflect.get(t, k, t);
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(t) : v;
    },
  }) as CpuBackend;
  return { cpu: wrapped, attached, detached };
}

describe.skipIf(unavailable !== null)('offloaded I/O on the native backend', () => {
  it('hands a file read many times to the backend, and takes it back at close', async () => {
    const r = recordingBackend();
    const run = await runGuest({ path: BUSYBOX, argv: ['busybox', 'md5sum', big] }, { cpu: r.cpu });
    expect(run.stdout).toMatch(/^[0-9a-f]{32} {2}/);
    expect(run.status.code).toBe(0);
    expect(r.attached).toHaveLength(1);
    expect(r.attached[0]).toBeGreaterThanOrEqual(0);
    expect(r.detached).toEqual(r.attached);
  });

  it('leaves a file read once to the kernel', async () => {
    const r = recordingBackend();
    const run = await runGuest({ path: BUSYBOX, argv: ['busybox', 'cat', small] }, { cpu: r.cpu });
    expect(run.stdout).toBe('one small file\n');
    expect(r.attached).toEqual([]);
  });

  it('shows hooks every read: nothing is offloaded while they listen', async () => {
    let reads = 0;
    const hooks = { afterSyscall: (c: { name: string }) => void (c.name === 'read' && reads++) };
    const run = await runGuest({ path: BUSYBOX, argv: ['busybox', 'dd', `if=${big}`, 'of=/dev/null', 'bs=4096'] }, { cpu: createNativeBackend({ ramSize: 64 * MiB }), hooks });
    expect(run.status.code).toBe(0);
    expect(reads).toBe(17); // 16 blocks and the end of the file
  });
});
