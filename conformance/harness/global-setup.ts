import { ensurePrograms } from './native.js';

/**
 * Builds the conformance programs once, before the test files start: they run
 * two at a time, and two builds at once would write the same outputs.
 */
export default function setup(): void {
  ensurePrograms();
  process.env.NOMMU_CONFORMANCE_BUILT = '1';
}
