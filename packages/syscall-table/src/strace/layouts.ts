/**
 * Syscalls whose printed arguments depend on other arguments, the way strace's own
 * per-syscall decoders work: which of futex's six arguments appear depends on the op,
 * what ioctl's third argument is depends on the request, and so on. Everything else is
 * printed straight from the table.
 */
import { ENUM_SETS } from '../table/index.js';
import type { ArgType, RetType, SyscallDef } from '../table/index.js';
import { readView } from './memory.js';
import { outCString, outHex64, outInt, slotFor, type ExitContext, type Slot } from './render.js';
import { formatBuffer } from './strings.js';
import { STRUCTS, fdSetMembers, pollRevents, type DecodeContext } from './structs.js';
import {
  addr as address,
  formatEnum,
  formatFlags,
  hex,
  i32,
  lookup,
  signalText,
  u32,
  u64,
} from './values.js';

export interface Layout {
  readonly slots: readonly Slot[];
  /** Overrides the table's return style for this particular call (fcntl F_DUPFD returns an fd). */
  readonly ret?: RetType;
  /** Text strace puts in parentheses after the return value: `flags O_RDONLY`, `Timeout`. */
  readonly annotate?: (ctx: ExitContext) => string | null;
}

type Special = (def: SyscallDef, args: readonly bigint[]) => Layout;

const int: ArgType = { kind: 'int' };
const uint: ArgType = { kind: 'uint' };
const hexT: ArgType = { kind: 'hex' };
const ptr: ArgType = { kind: 'ptr' };

const at = (args: readonly bigint[], i: number): bigint => args[i] ?? 0n;

/** The table's own slots for the arguments at the given indexes. */
function fromTable(def: SyscallDef, indexes: readonly number[]): Slot[] {
  return indexes.map((i) => {
    const a = def.args[i];
    return a ? slotFor(i, a.type) : slotFor(i, hexT);
  });
}

const labeled = (label: string, slot: Slot): Slot => ({ ...slot, label });

const O_CREAT = 0o100n;
const O_TMPFILE_BIT = 0o20000000n;

/** open/openat print the mode only when it is used. */
function openLike(flagsIndex: number): Special {
  return (def, args) => {
    const creat = (u64(at(args, flagsIndex)) & (O_CREAT | O_TMPFILE_BIT)) !== 0n;
    const n = flagsIndex + (creat ? 2 : 1);
    return { slots: fromTable(def, Array.from({ length: n }, (_, i) => i)) };
  };
}

// ---- clone ----

const CLONE_PIDFD = 0x1000n;
const CLONE_SETTLS = 0x80000n;
const CLONE_PARENT_SETTID = 0x100000n;
const CLONE_CHILD_CLEARTID = 0x200000n;
const CLONE_CHILD_SETTID = 0x1000000n;

const clone: Special = (_def, args) => {
  const flags = u64(at(args, 0));
  const slots: Slot[] = [
    labeled('child_stack', slotFor(1, ptr)),
    labeled('flags', slotFor(0, { kind: 'flags', set: 'clone' })),
  ];
  if ((flags & (CLONE_PARENT_SETTID | CLONE_PIDFD)) !== 0n) slots.push(labeled('parent_tid', outInt(2)));
  if ((flags & CLONE_SETTLS) !== 0n) slots.push(labeled('tls', slotFor(4, ptr)));
  if ((flags & (CLONE_CHILD_SETTID | CLONE_CHILD_CLEARTID)) !== 0n) slots.push(labeled('child_tidptr', slotFor(3, ptr)));
  return { slots };
};

// ---- futex ----

const FUTEX_PRIVATE_FLAG = 128n;
const FUTEX_CLOCK_REALTIME = 256n;

export function futexOpName(op: bigint): string {
  const v = u32(op);
  const cmd = v & ~(FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME);
  const name = lookup(ENUM_SETS.futex_cmd.values, cmd);
  if (name === undefined) return `${hex(v)} /* FUTEX_??? */`;
  const priv = (v & FUTEX_PRIVATE_FLAG) !== 0n ? '_PRIVATE' : '';
  const clock = (v & FUTEX_CLOCK_REALTIME) !== 0n ? '|FUTEX_CLOCK_REALTIME' : '';
  return name + priv + clock;
}

const bitset = (i: number): Slot => ({
  entry: (ctx) => (u32(at(ctx.args, i)) === 0xffffffffn ? 'FUTEX_BITSET_MATCH_ANY' : hex(u32(at(ctx.args, i)))),
});

