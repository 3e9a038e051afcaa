import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Kernel } from '../kernel.js';
import { pathInRoot, type Mount } from './vfs.js';
import { capabilities } from '../capability.js';
import type { OpenFile } from './file.js';
import type { KStat } from './stat.js';
import { TaskState, type Process, type Task } from '../task/task.js';
import { PROT_EXEC, PROT_READ, PROT_WRITE } from '../memory/mm.js';

/** A node of a synthetic filesystem: what the resolver and open() need to know. */
export type SyntheticNode =
  /** `mode`: the permission bits (0555 unless given); `timeNs`: its times (0 unless given). */
  | { kind: 'dir'; entries(): string[]; mode?: number; timeNs?: bigint }
  | { kind: 'file'; content(): Uint8Array }
  | { kind: 'symlink'; target: string; file?: OpenFile; timeNs?: bigint }
  /** A device (/dev/null...): its stat, and a new open file description for open(2) (throws an Errno to refuse). */
  | { kind: 'device'; stat(): KStat; open(task: Task, flags: number): OpenFile };

/** A filesystem the kernel makes up (/proc, /dev): names below its root to nodes, as `self` sees them. */
export interface SyntheticFs {
  lookup(parts: readonly string[], self: Process | null): SyntheticNode | null;
}

const text = (s: string): Uint8Array => Buffer.from(s, 'utf8');
const hex = (n: number, w = 8): string => n.toString(16).padStart(w, '0');

/**
 * /proc, rendered from the kernel's own state: the host's /proc is never
 * shown to the guest (it would describe Node, and leak host paths).
 */
export class ProcFs implements SyntheticFs {
  constructor(private readonly kernel: Kernel) {}

  /** Looks up the components after '/proc', as seen by `self`. */
  lookup(parts: readonly string[], self: Process | null): SyntheticNode | null {
    const k = this.kernel;
    if (parts.length === 0) {
      return { kind: 'dir', entries: () => [...ROOT_FILES, ...[...k.processes.keys()].map(String)] };
    }
    const [first, ...rest] = parts;
    if (first === 'self' || first === 'thread-self') {
      if (!self) return null;
      const target = first === 'self' ? String(self.pid) : `${self.pid}/task/${k.current?.process === self ? k.current.tid : self.pid}`;
      return rest.length === 0 ? { kind: 'symlink', target } : this.lookup([...target.split('/'), ...rest], self);
    }
    if (first === 'mounts' && rest.length === 0) return { kind: 'symlink', target: 'self/mounts' };
    if (first !== undefined && rest.length === 0) {
      const render = this.#global(first);
      if (render) return { kind: 'file', content: () => text(render()) };
    }
    if (first !== undefined && /^\d+$/.test(first)) {
      const p = k.processes.get(Number(first));
      if (!p) return null;
      return this.#pid(p, rest, p.leader);
    }
    return null;
  }

