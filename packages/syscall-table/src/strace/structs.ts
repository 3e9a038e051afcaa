/**
 * Decoders for the structures strace prints, at the x86-64 offsets of the kernel ABI.
 * Each returns the struct text, or the address when the memory is unreadable.
 */
import { errnoName, FILE_TYPES, FLAG_SETS, TERM_FIELDS, signalName } from '../table/index.js';
import type { StructName } from '../table/index.js';
import { readView, View, type GuestMemoryReader } from './memory.js';
import { MAX_STRLEN, quoteBytes } from './quote.js';
import { formatBuffer } from './strings.js';
import {
  addr as address,
  formatEnum,
  formatFlags,
  formatFlagSet,
  formatXval,
  hex,
  lookup,
  octalMode,
  signalText,
  u64,
} from './values.js';

export interface DecodeContext {
  readonly mem: GuestMemoryReader;
  /** The syscall being decoded (some structs take their length from a sibling argument). */
  readonly name: string;
  /** All six raw syscall arguments. */
  readonly args: readonly bigint[];
  /** The return value when decoding at exit; undefined at entry. */
  readonly result: bigint | undefined;
}

export type StructDecoder = (addr: bigint, ctx: DecodeContext) => string;

const arg = (ctx: DecodeContext, i: number): bigint => ctx.args[i] ?? 0n;

/** Read size bytes and hand a view to fmt; the address when unreadable. */
function withView(ctx: DecodeContext, addr: bigint, size: number, fmt: (v: View) => string): string {
  const v = readView(ctx.mem, addr, size);
  return v ? fmt(v) : address(addr);
}

// ---- modes, devices, times ----

/** S_IFREG|0644; a mode with no file type prints as plain octal. */
export function symbolicMode(mode: number): string {
  const type = lookup(FILE_TYPES, BigInt(mode & 0o170000));
  const perm = BigInt(mode & ~0o170000);
  return type ? `${type}|${octalMode(perm)}` : octalMode(BigInt(mode));
}

/** makedev(0x1, 0x3) from a new-style dev_t. */
export function makedev(dev: bigint): string {
  const major = ((dev >> 8n) & 0xfffn) | ((dev >> 32n) & ~0xfffn);
  const minor = (dev & 0xffn) | ((dev >> 12n) & ~0xffn);
  return `makedev(${hex(major)}, ${hex(minor)})`;
}

const UTIME_NOW = 0x3fffffffn;
const UTIME_OMIT = 0x3ffffffen;

function timespecAt(v: View, off: number): string {
  return `{tv_sec=${v.i64(off)}, tv_nsec=${v.i64(off + 8)}}`;
}

function timevalAt(v: View, off: number): string {
  return `{tv_sec=${v.i64(off)}, tv_usec=${v.i64(off + 8)}}`;
}

/** utimensat times: UTIME_NOW/UTIME_OMIT replace the whole timespec, as strace prints. */
function utimeAt(v: View, off: number): string {
  const nsec = v.i64(off + 8);
  if (nsec === UTIME_NOW) return 'UTIME_NOW';
  if (nsec === UTIME_OMIT) return 'UTIME_OMIT';
  return timespecAt(v, off);
}

// ---- signals ----

/** [INT TERM], or ~[...] listing the absent ones when two thirds or more are set. */
export function formatSigset(lo: number, hi: number): string {
  const bits = [lo >>> 0, hi >>> 0];
  const count = bits.reduce((n, w) => n + popcount(w), 0);
  const inverted = count >= Math.floor((64 * 2) / 3);
  const names: string[] = [];
  for (let sig = 1; sig <= 64; sig++) {
    const word = bits[(sig - 1) >> 5] ?? 0;
    const set = ((word >>> ((sig - 1) & 31)) & 1) === 1;
    if (set !== inverted) names.push((signalName(sig) ?? String(sig)).replace(/^SIG/, ''));
  }
  return `${inverted ? '~' : ''}[${names.join(' ')}]`;
}

function popcount(w: number): number {
  let n = 0;
  for (let x = w >>> 0; x !== 0; x &= x - 1) n++;
  return n;
}

function sigsetAt(v: View, off: number): string {
  return formatSigset(v.u32(off), v.u32(off + 4));
}

function sigHandler(h: bigint): string {
  if (h === 0n) return 'SIG_DFL';
  if (h === 1n) return 'SIG_IGN';
  if (h === 0xffffffffffffffffn) return 'SIG_ERR';
  return hex(h);
}

const SA_RESTORER = 0x04000000n;