const futex: Special = (_def, args) => {
  const cmd = Number(u32(at(args, 1)) & 127n);
  const [uaddr, op, val, timeout, uaddr2, val3] = [
    slotFor(0, ptr),
    { entry: (ctx: DecodeContext) => futexOpName(at(ctx.args, 1)) },
    slotFor(2, uint),
    slotFor(3, { kind: 'struct', name: 'timespec', dir: 'in' }),
    slotFor(4, ptr),
    slotFor(5, uint),
  ];
  const val2 = slotFor(3, uint);
  switch (cmd) {
    case 0: // WAIT
      return { slots: [uaddr, op, val, timeout] };
    case 1: // WAKE
    case 2: // FD
      return { slots: [uaddr, op, val] };
    case 3: // REQUEUE
      return { slots: [uaddr, op, val, val2, uaddr2] };
    case 4: // CMP_REQUEUE
    case 12: // CMP_REQUEUE_PI
      return { slots: [uaddr, op, val, val2, uaddr2, val3] };
    case 5: // WAKE_OP
      return { slots: [uaddr, op, val, val2, uaddr2, slotFor(5, hexT)] };
    case 6: // LOCK_PI
    case 13: // LOCK_PI2
      return { slots: [uaddr, op, timeout] };
    case 7: // UNLOCK_PI
    case 8: // TRYLOCK_PI
      return { slots: [uaddr, op] };
    case 9: // WAIT_BITSET
      return { slots: [uaddr, op, val, timeout, bitset(5)] };
    case 10: // WAKE_BITSET
      return { slots: [uaddr, op, val, bitset(5)] };
    case 11: // WAIT_REQUEUE_PI
      return { slots: [uaddr, op, val, timeout, uaddr2] };
    default:
      return { slots: [uaddr, op, val, slotFor(3, ptr), uaddr2, slotFor(5, hexT)] };
  }
};

// ---- ioctl ----

/** TCGETS, or _IOC(_IOC_READ, 0x54, 0x1, 0x8) for requests without a name. */
export function ioctlName(cmd: bigint): string {
  const v = u32(cmd);
  const name = lookup(ENUM_SETS.ioctl.values, v);
  if (name !== undefined) return name;
  const dir = (v >> 30n) & 3n;
  const size = (v >> 16n) & 0x3fffn;
  const type = (v >> 8n) & 0xffn;
  const nr = v & 0xffn;
  const dirText = dir === 0n ? '_IOC_NONE' : formatFlags('ioc_dir', dir);
  return `_IOC(${dirText}, ${hex(type)}, ${hex(nr)}, ${hex(size)})`;
}

const struct = (i: number, name: 'termios' | 'winsize', dir: 'in' | 'out'): Slot => slotFor(i, { kind: 'struct', name, dir });
const intIn = (i: number): Slot => slotFor(i, { kind: 'struct', name: 'int', dir: 'in' });

/** The third argument of the ioctls strace decodes; undefined means no third argument. */
const IOCTL_ARG: Readonly<Record<string, Slot | undefined>> = {
  TCGETS: struct(2, 'termios', 'out'),
  TCSETS: struct(2, 'termios', 'in'),
  TCSETSW: struct(2, 'termios', 'in'),
  TCSETSF: struct(2, 'termios', 'in'),
  TIOCGWINSZ: struct(2, 'winsize', 'out'),
  TIOCSWINSZ: struct(2, 'winsize', 'in'),
  FIONREAD: outInt(2),
  TIOCOUTQ: outInt(2),
  TIOCGPGRP: outInt(2),
  TIOCGSID: outInt(2),
  TIOCGPTN: outInt(2),
  TIOCGPKT: outInt(2),
  TIOCGPTLCK: outInt(2),
  TIOCGEXCL: outInt(2),
  TIOCGETD: outInt(2),
  TIOCSPGRP: intIn(2),
  TIOCSPTLCK: intIn(2),
  TIOCSETD: intIn(2),
  FIONBIO: intIn(2),
  FIOASYNC: intIn(2),
  TIOCPKT: intIn(2),
  TCSBRK: slotFor(2, int),
  TCXONC: slotFor(2, int),
  TCFLSH: slotFor(2, int),
  TIOCSCTTY: slotFor(2, int),
  TIOCSIG: slotFor(2, { kind: 'signal' }),
};

