import * as fs from 'node:fs';
import { DeviceFile, E, errno, HostFile, mman, notPath, pageUp, PAGE_SIZE, PerKernel, stat, type Kernel, type SyscallArgs, type Task, type Vma } from '@nommu/kernel';
import { partial, supported, type Family } from './define.js';
import { checkLockedMap } from './mlock.js';

const { MAP_ANONYMOUS, MAP_FIXED, MAP_FIXED_NOREPLACE, MAP_SHARED, PROT_EXEC } = mman;
const MAP_TYPE = 0x0f;
const MAP_GROWSDOWN = 0x100;
const MAP_NORESERVE = 0x4000;
const MAP_LOCKED = 0x2000;
const MAP_STACK = 0x20000;
/**
 * Anonymous writable memory up to this size is backed by the host at mmap,
 * brk and mremap time (CpuBackend.prefault), as nommu Linux allocates it then:
 * the program's first touches then cost no page fault each. Stacks and
 * MAP_NORESERVE mappings, mostly never touched, are left to fault.
 */
const PREFAULT_MAX = 64 << 20;

const ZERO_SHARED = '/dev/zero (deleted)';

/** Backs [addr, addr+len) at once if it is no larger than PREFAULT_MAX. */
export function prefaultRange(k: Kernel, addr: number, len: number): void {
  if (len <= PREFAULT_MAX) k.cpu.prefault?.(addr, len);
}

/** Does the rule above back `v`'s new memory at once: anonymous, writable, not lazy? */
function prefaults(v: Vma): boolean {
  const anon = v.name === '' || v.name === ZERO_SHARED;
  return anon && !v.lazy && (v.prot & mman.PROT_WRITE) !== 0;
}

/** Backs [addr, addr+len) of `v` at once if the rule above covers it. */
function prefault(k: Kernel, v: Vma, addr: number, len: number): void {
  if (prefaults(v)) prefaultRange(k, addr, len);
}

/**
 * brk, nommu style: the break moves inside the area reserved at exec and
 * never past it; a request outside answers the current break, as Linux does.
 */
function brk(task: Task, a: SyscallArgs) {
  const mm = task.process.mm;
  const want = a.ptr(0);
  if (want > mm.brkLimit && task.kernel.strictNommu) {
    task.kernel.nommuViolations.push(`brk() past the area reserved at exec (${task.process.exe}, pid ${task.process.pid})`);
  }
  if (want < mm.brkStart || want > mm.brkLimit) return mm.brk;
  // Shrinking unmaps the pages past the new break: not sealed ones (mseal). Whole pages
  // only: the bytes past the break on its last page stay, as Linux keeps them.
  if (want < mm.brk && mm.sealedIn(pageUp(want), pageUp(mm.brk))) return mm.brk;
  if (want < mm.brk) task.kernel.mem.fill(pageUp(want), pageUp(mm.brk) - pageUp(want));
  const from = pageUp(mm.brk);
  if (want > from) prefaultRange(task.kernel, from, pageUp(want) - from);
  mm.brk = want;
  return mm.brk;
}

