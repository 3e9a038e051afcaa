import * as fs from 'node:fs';
import * as path from 'node:path';
import { E, errno, type Errno } from '../errno.js';
import type { Kernel } from '../kernel.js';
import { PerKernel } from '../perkernel.js';
import { BLOCK } from '../syscalls.js';
import type { Task } from '../task/task.js';
import { HostFile, O_NONBLOCK, O_RDONLY, O_TRUNC, OpenFile, POLL, setFileEvents, type IoResult } from './file.js';
import { anonStat, type KStat } from './stat.js';
import { FIONREAD } from './tty.js';
import { WaitQueue } from './wait.js';

/**
 * inotify(7): instances (InotifyFile) holding watches on inodes, and the
 * notifier the syscall handlers call after each guest operation on the
 * filesystem. A watched object is the host inode (st_dev, st_ino) behind a
 * guest name; what other host programs do to it is not seen. With no watch
 * in a kernel every hook is one test of a counter.
 */

/** Event and flag bits (struct inotify_event's mask, inotify_add_watch's mask). */
export const IN = {
  ACCESS: 0x1,
  MODIFY: 0x2,
  ATTRIB: 0x4,
  CLOSE_WRITE: 0x8,
  CLOSE_NOWRITE: 0x10,
  OPEN: 0x20,
  MOVED_FROM: 0x40,
  MOVED_TO: 0x80,
  CREATE: 0x100,
  DELETE: 0x200,
  DELETE_SELF: 0x400,
  MOVE_SELF: 0x800,
  UNMOUNT: 0x2000,
  Q_OVERFLOW: 0x4000,
  IGNORED: 0x8000,
  ONLYDIR: 0x01000000,
  DONT_FOLLOW: 0x02000000,
  EXCL_UNLINK: 0x04000000,
  MASK_CREATE: 0x10000000,
  MASK_ADD: 0x20000000,
  ISDIR: 0x40000000,
  ONESHOT: 0x80000000,
} as const;

/** Every event a watch can ask for. */
export const IN_ALL_EVENTS = 0xfff;
/** What inotify_add_watch's mask may hold (Linux's ALL_INOTIFY_BITS): anything else is EINVAL. */
export const IN_VALID_BITS =
  (IN_ALL_EVENTS | IN.UNMOUNT | IN.Q_OVERFLOW | IN.IGNORED | IN.ONLYDIR | IN.DONT_FOLLOW | IN.EXCL_UNLINK | IN.MASK_CREATE | IN.MASK_ADD | IN.ISDIR | IN.ONESHOT) >>> 0;
/** Events a watch on a directory also gets for the entries in it (with their names). */
const CHILD_EVENTS = IN.ACCESS | IN.MODIFY | IN.ATTRIB | IN.CLOSE_WRITE | IN.CLOSE_NOWRITE | IN.OPEN;
/** What a watch's stored mask keeps: its events and ONESHOT (EXCL_UNLINK is accepted and has nothing to exclude here). */
const WATCH_KEEP = (IN_ALL_EVENTS | IN.ONESHOT | IN.EXCL_UNLINK) >>> 0;

/** The /proc/sys/fs/inotify defaults. */
export const INOTIFY_LIMITS = { maxQueuedEvents: 16384, maxUserInstances: 128, maxUserWatches: 1048576 } as const;
/** INOTIFY_IOC_SETNEXTWD: _IOW('I', 0, int). */
export const INOTIFY_IOC_SETNEXTWD = 0x40044900;
/** sizeof(struct inotify_event) before its name. */
const EVENT_HEADER = 16;
const INT_MAX = 0x7fffffff;

interface InotifyEvent {
  readonly wd: number;
  readonly mask: number;
  readonly cookie: number;
  readonly name: Buffer | null;
}

/** Bytes an event takes in read(): the header, and the name with its NUL padded to a multiple of the header's size. */
function eventSize(e: InotifyEvent): number {
  return EVENT_HEADER + nameLen(e);
}
function nameLen(e: InotifyEvent): number {
  return e.name === null ? 0 : Math.ceil((e.name.length + 1) / EVENT_HEADER) * EVENT_HEADER;
}

interface Watch {
  readonly wd: number;
  mask: number;
  readonly key: string;
  readonly owner: InotifyFile;
}

