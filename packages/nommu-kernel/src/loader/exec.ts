import * as fs from 'node:fs';
import type { CpuBackend, CpuFeatures } from '@nommu/x86-cpu';
import { E, Errno } from '../errno.js';
import type { Vfs } from '../fs/vfs.js';
import { MemoryMap, PROT_EXEC, PROT_READ, PROT_WRITE, type Vma } from '../memory/mm.js';
import { PAGE_SIZE, pageDown, pageUp, type PhysicalMemory } from '../memory/ram.js';
import type { UserMemory } from '../memory/user.js';
import type { Process } from '../task/task.js';
import { ET_DYN, ExecFailure, PF_R, PF_W, PF_X, PT_PHDR, isElf, parseElf, type ElfImage } from './elf.js';

export const AT = {
  NULL: 0, PHDR: 3, PHENT: 4, PHNUM: 5, PAGESZ: 6, BASE: 7, FLAGS: 8, ENTRY: 9, UID: 11, EUID: 12,
  GID: 13, EGID: 14, PLATFORM: 15, HWCAP: 16, CLKTCK: 17, SECURE: 23, RANDOM: 25, HWCAP2: 26,
  EXECFN: 31, SYSINFO_EHDR: 33, MINSIGSTKSZ: 51,
} as const;

const BINPRM_BUF_SIZE = 256;
const MAX_INTERP_DEPTH = 4;
const MAX_ARG_BYTES = 2 * 1024 * 1024;

export interface ExecEnv {
  cpu: CpuBackend;
  phys: PhysicalMemory;
  mem: UserMemory;
  vfs: Vfs;
  features: CpuFeatures;
  vdso: { base: number; size: number };
  identity: { uid: number; gid: number; euid: number; egid: number };
  stackSize: number;
  brkSize: number;
  random(n: number): Uint8Array;
  /** The process calling execve (for /proc/self), or null for the first one. */
  self: Process | null;
  /** The address space holding the page at `addr`, if a process holds it. */
  holderOf(addr: number): MemoryMap | null;
}

export interface LoadedProgram {
  mm: MemoryMap;
  entry: number;
  sp: number;
  /** Guest path of the executable (after #! the script's interpreter). */
  exe: string;
  argv: string[];
  envp: string[];
  /** The auxiliary vector on its initial stack, AT_NULL excluded (/proc/<pid>/auxv). */
  auxv: [number, number][];
}

/**
 * An executable being loaded: open, with its beginning read. Segments past
 * that are read straight into RAM: a whole-file read first cost a 2 MB
 * busybox ~2-3 ms of Buffer and copy (and garbage collection) per exec.
 */
interface ExecFile {
  guest: string;
  /** The file's first bytes (HEAD_BYTES), or all of it when the headers needed more. */
  data: Uint8Array;
  fd: number;
  size: number;
}

/** How much of an executable is read before parsing: headers, program headers, PT_INTERP, a #! line. */
const HEAD_BYTES = 16384;

/** Reads the file at `pos` into all of `into`; false if it ended first or the host failed. */
function readAt(fd: number, into: Uint8Array, pos: number): boolean {
  try {
    for (let off = 0; off < into.length; ) {
      const n = fs.readSync(fd, into, off, into.length - off, pos + off);
      if (n === 0) return false;
      off += n;
    }
    return true;
  } catch {
    return false;
  }
}

/** Reads `len` bytes of the file at `pos` into RAM at `addr`, through the CPU backend's own copy when it has one (CpuBackend.readFile); false if the file ended first or the host failed. */
function readSegment(env: ExecEnv, fd: number, addr: number, len: number, pos: number): boolean {
  const into = env.mem.bytes(addr, len);
  const copied = env.cpu.readFile?.(fd, pos, addr, len) ?? -1;
  if (copied === len) return true;
  return copied >= 0 ? copied > 0 && readAt(fd, into.subarray(copied), pos + copied) : readAt(fd, into, pos);
}

function closeExec(file: ExecFile): void {
  try {
    fs.closeSync(file.fd);
  } catch {
    // already gone: nothing to give back
  }
}

