/**
 * The code in every package README (and examples/README.md) is run as written,
 * on the real Unicorn backend and Debian's busybox: a README that stops
 * working fails here. A line `EXPR; // => VALUE` is a check: EXPR must equal
 * VALUE (deep equality), the way the README shows it.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const HERE = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const REPO = resolve(HERE, '..');
// Inside examples/, so the blocks' imports resolve as a user's would (through its node_modules).
const SCRATCH = join(HERE, '.readme-blocks');
rmSync(SCRATCH, { recursive: true, force: true });
mkdirSync(SCRATCH, { recursive: true });
afterAll(() => rmSync(SCRATCH, { recursive: true, force: true }));

const READMES = [
  'packages/cli/README.md',
  'packages/nommu-kernel/README.md',
  'packages/syscall-table/README.md',
  'packages/um-entry/README.md',
  'packages/x86-cpu/README.md',
  'examples/README.md',
];

interface Check {
  line: string;
  actual: unknown;
  expected: unknown;
}

declare global {
  // eslint-disable-next-line no-var
  var __readmeCheck: ((actual: unknown, expected: unknown, line: string) => void) | undefined;
}

const CHECK = /^(\s*)(.+?);\s*\/\/ => (.+)$/;

/** The ```ts / ```js blocks of a README, with `// =>` lines turned into checks. */
function blocks(file: string): { code: string; checks: number }[] {
  const text = readFileSync(join(REPO, file), 'utf8');
  return [...text.matchAll(/^```(ts|js)\n([\s\S]*?)^```$/gm)].map((m) => {
    let checks = 0;
    const code = m[2]!
      .split('\n')
      .map((line) => {
        const c = CHECK.exec(line);
        if (!c) return line;
        checks++;
        return `${c[1]}globalThis.__readmeCheck((${c[2]}), (${c[3]}), ${JSON.stringify(line.trim())});`;
      })
      .join('\n');
    return { code, checks };
  });
}

describe.each(READMES)('%s', (file) => {
  const found = blocks(file);

  it('has a runnable example', () => {
    expect(found.length).toBeGreaterThan(0);
  });

  it.each(found.map((b, i) => [i + 1, b] as const))('block %i runs and shows what it says', async (i, block) => {
    const seen: Check[] = [];
    globalThis.__readmeCheck = (actual, expected, line) => seen.push({ line, actual, expected });
    const path = join(SCRATCH, `${file.replace(/[/.]/g, '_')}_${i}.ts`);
    writeFileSync(path, `${block.code}\nexport {};\n`);
    await import(pathToFileURL(path).href);
    expect(seen.length).toBe(block.checks);
    for (const c of seen) expect(c.actual, c.line).toEqual(c.expected);
  });
});

it('the READMEs hold checks at all (the `// =>` convention is in use)', () => {
  const total = READMES.flatMap((f) => blocks(f)).reduce((n, b) => n + b.checks, 0);
  expect(total).toBeGreaterThanOrEqual(15);
});