const SI_CODES: readonly (readonly [string, number])[] = [
  ['SI_USER', 0], ['SI_KERNEL', 0x80], ['SI_QUEUE', -1], ['SI_TIMER', -2], ['SI_MESGQ', -3],
  ['SI_ASYNCIO', -4], ['SI_SIGIO', -5], ['SI_TKILL', -6], ['SI_DETHREAD', -7], ['SI_ASYNCNL', -60],
];

/** Signal-specific si_code names (positive codes), by signal. */
const SIG_CODES: Readonly<Record<number, readonly (readonly [string, number])[]>> = {
  4: [['ILL_ILLOPC', 1], ['ILL_ILLOPN', 2], ['ILL_ILLADR', 3], ['ILL_ILLTRP', 4], ['ILL_PRVOPC', 5], ['ILL_PRVREG', 6], ['ILL_COPROC', 7], ['ILL_BADSTK', 8]],
  5: [['TRAP_BRKPT', 1], ['TRAP_TRACE', 2], ['TRAP_BRANCH', 3], ['TRAP_HWBKPT', 4], ['TRAP_UNK', 5]],
  7: [['BUS_ADRALN', 1], ['BUS_ADRERR', 2], ['BUS_OBJERR', 3], ['BUS_MCEERR_AR', 4], ['BUS_MCEERR_AO', 5]],
  8: [['FPE_INTDIV', 1], ['FPE_INTOVF', 2], ['FPE_FLTDIV', 3], ['FPE_FLTOVF', 4], ['FPE_FLTUND', 5], ['FPE_FLTRES', 6], ['FPE_FLTINV', 7], ['FPE_FLTSUB', 8]],
  11: [['SEGV_MAPERR', 1], ['SEGV_ACCERR', 2], ['SEGV_BNDERR', 3], ['SEGV_PKUERR', 4], ['SEGV_ACCADI', 5], ['SEGV_ADIDERR', 6], ['SEGV_ADIPERR', 7], ['SEGV_MTEAERR', 8], ['SEGV_MTESERR', 9], ['SEGV_CPERR', 10]],
  17: [['CLD_EXITED', 1], ['CLD_KILLED', 2], ['CLD_DUMPED', 3], ['CLD_TRAPPED', 4], ['CLD_STOPPED', 5], ['CLD_CONTINUED', 6]],
  29: [['POLL_IN', 1], ['POLL_OUT', 2], ['POLL_MSG', 3], ['POLL_ERR', 4], ['POLL_PRI', 5], ['POLL_HUP', 6]],
  31: [['SYS_SECCOMP', 1], ['SYS_USER_DISPATCH', 2]],
};

export function siCodeName(signo: number, code: number): string {
  const specific = code > 0 && code < 0x80 ? SIG_CODES[signo] : undefined;
  const name = specific ? lookup(specific, BigInt(code)) : undefined;
  return name ?? lookup(SI_CODES, BigInt(code)) ?? String(code);
}

/** The fields of a siginfo, shared by the `--- SIG... {...} ---` line and siginfo arguments. */
export interface SiginfoFields {
  readonly signo: number;
  readonly code: number;
  readonly errno?: number;
  readonly pid?: number;
  readonly uid?: number;
  readonly addr?: bigint;
  readonly status?: number;
  readonly utime?: bigint;
  readonly stime?: bigint;
  /** sigval, for rt_sigqueueinfo and timers. */
  readonly int?: number;
  readonly ptr?: bigint;
  readonly timerid?: number;
  readonly overrun?: number;
  readonly band?: bigint;
  readonly fd?: number;
}

const SIGCHLD = 17;
const SIGIO = 29;
const CLD_EXITED = 1;
const SI_TIMER = -2;
const SI_SIGIO = -5;
const FAULT_SIGNALS = new Set([4, 5, 7, 8, 11]);