/** The file's ELF image: parsed from its beginning, or from all of it when its headers lie further. */
function parseImage(env: ExecEnv, file: ExecFile): ElfImage {
  try {
    return parseElf(file.data, env.phys.size, file.size);
  } catch (e) {
    if (!(e instanceof ExecFailure) || file.data.length >= file.size) throw e;
  }
  const all = new Uint8Array(file.size);
  if (!readAt(file.fd, all, 0)) throw new ExecFailure(E.ENOEXEC, 'the file changed while it was loaded');
  file.data = all;
  return parseElf(all, env.phys.size);
}

/**
 * What execveat adds to execve's path: the directory a relative path starts
 * from, an already open file (AT_EMPTY_PATH), AT_SYMLINK_NOFOLLOW, and the
 * name Linux gives the program then (/dev/fd/N or /dev/fd/N/path).
 */
export interface ExecAt {
  /** The guest directory a relative path is resolved from (default: the caller's cwd). */
  dir?: string;
  /** The executable itself, open (AT_EMPTY_PATH): its guest path and a host name that reaches its inode. */
  file?: { guest: string; host: string };
  /** AT_SYMLINK_NOFOLLOW: a symlink as the last component is ELOOP. */
  noFollow?: boolean;
  /** The program's name (AT_EXECFN, a #! interpreter's argument), when not the path. */
  name?: string;
  /** That name is gone in the new image (its descriptor is close-on-exec): a #! script cannot run (ENOENT). */
  nameGone?: boolean;
}

/** Reads an executable from the guest filesystem, with execve's checks. */
function openExec(env: ExecEnv, cwd: string, path: string, noFollow = false): ExecFile {
  let resolved;
  try {
    resolved = env.vfs.resolve(cwd, path, !noFollow, env.self);
  } catch (e) {
    if (e instanceof Errno) throw new ExecFailure(e.errno, describe(e.errno));
    throw e;
  }
  if (resolved.node) {
    const e = noFollow && resolved.node.kind === 'symlink' ? E.ELOOP : E.EACCES;
    throw new ExecFailure(e, describe(e));
  }
  if (noFollow) {
    let link = false;
    try {
      link = fs.lstatSync(resolved.host).isSymbolicLink();
    } catch {
      // missing: ENOENT below
    }
    if (link) throw new ExecFailure(E.ELOOP, describe(E.ELOOP));
  }
  return readExec(env, resolved.guest, resolved.host);
}

/** execve's checks on the file a host name reaches (a regular file with an execute bit, no larger than RAM), and its contents. */
function readExec(env: ExecEnv, guest: string, host: string): ExecFile {
  let st: fs.Stats;
  try {
    st = fs.statSync(host);
  } catch {
    throw new ExecFailure(E.ENOENT, describe(E.ENOENT));
  }
  if (st.isDirectory()) throw new ExecFailure(E.EACCES, 'Is a directory');
  if (!st.isFile()) throw new ExecFailure(E.EACCES, describe(E.EACCES));
  if ((st.mode & 0o111) === 0) throw new ExecFailure(E.EACCES, describe(E.EACCES));
  if (st.size > env.phys.size) throw new ExecFailure(E.ENOMEM, 'file larger than RAM');
  let fd: number;
  try {
    fd = fs.openSync(host, 'r');
  } catch {
    throw new ExecFailure(E.EACCES, describe(E.EACCES));
  }
  const file: ExecFile = { guest, data: new Uint8Array(Math.min(st.size, HEAD_BYTES)), fd, size: st.size };
  if (readAt(fd, file.data, 0)) return file;
  closeExec(file);
  throw new ExecFailure(E.ENOEXEC, 'the file changed while it was loaded');
}

function describe(errno: number): string {
  switch (errno) {
    case E.ENOENT: return 'No such file or directory';
    case E.EACCES: return 'Permission denied';
    case E.ENOTDIR: return 'Not a directory';
    case E.ELOOP: return 'Too many levels of symbolic links';
    case E.ENAMETOOLONG: return 'File name too long';
    case E.ENOEXEC: return 'Exec format error';
    case E.ENOMEM: return 'Cannot allocate memory';
    default: return `error ${errno}`;
  }
}

