#!/usr/bin/env node
// Writes docs/syscalls.md from `nommu syscalls --format markdown`.
//
//   node scripts/gen-syscalls-doc.mjs [--check] [FILE]
//
// FILE defaults to docs/syscalls.md. With --check nothing is written: the
// script exits 1 when FILE differs from what it would write. Needs a build
// (pnpm -s turbo run build) because it runs the built CLI.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const check = args.includes('--check');
const files = args.filter((a) => a !== '--check');
if (files.length > 1 || files.some((a) => a.startsWith('-'))) {
  process.stderr.write('usage: node scripts/gen-syscalls-doc.mjs [--check] [FILE]\n');
  process.exit(2);
}
const file = resolve(files[0] ?? join(repo, 'docs/syscalls.md'));

const markdown = execFileSync(process.execPath, [join(repo, 'packages/cli/bin/nommu.js'), 'syscalls', '--format', 'markdown'], {
  encoding: 'utf8',
  stdio: ['ignore', 'pipe', 'inherit'],
});

if (check) {
  if (existsSync(file) && readFileSync(file, 'utf8') === markdown) process.exit(0);
  process.stderr.write(`${files[0] ?? 'docs/syscalls.md'} is out of date: run node scripts/gen-syscalls-doc.mjs\n`);
  process.exit(1);
}
mkdirSync(dirname(file), { recursive: true });
writeFileSync(file, markdown);
