/**
 * System V IPC (svipc(7)): shared memory segments, semaphore sets and message
 * queues, with Linux's keys, ids, permissions, limits and x86-64 structures
 * (ipc64_perm, shmid64_ds, semid64_ds, msqid64_ds).
 *
 * A shared memory segment is one piece of guest RAM, as on nommu Linux:
 * every process that attaches it maps it at the same address. Its pages are
 * counted like MAP_SHARED pages across fork (PhysicalMemory.share): the
 * segment holds them while it exists, and each attaching process (fork
 * copies the attachment) holds them once more, so munmap, exec and exit give
 * them back as they do any shared mapping, and the RAM goes with the last
 * holder after IPC_RMID. Attachments are found by scanning the processes'
 * mappings (named /SYSV<key> (deleted), inode = the id, as Linux shows them),
 * so shm_nattch needs no bookkeeping on those paths.
 *
 * Blocking semop/msgsnd/msgrcv park on the object's wait queues and run again
 * when it changes; a removed object answers its waiters EIDRM. SEM_UNDO
 * adjustments are kept per process and applied when it exits (a kernel
 * onProcessExit hook, installed on the first IPC call).
 *
 * The state is per kernel (an IPC namespace), in a WeakMap: nothing is added
 * to class Kernel.
 */
import {
  BLOCK,
  E,
  errno,
  pageUp,
  PAGE_SIZE,
  mman,
  PerKernel,
  WaitQueue,
  type Kernel,
  type MemoryMap,
  type Process,
  type SyscallArgs,
  type SyscallResult,
  type Task,
  type Vma,
  type WaitState,
} from '@nommu/kernel';
import { partial, supported, type Family } from './define.js';
import { prefaultRange } from './memory.js';
import { readTimespec } from './timespec.js';

// ---- constants (include/uapi/linux/ipc.h, shm.h, sem.h, msg.h) ----

const IPC_PRIVATE = 0;
const IPC_CREAT = 0o1000;
const IPC_EXCL = 0o2000;
const IPC_NOWAIT = 0o4000;

const IPC_RMID = 0;
const IPC_SET = 1;
const IPC_STAT = 2;
const IPC_INFO = 3;

const SHM_LOCK = 11;
const SHM_UNLOCK = 12;
const SHM_STAT = 13;
const SHM_INFO = 14;
const SHM_STAT_ANY = 15;

const SEM_GETPID = 11;
const SEM_GETVAL = 12;
const SEM_GETALL = 13;
const SEM_GETNCNT = 14;
const SEM_GETZCNT = 15;
const SEM_SETVAL = 16;
const SEM_SETALL = 17;
const SEM_STAT = 18;
const SEM_INFO = 19;
const SEM_STAT_ANY = 20;

const MSG_STAT = 11;
const MSG_INFO = 12;
const MSG_STAT_ANY = 13;

/** shmget flags. */
const SHM_HUGETLB = 0o4000;
/** shmat flags. */
const SHM_RDONLY = 0o10000;
const SHM_RND = 0o20000;
const SHM_REMAP = 0o40000;
const SHM_EXEC = 0o100000;
/** Mode bits of a segment. */
const SHM_DEST = 0o1000;
const SHM_LOCKED = 0o2000;

const SEM_UNDO = 0x1000;

const MSG_NOERROR = 0o10000;
const MSG_EXCEPT = 0o20000;
const MSG_COPY = 0o40000;

const S_IRUGO = 0o444;
const S_IWUGO = 0o222;
const S_IXUGO = 0o111;
const S_IRWXUGO = 0o777;

const { PROT_READ, PROT_WRITE, PROT_EXEC } = mman;

// Linux's default limits (ipc_namespace defaults).
const SHMMAX = 0xffff_ffff_feff_ffffn; // ULONG_MAX - 2^24
const SHMALL = SHMMAX;
const SHMMIN = 1;
const SHMMNI = 4096;
const SHMSEG = SHMMNI;
const SEMMSL = 32000;
const SEMMNI = 32000;
const SEMMNS = SEMMNI * SEMMSL;
const SEMOPM = 500;
const SEMVMX = 32767;
const SEMAEM = SEMVMX;
const SEMMNU = SEMMNS;
const SEMMAP = SEMMNS;
const SEMUME = SEMOPM;
const SEMUSZ = 20;
const MSGMAX = 8192;
const MSGMNB = 16384;
const MSGMNI = 32000;
const MSGSSZ = 16;
const MSGPOOL = (MSGMNI * MSGMNB) / 1024;
const MSGMAP = MSGMNB;
const MSGTQL = MSGMNB;
const MSGSEG = 0xffff;

/** ids are index + seq << 15 (IPCMNI_SHIFT); seq wraps at INT_MAX >> 15. */
const IPCMNI = 32768;
const SEQ_MAX = 0x7fffffff >> 15;

const SIZEOF_SEMBUF = 6;

// ---- objects ----

interface Perm {
  key: number;
  uid: number;
  gid: number;
  cuid: number;
  cgid: number;
  mode: number;
  seq: number;
}

abstract class IpcObject {
  id = 0;
  idx = 0;
  removed = false;
  ctime = 0;
  constructor(readonly perm: Perm) {}
}

class Segment extends IpcObject {
  atime = 0;
  dtime = 0;
  lpid = 0;
  /** The segment's own hold on its RAM, dropped at IPC_RMID (attachers keep theirs). */
  holding = true;
  /** What /proc/<pid>/maps names an attachment, as Linux: the key at creation. */
  readonly name: string;
  constructor(
    perm: Perm,
    readonly size: number,
    readonly start: number,
    readonly end: number,
    readonly cpid: number,
  ) {
    super(perm);
    this.name = segName(perm.key);
  }
}