const NO_IOCTL_ARG = new Set(['FIOCLEX', 'FIONCLEX', 'TIOCNOTTY', 'TIOCEXCL', 'TIOCNXCL', 'TIOCCONS', 'TIOCSBRK', 'TIOCCBRK', 'TIOCVHANGUP']);

const ioctl: Special = (_def, args) => {
  const name = lookup(ENUM_SETS.ioctl.values, u32(at(args, 1)));
  const request: Slot = { entry: (ctx) => ioctlName(at(ctx.args, 1)) };
  const slots: Slot[] = [slotFor(0, { kind: 'fd' }), request];
  if (name === undefined || !NO_IOCTL_ARG.has(name)) slots.push((name === undefined ? undefined : IOCTL_ARG[name]) ?? slotFor(2, hexT));
  return { slots };
};

// ---- fcntl ----

const flockStruct = (withPid: boolean) => (a: bigint, ctx: DecodeContext): string => {
  const v = readView(ctx.mem, a, 32);
  if (!v) return address(a);
  const parts = [
    `l_type=${formatEnum('lock_type', BigInt(v.u16(0)))}`,
    `l_whence=${formatEnum('seek', BigInt(v.u16(2)))}`,
    `l_start=${v.i64(8)}`,
    `l_len=${v.i64(16)}`,
  ];
  if (withPid) parts.push(`l_pid=${v.i32(24)}`);
  return `{${parts.join(', ')}}`;
};

const F = Object.fromEntries(ENUM_SETS.fcntl.values.map(([n, v]) => [n, v])) as Record<string, number>;

const fcntl: Special = (def, args) => {
  const cmd = Number(u32(at(args, 1)));
  const base = fromTable(def, [0, 1]);
  const third = (slot: Slot, ret?: RetType, annotate?: Layout['annotate']): Layout => ({
    slots: [...base, slot],
    ...(ret ? { ret } : {}),
    ...(annotate ? { annotate } : {}),
  });
  const none = (ret?: RetType, annotate?: Layout['annotate']): Layout => ({
    slots: base,
    ...(ret ? { ret } : {}),
    ...(annotate ? { annotate } : {}),
  });
  switch (cmd) {
    case F.F_DUPFD:
    case F.F_DUPFD_CLOEXEC:
      return third(slotFor(2, int), 'fd');
    case F.F_GETFD:
      return none('hex', (ctx) => (ctx.result === 0n ? null : `flags ${formatFlags('fd', ctx.result)}`));
    case F.F_SETFD:
      return third(slotFor(2, { kind: 'flags', set: 'fd' }));
    case F.F_GETFL:
      return none('hex', (ctx) => `flags ${formatFlags('open', ctx.result)}`);
    case F.F_SETFL:
      return third(slotFor(2, { kind: 'flags', set: 'open' }));
    case F.F_GET_SEALS:
      return none('hex', (ctx) => (ctx.result === 0n ? null : `seals ${formatFlags('seals', ctx.result)}`));
    case F.F_ADD_SEALS:
      return third(slotFor(2, { kind: 'flags', set: 'seals' }));
    case F.F_SETLEASE:
      return third(slotFor(2, { kind: 'enum', set: 'lock_type' }));
    case F.F_GETOWN:
      return none('pid');
    case F.F_GETSIG:
    case F.F_GETLEASE:
    case F.F_GETPIPE_SZ:
      return none();
    case F.F_SETLK:
    case F.F_SETLKW:
    case F.F_OFD_SETLK:
    case F.F_OFD_SETLKW:
      return third({ entry: (ctx) => (u64(at(ctx.args, 2)) === 0n ? 'NULL' : flockStruct(false)(at(ctx.args, 2), ctx)) });
    case F.F_GETLK:
    case F.F_OFD_GETLK:
      return third({
        exit: (ctx) => (u64(at(ctx.args, 2)) === 0n ? 'NULL' : ctx.failed ? address(at(ctx.args, 2)) : flockStruct(true)(at(ctx.args, 2), ctx)),
      });
    case F.F_SETSIG:
      return third(slotFor(2, { kind: 'signal' }));
    case F.F_SETOWN:
    case F.F_SETPIPE_SZ:
      return third(slotFor(2, int));
    default:
      return third(slotFor(2, hexT));
  }
};

// ---- sockets ----

const AF_INET = 2n;
const AF_INET6 = 10n;
const SOL_SOCKET = 1n;
const SOL_TCP = 6n;

const socket: Special = (def, args) => {
  const family = u32(at(args, 0));
  const inet = family === AF_INET || family === AF_INET6;
  return { slots: [...fromTable(def, [0, 1]), slotFor(2, inet ? { kind: 'enum', set: 'ip_protocol' } : int)] };
};

