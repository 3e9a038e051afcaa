import type { MountSpec } from '@nommu/kernel';

/** A usage error: exit status 2 with a one-line hint. */
export class UsageError extends Error {
  readonly code = 'NOMMU_USAGE';
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export interface RunOptions {
  root: string;
  readOnly: boolean;
  /** --mount and --tmpfs, in the order given. */
  mounts: MountSpec[];
  mem: number;
  env: Map<string, string>;
  unsetEnv: string[];
  clearEnv: boolean;
  /** Guest working directory; null: the host's current directory, seen through the root. */
  cwd: string | null;
  argv0: string | null;
  strace: null | { file: string | null; summary: boolean };
  backend: string;
  /** Native backend: rewrite trapped syscall sites (where their bytes allow it) into direct calls of the shim. */
  rewriteSyscalls: boolean;
  strictNommu: boolean;
  /** Page protections enforced for guest code (--no-protections: only PROT_NONE guard pages). */
  protections: boolean;
  uid: number;
  gid: number;
  /** --date: the guest's CLOCK_REALTIME at start (ns since the epoch); null: the host's time. */
  date: bigint | null;
  program: string;
  args: string[];
}

const SIZE_UNITS: Record<string, number> = { '': 1, k: 1 << 10, m: 1 << 20, g: 1 << 30 };

/** "512M", "1g", "65536" -> bytes. */
export function parseSize(s: string): number {
  const m = /^(\d+)([kmg]?)i?b?$/i.exec(s.trim());
  if (!m) throw new UsageError(`bad size '${s}' (try 512M or 1G)`);
  const n = Number(m[1]) * SIZE_UNITS[m[2]!.toLowerCase()]!;
  if (n < 16 << 20) throw new UsageError(`--mem ${s} is too small (at least 16M)`);
  if (n > 64 * 2 ** 30) throw new UsageError(`--mem ${s} is too large (at most 64G)`);
  return Math.ceil(n / 4096) * 4096;
}

/** Options come before the program; everything after it belongs to the program. */
export function parseRunArgs(argv: string[]): RunOptions {
  const o: RunOptions = {
    root: '/',
    readOnly: false,
    mounts: [],
    mem: 1 << 30,
    env: new Map(),
    unsetEnv: [],
    clearEnv: false,
    cwd: null,
    argv0: null,
    strace: null,
    backend: 'unicorn',
    rewriteSyscalls: true,
    strictNommu: false,
    protections: true,
    uid: 0,
    gid: 0,
    date: null,
    program: '',
    args: [],
  };
  let i = 0;
  const value = (name: string, inline: string | undefined): string => {
    if (inline !== undefined) return inline;
    const v = argv[++i];
    if (v === undefined) throw new UsageError(`${name} needs a value`);
    return v;
  };
  for (; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      i++;
      break;
    }
    if (!a.startsWith('-') || a === '-') break;
    const eq = a.indexOf('=');
    const name = eq >= 0 ? a.slice(0, eq) : a;
    const inline = eq >= 0 ? a.slice(eq + 1) : undefined;
    switch (name) {
      case '--root': o.root = value(name, inline); break;
      case '--read-only': o.readOnly = true; break;
      case '--mount': o.mounts.push(parseMount(value(name, inline))); break;
      case '--tmpfs': {
        const target = value(name, inline);
        if (!target.startsWith('/')) throw new UsageError(`--tmpfs needs an absolute guest directory, got '${target}'`);
        o.mounts.push({ type: 'tmpfs', target });
        break;
      }
      case '--mem': o.mem = parseSize(value(name, inline)); break;
      case '--env': {
        const kv = value(name, inline);
        const k = kv.indexOf('=');
        if (k <= 0) throw new UsageError(`--env needs NAME=VALUE, got '${kv}'`);
        o.env.set(kv.slice(0, k), kv.slice(k + 1));
        break;
      }
      case '--unset-env': o.unsetEnv.push(value(name, inline)); break;
      case '--clear-env': o.clearEnv = true; break;
      case '--cwd': o.cwd = value(name, inline); break;
      case '--argv0': o.argv0 = value(name, inline); break;
      case '--strace':
        if (inline === undefined) o.strace = { file: null, summary: false };
        else if (inline === 'summary') o.strace = { file: null, summary: true };
        else o.strace = { file: inline, summary: false };
        break;
      case '--backend': o.backend = value(name, inline); break;
      case '--no-syscall-rewrite': o.rewriteSyscalls = false; break;
      case '--strict-nommu': o.strictNommu = true; break;
      case '--no-protections': o.protections = false; break;
      case '--uid': o.uid = parseId(name, value(name, inline)); break;
      case '--gid': o.gid = parseId(name, value(name, inline)); break;
      case '--date': o.date = parseDate(value(name, inline)); break;
      default:
        throw new UsageError(`unknown option '${name}' (see 'nommu help run')`);
    }
  }
  const program = argv[i];
  if (program === undefined) throw new UsageError("'nommu run' needs a program (see 'nommu help run')");
  o.program = program;
  o.args = argv.slice(i + 1);
  return o;
}

/** HOSTDIR:GUESTDIR[:ro|:rw] (the guest directory absolute, the host one without ':'). */
export function parseMount(v: string): MountSpec {
  const m = /^([^:]+):(\/[^:]*)(?::(ro|rw))?$/.exec(v);
  if (!m) throw new UsageError(`--mount needs HOSTDIR:GUESTDIR[:ro], got '${v}'`);
  return { type: 'bind', source: m[1]!, target: m[2]!, readOnly: m[3] === 'ro' };
}

/**
 * --date: "@SECONDS[.FRACTION]" since the epoch, or an ISO 8601 date or time
 * (as JavaScript's Date.parse reads it: a date alone is UTC, a date and time
 * without a zone the host's local time) -> ns since the epoch.
 */
export function parseDate(v: string): bigint {
  const epoch = /^@(\d+)(?:\.(\d{1,9}))?$/.exec(v.trim());
  let ns: bigint;
  if (epoch) {
    ns = BigInt(epoch[1]!) * 1_000_000_000n + BigInt((epoch[2] ?? '').padEnd(9, '0'));
  } else {
    const ms = /^\d{4}-\d\d/.test(v.trim()) ? Date.parse(v.trim()) : NaN;
    if (Number.isNaN(ms)) throw new UsageError(`--date needs an ISO 8601 time (2030-01-02T03:04:05Z) or @SECONDS since the epoch, got '${v}'`);
    ns = BigInt(ms) * 1_000_000n;
  }
  // Linux's bounds for a settable clock: after the epoch, before year 2232 (TIME_SETTOD_SEC_MAX).
  if (ns < 0n || ns / 1_000_000_000n > 8_277_292_036n) throw new UsageError(`--date ${v} is out of range (1970 to 2232)`);
  return ns;
}

function parseId(name: string, v: string): number {
  if (!/^\d+$/.test(v) || Number(v) > 0xfffffffe) throw new UsageError(`${name} needs a number, got '${v}'`);
  return Number(v);
}

/** `nommu shell [run options]`: busybox sh, interactive, with a prompt that says where it runs. */
export function parseShellArgs(argv: string[]): RunOptions {
  if (argv.some((a) => !a.startsWith('-'))) throw new UsageError("'nommu shell' takes only options (see 'nommu help shell')");
  const o = parseRunArgs([...argv, '/bin/busybox', 'sh', '-i']);
  o.argv0 = 'sh';
  o.args = ['-i'];
  o.env.set('PS1', '[nommu] \\w \\$ ');
  return o;
}
