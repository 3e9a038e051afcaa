/**
 * Which mappings the kernel asks the CPU backend to back with host memory at
 * once (CpuBackend.prefault): anonymous writable memory, as nommu Linux
 * allocates it at mmap time; not stacks, MAP_NORESERVE, read-only or file
 * mappings. A real Unicorn backend with its prefault calls recorded.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createUnicornBackend, type CpuBackend } from '@nommu/x86-cpu';
import { MiB, runGuest, syscallProbe } from './support.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nommu-prefault-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const MMAP = 9;
const PROT_READ = 1;
const PROT_WRITE = 2;
const MAP_PRIVATE = 0x02;
const MAP_ANONYMOUS = 0x20;
const MAP_NORESERVE = 0x4000;
const MAP_STACK = 0x20000;

/** The prefault calls one mmap makes, as [address, length]. */
async function prefaultsOf(len: number, prot: number, flags: number): Promise<[number, number][]> {
  const calls: [number, number][] = [];
  const real = createUnicornBackend({ ramSize: 64 * MiB });
  const record = (addr: number, n: number): void => void calls.push([addr, n]);
  const cpu = new Proxy(real, {
    get: (t, k) => {
      if (k === 'prefault') return record;
      const v: unknown = Reflect.get(t, k, t);
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(t) : v;
    },
  }) as CpuBackend;
  const probe = path.join(dir, `mmap-${prot}-${flags}-${len}`);
  fs.writeFileSync(probe, syscallProbe(MMAP, [0, len, prot, flags, -1, 0], ''), { mode: 0o755 });
  await runGuest({ path: probe, argv: [probe] }, { cpu });
  return calls;
}

describe('prefault at mmap time', () => {
  it('backs anonymous writable memory, rounded to pages', async () => {
    const calls = await prefaultsOf(MiB + 100, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
    expect(calls).toHaveLength(1);
    expect(calls[0]![0] % 4096).toBe(0);
    expect(calls[0]![1]).toBe(MiB + 4096);
  });

  it('leaves stacks, MAP_NORESERVE and read-only memory to fault', async () => {
    expect(await prefaultsOf(MiB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK)).toEqual([]);
    expect(await prefaultsOf(MiB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE)).toEqual([]);
    expect(await prefaultsOf(MiB, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS)).toEqual([]);
  });
});
