/**
 * Hostile syscall arguments (test/programs/sysfuzz.c): thousands of forked
 * children each make one syscall with arguments drawn from a seeded
 * generator, inside a scratch root. Whatever a call does to its child, the
 * kernel must answer with an errno or a signal: the run ends with the
 * fuzzer's own exit status, no KernelError, no JavaScript exception, and Node
 * prints no warning (a TimeoutOverflowWarning once showed alarm(0x7fffffff)
 * firing at once).
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runGuest } from './support.js';

const SOURCE = fileURLToPath(new URL('./programs/sysfuzz.c', import.meta.url));
let root = '';
const warnings: string[] = [];
const onWarning = (w: Error): void => {
  warnings.push(`${w.name}: ${w.message}`);
};

beforeAll(() => {
  root = fs.mkdtempSync(path.join(tmpdir(), 'nommu-sysfuzz-'));
  execFileSync('musl-gcc', ['-static', '-O1', '-o', path.join(root, 'sysfuzz'), SOURCE]);
  process.on('warning', onWarning);
});
afterAll(() => {
  process.off('warning', onWarning);
  fs.rmSync(root, { recursive: true, force: true });
});

describe('hostile syscall arguments', () => {
  for (const seed of [1, 2, 3]) {
    it(`seed ${seed}: 1000 random calls, each in its own child, end in an errno or a signal`, async () => {
      const r = await runGuest({ path: '/sysfuzz', argv: ['sysfuzz', String(seed), '1000'], cwd: '/' }, { root, timeoutMs: 120_000 });
      expect({ timedOut: r.timedOut, code: r.status.code, signal: r.status.signal }).toEqual({ timedOut: false, code: 0, signal: 0 });
      expect(r.stdout).toMatch(/^trials 1000, exits \d+, signals \d+, killed \d+\n$/);
      expect(warnings).toEqual([]);
    }, 180_000);
  }
});
