import { defineConfig } from 'vitest/config';
import { nativeBackendUnavailable } from '../packages/x86-cpu/dist/index.js';

/** The whole suite runs once per CPU backend this host can run (NOMMU_BACKEND picks it in the harness). */
const why = nativeBackendUnavailable();
if (why) console.warn(`conformance: the native backend is skipped on this host: ${why}`);
const backends = why ? ['unicorn'] : ['unicorn', 'native'];

export default defineConfig({
  test: {
    testTimeout: 120_000,
    hookTimeout: 300_000,
    pool: 'forks',
    poolOptions: { forks: { singleFork: true } },
    fileParallelism: false,
    projects: backends.map((backend) => ({
      extends: true,
      test: { name: backend, env: { NOMMU_BACKEND: backend } },
    })),
  },
});
