/**
 * mremap without an MMU: a mapping that must move to grow is copied, so a
 * moved mapping goes where it can grow in place again, and a buffer grown page
 * by page (realloc) moves O(log n) times. test/programs/mremap_grow.c grows
 * mappings natively and under nommu; both must keep every byte, and nommu
 * must move them rarely (Linux, with page tables, moves them at will).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUnicornBackend, type CpuBackend } from '@nommu/x86-cpu';
import { guest } from './guest.js';

const SOURCE = fileURLToPath(new URL('./programs/mremap_grow.c', import.meta.url));
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nommu-mremap-'));
const exe = path.join(dir, 'mremap_grow');
beforeAll(() => execFileSync('musl-gcc', ['-static', '-O1', '-o', exe, SOURCE]));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** The number a line of the program's output ends with, e.g. its count of moves. */
function count(out: string, prefix: string): number {
  const line = out.split('\n').find((l) => l.startsWith(prefix));
  if (line === undefined) throw new Error(`no line '${prefix}' in:\n${out}`);
  return Number(/(\d+) moves$/.exec(line)?.[1]);
}

/** Where the program says a mapping ended, as [address, length]. */
function where(out: string, name: string): [number, number] {
  const m = new RegExp(`^${name}: 0x([0-9a-f]+) (\\d+)$`, 'm').exec(out);
  if (!m) throw new Error(`no '${name}' mapping in:\n${out}`);
  return [parseInt(m[1]!, 16), Number(m[2])];
}

/** A Unicorn backend that records the prefault hints the kernel gives it, as [address, length]. */
function recordingPrefaults(calls: [number, number][]): CpuBackend {
  const real = createUnicornBackend({ ramSize: 256 << 20 });
  const record = (addr: number, len: number): void => void calls.push([addr, len]);
  return new Proxy(real, {
    get: (t, k) => {
      if (k === 'prefault') return record;
      const v: unknown = Reflect.get(t, k, t);
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(t) : v;
    },
  }) as CpuBackend;
}

/** Bytes of [start, end) no recorded prefault covered. */
function unprefaulted(calls: [number, number][], start: number, end: number): number {
  let missing = 0;
  for (let page = start; page < end; page += 4096) {
    if (!calls.some(([a, n]) => a <= page && page < a + n)) missing += 4096;
  }
  return missing;
}

describe('mremap growth', () => {
  it('keeps every byte, as natively, and moves a buffer grown page by page O(log n) times', async () => {
    const native = spawnSync(exe, [], { encoding: 'utf8' });
    expect(native.stdout).toContain('every byte kept');
    const run = await guest([], { exe });
    expect(run.err).toBe('');
    expect(run.code).toBe(0);
    expect(run.out.replace(/\d+ moves/g, 'N moves')).toBe(native.stdout.replace(/\d+ moves/g, 'N moves'));
    // 11 -> 2059 pages: log2(2059/11) < 8 doublings; and 4 buffers of 1 -> 513 pages, log2(513) < 10 each.
    // Placed from the top down as other mappings are, they moved 33 and 339 times.
    expect(count(run.out, 'one buffer')).toBeLessThanOrEqual(8);
    expect(count(run.out, 'four buffers')).toBeLessThanOrEqual(4 * 10);
  });

  it('backs what it adds to anonymous writable memory at once, as mmap does, but not MAP_NORESERVE memory', async () => {
    const calls: [number, number][] = [];
    const run = await guest(['addresses'], { exe, cpu: recordingPrefaults(calls) });
    expect(run.code).toBe(0);
    const [one, oneLen] = where(run.out, 'one');
    expect(unprefaulted(calls, one, one + oneLen)).toBe(0);
    const [lazy, lazyLen] = where(run.out, 'noreserve');
    expect(unprefaulted(calls, lazy, lazy + lazyLen)).toBe(lazyLen);
  });
});
