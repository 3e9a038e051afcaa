/**
 * Memory queries and hints: mincore, mseal, cachestat, process_madvise,
 * process_mrelease. Without swap every page of guest RAM stays where it is;
 * what these report is derived from the mappings and from which pages the
 * CPU backend holds host memory for.
 */
import { CAP_SYS_NICE, capable, E, errno, HostFile, mman, notPath, PAGE_SIZE, pageUp, stat, type SyscallArgs, type SyscallResult, type Task, type Vma } from '@nommu/kernel';
import { partial, type Family } from './define.js';
import { readIovecs } from './iovec.js';
import { madviseRange } from './memory.js';
import { pidfdTarget } from './pidfd.js';

/** Linux's TASK_SIZE_MAX on x86-64 (4-level paging): the end of user addresses. */
const TASK_SIZE = 0x7ffffffff000;

/** Anonymous memory (private, not a file's; /dev/zero's shared memory is shmem, which mincore treats alike). */
const isAnonymous = (v: Vma): boolean => v.name === '' || v.name === '[heap]' || v.name === '[stack]' || v.name === '/dev/zero (deleted)';

/**
 * The residency bytes of [a, b) of `v`: a file's pages count as in the page
 * cache up to the end of the file (the host's cache is not visible; the
 * mapping's copy is RAM); anonymous memory is resident where the backend
 * holds host memory for it (CpuBackend.dataExtents), so a page never written
 * reads 0 as on Linux; without dataExtents every page reads 1.
 */
function residency(task: Task, v: Vma, a: number, b: number): Uint8Array {
  const out = new Uint8Array((b - a) / PAGE_SIZE);
  if (!v.owned) return out.fill(1);
  if (!isAnonymous(v)) {
    const eof = mman.pastEndOfFile(v);
    if (eof > a) out.fill(1, 0, (Math.min(eof, b) - a) / PAGE_SIZE);
    return out;
  }
  const cpu = task.kernel.cpu;
  if (!cpu.dataExtents) return out.fill(1);
  const ext = cpu.dataExtents(a, b - a);
  for (let i = 0; i < ext.length; i += 2) {
    const from = Math.max(a, Math.floor(ext[i]! / PAGE_SIZE) * PAGE_SIZE);
    const to = Math.min(b, Math.ceil(ext[i + 1]! / PAGE_SIZE) * PAGE_SIZE);
    if (to > from) out.fill(1, (from - a) / PAGE_SIZE, (to - a) / PAGE_SIZE);
  }
  return out;
}

/**
 * mincore: EINVAL unaligned, ENOMEM past user addresses or at the first page
 * no mapping covers (the bytes for the mappings before it are written), EFAULT
 * for the vector.
 */
function mincore(task: Task, a: SyscallArgs): SyscallResult {
  const start = a.u64(0);
  const len = a.u64(1);
  const vec = a.u64(2);
  if (start % BigInt(PAGE_SIZE) !== 0n) throw errno(E.EINVAL);
  if (start + len > BigInt(TASK_SIZE)) throw errno(E.ENOMEM);
  const pages = Number((len + BigInt(PAGE_SIZE - 1)) / BigInt(PAGE_SIZE));
  if (vec + BigInt(pages) > BigInt(TASK_SIZE)) throw errno(E.EFAULT);
  const mm = task.process.mm;
  const mem = task.kernel.mem;
  let at = Number(start);
  const end = at + pages * PAGE_SIZE;
  let out = Number(vec);
  while (at < end) {
    const v = mm.find(at);
    if (!v) throw errno(E.ENOMEM);
    const to = Math.min(v.end, end);
    const bytes = residency(task, v, at, to);
    mem.copyOut(out, bytes);
    out += bytes.length;
    at = to;
  }
  return 0;
}