/** The watches of one kernel, by inode. */
class Notifier {
  readonly inodes = new Map<string, Watch[]>();
  watches = 0;
  instances = 0;
  /** The last move's cookie. */
  cookie = 0;
  /** Every event some watch asks for: an event none wants costs no host lookup. */
  events = 0;
  /** How many watches ask for each event bit. */
  readonly #counts = new Array<number>(12).fill(0);
  /** Host files opened or used while something is watched, by inode: an inode whose last name goes while one is open lives on. */
  readonly open = new Map<string, Set<HostFile>>();
  /** Inodes with no name left that open files still hold: IN_DELETE_SELF waits for the last close. */
  readonly unlinked = new Set<string>();

  constructor(readonly kernel: Kernel) {}

  /** A watch starts (+1) or stops (-1) asking for the events of `mask`. */
  count(mask: number, by: 1 | -1): void {
    for (let b = 0; b < 12; b++) {
      if ((mask & (1 << b)) === 0) continue;
      const c = (this.#counts[b] ?? 0) + by;
      this.#counts[b] = c;
      if (c === 0) this.events &= ~(1 << b);
      else this.events |= 1 << b;
    }
  }
}

const notifiers = new PerKernel<Notifier>((k) => new Notifier(k));
/** Notifiers with at least one watch (what a close, which knows no kernel, may have to tell). */
const active = new Set<Notifier>();
/** The kernel a host file belongs to, learnt when a hook saw it with a task. */
const owners = new WeakMap<HostFile, Notifier>();

const notifierOf = (kernel: Kernel): Notifier => notifiers.of(kernel);

/** The notifier of a kernel in which something is watched, else null: the first test of every hook. */
function watched(kernel: Kernel): Notifier | null {
  if (active.size === 0) return null;
  const n = notifiers.peek(kernel);
  return n !== undefined && n.watches > 0 ? n : null;
}

/** Is anything watched in this kernel? */
export function watching(kernel: Kernel): boolean {
  return watched(kernel) !== null;
}

/** What a watch is keyed by: the host inode. */
export interface Inode {
  readonly key: string;
  readonly dir: boolean;
  readonly nlink: number;
  readonly regular: boolean;
}

function inodeOfStat(st: fs.Stats): Inode {
  return { key: `${st.dev}:${st.ino}`, dir: st.isDirectory(), nlink: st.nlink, regular: st.isFile() };
}

function lstatInode(hostPath: string, follow = false): Inode | null {
  try {
    return inodeOfStat(follow ? fs.statSync(hostPath) : fs.lstatSync(hostPath));
  } catch {
    return null;
  }
}

/**
 * The inode at a host name, without following a final symlink, when
 * something is watched in the kernel (null otherwise): what a handler takes
 * before an unlink or rename, to report it afterwards.
 */
export function inodeAt(kernel: Kernel, hostPath: string): Inode | null {
  return watched(kernel) ? lstatInode(hostPath) : null;
}

/** Open host files' inodes (a descriptor's inode never changes). */
const fileInodes = new WeakMap<HostFile, Inode>();

function fileInode(file: HostFile): Inode | null {
  let ino = fileInodes.get(file) ?? null;
  if (ino === null) {
    try {
      ino = inodeOfStat(fs.fstatSync(file.fd));
    } catch {
      return null;
    }
    fileInodes.set(file, ino);
  }
  return ino;
}

/** Queues an event on the watches of `key`; self-only events never name anything. */
function deliver(n: Notifier, key: string, mask: number, name: string | null, cookie: number, unlinked = false): void {
  const list = n.inodes.get(key);
  if (!list) return;
  for (const w of [...list]) {
    if ((w.mask & mask & IN_ALL_EVENTS) === 0) continue;
    // IN_EXCL_UNLINK: nothing about a file through a name it no longer has.
    if (unlinked && (w.mask & IN.EXCL_UNLINK) !== 0) continue;
    // inotify never reported IN_ISDIR with the *_SELF events.
    const m = (mask & (IN.DELETE_SELF | IN.MOVE_SELF)) !== 0 ? mask & ~IN.ISDIR : mask;
    w.owner.queueEvent({ wd: w.wd, mask: m >>> 0, cookie, name: name === null ? null : Buffer.from(name, 'utf8') });
    if ((w.mask & IN.ONESHOT) !== 0) removeWatch(n, w, true);
  }
}

/**
 * An event on an inode reached by a name: to the watches of the directory
 * holding the name (with the name) when it is an event about the entries,
 * then to the inode's own watches.
 */
function deliverAt(n: Notifier, ino: Inode, parentHost: string | null, name: string, mask: number, unlinked = false): void {
  const m = ino.dir ? mask | IN.ISDIR : mask;
  if (parentHost !== null && (mask & CHILD_EVENTS) !== 0) {
    const parent = lstatInode(parentHost);
    if (parent) deliver(n, parent.key, m, name, 0, unlinked);
  }
  deliver(n, ino.key, m, null, 0, unlinked);
}

/** Drops a watch; with `tell`, its instance gets IN_IGNORED. */
function removeWatch(n: Notifier, w: Watch, tell: boolean): void {
  const list = n.inodes.get(w.key);
  const i = list ? list.indexOf(w) : -1;
  if (i < 0) return;
  list!.splice(i, 1);
  if (list!.length === 0) n.inodes.delete(w.key);
  w.owner.watches.delete(w.wd);
  w.owner.byInode.delete(w.key);
  n.watches--;
  n.count(w.mask, -1);
  if (n.watches === 0) {
    active.delete(n);
    n.open.clear();
    n.unlinked.clear();
    if (active.size === 0) setFileEvents(null);
  }
  if (tell) w.owner.queueEvent({ wd: w.wd, mask: IN.IGNORED, cookie: 0, name: null });
}

/**
 * The inode's last name was removed: IN_DELETE_SELF, and every watch on it
 * goes with IN_IGNORED; while a host file still holds it, at its last close.
 */
function nameless(n: Notifier, key: string): void {
  if ((n.open.get(key)?.size ?? 0) > 0) n.unlinked.add(key);
  else inodeGone(n, key);
}

function inodeGone(n: Notifier, key: string): void {
  deliver(n, key, IN.DELETE_SELF, null, 0);
  for (const w of [...(n.inodes.get(key) ?? [])]) removeWatch(n, w, true);
}

/** The hook file.ts calls for host files' reads, writes and last closes while something is watched. */
function fileEvent(task: Task | null, file: HostFile, mask: number): void {
  let n: Notifier | null;
  if (task !== null) {
    n = watched(task.kernel);
    if (n === null) return;
    track(n, file);
    notifyOpenFile(n, file, mask);
    return;
  }
  n = owners.get(file) ?? null;
  if (n !== null) {
    if (n.watches > 0) closed(n, file, mask);
    return;
  }
  // Opened before anything was watched, and not touched since: every kernel watching its inode hears of it.
  for (const a of [...active]) notifyOpenFile(a, file, mask);
}

/** A host file the kernel `n` watches things in: its kernel, and its inode's open files. */
function track(n: Notifier, file: HostFile): void {
  owners.set(file, n);
  const ino = fileInode(file);
  if (ino === null) return;
  let set = n.open.get(ino.key);
  if (!set) n.open.set(ino.key, (set = new Set()));
  set.add(file);
}

/** A host file's last close: IN_CLOSE_*, and the end of an inode with no name that it held last. */
function closed(n: Notifier, file: HostFile, mask: number): void {
  notifyOpenFile(n, file, mask);
  const ino = fileInode(file);
  const set = ino ? n.open.get(ino.key) : undefined;
  if (!ino || !set) return;
  set.delete(file);
  if (set.size > 0) return;
  n.open.delete(ino.key);
  if (n.unlinked.delete(ino.key)) inodeGone(n, ino.key);
}

/** An event on an open host file: to its directory's watches (while its name still leads to it) and its own. */
function notifyOpenFile(n: Notifier, file: HostFile, mask: number): void {
  if ((n.events & mask) === 0) return;
  const ino = fileInode(file);
  if (ino === null) return;
  // A file with no name left still reports to the directory it was removed from; one renamed since it was opened does not (its name is not known).
  const unlinked = n.unlinked.has(ino.key);
  let parent: string | null = null;
  if ((mask & CHILD_EVENTS) !== 0 && (unlinked || lstatInode(file.hostPath)?.key === ino.key)) parent = path.dirname(file.hostPath);
  deliverAt(n, ino, parent, path.basename(file.hostPath), mask, unlinked);
}

/** An event on an open file (fchmod, ftruncate, getdents...): host files only. */
export function notifyFile(task: Task, file: OpenFile, mask: number): void {
  const n = watched(task.kernel);
  if (n === null || !(file instanceof HostFile)) return;
  track(n, file);
  notifyOpenFile(n, file, mask);
}

/**
 * A host file was just opened: IN_CREATE in its directory if the open made
 * it, IN_OPEN, and IN_MODIFY if O_TRUNC emptied an existing regular file.
 */
export function notifyOpen(task: Task, file: OpenFile, created: boolean): void {
  const n = watched(task.kernel);
  if (n === null || !(file instanceof HostFile)) return;
  track(n, file);
  if (created) notifyCreate(task.kernel, file.hostPath);
  notifyOpenFile(n, file, IN.OPEN);
  if (!created && (file.flags & O_TRUNC) !== 0 && fileInode(file)?.regular) notifyOpenFile(n, file, IN.MODIFY);
}

/**
 * An event on the file a host name leads to (chmod, chown, utimes, truncate
 * by name): `follow` for a name whose final symlink was followed.
 */
export function notifyPath(kernel: Kernel, hostPath: string, mask: number, follow = true): void {
  const n = watched(kernel);
  if (n === null || (n.events & mask) === 0) return;
  let name = hostPath;
  if (follow) {
    try {
      name = fs.realpathSync(hostPath);
    } catch {
      return;
    }
  }
  const ino = lstatInode(name);
  if (ino) deliverAt(n, ino, path.dirname(name), path.basename(name), mask);
}

/** A name was made (open with O_CREAT, mkdir, mknod, symlink): IN_CREATE in its directory. */
export function notifyCreate(kernel: Kernel, hostPath: string): void {
  const n = watched(kernel);
  if (n === null) return;
  const ino = lstatInode(hostPath);
  const dir = lstatInode(path.dirname(hostPath));
  if (ino && dir) deliver(n, dir.key, ino.dir ? IN.CREATE | IN.ISDIR : IN.CREATE, path.basename(hostPath), 0);
}

/** link: the inode's link count changed (IN_ATTRIB), then the new name (IN_CREATE). */
export function notifyLink(kernel: Kernel, newHostPath: string): void {
  const n = watched(kernel);
  if (n === null) return;
  const ino = lstatInode(newHostPath);
  if (ino) deliver(n, ino.key, ino.dir ? IN.ATTRIB | IN.ISDIR : IN.ATTRIB, null, 0);
  notifyCreate(kernel, newHostPath);
}

/**
 * unlink or rmdir of `hostPath`, whose inode was `gone` before: a file's link
 * count changed (IN_ATTRIB); its last name gone, IN_DELETE_SELF and
 * IN_IGNORED (even while the guest holds it open, where Linux waits for the
 * last close); then IN_DELETE in the directory.
 */
export function notifyRemove(kernel: Kernel, hostPath: string, gone: Inode | null): void {
  const n = watched(kernel);
  if (n === null || gone === null) return;
  if (!gone.dir) deliver(n, gone.key, IN.ATTRIB, null, 0);
  if (gone.dir || gone.nlink <= 1) nameless(n, gone.key);
  const dir = lstatInode(path.dirname(hostPath));
  if (dir) deliver(n, dir.key, gone.dir ? IN.DELETE | IN.ISDIR : IN.DELETE, path.basename(hostPath), 0);
}

/**
 * rename of `moved` from one host name to another, over `replaced` if the
 * new name existed: IN_MOVED_FROM and IN_MOVED_TO with one cookie, the
 * replaced inode's link count (IN_ATTRIB), IN_MOVE_SELF, then the replaced
 * inode's end if that was its last name. With `exchange` (RENAME_EXCHANGE)
 * the other inode moves back the same way.
 */
export function notifyRename(kernel: Kernel, fromHost: string, toHost: string, moved: Inode | null, replaced: Inode | null, exchange = false): void {
  const n = watched(kernel);
  // Two names of one inode: rename does nothing.
  if (n === null || moved === null || replaced?.key === moved.key) return;
  const fromDir = lstatInode(path.dirname(fromHost));
  const toDir = lstatInode(path.dirname(toHost));
  const move = (ino: Inode, from: string, to: string, target: Inode | null): void => {
    const cookie = (n.cookie = (n.cookie + 1) >>> 0 || 1);
    const isdir = ino.dir ? IN.ISDIR : 0;
    const [fd, td] = from === fromHost ? [fromDir, toDir] : [toDir, fromDir];
    if (fd) deliver(n, fd.key, IN.MOVED_FROM | isdir, path.basename(from), cookie);
    if (td) deliver(n, td.key, IN.MOVED_TO | isdir, path.basename(to), cookie);
    if (target) deliver(n, target.key, target.dir ? IN.ATTRIB | IN.ISDIR : IN.ATTRIB, null, 0);
    deliver(n, ino.key, IN.MOVE_SELF, null, 0);
  };
  if (exchange && replaced) {
    move(moved, fromHost, toHost, null);
    move(replaced, toHost, fromHost, null);
    return;
  }
  const target = replaced;
  move(moved, fromHost, toHost, target);
  if (target && (target.dir || target.nlink <= 1)) nameless(n, target.key);
}

/**
 * An inotify instance: its watches by descriptor, and the queue of events
 * read() hands out as struct inotify_event records.
 */
export class InotifyFile extends OpenFile {
  override get seeksNowhere(): boolean {
    return true;
  }
  readonly queue = new WaitQueue();
  readonly watches = new Map<number, Watch>();
  readonly byInode = new Map<string, Watch>();
  readonly #events: InotifyEvent[] = [];
  #overflowQueued = false;
  /** Where the search for the next watch descriptor starts (they are handed out cyclically). */
  #nextWd = 1;
  readonly #notifier: Notifier;
  #closed = false;