  /** The files directly under /proc (other than self, mounts and the pids). */
  #global(name: string): (() => string) | null {
    const k = this.kernel;
    switch (name) {
      case 'cpuinfo': return () => this.#cpuinfo();
      case 'meminfo': return () => this.#meminfo();
      case 'uptime':
        return () => {
          const up = Number(process.hrtime.bigint() - k.bootNs) / 1e9;
          const idle = Math.max(0, up - Number([...k.processes.values()].reduce((n, p) => n + p.utimeMs + p.stimeMs, 0)) / 1000);
          return `${up.toFixed(2)} ${idle.toFixed(2)}\n`;
        };
      case 'version': return () => 'Linux version 6.1.0-nommu (nommu@node) #1 nommu\n';
      case 'loadavg':
        // Load averages are not tracked: they read 0.00; the counts are real.
        return () => {
          const tasks = [...k.tasks.values()];
          const running = tasks.filter((t) => t.state !== TaskState.Blocked).length;
          return `0.00 0.00 0.00 ${running}/${tasks.length} ${Math.max(0, ...k.tasks.keys())}\n`;
        };
      case 'filesystems': return () => 'nodev\tproc\nnodev\ttmpfs\nnodev\tdevtmpfs\nnodev\tdevpts\n\thostfs\n';
      case 'stat': return () => this.#stat();
      default: return null;
    }
  }

  /** /proc/<pid>/..., or /proc/<pid>/task/<tid>/... with `t` that thread. */
  #pid(p: Process, rest: readonly string[], t: Task | undefined, inTask = false): SyntheticNode | null {
    if (!t) return null;
    if (rest.length === 0) return { kind: 'dir', entries: () => PID_FILES.filter((n) => !(inTask && n === 'task')) };
    const [name, ...sub] = rest;
    if (sub.length > 0 && name !== 'fd' && name !== 'fdinfo' && name !== 'task') return null;
    switch (name) {
      case 'exe': return { kind: 'symlink', target: p.exe };
      case 'cwd': return { kind: 'symlink', target: p.cwd };
      case 'root': return { kind: 'symlink', target: p.root };
      case 'cmdline': return { kind: 'file', content: () => text(p.argv.map((a) => a + '\0').join('')) };
      case 'environ': return { kind: 'file', content: () => text(p.envp.map((a) => a + '\0').join('')) };
      case 'auxv': return { kind: 'file', content: () => auxvBytes(p) };
      case 'comm': return { kind: 'file', content: () => text(t.comm + '\n') };
      case 'maps': return { kind: 'file', content: () => text(this.#maps(p)) };
      case 'stat': return { kind: 'file', content: () => text(stat(p, t)) };
      case 'status': return { kind: 'file', content: () => text(status(p, t)) };
      case 'mounts': return { kind: 'file', content: () => text(this.#mounts(p)) };
      case 'mountinfo': return { kind: 'file', content: () => text(this.#mountinfo(p)) };
      case 'task': {
        if (sub.length === 0) return { kind: 'dir', entries: () => p.threads.map((x) => String(x.tid)) };
        if (!/^\d+$/.test(sub[0]!)) return null;
        const thread = p.threads.find((x) => x.tid === Number(sub[0]));
        const [, ...below] = sub;
        if (below[0] === 'task') return null;
        return thread ? this.#pid(p, below, thread, true) : null;
      }
      case 'fd':
      case 'fdinfo': {
        if (sub.length === 0) return { kind: 'dir', entries: () => p.files.list().map(String) };
        if (sub.length !== 1 || !/^\d+$/.test(sub[0]!)) return null;
        let file: OpenFile;
        try {
          file = p.files.get(Number(sub[0]));
        } catch {
          return null;
        }
        if (name === 'fdinfo') return { kind: 'file', content: () => text(fdinfo(p, Number(sub[0]), file)) };
        // A "magic link": opening it opens the file itself, whatever its name says (pipe:[...], /dev/stdin).
        return { kind: 'symlink', target: file.guestPath, file };
      }
      default:
        return null;
    }
  }

  /**
   * The mount table as `p` sees it: /proc after the root, each mount point
   * relative to p's root (chroot), those outside it left out (as Linux does).
   */
  #table(p: Process): MountRow[] {
    const vfs = this.kernel.vfs;
    const [root, ...others] = vfs.mounts;
    const rows: MountRow[] = [];
    const idOf = (m: Mount): number => MOUNT_ID_BASE + m.id;
    const parentOf = (m: Mount): number => (m === root ? idOf(m) : idOf(vfs.mountOf(m.parts.slice(0, -1))));
    const devOf = (m: Mount): string => {
      let dev = 0;
      try {
        if (m.kind === 'root' || m.kind === 'bind' || m.kind === 'tmpfs') dev = m.devOf(Number(fs.statSync(m.host).dev));
      } catch {
        // a host directory gone: no device
      }
      if (dev === 0) return `0:${m.id + 30}`;
      return `${((dev >>> 8) & 0xfff) | 0}:${(dev & 0xff) | ((dev >>> 12) & 0xfff00)}`;
    };
    const inFs = (m: Mount): string => (m.base && m.base.kind !== 'devfs' && m.base.host !== '' ? '/' + path.relative(m.base.host, m.host) : '/').replace(/\/$/, '') || '/';
    const all: { m: Mount | null; target: string }[] = [{ m: root!, target: '/' }, { m: null, target: '/proc' }, ...others.map((m) => ({ m, target: m.target }))];
    for (const { m, target } of all) {
      const seen = pathInRoot(p.root, target);
      if (seen === null) continue;
      if (m === null) {
        rows.push({ id: MOUNT_ID_BASE - 1, parent: idOf(root!), dev: () => '0:21', root: '/', target: seen, source: 'proc', type: 'proc', opts: 'rw,nosuid,nodev,noexec' });
      } else {
        rows.push({ id: idOf(m), parent: parentOf(m), dev: () => devOf(m), root: inFs(m), target: seen, source: m.source, type: m.fsType, opts: m.readOnly ? 'ro' : 'rw' });
      }
    }
    return rows;
  }

  /** /proc/<pid>/mounts: the mount table with /proc after the root; no host path is shown. */
  #mounts(p: Process): string {
    return this.#table(p)
      .map((r) => `${escapeMount(r.source)} ${escapeMount(r.target)} ${r.type} ${r.opts} 0 0\n`)
      .join('');
  }

  /** /proc/<pid>/mountinfo: the same table with ids, parents, devices and each mount's root in its filesystem. */
  #mountinfo(p: Process): string {
    return this.#table(p)
      .map((r) => `${r.id} ${r.parent} ${r.dev()} ${escapeMount(r.root)} ${escapeMount(r.target)} ${r.opts} - ${r.type} ${escapeMount(r.source)} ${r.opts}\n`)
      .join('');
  }

  /** /proc/stat: one CPU's times (in USER_HZ ticks) and the process counts. */
  #stat(): string {
    const k = this.kernel;
    const tick = (ms: number): number => Math.floor(ms / 10);
    let user = 0;
    let system = 0;
    for (const p of k.processes.values()) {
      user += p.utimeMs + p.childUtimeMs;
      system += p.stimeMs + p.childStimeMs;
    }
    const upMs = Number(process.hrtime.bigint() - k.bootNs) / 1e6;
    const cpu = `${tick(user)} 0 ${tick(system)} ${tick(Math.max(0, upMs - user - system))} 0 0 0 0 0 0`;
    const tasks = [...k.tasks.values()];
    return [
      `cpu  ${cpu}`,
      `cpu0 ${cpu}`,
      `btime ${Math.floor((Date.now() + Number(k.clock.realtimeOffset / 1_000_000n)) / 1000 - upMs / 1000)}`, // on the guest's clock
      `processes ${Math.max(0, ...k.tasks.keys())}`,
      `procs_running ${tasks.filter((t) => t.state !== TaskState.Blocked).length}`,
      `procs_blocked 0`,
      '',
    ].join('\n');
  }

  #maps(p: Process): string {
    return p.mm.vmas
      .map((v) => {
        const perms =
          (v.prot & PROT_READ ? 'r' : '-') + (v.prot & PROT_WRITE ? 'w' : '-') + (v.prot & PROT_EXEC ? 'x' : '-') + (v.shared ? 's' : 'p');
        const head = `${hex(v.start)}-${hex(v.end)} ${perms} ${hex(v.fileOffset)} 00:00 ${v.inode}`;
        return v.name ? `${head.padEnd(72)} ${v.name}\n` : `${head} \n`;
      })
      .join('');
  }

  #cpuinfo(): string {
    const f = this.kernel.cpu.features;
    return [
      'processor\t: 0',
      `vendor_id\t: ${f.vendor}`,
      `cpu family\t: ${f.family}`,
      `model\t\t: ${f.model}`,
      `model name\t: ${f.modelName}`,
      `stepping\t: ${f.stepping}`,
      'cpu cores\t: 1',
      `flags\t\t: ${f.flags.join(' ')}`,
      '',
      '',
    ].join('\n');
  }

  #meminfo(): string {
    const kb = (n: number): string => `${Math.floor(n / 1024)} kB`.padStart(11);
    const phys = this.kernel.phys;
    return [
      `MemTotal:       ${kb(phys.size)}`,
      `MemFree:        ${kb(phys.freeBytes)}`,
      `MemAvailable:   ${kb(phys.freeBytes)}`,
      `Buffers:        ${kb(0)}`,
      `Cached:         ${kb(0)}`,
      `SwapTotal:      ${kb(0)}`,
      `SwapFree:       ${kb(0)}`,
      '',
    ].join('\n');
  }
}

