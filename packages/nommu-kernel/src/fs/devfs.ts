import { randomFillSync } from 'node:crypto';
import { E, errno } from '../errno.js';
import type { Kernel } from '../kernel.js';
import type { Process, Task } from '../task/task.js';
import { O_ACCMODE, O_CLOEXEC, O_RDONLY, OpenFile, type IoResult } from './file.js';
import type { SyntheticFs, SyntheticNode } from './procfs.js';
import { PTY_SLAVE_MAJOR, Pty, PtyMaster } from './pty.js';
import { makedev, S_IFCHR, syntheticStat, type KStat } from './stat.js';

/** What a device of this /dev does when opened. */
type DeviceKind = 'null' | 'zero' | 'full' | 'random' | 'tty' | 'console' | 'ptmx';

interface DeviceSpec {
  readonly kind: DeviceKind;
  readonly major: number;
  readonly minor: number;
  readonly mode: number;
  /** Group: tty (5) for the terminal devices, as udev sets them up. */
  readonly gid: number;
  readonly ino: number;
}

/**
 * The devices, with Linux's numbers and the modes a usual system gives them.
 * The console is the terminal nommu runs on: its owner is the guest identity,
 * as a login's terminal belongs to who logged in (user:tty, 0620).
 */
const DEVICES = new Map<string, DeviceSpec>(
  (
    [
      ['null', 'null', 1, 3, 0o666, 0],
      ['zero', 'zero', 1, 5, 0o666, 0],
      ['full', 'full', 1, 7, 0o666, 0],
      ['random', 'random', 1, 8, 0o666, 0],
      ['urandom', 'random', 1, 9, 0o666, 0],
      ['tty', 'tty', 5, 0, 0o666, 5],
      ['console', 'console', 5, 1, 0o620, 5],
      ['ptmx', 'ptmx', 5, 2, 0o666, 5],
    ] as const
  ).map(([name, kind, major, minor, mode, gid], i) => [name, { kind, major, minor, mode, gid, ino: 3 + i }]),
);

/** The standard symlinks: they lead into /proc, whose magic links reopen the caller's descriptors. */
const LINKS = new Map<string, string>([
  ['fd', '/proc/self/fd'],
  ['stdin', '/proc/self/fd/0'],
  ['stdout', '/proc/self/fd/1'],
  ['stderr', '/proc/self/fd/2'],
]);

/** The st_dev of /dev/pts and its nodes (an anonymous device, as a devpts instance has). */
const DEVPTS_DEV = 0x16;
/** Group of the slave nodes: tty, as Linux's devpts mounted with gid=5,mode=620 makes them. */
const TTY_GID = 5;
/** /proc/sys/kernel/pty/max. */
const PTY_MAX = 4096;

/**
 * /dev, made up by the kernel (a devtmpfs with only what a guest needs):
 * null, zero, full, random, urandom, tty (the caller's controlling
 * terminal), console (the terminal or standard streams nommu runs on),
 * ptmx, and stdin/stdout/stderr/fd symlinks into /proc; and what the devpts
 * mount on /dev/pts shows: ptmx and a node per pseudo-terminal. Host devices are never opened; other mounts (the
 * /dev/shm tmpfs) show up in its listing.
 */
export class DevFs implements SyntheticFs {
  /** The devices' times: when the kernel started, as devtmpfs nodes made at boot. */
  readonly #bootNs = BigInt(Date.now()) * 1_000_000n;
  /** Pseudo-terminals whose master is open, by number: the slave nodes of /dev/pts. */
  readonly #ptys = new Map<number, Pty>();

  constructor(private readonly kernel: Kernel) {}