/** {si_signo=SIGSEGV, si_code=SEGV_MAPERR, si_addr=NULL} and friends, as strace prints them. */
export function formatSiginfo(si: SiginfoFields): string {
  const parts = [`si_signo=${signalText(BigInt(si.signo))}`, `si_code=${siCodeName(si.signo, si.code)}`];
  const source = (): void => {
    parts.push(`si_pid=${si.pid ?? 0}`, `si_uid=${si.uid ?? 0}`);
  };
  const sigval = (): void => {
    parts.push(`si_int=${si.int ?? 0}`, `si_ptr=${address(si.ptr ?? 0n)}`);
  };
  if (si.errno) parts.push(`si_errno=${errnoName(si.errno) ?? si.errno}`);
  if (si.code <= 0) {
    if (si.code === SI_TIMER) {
      parts.push(`si_timerid=${hex(BigInt(si.timerid ?? 0))}`, `si_overrun=${si.overrun ?? 0}`);
      sigval();
    } else if (si.code === SI_SIGIO) {
      parts.push(`si_band=${si.band ?? 0n}`, `si_fd=${si.fd ?? 0}`);
    } else {
      source();
      if (si.code !== 0 && si.code !== -6 && (si.ptr ?? 0n) !== 0n) sigval();
    }
  } else if (si.signo === SIGCHLD) {
    source();
    const status = si.code === CLD_EXITED ? String(si.status ?? 0) : signalText(BigInt(si.status ?? 0));
    parts.push(`si_status=${status}`, `si_utime=${si.utime ?? 0n}`, `si_stime=${si.stime ?? 0n}`);
  } else if (FAULT_SIGNALS.has(si.signo)) {
    parts.push(`si_addr=${address(si.addr ?? 0n)}`);
  } else if (si.signo === SIGIO && si.code >= 1 && si.code <= 6) {
    parts.push(`si_band=${si.band ?? 0n}`, `si_fd=${si.fd ?? 0}`);
  } else {
    if (si.pid || si.uid) source();
    if ((si.ptr ?? 0n) !== 0n) sigval();
  }
  return `{${parts.join(', ')}}`;
}

function siginfoAt(v: View): string {
  const signo = v.i32(0);
  if (signo === 0) return '{}';
  return formatSiginfo({
    signo,
    code: v.i32(8),
    errno: v.i32(4),
    pid: v.i32(16),
    uid: v.u32(20),
    addr: v.u64(16),
    status: v.i32(24),
    utime: v.i64(32),
    stime: v.i64(40),
    int: v.i32(24),
    ptr: v.u64(24),
    timerid: v.i32(16),
    overrun: v.i32(20),
    band: v.i64(16),
    fd: v.i32(24),
  });
}

// ---- sockets ----

const AF_UNIX = 1;
const AF_INET = 2;
const AF_INET6 = 10;
const AF_NETLINK = 16;

