import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { E, errno, hostErrno } from '../errno.js';
import type { Process } from '../task/task.js';
import type { ProcFs, SyntheticFs, SyntheticNode } from './procfs.js';

const MAX_SYMLINKS = 40;
const PATH_MAX = 4096;

export interface Resolved {
  /** Canonical guest path (no '.', '..' or symlinks except possibly the last component). */
  guest: string;
  /** The host path it names, always inside its mount's host directory ('' for synthetic files, which no host call finds). */
  host: string;
  /** The mount the name lives on (null for synthetic files). */
  mount: Mount | null;
  /** Set when the path lies in a synthetic filesystem (/proc, /dev). */
  node?: SyntheticNode;
}

/** Limits on a path walk: openat2's RESOLVE_* flags. */
export interface ResolveScope {
  /** RESOLVE_NO_SYMLINKS: any symlink to follow is ELOOP. */
  readonly noSymlinks?: boolean;
  /** RESOLVE_NO_MAGICLINKS: /proc/PID/{fd/N,exe,cwd,root} to follow are ELOOP. */
  readonly noMagicLinks?: boolean;
  /** RESOLVE_BENEATH: absolute names, escaping '..' and magic links are EXDEV. */
  readonly beneath?: boolean;
  /** RESOLVE_IN_ROOT: the start directory acts as '/' (absolute names, '..' and symlinks stay inside it). */
  readonly inRoot?: boolean;
  /** RESOLVE_NO_XDEV: crossing a mount point (either way) is EXDEV. */
  readonly noXdev?: boolean;
  /** The name is a kernel's canonical guest path: '/' is the kernel's root, not the process's (chroot). */
  readonly globalRoot?: boolean;
}

/** Magic links of /proc/PID besides fd/N: they jump to a file, not to a name. */
const MAGIC_LINKS = new Set(['exe', 'cwd', 'root']);

/** Is the synthetic node found at canonical `guest` a magic link (/proc/PID/{exe,cwd,root,fd/N}), whose target names a file from the kernel's root? */
export function isMagicLink(guest: string, node: SyntheticNode): boolean {
  if (node.kind !== 'symlink') return false;
  if (node.file !== undefined) return true;
  const parts = splitPath(guest);
  return MAGIC_LINKS.has(parts[parts.length - 1] ?? '') && /^\d+$/.test(parts[parts.length - 2] ?? '');
}

/** What to mount, as KernelOptions.mounts and `nommu run --mount/--tmpfs` give it. */
export type MountSpec =
  /** A host directory seen at `target` (a guest directory). */
  | { type: 'bind'; source: string; target: string; readOnly?: boolean }
  /** A fresh empty filesystem at `target`, gone when the kernel is disposed. */
  | { type: 'tmpfs'; target: string; readOnly?: boolean };

/** Device numbers of bind and tmpfs mounts: major 240 (local/experimental use), which no host filesystem has. */
const MOUNT_DEV_MAJOR = 240;

/**
 * One filesystem in the guest's tree: the root, a bind mount or a tmpfs. Each
 * is a host directory; names under `target` are looked up under `host`.
 */
export class Mount {
  /** `target` split into components ([] for the root). */
  readonly parts: readonly string[];
  #host: string | (() => string);
  constructor(
    /** 'devfs': the kernel's /dev, 'devpts' its /dev/pts, 'proc' another view of /proc (no host directory: the Vfs looks names up in its synthetic filesystems). */
    readonly kind: 'root' | 'bind' | 'tmpfs' | 'devfs' | 'devpts' | 'sysfs' | 'proc',
    /** Canonical guest path of the mount point. */
    readonly target: string,
    /** The host directory behind the mount's root, or what makes it at first use. */
    host: string | (() => string),
    /** Read-only (a guest's mount -o remount,ro changes it). */
    public readOnly: boolean,
    /** Unique in the mount table's life: names its device numbers. */
    readonly id: number,
    /** A bind mount of part of another mount: the filesystem it shows, whose device numbers it keeps. */
    readonly base: Mount | null = null,
  ) {
    this.parts = splitPath(target);
    this.#host = host;
  }