  lookup(parts: readonly string[], _self: Process | null): SyntheticNode | null {
    if (parts.length === 0) {
      const entries = (): string[] => [...new Set([...DEVICES.keys(), ...LINKS.keys(), ...this.kernel.vfs.mountPointsIn('/dev')])];
      return { kind: 'dir', mode: 0o755, entries, timeNs: this.#bootNs };
    }
    // /dev/pts is mounted on its own (a 'devpts' mount): the Vfs looks its names up here.
    if (parts[0] === 'pts') return this.#pts(parts.slice(1));
    if (parts.length !== 1) return null;
    const name = parts[0]!;
    const target = LINKS.get(name);
    if (target !== undefined) return { kind: 'symlink', target, timeNs: this.#bootNs };
    const spec = DEVICES.get(name);
    if (!spec) return null;
    return { kind: 'device', stat: () => this.#stat(spec), open: (task, flags) => this.#open(name, spec, task, flags) };
  }

  #stat(spec: DeviceSpec): KStat {
    const t = this.#bootNs;
    return { ...syntheticStat(S_IFCHR | spec.mode, makedev(spec.major, spec.minor), spec.ino), uid: this.#owner(spec), gid: spec.gid, atimeNs: t, mtimeNs: t, ctimeNs: t };
  }

  #owner(spec: DeviceSpec): number {
    return spec.kind === 'console' ? this.kernel.identity.uid : 0;
  }

  /** /dev/console's stat: what the standard streams on the terminal nommu runs on show (they are the console). */
  consoleStat(): KStat {
    return this.#stat(DEVICES.get('console')!);
  }

  #open(name: string, spec: DeviceSpec, task: Task, flags: number): OpenFile {
    const k = this.kernel;
    const fileFlags = flags & ~O_CLOEXEC;
    // The owner's bits for root and the device's owner, the others' for anyone else.
    const acc = flags & O_ACCMODE;
    const bits = k.identity.euid === 0 || k.identity.euid === this.#owner(spec) ? spec.mode >> 6 : spec.mode;
    if ((acc !== O_RDONLY && (bits & 2) === 0) || (acc !== 1 && (bits & 4) === 0)) throw errno(E.EACCES);
    switch (spec.kind) {
      case 'tty': {
        const tty = k.openTerminal(task, fileFlags);
        if (!tty) throw errno(E.ENXIO);
        return tty;
      }
      case 'console':
        return k.openConsole(fileFlags);
      case 'ptmx':
        return this.#newPty(task, fileFlags, `/dev/${name}`, () => this.#stat(spec));
      default:
        return new DeviceFile(fileFlags, `/dev/${name}`, spec.kind, () => this.#stat(spec));
    }
  }

  /** /dev/pts: ptmx (another way to open a master) and a node per pseudo-terminal whose master is open. */
  #pts(parts: readonly string[]): SyntheticNode | null {
    const k = this.kernel;
    if (parts.length === 0) {
      const entries = (): string[] => ['ptmx', ...[...this.#ptys.keys()].sort((a, b) => a - b).map(String)];
      return { kind: 'dir', mode: 0o755, entries, timeNs: this.#bootNs };
    }
    if (parts.length !== 1) return null;
    const name = parts[0]!;
    if (name === 'ptmx') {
      const stat = (): KStat => ({ ...syntheticStat(S_IFCHR, makedev(5, 2), 2), dev: DEVPTS_DEV, atimeNs: this.#bootNs, mtimeNs: this.#bootNs, ctimeNs: this.#bootNs });
      // Mode 0000: only root (who passes any permission check) opens it.
      const open = (task: Task, flags: number): OpenFile => {
        if (k.identity.euid !== 0) throw errno(E.EACCES);
        return this.#newPty(task, flags & ~O_CLOEXEC, '/dev/pts/ptmx', stat);
      };
      return { kind: 'device', stat, open };
    }
    const pty = /^(0|[1-9]\d*)$/.test(name) ? this.#ptys.get(Number(name)) : undefined;
    if (!pty) return null;
    return {
      kind: 'device',
      stat: pty.slaveStat,
      open: (task, flags) => {
        const st = pty.slaveStat();
        const acc = flags & O_ACCMODE;
        const bits = k.identity.euid === 0 ? 0o6 : k.identity.euid === st.uid ? st.mode >> 6 : k.identity.egid === st.gid ? st.mode >> 3 : st.mode;
        if ((acc !== O_RDONLY && (bits & 2) === 0) || (acc !== 1 && (bits & 4) === 0)) throw errno(E.EACCES);
        return pty.openSlave(task, flags);
      },
    };
  }

  /** Opening ptmx: a new pseudo-terminal, the lowest free number, its slave node owned by the opener. */
  #newPty(task: Task, flags: number, guestPath: string, statOf: () => KStat): PtyMaster {
    let index = 0;
    while (this.#ptys.has(index)) index++;
    if (index >= PTY_MAX) throw errno(E.ENOSPC);
    const uid = this.kernel.identity.euid;
    const made = BigInt(Date.now()) * 1_000_000n;
    const slaveStat = (): KStat => ({
      ...syntheticStat(S_IFCHR | 0o620, makedev(PTY_SLAVE_MAJOR, index), index + 3),
      dev: DEVPTS_DEV, uid, gid: TTY_GID, atimeNs: made, mtimeNs: made, ctimeNs: made,
    });
    const pty = new Pty(task.kernel, index, slaveStat, () => this.#ptys.delete(index));
    this.#ptys.set(index, pty);
    return new PtyMaster(pty, flags, guestPath, statOf);
  }
}

/**
 * An open memory device: null (EOF, takes every write), zero (zeros, takes
 * every write), full (zeros, ENOSPC on write), random and urandom (the host's
 * cryptographic randomness, never blocking). Offsets mean nothing: lseek
 * answers 0 and pread/pwrite work anywhere, as on Linux.
 */
export class DeviceFile extends OpenFile {
  constructor(
    flags: number,
    guestPath: string,
    readonly device: 'null' | 'zero' | 'full' | 'random',
    private readonly statOf: () => KStat,
  ) {
    super(flags, guestPath);
  }

  /** Another open of the same device (open of /proc/PID/fd/N). */
  reopen(flags: number): DeviceFile {
    return new DeviceFile(flags, this.guestPath, this.device, this.statOf);
  }

  override get seekable(): boolean {
    return true;
  }
  stat(): KStat {
    return this.statOf();
  }
  override size(): number {
    return 0;
  }
  override seekTo(): number {
    return 0;
  }
  override read(_task: Task, buf: Uint8Array): IoResult {
    switch (this.device) {
      case 'null':
        return 0;
      case 'random':
        for (let at = 0; at < buf.length; at += 1 << 30) randomFillSync(buf, at, Math.min(1 << 30, buf.length - at));
        return buf.length;
      default:
        buf.fill(0);
        return buf.length;
    }
  }
  override write(_task: Task, data: Uint8Array): IoResult {
    return this.device === 'full' ? errno(E.ENOSPC) : data.length;
  }
}
