import { randomFillSync } from 'node:crypto';
import { E, errno, HostFile, NORETURN, PathFile, type ExecAt, type SyscallArgs, type SyscallResult, type Task } from '@nommu/kernel';
import { partial, supported, type Family } from './define.js';
import { dirPath } from './files.js';
import { writeBackAllShared } from './memory.js';

function exitGroup(task: Task, a: SyscallArgs): SyscallResult {
  writeBackAllShared(task);
  task.kernel.exitProcess(task.process, { code: a.int(0) & 0xff, signal: 0, coreDumped: false });
  return NORETURN;
}

const ARCH_SET_GS = 0x1001;
const ARCH_SET_FS = 0x1002;
const ARCH_GET_FS = 0x1003;
const ARCH_GET_GS = 0x1004;
const ARCH_GET_CPUID = 0x1011;
const ARCH_SET_CPUID = 0x1012;

/** FS/GS bases: the task keeps them; the CPU gets them now, since the task is running. */
function archPrctl(task: Task, a: SyscallArgs) {
  const k = task.kernel;
  const code = a.int(0);
  const addr = a.u64(1);
  const canonical = addr < 0x0000_8000_0000_0000n || addr >= 0xffff_8000_0000_0000n;
  switch (code) {
    case ARCH_SET_FS:
      if (!canonical) throw errno(E.EPERM);
      task.fsBase = addr;
      k.cpu.setReg(18, addr);
      return 0;
    case ARCH_SET_GS:
      if (!canonical) throw errno(E.EPERM);
      task.gsBase = addr;
      k.cpu.setReg(19, addr);
      return 0;
    case ARCH_GET_FS:
      k.mem.setU64(Number(addr), task.fsBase);
      return 0;
    case ARCH_GET_GS:
      k.mem.setU64(Number(addr), task.gsBase);
      return 0;
    case ARCH_GET_CPUID:
      return 1;
    case ARCH_SET_CPUID:
      throw errno(E.ENODEV);
    default:
      throw errno(E.EINVAL);
  }
}

function setTidAddress(task: Task, a: SyscallArgs) {
  task.clearChildTid = a.ptr(0);
  return task.tid;
}

/** sizeof(struct robust_list_head): list.next, futex_offset, list_op_pending. */
const ROBUST_LIST_HEAD_SIZE = 24;

/** get_robust_list(pid, &head, &len): any thread of the kernel (same user: no ptrace check to fail). */
function getRobustList(task: Task, a: SyscallArgs) {
  const k = task.kernel;
  const tid = a.int(0);
  const target = tid === 0 ? task : k.findTask(tid);
  if (!target) throw errno(E.ESRCH);
  k.mem.setU64(a.ptr(1), target.robustList);
  k.mem.setU64(a.ptr(2), ROBUST_LIST_HEAD_SIZE);
  return 0;
}

/** struct utsname: six fields of 65 bytes. */
function uname(task: Task, a: SyscallArgs) {
  const k = task.kernel;
  const addr = a.ptr(0);
  const fields = ['Linux', k.hostname, '6.1.0-nommu', '#1 nommu', 'x86_64', k.domainname];
  const buf = Buffer.alloc(65 * 6);
  fields.forEach((f, i) => buf.write(f, i * 65, 64, 'utf8'));
  k.mem.copyOut(addr, buf);
  return 0;
}

/**
 * sethostname / setdomainname: root only (EPERM, as without CAP_SYS_ADMIN);
 * at most 64 bytes (EINVAL). One UTS namespace: every process sees the change.
 */
function setUtsName(task: Task, a: SyscallArgs, set: (k: Task['kernel'], name: string) => void): SyscallResult {
  const k = task.kernel;
  if (k.identity.euid !== 0) throw errno(E.EPERM);
  const len = a.int(1);
  if (len < 0 || len > 64) throw errno(E.EINVAL);
  const bytes = k.mem.copyIn(a.ptr(0), len);
  const nul = bytes.indexOf(0);
  set(k, Buffer.from(nul < 0 ? bytes : bytes.subarray(0, nul)).toString('latin1'));
  return 0;
}

