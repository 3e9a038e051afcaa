import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { supportTable } from '@nommu/syscall-table/linux';
import { nativeBackendUnavailable } from '@nommu/x86-cpu';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectOneLine, lines, nommu, REPO, runCommand, tempDir } from './helpers.js';

interface Row {
  nr: number;
  name: string;
  level: string;
  note: string;
}

const LEVELS = ['supported', 'partial', 'unimplemented'];
const UNISTD = '/usr/include/x86_64-linux-gnu/asm/unistd_64.h';
const tmp = tempDir('syscalls');
afterAll(tmp.cleanup);

/** The CLI's JSON rows, fetched once. */
let rows: Row[] = [];
beforeAll(async () => {
  const r = await nommu(['syscalls', '--format', 'json']);
  expect(r).toMatchObject({ status: 0, stderr: '' });
  rows = JSON.parse(r.stdout) as Row[];
});

/** One CSV record (RFC 4180 quoting, no embedded newlines). */
function csvFields(line: string): string[] {
  const out: string[] = [];
  let i = 0;
  for (;;) {
    let field = '';
    if (line[i] === '"') {
      for (i++; ; i++) {
        if (i >= line.length) throw new Error(`unterminated quote in ${line}`);
        if (line[i] === '"' && line[i + 1] === '"') {
          field += '"';
          i++;
        } else if (line[i] === '"') {
          i++;
          break;
        } else field += line[i];
      }
    } else {
      const end = line.indexOf(',', i);
      field = line.slice(i, end < 0 ? line.length : end);
      i = end < 0 ? line.length : end;
    }
    out.push(field);
    if (i >= line.length) return out;
    if (line[i] !== ',') throw new Error(`bad CSV at ${i} in ${line}`);
    i++;
  }
}

const count = (level: string): number => rows.filter((r) => r.level === level).length;