function mmap(task: Task, a: SyscallArgs) {
  const k = task.kernel;
  const mm = task.process.mm;
  const addr = a.ptr(0);
  const len = a.ptr(1);
  const prot = a.int(2);
  const flags = a.int(3);
  const fd = a.int(4);
  const off = a.long(5);
  const type = flags & MAP_TYPE;
  if (len === 0 || type === 0 || type > 3) throw errno(E.EINVAL);
  if (addr % PAGE_SIZE !== 0 && (flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)) !== 0) throw errno(E.EINVAL);
  if (off % PAGE_SIZE !== 0 || off < 0) throw errno(E.EINVAL);
  const size = pageUp(len);
  if (size > k.phys.size) throw errno(E.ENOMEM);
  const anon = (flags & MAP_ANONYMOUS) !== 0;
  const locked = (flags & MAP_LOCKED) !== 0;
  if (locked || mm.lockFuture) checkLockedMap(task, size);
  let file = anon ? null : notPath(task.process.files.get(fd));
  // /dev/zero maps anonymous memory (shared anonymous memory for MAP_SHARED), as Linux's mmap_zero.
  const zeroDev = file instanceof DeviceFile && file.device === 'zero';
  if (zeroDev && !file!.readable) throw errno(E.EACCES);
  if (zeroDev) file = null;
  if (file && !(file instanceof HostFile)) throw errno(E.ENODEV);
  if (file && !file.readable) throw errno(E.EACCES);
  const shared = (flags & MAP_TYPE) === MAP_SHARED;
  if (shared && file && (prot & mman.PROT_WRITE) !== 0) {
    // nommu Linux shares a writable file mapping only where the file's pages are RAM already (ramfs/tmpfs).
    if (file.mount?.kind !== 'tmpfs' || (flags & MAP_FIXED) !== 0) throw errno(E.ENODEV);
    return mapTmpfsShared(task, file, len, prot, off);
  }

  let start: number;
  let owned = true;
  if ((flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)) !== 0) {
    // MAP_FIXED may not replace sealed memory (mseal); MAP_FIXED_NOREPLACE replaces nothing anyway.
    if ((flags & MAP_FIXED_NOREPLACE) === 0 && mm.sealedIn(addr, addr + size)) throw errno(E.EPERM);
    if (mm.covers(addr, addr + size)) {
      if ((flags & MAP_FIXED_NOREPLACE) !== 0) throw errno(E.EEXIST);
      // Remapping inside the process's own reservation (what ld.so does): keep the RAM, reset the bytes.
      mm.unmapKeepingRam(addr, addr + size);
      k.mem.fill(addr, size);
      start = addr;
    } else if (k.strictNommu) {
      k.nommuViolations.push(`mmap(MAP_FIXED) outside the process's own mappings (${task.process.exe}, pid ${task.process.pid})`);
      throw errno(E.EINVAL);
    } else if (k.phys.isFree(addr, size)) {
      start = mm.reserve(size, addr);
    } else {
      throw errno(E.ENOMEM);
    }
  } else {
    start = mm.reserve(size);
  }
  let name = '';
  let inode = 0;
  let fileSize: number | undefined;
  if (file instanceof HostFile) {
    const st = file.stat();
    const n = Math.max(0, Math.min(len, st.size - off));
    if (n > 0) {
      try {
        fs.readSync(file.fd, k.mem.bytes(start, n), 0, n, off);
      } catch {
        mm.unmap(start, start + size);
        throw errno(E.EIO);
      }
    }
    name = file.guestPath;
    inode = st.ino;
    if ((st.mode & stat.S_IFMT) === stat.S_IFREG) fileSize = st.size;
  }
  if (zeroDev && shared) name = ZERO_SHARED;
  const lazy = (flags & (MAP_GROWSDOWN | MAP_NORESERVE | MAP_STACK)) !== 0;
  const vma: Vma = { start, end: start + size, prot, shared, name, fileOffset: off, dev: 0, inode, owned, ...(fileSize !== undefined ? { fileSize } : {}), ...(lazy ? { lazy } : {}) };
  if (locked) vma.locked = true;
  mm.insert(vma);
  if ((prot & PROT_EXEC) !== 0) k.cpu.invalidateCode(start, size);
  prefault(k, vma, start, size);
  return start;
}

function munmap(task: Task, a: SyscallArgs) {
  const addr = a.ptr(0);
  const len = a.ptr(1);
  if (addr % PAGE_SIZE !== 0 || len === 0) throw errno(E.EINVAL);
  const mm = task.process.mm;
  const end = addr + pageUp(len);
  if (mm.sealedIn(addr, end)) throw errno(E.EPERM);
  writeBackShared(task, addr, end);
  // One of several mappings of the same range (see mapTmpfsShared): the others keep it.
  const again = mm.vmas.find((v) => v.start === addr && v.end === end && (v.maps ?? 1) > 1);
  if (again) again.maps! -= 1;
  else mm.unmap(addr, end);
  return 0;
}

/**
 * Shared writable mappings of tmpfs files (/dev/shm: shm_open, sem_open), as
 * nommu Linux gives them on ramfs: one copy of the file's mapped range in
 * guest RAM, which every process that maps the file maps, at the same
 * address. A copy lives while some process maps it (fork shares it like
 * shared anonymous memory); it is filled from the file when it is made and
 * written back to the file at msync, munmap and exit_group. read() and
 * write() on the file meanwhile do not see it.
 */
interface SharedCopy {
  start: number;
  end: number;
  /** The file offset at `start`. */
  offset: number;
  hostPath: string;
  inode: number;
}

const sharedCopies = new PerKernel<Map<string, SharedCopy>>(() => new Map());
const copiesOf = (k: Kernel): Map<string, SharedCopy> => sharedCopies.of(k);