/** mseal: flags 0, an aligned start, a range that is wholly mapped (ENOMEM); len rounds up to pages. */
function mseal(task: Task, a: SyscallArgs): SyscallResult {
  const start = a.u64(0);
  const lenIn = a.u64(1);
  if (a.u64(2) !== 0n) throw errno(E.EINVAL);
  if (start % BigInt(PAGE_SIZE) !== 0n) throw errno(E.EINVAL);
  const len = (lenIn + BigInt(PAGE_SIZE - 1)) & ~BigInt(PAGE_SIZE - 1) & ((1n << 64n) - 1n);
  if (lenIn !== 0n && len === 0n) throw errno(E.EINVAL);
  const end = start + len;
  if (end >= 1n << 64n) throw errno(E.EINVAL);
  if (end === start) return 0;
  const mm = task.process.mm;
  if (end > BigInt(Number.MAX_SAFE_INTEGER) || !mm.covers(Number(start), Number(end))) throw errno(E.ENOMEM);
  mm.seal(Number(start), Number(end));
  return 0;
}

/** Write permission by the mode bits (the caller is not root). */
function mayWrite(st: { mode: number; uid: number; gid: number }, id: { euid: number; egid: number }): boolean {
  if (st.uid === id.euid) return (st.mode & 0o200) !== 0;
  if (st.gid === id.egid) return (st.mode & 0o020) !== 0;
  return (st.mode & 0o002) !== 0;
}

/** sizeof(struct cachestat_range) (off, len) and struct cachestat (five u64). */
const CACHESTAT_RANGE = 16;
const CACHESTAT_SIZE = 40;

/**
 * cachestat: the host's page cache is not visible, so a regular file's pages
 * all count as cached and clean (nr_cache: the pages of the range inside the
 * file; dirty, writeback, evicted and recently evicted 0). Other files have
 * no pages (zeros), as a pipe's or socket's mapping has none.
 */
function cachestat(task: Task, a: SyscallArgs): SyscallResult {
  const file = notPath(task.process.files.get(a.int(0)));
  const mem = task.kernel.mem;
  const range = mem.copyIn(a.ptr(1), CACHESTAT_RANGE);
  if (a.uint(3) !== 0) throw errno(E.EINVAL);
  const dv = new DataView(range.buffer);
  const off = dv.getBigUint64(0, true);
  const len = dv.getBigUint64(8, true);
  const first = off >> 12n;
  const last = len === 0n ? (1n << 64n) - 1n : ((off + len - 1n) & ((1n << 64n) - 1n)) >> 12n;
  let cached = 0n;
  if (file instanceof HostFile) {
    const st = file.stat();
    // can_do_cachestat: opened for writing, or the caller owns the file or may write it.
    const id = task.kernel.identity;
    if (id.euid !== 0 && !file.writable && st.uid !== id.euid && !mayWrite(st, id)) throw errno(E.EPERM);
    if ((st.mode & stat.S_IFMT) === stat.S_IFREG) {
      const filePages = BigInt(pageUp(st.size) / PAGE_SIZE);
      const hi = last < filePages - 1n ? last : filePages - 1n;
      if (hi >= first) cached = hi - first + 1n;
    }
  }
  const out = new Uint8Array(CACHESTAT_SIZE);
  new DataView(out.buffer).setBigUint64(0, cached, true);
  mem.copyOut(a.ptr(2), out);
  return 0;
}

const MADV_WILLNEED = 3;
const MADV_COLD = 20;
const MADV_PAGEOUT = 21;
const MADV_COLLAPSE = 25;
/** The advice process_madvise may give another process (process_madvise_remote_valid). */
const REMOTE_ADVICE = [MADV_COLD, MADV_PAGEOUT, MADV_WILLNEED, MADV_COLLAPSE];

/**
 * The process a pidfd names, with its memory: ESRCH once it has exited (a
 * zombie has no mm), as pidfd_get_task and mm_access answer.
 */
function livePidfdProcess(task: Task, fd: number) {
  const p = pidfdTarget(task, fd).target;
  if (p.exitStatus !== null) throw errno(E.ESRCH);
  return p;
}

