import {
  createNativeBackend,
  createUnicornBackend,
  CpuBackendError,
  nativeBackendUnavailable,
  type CpuBackend,
} from '@nommu/x86-cpu';
import { UsageError } from './args.js';

export const BACKENDS = ['unicorn', 'native'] as const;
export type BackendName = (typeof BACKENDS)[number];

/** The CPU backend `--backend NAME` asks for, or a usage error saying why it cannot be had. */
export function createBackend(
  name: string,
  ramSize: number,
  opts: { rewriteSyscalls?: boolean; deprioritizeHostThreads?: boolean } = {},
): CpuBackend {
  if (name === 'unicorn') return createUnicornBackend({ ramSize });
  if (name === 'native') {
    const why = nativeBackendUnavailable();
    if (why) throw new UsageError(`--backend native: ${why}`);
    try {
      return createNativeBackend({ ramSize, rewriteSyscalls: opts.rewriteSyscalls ?? true, deprioritizeHostThreads: opts.deprioritizeHostThreads ?? false });
    } catch (e) {
      if (e instanceof CpuBackendError) throw new UsageError(`--backend native: ${e.message.replace(/^native backend: /, '')}`);
      throw e;
    }
  }
  throw new UsageError(`unknown backend '${name}' (available: ${BACKENDS.join(', ')})`);
}
