import { ENUM_SETS, FLAG_SETS, signalName } from '../table/index.js';
import type { EnumSetName, FlagSet, FlagSetName, Xlat } from '../table/index.js';

export const u64 = (v: bigint): bigint => BigInt.asUintN(64, v);
export const i64 = (v: bigint): bigint => BigInt.asIntN(64, v);
export const u32 = (v: bigint): bigint => BigInt.asUintN(32, v);
export const i32 = (v: bigint): number => Number(BigInt.asIntN(32, v));

/** %#lx: 0 prints as 0. */
export function hex(v: bigint): string {
  const x = u64(v);
  return x === 0n ? '0' : `0x${x.toString(16)}`;
}

/** A guest address: NULL or 0x.... */
export function addr(v: bigint): string {
  return u64(v) === 0n ? 'NULL' : hex(v);
}

/** The value of an int-typed argument as strace shows it when no name fits (32-bit if it is one). */
function rawHex(v: bigint): string {
  const x = u64(v);
  const high = x >> 32n;
  return high === 0n || high === 0xffffffffn ? hex(u32(x)) : hex(x);
}

/** %#03o, as strace prints a mode: 0644, 000, 04755. */
export function octalMode(v: bigint): string {
  const x = u64(v);
  return (x === 0n ? '0' : `0${x.toString(8)}`).padStart(3, '0');
}

/** A signal number: SIGINT, SIGRT_2, or the number when it has no name. */
export function signalText(v: bigint): string {
  const n = i32(v);
  return signalName(n) ?? String(n);
}

export function lookup(values: Xlat, v: bigint): string | undefined {
  for (const [name, value] of values) if (BigInt(value) === v) return name;
  return undefined;
}

/** Print set bits by name, left-over bits as hex; returns [] when nothing matched. */
function bitNames(bits: Xlat, value: bigint): { names: string[]; rest: bigint } {
  const names: string[] = [];
  let rest = value;
  for (const [name, raw] of bits) {
    const v = BigInt.asUintN(64, BigInt(raw));
    if ((v === 0n && value === 0n) || (v !== 0n && (rest & v) === v)) {
      names.push(name);
      rest &= ~v;
      if (rest === 0n) break;
    }
  }
  return { names, rest };
}

/**
 * Flags as strace prints them: O_RDONLY|O_CLOEXEC, MAP_SHARED|16<<MAP_HUGE_SHIFT,
 * CLONE_VM|SIGCHLD, PROT_READ|0x10, or a lone unknown value as hex with a comment.
 */
export function formatFlagSet(set: FlagSet, value: bigint): string {
  let rest = u64(value);
  const parts: string[] = [];
  if (set.field) {
    const mask = BigInt(set.field.mask);
    const field = rest & mask;
    parts.push(lookup(set.field.values, field) ?? `${hex(field)} /* ${set.unknown} */`);
    rest &= ~mask;
  }
  const signal = set.signalMask === undefined ? 0n : rest & BigInt(set.signalMask);
  rest &= ~signal;
  const huge = set.shift ? rest & BigInt(set.shift.mask) : 0n;
  rest &= ~huge;
  const hasOther = parts.length > 0 || signal !== 0n || huge !== 0n;
  if (rest !== 0n || !hasOther) {
    const { names, rest: unknown } = bitNames(set.bits, rest);
    parts.push(...names);
    const alone = names.length === 0 && !hasOther;
    if (unknown !== 0n) parts.push(alone ? `${hex(unknown)} /* ${set.unknown} */` : hex(unknown));
    else if (alone) parts.push('0');
  }
  if (set.shift && huge !== 0n) parts.push(`${huge >> BigInt(set.shift.shift)}<<${set.shift.name}`);
  if (signal !== 0n) parts.push(signalText(signal));
  return parts.join('|');
}

export function formatFlags(set: FlagSetName, value: bigint): string {
  return formatFlagSet(FLAG_SETS[set], value);
}

/** One symbolic value, or hex with a comment naming the set when none fits. */
export function formatXval(values: Xlat, unknown: string, value: bigint): string {
  return (
    lookup(values, u64(value)) ??
    lookup(values, u32(value)) ??
    lookup(values, BigInt(i32(value))) ??
    `${rawHex(value)} /* ${unknown} */`
  );
}

export function formatEnum(set: EnumSetName, value: bigint): string {
  const { values, unknown } = ENUM_SETS[set];
  return formatXval(values, unknown, value);
}
