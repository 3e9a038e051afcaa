/**
 * The registry as built by the published entry (dist/, via the package's own
 * exports map): every x86-64 number registered, levels consistent with handlers,
 * and the support table printed by `nommu syscalls` telling the same story.
 */
import { existsSync, readFileSync } from 'node:fs';
import { E, type SyscallArgs, type Task } from '@nommu/kernel';
import { MAX_SYSCALL_NR, NR, SYSCALLS } from '@nommu/syscall-table';
import { createLinuxSyscallTable, supportTable, unimplemented } from '@nommu/syscall-table/linux';
import { describe, expect, it } from 'vitest';

const UNISTD = '/usr/include/x86_64-linux-gnu/asm/unistd_64.h';
const table = createLinuxSyscallTable();
const entries = [...table.entries.values()];

describe('createLinuxSyscallTable', () => {
  it('registers every syscall of the table under its number and name, and nothing else', () => {
    expect(SYSCALLS.length).toBeGreaterThan(300);
    for (const sc of SYSCALLS) expect({ nr: sc.nr, name: table.entry(sc.nr)?.name }).toEqual({ nr: sc.nr, name: sc.name });
    expect(table.entries.size).toBe(SYSCALLS.length);
  });

  it.skipIf(!existsSync(UNISTD))(`registers every number of ${UNISTD}`, () => {
    const header = [...readFileSync(UNISTD, 'utf8').matchAll(/^#define __NR_(\w+)\s+(\d+)\s*$/gm)];
    expect(header.length).toBeGreaterThan(300);
    for (const m of header) {
      const nr = Number(m[2]);
      expect({ nr, name: table.entry(nr)?.name }).toEqual({ nr, name: m[1] });
    }
  });

  it('has a dense dispatch array that agrees with the entries; gaps and numbers past the end have no handler', () => {
    expect(table.size).toBe(MAX_SYSCALL_NR + 1);
    for (let nr = 0; nr < table.size; nr++) {
      const entry = table.entry(nr);
      expect({ nr, handler: table.handlers[nr] }).toEqual({ nr, handler: entry?.handler ?? undefined });
    }
    for (const nr of [335, 423, MAX_SYSCALL_NR + 1, 1000]) {
      expect(table.entry(nr)).toBeUndefined();
      expect(table.handlers[nr]).toBeUndefined();
    }
  });

  it("gives 'supported' and 'partial' entries a handler, and no errno", () => {
    const implemented = entries.filter((e) => e.level !== 'unimplemented');
    expect(implemented.length).toBeGreaterThan(20);
    for (const e of implemented) {
      expect({ name: e.name, handler: typeof e.handler, errno: e.errno }).toEqual({ name: e.name, handler: 'function', errno: 0 });
    }
  });

  it("marks every number without a handler 'unimplemented', answering ENOSYS", () => {
    const missing = entries.filter((e) => e.handler === null);
    expect(missing.length).toBeGreaterThan(0);
    for (const e of missing) expect({ name: e.name, level: e.level, errno: e.errno }).toEqual({ name: e.name, level: 'unimplemented', errno: E.ENOSYS });
  });

  it("'unimplemented' entries with a handler answer their own errno, and it is not ENOSYS", () => {
    const task = {} as Task;
    const args = {} as SyscallArgs;
    for (const e of entries.filter((x) => x.level === 'unimplemented' && x.handler !== null)) {
      expect(e.errno).not.toBe(E.ENOSYS);
      expect({ name: e.name, result: e.handler?.(task, args) }).toEqual({ name: e.name, result: -e.errno });
    }
    const deliberate = unimplemented('obsolete', E.EPERM);
    expect(deliberate.handler?.(task, args)).toBe(-E.EPERM);
    expect(unimplemented('later').handler).toBeNull();
  });

  it('gives every entry that is not fully supported a note', () => {
    for (const e of entries.filter((x) => x.level !== 'supported')) expect({ name: e.name, note: e.note }).toEqual({ name: e.name, note: expect.stringMatching(/\S/) });
  });

  it('implements what the smallest static programs need', () => {
    for (const name of ['read', 'write', 'writev', 'close', 'brk', 'mmap', 'munmap', 'arch_prctl', 'set_tid_address', 'ioctl', 'exit_group']) {
      expect({ name, level: table.entry(NR[name] ?? -1)?.level }).toEqual({ name, level: expect.stringMatching(/^(supported|partial)$/) });
    }
  });

  it('builds a fresh table on each call, so one embedder override does not leak into another', () => {
    const a = createLinuxSyscallTable();
    const b = createLinuxSyscallTable();
    const getpid = NR.getpid ?? -1;
    a.override(getpid, 'getpid', () => 4242);
    expect(a.handlers[getpid]?.({} as Task, {} as SyscallArgs)).toBe(4242);
    expect(b.handlers[getpid]).toBe(table.handlers[getpid]);
    expect(b.entry(getpid)).toEqual(table.entry(getpid));
  });
});

describe('supportTable', () => {
  it('has one row per registered number, in order, matching the registry exactly', () => {
    const rows = supportTable();
    expect(rows.map((r) => r.nr)).toEqual(SYSCALLS.map((s) => s.nr).sort((x, y) => x - y));
    for (const row of rows) {
      const e = table.entry(row.nr);
      expect(row).toEqual({ nr: row.nr, name: e?.name, level: e?.level, note: e?.note });
    }
  });

  it('uses only the three levels, and all three occur', () => {
    const levels = new Set(supportTable().map((r) => r.level));
    expect([...levels].sort()).toEqual(['partial', 'supported', 'unimplemented']);
  });
});