/** A copy is alive while a mapping of it is: a process may have exited or unmapped it without telling. */
function alive(k: Kernel, c: SharedCopy): boolean {
  for (const p of k.processes.values()) {
    for (const v of p.mm.vmas) if (v.shared && v.inode === c.inode && v.start >= c.start && v.end <= c.end) return true;
  }
  return false;
}

function mapTmpfsShared(task: Task, file: HostFile, len: number, prot: number, off: number): number {
  const k = task.kernel;
  const mm = task.process.mm;
  const st = file.stat();
  if ((st.mode & stat.S_IFMT) !== stat.S_IFREG) throw errno(E.ENODEV);
  const size = pageUp(len);
  const key = `${st.dev}:${st.ino}`;
  const copies = copiesOf(k);
  let c = copies.get(key);
  if (c && !alive(k, c)) c = undefined;
  let start: number;
  if (c) {
    // Another mapping of the file: the same RAM, which must hold the whole range (it cannot grow under its mappers).
    start = c.start + (off - c.offset);
    if (off < c.offset || start + size > c.end) throw errno(E.ENOMEM);
    // The same range again in this process comes back at the same address, counted on its mapping (the
    // union of the protections); another overlap of it cannot be made without an MMU.
    const mine = mm.vmas.filter((v) => v.start < start + size && v.end > start);
    if (mine.length === 1 && mine[0]!.start === start && mine[0]!.end === start + size && mine[0]!.inode === st.ino) {
      const v = mine[0]!;
      v.maps = (v.maps ?? 1) + 1;
      if ((v.prot | prot) !== v.prot) mm.protect(start, start + size, v.prot | prot);
      return start;
    }
    if (mine.length > 0) throw errno(E.ENOMEM);
    k.phys.share(start, size);
  } else {
    start = mm.reserve(size);
    const n = Math.max(0, Math.min(size, st.size - off));
    try {
      if (n > 0) fs.readSync(file.fd, k.mem.bytes(start, n), 0, n, off);
    } catch {
      k.phys.release(mm, start, size);
      throw errno(E.EIO);
    }
    c = { start, end: start + size, offset: off, hostPath: file.hostPath, inode: st.ino };
    // Copies nobody maps any more go when the record grows (sem_open makes a file per semaphore).
    if (copies.size >= 64) for (const [k2, old] of copies) if (!alive(k, old)) copies.delete(k2);
    copies.set(key, c);
  }
  mm.insert({ start, end: start + size, prot, shared: true, name: file.guestPath, fileOffset: off, dev: 0, inode: st.ino, owned: true });
  return start;
}

/** Writes the shared copies that [start, end) of the caller's map covers back to their files. */
export function writeBackShared(task: Task, start: number, end: number): void {
  const k = task.kernel;
  const copies = sharedCopies.peek(k);
  if (!copies || copies.size === 0) return;
  for (const v of task.process.mm.vmas) {
    if (!v.shared || v.end <= start || v.start >= end) continue;
    for (const c of copies.values()) {
      if (c.inode !== v.inode || v.start < c.start || v.end > c.end) continue;
      const from = Math.max(v.start, start);
      try {
        const fd = fs.openSync(c.hostPath, 'r+');
        try {
          // Up to the file's end: what a mapping holds past it is not the file's (Linux does not keep it either).
          const to = Math.min(v.end, end, c.start + (fs.fstatSync(fd).size - c.offset));
          if (to > from) fs.writeSync(fd, k.mem.bytes(from, to - from), 0, to - from, c.offset + (from - c.start));
        } finally {
          fs.closeSync(fd);
        }
      } catch {
        // The file is gone (shm_unlink, sem_unlink): nobody can read it back.
      }
    }
  }
}

/** exit_group and the last thread's exit write back what the process shares of tmpfs files. */
export function writeBackAllShared(task: Task): void {
  writeBackShared(task, 0, Number.MAX_SAFE_INTEGER);
}

function mprotect(task: Task, a: SyscallArgs) {
  const addr = a.ptr(0);
  const len = pageUp(a.ptr(1));
  if (addr % PAGE_SIZE !== 0) throw errno(E.EINVAL);
  if (len === 0) return 0;
  if (task.process.mm.sealedIn(addr, addr + len)) throw errno(E.EPERM);
  task.process.mm.protect(addr, addr + len, a.int(2));
  if ((a.int(2) & PROT_EXEC) !== 0) task.kernel.cpu.invalidateCode(addr, len);
  return 0;
}

