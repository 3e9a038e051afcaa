export { main } from './main.js';
export { parseRunArgs, parseSize, UsageError } from './args.js';
export type { RunOptions } from './args.js';
export { createNommu, DEFAULT_PATH, findProgram, Nommu, runProgram } from './nommu.js';
export type { NommuOptions, OutputOption, ProgramOptions, RunResult, StdinOption } from './nommu.js';
export type { MountSpec } from '@nommu/kernel';

/** Version of the CLI's programmatic interface (main, parseRunArgs, Nommu, runProgram). */
export const CLI_INTERFACE_VERSION = 2;
