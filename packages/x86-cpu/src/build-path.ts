import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/**
 * A file the addon build produced (build/Release/...), found through this
 * package's own package.json rather than relative to the calling module, so
 * it is found from the CLI's single-file bundle too.
 */
export function buildOutput(file: string): string {
  const pkg = createRequire(import.meta.url).resolve('@nommu/x86-cpu/package.json');
  return join(dirname(pkg), 'build', 'Release', file);
}