  /** inotify_init1: EMFILE past max_user_instances. */
  static create(task: Task, flags: number): InotifyFile {
    const n = notifierOf(task.kernel);
    if (n.instances >= INOTIFY_LIMITS.maxUserInstances) throw errno(E.EMFILE);
    return new InotifyFile(n, flags);
  }

  private constructor(notifier: Notifier, flags: number) {
    super(O_RDONLY | (flags & O_NONBLOCK), 'anon_inode:inotify');
    this.#notifier = notifier;
    notifier.instances++;
  }

  stat(): KStat {
    return anonStat();
  }

  /**
   * inotify_add_watch once the name is looked up: the inode's watch in this
   * instance, made (ENOSPC past max_user_watches) or changed: replaced, or
   * with IN_MASK_ADD merged; EEXIST for IN_MASK_CREATE when there is one.
   */
  addWatch(key: string, mask: number): number {
    const n = this.#notifier;
    const events = mask & WATCH_KEEP;
    const w = this.byInode.get(key);
    if (w !== undefined) {
      if ((mask & IN.MASK_CREATE) !== 0) throw errno(E.EEXIST);
      n.count(w.mask, -1);
      w.mask = ((mask & IN.MASK_ADD) !== 0 ? w.mask | events : events) >>> 0;
      n.count(w.mask, 1);
      return w.wd;
    }
    if (n.watches >= INOTIFY_LIMITS.maxUserWatches) throw errno(E.ENOSPC);
    let wd = this.#nextWd;
    while (this.watches.has(wd)) wd = wd >= INT_MAX ? 1 : wd + 1;
    this.#nextWd = wd >= INT_MAX ? 1 : wd + 1;
    const made: Watch = { wd, mask: events >>> 0, key, owner: this };
    this.watches.set(wd, made);
    this.byInode.set(key, made);
    const list = n.inodes.get(key);
    if (list) list.push(made);
    else n.inodes.set(key, [made]);
    if (n.watches++ === 0) {
      if (active.size === 0) setFileEvents(fileEvent);
      active.add(n);
    }
    n.count(made.mask, 1);
    return wd;
  }

