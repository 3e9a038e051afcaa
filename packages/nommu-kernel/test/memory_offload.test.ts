/**
 * brk and in-place mremap growth answered by the CPU backend itself
 * (CpuBackend.memoryOffload), on the real native backend: the calls stop
 * reaching the kernel, and the kernel's map follows what the backend did
 * (the mapping's /proc/self/maps line, the break brk answers). Hooks still
 * see every call. The differential side is conformance's grow_memory.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNativeBackend, nativeBackendUnavailable, type CpuBackend } from '@nommu/x86-cpu';
import { MiB, runGuest } from './support.js';

const SOURCE = fileURLToPath(new URL('./programs/grow_probe.c', import.meta.url));
let TMP = '';
let PROG = '';
beforeAll(() => {
  TMP = fs.mkdtempSync(path.join(os.tmpdir(), 'nommu-grow-'));
  PROG = path.join(TMP, 'grow_probe');
  execFileSync('musl-gcc', ['-static', '-O1', '-o', PROG, SOURCE]);
});
afterAll(() => fs.rmSync(TMP, { recursive: true, force: true }));

/** A native backend whose runs (each return is one kernel call or other stop) are counted. */
function countingBackend(): { cpu: CpuBackend; runs: () => number } {
  const cpu = createNativeBackend({ ramSize: 64 * MiB });
  let runs = 0;
  const wrapped = new Proxy(cpu, {
    get: (t, k) => {
      if (k === 'run') return (slice: number) => (runs++, t.run(slice));
      const v: unknown = Reflect.get(t, k, t);
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(t) : v;
    },
  }) as CpuBackend;
  return { cpu: wrapped, runs: () => runs };
}

/** "map A-B", "break X", "kernel-break Y" and the maps line of the mapping. */
function parse(out: string): { map: string; brk: string; kernelBrk: string; line: string } {
  const lines = out.trim().split('\n');
  const value = (name: string): string => lines.find((l) => l.startsWith(`${name} `))?.slice(name.length + 1) ?? '';
  const map = value('map');
  const start = map.split('-')[0] ?? '?';
  return { map, brk: value('break'), kernelBrk: value('kernel-break'), line: lines.find((l) => /^[0-9a-f]+-[0-9a-f]+ /.test(l) && l.replace(/^0+/, '').startsWith(start)) ?? '' };
}

describe.skipIf(nativeBackendUnavailable() !== null)('memory calls answered by the native backend', () => {
  it('grows a mapping and the break without the kernel, whose map follows', async () => {
    const c = countingBackend();
    const run = await runGuest({ path: PROG, argv: ['grow_probe'] }, { cpu: c.cpu });
    expect(run.status.code).toBe(0);
    const r = parse(run.stdout);
    // 299 mremap and 200 brk calls: the first of each reaches the kernel, which names the mapping.
    expect(c.runs()).toBeLessThan(60);
    const [start, end] = r.map.split('-').map((h) => parseInt(h, 16));
    expect(end! - start!).toBe(300 * 4096);
    expect(r.line).toMatch(/ rw-p 00000000 00:00 0/);
    const [a, b] = r.line.split(' ')[0]!.split('-').map((h) => parseInt(h, 16));
    expect([a, b]).toEqual([start, end]);
    expect(r.kernelBrk).toBe(r.brk);
  });

  it('leaves every call to the kernel while hooks listen', async () => {
    const c = countingBackend();
    let calls = 0;
    const hooks = { afterSyscall: (call: { name: string }) => void ((call.name === 'brk' || call.name === 'mremap') && calls++) };
    const run = await runGuest({ path: PROG, argv: ['grow_probe'] }, { cpu: c.cpu, hooks });
    expect(run.status.code).toBe(0);
    expect(calls).toBeGreaterThanOrEqual(299 + 200);
    expect(c.runs()).toBeGreaterThan(499);
    const r = parse(run.stdout);
    expect(r.kernelBrk).toBe(r.brk);
  });
});
