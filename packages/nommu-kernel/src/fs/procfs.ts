import type { Kernel } from '../kernel.js';
import type { OpenFile } from './file.js';
import { TaskState, type Process } from '../task/task.js';
import { PROT_EXEC, PROT_READ, PROT_WRITE } from '../memory/mm.js';

/** A node of a synthetic filesystem: what the resolver and open() need to know. */
export type SyntheticNode =
  | { kind: 'dir'; entries(): string[] }
  | { kind: 'file'; content(): Uint8Array }
  | { kind: 'symlink'; target: string; file?: OpenFile };

const text = (s: string): Uint8Array => Buffer.from(s, 'utf8');
const hex = (n: number, w = 8): string => n.toString(16).padStart(w, '0');

/**
 * /proc, rendered from the kernel's own state: the host's /proc is never
 * shown to the guest (it would describe Node, and leak host paths).
 */
export class ProcFs {
  constructor(private readonly kernel: Kernel) {}

  /** Looks up the components after '/proc', as seen by `self`. */
  lookup(parts: readonly string[], self: Process | null): SyntheticNode | null {
    const k = this.kernel;
    if (parts.length === 0) {
      return { kind: 'dir', entries: () => ['self', 'cpuinfo', 'meminfo', 'uptime', 'version', ...[...k.processes.keys()].map(String)] };
    }
    const [first, ...rest] = parts;
    if (first === 'self') {
      if (!self) return null;
      return rest.length === 0 ? { kind: 'symlink', target: String(self.pid) } : this.lookup([String(self.pid), ...rest], self);
    }
    if (first === 'cpuinfo' && rest.length === 0) return { kind: 'file', content: () => text(this.#cpuinfo()) };
    if (first === 'meminfo' && rest.length === 0) return { kind: 'file', content: () => text(this.#meminfo()) };
    if (first === 'uptime' && rest.length === 0) {
      return {
        kind: 'file',
        content: () => {
          const up = Number(process.hrtime.bigint() - k.bootNs) / 1e9;
          return text(`${up.toFixed(2)} ${up.toFixed(2)}\n`);
        },
      };
    }
    if (first === 'version' && rest.length === 0) {
      return { kind: 'file', content: () => text('Linux version 6.1.0-nommu (nommu@node) #1 nommu\n') };
    }
    if (first !== undefined && /^\d+$/.test(first)) {
      const p = k.processes.get(Number(first));
      if (!p) return null;
      return this.#pid(p, rest);
    }
    return null;
  }

  #pid(p: Process, rest: readonly string[]): SyntheticNode | null {
    if (rest.length === 0) {
      return { kind: 'dir', entries: () => ['exe', 'cwd', 'root', 'cmdline', 'environ', 'comm', 'maps', 'stat', 'status', 'fd'] };
    }
    if (rest.length > 1 && rest[0] !== 'fd') return null;
    switch (rest[0]) {
      case 'exe': return { kind: 'symlink', target: p.exe };
      case 'cwd': return { kind: 'symlink', target: p.cwd };
      case 'root': return { kind: 'symlink', target: '/' };
      case 'cmdline': return { kind: 'file', content: () => text(p.argv.map((a) => a + '\0').join('')) };
      case 'environ': return { kind: 'file', content: () => text(p.envp.map((a) => a + '\0').join('')) };
      case 'comm': return { kind: 'file', content: () => text(comm(p) + '\n') };
      case 'maps': return { kind: 'file', content: () => text(this.#maps(p)) };
      case 'stat': return { kind: 'file', content: () => text(stat(p)) };
      case 'status': return { kind: 'file', content: () => text(status(p)) };
      case 'fd': {
        if (rest.length === 1) return { kind: 'dir', entries: () => p.files.list().map(String) };
        const fd = Number(rest[1]);
        if (rest.length !== 2 || !/^\d+$/.test(rest[1]!)) return null;
        try {
          const file = p.files.get(fd);
          // A "magic link": opening it opens the file itself, whatever its name says (pipe:[...], /dev/stdin).
          return { kind: 'symlink', target: file.guestPath, file };
        } catch {
          return null;
        }
      }
      default:
        return null;
    }
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
      '',
    ].join('\n');
  }
}

/** Linux's state letters: a zombie, every thread parked in a syscall (sleeping), or running. */
function state(p: Process): string {
  if (p.exitStatus) return 'Z (zombie)';
  return p.threads.every((t) => t.state === TaskState.Blocked) ? 'S (sleeping)' : 'R (running)';
}

/** The process's name is its main thread's. */
function comm(p: Process): string {
  return p.leader.comm;
}

function stat(p: Process): string {
  const ppid = p.parent?.pid ?? 0;
  const fields = [p.pid, `(${comm(p)})`, state(p)[0], ppid, p.pgid, p.sid, 0, -1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 20 + p.leader.nice, p.leader.nice, p.threads.length, 0, 0, p.mm.ownedBytes, 0];
  return fields.join(' ') + '\n';
}

function status(p: Process): string {
  return [
    `Name:\t${comm(p)}`,
    `State:\t${state(p)}`,
    `Tgid:\t${p.pid}`,
    `Pid:\t${p.pid}`,
    `PPid:\t${p.parent?.pid ?? 0}`,
    `Threads:\t${p.threads.length}`,
    `VmRSS:\t${Math.floor(p.mm.ownedBytes / 1024)} kB`,
    '',
  ].join('\n');
}