/** setgroups: root only; the guest identity has no supplementary groups, so only an empty list is no change. */
function setgroups(task: Task, a: SyscallArgs): SyscallResult {
  const k = task.kernel;
  const n = a.int(0);
  if (n < 0 || n > 65536) throw errno(E.EINVAL);
  if (k.identity.euid !== 0) throw errno(E.EPERM);
  if (n > 0) {
    k.mem.copyIn(a.ptr(1), n * 4); // EFAULT first, as Linux reads the list before it applies it
    throw errno(E.EPERM);
  }
  return 0;
}

function execve(task: Task, a: SyscallArgs): SyscallResult {
  const mem = task.kernel.mem;
  const path = mem.cstring(a.ptr(0));
  const argv = mem.stringArray(a.ptr(1));
  const envp = mem.stringArray(a.ptr(2));
  return task.kernel.exec(task, path, argv, envp);
}

const AT_FDCWD = -100;
const AT_SYMLINK_NOFOLLOW = 0x100;
const AT_EMPTY_PATH = 0x1000;

/**
 * execveat: execve relative to a directory descriptor, or of an open file
 * (AT_EMPTY_PATH with an empty path: fexecve). As on Linux, the program is
 * then known as /dev/fd/N or /dev/fd/N/path (AT_EXECFN, a script's name for
 * its interpreter), and a script reachable only through a close-on-exec
 * descriptor cannot run (ENOENT).
 */
function execveat(task: Task, a: SyscallArgs): SyscallResult {
  const k = task.kernel;
  const mem = k.mem;
  const dirfd = a.int(0);
  const path = mem.cstring(a.ptr(1));
  const argv = mem.stringArray(a.ptr(2));
  const envp = mem.stringArray(a.ptr(3));
  const flags = a.int(4);
  if ((flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH)) !== 0) throw errno(E.EINVAL);
  const at: ExecAt = { noFollow: (flags & AT_SYMLINK_NOFOLLOW) !== 0 };
  if (path.startsWith('/') || (dirfd === AT_FDCWD && path !== '')) return k.exec(task, path, argv, envp, at);
  const files = task.process.files;
  if (path === '') {
    if ((flags & AT_EMPTY_PATH) === 0) throw errno(E.ENOENT);
    if (dirfd === AT_FDCWD) throw errno(E.EACCES); // the working directory
    const file = files.get(dirfd);
    // A host name that reaches the open file's inode (Node's own descriptor in the host's /proc: renamed or unlinked alike).
    const host = file instanceof HostFile ? `/proc/self/fd/${file.fd}` : file instanceof PathFile ? file.hostPath : '';
    if (host === '') throw errno(E.EACCES);
    const name = `/dev/fd/${dirfd}`;
    return k.exec(task, name, argv, envp, { ...at, file: { guest: file.guestPath, host }, name, nameGone: files.cloexec(dirfd) });
  }
  const dir = dirPath(files.get(dirfd));
  return k.exec(task, path, argv, envp, { ...at, dir, name: `/dev/fd/${dirfd}/${path}`, nameGone: files.cloexec(dirfd) });
}

export const RLIM_INFINITY = 0xffff_ffff_ffff_ffffn;
const RLIMIT_NOFILE = 7;
/** Linux's fs.nr_open default: no NOFILE limit goes above it, even for root. */
const NR_OPEN = 1n << 20n;
/** Limits as a fresh Linux login has them: [soft, hard]. */
const DEFAULT_RLIMITS: Readonly<Record<number, readonly [bigint, bigint]>> = {
  0: [RLIM_INFINITY, RLIM_INFINITY], // CPU
  1: [RLIM_INFINITY, RLIM_INFINITY], // FSIZE
  2: [RLIM_INFINITY, RLIM_INFINITY], // DATA
  3: [8n << 20n, RLIM_INFINITY], // STACK
  4: [0n, RLIM_INFINITY], // CORE
  5: [RLIM_INFINITY, RLIM_INFINITY], // RSS
  6: [4096n, 4096n], // NPROC
  7: [1024n, 4096n], // NOFILE
  8: [8n << 20n, 8n << 20n], // MEMLOCK
  9: [RLIM_INFINITY, RLIM_INFINITY], // AS
  10: [RLIM_INFINITY, RLIM_INFINITY], // LOCKS
  11: [4096n, 4096n], // SIGPENDING
  12: [819200n, 819200n], // MSGQUEUE
  13: [0n, 0n], // NICE
  14: [0n, 0n], // RTPRIO
  15: [RLIM_INFINITY, RLIM_INFINITY], // RTTIME
};

