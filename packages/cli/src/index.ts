export { main } from './main.js';
export { parseRunArgs, parseSize, UsageError } from './args.js';
export type { RunOptions } from './args.js';

/** Version of the CLI's programmatic interface (main, parseRunArgs). */
export const CLI_INTERFACE_VERSION = 1;