  /** inotify_rm_watch: EINVAL for a descriptor this instance does not have; IN_IGNORED follows. */
  rmWatch(wd: number): void {
    const w = this.watches.get(wd);
    if (!w) throw errno(E.EINVAL);
    removeWatch(this.#notifier, w, true);
  }

  /** INOTIFY_IOC_SETNEXTWD: where the next watch descriptor is looked for. */
  setNextWd(wd: number): void {
    this.#nextWd = wd;
  }

  /**
   * Queues an event: an identical one that is the last still unread is not
   * repeated; past max_queued_events one IN_Q_OVERFLOW (wd -1) stands for
   * all that are lost until the queue is read.
   */
  queueEvent(e: InotifyEvent): void {
    if (this.#closed) return;
    const q = this.#events;
    if (q.length >= INOTIFY_LIMITS.maxQueuedEvents) {
      if (this.#overflowQueued) return;
      this.#overflowQueued = true;
      q.push({ wd: -1, mask: IN.Q_OVERFLOW, cookie: 0, name: null });
    } else {
      const last = q[q.length - 1];
      if (last && (last.mask & IN.IGNORED) === 0 && last.mask === e.mask && last.wd === e.wd && sameName(last.name, e.name)) return;
      q.push(e);
    }
    this.queue.wake();
  }

  /** Bytes read() would give for the whole queue (FIONREAD). */
  get pending(): number {
    return this.#events.reduce((s, e) => s + eventSize(e), 0);
  }

  override poll(): number {
    return this.#events.length > 0 ? POLL.IN | POLL.RDNORM : 0;
  }

  override get waitQueue(): WaitQueue {
    return this.queue;
  }

  /** As many whole events as fit; EINVAL when not even the first does; an empty queue waits (EAGAIN with O_NONBLOCK). */
  override read(task: Task, buf: Uint8Array): IoResult {
    const q = this.#events;
    if (q.length === 0) {
      if ((this.flags & O_NONBLOCK) !== 0) return errno(E.EAGAIN);
      task.kernel.block(task, 'inotify read', false);
      this.queue.add(task);
      return BLOCK;
    }
    const dv = new DataView(buf.buffer, buf.byteOffset, buf.length);
    let off = 0;
    while (q.length > 0) {
      const e = q[0]!;
      const size = eventSize(e);
      if (off + size > buf.length) {
        if (off === 0) return errno(E.EINVAL);
        break;
      }
      q.shift();
      if (e.mask === IN.Q_OVERFLOW && e.wd === -1) this.#overflowQueued = false;
      const len = nameLen(e);
      dv.setInt32(off, e.wd, true);
      dv.setUint32(off + 4, e.mask >>> 0, true);
      dv.setUint32(off + 8, e.cookie >>> 0, true);
      dv.setUint32(off + 12, len, true);
      buf.fill(0, off + EVENT_HEADER, off + size);
      if (e.name) buf.set(e.name, off + EVENT_HEADER);
      off += size;
    }
    return off;
  }

  override write(): IoResult {
    return errno(E.EINVAL);
  }

  override ioctl(task: Task, request: number, argp: number): number | Errno {
    if (request === FIONREAD) {
      task.kernel.mem.setI32(argp, this.pending);
      return 0;
    }
    if (request === INOTIFY_IOC_SETNEXTWD) {
      // The argument is the number itself; CAP_SYS_ADMIN is not asked for (Linux's checkpoint/restore build does not either).
      if (argp < 1 || argp > INT_MAX) return errno(E.EINVAL);
      this.setNextWd(argp);
      return 0;
    }
    return errno(E.ENOTTY);
  }

  /** The last descriptor closed: every watch goes (no IN_IGNORED: nobody can read it). */
  override release(): void {
    this.#closed = true;
    const n = this.#notifier;
    for (const w of [...this.watches.values()]) removeWatch(n, w, false);
    this.#events.length = 0;
    n.instances--;
  }
}

function sameName(a: Buffer | null, b: Buffer | null): boolean {
  if (a === null || b === null) return a === b;
  return a.equals(b);
}

/** A watch's key for a name with no host inode (/proc, /dev): events never come, but it exists, once per name. */
export function syntheticKey(guestPath: string): string {
  return `synthetic:${guestPath}`;
}

/** The inode key of a host name (following a final symlink or not); throws the host's errno. */
export function hostKey(hostPath: string, follow: boolean): Inode {
  return inodeOfStat(follow ? fs.statSync(hostPath) : fs.lstatSync(hostPath));
}