export function rlimit(task: Task, resource: number): readonly [bigint, bigint] {
  const lim = task.process.rlimits.get(resource) ?? DEFAULT_RLIMITS[resource];
  if (!lim) throw errno(E.EINVAL);
  return lim;
}

function prlimit64(task: Task, a: SyscallArgs) {
  const pid = a.int(0);
  if (pid !== 0 && pid !== task.process.pid) throw errno(E.ESRCH);
  return setRlimit(task, a.uint(1), a.ptr(2), a.ptr(3));
}

/** Sets (from a struct rlimit at newAddr) and/or reads back (to oldAddr) the caller's limit; setrlimit's struct rlimit is rlimit64 on x86-64. */
function setRlimit(task: Task, resource: number, newAddr: number, oldAddr: number) {
  const old = rlimit(task, resource);
  const mem = task.kernel.mem;
  if (newAddr !== 0) {
    const soft = mem.u64(newAddr);
    const hard = mem.u64(newAddr + 8);
    if (soft > hard) throw errno(E.EINVAL);
    if (resource === RLIMIT_NOFILE && hard > NR_OPEN) throw errno(E.EPERM);
    if (hard > old[1] && task.kernel.identity.euid !== 0) throw errno(E.EPERM);
    task.process.rlimits.set(resource, [soft, hard]);
    // The descriptor table is where NOFILE is enforced: open, dup, pipe... answer EMFILE at it.
    if (resource === RLIMIT_NOFILE) task.process.files.limit = Number(soft);
  }
  if (oldAddr !== 0) {
    mem.setU64(oldAddr, old[0]);
    mem.setU64(oldAddr + 8, old[1]);
  }
  return 0;
}

function getrlimit(task: Task, a: SyscallArgs) {
  const lim = rlimit(task, a.uint(0));
  task.kernel.mem.setU64(a.ptr(1), lim[0]);
  task.kernel.mem.setU64(a.ptr(1) + 8, lim[1]);
  return 0;
}

const GRND_NONBLOCK = 1;
const GRND_RANDOM = 2;
const GRND_INSECURE = 4;

/**
 * getrandom: the host's CSPRNG (node:crypto's, which the kernel loads anyway;
 * the first use of Web Crypto's getRandomValues costs ~1 ms), never blocking
 * (the pool is always ready); at most 32 MiB - 1 at a time, as Linux.
 */
function getrandom(task: Task, a: SyscallArgs) {
  const flags = a.uint(2);
  if ((flags & ~(GRND_NONBLOCK | GRND_RANDOM | GRND_INSECURE)) !== 0) throw errno(E.EINVAL);
  if ((flags & (GRND_RANDOM | GRND_INSECURE)) === (GRND_RANDOM | GRND_INSECURE)) throw errno(E.EINVAL);
  const len = Math.min(a.ptr(1), 33554431);
  if (len === 0) return 0;
  const buf = task.kernel.mem.bytes(a.ptr(0), len);
  randomFillSync(buf);
  return len;
}

const PR_SET_PDEATHSIG = 1;
const PR_GET_PDEATHSIG = 2;
const PR_GET_DUMPABLE = 3;
const PR_SET_DUMPABLE = 4;
const PR_SET_NAME = 15;
const PR_GET_NAME = 16;
const PR_SET_CHILD_SUBREAPER = 36;
const PR_GET_CHILD_SUBREAPER = 37;
const PR_SET_NO_NEW_PRIVS = 38;
const PR_GET_NO_NEW_PRIVS = 39;