/** Linux's state letters: a zombie, a stopped group, a thread parked in a syscall (sleeping), or running. */
function state(p: Process, t: Task): string {
  if (p.exitStatus) return 'Z (zombie)';
  if (p.stopped) return 'T (stopped)';
  return t.state === TaskState.Blocked ? 'S (sleeping)' : 'R (running)';
}

const PAGE = 4096;

function vsize(p: Process): number {
  return p.exitStatus ? 0 : p.mm.vmas.reduce((n, v) => n + (v.end - v.start), 0);
}

function stackStart(p: Process): number {
  return p.exitStatus ? 0 : (p.mm.vmas.find((v) => v.name === '[stack]')?.end ?? 0);
}

/** tty_nr and tpgid: the controlling terminal's device and foreground group (0, -1 without one, or on the host's terminal, whose number nommu does not show). */
function ttyOf(p: Process): [number, number] {
  const t = p.ctty;
  if (!t || t.rdev === 0 || !t.controls(p)) return [0, -1];
  return [t.rdev, t.foreground || -1];
}

/** The 52 fields of /proc/<pid>/stat (fs/proc/array.c), times in USER_HZ (100) ticks. */
function stat(p: Process, t: Task): string {
  const k = p.kernel;
  const tick = (ms: number): number => Math.floor(ms / 10);
  const start = Number((p.startNs - k.bootNs) / 10_000_000n);
  const exitCode = p.exitStatus ? (p.exitStatus.signal !== 0 ? p.exitStatus.signal : p.exitStatus.code << 8) : 0;
  const fields: (number | string)[] = [
    t.tid, `(${t.comm})`, state(p, t)[0]!, p.parent?.pid ?? 0, p.pgid, p.sid,
    ...ttyOf(p), 0x400000, 0, 0, 0, 0, // tty_nr, tpgid, flags, minflt, cminflt, majflt, cmajflt
    tick(p.utimeMs), tick(p.stimeMs), tick(p.childUtimeMs), tick(p.childStimeMs),
    20 + t.nice, t.nice, p.threads.length, 0, start, vsize(p), Math.ceil(p.mm.ownedBytes / PAGE),
    '18446744073709551615', 0, 0, stackStart(p), 0, 0, // rsslim, startcode, endcode, startstack, kstkesp, kstkeip
    0, 0, 0, 0, 0, 0, 0, // signal, blocked, sigignore, sigcatch (obsolete: status has them), wchan, nswap, cnswap
    p.exitSignal, 0, 0, 0, 0, 0, 0, // exit_signal, processor, rt_priority, policy, blkio ticks, guest_time, cguest_time
    0, 0, 0, 0, 0, 0, 0, exitCode, // start_data, end_data, start_brk, arg_start, arg_end, env_start, env_end, exit_code
  ];
  return fields.join(' ') + '\n';
}