function optname(level: bigint): ArgType {
  if (level === SOL_SOCKET) return { kind: 'enum', set: 'sockopt_socket' };
  if (level === SOL_TCP) return { kind: 'enum', set: 'sockopt_tcp' };
  return int;
}

const setsockopt: Special = (def, args) => {
  const len = i32(at(args, 4));
  const optval = len === 4 ? intIn(3) : slotFor(3, { kind: 'buf_in', len: 4 });
  return { slots: [...fromTable(def, [0, 1]), slotFor(2, optname(u32(at(args, 1)))), optval, slotFor(4, int)] };
};

const getsockopt: Special = (def, args) => {
  const optval: Slot = {
    exit: (ctx) => {
      const a = at(ctx.args, 3);
      if (u64(a) === 0n) return 'NULL';
      if (ctx.failed) return address(a);
      const lenView = readView(ctx.mem, at(ctx.args, 4), 4);
      const len = lenView ? lenView.i32(0) : 0;
      if (len === 4) {
        const v = readView(ctx.mem, a, 4);
        return v ? `[${v.i32(0)}]` : address(a);
      }
      return formatBuffer(ctx.mem, a, BigInt(Math.max(len, 0)));
    },
  };
  return {
    slots: [...fromTable(def, [0, 1]), slotFor(2, optname(u32(at(args, 1)))), optval, slotFor(4, { kind: 'struct', name: 'int', dir: 'inout' })],
  };
};

// ---- prctl / arch_prctl ----

const PR = Object.fromEntries(ENUM_SETS.prctl.values.map(([n, v]) => [n, v])) as Record<string, number>;

const PRCTL_ONLY_OPTION = new Set([
  PR.PR_GET_DUMPABLE, PR.PR_GET_KEEPCAPS, PR.PR_GET_TIMING, PR.PR_GET_SECCOMP, PR.PR_GET_SECUREBITS,
  PR.PR_GET_TIMERSLACK, PR.PR_TASK_PERF_EVENTS_DISABLE, PR.PR_TASK_PERF_EVENTS_ENABLE,
  PR.PR_GET_NO_NEW_PRIVS, PR.PR_GET_THP_DISABLE, PR.PR_GET_FP_MODE, PR.PR_GET_IO_FLUSHER,
  PR.PR_MCE_KILL_GET, PR.PR_GET_MDWE, PR.PR_GET_MEMORY_MERGE,
]);
const PRCTL_ONE_NUMBER = new Set([
  PR.PR_SET_DUMPABLE, PR.PR_SET_KEEPCAPS, PR.PR_SET_TIMERSLACK, PR.PR_SET_CHILD_SUBREAPER,
  PR.PR_SET_SECUREBITS, PR.PR_SET_IO_FLUSHER, PR.PR_CAPBSET_READ, PR.PR_CAPBSET_DROP, PR.PR_SET_TIMING,
  PR.PR_SET_MEMORY_MERGE,
]);

const prctl: Special = (_def, args) => {
  const option = Number(u32(at(args, 0)));
  const opt = slotFor(0, { kind: 'enum', set: 'prctl' });
  const rest = (type: ArgType): Slot[] => [1, 2, 3, 4].map((i) => slotFor(i, type));
  if (PRCTL_ONLY_OPTION.has(option)) return { slots: [opt] };
  if (PRCTL_ONE_NUMBER.has(option)) return { slots: [opt, slotFor(1, { kind: 'size' })] };
  switch (option) {
    case PR.PR_SET_NAME:
      return { slots: [opt, slotFor(1, { kind: 'string' })] };
    case PR.PR_GET_NAME:
      return { slots: [opt, outCString(1, 'string')] };
    case PR.PR_SET_PDEATHSIG:
      return { slots: [opt, slotFor(1, { kind: 'signal' })] };
    case PR.PR_GET_PDEATHSIG:
      return { slots: [opt, outInt(1, (s) => signalText(BigInt(s)))] };
    case PR.PR_GET_CHILD_SUBREAPER:
    case PR.PR_GET_TSC:
      return { slots: [opt, outInt(1)] };
    case PR.PR_GET_TID_ADDRESS:
      return { slots: [opt, outHex64(1)] };
    case PR.PR_SET_NO_NEW_PRIVS:
    case PR.PR_SET_THP_DISABLE:
      return { slots: [opt, ...rest({ kind: 'size' })] };
    case PR.PR_SET_SECCOMP:
      return { slots: [opt, slotFor(1, { kind: 'size' }), slotFor(2, ptr)] };
    case PR.PR_SET_VMA:
      return { slots: [opt, slotFor(1, { kind: 'size' }), slotFor(2, hexT), slotFor(3, { kind: 'size' }), slotFor(4, { kind: 'string' })] };
    default:
      return { slots: [opt, ...rest(hexT)] };
  }
};