interface SemWaiter {
  num: number;
  zero: boolean;
}

class SemSet extends IpcObject {
  otime = 0;
  readonly vals: number[];
  readonly pids: number[];
  /** SEM_UNDO adjustments (semadj) by process. */
  readonly undo = new Map<Process, number[]>();
  /** What each parked semop waits for (GETNCNT, GETZCNT). */
  readonly waiting = new Set<SemWaiter>();
  readonly queue = new WaitQueue();
  constructor(perm: Perm, readonly nsems: number) {
    super(perm);
    this.vals = new Array<number>(nsems).fill(0);
    this.pids = new Array<number>(nsems).fill(0);
  }
}

interface Message {
  type: bigint;
  data: Uint8Array;
}

class MsgQueue extends IpcObject {
  readonly msgs: Message[] = [];
  cbytes = 0;
  qbytes = MSGMNB;
  stime = 0;
  rtime = 0;
  lspid = 0;
  lrpid = 0;
  readonly senders = new WaitQueue();
  readonly receivers = new WaitQueue();
}

/** One kind's ids (Linux's ipc_ids): cyclic index allocation, a sequence number in the id. */
class Ids<T extends IpcObject> {
  readonly byIdx = new Map<number, T>();
  #seq = 0;
  #lastIdx = -1;

  constructor(readonly mni: number) {}