const sigset = (set: bigint): string => set.toString(16).padStart(16, '0');
const capset = sigset;

function status(p: Process, t: Task): string {
  const id = p.kernel.identity;
  let pending = 0n;
  for (const s of [...p.pending, ...t.pending]) pending |= 1n << BigInt(s.signo - 1);
  return [
    `Name:\t${t.comm}`,
    `Umask:\t${p.umask.toString(8).padStart(4, '0')}`,
    `State:\t${state(p, t)}`,
    `Tgid:\t${p.pid}`,
    `Ngid:\t0`,
    `Pid:\t${t.tid}`,
    `PPid:\t${p.parent?.pid ?? 0}`,
    `TracerPid:\t0`,
    `Uid:\t${id.uid}\t${id.euid}\t${id.euid}\t${id.euid}`,
    `Gid:\t${id.gid}\t${id.egid}\t${id.egid}\t${id.egid}`,
    `FDSize:\t${p.files.limit}`,
    `Groups:\t`,
    `VmSize:\t${String(Math.floor(vsize(p) / 1024)).padStart(8)} kB`,
    `VmRSS:\t${String(Math.floor(p.mm.ownedBytes / 1024)).padStart(8)} kB`,
    `VmLck:\t${String(Math.floor(p.mm.lockedBytes / 1024)).padStart(8)} kB`,
    `Threads:\t${p.threads.length}`,
    `SigPnd:\t${sigset(pending)}`,
    `SigBlk:\t${sigset(t.sigmask)}`,
    `CapInh:\t${capset(0n)}`,
    `CapPrm:\t${capset(capabilities(id))}`,
    `CapEff:\t${capset(capabilities(id))}`,
    `CapBnd:\t${capset(capabilities({ ...id, euid: 0 }))}`,
    `CapAmb:\t${capset(0n)}`,
    `Cpus_allowed:\t1`,
    `Cpus_allowed_list:\t0`,
    '',
  ].join('\n');
}