/** `#!interp [arg]` -> [interp, arg?], or null if not a script. */
function parseShebang(data: Uint8Array): [string, string | null] | null {
  if (data[0] !== 0x23 || data[1] !== 0x21) return null;
  const head = Buffer.from(data.subarray(2, Math.min(data.length, BINPRM_BUF_SIZE)));
  let line = head.toString('latin1');
  const nl = line.indexOf('\n');
  if (nl >= 0) line = line.slice(0, nl);
  line = line.replace(/^[ \t]+/, '').replace(/[ \t]+$/, '');
  if (line.length === 0) throw new ExecFailure(E.ENOEXEC, 'empty #! line');
  const m = /^(\S+)(?:[ \t]+(.*))?$/.exec(line);
  return [m![1]!, m![2] ?? null];
}

/**
 * execve's loading half: finds the program (following #! scripts), checks
 * and loads it with its interpreter into fresh RAM and builds the initial
 * stack. Nothing of the calling process is touched: on failure all new RAM is
 * freed and an ExecFailure thrown.
 */
export function loadProgram(env: ExecEnv, cwd: string, path: string, argv: string[], envp: string[], at: ExecAt = {}): LoadedProgram {
  const opened: ExecFile[] = [];
  try {
    return load(env, cwd, path, argv, envp, at, opened);
  } finally {
    for (const f of opened) closeExec(f);
  }
}

function load(env: ExecEnv, cwd: string, path: string, argv: string[], envp: string[], at: ExecAt, opened: ExecFile[]): LoadedProgram {
  const open = (f: ExecFile): ExecFile => (opened.push(f), f);
  let file = open(at.file ? readExec(env, at.file.guest, at.file.host) : openExec(env, at.dir ?? cwd, path, at.noFollow));
  let execfn = at.name ?? path;
  for (let depth = 0; ; depth++) {
    const sb = parseShebang(file.data);
    if (!sb) break;
    if (at.nameGone) throw new ExecFailure(E.ENOENT, 'the script is reachable only through a close-on-exec descriptor');
    if (depth >= MAX_INTERP_DEPTH) throw new ExecFailure(E.ELOOP, 'too many levels of #! interpreters');
    const [interp, arg] = sb;
    argv = [interp, ...(arg !== null ? [arg] : []), execfn, ...argv.slice(1)];
    execfn = interp;
    file = open(openExec(env, cwd, interp));
  }
  if (!isElf(file.data)) throw new ExecFailure(E.ENOEXEC, 'Exec format error');
  const image = parseImage(env, file);
  let interp: { file: ExecFile; image: ElfImage } | null = null;
  if (image.interp !== null) {
    const f = open(openExec(env, '/', image.interp));
    if (!isElf(f.data)) throw new ExecFailure(E.ENOEXEC, `bad ELF interpreter ${image.interp}`);
    const im = parseImage(env, f);
    if (im.interp !== null) throw new ExecFailure(E.ENOEXEC, 'the ELF interpreter has an interpreter');
    interp = { file: f, image: im };
  }

  const mm = new MemoryMap(env.phys);
  try {
    const main = loadImage(env, mm, file, image);
    const base = interp ? loadImage(env, mm, interp.file, interp.image) : null;
    reserveBrk(env, mm, main.end);
    const stackSize = Math.max(env.stackSize, pageUp(image.stackSize));
    // A guard page below the stack: an overflow faults instead of running into other memory.
    const guard = mm.reserve(stackSize + PAGE_SIZE);
    const stackBase = guard + PAGE_SIZE;
    mm.insert(vma(guard, stackBase, 0, '', true));
    mm.insert(vma(stackBase, stackBase + stackSize, PROT_READ | PROT_WRITE, '[stack]', true));
    mm.insert(vma(env.vdso.base, env.vdso.base + env.vdso.size, PROT_READ | PROT_EXEC, '[vdso]', false));

    const phdrAddr = phdrAddress(image, main.bias);
    const auxv: [number, number][] = [
      [AT.SYSINFO_EHDR, env.vdso.base],
      [AT.MINSIGSTKSZ, 2048],
      [AT.HWCAP, env.features.hwcap],
      [AT.PAGESZ, PAGE_SIZE],
      [AT.CLKTCK, 100],
      [AT.PHDR, phdrAddr],
      [AT.PHENT, 56],
      [AT.PHNUM, image.phnum],
      [AT.BASE, base ? base.bias : 0],
      [AT.FLAGS, 0],
      [AT.ENTRY, image.entry + main.bias],
      [AT.UID, env.identity.uid],
      [AT.EUID, env.identity.euid],
      [AT.GID, env.identity.gid],
      [AT.EGID, env.identity.egid],
      [AT.SECURE, 0],
      [AT.RANDOM, 0],
      [AT.HWCAP2, env.features.hwcap2],
      [AT.EXECFN, 0],
      [AT.PLATFORM, 0],
    ];
    const sp = buildStack(env, stackBase + stackSize, argv, envp, execfn, auxv);
    const entry = base ? interp!.image.entry + base.bias : image.entry + main.bias;
    return { mm, entry, sp, exe: file.guest, argv, envp, auxv };
  } catch (e) {
    mm.release();
    if (e instanceof Errno) throw new ExecFailure(e.errno, describe(e.errno));
    throw e;
  }
}

