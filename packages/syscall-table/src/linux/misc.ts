/**
 * Looking into another process: kcmp (do two processes share a kernel
 * object?) and process_vm_readv/process_vm_writev (copy to and from another
 * process's memory). Without an MMU every process lives in the one address
 * space, but a forked process's private pages may be swapped out while
 * another runs: the copy puts the target's pages in RAM for its duration.
 */
import { E, EpollFile, errno, mman, type MemoryMap, type Process, type SyscallArgs, type SyscallResult, type Task } from '@nommu/kernel';
import { partial, type Family } from './define.js';
import { readIovecs } from './iovec.js';

const KCMP = { FILE: 0, VM: 1, FILES: 2, FS: 3, SIGHAND: 4, IO: 5, SYSVSEM: 6, EPOLL_TFD: 7 } as const;

/**
 * The process a pid names for kcmp and process_vm_*: any thread's id, or a
 * zombie group leader not yet reaped (null `task` then); ESRCH otherwise.
 */
function lookup(task: Task, pid: number): { process: Process; live: boolean } {
  const k = task.kernel;
  const t = pid > 0 ? k.tasks.get(pid) : undefined;
  if (t) return { process: t.process, live: t.process.exitStatus === null };
  const p = pid > 0 ? k.processes.get(pid) : undefined;
  if (p) return { process: p, live: false };
  throw errno(E.ESRCH);
}

/**
 * ptrace_may_access with the caller's real ids: its own process, or a
 * process whose ids all equal the caller's real ones, or a caller with
 * CAP_SYS_PTRACE (euid 0). Every process here runs as the kernel's one
 * identity, so the question is whether that identity changed ids (Linux
 * then makes it non-dumpable too).
 */
function mayInspect(task: Task, target: Process): boolean {
  if (target === task.process) return true;
  const id = task.kernel.identity;
  if (id.euid === 0) return true;
  return id.uid === id.euid && id.gid === id.egid;
}

/** Object identities for kcmp: numbered as first seen, which gives the total order Linux's obfuscated pointers give. */
const ids = new WeakMap<object, number>();
let nextId = 1;
function idOf(obj: object | null): number {
  if (obj === null) return 0;
  let id = ids.get(obj);
  if (id === undefined) ids.set(obj, (id = nextId++));
  return id;
}

/** kcmp's answer: 0 the same object, 1 the first orders before, 2 after. */
function order(a: object | null, b: object | null): number {
  const x = idOf(a);
  const y = idOf(b);
  return x === y ? 0 : x < y ? 1 : 2;
}

/**
 * kcmp: the objects compared are the open file (KCMP_FILE), the descriptor
 * table (FILES), the memory (VM), the fs context (FS: cwd, root and umask)
 * and the signal action table (SIGHAND), both shared by threads and by
 * clone(CLONE_FS) / clone(CLONE_SIGHAND), and nothing for IO and SYSVSEM: no task has an I/O
 * context here, and semaphore undo lists are not looked at (the SysV family
 * keeps its SEM_UNDO adjustments to itself), so all compare equal, as
 * Linux's NULL pointers do. An exited process has no files, memory or fs left.
 */
function kcmp(task: Task, a: SyscallArgs): SyscallResult {
  const t1 = lookup(task, a.int(0));
  const t2 = lookup(task, a.int(1));
  if (!mayInspect(task, t1.process) || !mayInspect(task, t2.process)) throw errno(E.EPERM);
  const type = a.int(2);
  const files = (t: typeof t1) => (t.live ? t.process.files : null);
  const fileAt = (t: typeof t1, idx: bigint) => (idx < 2n ** 31n ? (files(t)?.peek(Number(idx)) ?? null) : null);
  switch (type) {
    case KCMP.FILE: {
      const f1 = fileAt(t1, a.u64(3));
      const f2 = fileAt(t2, a.u64(4));
      if (!f1 || !f2) throw errno(E.EBADF);
      return order(f1, f2);
    }
    case KCMP.VM: return order(t1.live ? t1.process.mm : null, t2.live ? t2.process.mm : null);
    case KCMP.FILES: return order(files(t1), files(t2));
    case KCMP.FS: return order(t1.live ? t1.process.fsContext : null, t2.live ? t2.process.fsContext : null);
    case KCMP.SIGHAND: return order(t1.process.sigactions, t2.process.sigactions);
    case KCMP.IO:
    case KCMP.SYSVSEM: return order(null, null);
    case KCMP.EPOLL_TFD: {
      // struct kcmp_epoll_slot { __u32 efd, tfd, toff; } at idx2.
      const mem = task.kernel.mem;
      const slot = a.ptr(4);
      const efd = mem.u32(slot);
      const tfd = mem.u32(slot + 4);
      const toff = mem.u32(slot + 8);
      const f1 = fileAt(t1, a.u64(3));
      if (!f1) throw errno(E.EBADF);
      const ep = fileAt(t2, BigInt(efd));
      if (!ep) throw errno(E.EBADF);
      if (!(ep instanceof EpollFile)) throw errno(E.EINVAL);
      const target = ep.watchedAt(tfd)[toff];
      if (!target) throw errno(E.ENOENT);
      return order(f1, target);
    }
    default: throw errno(E.EINVAL);
  }
}


