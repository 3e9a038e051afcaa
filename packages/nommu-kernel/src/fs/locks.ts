import * as fs from 'node:fs';
import type { OpenFile } from './file.js';
import { WaitQueue } from './wait.js';

/**
 * Advisory locks between guest processes, kept in the kernel (the host never
 * sees them): flock(2) locks, owned by an open file description; POSIX record
 * locks (fcntl F_SETLK), owned by a descriptor table and dropped when that
 * table closes any descriptor of the file; OFD record locks, owned by an open
 * file description.
 */

export const F_RDLCK = 0;
export const F_WRLCK = 1;
export const F_UNLCK = 2;

/** Who holds a lock: an open file description (flock, OFD) or a descriptor table (POSIX). */
export type LockOwner = object;

export interface RecordLock {
  owner: LockOwner;
  /** The process to report in F_GETLK's l_pid (-1 for OFD locks). */
  pid: number;
  type: number;
  start: number;
  /** Last byte, inclusive; Infinity to the end of any file. */
  end: number;
}

interface FlockEntry {
  owner: OpenFile;
  exclusive: boolean;
}

interface Inode {
  flocks: FlockEntry[];
  records: RecordLock[];
}

const inodes = new Map<string, Inode>();
/** Woken at every unlock: blocked lockers try again. */
export const lockQueue = new WaitQueue();

/** The identity of the file behind `file`: host device and inode, or the open file itself for kernel objects. */
const anonKeys = new WeakMap<OpenFile, string>();
let nextAnon = 1;
export function inodeKey(file: OpenFile, hostFd: number | null): string {
  if (hostFd !== null) {
    const st = fs.fstatSync(hostFd, { bigint: true });
    return `${st.dev}:${st.ino}`;
  }
  let k = anonKeys.get(file);
  if (!k) {
    k = `anon:${nextAnon++}`;
    anonKeys.set(file, k);
  }
  return k;
}

function inode(key: string): Inode {
  let i = inodes.get(key);
  if (!i) {
    i = { flocks: [], records: [] };
    inodes.set(key, i);
  }
  return i;
}

function tidy(key: string): void {
  const i = inodes.get(key);
  if (i && i.flocks.length === 0 && i.records.length === 0) inodes.delete(key);
}

/** flock: false when another description's lock is in the way. Converting drops the old lock first, as Linux does. */
export function flock(key: string, owner: OpenFile, op: 'sh' | 'ex' | 'un'): boolean {
  const i = inode(key);
  const mine = i.flocks.findIndex((f) => f.owner === owner);
  if (op === 'un') {
    if (mine >= 0) {
      i.flocks.splice(mine, 1);
      lockQueue.wake();
    }
    tidy(key);
    return true;
  }
  const exclusive = op === 'ex';
  if (mine >= 0 && i.flocks[mine]!.exclusive === exclusive) return true;
  const blocked = i.flocks.some((f) => f.owner !== owner && (exclusive || f.exclusive));
  if (blocked) {
    tidy(key);
    return false;
  }
  if (mine >= 0) i.flocks[mine]!.exclusive = exclusive;
  else i.flocks.push({ owner, exclusive });
  return true;
}

/** The first lock of another owner that `want` conflicts with, or null. */
export function conflict(key: string, want: RecordLock): RecordLock | null {
  const i = inodes.get(key);
  if (!i) return null;
  return (
    i.records.find(
      (l) => l.owner !== want.owner && l.start <= want.end && want.start <= l.end && (l.type === F_WRLCK || want.type === F_WRLCK),
    ) ?? null
  );
}

/**
 * Sets (or with F_UNLCK clears) `lock` for its owner: the owner's ranges under
 * it are cut away first, so a lock can be split, shrunk or converted. The caller
 * has checked for conflicts.
 */
export function setRecord(key: string, lock: RecordLock): void {
  const i = inode(key);
  const kept: RecordLock[] = [];
  let released = false;
  for (const l of i.records) {
    if (l.owner !== lock.owner || l.end < lock.start || lock.end < l.start) {
      kept.push(l);
      continue;
    }
    released ||= l.type === F_WRLCK || lock.type !== l.type;
    if (l.start < lock.start) kept.push({ ...l, end: lock.start - 1 });
    if (l.end > lock.end) kept.push({ ...l, start: lock.end + 1 });
  }
  if (lock.type !== F_UNLCK) kept.push(lock);
  i.records = kept.sort((a, b) => a.start - b.start);
  if (released || lock.type === F_UNLCK) lockQueue.wake();
  tidy(key);
}

/** A description's last close: its flock and OFD locks go. */
export function releaseDescription(file: OpenFile): void {
  let changed = false;
  for (const [key, i] of inodes) {
    const f = i.flocks.length;
    const r = i.records.length;
    i.flocks = i.flocks.filter((l) => l.owner !== file);
    i.records = i.records.filter((l) => l.owner !== file);
    changed ||= f !== i.flocks.length || r !== i.records.length;
    tidy(key);
  }
  if (changed) lockQueue.wake();
}

/** POSIX semantics: closing any descriptor of a file drops every record lock its table holds on the file. */
export function releasePosix(key: string, owner: LockOwner): void {
  const i = inodes.get(key);
  if (!i) return;
  const n = i.records.length;
  i.records = i.records.filter((l) => l.owner !== owner);
  if (i.records.length !== n) lockQueue.wake();
  tidy(key);
}

/** Does anyone hold a lock on this file? (spares a close the key lookup when nothing is locked) */
export function anyLocks(): boolean {
  return inodes.size > 0;
}
