import { defineConfig } from 'vitest/config';
import { nativeBackendUnavailable } from '../packages/x86-cpu/dist/index.js';

/** The whole suite runs once per CPU backend this host can run (NOMMU_BACKEND picks it in the harness). */
const why = nativeBackendUnavailable();
if (why) console.warn(`conformance: the native backend is skipped on this host: ${why}`);
const backends = why ? ['unicorn'] : ['unicorn', 'native'];

/**
 * Two test files at a time (each file's tests in order): most of a run is a
 * guest waiting (sleeps, timers, the other process of a pipe), so two streams
 * take the suite's time down by a third without making it CPU-bound. Each file
 * has its own scratch directories; the programs are built once, up front.
 */
export default defineConfig({
  test: {
    testTimeout: 120_000,
    hookTimeout: 300_000,
    globalSetup: ['./harness/global-setup.ts'],
    pool: 'forks',
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
    fileParallelism: true,
    projects: backends.map((backend) => ({
      extends: true,
      test: { name: backend, env: { NOMMU_BACKEND: backend } },
    })),
  },
});
