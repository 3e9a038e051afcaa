import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { KERNEL_API_VERSION } from '@nommu/kernel';
import { supportTable } from '@nommu/syscall-table/linux';
import { PT_REGS_ABI_VERSION, UM_ENTRY_INTERFACE_VERSION } from '@nommu/um-entry';
import { CPU_BACKEND_INTERFACE_VERSION, nativeBackendUnavailable, unicornVersion } from '@nommu/x86-cpu';
import { parseSize, UsageError } from './args.js';
import { createBackend } from './backend.js';
import { isDirectory } from './run.js';

const PACKAGES = ['@nommu/cli', '@nommu/kernel', '@nommu/syscall-table', '@nommu/um-entry', '@nommu/x86-cpu'];

interface InfoOptions {
  backend: string;
  mem: number;
  root: string;
}

function parseInfoArgs(argv: string[]): InfoOptions {
  const o: InfoOptions = { backend: 'unicorn', mem: 1 << 30, root: '/' };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const eq = a.indexOf('=');
    const name = eq >= 0 ? a.slice(0, eq) : a;
    const value = (): string => {
      const v = eq >= 0 ? a.slice(eq + 1) : argv[++i];
      if (v === undefined) throw new UsageError(`${name} needs a value`);
      return v;
    };
    switch (name) {
      case '--backend': o.backend = value(); break;
      case '--mem': o.mem = parseSize(value()); break;
      case '--root':
        o.root = value();
        if (!isDirectory(o.root)) throw new UsageError(`--root ${o.root}: not a directory`);
        break;
      default:
        throw new UsageError(`'nommu info' takes --backend, --mem and --root, not '${a}' (see 'nommu help')`);
    }
  }
  return o;
}

/** 1073741824 -> "1G", 536870912 -> "512M", anything else in KiB. */
function formatSize(n: number): string {
  if (n % (1 << 30) === 0) return `${n / (1 << 30)}G`;
  if (n % (1 << 20) === 0) return `${n / (1 << 20)}M`;
  return `${n / 1024}K`;
}

/** `nommu info [--backend NAME] [--mem SIZE] [--root DIR]`: what this nommu is made of, as `nommu run` with those options would use it. */
export function info(argv: string[] = []): number {
  const opts = parseInfoArgs(argv);
  const require = createRequire(import.meta.url);
  const lines: string[] = [];
  for (const name of PACKAGES) {
    const file = name === '@nommu/cli' ? new URL('../package.json', import.meta.url) : require.resolve(`${name}/package.json`);
    const pkg = JSON.parse(readFileSync(file, 'utf8')) as { version: string };
    lines.push(`${name.padEnd(22)} ${pkg.version}`);
  }
  // The features come from the backend itself; the RAM it would get is only reported.
  const cpu = createBackend(opts.backend, 16 << 20);
  const f = cpu.features;
  cpu.dispose();
  const rows = supportTable();
  const count = (level: string): number => rows.filter((r) => r.level === level).length;
  lines.push(
    '',
    `interfaces             cpu-backend v${CPU_BACKEND_INTERFACE_VERSION}, pt_regs v${PT_REGS_ABI_VERSION}, um-entry v${UM_ENTRY_INTERFACE_VERSION}, kernel v${KERNEL_API_VERSION}`,
    `backend                unicorn ${unicornVersion()} (default; guest isolated from the host)`,
    `backend native         ${nativeBackendUnavailable() ?? 'available (--backend native: guest code on the real CPU, not isolated)'}`,
    `selected backend       ${opts.backend} (--backend)`,
    `cpu                    ${f.modelName} (${f.vendor}, family ${f.family} model ${f.model})`,
    `cpu flags              ${f.flags.join(' ')}`,
    `ram                    ${formatSize(opts.mem)} (--mem; 1G by default)`,
    `guest root             ${opts.root} (--root; / by default)`,
    `syscalls               ${rows.length} known: ${count('supported')} supported, ${count('partial')} partial, ${count('unimplemented')} unimplemented`,
    `node                   ${process.version}`,
  );
  process.stdout.write(lines.join('\n') + '\n');
  return 0;
}