  add(obj: T): void {
    if (this.byIdx.size >= this.mni) throw errno(E.ENOSPC);
    let idx = -1;
    for (let i = 1; i <= this.mni; i++) {
      const c = (this.#lastIdx + i) % this.mni;
      if (!this.byIdx.has(c)) {
        idx = c;
        break;
      }
    }
    if (idx <= this.#lastIdx) this.#seq = (this.#seq + 1) % SEQ_MAX;
    this.#lastIdx = idx;
    obj.idx = idx;
    obj.perm.seq = this.#seq;
    obj.id = this.#seq * IPCMNI + idx;
    this.byIdx.set(idx, obj);
  }

  /** The object with this id, or undefined (a stale id of a reused index included). */
  find(id: number): T | undefined {
    if (id < 0) return undefined;
    const o = this.byIdx.get(id % IPCMNI);
    return o && o.id === id ? o : undefined;
  }

  byKey(key: number): T | undefined {
    for (const o of this.byIdx.values()) if (o.perm.key === key) return o;
    return undefined;
  }

  remove(obj: T): void {
    obj.removed = true;
    if (this.byIdx.get(obj.idx) === obj) this.byIdx.delete(obj.idx);
  }

  /** ipc_get_maxidx, as IPC_INFO answers it (0 when empty). */
  maxIdx(): number {
    let m = 0;
    for (const i of this.byIdx.keys()) m = Math.max(m, i);
    return m;
  }
}

interface State {
  readonly shm: Ids<Segment>;
  readonly sem: Ids<SemSet>;
  readonly msg: Ids<MsgQueue>;
}

const states = new PerKernel<State>((k) => {
  const st: State = { shm: new Ids(SHMMNI), sem: new Ids(SEMMNI), msg: new Ids(MSGMNI) };
  k.addHooks({ onProcessExit: (p) => processExit(k, st, p) });
  return st;
});
const stateOf = (k: Kernel): State => states.of(k);

function now(k: Kernel): number {
  return Number(k.clock.realtime() / 1_000_000_000n);
}

// ---- permissions (Linux's ipcperms) ----

/** May the caller access `perm` as `flag` asks (its rwx bits, for owner, group or other)? Root may always. */
function permitted(k: Kernel, perm: Perm, flag: number): boolean {
  const id = k.identity;
  if (id.euid === 0) return true;
  const requested = ((flag >> 6) | (flag >> 3) | flag) & 7;
  let granted = perm.mode;
  if (id.euid === perm.cuid || id.euid === perm.uid) granted >>= 6;
  else if (id.egid === perm.cgid || id.egid === perm.gid) granted >>= 3;
  return (requested & ~granted & 7) === 0;
}

function checkAccess(k: Kernel, perm: Perm, flag: number): void {
  if (!permitted(k, perm, flag)) throw errno(E.EACCES);
}

/** IPC_SET and IPC_RMID: the owner, the creator or root (EPERM). */
function checkOwner(k: Kernel, perm: Perm): void {
  const euid = k.identity.euid;
  if (euid !== 0 && euid !== perm.uid && euid !== perm.cuid) throw errno(E.EPERM);
}

function newPerm(k: Kernel, key: number, flag: number): Perm {
  const { euid, egid } = k.identity;
  return { key, uid: euid, gid: egid, cuid: euid, cgid: egid, mode: flag & S_IRWXUGO, seq: 0 };
}

/** struct ipc64_perm (48 bytes). */
function writePerm(k: Kernel, addr: number, p: Perm): void {
  const m = k.mem;
  m.fill(addr, 48);
  m.setI32(addr, p.key);
  m.setU32(addr + 4, p.uid);
  m.setU32(addr + 8, p.gid);
  m.setU32(addr + 12, p.cuid);
  m.setU32(addr + 16, p.cgid);
  m.setU32(addr + 20, p.mode);
  m.setU16(addr + 24, p.seq & 0xffff);
}

/** IPC_SET's part of ipc64_perm: uid, gid and the rwx bits of the mode (EINVAL for an invalid id). */
interface PermUpdate {
  uid: number;
  gid: number;
  mode: number;
}

function readPermUpdate(k: Kernel, addr: number): PermUpdate {
  const m = k.mem;
  return { uid: m.u32(addr + 4), gid: m.u32(addr + 8), mode: m.u32(addr + 20) };
}

function applyPermUpdate(k: Kernel, obj: IpcObject, u: PermUpdate): void {
  if (u.uid === 0xffffffff || u.gid === 0xffffffff) throw errno(E.EINVAL);
  obj.perm.uid = u.uid;
  obj.perm.gid = u.gid;
  obj.perm.mode = (obj.perm.mode & ~S_IRWXUGO) | (u.mode & S_IRWXUGO);
  obj.ctime = now(k);
}

/**
 * The stat commands every *ctl has: *_STAT and *_STAT_ANY name an object by
 * index and answer its id, IPC_STAT by id and answers 0; `write` lays out the
 * object's struct. Null when `cmd` is none of them.
 */
function statCommand<T extends IpcObject>(k: Kernel, ids: Ids<T>, cmd: number, id: number, buf: number, byIndex: readonly [number, number], write: (k: Kernel, addr: number, obj: T) => void): number | null {
  const [stat, statAny] = byIndex;
  if (cmd !== stat && cmd !== statAny && cmd !== IPC_STAT) return null;
  const obj = cmd === IPC_STAT ? ids.find(id) : ids.byIdx.get(id);
  if (!obj) throw errno(E.EINVAL);
  if (cmd !== statAny) checkAccess(k, obj.perm, S_IRUGO);
  write(k, buf, obj);
  return cmd === IPC_STAT ? 0 : obj.id;
}

/** The object IPC_SET, IPC_RMID and the like act on: EINVAL when there is none, EPERM unless the caller owns it. */
function owned<T extends IpcObject>(k: Kernel, ids: Ids<T>, id: number): T {
  const obj = ids.find(id);
  if (!obj) throw errno(E.EINVAL);
  checkOwner(k, obj.perm);
  return obj;
}

/**
 * Linux's ipcget: IPC_PRIVATE always makes a new object; a key finds its
 * object (EEXIST with IPC_CREAT|IPC_EXCL, then the kind's own checks, then
 * the permissions the flag's mode bits ask for) or, with IPC_CREAT, makes one.
 */
function ipcget<T extends IpcObject>(k: Kernel, ids: Ids<T>, key: number, flag: number, make: () => T, more: (o: T) => void): number {
  if (key !== IPC_PRIVATE) {
    const o = ids.byKey(key);
    if (o) {
      if ((flag & IPC_CREAT) !== 0 && (flag & IPC_EXCL) !== 0) throw errno(E.EEXIST);
      more(o);
      checkAccess(k, o.perm, flag);
      return o.id;
    }
    if ((flag & IPC_CREAT) === 0) throw errno(E.ENOENT);
  }
  if (ids.byIdx.size >= ids.mni) throw errno(E.ENOSPC);
  const o = make();
  o.ctime = now(k);
  ids.add(o);
  return o.id;
}

/** A parked IPC call: the object it waits on (removed: EIDRM) and its deadline, kept across its re-runs. */
class IpcWait implements WaitState {
  sem: SemWaiter | null = null;
  constructor(
    readonly obj: IpcObject,
    readonly deadline: bigint | null,
  ) {}

  cancel(): void {
    this.drop();
  }

  drop(): void {
    if (this.sem && this.obj instanceof SemSet) this.obj.waiting.delete(this.sem);
    this.sem = null;
  }
}

/**
 * The wait a re-run call left (null at the first run), with what it waited
 * for dropped (the call looks again); a removed object ends it with EIDRM.
 */
function priorWait(task: Task): IpcWait | null {
  const w = task.waitState;
  if (!(w instanceof IpcWait)) return null;
  w.drop();
  if (w.obj.removed) throw errno(E.EIDRM);
  return w;
}

function startWait(task: Task, prior: IpcWait | null, obj: IpcObject, timeoutNs: bigint | null): IpcWait {
  if (prior && prior.obj === obj) return prior;
  const w = new IpcWait(obj, timeoutNs === null ? null : process.hrtime.bigint() + timeoutNs);
  task.waitState = w;
  return w;
}

function expired(w: IpcWait): boolean {
  return w.deadline !== null && process.hrtime.bigint() >= w.deadline;
}

// ---- shared memory ----

function segName(key: number): string {
  return `/SYSV${(key >>> 0).toString(16).padStart(8, '0')} (deleted)`;
}

function isAttachment(v: Vma, s: Segment): boolean {
  return v.shared && v.owned && v.inode === s.id && v.name === s.name && v.start >= s.start && v.end <= s.end;
}

/** Every address space that maps `s`, with its mappings of it. */
function attachments(k: Kernel, s: Segment): Map<MemoryMap, Vma[]> {
  const out = new Map<MemoryMap, Vma[]>();
  for (const p of k.processes.values()) {
    if (out.has(p.mm)) continue;
    const vs = p.mm.vmas.filter((v) => isAttachment(v, s));
    if (vs.length > 0) out.set(p.mm, vs);
  }
  return out;
}

/** shm_nattch: one per address space, more where the same range was attached again (Vma.maps). */
function nattch(k: Kernel, s: Segment): number {
  let n = 0;
  for (const vs of attachments(k, s).values()) n += Math.max(...vs.map((v) => v.maps ?? 1));
  return n;
}

/** Segments removed while attached go once the last attachment has (exit, exec, munmap: nobody tells). */
function sweepShm(k: Kernel, st: State): void {
  for (const s of [...st.shm.byIdx.values()]) if ((s.perm.mode & SHM_DEST) !== 0 && nattch(k, s) === 0) st.shm.remove(s);
}

function shmget(task: Task, a: SyscallArgs): SyscallResult {
  const k = task.kernel;
  const st = stateOf(k);
  sweepShm(k, st);
  const key = a.int(0);
  const size = a.ptr(1);
  const flag = a.int(2);
  return ipcget(
    k,
    st.shm,
    key,
    flag,
    () => {
      if (size < SHMMIN || BigInt(size) > SHMMAX) throw errno(E.EINVAL);
      if ((flag & SHM_HUGETLB) !== 0) throw errno(E.ENOMEM);
      const len = pageUp(size);
      if (len > k.phys.size) throw errno(E.ENOMEM);
      const start = k.phys.alloc(len);
      if (start === null) throw errno(E.ENOMEM);
      // Backed by the host now, as mmap does for shared anonymous memory (see memory.ts); SHM_NORESERVE
      // changes nothing (no swap is reserved anyway).
      prefaultRange(k, start, len);
      return new Segment(newPerm(k, key, flag), size, start, start + len, task.process.pid);
    },
    (s) => {
      if (size > s.size) throw errno(E.EINVAL);
    },
  );
}

function shmat(task: Task, a: SyscallArgs): SyscallResult {
  const k = task.kernel;
  const st = stateOf(k);
  sweepShm(k, st);
  const id = a.int(0);
  let addr = a.ptr(1);
  const flag = a.int(2);
  if (id < 0) throw errno(E.EINVAL);
  if (addr !== 0) {
    if (addr % PAGE_SIZE !== 0) {
      if ((flag & SHM_RND) === 0) throw errno(E.EINVAL);
      addr -= addr % PAGE_SIZE;
      if (addr === 0 && (flag & SHM_REMAP) !== 0) throw errno(E.EINVAL);
    }
  } else if ((flag & SHM_REMAP) !== 0) {
    throw errno(E.EINVAL);
  }
  let prot = PROT_READ;
  let acc = S_IRUGO;
  if ((flag & SHM_RDONLY) === 0) {
    prot |= PROT_WRITE;
    acc |= S_IWUGO;
  }
  if ((flag & SHM_EXEC) !== 0) {
    prot |= PROT_EXEC;
    acc |= S_IXUGO;
  }
  const s = st.shm.find(id);
  if (!s) throw errno(E.EINVAL);
  checkAccess(k, s.perm, acc);
  const all = attachments(k, s);
  if (!s.holding && !covered(s, all)) throw errno(E.EIDRM); // removed, and part of its RAM is gone already
  const mm = task.process.mm;
  // An address given must be free (SHM_REMAP: or it replaces what is there); without an MMU the segment
  // is where its RAM is, so no other address can be given.
  if (addr !== 0 && (flag & SHM_REMAP) === 0 && mm.vmas.some((v) => v.start < addr + (s.end - s.start) && v.end > addr)) throw errno(E.EINVAL);
  if (addr !== 0 && addr !== s.start) throw errno(E.EINVAL);
  const mine = all.get(mm) ?? [];
  if (mine.length > 0) {
    const v = mine[0]!;
    if (mine.length !== 1 || v.start !== s.start || v.end !== s.end) throw errno(E.EINVAL);
    if (addr !== 0) {
      // SHM_REMAP onto its own attachment: a new attachment replaces it.
      if (v.prot !== prot) mm.protect(s.start, s.end, prot);
    } else {
      // Attached again in this process: the same address (nommu Linux shares the region), counted on the mapping.
      v.maps = (v.maps ?? 1) + 1;
      if ((v.prot | prot) !== v.prot) mm.protect(s.start, s.end, v.prot | prot);
    }
  } else {
    if (mm.vmas.some((v) => v.start < s.end && v.end > s.start)) throw errno(E.EINVAL);
    const len = s.end - s.start;
    k.phys.share(s.start, len);
    const vma: Vma = { start: s.start, end: s.end, prot, shared: true, name: s.name, fileOffset: 0, dev: 0, inode: s.id, owned: true };
    mm.insert(vma);
    // One protection per page for every attacher (the pages are the same): the union of theirs.
    let union = prot;
    for (const vs of all.values()) for (const v of vs) union |= v.prot;
    if (union !== prot) mm.enforce(vma, vma.start, vma.end, union);
    if ((prot & PROT_EXEC) !== 0) k.cpu.invalidateCode(s.start, len);
  }
  s.atime = now(k);
  s.lpid = task.process.pid;
  return s.start;
}

/** Do the attachments still hold every page of the segment (after IPC_RMID they alone keep it)? */
function covered(s: Segment, all: Map<MemoryMap, Vma[]>): boolean {
  const ranges = [...all.values()].flat().sort((x, y) => x.start - y.start);
  let at = s.start;
  for (const v of ranges) {
    if (v.start > at) return false;
    at = Math.max(at, v.end);
  }
  return at >= s.end;
}

function shmdt(task: Task, a: SyscallArgs): SyscallResult {
  const k = task.kernel;
  const st = stateOf(k);
  const addr = a.ptr(0);
  if (addr % PAGE_SIZE !== 0) throw errno(E.EINVAL);
  const mm = task.process.mm;
  const first = mm.vmas.find((v) => v.start === addr && v.shared && v.owned);
  const s = first && [...st.shm.byIdx.values()].find((x) => isAttachment(first, x));
  if (!first || !s) throw errno(E.EINVAL);
  const mine = mm.vmas.filter((v) => v.start >= addr && isAttachment(v, s));
  if (mine.some((v) => (v.maps ?? 1) > 1)) {
    for (const v of mine) v.maps = Math.max(1, (v.maps ?? 1) - 1);
  } else {
    for (const v of mine) mm.unmap(v.start, v.end);
  }
  s.dtime = now(k);
  s.lpid = task.process.pid;
  sweepShm(k, st);
  return 0;
}

/** struct shmid64_ds (112 bytes). */
function writeShmid(k: Kernel, addr: number, s: Segment): void {
  const m = k.mem;
  m.fill(addr, 112);
  writePerm(k, addr, s.perm);
  m.setU64(addr + 48, s.size);
  m.setI64(addr + 56, s.atime);
  m.setI64(addr + 64, s.dtime);
  m.setI64(addr + 72, s.ctime);
  m.setI32(addr + 80, s.cpid);
  m.setI32(addr + 84, s.lpid);
  m.setU64(addr + 88, nattch(k, s));
}

/** IPC_RMID: the key is free at once; the RAM goes with the last attachment. */
function removeSegment(k: Kernel, st: State, s: Segment): void {
  s.perm.mode |= SHM_DEST;
  s.perm.key = IPC_PRIVATE;
  if (s.holding) {
    s.holding = false;
    k.phys.release(s, s.start, s.end - s.start);
  }
  if (nattch(k, s) === 0) st.shm.remove(s);
}

function shmctl(task: Task, a: SyscallArgs): SyscallResult {
  const k = task.kernel;
  const st = stateOf(k);
  sweepShm(k, st);
  const id = a.int(0);
  const cmd = a.int(1);
  const buf = a.ptr(2);
  const m = k.mem;
  if (cmd < 0 || id < 0) throw errno(E.EINVAL);
  const stat = statCommand(k, st.shm, cmd, id, buf, [SHM_STAT, SHM_STAT_ANY], writeShmid);
  if (stat !== null) return stat;
  switch (cmd) {
    case IPC_INFO: {
      m.fill(buf, 72);
      m.setU64(buf, SHMMAX);
      m.setU64(buf + 8, SHMMIN);
      m.setU64(buf + 16, SHMMNI);
      m.setU64(buf + 24, SHMSEG);
      m.setU64(buf + 32, SHMALL);
      return st.shm.maxIdx();
    }
    case SHM_INFO: {
      let pages = 0;
      for (const s of st.shm.byIdx.values()) pages += (s.end - s.start) / PAGE_SIZE;
      m.fill(buf, 48);
      m.setI32(buf, st.shm.byIdx.size);
      m.setU64(buf + 8, pages);
      m.setU64(buf + 16, pages);
      return st.shm.maxIdx();
    }
    case IPC_SET: {
      const u = readPermUpdate(k, buf);
      applyPermUpdate(k, owned(k, st.shm, id), u);
      return 0;
    }
    case IPC_RMID:
      removeSegment(k, st, owned(k, st.shm, id));
      return 0;
    case SHM_LOCK:
    case SHM_UNLOCK: {
      const s = owned(k, st.shm, id);
      // Guest RAM is never swapped: the flag is all there is to it.
      if (cmd === SHM_LOCK) s.perm.mode |= SHM_LOCKED;
      else s.perm.mode &= ~SHM_LOCKED;
      return 0;
    }
    default:
      throw errno(E.EINVAL);
  }
}

// ---- semaphores ----

function semget(task: Task, a: SyscallArgs): SyscallResult {
  const k = task.kernel;
  const st = stateOf(k);
  const key = a.int(0);
  const nsems = a.int(1);
  const flag = a.int(2);
  if (nsems < 0 || nsems > SEMMSL) throw errno(E.EINVAL);
  return ipcget(
    k,
    st.sem,
    key,
    flag,
    () => {
      if (nsems === 0) throw errno(E.EINVAL);
      let used = 0;
      for (const s of st.sem.byIdx.values()) used += s.nsems;
      if (used + nsems > SEMMNS) throw errno(E.ENOSPC);
      return new SemSet(newPerm(k, key, flag), nsems);
    },
    (s) => {
      if (nsems > s.nsems) throw errno(E.EINVAL);
    },
  );
}

interface Sop {
  num: number;
  op: number;
  flg: number;
}

/** What the operations would leave, or the one that must wait. */
type Outcome = { vals: number[]; adj: number[] | null } | { blocking: Sop };

/**
 * Every operation or none (Linux's perform_atomic_semop): in order, each on
 * the values the ones before it left. An operation that cannot proceed blocks
 * the whole call (EAGAIN with its IPC_NOWAIT); a value past SEMVMX, or an
 * adjustment past SEMAEM, is ERANGE.
 */
function tryOps(set: SemSet, sops: Sop[], adj: number[] | null): Outcome {
  const vals = set.vals.slice();
  const newAdj = adj ? adj.slice() : null;
  for (const s of sops) {
    const cur = vals[s.num]!;
    if (s.op === 0) {
      if (cur !== 0) return { blocking: s };
      continue;
    }
    const r = cur + s.op;
    if (r < 0) return { blocking: s };
    if (r > SEMVMX) throw errno(E.ERANGE);
    if ((s.flg & SEM_UNDO) !== 0) {
      const u = newAdj![s.num]! - s.op;
      if (u < -SEMAEM - 1 || u > SEMAEM) throw errno(E.ERANGE);
      newAdj![s.num] = u;
    }
    vals[s.num] = r;
  }
  return { vals, adj: newAdj };
}

function semtimedop(task: Task, semid: number, sopsAddr: number, nsops: number, timeoutAddr: number): SyscallResult {
  const k = task.kernel;
  const st = stateOf(k);
  const prior = priorWait(task);
  if (nsops < 1 || semid < 0) throw errno(E.EINVAL);
  if (nsops > SEMOPM) throw errno(E.E2BIG);
  const m = k.mem;
  const raw = m.copyIn(sopsAddr, nsops * SIZEOF_SEMBUF);
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const sops: Sop[] = [];
  let max = 0;
  let undo = false;
  let alter = false;
  for (let i = 0; i < nsops; i++) {
    const s = { num: view.getUint16(i * 6, true), op: view.getInt16(i * 6 + 2, true), flg: view.getInt16(i * 6 + 4, true) };
    sops.push(s);
    max = Math.max(max, s.num);
    if ((s.flg & SEM_UNDO) !== 0) undo = true;
    if (s.op !== 0) alter = true;
  }
  const timeoutNs = timeoutAddr !== 0 ? readTimespec(task, timeoutAddr) : null;
  const set = prior && prior.obj instanceof SemSet && prior.obj.id === semid ? prior.obj : st.sem.find(semid);
  if (!set) throw errno(E.EINVAL);
  if (max >= set.nsems) throw errno(E.EFBIG);
  checkAccess(k, set.perm, alter ? S_IWUGO : S_IRUGO);
  const proc = task.process;
  const adj = undo ? (set.undo.get(proc) ?? new Array<number>(set.nsems).fill(0)) : null;
  const r = tryOps(set, sops, adj);
  if ('vals' in r) {
    const pid = proc.pid;
    for (let i = 0; i < set.nsems; i++) set.vals[i] = r.vals[i]!;
    for (const s of sops) set.pids[s.num] = pid;
    if (r.adj) set.undo.set(proc, r.adj);
    set.otime = now(k);
    if (alter) set.queue.wake();
    return 0;
  }
  if ((r.blocking.flg & IPC_NOWAIT) !== 0) throw errno(E.EAGAIN);
  const w = startWait(task, prior, set, timeoutNs);
  if (expired(w)) throw errno(E.EAGAIN);
  // What it waits for now (GETNCNT / GETZCNT count it).
  w.sem = { num: r.blocking.num, zero: r.blocking.op === 0 };
  set.waiting.add(w.sem);
  set.queue.add(task);
  k.waitDeadline(task, 'semop', w.deadline, false);
  // semop is never restarted: a signal, handled or not, ends it with EINTR.
  task.interruptCode = E.EINTR;
  return BLOCK;
}

/** Changes made outside semop (SETVAL, SETALL): the adjustments of those semaphores are void. */
function clearUndo(set: SemSet, num: number | null): void {
  for (const adj of set.undo.values()) {
    if (num === null) adj.fill(0);
    else adj[num] = 0;
  }
}

/** struct semid64_ds (104 bytes). */
function writeSemid(k: Kernel, addr: number, s: SemSet): void {
  const m = k.mem;
  m.fill(addr, 104);
  writePerm(k, addr, s.perm);
  m.setI64(addr + 48, s.otime);
  m.setI64(addr + 64, s.ctime);
  m.setU64(addr + 80, s.nsems);
}

function removeSemSet(st: State, s: SemSet): void {
  st.sem.remove(s);
  s.undo.clear();
  s.waiting.clear();
  s.queue.wake();
}

function semctl(task: Task, a: SyscallArgs): SyscallResult {
  const k = task.kernel;
  const st = stateOf(k);
  const id = a.int(0);
  const num = a.int(1);
  const cmd = a.int(2);
  const arg = a.ptr(3);
  const m = k.mem;
  if (id < 0) throw errno(E.EINVAL);
  const stat = statCommand(k, st.sem, cmd, id, arg, [SEM_STAT, SEM_STAT_ANY], writeSemid);
  if (stat !== null) return stat;
  switch (cmd) {
    case IPC_INFO:
    case SEM_INFO: {
      let used = 0;
      for (const s of st.sem.byIdx.values()) used += s.nsems;
      const info = [SEMMAP, SEMMNI, SEMMNS, SEMMNU, SEMMSL, SEMOPM, SEMUME, cmd === SEM_INFO ? st.sem.byIdx.size : SEMUSZ, SEMVMX, cmd === SEM_INFO ? used : SEMAEM];
      info.forEach((v, i) => m.setI32(arg + i * 4, v));
      return st.sem.maxIdx();
    }
    case IPC_SET: {
      const u = readPermUpdate(k, arg);
      applyPermUpdate(k, owned(k, st.sem, id), u);
      return 0;
    }
    case IPC_RMID:
      removeSemSet(st, owned(k, st.sem, id));
      return 0;
    case SEM_SETVAL: {
      const val = a.int(3);
      if (val < 0 || val > SEMVMX) throw errno(E.ERANGE);
      const s = st.sem.find(id);
      if (!s) throw errno(E.EINVAL);
      if (num < 0 || num >= s.nsems) throw errno(E.EINVAL);
      checkAccess(k, s.perm, S_IWUGO);
      clearUndo(s, num);
      s.vals[num] = val;
      s.pids[num] = task.process.pid;
      s.ctime = now(k);
      s.queue.wake();
      return 0;
    }
    case SEM_GETALL:
    case SEM_SETALL:
    case SEM_GETVAL:
    case SEM_GETPID:
    case SEM_GETNCNT:
    case SEM_GETZCNT: {
      const s = st.sem.find(id);
      if (!s) throw errno(E.EINVAL);
      checkAccess(k, s.perm, cmd === SEM_SETALL ? S_IWUGO : S_IRUGO);
      if (cmd === SEM_GETALL) {
        const out = new Uint8Array(s.nsems * 2);
        const v = new DataView(out.buffer);
        s.vals.forEach((x, i) => v.setUint16(i * 2, x, true));
        m.copyOut(arg, out);
        return 0;
      }
      if (cmd === SEM_SETALL) {
        const raw = m.copyIn(arg, s.nsems * 2);
        const v = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
        const vals = s.vals.map((_, i) => v.getUint16(i * 2, true));
        if (vals.some((x) => x > SEMVMX)) throw errno(E.ERANGE);
        const pid = task.process.pid;
        vals.forEach((x, i) => {
          s.vals[i] = x;
          s.pids[i] = pid;
        });
        clearUndo(s, null);
        s.ctime = now(k);
        s.queue.wake();
        return 0;
      }
      if (num < 0 || num >= s.nsems) throw errno(E.EINVAL);
      if (cmd === SEM_GETVAL) return s.vals[num]!;
      if (cmd === SEM_GETPID) return s.pids[num]!;
      const zero = cmd === SEM_GETZCNT;
      let n = 0;
      for (const w of s.waiting) if (w.num === num && w.zero === zero) n++;
      return n;
    }
    default:
      throw errno(E.EINVAL);
  }
}

// ---- message queues ----

function msgget(task: Task, a: SyscallArgs): SyscallResult {
  const k = task.kernel;
  const st = stateOf(k);
  const key = a.int(0);
  const flag = a.int(1);
  return ipcget(k, st.msg, key, flag, () => new MsgQueue(newPerm(k, key, flag)), () => {});
}

function msgsnd(task: Task, a: SyscallArgs): SyscallResult {
  const k = task.kernel;
  const st = stateOf(k);
  const prior = priorWait(task);
  const id = a.int(0);
  const msgp = a.ptr(1);
  const size = a.long(2);
  const flag = a.int(3);
  const type = k.mem.i64(msgp);
  if (size > MSGMAX || size < 0 || id < 0) throw errno(E.EINVAL);
  if (type < 1n) throw errno(E.EINVAL);
  const data = k.mem.copyIn(msgp + 8, size);
  const q = prior && prior.obj instanceof MsgQueue && prior.obj.id === id ? prior.obj : st.msg.find(id);
  if (!q) throw errno(E.EINVAL);
  checkAccess(k, q.perm, S_IWUGO);
  if (q.cbytes + size <= q.qbytes && q.msgs.length + 1 <= q.qbytes) {
    q.msgs.push({ type, data });
    q.cbytes += size;
    q.lspid = task.process.pid;
    q.stime = now(k);
    q.receivers.wake();
    return 0;
  }
  if ((flag & IPC_NOWAIT) !== 0) throw errno(E.EAGAIN);
  startWait(task, prior, q, null);
  q.senders.add(task);
  k.waitDeadline(task, 'msgsnd', null, false);
  // A handler ends it with EINTR; a signal that runs none restarts it.
  task.interruptCode = E.ERESTARTNOHAND;
  return BLOCK;
}

/** Linux's find_msg: the first message msgrcv's type selection takes, or -1. */
function findMsg(q: MsgQueue, type: bigint, flag: number): number {
  if ((flag & MSG_COPY) !== 0) return type >= 0n && type < BigInt(q.msgs.length) ? Number(type) : -1;
  if (type === 0n) return q.msgs.length > 0 ? 0 : -1;
  if (type < 0n) {
    const limit = type === -(1n << 63n) ? (1n << 63n) - 1n : -type;
    let best = -1;
    q.msgs.forEach((msg, i) => {
      if (msg.type <= limit && (best < 0 || msg.type < q.msgs[best]!.type)) best = i;
    });
    return best;
  }
  const except = (flag & MSG_EXCEPT) !== 0;
  return q.msgs.findIndex((msg) => (msg.type === type) !== except);
}

function msgrcv(task: Task, a: SyscallArgs): SyscallResult {
  const k = task.kernel;
  const st = stateOf(k);
  const prior = priorWait(task);
  const id = a.int(0);
  const msgp = a.ptr(1);
  const size = a.long(2);
  const type = a.raw(3);
  const flag = a.int(4);
  if (id < 0 || size < 0) throw errno(E.EINVAL);
  if ((flag & MSG_COPY) !== 0 && ((flag & MSG_EXCEPT) !== 0 || (flag & IPC_NOWAIT) === 0)) throw errno(E.EINVAL);
  const q = prior && prior.obj instanceof MsgQueue && prior.obj.id === id ? prior.obj : st.msg.find(id);
  if (!q) throw errno(E.EINVAL);
  checkAccess(k, q.perm, S_IRUGO);
  const i = findMsg(q, type, flag);
  if (i >= 0) {
    const msg = q.msgs[i]!;
    if (size < msg.data.length && (flag & MSG_NOERROR) === 0) throw errno(E.E2BIG);
    if ((flag & MSG_COPY) === 0) {
      q.msgs.splice(i, 1);
      q.cbytes -= msg.data.length;
      q.lrpid = task.process.pid;
      q.rtime = now(k);
      q.senders.wake();
    }
    const n = Math.min(size, msg.data.length);
    k.mem.setI64(msgp, msg.type);
    k.mem.copyOut(msgp + 8, msg.data.subarray(0, n));
    return n;
  }
  if ((flag & IPC_NOWAIT) !== 0) throw errno(E.ENOMSG);
  startWait(task, prior, q, null);
  q.receivers.add(task);
  k.waitDeadline(task, 'msgrcv', null, false);
  task.interruptCode = E.ERESTARTNOHAND;
  return BLOCK;
}

/** struct msqid64_ds (120 bytes). */
function writeMsqid(k: Kernel, addr: number, q: MsgQueue): void {
  const m = k.mem;
  m.fill(addr, 120);
  writePerm(k, addr, q.perm);
  m.setI64(addr + 48, q.stime);
  m.setI64(addr + 56, q.rtime);
  m.setI64(addr + 64, q.ctime);
  m.setU64(addr + 72, q.cbytes);
  m.setU64(addr + 80, q.msgs.length);
  m.setU64(addr + 88, q.qbytes);
  m.setI32(addr + 96, q.lspid);
  m.setI32(addr + 100, q.lrpid);
}

function msgctl(task: Task, a: SyscallArgs): SyscallResult {
  const k = task.kernel;
  const st = stateOf(k);
  const id = a.int(0);
  const cmd = a.int(1);
  const buf = a.ptr(2);
  const m = k.mem;
  if (id < 0 || cmd < 0) throw errno(E.EINVAL);
  const stat = statCommand(k, st.msg, cmd, id, buf, [MSG_STAT, MSG_STAT_ANY], writeMsqid);
  if (stat !== null) return stat;
  switch (cmd) {
    case IPC_INFO:
    case MSG_INFO: {
      let msgs = 0;
      let bytes = 0;
      for (const q of st.msg.byIdx.values()) {
        msgs += q.msgs.length;
        bytes += q.cbytes;
      }
      const info = cmd === MSG_INFO;
      m.setI32(buf, info ? st.msg.byIdx.size : MSGPOOL);
      m.setI32(buf + 4, info ? msgs : MSGMAP);
      m.setI32(buf + 8, MSGMAX);
      m.setI32(buf + 12, MSGMNB);
      m.setI32(buf + 16, MSGMNI);
      m.setI32(buf + 20, MSGSSZ);
      m.setI32(buf + 24, info ? bytes : MSGTQL);
      m.setU16(buf + 28, MSGSEG);
      return st.msg.maxIdx();
    }
    case IPC_SET: {
      const u = readPermUpdate(k, buf);
      const qbytes = m.u64(buf + 88);
      const q = owned(k, st.msg, id);
      if (qbytes > BigInt(MSGMNB) && k.identity.euid !== 0) throw errno(E.EPERM);
      applyPermUpdate(k, q, u);
      q.qbytes = Number(qbytes);
      q.senders.wake();
      return 0;
    }
    case IPC_RMID: {
      const q = owned(k, st.msg, id);
      st.msg.remove(q);
      q.msgs.length = 0;
      q.cbytes = 0;
      q.senders.wake();
      q.receivers.wake();
      return 0;
    }
    default:
      throw errno(E.EINVAL);
  }
}

// ---- process exit ----

/**
 * A process ends (before its memory goes): its SEM_UNDO adjustments are
 * applied, each value kept within 0..SEMVMX (Linux's exit_sem), and the
 * segments it alone attached record it as the last to detach.
 */
function processExit(k: Kernel, st: State, p: Process): void {
  for (const set of st.sem.byIdx.values()) {
    const adj = set.undo.get(p);
    if (!adj) continue;
    set.undo.delete(p);
    let changed = false;
    adj.forEach((d, i) => {
      if (d === 0) return;
      set.vals[i] = Math.max(0, Math.min(SEMVMX, set.vals[i]! + d));
      set.pids[i] = p.pid;
      changed = true;
    });
    if (changed) set.queue.wake();
  }
  if (p.mm.users !== 1 || st.shm.byIdx.size === 0) return;
  const t = now(k);
  for (const s of st.shm.byIdx.values()) {
    if (p.mm.vmas.some((v) => isAttachment(v, s))) {
      s.dtime = t;
      s.lpid = p.pid;
    }
  }
}

export const sysvIpcFamily: Family = {
  shmget: partial('Linux\'s default limits (SHMMAX, SHMMNI 4096); the segment is allocated in guest RAM at once (ENOMEM when it does not fit); SHM_HUGETLB answers ENOMEM (no huge pages)', shmget),
  shmat: partial('a segment is one piece of RAM that every attacher maps at the same address, as on nommu Linux: a nonzero shmaddr other than that address answers EINVAL, and attaching it again in the same process answers the same address; the pages have one protection for all attachers (the union of theirs), so SHM_RDONLY faults writes only while no attacher has the segment writable', shmat),
  shmdt: supported(shmdt),
  shmctl: partial('SHM_LOCK/SHM_UNLOCK only set the flag (guest RAM is never swapped); shm_lpid and shm_dtime are not updated when exec or munmap detaches', shmctl),
  semget: supported(semget),
  semop: supported((t, a) => semtimedop(t, a.int(0), a.ptr(1), a.ptr(2), 0)),
  semtimedop: supported((t, a) => semtimedop(t, a.int(0), a.ptr(1), a.ptr(2), a.ptr(3))),
  semctl: supported(semctl),
  msgget: supported(msgget),
  msgsnd: partial('a message is queued and the receivers look again, rather than being handed to a waiting receiver directly (Linux\'s pipelined send)', msgsnd),
  msgrcv: supported(msgrcv),
  msgctl: supported(msgctl),
};
