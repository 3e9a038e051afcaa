import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { KERNEL_API_VERSION } from '@nommu/kernel';
import { supportTable } from '@nommu/syscall-table/linux';
import { PT_REGS_ABI_VERSION, UM_ENTRY_INTERFACE_VERSION } from '@nommu/um-entry';
import {
  CPU_BACKEND_INTERFACE_VERSION,
  createUnicornBackend,
  nativeBackendUnavailable,
  unicornVersion,
} from '@nommu/x86-cpu';

const PACKAGES = ['@nommu/cli', '@nommu/kernel', '@nommu/syscall-table', '@nommu/um-entry', '@nommu/x86-cpu'];

/** `nommu info`: what this nommu is made of. */
export function info(): number {
  const require = createRequire(import.meta.url);
  const lines: string[] = [];
  for (const name of PACKAGES) {
    const file = name === '@nommu/cli' ? new URL('../package.json', import.meta.url) : require.resolve(`${name}/package.json`);
    const pkg = JSON.parse(readFileSync(file, 'utf8')) as { version: string };
    lines.push(`${name.padEnd(22)} ${pkg.version}`);
  }
  const cpu = createUnicornBackend({ ramSize: 16 << 20 });
  const f = cpu.features;
  cpu.dispose();
  const rows = supportTable();
  const count = (level: string): number => rows.filter((r) => r.level === level).length;
  lines.push(
    '',
    `interfaces             cpu-backend v${CPU_BACKEND_INTERFACE_VERSION}, pt_regs v${PT_REGS_ABI_VERSION}, um-entry v${UM_ENTRY_INTERFACE_VERSION}, kernel v${KERNEL_API_VERSION}`,
    `backend                unicorn ${unicornVersion()} (default; guest isolated from the host)`,
    `backend native         ${nativeBackendUnavailable() ?? 'available (--backend native: guest code on the real CPU, not isolated)'}`,
    `cpu                    ${f.modelName} (${f.vendor}, family ${f.family} model ${f.model})`,
    `cpu flags              ${f.flags.join(' ')}`,
    `ram                    1G by default (--mem)`,
    `guest root             / by default (--root)`,
    `syscalls               ${rows.length} known: ${count('supported')} supported, ${count('partial')} partial, ${count('unimplemented')} unimplemented`,
    `node                   ${process.version}`,
  );
  process.stdout.write(lines.join('\n') + '\n');
  return 0;
}
