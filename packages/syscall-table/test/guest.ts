/** Runs busybox (or another program) on a real kernel with the Linux table, and busybox natively as the reference. */
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import { Kernel, type Identity } from '@nommu/kernel';
import { createUnicornBackend, type CpuBackend } from '@nommu/x86-cpu';
import { createLinuxSyscallTable } from '../src/linux/index.js';

const BUSYBOX = '/bin/busybox';
const ENV = ['PATH=/usr/bin:/bin', 'LANG=C'];

export interface Run {
  out: string;
  err: string;
  /** Exit code, or 128 + the signal that killed it. */
  code: number;
}

export interface GuestOptions {
  identity?: Partial<Identity>;
  cwd?: string;
  readOnly?: boolean;
  /** The program to run instead of busybox; `args` follow its argv[0]. */
  exe?: string;
  /** The CPU backend (default: a fresh Unicorn backend with 256 MiB of RAM). */
  cpu?: CpuBackend;
}

export async function guest(args: string[], opts: GuestOptions = {}): Promise<Run> {
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  const kernel = new Kernel({
    cpu: opts.cpu ?? createUnicornBackend({ ramSize: 256 << 20 }),
    syscalls: createLinuxSyscallTable(),
    identity: opts.identity ?? {},
    readOnly: opts.readOnly ?? false,
    stdin: { read: () => 0 },
    stdout: { write: (d) => void out.push(Buffer.from(d)) },
    stderr: { write: (d) => void err.push(Buffer.from(d)) },
  });
  try {
    // Nice 0, whatever the test runner's: expected values in the tests start from 0.
    const exe = opts.exe ?? BUSYBOX;
    kernel.spawn({ path: exe, argv: [exe, ...args], envp: ENV, cwd: opts.cwd ?? '/', nice: 0 });
    const status = await kernel.run();
    return { out: Buffer.concat(out).toString(), err: Buffer.concat(err).toString(), code: status.signal ? 128 + status.signal : status.code };
  } finally {
    kernel.dispose();
  }
}

/** Runs busybox natively at nice 0 (raising a negative nice needs no privilege; lowering a positive one needs root). */
export function native(args: string[], cwd = '/'): Run {
  const delta = -os.getPriority();
  const r = spawnSync(delta === 0 ? BUSYBOX : 'nice', delta === 0 ? args : ['-n', String(delta), BUSYBOX, ...args], { env: Object.fromEntries(ENV.map((e) => e.split('='))), cwd, encoding: 'utf8' });
  return { out: r.stdout, err: r.stderr, code: r.status ?? 128 };
}

export const sh = (script: string): string[] => ['sh', '-c', script];