function vma(start: number, end: number, prot: number, name: string, owned: boolean): Vma {
  return { start, end, prot, shared: false, name, fileOffset: 0, dev: 0, inode: 0, owned };
}

/** Places an image's PT_LOAD span in RAM: at its link address (ET_EXEC) or anywhere (ET_DYN). */
function loadImage(env: ExecEnv, mm: MemoryMap, file: ExecFile, image: ElfImage): { bias: number; end: number } {
  const span = image.maxVaddr - image.minVaddr;
  let start: number;
  if (image.type === ET_DYN) {
    start = mm.reserve(span);
  } else {
    if (!env.phys.allocAt(image.minVaddr, span) && !claimShared(env, mm, image.minVaddr, span)) {
      const range = `0x${image.minVaddr.toString(16)}-0x${image.maxVaddr.toString(16)}`;
      throw new ExecFailure(
        E.ENOMEM,
        env.phys.isFree(image.minVaddr, 1) || image.minVaddr < env.phys.base || image.maxVaddr > env.phys.base + env.phys.size
          ? `${file.guest} is linked at ${range}, outside RAM (see --mem)`
          : `${file.guest} is linked at ${range}, which is in use`,
      );
    }
    start = image.minVaddr;
  }
  const bias = start - image.minVaddr;
  let at = start;
  for (const p of image.loads) {
    const segStart = Math.max(pageDown(p.vaddr + bias), at);
    const segEnd = pageUp(p.vaddr + bias + p.memsz);
    if (segStart > at) mm.insert({ ...vma(at, segStart, 0, '', true) });
    const prot = (p.flags & PF_R ? PROT_READ : 0) | (p.flags & PF_W ? PROT_WRITE : 0) | (p.flags & PF_X ? PROT_EXEC : 0);
    if (segEnd > segStart) {
      mm.insert({ ...vma(segStart, segEnd, prot, file.guest, true), fileOffset: pageDown(p.offset) });
    }
    if (p.filesz > 0) {
      if (p.offset + p.filesz <= file.data.length) env.mem.copyOut(p.vaddr + bias, file.data.subarray(p.offset, p.offset + p.filesz));
      else if (!readSegment(env, file.fd, p.vaddr + bias, p.filesz, p.offset)) throw new ExecFailure(E.ENOEXEC, 'the file changed while it was loaded');
    }
    at = Math.max(at, segEnd);
  }
  // Code may have run at these addresses before (RAM is reused): forget its translations.
  env.cpu.invalidateCode(start, span);
  return { bias, end: start + span };
}

/**
 * An ET_EXEC image whose link address another process holds (a shell running
 * the same static program): the pages become shared, each process's bytes
 * swapped in while it runs. Possible only if every page is free or a process's.
 */
