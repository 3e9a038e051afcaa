import { errnoMessage, errnoName, MAX_ERRNO, syscallByNr } from '../table/index.js';
import type { RetType, SyscallDef } from '../table/index.js';
import { layoutFor, unknownLayout, type Layout } from './layouts.js';
import type { GuestMemoryReader } from './memory.js';
import { slotFor, type ExitContext } from './render.js';
import type { DecodeContext } from './structs.js';
import { hex, i64, octalMode } from './values.js';

export interface DecodedEntry {
  readonly nr: number;
  readonly def: SyscallDef | undefined;
  readonly args: readonly bigint[];
  /** One entry per printed argument: its text when it was decoded at entry, null when it is decoded at exit. */
  readonly entryText: readonly (string | null)[];
}

export interface FormatOptions {
  /**
   * Pad the call so ` = ` starts at this column, as strace does (it uses 40 and counts any
   * `[pid N] ` prefix the caller adds, so pass 40 minus that prefix's length). 0: no padding.
   */
  readonly column?: number;
}

/** strace's name for a number the table does not know. */
const unknownName = (nr: number): string => `syscall_${hex(BigInt(nr))}`;

function layout(entry: { readonly def: SyscallDef | undefined; readonly args: readonly bigint[] }): Layout {
  return entry.def ? layoutFor(entry.def, entry.args) : unknownLayout();
}

function sixArgs(args: readonly bigint[]): readonly bigint[] {
  return Array.from({ length: 6 }, (_, i) => args[i] ?? 0n);
}

/** Decode every argument that must be read before the call; out-arguments are left null. */
export function decodeEntry(nr: number, args: readonly bigint[], mem: GuestMemoryReader): DecodedEntry {
  const def = syscallByNr(nr);
  const all = sixArgs(args);
  const ctx: DecodeContext = { mem, name: def?.name ?? unknownName(nr), args: all, result: undefined };
  const entryText = layout({ def, args: all }).slots.map((slot) => (slot.entry ? slot.entry(ctx) : null));
  return { nr, def, args: all, entryText };
}

function callText(entry: DecodedEntry, rendered: readonly string[]): string {
  const { def, nr } = entry;
  return `${def?.name ?? unknownName(nr)}(${rendered.join(', ')})`;
}

function pad(call: string, options: FormatOptions): string {
  const column = options.column ?? 0;
  return call.length + 1 < column ? call.padEnd(column - 1) : call;
}

/** ERESTART* codes, which strace prints as `? NAME (explanation)` instead of -1. */
const RESTART_CODES = new Set([512, 513, 514, 516]);

function successText(ret: RetType, result: bigint): string {
  switch (ret) {
    case 'ptr':
    case 'hex':
      return hex(result);
    case 'mode':
      return octalMode(result);
    default:
      return String(i64(result));
  }
}

/**
 * Render the whole line at exit, without a newline:
 * `read(3, "root:x:0:0:root:/root:/bin/bash\n"..., 4096) = 1033`.
 * result is the raw rax value; -4095..-1 is a negative errno.
 */
export function formatExit(
  entry: DecodedEntry,
  result: bigint,
  mem: GuestMemoryReader,
  options: FormatOptions = {},
): string {
  const signed = i64(result);
  const failed = signed < 0n && signed >= -BigInt(MAX_ERRNO);
  const ctx: ExitContext = {
    mem,
    name: entry.def?.name ?? unknownName(entry.nr),
    args: entry.args,
    result: signed,
    failed,
  };
  const lay = layout(entry);
  const rendered = lay.slots.map((slot, i) => {
    const before = entry.entryText[i] ?? null;
    const text = slot.exit ? slot.exit(ctx, before) : (before ?? '?');
    return slot.label ? `${slot.label}=${text}` : text;
  });
  const call = pad(callText(entry, rendered), options);
  if (failed) {
    const errno = Number(-signed);
    const name = errnoName(errno);
    if (RESTART_CODES.has(errno)) return `${call} = ? ${name} (${errnoMessage(errno)})`;
    return name ? `${call} = -1 ${name} (${errnoMessage(errno)})` : `${call} = -1 (errno ${errno})`;
  }
  const ret = lay.ret ?? entry.def?.ret ?? 'int';
  const note = lay.annotate?.(ctx) ?? null;
  const value = ret === 'noreturn' ? String(signed) : successText(ret, signed);
  return `${call} = ${value}${note === null ? '' : ` (${note})`}`;
}

export interface DecodedArg {
  /** The table's name for the argument (`pathname`, `flags`). */
  readonly name: string;
  /** The raw register. */
  readonly value: bigint;
  /** As strace prints it at entry; an argument the kernel fills in shows its address. */
  readonly text: string;
}

export interface DecodedCall {
  readonly nr: number;
  readonly name: string;
  /** One per argument in the table's signature (none for an unknown number). */
  readonly args: readonly DecodedArg[];
  /** The call as strace shows it at entry: `openat(AT_FDCWD, "/etc/passwd", O_RDONLY)`. */
  readonly text: string;
}

/** A syscall's arguments at entry, named by the table and rendered as strace does. */
export function decodeCall(nr: number, args: readonly bigint[], mem: GuestMemoryReader): DecodedCall {
  const entry = decodeEntry(nr, args, mem);
  const ctx: DecodeContext = { mem, name: entry.def?.name ?? unknownName(nr), args: entry.args, result: undefined };
  // Arguments the kernel has not filled in yet render as a failed call shows them: their address.
  const unfilled: ExitContext = { ...ctx, result: -14n, failed: true };
  const decoded = (entry.def?.args ?? []).map((a, i): DecodedArg => {
    const value = entry.args[i] ?? 0n;
    const slot = slotFor(i, a.type);
    return { name: a.name, value, text: slot.entry?.(ctx) ?? slot.exit?.(unfilled, null) ?? hex(value) };
  });
  const rendered = layout(entry).slots.map((slot, i) => {
    const text = entry.entryText[i] ?? slot.exit?.(unfilled, null) ?? '?';
    return slot.label ? `${slot.label}=${text}` : text;
  });
  return { nr, name: ctx.name, args: decoded, text: callText(entry, rendered) };
}

/** For calls that do not return (exit, exit_group, a killed task): `exit_group(0) = ?`. */
export function formatNoReturn(entry: DecodedEntry, options: FormatOptions = {}): string {
  const rendered = layout(entry).slots.map((slot, i) => {
    const text = entry.entryText[i] ?? '?';
    return slot.label ? `${slot.label}=${text}` : text;
  });
  return `${pad(callText(entry, rendered), options)} = ?`;
}
