import { defineConfig } from 'vitest/config';

// Each test runs a node process that runs a guest on the Unicorn backend: one at a time.
export default defineConfig({
  test: {
    testTimeout: 60_000,
    pool: 'forks',
    poolOptions: { forks: { singleFork: true } },
  },
});