/** /proc/<pid>/auxv: the (type, value) pairs of u64, ending with AT_NULL. */
function auxvBytes(p: Process): Uint8Array {
  const b = Buffer.alloc((p.auxv.length + 1) * 16);
  p.auxv.forEach(([key, v], i) => {
    b.writeBigUInt64LE(BigInt(key), i * 16);
    b.writeBigUInt64LE(BigInt(v), i * 16 + 8);
  });
  return b;
}

function fdinfo(p: Process, fd: number, file: OpenFile): string {
  let ino = 0;
  try {
    ino = file.stat().ino;
  } catch {
    // a file whose host side is gone still has its description
  }
  const flags = file.flags | (p.files.cloexec(fd) ? 0o2000000 : 0);
  return `pos:\t${file.pos}\nflags:\t0${flags.toString(8)}\nmnt_id:\t0\nino:\t${ino}\n`;
}

/** A path in /proc/mounts: space, tab, newline and backslash as octal escapes. */
function escapeMount(p: string): string {
  return p.replace(/[ \t\n\\]/g, (c) => '\\' + c.charCodeAt(0).toString(8).padStart(3, '0'));
}

const ROOT_FILES = ['self', 'thread-self', 'cpuinfo', 'meminfo', 'uptime', 'version', 'loadavg', 'mounts', 'filesystems', 'stat'];
const PID_FILES = ['exe', 'cwd', 'root', 'cmdline', 'environ', 'auxv', 'comm', 'maps', 'stat', 'status', 'mounts', 'mountinfo', 'fd', 'fdinfo', 'task'];

/** One mount as /proc/<pid>/mounts and mountinfo show it. */
interface MountRow {
  id: number;
  parent: number;
  /** major:minor (mountinfo only: it may stat the host). */
  dev: () => string;
  root: string;
  target: string;
  source: string;
  type: string;
  opts: string;
}

/** What /proc/<pid>/mountinfo adds to a mount's id (the kernel's /proc takes the one before). */
const MOUNT_ID_BASE = 21;
