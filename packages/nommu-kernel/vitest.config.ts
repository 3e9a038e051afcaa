import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const pkg = (rel: string): string => fileURLToPath(new URL(rel, import.meta.url));

/**
 * The kernel's tests compose it with the real syscall table, which the kernel
 * package does not depend on (the table depends on the kernel). Both resolve to
 * their sources, so the table's handlers and the kernel under test share one
 * copy of every class (`instanceof Errno` must hold across the two).
 */
export default defineConfig({
  resolve: {
    alias: [
      { find: /^@nommu\/kernel$/, replacement: pkg('./src/index.ts') },
      { find: /^@nommu\/syscall-table\/linux$/, replacement: pkg('../syscall-table/src/linux/index.ts') },
    ],
  },
  test: {
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Each file makes Unicorn engines with hundreds of MB of guest RAM: one process at a time.
    pool: 'forks',
    poolOptions: { forks: { singleFork: true } },
  },
});
