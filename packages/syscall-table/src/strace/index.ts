export type { GuestMemoryReader } from './memory.js';
export type { DecodedArg, DecodedCall, DecodedEntry, FormatOptions } from './format.js';
export type { SiginfoFields } from './structs.js';
export { decodeCall, decodeEntry, formatExit, formatNoReturn } from './format.js';
export { formatExitStatus, formatSignal } from './signal.js';
export { SyscallSummary } from './summary.js';
export { quoteBytes } from './quote.js';