/*
 * Protection keys, as on a CPU without them (the guest's PKRU is not this
 * kernel's to switch): no key to hand out, so only key -1 is valid.
 */
const PKEY_ACCESS_MASK = 3; // PKEY_DISABLE_ACCESS | PKEY_DISABLE_WRITE

function pkeyAlloc(_task: Task, a: SyscallArgs): number {
  if (a.ptr(0) !== 0 || (a.ptr(1) & ~PKEY_ACCESS_MASK) !== 0) throw errno(E.EINVAL);
  throw errno(E.ENOSPC);
}

function pkeyFree(): number {
  throw errno(E.EINVAL);
}

function pkeyMprotect(task: Task, a: SyscallArgs) {
  if (a.int(3) !== -1) throw errno(E.EINVAL);
  return mprotect(task, a);
}

const MREMAP_MAYMOVE = 1;
const MREMAP_FIXED = 2;
const MREMAP_DONTUNMAP = 4;

/**
 * mremap without an MMU: shrink in place, grow in place when the RAM after the
 * mapping is free, else move (MREMAP_MAYMOVE) by copying to fresh RAM. Every
 * fresh page a copy touches costs page faults, so a moved mapping goes where
 * it has room to grow in place again (MemoryMap.reserveToGrow): a buffer that
 * realloc grows step by step moves O(log n) times, not at every step.
 */
function mremap(task: Task, a: SyscallArgs) {
  const k = task.kernel;
  const mm = task.process.mm;
  const old = a.ptr(0);
  const oldLen = pageUp(a.ptr(1));
  const newLen = pageUp(a.ptr(2));
  const flags = a.int(3);
  if ((flags & ~(MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP)) !== 0 || old % PAGE_SIZE !== 0) throw errno(E.EINVAL);
  if ((flags & MREMAP_FIXED) !== 0 && (flags & MREMAP_MAYMOVE) === 0) throw errno(E.EINVAL);
  if ((flags & (MREMAP_FIXED | MREMAP_DONTUNMAP)) !== 0) throw errno(E.EINVAL); // needs page tables
  if (newLen === 0 || oldLen === 0) throw errno(E.EINVAL);
  const v = mm.find(old);
  if (!v || !mm.covers(old, old + oldLen) || old + oldLen > v.end) throw errno(E.EFAULT);
  if (v.sealed) throw errno(E.EPERM);
  if (newLen <= oldLen) {
    if (newLen < oldLen) mm.unmap(old + newLen, old + oldLen);
    return old;
  }
  const end = old + oldLen;
  if (end === v.end && k.phys.allocAt(end, newLen - oldLen)) {
    mm.extend(v, old + newLen);
    prefault(k, v, end, newLen - oldLen);
    mm.markGrowable(v, prefaults(v));
    return old;
  }
  if ((flags & MREMAP_MAYMOVE) === 0) throw errno(E.ENOMEM);
  const to = mm.reserveToGrow(newLen);
  k.mem.copyOut(to, k.mem.bytes(old, oldLen));
  const moved: Vma = { ...v, start: to, end: to + newLen, fileOffset: v.fileOffset + (old - v.start) };
  mm.insert(moved);
  mm.unmap(old, end);
  if ((v.prot & PROT_EXEC) !== 0) k.cpu.invalidateCode(to, newLen);
  prefault(k, moved, to, newLen);
  mm.markGrowable(moved, prefaults(moved));
  return to;
}

const MADV_DONTNEED = 4;
/** The advice that discards memory (Linux's is_discard): refused on sealed anonymous memory the process may not write. */
const DISCARDING = [MADV_DONTNEED, 8 /* FREE */, 9 /* REMOVE */, 10 /* DONTFORK */, 18 /* WIPEONFORK */, 24 /* DONTNEED_LOCKED */, 102 /* GUARD_INSTALL */];

/** Anonymous memory: not a file's (shared anonymous memory is shmem's, a file to Linux). */
const isAnonymous = (v: Vma): boolean => !v.shared && (v.name === '' || v.name === '[heap]' || v.name === '[stack]');

/**
 * madvise of [addr, addr+len) of the caller's map (also process_madvise on
 * itself): EINVAL unaligned, EPERM for discarding advice on sealed read-only
 * anonymous memory, ENOMEM for a hole.
 */