function prctl(task: Task, a: SyscallArgs) {
  const mem = task.kernel.mem;
  switch (a.int(0)) {
    case PR_SET_NAME: {
      const name = Buffer.from(mem.copyIn(a.ptr(1), 16));
      const nul = name.indexOf(0);
      task.comm = name.subarray(0, nul < 0 ? 15 : Math.min(nul, 15)).toString('utf8');
      return 0;
    }
    case PR_GET_NAME: {
      const out = Buffer.alloc(16);
      out.write(task.comm, 'utf8');
      mem.copyOut(a.ptr(1), out);
      return 0;
    }
    case PR_SET_PDEATHSIG:
      if (a.int(1) < 0 || a.int(1) > 64) throw errno(E.EINVAL);
      return 0;
    case PR_GET_PDEATHSIG:
      mem.setI32(a.ptr(1), 0);
      return 0;
    case PR_GET_DUMPABLE:
      return 1;
    case PR_SET_DUMPABLE:
      if (a.int(1) !== 0 && a.int(1) !== 1) throw errno(E.EINVAL);
      return 0;
    case PR_SET_CHILD_SUBREAPER:
      task.process.childSubreaper = a.u64(1) !== 0n;
      return 0;
    case PR_GET_CHILD_SUBREAPER:
      mem.setI32(a.ptr(1), task.process.childSubreaper ? 1 : 0);
      return 0;
    case PR_SET_NO_NEW_PRIVS:
      if (a.u64(1) !== 1n || a.u64(2) !== 0n || a.u64(3) !== 0n || a.u64(4) !== 0n) throw errno(E.EINVAL);
      task.noNewPrivs = true;
      return 0;
    case PR_GET_NO_NEW_PRIVS:
      if (a.u64(1) !== 0n || a.u64(2) !== 0n || a.u64(3) !== 0n || a.u64(4) !== 0n) throw errno(E.EINVAL);
      return task.noNewPrivs ? 1 : 0;
    default:
      throw errno(E.EINVAL);
  }
}

/** struct sysinfo from the kernel's own RAM and process table. */
function sysinfo(task: Task, a: SyscallArgs) {
  const k = task.kernel;
  const m = k.mem;
  const buf = a.ptr(0);
  m.fill(buf, 112);
  m.setI64(buf, (process.hrtime.bigint() - k.bootNs) / 1_000_000_000n);
  m.setU64(buf + 32, k.phys.size);
  m.setU64(buf + 40, k.phys.freeBytes);
  m.setU16(buf + 80, Math.min(k.processes.size, 0xffff));
  m.setU32(buf + 104, 1);
  return 0;
}

const CLK_TCK = 100n;

const ticks = (ms: number): bigint => BigInt(Math.floor((ms * Number(CLK_TCK)) / 1000));

/** times: clock ticks since boot; struct tms with the CPU times of the process and of the children it waited for. */
function times(task: Task, a: SyscallArgs) {
  const now = ((process.hrtime.bigint() - task.kernel.bootNs) * CLK_TCK) / 1_000_000_000n;
  const buf = a.ptr(0);
  if (buf !== 0) {
    const m = task.kernel.mem;
    const p = task.process;
    m.offset(buf, 32);
    m.setI64(buf, ticks(p.utimeMs));
    m.setI64(buf + 8, ticks(p.stimeMs));
    m.setI64(buf + 16, ticks(p.childUtimeMs));
    m.setI64(buf + 24, ticks(p.childStimeMs));
  }
  return now;
}

const RUSAGE_SELF = 0;
const RUSAGE_CHILDREN = -1;
const RUSAGE_THREAD = 1;

function getrusage(task: Task, a: SyscallArgs) {
  const who = a.int(0);
  const p = task.process;
  let user: number;
  let system: number;
  if (who === RUSAGE_SELF) [user, system] = [p.utimeMs, p.stimeMs];
  else if (who === RUSAGE_CHILDREN) [user, system] = [p.childUtimeMs, p.childStimeMs];
  else if (who === RUSAGE_THREAD) [user, system] = [task.utimeMs, task.stimeMs];
  else throw errno(E.EINVAL);
  const m = task.kernel.mem;
  const buf = a.ptr(1);
  m.fill(buf, 144);
  const timeval = (at: number, ms: number): void => {
    const us = Math.floor(ms * 1000);
    m.setI64(at, BigInt(Math.floor(us / 1e6)));
    m.setI64(at + 8, BigInt(us % 1e6));
  };
  timeval(buf, user);
  timeval(buf + 16, system);
  if (who !== RUSAGE_CHILDREN) m.setI64(buf + 32, BigInt(Math.floor(p.mm.ownedBytes / 1024))); // ru_maxrss (KiB)
  return 0;
}