/**
 * How many bytes from `start` (of `len`) lie in mappings of `mm` allowing
 * `prot`, before the first that does not: where Linux's pinning of the pages
 * stops with EFAULT (a hole, a protection, or a file mapping's pages past
 * the end of its file).
 */
function accessible(mm: MemoryMap, start: number, len: number, prot: number): number {
  const end = start + len;
  let at = start;
  for (const v of mm.vmas) {
    if (v.end <= at) continue;
    if (v.start > at || (v.prot & prot) !== prot) break;
    const limit = mman.pastEndOfFile(v);
    if (limit <= at) break;
    at = limit;
    if (at >= end || limit < v.end) break;
  }
  return Math.max(0, Math.min(at, end) - start);
}

/** Runs `fn` with `mm`'s pages in RAM (a forked process's private pages wait outside while another process runs). */
function inMemoryOf<T>(task: Task, mm: MemoryMap, fn: () => T): T {
  const overlays = task.kernel.phys.overlays;
  const own = task.process.mm;
  if (mm === own || overlays.size === 0) return fn();
  overlays.activate(mm);
  try {
    return fn();
  } finally {
    overlays.activate(own);
  }
}

/**
 * process_vm_readv/process_vm_writev: the remote vectors in order fill (or
 * drain) the local ones; a remote or local range that is not mapped with the
 * access needed ends the copy there, with the bytes copied so far, or EFAULT
 * if none were.
 */
function processVm(task: Task, a: SyscallArgs, write: boolean): SyscallResult {
  if (a.u64(5) !== 0n) throw errno(E.EINVAL);
  const local = readIovecs(task, a.ptr(1), a.u64(2));
  if (local.every(([, len]) => len === 0)) return 0;
  const remote = readIovecs(task, a.ptr(3), a.u64(4), false);
  if (remote.every(([, len]) => len === 0)) return 0;
  const target = lookup(task, a.int(0));
  if (!target.live) throw errno(E.ESRCH);
  if (!mayInspect(task, target.process)) throw errno(E.EPERM);
  const rmm = target.process.mm;
  const lmm = task.process.mm;
  // The plan: [remote address, local address, length] pieces, up to the first fault.
  const pieces: [number, number, number][] = [];
  const liov = local.filter(([, len]) => len > 0);
  const lok = liov.map(([base, len]) => accessible(lmm, base, len, write ? mman.PROT_READ : mman.PROT_WRITE));
  let li = 0;
  let loff = 0;
  let fault = false;
  for (const [rbase, rlen] of remote) {
    if (li >= liov.length || fault) break;
    if (rlen === 0) continue;
    const rok = accessible(rmm, rbase, rlen, write ? mman.PROT_WRITE : mman.PROT_READ);
    let roff = 0;
    while (roff < rlen && li < liov.length) {
      const [lbase, llen] = liov[li]!;
      if (roff >= rok || loff >= lok[li]!) {
        fault = true;
        break;
      }
      const n = Math.min(rok - roff, lok[li]! - loff, llen - loff);
      pieces.push([rbase + roff, lbase + loff, n]);
      roff += n;
      loff += n;
      if (loff === llen) {
        li++;
        loff = 0;
      }
    }
  }
  const total = pieces.reduce((s, [, , n]) => s + n, 0);
  if (total === 0) return fault ? errno(E.EFAULT) : 0;
  const mem = task.kernel.mem;
  if (write) {
    const data = pieces.map(([, l, n]) => mem.copyIn(l, n));
    inMemoryOf(task, rmm, () => pieces.forEach(([r], i) => mem.copyOut(r, data[i]!)));
  } else {
    const data = inMemoryOf(task, rmm, () => pieces.map(([r, , n]) => mem.copyIn(r, n)));
    pieces.forEach(([, l], i) => mem.copyOut(l, data[i]!));
  }
  return total;
}

export const miscFamily: Family = {
  kcmp: partial('KCMP_FS and KCMP_SIGHAND compare the working directory/root/umask and the signal actions (shared by threads, CLONE_FS and CLONE_SIGHAND); KCMP_IO and KCMP_SYSVSEM always answer 0, as for tasks with no I/O context and no semaphore undo list (SEM_UNDO adjustments are not looked at); the order of unequal objects is that of first use, as arbitrary as Linux\'s', kcmp),
  process_vm_readv: partial('copies from the target\'s memory within its mappings (EFAULT or a short count at a hole or a protection, as Linux); allowed unless the caller changed ids (every process runs as the kernel\'s one identity)', (t, a) => processVm(t, a, false)),
  process_vm_writev: partial('copies into the target\'s memory within its writable mappings (EFAULT or a short count at a hole or a protection, as Linux); allowed unless the caller changed ids (every process runs as the kernel\'s one identity)', (t, a) => processVm(t, a, true)),
};