describe('nommu syscalls --format json', () => {
  it('lists every syscall once, in number order, each with a known level and a note string', () => {
    expect(rows.length).toBeGreaterThan(300);
    expect(rows.map((r) => r.nr)).toEqual([...new Set(rows.map((r) => r.nr))].sort((a, b) => a - b));
    for (const r of rows) {
      expect(Object.keys(r).sort()).toEqual(['level', 'name', 'note', 'nr']);
      expect(LEVELS).toContain(r.level);
      expect(typeof r.note).toBe('string');
      expect(r.name).toMatch(/^[a-z0-9_]+$/);
    }
  });

  it.skipIf(!existsSync(UNISTD))(`has every number of ${UNISTD}, with its name`, () => {
    const byNr = new Map(rows.map((r) => [r.nr, r.name]));
    const header = [...readFileSync(UNISTD, 'utf8').matchAll(/^#define __NR_(\w+)\s+(\d+)\s*$/gm)];
    expect(header.length).toBeGreaterThan(300);
    for (const m of header) expect({ nr: Number(m[2]), name: byNr.get(Number(m[2])) }).toEqual({ nr: Number(m[2]), name: m[1] });
  });

  it('is the registry of @nommu/syscall-table/linux', () => {
    expect(rows).toEqual(supportTable());
  });

  it('says something about every partial syscall', () => {
    for (const r of rows.filter((row) => row.level === 'partial')) expect({ name: r.name, note: r.note }).toEqual({ name: r.name, note: expect.stringMatching(/\S/) });
  });

  it('accepts --format=json as well as --format json', async () => {
    const r = await nommu(['syscalls', '--format=json']);
    expect(JSON.parse(r.stdout)).toEqual(rows);
  });
});

describe('nommu syscalls: the other formats hold the same rows', () => {
  it('table (the default): one aligned line per syscall', async () => {
    const explicit = await nommu(['syscalls', '--format', 'table']);
    const byDefault = await nommu(['syscalls']);
    expect(explicit).toMatchObject({ status: 0, stderr: '' });
    expect(byDefault.stdout).toBe(explicit.stdout);
    const ls = lines(explicit.stdout);
    expect(ls).toHaveLength(rows.length);
    const levelColumn = new Set<number>();
    const noteColumn = new Set<number>();
    for (const [i, line] of ls.entries()) {
      const r = rows[i];
      const m = /^( *(\d+) {2}(\S+) +)(supported|partial|unimplemented)(?:( +)(\S.*))?$/.exec(line);
      expect(m, line).not.toBeNull();
      expect({ nr: Number(m?.[2]), name: m?.[3], level: m?.[4], note: m?.[6] ?? '' }).toEqual({ nr: r?.nr, name: r?.name, level: r?.level, note: r?.note });
      const levelAt = m?.[1]?.length ?? -1;
      levelColumn.add(levelAt);
      if (m?.[6] !== undefined) noteColumn.add(levelAt + (m[4]?.length ?? 0) + (m[5]?.length ?? 0));
    }
    expect(noteColumn.size).toBe(1);
    expect(levelColumn.size).toBe(1);
  });

  it('csv: a header and one record per syscall', async () => {
    const r = await nommu(['syscalls', '--format', 'csv']);
    expect(r).toMatchObject({ status: 0, stderr: '' });
    const [header, ...records] = lines(r.stdout);
    expect(header).toBe('nr,name,level,note');
    expect(records.map(csvFields).map(([nr, name, level, note, ...rest]) => ({ nr: Number(nr), name, level, note, rest }))).toEqual(
      rows.map((row) => ({ ...row, rest: [] })),
    );
  });

  it('markdown: title, counts line and one table row per syscall', async () => {
    const r = await nommu(['syscalls', '--format', 'markdown']);
    expect(r).toMatchObject({ status: 0, stderr: '' });
    const ls = lines(r.stdout);
    expect(ls[0]).toBe('# x86-64 syscalls under nommu');
    expect(ls).toContain(
      `${rows.length} syscalls: ${count('supported')} supported, ${count('partial')} partial, ${count('unimplemented')} unimplemented (answer -ENOSYS unless noted).`,
    );
    const head = ls.indexOf('| nr | name | support | note |');
    expect(ls[head + 1]).toBe('| ---: | --- | --- | --- |');
    const body = ls.slice(head + 2);
    expect(body).toHaveLength(rows.length);
    for (const [i, line] of body.entries()) {
      const row = rows[i];
      expect(line).toBe(`| ${row?.nr} | \`${row?.name}\` | ${row?.level} | ${row?.note.replace(/\|/g, '\\|')} |`);
    }
  });

  it.each([
    [['--format', 'xml'], /unknown format 'xml'/],
    [['--format'], /unknown option '--format'|needs a value/],
    [['--bogus'], /unknown option '--bogus'/],
  ])('%j is a usage error: status 2, one line', async (args, message) => {
    const r = await nommu(['syscalls', ...args]);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(expectOneLine(r.stderr)).toMatch(message);
  });
});

describe('docs/syscalls.md', () => {
  const doc = join(REPO, 'docs/syscalls.md');
  const script = join(REPO, 'scripts/gen-syscalls-doc.mjs');

  it('is what nommu syscalls --format markdown prints (regenerate: node scripts/gen-syscalls-doc.mjs)', async () => {
    const r = await nommu(['syscalls', '--format', 'markdown']);
    expect(readFileSync(doc, 'utf8')).toBe(r.stdout);
  });

  it('gen-syscalls-doc.mjs --check passes on it', async () => {
    const r = await runCommand(process.execPath, [script, '--check']);
    expect(r).toMatchObject({ status: 0, stderr: '' });
  });

  it('gen-syscalls-doc.mjs --check fails on a stale copy, and regenerating fixes it', async () => {
    const stale = join(tmp.dir, 'syscalls.md');
    writeFileSync(stale, readFileSync(doc, 'utf8').replace('| 0 | `read` | supported |', '| 0 | `read` | partial |'));
    const failed = await runCommand(process.execPath, [script, '--check', stale]);
    expect(failed.status).toBe(1);
    expect(expectOneLine(failed.stderr)).toContain('out of date');
    const regen = await runCommand(process.execPath, [script, stale]);
    expect(regen).toMatchObject({ status: 0, stderr: '' });
    expect(readFileSync(stale, 'utf8')).toBe(readFileSync(doc, 'utf8'));
  });
});

describe('nommu info', () => {
  const packages = readdirSync(join(REPO, 'packages'))
    .filter((d) => existsSync(join(REPO, 'packages', d, 'package.json')))
    .map((d) => JSON.parse(readFileSync(join(REPO, 'packages', d, 'package.json'), 'utf8')) as { name: string; version: string; private?: boolean });

  it('names every package with its version, the backend, the CPU and the syscall counts', async () => {
    const r = await nommu(['info']);
    expect(r).toMatchObject({ status: 0, stderr: '' });
    expect(packages.length).toBeGreaterThanOrEqual(5);
    for (const p of packages) expect(r.stdout).toMatch(new RegExp(`^${p.name.replace('/', '\\/')} +${p.version.replace(/\./g, '\\.')}$`, 'm'));
    expect(r.stdout).toMatch(/^backend +unicorn \d+\.\d+/m);
    expect(r.stdout).toMatch(/^cpu +\S.*$/m);
    const flags = /^cpu flags +(.*)$/m.exec(r.stdout)?.[1]?.split(' ') ?? [];
    expect(flags).toEqual(expect.arrayContaining(['sse', 'sse2', 'syscall', 'lm']));
    expect(r.stdout).toContain(
      `${rows.length} known: ${count('supported')} supported, ${count('partial')} partial, ${count('unimplemented')} unimplemented`,
    );
    expect(r.stdout).toContain(process.version);
    expect(r.stdout).toMatch(/^ram +1G \(--mem/m);
    expect(r.stdout).toMatch(/^guest root +\/ \(--root/m);
  });

  it('reports the RAM, root and backend it is given, with that backend\'s CPU features', async () => {
    const { dir, cleanup } = tempDir('nommu-info-');
    const r = await nommu(['info', '--mem', '512M', `--root=${dir}`]);
    cleanup();
    expect(r).toMatchObject({ status: 0, stderr: '' });
    expect(r.stdout).toMatch(/^ram +512M \(--mem/m);
    expect(r.stdout).toContain(`guest root             ${dir} (--root`);
    expect(r.stdout).toMatch(/^selected backend +unicorn/m);
    if (nativeBackendUnavailable()) return;
    const native = await nommu(['info', '--backend', 'native']);
    expect(native).toMatchObject({ status: 0, stderr: '' });
    expect(native.stdout).toMatch(/^selected backend +native/m);
    // The native backend reports the host's CPUID: what /proc/cpuinfo of the host says.
    const hostFlags = /^flags\s*: (.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))![1]!.split(' ');
    const flags = /^cpu flags +(.*)$/m.exec(native.stdout)![1]!.split(' ');
    for (const f of ['sse2', 'lm', 'syscall']) expect(flags).toContain(f);
    // Linux hides a few CPUID bits from its flags line on some hosts (a CPU
    // erratum, a boot option, a hypervisor's template): allow two such.
    const unlisted = flags.filter((f) => !hostFlags.includes(f));
    expect(unlisted.length, `flags CPUID reports that /proc/cpuinfo does not list: ${unlisted.join(' ')}`).toBeLessThanOrEqual(2);
    expect(flags.length).toBeGreaterThan(20);
  });
});