function inet6(bytes: Uint8Array): string {
  const words: number[] = [];
  for (let i = 0; i < 16; i += 2) words.push(((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0));
  if (words.slice(0, 5).every((w) => w === 0) && words[5] === 0xffff) {
    return `::ffff:${bytes.slice(12).join('.')}`;
  }
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (words[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const h = (ws: number[]): string => ws.map((w) => w.toString(16)).join(':');
  if (best < 0) return h(words);
  return `${h(words.slice(0, best))}::${h(words.slice(best + bestLen))}`;
}

function sockaddrAt(ctx: DecodeContext, addr: bigint, len: number): string {
  if (len < 2) return address(addr);
  const bytes = ctx.mem.read(addr, Math.min(len, 128));
  if (!bytes) return address(addr);
  const v = new View(bytes);
  const family = v.u16(0);
  const fam = `sa_family=${formatEnum('address_family', BigInt(family))}`;
  const be16 = (off: number): number => ((bytes[off] ?? 0) << 8) | (bytes[off + 1] ?? 0);
  if (family === AF_UNIX) {
    const path = bytes.subarray(2);
    if (path.length === 0) return `{${fam}}`;
    if (path[0] === 0 && path.length > 1) {
      const name = path.subarray(1);
      return `{${fam}, sun_path=@${quoteBytes(name.subarray(0, nulIndex(name)))}}`;
    }
    return `{${fam}, sun_path=${quoteBytes(path.subarray(0, nulIndex(path)))}}`;
  }
  if (family === AF_INET && bytes.length >= 8) {
    return `{${fam}, sin_port=htons(${be16(2)}), sin_addr=inet_addr("${bytes.slice(4, 8).join('.')}")}`;
  }
  if (family === AF_INET6 && bytes.length >= 24) {
    const flow = v.u32(4);
    const scope = bytes.length >= 28 ? v.u32(24) : 0;
    return (
      `{${fam}, sin6_port=htons(${be16(2)}), sin6_flowinfo=htonl(${byteSwap32(flow)}), ` +
      `inet_pton(AF_INET6, "${inet6(bytes.subarray(8, 24))}", &sin6_addr), sin6_scope_id=${scope}}`
    );
  }
  if (family === AF_NETLINK && bytes.length >= 12) {
    return `{${fam}, nl_pid=${v.i32(4)}, nl_groups=${v.u32(8).toString(16).padStart(8, '0')}}`;
  }
  return `{${fam}, sa_data=${quoteBytes(bytes.subarray(2))}}`;
}

const nulIndex = (b: Uint8Array): number => {
  const i = b.indexOf(0);
  return i < 0 ? b.length : i;
};

const byteSwap32 = (x: number): number =>
  (((x & 0xff) << 24) | ((x & 0xff00) << 8) | ((x >>> 8) & 0xff00) | (x >>> 24)) >>> 0;

/** Socket address length: an int argument at entry, the value behind the length pointer at exit. */
function sockaddrLen(ctx: DecodeContext, lenArg: number, byPointer: boolean): number {
  if (!byPointer) return Number(BigInt.asIntN(32, arg(ctx, lenArg)));
  const v = readView(ctx.mem, arg(ctx, lenArg), 4);
  return v ? v.i32(0) : 0;
}

/** Which argument holds the sockaddr length for each syscall's sockaddr argument. */
const SOCKADDR_LEN: Readonly<Record<string, readonly [index: number, byPointer: boolean]>> = {
  connect: [2, false],
  bind: [2, false],
  sendto: [5, false],
  accept: [2, true],
  accept4: [2, true],
  getsockname: [2, true],
  getpeername: [2, true],
  recvfrom: [5, true],
};

// ---- iovec and msghdr ----

/**
 * [{iov_base="..", iov_len=N}, ...]: each base shows its bytes up to the total byte
 * budget (the return value for reads), at most MAX_STRLEN entries.
 */
export function formatIovec(mem: GuestMemoryReader, addr: bigint, count: bigint, budget: bigint | null): string {
  if (u64(addr) === 0n) return 'NULL';
  const n = Number(count > 1024n ? 1024n : count < 0n ? 0n : count);
  const v = readView(mem, addr, n * 16);
  if (!v) return address(addr);
  const items: string[] = [];
  let left = budget;
  for (let i = 0; i < n; i++) {
    if (i === MAX_STRLEN) {
      items.push('...');
      break;
    }
    const base = v.u64(i * 16);
    const len = v.u64(i * 16 + 8);
    let shown = len;
    if (left !== null) {
      shown = len < left ? len : left;
      left -= shown;
    }
    items.push(`{iov_base=${formatBuffer(mem, base, shown)}, iov_len=${len}}`);
  }
  return `[${items.join(', ')}]`;
}

const SOL_SOCKET = 1;
const SCM_RIGHTS = 1;
const SCM_CREDENTIALS = 2;

/** Control messages (struct cmsghdr list): SCM_RIGHTS and SCM_CREDENTIALS decoded, others by header. */
function controlAt(ctx: DecodeContext, addr: bigint, len: bigint): string {
  const size = Number(len > 1024n ? 1024n : len);
  const bytes = ctx.mem.read(addr, size);
  if (!bytes) return address(addr);
  const v = new View(bytes);
  const items: string[] = [];
  let off = 0;
  while (off + 16 <= size) {
    const clen = v.u64(off);
    if (clen < 16n || BigInt(off) + clen > BigInt(size)) break;
    const level = v.i32(off + 8);
    const type = v.i32(off + 12);
    const dlen = Number(clen) - 16;
    const head = `cmsg_len=${clen}, cmsg_level=${formatEnum('sockopt_level', BigInt(level))}`;
    if (level === SOL_SOCKET && type === SCM_RIGHTS) {
      const fds = Array.from({ length: Math.floor(dlen / 4) }, (_, i) => String(v.i32(off + 16 + i * 4)));
      items.push(`{${head}, cmsg_type=SCM_RIGHTS, cmsg_data=[${fds.join(', ')}]}`);
    } else if (level === SOL_SOCKET && type === SCM_CREDENTIALS && dlen >= 12) {
      items.push(`{${head}, cmsg_type=SCM_CREDENTIALS, cmsg_data={pid=${v.i32(off + 16)}, uid=${v.u32(off + 20)}, gid=${v.u32(off + 24)}}}`);
    } else {
      items.push(`{${head}, cmsg_type=${hex(BigInt(type))}}`);
    }
    off += (Number(clen) + 7) & ~7;
  }
  return `[${items.join(', ')}]`;
}

function msghdrAt(ctx: DecodeContext, addr: bigint, out: boolean): string {
  return withView(ctx, addr, 56, (v) => {
    const name = v.u64(0);
    const namelen = v.u32(8);
    const iov = v.u64(16);
    const iovlen = v.u64(24);
    const control = v.u64(32);
    const controllen = v.u64(40);
    const flags = v.u32(48);
    const parts = [
      `msg_name=${name === 0n ? 'NULL' : sockaddrAt(ctx, name, namelen)}`,
      `msg_namelen=${namelen}`,
      `msg_iov=${formatIovec(ctx.mem, iov, iovlen, out ? (ctx.result ?? 0n) : null)}`,
      `msg_iovlen=${iovlen}`,
    ];
    if (controllen !== 0n) parts.push(`msg_control=${controlAt(ctx, control, controllen)}`);
    parts.push(`msg_controllen=${controllen}`, `msg_flags=${formatFlags('msg', BigInt(flags))}`);
    return `{${parts.join(', ')}}`;
  });
}

// ---- terminals ----

function termiosAt(v: View): string {
  const iflag = BigInt(v.u32(0));
  let oflag = BigInt(v.u32(4));
  let cflag = BigInt(v.u32(8));
  const lflag = BigInt(v.u32(12));
  const o: string[] = [];
  for (const f of TERM_FIELDS.oflagDelays) {
    const m = BigInt(f.mask);
    o.push(lookup(f.values, oflag & m) ?? hex(oflag & m));
    oflag &= ~m;
  }
  if (oflag !== 0n) o.push(formatFlagSet(FLAG_SETS.term_oflag, oflag));
  const c: string[] = [];
  const baudMask = BigInt(TERM_FIELDS.baud.mask);
  c.push(lookup(TERM_FIELDS.baud.values, cflag & baudMask) ?? hex(cflag & baudMask));
  const ibaud = (cflag >> 16n) & baudMask;
  if (ibaud !== 0n) c.push(`${lookup(TERM_FIELDS.baud.values, ibaud) ?? hex(ibaud)}<<IBSHIFT`);
  const csizeMask = BigInt(TERM_FIELDS.csize.mask);
  c.push(lookup(TERM_FIELDS.csize.values, cflag & csizeMask) ?? hex(cflag & csizeMask));
  cflag &= ~(baudMask | (baudMask << 16n) | csizeMask);
  if (cflag !== 0n) c.push(formatFlagSet(FLAG_SETS.term_cflag, cflag));
  return (
    `{c_iflag=${formatFlagSet(FLAG_SETS.term_iflag, iflag)}, c_oflag=${o.join('|')}, ` +
    `c_cflag=${c.join('|')}, c_lflag=${formatFlagSet(FLAG_SETS.term_lflag, lflag)}, ...}`
  );
}

// ---- polling ----

function pollfds(ctx: DecodeContext, addr: bigint, field: 'events' | 'revents'): string | null {
  const n = Math.min(Number(u64(arg(ctx, 1)) > 1024n ? 1024n : u64(arg(ctx, 1))), 1024);
  const v = readView(ctx.mem, addr, n * 8);
  if (!v) return null;
  const items: string[] = [];
  for (let i = 0; i < n; i++) {
    const fd = v.i32(i * 8);
    const events = BigInt(v.u16(i * 8 + (field === 'events' ? 4 : 6)));
    if (field === 'revents' && events === 0n) continue;
    if (items.length === MAX_STRLEN) {
      items.push('...');
      break;
    }
    items.push(`{fd=${fd}, ${field}=${formatFlags('poll', events)}}`);
  }
  return `[${items.join(', ')}]`;
}

/** The revents annotation strace adds to a poll/ppoll return value. */
export function pollRevents(ctx: DecodeContext): string | null {
  return pollfds(ctx, arg(ctx, 0), 'revents');
}

function fdSetAt(ctx: DecodeContext, addr: bigint): string {
  const n = Math.max(0, Math.min(Number(BigInt.asIntN(32, arg(ctx, 0))), 1024 * 8));
  const bytes = ctx.mem.read(addr, Math.ceil(n / 64) * 8);
  if (!bytes) return address(addr);
  return `[${fdSetMembers(bytes, n).join(' ')}]`;
}

export function fdSetMembers(bytes: Uint8Array, n: number): number[] {
  const fds: number[] = [];
  for (let fd = 0; fd < n; fd++) if ((((bytes[fd >> 3] ?? 0) >> (fd & 7)) & 1) === 1) fds.push(fd);
  return fds;
}

function epollEvents(ctx: DecodeContext, addr: bigint, count: number): string {
  const n = Math.max(0, Math.min(count, 1024));
  const v = readView(ctx.mem, addr, n * 12);
  if (!v) return address(addr);
  const items: string[] = [];
  for (let i = 0; i < n; i++) {
    if (i === MAX_STRLEN) {
      items.push('...');
      break;
    }
    const data = v.u64(i * 12 + 4);
    items.push(
      `{events=${formatFlags('epoll_events', BigInt(v.u32(i * 12)))}, data={u32=${Number(data & 0xffffffffn)}, u64=${data}}}`,
    );
  }
  return `[${items.join(', ')}]`;
}

// ---- misc ----

function rlim(x: bigint): string {
  if (x === 0xffffffffffffffffn) return 'RLIM64_INFINITY';
  if (x > 1024n && x % 1024n === 0n) return `${x / 1024n}*1024`;
  return String(x);
}

function waitStatus(s: number): string {
  const sig = s & 0x7f;
  if (sig === 0) return `[{WIFEXITED(s) && WEXITSTATUS(s) == ${(s >> 8) & 0xff}}]`;
  if (s === 0xffff) return '[{WIFCONTINUED(s)}]';
  if (sig === 0x7f) return `[{WIFSTOPPED(s) && WSTOPSIG(s) == ${signalText(BigInt((s >> 8) & 0xff))}}]`;
  return `[{WIFSIGNALED(s) && WTERMSIG(s) == ${signalText(BigInt(sig))}${s & 0x80 ? ' && WCOREDUMP(s)' : ''}}]`;
}

function dirents(ctx: DecodeContext, addr: bigint): string {
  const total = Number(ctx.result ?? 0n);
  const bytes = total > 0 ? ctx.mem.read(addr, total) : new Uint8Array(0);
  if (!bytes) return address(addr);
  const v = new View(bytes);
  let count = 0;
  for (let off = 0; off + 18 <= total; count++) {
    const reclen = v.u16(off + 16);
    if (reclen === 0) break;
    off += reclen;
  }
  return `${address(addr)} /* ${count} entries */`;
}

function cpuSet(ctx: DecodeContext, addr: bigint): string {
  const len = ctx.result === undefined ? Number(u64(arg(ctx, 1))) : Number(ctx.result);
  const bytes = ctx.mem.read(addr, Math.max(0, Math.min(len, 1024)));
  if (!bytes) return address(addr);
  return `[${fdSetMembers(bytes, bytes.length * 8).join(' ')}]`;
}

const STATFS_MAGIC: readonly (readonly [string, number])[] = [
  ['EXT2_SUPER_MAGIC', 0xef53], ['TMPFS_MAGIC', 0x01021994], ['PROC_SUPER_MAGIC', 0x9fa0],
  ['SYSFS_MAGIC', 0x62656572], ['DEVPTS_SUPER_MAGIC', 0x1cd1], ['OVERLAYFS_SUPER_MAGIC', 0x794c7630],
  ['XFS_SUPER_MAGIC', 0x58465342], ['BTRFS_SUPER_MAGIC', 0x9123683e], ['CGROUP2_SUPER_MAGIC', 0x63677270],
  ['NFS_SUPER_MAGIC', 0x6969], ['RAMFS_MAGIC', 0x858458f6], ['SQUASHFS_MAGIC', 0x73717368],
  ['FUSE_SUPER_MAGIC', 0x65735546], ['MSDOS_SUPER_MAGIC', 0x4d44], ['V9FS_MAGIC', 0x01021997],
];

const STATFS_FLAGS: readonly (readonly [string, number])[] = [
  ['ST_VALID', 0x20], ['ST_RDONLY', 0x1], ['ST_NOSUID', 0x2], ['ST_NODEV', 0x4], ['ST_NOEXEC', 0x8],
  ['ST_SYNCHRONOUS', 0x10], ['ST_MANDLOCK', 0x40], ['ST_NOATIME', 0x400], ['ST_NODIRATIME', 0x800],
  ['ST_RELATIME', 0x1000], ['ST_NOSYMFOLLOW', 0x2000],
];

const CAP_VERSIONS: readonly (readonly [string, number])[] = [
  ['_LINUX_CAPABILITY_VERSION_1', 0x19980330],
  ['_LINUX_CAPABILITY_VERSION_2', 0x20071026],
  ['_LINUX_CAPABILITY_VERSION_3', 0x20080522],
];

const CLONE_BITS = { bits: FLAG_SETS.clone.bits, unknown: FLAG_SETS.clone.unknown };

export const STRUCTS: Readonly<Record<StructName, StructDecoder>> = {
  stat: (a, ctx) =>
    withView(ctx, a, 144, (v) => {
      const mode = v.u32(24);
      const type = mode & 0o170000;
      const dev = type === 0o20000 || type === 0o60000;
      return `{st_mode=${symbolicMode(mode)}, ${dev ? `st_rdev=${makedev(v.u64(40))}` : `st_size=${v.i64(48)}`}, ...}`;
    }),
  statx: (a, ctx) =>
    withView(ctx, a, 256, (v) =>
      `{stx_mask=${formatFlags('statx_mask', BigInt(v.u32(0)))}, stx_attributes=${hex(v.u64(8))}, ` +
      `stx_mode=${symbolicMode(v.u16(28))}, stx_size=${v.u64(40)}, ...}`,
    ),
  statfs: (a, ctx) =>
    withView(ctx, a, 120, (v) => {
      const type = v.i64(0);
      return (
        `{f_type=${lookup(STATFS_MAGIC, type) ?? hex(type)}, f_bsize=${v.i64(8)}, f_blocks=${v.u64(16)}, ` +
        `f_bfree=${v.u64(24)}, f_bavail=${v.u64(32)}, f_files=${v.u64(40)}, f_ffree=${v.u64(48)}, ` +
        `f_fsid={val=[${hex(BigInt(v.u32(56)))}, ${hex(BigInt(v.u32(60)))}]}, f_namelen=${v.i64(64)}, ` +
        `f_frsize=${v.i64(72)}, f_flags=${formatFlagSet({ bits: STATFS_FLAGS, unknown: 'ST_???' }, v.u64(80))}}`
      );
    }),
  timespec: (a, ctx) => withView(ctx, a, 16, (v) => timespecAt(v, 0)),
  timespec_pair: (a, ctx) => withView(ctx, a, 32, (v) => `[${utimeAt(v, 0)}, ${utimeAt(v, 16)}]`),
  timeval: (a, ctx) => withView(ctx, a, 16, (v) => timevalAt(v, 0)),
  timeval_pair: (a, ctx) => withView(ctx, a, 32, (v) => `[${timevalAt(v, 0)}, ${timevalAt(v, 16)}]`),
  timezone: (a, ctx) => withView(ctx, a, 8, (v) => `{tz_minuteswest=${v.i32(0)}, tz_dsttime=${v.i32(4)}}`),
  itimerspec: (a, ctx) =>
    withView(ctx, a, 32, (v) => `{it_interval=${timespecAt(v, 0)}, it_value=${timespecAt(v, 16)}}`),
  itimerval: (a, ctx) =>
    withView(ctx, a, 32, (v) => `{it_interval=${timevalAt(v, 0)}, it_value=${timevalAt(v, 16)}}`),
  utsname: (a, ctx) =>
    withView(ctx, a, 390, (v) => {
      const field = (i: number): string => quoteBytes(v.bytes.subarray(i * 65, i * 65 + nulIndex(v.bytes.subarray(i * 65, i * 65 + 65))));
      return `{sysname=${field(0)}, nodename=${field(1)}, ...}`;
    }),
  sigaction: (a, ctx) =>
    withView(ctx, a, 32, (v) => {
      const flags = v.u64(8);
      const parts = [
        `sa_handler=${sigHandler(v.u64(0))}`,
        `sa_mask=${sigsetAt(v, 24)}`,
        `sa_flags=${formatFlags('sa', flags)}`,
      ];
      if ((flags & SA_RESTORER) !== 0n) parts.push(`sa_restorer=${hex(v.u64(16))}`);
      return `{${parts.join(', ')}}`;
    }),
  sigset: (a, ctx) => withView(ctx, a, 8, (v) => sigsetAt(v, 0)),
  siginfo: (a, ctx) => withView(ctx, a, 128, siginfoAt),
  stack_t: (a, ctx) =>
    withView(ctx, a, 24, (v) =>
      `{ss_sp=${address(v.u64(0))}, ss_flags=${formatFlags('ss', BigInt(v.i32(8) >>> 0))}, ss_size=${v.u64(16)}}`,
    ),
  rlimit: (a, ctx) => withView(ctx, a, 16, (v) => `{rlim_cur=${rlim(v.u64(0))}, rlim_max=${rlim(v.u64(8))}}`),
  rusage: (a, ctx) =>
    withView(ctx, a, 144, (v) => `{ru_utime=${timevalAt(v, 0)}, ru_stime=${timevalAt(v, 16)}, ...}`),
  sysinfo: (a, ctx) =>
    withView(ctx, a, 112, (v) =>
      `{uptime=${v.i64(0)}, loads=[${v.u64(8)}, ${v.u64(16)}, ${v.u64(24)}], totalram=${v.u64(32)}, ` +
      `freeram=${v.u64(40)}, sharedram=${v.u64(48)}, bufferram=${v.u64(56)}, totalswap=${v.u64(64)}, ` +
      `freeswap=${v.u64(72)}, procs=${v.u16(80)}, totalhigh=${v.u64(88)}, freehigh=${v.u64(96)}, ` +
      `mem_unit=${v.u32(104)}}`,
    ),
  tms: (a, ctx) =>
    withView(ctx, a, 32, (v) =>
      `{tms_utime=${v.i64(0)}, tms_stime=${v.i64(8)}, tms_cutime=${v.i64(16)}, tms_cstime=${v.i64(24)}}`,
    ),
  pollfd: (a, ctx) => pollfds(ctx, a, 'events') ?? address(a),
  fd_set: (a, ctx) => fdSetAt(ctx, a),
  winsize: (a, ctx) =>
    withView(ctx, a, 8, (v) => `{ws_row=${v.u16(0)}, ws_col=${v.u16(2)}, ws_xpixel=${v.u16(4)}, ws_ypixel=${v.u16(6)}}`),
  termios: (a, ctx) => withView(ctx, a, 36, termiosAt),
  epoll_event: (a, ctx) => {
    if (ctx.result === undefined) {
      return withView(ctx, a, 12, (v) => {
        const data = v.u64(4);
        return `{events=${formatFlags('epoll_events', BigInt(v.u32(0)))}, data={u32=${Number(data & 0xffffffffn)}, u64=${data}}}`;
      });
    }
    return epollEvents(ctx, a, Number(ctx.result));
  },
  sockaddr: (a, ctx) => {
    const spec = SOCKADDR_LEN[ctx.name];
    return sockaddrAt(ctx, a, spec ? sockaddrLen(ctx, spec[0], spec[1]) : 128);
  },
  msghdr: (a, ctx) => msghdrAt(ctx, a, ctx.result !== undefined),
  int: (a, ctx) => withView(ctx, a, 4, (v) => `[${v.i32(0)}]`),
  uint64: (a, ctx) => withView(ctx, a, 8, (v) => `[${v.u64(0)}]`),
  fd_pair: (a, ctx) => withView(ctx, a, 8, (v) => `[${v.i32(0)}, ${v.i32(4)}]`),
  wait_status: (a, ctx) =>
    ctx.result === 0n ? address(a) : withView(ctx, a, 4, (v) => waitStatus(v.i32(0))),
  dirents: (a, ctx) => dirents(ctx, a),
  dirents64: (a, ctx) => dirents(ctx, a),
  clone_args: (a, ctx) =>
    withView(ctx, a, 64, (v) => {
      const flags = v.u64(0);
      const has = (bit: number): boolean => (flags & BigInt(bit)) !== 0n;
      const parts = [`flags=${formatFlagSet(CLONE_BITS, flags)}`];
      if (has(0x1000)) parts.push(`pidfd=${address(v.u64(8))}`);
      if (has(0x1000000) || has(0x200000)) parts.push(`child_tid=${address(v.u64(16))}`);
      if (has(0x100000)) parts.push(`parent_tid=${address(v.u64(24))}`);
      parts.push(`exit_signal=${signalText(v.u64(32))}`, `stack=${address(v.u64(40))}`, `stack_size=${hex(v.u64(48))}`);
      if (has(0x80000)) parts.push(`tls=${address(v.u64(56))}`);
      return `{${parts.join(', ')}}`;
    }),
  open_how: (a, ctx) =>
    withView(ctx, a, 24, (v) => {
      const flags = v.u64(0);
      const creat = (flags & BigInt(0o100 | 0o20000000)) !== 0n;
      const mode = creat ? `, mode=${octalMode(v.u64(8))}` : '';
      return `{flags=${formatFlags('open', flags)}${mode}, resolve=${hex(v.u64(16))}}`;
    }),
  sched_param: (a, ctx) => withView(ctx, a, 4, (v) => `[{sched_priority=${v.i32(0)}}]`),
  cpu_set: (a, ctx) => cpuSet(ctx, a),
  user_cap: (a, ctx) =>
    withView(ctx, a, 8, (v) => `{version=${formatXval(CAP_VERSIONS, '_LINUX_CAPABILITY_VERSION_???', BigInt(v.u32(0)))}, pid=${v.i32(4)}}`),
};
