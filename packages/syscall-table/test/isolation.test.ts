/**
 * `import '@nommu/syscall-table'` must give the table and the strace formatter
 * without loading the kernel or the Unicorn addon. A child node imports the
 * built package (through its exports map, from this package's directory) with
 * three independent witnesses installed first:
 *  - an ESM resolve hook (module.register) that logs every resolved URL,
 *  - a wrapper around process.dlopen, through which every .node addon loads,
 *  - the shared objects in process.report, which list what is really mapped.
 * A control run imports the kernel and starts the backend, to show the
 * witnesses do see them.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const PKG_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const dir = mkdtempSync(join(tmpdir(), 'nommu-isolation-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const HOOKS = `import { appendFileSync } from 'node:fs';
let log;
export function initialize(data) { log = data.log; }
export async function resolve(specifier, context, next) {
  const r = await next(specifier, context);
  appendFileSync(log, 'resolve ' + r.url + '\\n');
  return r;
}
`;

const REGISTER = `import { appendFileSync } from 'node:fs';
import { register } from 'node:module';
const log = process.env.NOMMU_ISOLATION_LOG;
register(${JSON.stringify(pathToFileURL(join(dir, 'hooks.mjs')).href)}, { data: { log } });
const dlopen = process.dlopen;
process.dlopen = function (module, filename, ...rest) {
  appendFileSync(log, 'dlopen ' + filename + '\\n');
  return dlopen.call(this, module, filename, ...rest);
};
`;

/** What the child reports after running `body` (an async function body, ESM). */
interface Observed {
  result: unknown;
  resolved: string[];
  dlopened: string[];
  sharedObjects: string[];
  requireCache: string[];
}

function observe(name: string, body: string): Promise<Observed> {
  writeFileSync(join(dir, 'hooks.mjs'), HOOKS);
  writeFileSync(join(dir, 'register.mjs'), REGISTER);
  const log = join(dir, `${name}.log`);
  writeFileSync(log, '');
  const script = `
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
const result = await (async () => { ${body} })();
const entries = readFileSync(process.env.NOMMU_ISOLATION_LOG, 'utf8').split('\\n').filter(Boolean);
const pick = (kind) => entries.filter((e) => e.startsWith(kind + ' ')).map((e) => e.slice(kind.length + 1));
process.stdout.write(JSON.stringify({
  result,
  resolved: pick('resolve'),
  dlopened: pick('dlopen'),
  sharedObjects: process.report.getReport().sharedObjects,
  requireCache: Object.keys(createRequire(import.meta.url).cache),
}));
`;
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, ['--import', pathToFileURL(join(dir, 'register.mjs')).href, '--input-type=module', '-e', script], {
      cwd: PKG_DIR,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', NOMMU_ISOLATION_LOG: log },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (status) => {
      if (status !== 0) reject(new Error(`child node exited with ${status}:\n${stderr}`));
      else resolvePromise(JSON.parse(stdout) as Observed);
    });
  });
}

const isKernelOrCpu = (s: string): boolean => /\/nommu-kernel\/|@nommu\/kernel|\/x86-cpu\/|@nommu\/x86-cpu/.test(s);
const isAddon = (s: string): boolean => /\.node$/.test(s);

const PURE = `
const t = await import('@nommu/syscall-table');
const memory = { read: (addr, len) => (addr === 0x1000n && len <= 3 ? new TextEncoder().encode('hi\\n').slice(0, len) : null) };
const entry = t.decodeEntry(t.NR.write, [1n, 0x1000n, 3n, 0n, 0n, 0n], memory);
return {
  syscalls: t.SYSCALLS.length,
  write: t.syscallByName('write')?.nr,
  line: t.formatExit(entry, 3n, memory),
  exit: t.formatExitStatus('exited', 0),
};
`;

describe("importing '@nommu/syscall-table' alone", () => {
  it('gives the table and the strace formatter', async () => {
    const seen = await observe('pure-result', PURE);
    expect(seen.result).toEqual({ syscalls: expect.any(Number), write: 1, line: 'write(1, "hi\\n", 3) = 3', exit: '+++ exited with 0 +++' });
    expect((seen.result as { syscalls: number }).syscalls).toBeGreaterThan(300);
  });

  it('loads neither the kernel nor any native addon', async () => {
    const seen = await observe('pure', PURE);
    expect(seen.resolved.some((u) => u.endsWith('/syscall-table/dist/index.js'))).toBe(true);
    expect(seen.resolved.filter(isKernelOrCpu)).toEqual([]);
    expect(seen.resolved.filter(isAddon)).toEqual([]);
    expect(seen.dlopened).toEqual([]);
    expect(seen.sharedObjects.filter(isAddon)).toEqual([]);
    expect(seen.requireCache.filter((f) => isKernelOrCpu(f) || isAddon(f))).toEqual([]);
  });

  it('control: the same witnesses do see the kernel and the Unicorn addon when they are used', async () => {
    const seen = await observe(
      'control',
      `const linux = await import('@nommu/syscall-table/linux');
       const cpu = await import('@nommu/x86-cpu');
       cpu.createUnicornBackend({ ramSize: 16 << 20 }).dispose();
       return linux.createLinuxSyscallTable().size;`,
    );
    expect(seen.result).toBeGreaterThan(300);
    expect(seen.resolved.filter((u) => /\/nommu-kernel\/dist\//.test(u)).length).toBeGreaterThan(0);
    expect(seen.dlopened.filter((f) => f.endsWith('nommu_unicorn.node'))).toHaveLength(1);
    expect(seen.sharedObjects.filter((f) => f.endsWith('nommu_unicorn.node'))).toHaveLength(1);
    expect(seen.requireCache.filter(isAddon)).toHaveLength(1);
  });
});
