import { defineConfig } from 'vitest/config';

// Every test spawns nommu processes that run guests on the Unicorn backend:
// one fork keeps them from competing for the CPU and timing out.
export default defineConfig({
  test: {
    testTimeout: 60_000,
    pool: 'forks',
    poolOptions: { forks: { singleFork: true } },
  },
});