const PRIO_PROCESS = 0;
const PRIO_PGRP = 1;
const PRIO_USER = 2;
const NICE_MIN = -20;
const NICE_MAX = 19;
/** A nice value as setpriority and sched_setattr take one: clamped to -20..19. */
export const clampNice = (nice: number): number => Math.min(NICE_MAX, Math.max(NICE_MIN, nice));

/** The threads a getpriority/setpriority (which, who) pair names: who 0 is the caller's own. */
export function priorityTargets(task: Task, which: number, who: number): Task[] {
  const k = task.kernel;
  switch (which) {
    case PRIO_PROCESS: {
      if (who === 0) return [task];
      const t = k.findTask(who);
      return t ? [t] : [];
    }
    case PRIO_PGRP: {
      const pgid = who === 0 ? task.process.pgid : who;
      return [...k.processes.values()].filter((p) => p.pgid === pgid && p.exitStatus === null).flatMap((p) => p.threads);
    }
    case PRIO_USER:
      // One identity runs every guest process.
      return (who === 0 ? k.identity.uid : who) === k.identity.uid ? [...k.tasks.values()] : [];
    default:
      throw errno(E.EINVAL);
  }
}

/** The highest priority among the targets, as the syscall answers it: 20 - nice (1..40). */
function getpriority(task: Task, a: SyscallArgs) {
  const targets = priorityTargets(task, a.int(0), a.int(1));
  if (targets.length === 0) throw errno(E.ESRCH);
  return 20 - Math.min(...targets.map((t) => t.nice));
}

/** Sets the nice value of every target; only root may lower one (EACCES otherwise, as without CAP_SYS_NICE). */
function setpriority(task: Task, a: SyscallArgs) {
  const targets = priorityTargets(task, a.int(0), a.int(1));
  if (targets.length === 0) throw errno(E.ESRCH);
  const nice = clampNice(a.int(2));
  const root = task.kernel.identity.euid === 0;
  let refused = false;
  for (const t of targets) {
    if (nice < t.nice && !root) refused = true;
    else t.nice = nice;
  }
  if (refused) throw errno(E.EACCES);
  return 0;
}

/** The guest identity has no supplementary groups: the list is always empty. */
function getgroups(_task: Task, a: SyscallArgs) {
  if (a.int(0) < 0) throw errno(E.EINVAL);
  return 0;
}

/** getresuid/getresgid: the kernel has one identity, whose saved id is its effective id. */
function getres(task: Task, a: SyscallArgs, ids: readonly [number, number]) {
  const mem = task.kernel.mem;
  for (let i = 0; i < 3; i++) mem.offset(a.ptr(i), 4);
  mem.setU32(a.ptr(0), ids[0]);
  mem.setU32(a.ptr(1), ids[1]);
  mem.setU32(a.ptr(2), ids[1]);
  return 0;
}

/**
 * The set*id family: the identity is the whole kernel's, so only calls that
 * change nothing (each id -1 or already its value) succeed; any real change is EPERM.
 */
function setIds(wanted: readonly number[], current: readonly [number, number]) {
  const [real, eff] = current;
  const now = [real, eff, eff];
  for (let i = 0; i < wanted.length; i++) {
    const id = wanted[i]!;
    if (id !== -1 && id !== now[i]) throw errno(E.EPERM);
  }
  return 0;
}

const uids = (t: Task): [number, number] => [t.kernel.identity.uid, t.kernel.identity.euid];
const gids = (t: Task): [number, number] => [t.kernel.identity.gid, t.kernel.identity.egid];
const NO_CHANGE = 'one identity for the whole kernel: calls that change nothing succeed, real changes answer EPERM';

