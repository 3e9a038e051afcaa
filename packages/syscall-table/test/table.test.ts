import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  ENUM_SETS,
  errnoMessage,
  errnoName,
  FLAG_SETS,
  MAX_SYSCALL_NR,
  NR,
  signalByName,
  signalName,
  syscallByName,
  syscallByNr,
  SYSCALLS,
} from '../src/table/index.js';

const HEADER = '/usr/include/x86_64-linux-gnu/asm/unistd_64.h';

function headerNumbers(): Map<string, number> {
  const out = new Map<string, number>();
  for (const m of readFileSync(HEADER, 'utf8').matchAll(/^#define __NR_(\w+)\s+(\d+)\s*$/gm)) {
    out.set(m[1] ?? '', Number(m[2]));
  }
  return out;
}

describe('syscall numbers', () => {
  const header = existsSync(HEADER) ? headerNumbers() : null;

  const skipped = header === null ? ` (skipped: ${HEADER} is not installed)` : '';

  it.skipIf(header === null)(`matches every __NR_ in ${HEADER}${skipped}`, () => {
    const nums = header ?? new Map<string, number>();
    expect(nums.size).toBeGreaterThan(300);
    for (const [name, nr] of nums) {
      expect({ name, nr: syscallByName(name)?.nr }).toEqual({ name, nr });
      expect({ nr, name: syscallByNr(nr)?.name }).toEqual({ nr, name });
    }
  });

  it.skipIf(header === null)(`has no name the header numbers differently, nor a number it names differently${skipped}`, () => {
    const nums = header ?? new Map<string, number>();
    const byNr = new Map([...nums].map(([name, nr]) => [nr, name]));
    for (const def of SYSCALLS) {
      const nr = nums.get(def.name);
      if (nr !== undefined) expect({ name: def.name, nr: def.nr }).toEqual({ name: def.name, nr });
      const name = byNr.get(def.nr);
      if (name !== undefined) expect(def.name).toBe(name);
    }
  });

  it('has the numbers added after the 6.1 headers, up to mseal', () => {
    const newer: Record<string, number> = {
      cachestat: 451,
      fchmodat2: 452,
      map_shadow_stack: 453,
      futex_wake: 454,
      futex_wait: 455,
      futex_requeue: 456,
      statmount: 457,
      listmount: 458,
      lsm_get_self_attr: 459,
      lsm_set_self_attr: 460,
      lsm_list_modules: 461,
      mseal: 462,
    };
    for (const [name, nr] of Object.entries(newer)) expect(NR[name]).toBe(nr);
    expect(MAX_SYSCALL_NR).toBe(462);
  });

  it('is sorted by number, without x32 numbers or invented holes', () => {
    const nrs = SYSCALLS.map((d) => d.nr);
    expect(nrs).toEqual([...nrs].sort((a, b) => a - b));
    expect(new Set(nrs).size).toBe(nrs.length);
    expect(nrs.every((n) => n >= 0 && n < 512)).toBe(true);
    // Linux 6.10 leaves 335..423 unused on x86-64 and defines everything else up to 462.
    const expected = [...Array.from({ length: 335 }, (_, i) => i), ...Array.from({ length: 39 }, (_, i) => 424 + i)];
    expect(nrs).toEqual(expected);
  });

  it('has unique names and NR agrees with the lookups', () => {
    const names = SYSCALLS.map((d) => d.name);
    expect(new Set(names).size).toBe(names.length);
    expect(NR.read).toBe(0);
    expect(NR.exit_group).toBe(231);
    expect(syscallByNr(257)?.name).toBe('openat');
    expect(syscallByName('nope')).toBeUndefined();
    expect(syscallByNr(400)).toBeUndefined();
  });
});

describe('signatures', () => {
  it('has at most six arguments, with unique names, for every syscall', () => {
    for (const def of SYSCALLS) {
      expect(def.args.length, def.name).toBeLessThanOrEqual(6);
      expect(new Set(def.args.map((a) => a.name)).size, def.name).toBe(def.args.length);
    }
  });

  it('points length and count references at other arguments', () => {
    for (const def of SYSCALLS) {
      def.args.forEach((a, i) => {
        const t = a.type;
        const ref = t.kind === 'buf_in' || t.kind === 'buf_out' ? t.len : t.kind === 'iovec' ? t.count : null;
        if (ref === null) return;
        expect(Number.isInteger(ref) && ref >= 0 && ref < def.args.length && ref !== i, `${def.name}.${a.name}`).toBe(true);
      });
    }
  });

  it('names only flag and enum sets that exist', () => {
    for (const def of SYSCALLS) {
      for (const a of def.args) {
        if (a.type.kind === 'flags') expect(FLAG_SETS[a.type.set], `${def.name}.${a.name}`).toBeDefined();
        if (a.type.kind === 'enum') expect(ENUM_SETS[a.type.set], `${def.name}.${a.name}`).toBeDefined();
      }
    }
  });

  it('gives the common calls their kernel signatures', () => {
    const sig = (name: string): string =>
      (syscallByName(name)?.args ?? []).map((a) => `${a.name}:${a.type.kind}`).join(' ');
    expect(sig('read')).toBe('fd:fd buf:buf_out count:size');
    expect(sig('openat')).toBe('dfd:dirfd filename:path flags:flags mode:mode');
    expect(sig('mmap')).toBe('addr:ptr len:size prot:flags flags:flags fd:fd off:hex');
    expect(sig('execve')).toBe('filename:path argv:strv envp:strv');
    expect(sig('clone')).toBe('clone_flags:flags newsp:ptr parent_tidptr:ptr child_tidptr:ptr tls:ptr');
    expect(syscallByName('exit_group')?.ret).toBe('noreturn');
    expect(syscallByName('mmap')?.ret).toBe('ptr');
    expect(syscallByName('brk')?.ret).toBe('ptr');
  });
});

describe('errno and signal names', () => {
  it('names errnos and gives glibc messages', () => {
    expect(errnoName(2)).toBe('ENOENT');
    expect(errnoMessage(2)).toBe('No such file or directory');
    expect(errnoName(11)).toBe('EAGAIN');
    expect(errnoMessage(11)).toBe('Resource temporarily unavailable');
    expect(errnoName(38)).toBe('ENOSYS');
    expect(errnoMessage(38)).toBe('Function not implemented');
    expect(errnoName(95)).toBe('EOPNOTSUPP');
    expect(errnoName(512)).toBe('ERESTARTSYS');
    expect(errnoMessage(512)).toBe('To be restarted if SA_RESTART is set');
    expect(errnoName(41)).toBeUndefined();
    expect(errnoMessage(41)).toBe('Unknown error 41');
    expect(errnoMessage(0)).toBeUndefined();
  });

  it('names signals as strace does', () => {
    expect(signalName(11)).toBe('SIGSEGV');
    expect(signalName(17)).toBe('SIGCHLD');
    expect(signalName(32)).toBe('SIGRTMIN');
    expect(signalName(34)).toBe('SIGRT_2');
    expect(signalName(64)).toBe('SIGRT_32');
    expect(signalName(65)).toBeUndefined();
    expect(signalName(0)).toBeUndefined();
    expect(signalByName('TERM')).toBe(15);
    expect(signalByName('SIGRT_2')).toBe(34);
  });
});