  /** The host directory behind the mount's root ('' for devfs, which no host call ever gets). */
  get host(): string {
    if (typeof this.#host === 'function') this.#host = this.#host();
    return this.#host;
  }

  /** Device numbers given out, by host device (see devOf). */
  readonly #devs = new Map<number, number>();

  /**
   * The st_dev a file of this mount shows. The root keeps the host's numbers
   * (a run with root '/' sees what the host sees); every other mount has its
   * own, 240:(id << 8 | n) for the n-th host filesystem met under it, so
   * st_dev differs across each mount point and (st_dev, st_ino) stays unique.
   */
  devOf(hostDev: number): number {
    if (this.base) return this.base.devOf(hostDev);
    if (this.kind === 'root') return hostDev;
    let dev = this.#devs.get(hostDev);
    if (dev === undefined) {
      const minor = ((this.id << 8) | this.#devs.size) & 0xfffff;
      dev = (minor & 0xff) | (MOUNT_DEV_MAJOR << 8) | ((minor & ~0xff) << 12);
      this.#devs.set(hostDev, dev);
    }
    return dev;
  }

  /** /proc/mounts' source and type columns: no host path is shown (and no "rootfs", which df and friends skip). */
  get fsType(): string {
    if (this.base) return this.base.fsType;
    if (this.kind === 'sysfs' || this.kind === 'devpts' || this.kind === 'proc') return this.kind;
    return this.kind === 'tmpfs' ? 'tmpfs' : this.kind === 'devfs' ? 'devtmpfs' : 'hostfs';
  }
  /**
   * Read-only by the host's choice (a read-only root, a `:ro` mount) and every
   * guest bind of it: no guest remount makes it writable (Linux's MNT_LOCK_READONLY).
   */
  lockedReadOnly = false;
  /** Made by the host (the kernel's /dev, /sys, a configured mount) or a copy of one: no guest unmounts it alone (EINVAL). */
  locked = false;
  /** The source a guest's mount(2) named (a tmpfs's "none"), shown as /proc/mounts' first column. */
  sourceName: string | null = null;
  get source(): string {
    if (this.sourceName !== null) return this.sourceName;
    if (this.base) return this.base.source;
    if (this.kind === 'sysfs' || this.kind === 'devpts' || this.kind === 'proc') return this.kind;
    return this.kind === 'devfs' ? 'devtmpfs' : this.kind;
  }
}

/**
 * Guest paths to host paths, resolved by the kernel itself one component at
 * a time: '..' stops at the guest root and every symlink target is read and
 * resolved inside the root, so no path the guest writes names a host file
 * outside it.
 */
export class Vfs {
  readonly root: string;
  /** The root mount is read-only (bind and tmpfs mounts have their own flag). */
  readonly readOnly: boolean;
  /** Mounted at /proc; the host's /proc is never reachable. */
  procfs: ProcFs | null = null;
  /** What the 'devfs' mounts show (the kernel's /dev); null: nothing (their names do not exist). */
  readonly devfs: SyntheticFs | null;
  /** What the 'sysfs' mount shows (the kernel's /sys, see sysfs.ts); null: nothing. */
  readonly sysfs: SyntheticFs | null;
  /** The mount table, in mount order: the root first; a later mount on the same point hides an earlier one. */
  readonly mounts: Mount[];
  /** Host directories made for tmpfs mounts, removed by dispose(). */
  readonly #scratch: string[] = [];
  /** The id the next mount takes (ids are never reused, as Linux's mount ids). */
  #nextId = 0;

  /**
   * With `devfs`, /dev is that synthetic filesystem (whatever the root holds
   * there, or if it has no /dev), with a tmpfs on /dev/shm made at first use;
   * both come before `mounts`, which may hide them.
   */
  constructor(opts: { root?: string; readOnly?: boolean; mounts?: readonly MountSpec[]; devfs?: SyntheticFs; sysfs?: SyntheticFs } = {}) {
    this.root = fs.realpathSync(opts.root ?? '/');
    this.readOnly = opts.readOnly ?? false;
    this.mounts = [new Mount('root', '/', this.root, this.readOnly, this.#nextId++)];
    this.mounts[0]!.lockedReadOnly = this.readOnly;
    this.devfs = opts.devfs ?? null;
    if (this.devfs) {
      this.mounts.push(new Mount('devfs', '/dev', '', false, this.#nextId++));
      this.mounts.push(new Mount('tmpfs', '/dev/shm', () => this.#scratchDir(), false, this.#nextId++));
      this.mounts.push(new Mount('devpts', '/dev/pts', '', false, this.#nextId++));
    }
    // With `sysfs`, /sys is that synthetic filesystem, after /dev and before `mounts`.
    this.sysfs = opts.sysfs ?? null;
    if (this.sysfs) this.mounts.push(new Mount('sysfs', '/sys', '', false, this.#nextId++));
    for (const m of this.mounts) m.locked = true;
    try {
      for (const m of opts.mounts ?? []) this.mount(m);
    } catch (e) {
      this.dispose();
      throw e;
    }
  }

  /**
   * Adds a mount. The target must be an existing guest directory (symlinks in
   * it are followed inside the guest tree, as mount(8) does); /proc and / are
   * not mount points. Throws an Errno (ENOENT, ENOTDIR, EBUSY) otherwise.
   */
  /** ENOTDIR unless `r` names a directory, synthetic or on the host (whose errors translate). */
  requireDirectory(r: Resolved): void {
    if (r.node) {
      if (r.node.kind !== 'dir') throw errno(E.ENOTDIR);
      return;
    }
    let st: fs.Stats;
    try {
      st = fs.statSync(r.host);
    } catch (err) {
      throw hostErrno(err);
    }
    if (!st.isDirectory()) throw errno(E.ENOTDIR);
  }

  mount(spec: MountSpec): Mount {
    const r = this.resolve('/', spec.target, true);
    if (r.guest === '/' || r.guest === '/proc' || r.guest.startsWith('/proc/')) throw errno(E.EBUSY);
    // A directory of /dev (or /dev itself) may be mounted over: the mount hides it.
    this.requireDirectory(r);
    let host: string;
    if (spec.type === 'bind') {
      try {
        host = fs.realpathSync(spec.source);
      } catch (err) {
        throw hostErrno(err);
      }
      if (!fs.statSync(host).isDirectory()) throw errno(E.ENOTDIR);
    } else {
      host = this.#scratchDir();
    }
    const m = new Mount(spec.type, r.guest, host, spec.readOnly ?? false, this.#nextId++);
    m.lockedReadOnly = m.readOnly;
    m.locked = true;
    this.mounts.push(m);
    return m;
  }

  /**
   * A guest's mount(2) onto the resolved directory `at`: a fresh tmpfs (with
   * `mode` for its root), another view of a kernel filesystem, or (`bind`) the host directory or
   * file behind `bind`, a name resolved on a host-backed mount (with `rec`,
   * the mounts below it come along). The caller has checked the target.
   */
  mountAt(at: Resolved, what: { kind: 'tmpfs'; mode?: number } | { kind: 'proc' | 'sysfs' | 'devpts' | 'devfs' } | { kind: 'bind'; source: Resolved; rec: boolean }, readOnly: boolean): Mount {
    const target = at.guest;
    if (what.kind === 'tmpfs') {
      const host = this.#scratchDir();
      if (what.mode !== undefined) fs.chmodSync(host, what.mode & 0o7777);
      const m = new Mount('tmpfs', target, host, readOnly, this.#nextId++);
      this.mounts.push(m);
      return m;
    }
    if (what.kind !== 'bind') {
      const m = new Mount(what.kind, target, '', readOnly, this.#nextId++);
      this.mounts.push(m);
      return m;
    }
    const src = what.source;
    const srcParts = splitPath(src.guest);
    const from = this.mountOf(srcParts);
    const base = from.base ?? from;
    const kind = base.kind === 'root' ? 'bind' : base.kind;
    const added: Mount[] = [];
    const host = from.kind === 'root' || from.host !== '' ? this.hostPath(srcParts) : '';
    added.push(new Mount(kind, target, host, readOnly, this.#nextId++, base));
    added[0]!.lockedReadOnly = from.lockedReadOnly;
    // The mounts below the source (every deeper one: a lookup finds them whatever their order), and the kernel's /proc below '/'.
    const below = this.mounts.filter((sub) => sub.parts.length > srcParts.length && srcParts.every((c, i) => sub.parts[i] === c));
    const procBelow = this.procfs !== null && srcParts.length === 0;
    if (!what.rec) {
      // What the host mounted hides the host directory under it: a bind without them would show it (Linux's locked mounts: EINVAL).
      if (procBelow || below.some((sub) => sub.locked)) throw errno(E.EINVAL);
    } else {
      const at = (parts: readonly string[]): string => '/' + [...splitPath(target), ...parts.slice(srcParts.length)].join('/');
      if (procBelow) {
        const proc = new Mount('proc', at(['proc']), '', false, this.#nextId++);
        proc.locked = true;
        added.push(proc);
      }
      for (const sub of below) {
        const copy = new Mount(sub.kind, at(sub.parts), sub.kind === 'root' ? sub.host : () => sub.host, sub.readOnly, this.#nextId++, sub.base ?? (sub.kind === 'tmpfs' || sub.kind === 'bind' ? sub : null));
        copy.lockedReadOnly = sub.lockedReadOnly;
        copy.locked = sub.locked;
        copy.sourceName = sub.sourceName;
        added.push(copy);
      }
    }
    this.mounts.push(...added);
    return added[0]!;
  }

  /** Takes `m` and every mount below it out of the table (umount; MNT_DETACH takes the ones below along). */
  unmount(m: Mount): void {
    const below = this.mounts.filter((x) => x === m || (x.parts.length > m.parts.length && m.parts.every((c, i) => x.parts[i] === c) && this.mounts.indexOf(x) > this.mounts.indexOf(m)));
    for (const x of below) this.mounts.splice(this.mounts.indexOf(x), 1);
  }

  /** Mounts on top of `m`: mounted later at or below its mount point (they keep it busy). */
  mountsAbove(m: Mount): Mount[] {
    const i = this.mounts.indexOf(m);
    return this.mounts.filter((x, j) => j > i && x.parts.length >= m.parts.length && m.parts.every((c, k) => x.parts[k] === c));
  }

  /** The mount a canonical guest path (as components) lies on: the deepest mount point above it, the latest on ties. */
  mountOf(parts: readonly string[]): Mount {
    let best = this.mounts[0]!;
    for (const m of this.mounts) {
      if (m.parts.length < best.parts.length || m.parts.length > parts.length) continue;
      if (m.parts.every((c, i) => parts[i] === c)) best = m;
    }
    return best;
  }

  /** A fresh host directory for a tmpfs, removed by dispose(). */
  #scratchDir(): string {
    const host = fs.mkdtempSync(path.join(tmpfsParent(), 'nommu-tmpfs-'));
    this.#scratch.push(host);
    fs.chmodSync(host, 0o1777);
    return host;
  }

  hostPath(parts: readonly string[]): string {
    const m = this.mountOf(parts);
    // A devfs name has no host file: never hand out a path a host call could use.
    if (m.kind === 'devfs' || m.kind === 'devpts' || m.kind === 'sysfs' || m.kind === 'proc') throw errno(E.ENOENT);
    const rest = parts.slice(m.parts.length);
    return rest.length === 0 ? m.host : path.join(m.host, ...rest);
  }

  /** The synthetic filesystem a canonical guest path lies in (/proc, or a devfs mount), with the components below its root. */
  #synthetic(parts: readonly string[]): { fs: SyntheticFs; rest: readonly string[] } | null {
    if (parts[0] === 'proc' && this.procfs) return { fs: this.procfs, rest: parts.slice(1) };
    if (this.devfs === null && this.sysfs === null && this.mounts.length === 1) return null;
    const m = this.mountOf(parts);
    if (m.kind === 'proc' && this.procfs) return { fs: this.procfs, rest: parts.slice(m.parts.length) };
    if (m.kind === 'sysfs' && this.sysfs) return { fs: this.sysfs, rest: parts.slice(m.parts.length) };
    // devpts is the devfs's pts directory, mounted on its own.
    if (m.kind === 'devpts' && this.devfs) return { fs: this.devfs, rest: ['pts', ...parts.slice(m.parts.length)] };
    return m.kind === 'devfs' && this.devfs ? { fs: this.devfs, rest: parts.slice(m.parts.length) } : null;
  }

  /** Is the resolved name the root of a mount other than '/'? (rmdir, rename and unlink of it are EBUSY) */
  isMountPoint(r: Resolved): boolean {
    return r.mount !== null && r.mount.kind !== 'root' && r.guest === r.mount.target;
  }

  /** The mount holding the directory entry of a name (for a mount point, the mount it is mounted on): what rename and link compare. */
  entryMount(r: Resolved): Mount | null {
    return this.isMountPoint(r) ? this.mountOf(splitPath(r.guest).slice(0, -1)) : r.mount;
  }

  /**
   * Host directories a walk found to be directories, not symlinks: a later
   * walk through them (not to them) skips their lstat, a few microseconds
   * each for every component of every path. Only the guest's rmdir and
   * rename can make such a name something else here: they call `forgetDirs`.
   * (A change the host makes meanwhile is not seen, as it is not between any
   * walk's lstat and the host call that follows it.)
   */
  readonly #dirs = new Set<string>();

  /** Forgets the directories walks saw (after a guest rmdir or rename). */
  forgetDirs(): void {
    this.#dirs.clear();
  }

  /** Removes the host directories behind tmpfs mounts. */
  dispose(): void {
    for (const dir of this.#scratch.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
  }

  /** The names of the mount points directly inside the guest directory `dir` (what a synthetic directory lists besides its own). */
  mountPointsIn(dir: string): string[] {
    const parts = splitPath(dir);
    return this.mounts.filter((m) => m.parts.length === parts.length + 1 && parts.every((c, i) => m.parts[i] === c)).map((m) => m.parts[parts.length]!);
  }

  /**
   * Resolves `p` relative to the guest directory `cwd`. With follow=false a
   * final symlink is not followed (lstat, readlink, O_NOFOLLOW, unlink).
   * `scope` restricts the walk as openat2's RESOLVE_* flags do; `cwd` is
   * then the directory a scoped walk stays beneath.
   */
  resolve(cwd: string, p: string, follow = true, self: Process | null = null, scope: ResolveScope = {}): Resolved {
    if (p.length === 0) throw errno(E.ENOENT);
    if (Buffer.byteLength(p) >= PATH_MAX) throw errno(E.ENAMETOOLONG);
    // The process's root (chroot): where absolute names and symlink targets start, and what '..' does not leave.
    const procRoot = self && self.root !== '/' && !scope.globalRoot ? splitPath(self.root) : [];
    const rootParts = scope.inRoot || scope.beneath ? splitPath(cwd) : procRoot;
    const atProcRoot = (stack: readonly string[]): boolean => stack.length === procRoot.length && procRoot.every((c, i) => stack[i] === c);
    // Where an absolute name or symlink target starts: the scope's root, or EXDEV beneath it.
    const jumpRoot = (stack: string[]): void => {
      if (scope.beneath) throw errno(E.EXDEV);
      stack.splice(0, stack.length, ...rootParts);
    };
    const stack: string[] = splitPath(cwd);
    if (p.startsWith('/')) jumpRoot(stack);
    const mountKey = (): Mount | ProcFs | null => (stack[0] === 'proc' && this.procfs ? this.procfs : this.mountOf(stack));
    const at = (): Resolved => ({ guest: '/' + stack.join('/'), host: '', mount: null });
    const startMount = mountKey();
    const sameMount = (): void => {
      if (scope.noXdev && mountKey() !== startMount) throw errno(E.EXDEV);
    };
    sameMount();
    let pending = splitPath(p);
    const trailingSlash = p.endsWith('/');
    let links = 0;
    while (pending.length > 0) {
      const name = pending[0]!;
      pending = pending.slice(1);
      if (name === '.') continue;
      if (name === '..') {
        if (stack.length <= rootParts.length && (scope.inRoot || scope.beneath)) {
          if (scope.beneath) throw errno(E.EXDEV);
          continue;
        }
        if (atProcRoot(stack)) continue;
        stack.pop();
        sameMount();
        continue;
      }
      if (Buffer.byteLength(name) > 255) throw errno(E.ENAMETOOLONG);
      stack.push(name);
      sameMount();
      const last = pending.length === 0;
      const synthetic = this.#synthetic(stack);
      if (synthetic) {
        const node = synthetic.fs.lookup(synthetic.rest, self);
        if (!node) throw errno(E.ENOENT);
        const magic = node.kind === 'symlink' && (node.file !== undefined || (MAGIC_LINKS.has(name) && /^\d+$/.test(stack[stack.length - 2] ?? '')));
        const jumps = node.kind === 'symlink' && (!last || follow || trailingSlash);
        if (jumps && (scope.noSymlinks || (magic && scope.noMagicLinks))) throw errno(E.ELOOP);
        if (jumps && magic && (scope.beneath || scope.inRoot)) throw errno(E.EXDEV);
        if (node.kind === 'symlink' && node.file && last && follow) return { ...at(), node };
        if (node.kind === 'symlink' && (!last || follow || trailingSlash)) {
          if (++links > MAX_SYMLINKS) throw errno(E.ELOOP);
          stack.pop();
          // A magic link names its file from the kernel's root, whatever the walker's root is.
          if (magic) stack.length = 0;
          else if (node.target.startsWith('/')) jumpRoot(stack);
          pending = [...splitPath(node.target), ...pending];
          sameMount();
          continue;
        }
        if (!last && node.kind !== 'dir') throw errno(E.ENOTDIR);
        if (last) return { ...at(), node };
        continue;
      }
      if (last && !follow && !trailingSlash) break;
      const host = this.hostPath(stack);
      if (!last && this.#dirs.has(host)) continue;
      let st: fs.Stats;
      try {
        st = fs.lstatSync(host);
      } catch (err) {
        const e = hostErrno(err);
        if (e.errno === E.ENOENT && last) break;
        throw e;
      }
      if (st.isSymbolicLink()) {
        if (scope.noSymlinks || ++links > MAX_SYMLINKS) throw errno(E.ELOOP);
        const target = fs.readlinkSync(host);
        stack.pop();
        if (target.startsWith('/')) jumpRoot(stack);
        pending = [...splitPath(target), ...pending];
        sameMount();
        continue;
      }
      // A trailing slash, like any non-final component, must name a directory.
      if ((!last || trailingSlash) && !st.isDirectory()) throw errno(E.ENOTDIR);
      if (!last && st.isDirectory()) {
        if (this.#dirs.size >= DIR_CACHE_MAX) this.#dirs.clear();
        this.#dirs.add(host);
      }
    }
    // Ended on a name walked before ('.', '..', or no component at all): a synthetic one is looked up again, never given to the host.
    const synthetic = this.#synthetic(stack);
    if (synthetic) {
      const node = synthetic.fs.lookup(synthetic.rest, self);
      if (!node) throw errno(E.ENOENT);
      return { ...at(), node };
    }
    const guest = '/' + stack.join('/');
    return { guest, host: this.hostPath(stack), mount: this.mountOf(stack) };
  }
}

/** Directories `Vfs.resolve` remembers at most (then it starts again). */
const DIR_CACHE_MAX = 4096;

/** Where tmpfs mounts keep their files: /dev/shm (memory on Linux hosts) when usable, else the host's temporary directory. */
function tmpfsParent(): string {
  try {
    fs.accessSync('/dev/shm', fs.constants.W_OK | fs.constants.X_OK);
    if (fs.statSync('/dev/shm').isDirectory()) return '/dev/shm';
  } catch {
    // no /dev/shm on this host
  }
  return os.tmpdir();
}

export function splitPath(p: string): string[] {
  return p.split('/').filter((c) => c.length > 0);
}

/** A canonical guest path as a process whose root is `root` names it, or null when it lies outside that root. */
export function pathInRoot(root: string, guest: string): string | null {
  if (root === '/') return guest;
  if (guest === root) return '/';
  return guest.startsWith(root + '/') ? guest.slice(root.length) : null;
}