export const processFamily: Family = {
  getresuid: supported((t, a) => getres(t, a, uids(t))),
  getresgid: supported((t, a) => getres(t, a, gids(t))),
  // setuid(id) sets every id for root, only the effective one otherwise: with one identity both mean "all equal id".
  setuid: partial(NO_CHANGE, (t, a) => setIds(uids(t)[0] === uids(t)[1] ? [a.int(0), a.int(0), a.int(0)] : [-1, a.int(0)], uids(t))),
  setgid: partial(NO_CHANGE, (t, a) => setIds(gids(t)[0] === gids(t)[1] ? [a.int(0), a.int(0), a.int(0)] : [-1, a.int(0)], gids(t))),
  setreuid: partial(NO_CHANGE, (t, a) => setIds([a.int(0), a.int(1)], uids(t))),
  setregid: partial(NO_CHANGE, (t, a) => setIds([a.int(0), a.int(1)], gids(t))),
  setresuid: partial(NO_CHANGE, (t, a) => setIds([a.int(0), a.int(1), a.int(2)], uids(t))),
  setresgid: partial(NO_CHANGE, (t, a) => setIds([a.int(0), a.int(1), a.int(2)], gids(t))),
  sysinfo: supported(sysinfo),
  times: partial('user time is time in the CPU backend, system time is kernel time for the task (host time, not host CPU time)', times),
  getrusage: partial('CPU times as times(2); ru_maxrss is the RAM the process owns, the other counters are zero', getrusage),
  getpriority: supported(getpriority),
  setpriority: partial('the nice value is recorded and reported; the scheduler does not weigh it', setpriority),
  getgroups: partial('the guest identity has no supplementary groups: the list is empty', getgroups),
  setgroups: partial('root may set the empty list (no change); any other list answers EPERM (one identity for the whole kernel)', setgroups),
  // setfsuid/setfsgid always answer the old filesystem id, which here is the effective one.
  setfsuid: partial('answers the effective uid, which is the filesystem uid; a change is not made (the caller sees it by asking again)', (t) => t.kernel.identity.euid),
  setfsgid: partial('answers the effective gid, which is the filesystem gid; a change is not made (the caller sees it by asking again)', (t) => t.kernel.identity.egid),
  sethostname: partial('root only; one UTS namespace for every process', (t, a) => setUtsName(t, a, (k, name) => (k.hostname = name))),
  setdomainname: partial('root only; one UTS namespace for every process', (t, a) => setUtsName(t, a, (k, name) => (k.domainname = name))),
  prctl: partial('names, dumpable, pdeathsig (accepted, not delivered), child subreaper and no_new_privs; other options answer EINVAL', prctl),
  exit_group: supported(exitGroup),
  execve: supported(execve),
  execveat: supported(execveat),
  getpid: supported((t) => t.process.pid),
  getppid: supported((t) => t.process.parent?.pid ?? 0),
  gettid: supported((t) => t.tid),
  getuid: supported((t) => t.kernel.identity.uid),
  geteuid: supported((t) => t.kernel.identity.euid),
  getgid: supported((t) => t.kernel.identity.gid),
  getegid: supported((t) => t.kernel.identity.egid),
  getpgrp: supported((t) => t.process.pgid),
  getpgid: supported((t, a) => {
    const p = a.int(0) === 0 ? t.process : t.kernel.processes.get(a.int(0));
    if (!p) throw errno(E.ESRCH);
    return p.pgid;
  }),
  getsid: supported((t, a) => {
    const p = a.int(0) === 0 ? t.process : t.kernel.processes.get(a.int(0));
    if (!p) throw errno(E.ESRCH);
    return p.sid;
  }),
  arch_prctl: supported(archPrctl),
  set_tid_address: supported(setTidAddress),
  set_robust_list: supported((t, a) => {
    if (a.ptr(1) !== ROBUST_LIST_HEAD_SIZE) throw errno(E.EINVAL);
    t.robustList = a.ptr(0);
    return 0;
  }),
  get_robust_list: supported(getRobustList),
  uname: supported(uname),
  prlimit64: partial('limits are kept per process; only NOFILE is enforced', prlimit64),
  setrlimit: partial('as prlimit64 on the caller: limits are kept per process; only NOFILE is enforced', (t, a) => {
    if (a.ptr(1) === 0) throw errno(E.EFAULT);
    return setRlimit(t, a.uint(0), a.ptr(1), 0);
  }),
  getrlimit: supported(getrlimit),
  getrandom: supported(getrandom),
};
