import { SYSCALLS } from './syscalls.js';
import type { SyscallDef } from './types.js';

export type { ArgDef, ArgType, RetType, StructName, SyscallDef } from './types.js';
export type { EnumSet, EnumSetName, FlagSet, FlagSetName, Xlat } from './flags.js';
export { ENUM_SETS, FILE_TYPES, FLAG_SETS, TERM_FIELDS } from './flags.js';
export { errnoMessage, errnoName, MAX_ERRNO } from './errno.js';
export { signalByName, signalName, SIGRTMAX, SIGRTMIN } from './signals.js';
export { SYSCALLS };

const BY_NR = new Map<number, SyscallDef>(SYSCALLS.map((def) => [def.nr, def]));
const BY_NAME = new Map<string, SyscallDef>(SYSCALLS.map((def) => [def.name, def]));

/** name -> number, e.g. NR.read === 0. */
export const NR: Readonly<Record<string, number>> = Object.freeze(
  Object.fromEntries(SYSCALLS.map((def) => [def.name, def.nr])),
);

export const MAX_SYSCALL_NR: number = SYSCALLS.reduce((max, def) => Math.max(max, def.nr), 0);

export function syscallByNr(nr: number): SyscallDef | undefined {
  return BY_NR.get(nr);
}

export function syscallByName(name: string): SyscallDef | undefined {
  return BY_NAME.get(name);
}