export function madviseRange(task: Task, addr: number, rawLen: number, advice: number): void {
  if (!ADVICE.has(advice)) throw errno(E.EINVAL);
  const len = pageUp(rawLen);
  if (addr % PAGE_SIZE !== 0) throw errno(E.EINVAL);
  const mm = task.process.mm;
  if (len > 0 && DISCARDING.includes(advice)) {
    for (const v of mm.vmas) {
      if (v.sealed && v.start < addr + len && addr < v.end && isAnonymous(v) && (v.prot & mman.PROT_WRITE) === 0) throw errno(E.EPERM);
    }
  }
  if (len > 0 && !mm.covers(addr, addr + len)) throw errno(E.ENOMEM);
  // MADV_COLD and MADV_PAGEOUT refuse locked memory (can_madv_lru_vma).
  if ((advice === 20 || advice === 21) && mm.vmas.some((v) => v.locked && v.start < addr + len && addr < v.end)) throw errno(E.EINVAL);
  // Private anonymous memory reads back as zeros after MADV_DONTNEED, and its pages go back to the host.
  if (advice === MADV_DONTNEED && len > 0) {
    for (const v of mm.vmas) {
      const from = Math.max(v.start, addr);
      const to = Math.min(v.end, addr + len);
      if (from < to && v.owned && isAnonymous(v)) task.kernel.cpu.zero(from, to - from);
    }
  }
  if ((advice === MADV_DONTFORK || advice === MADV_DOFORK) && len > 0) mm.dontFork(addr, addr + len, advice === MADV_DONTFORK);
}

const MADV_DONTFORK = 10;
const MADV_DOFORK = 11;
/**
 * The advice taken: NORMAL..DONTNEED (0-4), FREE, REMOVE, DONTFORK, DOFORK,
 * MERGEABLE, UNMERGEABLE, HUGEPAGE, NOHUGEPAGE, DONTDUMP, DODUMP, KEEPONFORK,
 * COLD, PAGEOUT, POPULATE_READ, POPULATE_WRITE, DONTNEED_LOCKED, COLLAPSE.
 * Not: WIPEONFORK (18: a forked child's copy would have to read zeros, which
 * fork does not give; EINVAL lets callers such as OpenSSL fall back),
 * HWPOISON and SOFT_OFFLINE (a kernel without CONFIG_MEMORY_FAILURE), the
 * guard regions of Linux 6.13 (102, 103), and unknown values.
 */
const ADVICE = new Set([0, 1, 2, 3, 4, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 19, 20, 21, 22, 23, 24, 25]);

function madvise(task: Task, a: SyscallArgs) {
  madviseRange(task, a.ptr(0), a.ptr(1), a.int(2));
  return 0;
}

export const memory: Family = {
  brk: supported(brk),
  mmap: partial('file mappings are private copies; a writable shared mapping of a tmpfs file (/dev/shm) is one copy in RAM that every mapper shares, written back at msync, munmap and exit; other writable shared file mappings answer ENODEV as on nommu Linux; pages wholly past the end of the file raise SIGBUS (the file\'s size when mapped counts: growing it later does not make them valid)', mmap),
  munmap: supported(munmap),
  mremap: partial('MREMAP_FIXED and MREMAP_DONTUNMAP need page tables: EINVAL', mremap),
  pkey_alloc: partial('no protection keys to hand out (ENOSPC), as on a CPU without them', pkeyAlloc),
  pkey_free: partial('no key is ever allocated: EINVAL', pkeyFree),
  pkey_mprotect: partial('key -1 is mprotect; any other key was never allocated: EINVAL', pkeyMprotect),
  mprotect: partial('enforced per page by the CPU backend (SIGSEGV with SEGV_ACCERR), but not on the kernel\'s own copies (a read-only buffer gives no EFAULT); MAP_SHARED pages shared across fork share one protection; past the ranges a backend can hold (Unicorn: 512) some pages stay more permissive; on Unicorn a handler that fixes the page and returns re-runs its translation block from the start', mprotect),
  madvise: partial('known advice is accepted; MADV_DONTNEED zeroes private anonymous memory, MADV_DONTFORK keeps a mapping from forked children; MADV_WIPEONFORK, MADV_HWPOISON, MADV_SOFT_OFFLINE and the 6.13 guard regions answer EINVAL', madvise),
};
