/**
 * How one argument is shown. A slot renders either at entry (inputs, read before the
 * kernel runs) or at exit (outputs, which need the return value); strace's own split.
 */
import type { ArgType } from '../table/index.js';
import { STRUCTS, formatIovec, type DecodeContext } from './structs.js';
import { formatBuffer, formatPath, formatString } from './strings.js';
import { readView } from './memory.js';
import { MAX_STRLEN } from './quote.js';
import {
  addr as address,
  formatEnum,
  formatFlags,
  hex,
  i32,
  i64,
  octalMode,
  signalText,
  u32,
  u64,
} from './values.js';

export interface ExitContext extends DecodeContext {
  readonly result: bigint;
  /** The call failed (result in -4095..-1): out-arguments show their address instead. */
  readonly failed: boolean;
}

export interface Slot {
  /** Printed as `label=` before the value (clone's child_stack=, flags=). */
  readonly label?: string;
  readonly entry?: (ctx: DecodeContext) => string;
  /** At exit; gets the entry text when the slot also rendered at entry (`[110 => 16]`). */
  readonly exit?: (ctx: ExitContext, atEntry: string | null) => string;
}

const AT_FDCWD = -100;

/** A plain value that needs no memory. */
export function scalar(type: ArgType, v: bigint): string {
  switch (type.kind) {
    case 'int':
    case 'fd':
    case 'pid':
      return String(i32(v));
    case 'dirfd':
      return i32(v) === AT_FDCWD ? 'AT_FDCWD' : String(i32(v));
    case 'uint':
      return String(u32(v));
    case 'uid':
      return u32(v) === 0xffffffffn ? '-1' : String(u32(v));
    case 'size':
      return String(u64(v));
    case 'ssize':
      return String(i64(v));
    case 'hex':
      return hex(v);
    case 'ptr':
      return address(v);
    case 'mode':
      return octalMode(u32(v));
    case 'signal':
      return signalText(v);
    case 'flags':
      return formatFlags(type.set, v);
    case 'enum':
      return formatEnum(type.set, v);
    default:
      return address(v);
  }
}

/** Out-values behind a pointer: NULL, the address after a failure, else the decoded value. */
function outValue(v: bigint, ctx: ExitContext, decode: () => string): string {
  if (u64(v) === 0n) return 'NULL';
  return ctx.failed ? address(v) : decode();
}

function strv(ctx: DecodeContext, v: bigint, abbrev: boolean): string {
  if (u64(v) === 0n) return 'NULL';
  const ptrs: bigint[] = [];
  for (let i = 0; ; i++) {
    const w = readView(ctx.mem, v + BigInt(i * 8), 8);
    if (!w) return address(v);
    const p = w.u64(0);
    if (p === 0n || (!abbrev && i > MAX_STRLEN)) break;
    ptrs.push(p);
    if (i > 65536) break;
  }
  if (abbrev) return `${address(v)} /* ${ptrs.length} var${ptrs.length === 1 ? '' : 's'} */`;
  const items = ptrs.slice(0, MAX_STRLEN).map((p) => formatString(ctx.mem, p));
  if (ptrs.length > MAX_STRLEN) items.push('...');
  return `[${items.join(', ')}]`;
}

/** The slot for argument i of the given type, following the table's declaration. */
export function slotFor(i: number, type: ArgType): Slot {
  const arg = (ctx: DecodeContext): bigint => ctx.args[i] ?? 0n;
  switch (type.kind) {
    case 'path':
      return { entry: (ctx) => formatPath(ctx.mem, arg(ctx)) };
    case 'string':
      return { entry: (ctx) => formatString(ctx.mem, arg(ctx)) };
    case 'buf_in':
      return { entry: (ctx) => formatBuffer(ctx.mem, arg(ctx), u64(ctx.args[type.len] ?? 0n)) };
    case 'buf_out':
      // recv(MSG_TRUNC) answers more than the buffer holds: show only what is there.
      return {
        exit: (ctx) => {
          const cap = u64(ctx.args[type.len] ?? 0n);
          const n = ctx.result !== undefined && ctx.result > cap ? cap : ctx.result;
          return outValue(arg(ctx), ctx, () => formatBuffer(ctx.mem, arg(ctx), n));
        },
      };
    case 'strv':
      return { entry: (ctx) => strv(ctx, arg(ctx), type.abbrev === true) };
    case 'iovec':
      if (type.dir === 'in') {
        return { entry: (ctx) => formatIovec(ctx.mem, arg(ctx), u64(ctx.args[type.count] ?? 0n), null) };
      }
      return {
        exit: (ctx) =>
          outValue(arg(ctx), ctx, () => formatIovec(ctx.mem, arg(ctx), u64(ctx.args[type.count] ?? 0n), ctx.result)),
      };
    case 'struct': {
      const decode = STRUCTS[type.name];
      const entry = (ctx: DecodeContext): string => (u64(arg(ctx)) === 0n ? 'NULL' : decode(arg(ctx), ctx));
      if (type.dir === 'in') return { entry };
      if (type.dir === 'out') return { exit: (ctx) => outValue(arg(ctx), ctx, () => decode(arg(ctx), ctx)) };
      if (type.name === 'int' || type.name === 'uint64') return { entry, exit: changedValue(arg, decode, type.name) };
      return { entry };
    }
    default:
      return { entry: (ctx) => scalar(type, arg(ctx)) };
  }
}

/** Value-result integers: `[110 => 16]` (socklen) or `[0] => [16]` (offsets) when the kernel changed them. */
function changedValue(
  arg: (ctx: DecodeContext) => bigint,
  decode: (a: bigint, ctx: DecodeContext) => string,
  name: 'int' | 'uint64',
): (ctx: ExitContext, atEntry: string | null) => string {
  return (ctx, atEntry) => {
    const before = atEntry ?? '';
    if (ctx.failed || u64(arg(ctx)) === 0n) return before;
    const after = decode(arg(ctx), ctx);
    if (after === before || !before.startsWith('[')) return before;
    return name === 'int' ? `${before.slice(0, -1)} => ${after.slice(1)}` : `${before} => ${after}`;
  };
}

/** `[value]` read from an int pointer at exit (clone's parent_tid, prctl's PR_GET_PDEATHSIG). */
export function outInt(i: number, show: (v: number) => string = String): Slot {
  return {
    exit: (ctx) => {
      const a = ctx.args[i] ?? 0n;
      return outValue(a, ctx, () => {
        const v = readView(ctx.mem, a, 4);
        return v ? `[${show(v.i32(0))}]` : address(a);
      });
    },
  };
}

/** `[0x...]` read from a u64 pointer at exit (arch_prctl's ARCH_GET_FS). */
export function outHex64(i: number): Slot {
  return {
    exit: (ctx) => {
      const a = ctx.args[i] ?? 0n;
      return outValue(a, ctx, () => {
        const v = readView(ctx.mem, a, 8);
        return v ? `[${hex(v.u64(0))}]` : address(a);
      });
    },
  };
}

/** A NUL-terminated string the kernel fills in: a path (getcwd) or a short string (PR_GET_NAME). */
export function outCString(i: number, kind: 'path' | 'string'): Slot {
  return {
    exit: (ctx) => {
      const a = ctx.args[i] ?? 0n;
      return outValue(a, ctx, () => (kind === 'path' ? formatPath(ctx.mem, a) : formatString(ctx.mem, a)));
    },
  };
}