const ARCH_GET_FS = 0x1003n;
const ARCH_GET_GS = 0x1004n;

const archPrctl: Special = (_def, args) => {
  const option = u32(at(args, 0));
  const opt = slotFor(0, { kind: 'enum', set: 'arch_prctl' });
  if (option === ARCH_GET_FS || option === ARCH_GET_GS) return { slots: [opt, outHex64(1)] };
  return { slots: [opt, slotFor(1, hexT)] };
};

// ---- polling ----

function timeLeft(ctx: ExitContext, i: number, name: 'timespec' | 'timeval'): string | null {
  const a = at(ctx.args, i);
  return u64(a) === 0n ? null : `left ${STRUCTS[name](a, ctx)}`;
}

const poll = (tsIndex: number | null): Special => (def) => ({
  slots: fromTable(def, def.args.map((_, i) => i)),
  annotate: (ctx) => {
    if (ctx.failed) return null;
    if (ctx.result === 0n) return 'Timeout';
    const revents = pollRevents(ctx);
    const left = tsIndex === null ? null : timeLeft(ctx, tsIndex, 'timespec');
    return [revents, left].filter((s) => s !== null).join(', ') || null;
  },
});

const select = (time: 'timespec' | 'timeval'): Special => (def) => ({
  slots: fromTable(def, def.args.map((_, i) => i)),
  annotate: (ctx) => {
    if (ctx.failed) return null;
    if (ctx.result === 0n) return 'Timeout';
    const n = Math.max(0, Math.min(i32(at(ctx.args, 0)), 8192));
    const parts: string[] = [];
    (['in', 'out', 'except'] as const).forEach((label, k) => {
      const a = at(ctx.args, k + 1);
      if (u64(a) === 0n) return;
      const bytes = ctx.mem.read(a, Math.ceil(n / 64) * 8);
      const fds = bytes ? fdSetMembers(bytes, n) : [];
      if (fds.length > 0) parts.push(`${label} [${fds.join(' ')}]`);
    });
    const left = timeLeft(ctx, 4, time);
    if (left) parts.push(left);
    return parts.join(', ') || null;
  },
});

// ---- the rest ----

const getcwd: Special = () => ({ slots: [outCString(0, 'path'), slotFor(1, { kind: 'size' })] });

const getrandom: Special = (def) => ({
  slots: [
    {
      exit: (ctx) => {
        const a = at(ctx.args, 0);
        if (u64(a) === 0n) return 'NULL';
        return ctx.failed ? address(a) : formatBuffer(ctx.mem, a, ctx.result, true);
      },
    },
    ...fromTable(def, [1, 2]),
  ],
});

/** preadv and friends split the offset in two registers; strace prints it once (pos_l). */
const withoutPosHigh: Special = (def) => ({
  slots: fromTable(def, def.args.map((_, i) => i).filter((i) => def.args[i]?.name !== 'pos_h')),
});

const SPECIAL: Readonly<Record<string, Special>> = {
  open: openLike(1),
  preadv: withoutPosHigh,
  pwritev: withoutPosHigh,
  preadv2: withoutPosHigh,
  pwritev2: withoutPosHigh,
  openat: openLike(2),
  clone,
  futex,
  ioctl,
  fcntl,
  socket,
  setsockopt,
  getsockopt,
  prctl,
  arch_prctl: archPrctl,
  poll: poll(null),
  ppoll: poll(2),
  select: select('timeval'),
  pselect6: select('timespec'),
  getcwd,
  getrandom,
};

/** How a call is printed: the table's signature, refined by the few decoders above. */
export function layoutFor(def: SyscallDef, args: readonly bigint[]): Layout {
  const special = SPECIAL[def.name];
  if (special) return special(def, args);
  return { slots: def.args.map((a, i) => slotFor(i, a.type)) };
}

/** Six hex arguments, as strace prints a syscall it does not know. */
export function unknownLayout(): Layout {
  return { slots: [0, 1, 2, 3, 4, 5].map((i) => slotFor(i, hexT)) };
}