function claimShared(env: ExecEnv, mm: MemoryMap, start: number, span: number): boolean {
  const holders: (MemoryMap | null)[] = [];
  for (let a = start; a < start + span; a += PAGE_SIZE) {
    if (a < env.phys.base || a + PAGE_SIZE > env.phys.base + env.phys.size) return false;
    if (env.phys.isFree(a, PAGE_SIZE)) {
      holders.push(null);
      continue;
    }
    const h = env.holderOf(a);
    if (!h) return false;
    holders.push(h);
  }
  holders.forEach((h, i) => {
    const a = start + i * PAGE_SIZE;
    if (h === null) env.phys.allocAt(a, PAGE_SIZE);
    else env.phys.overlays.claim(mm, h, a / PAGE_SIZE, 1);
  });
  return true;
}

function phdrAddress(image: ElfImage, bias: number): number {
  const pt = image.phdrs.find((p) => p.type === PT_PHDR);
  if (pt) return pt.vaddr + bias;
  for (const p of image.loads) {
    if (image.phoff >= p.offset && image.phoff < p.offset + p.filesz) return p.vaddr + (image.phoff - p.offset) + bias;
  }
  return 0;
}

/** nommu brk: a fixed area reserved at exec, right after the program when that RAM is free. */
function reserveBrk(env: ExecEnv, mm: MemoryMap, end: number): void {
  const start = pageUp(end);
  const at = env.phys.allocAt(start, env.brkSize) ? start : mm.reserve(env.brkSize);
  mm.brkStart = mm.brk = at;
  mm.brkLimit = at + env.brkSize;
  mm.insert(vma(at, at + env.brkSize, PROT_READ | PROT_WRITE, '[heap]', true));
}

/** Writes argc, argv, envp, auxv and their strings below `top`; returns the initial rsp. */
function buildStack(
  env: ExecEnv,
  top: number,
  argv: string[],
  envp: string[],
  execfn: string,
  auxv: [number, number][],
): number {
  const mem = env.mem;
  let p = top - 8; // a NULL word at the very top, as Linux leaves
  mem.setU64(p, 0);
  const putString = (s: string): number => {
    const b = Buffer.from(s + '\0', 'utf8');
    p -= b.length;
    mem.copyOut(p, b);
    return p;
  };
  const total = [...argv, ...envp].reduce((n, s) => n + Buffer.byteLength(s) + 1, 0);
  if (total > MAX_ARG_BYTES) throw new ExecFailure(E.E2BIG, 'Argument list too long');
  const execfnAddr = putString(execfn);
  // argv then envp strings, ascending, as Linux lays them out (arg_start..env_end).
  const strings = [...argv, ...envp].map((s) => Buffer.from(s + '\0', 'utf8'));
  p -= strings.reduce((n, b) => n + b.length, 0);
  const addrs: number[] = [];
  let at = p;
  for (const b of strings) {
    mem.copyOut(at, b);
    addrs.push(at);
    at += b.length;
  }
  const argAddrs = addrs.slice(0, argv.length);
  const envAddrs = addrs.slice(argv.length);
  const platform = putString('x86_64');
  p = Math.floor(p / 16) * 16 - 16;
  const random = p;
  mem.copyOut(random, env.random(16));
  for (const a of auxv) {
    if (a[0] === AT.RANDOM) a[1] = random;
    else if (a[0] === AT.EXECFN) a[1] = execfnAddr;
    else if (a[0] === AT.PLATFORM) a[1] = platform;
  }
  const words = 1 + argv.length + 1 + envp.length + 1 + (auxv.length + 1) * 2;
  const sp = Math.floor((p - words * 8) / 16) * 16;
  let w = sp;
  const put = (v: number): void => {
    mem.setU64(w, v);
    w += 8;
  };
  put(argv.length);
  argAddrs.forEach(put);
  put(0);
  envAddrs.forEach(put);
  put(0);
  for (const [k, v] of auxv) {
    put(k);
    put(v);
  }
  put(AT.NULL);
  put(0);
  return sp;
}