/**
 * process_madvise: advice for ranges of the pidfd's process. On the caller
 * itself any advice is madvise's; on another process only COLD, PAGEOUT,
 * WILLNEED and COLLAPSE (EINVAL otherwise), which change nothing here (no
 * swap, no huge pages) once the ranges are checked, and CAP_SYS_NICE is
 * needed (EPERM). Returns the bytes advised; an error after some were
 * advised returns their count.
 */
function processMadvise(task: Task, a: SyscallArgs): SyscallResult {
  const k = task.kernel;
  const vlen = a.ptr(2);
  const advice = a.int(3);
  if (a.uint(4) !== 0) throw errno(E.EINVAL);
  const iov = readIovecs(task, a.ptr(1), vlen);
  const p = livePidfdProcess(task, a.int(0));
  const self = p.mm === task.process.mm;
  if (!self && !REMOTE_ADVICE.includes(advice)) throw errno(E.EINVAL);
  if (!self && !capable(k.identity, CAP_SYS_NICE)) throw errno(E.EPERM);
  let done = 0;
  for (const [base, len] of iov) {
    try {
      if (self) madviseRange(task, base, len, advice);
      else checkRemoteAdvice(p.mm, base, len, advice);
    } catch (e) {
      if (done > 0) return done;
      throw e;
    }
    done += len;
  }
  return done;
}

/** COLD and PAGEOUT skip nothing here but answer EINVAL for locked memory (can_madv_lru_vma), as Linux. */
function checkRemoteAdvice(mm: Task['process']['mm'], addr: number, rawLen: number, advice: number): void {
  if (addr % PAGE_SIZE !== 0) throw errno(E.EINVAL);
  const len = pageUp(rawLen);
  if (len === 0) return;
  if (!mm.covers(addr, addr + len)) throw errno(E.ENOMEM);
  if (advice === MADV_COLD || advice === MADV_PAGEOUT) {
    for (const v of mm.vmas) if (v.locked && v.start < addr + len && addr < v.end) throw errno(E.EINVAL);
  }
}

/**
 * process_mrelease: Linux reaps the memory of a process that is dying
 * (killed, exiting) ahead of its exit. Here a SIGKILL ends the process at
 * once, its memory freed with it, so a process is never seen dying: a live
 * one answers EINVAL and an exited one ESRCH, as on Linux.
 */
function processMrelease(task: Task, a: SyscallArgs): SyscallResult {
  if (a.uint(1) !== 0) throw errno(E.EINVAL);
  livePidfdProcess(task, a.int(0));
  throw errno(E.EINVAL);
}

export const memCallsFamily: Family = {
  mincore: partial('a file mapping reports every page inside the file as cached (the host page cache is not visible); anonymous memory is resident where the CPU backend holds host memory for it (CpuBackend.dataExtents; without it every page reads 1): a written page reads 1 and a never-touched one 0 as on Linux, except that pages backed ahead of use (writable anonymous mappings up to 64 MiB at mmap) and RAM a previous mapping used that the backend zeroed in place (Unicorn, runs under 64 KiB) read 1, and on the native backend a page only read reads 0 where Linux maps the zero page (1)', mincore),
  mseal: partial('sealed mappings refuse munmap, mremap, mprotect, MAP_FIXED over them and discarding madvise on read-only anonymous memory with EPERM; a brk that would shrink the heap over sealed pages keeps the break; the checks are made before any change (Linux may change mappings before the sealed one first); shmdt is not checked', mseal),
  cachestat: partial('a regular file\'s pages all count as cached and clean (the host page cache is not visible); other files have no pages', cachestat),
  process_madvise: partial('on another process COLD, PAGEOUT, WILLNEED and COLLAPSE are checked and change nothing (no swap, no huge pages); on the caller, madvise\'s advice', processMadvise),
  process_mrelease: partial('a killed process ends at once here, so none is ever seen dying: a live process answers EINVAL, an exited one ESRCH', processMrelease),
};
