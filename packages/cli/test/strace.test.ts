import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  compileMusl,
  conformanceProgram,
  ensureConformance,
  HAVE_MUSL_GCC,
  HAVE_STRACE,
  lines,
  nommu,
  runCommand,
  tempDir,
} from './helpers.js';

const tmp = tempDir('strace');
afterAll(tmp.cleanup);
beforeAll(ensureConformance);

const NOSYS_WARNING = /^nommu: \S+ \((-?\d+)\) is not implemented: answering -ENOSYS$/;

/**
 * Makes a trace line comparable between a native run and a nommu run:
 * addresses differ, set_tid_address answers the pid, and strace pads
 * the " = result" part to column 40 where nommu does not.
 */
function normalize(line: string): string {
  return line
    .replace(/0x[0-9a-f]+/g, '0xADDR')
    .replace(/^(set_tid_address\(.*\)) += \d+$/, '$1 = PID')
    .replace(/\) +(= [^=]*)$/, ') $1');
}

/** Replaces the pid (what set_tid_address answered) where tkill and siginfo show it. */
function withPid(trace: string[]): string[] {
  const pid = trace.map((l) => /^set_tid_address\(.*\) += (\d+)$/.exec(l)?.[1]).find((p) => p !== undefined);
  if (pid === undefined) return trace;
  return trace.map((l) => l.replace(new RegExp(`(tkill\\(|kill\\(|si_pid=)${pid}\\b`, 'g'), '$1PID'));
}

/** The real strace -f on the host, execve line dropped (nommu starts the program without one). */
async function nativeStrace(args: readonly string[], name: string): Promise<string[]> {
  const out = join(tmp.dir, `${name}.native-trace`);
  const r = await runCommand('strace', ['-f', '-o', out, ...args]);
  if (r.status === null) throw new Error(`strace ${args.join(' ')} was killed by ${r.signal}`);
  const traced = lines(readFileSync(out, 'utf8')).map((l) => l.replace(/^\d+ +/, ''));
  expect(traced[0]).toMatch(/^execve\(/);
  return traced.slice(1);
}

/** The real strace -c on the host: syscall name -> "calls/errors", execve left out. */
async function nativeSummary(args: readonly string[], name: string): Promise<Map<string, string>> {
  const out = join(tmp.dir, `${name}.native-summary`);
  await runCommand('strace', ['-c', '-o', out, ...args]);
  const rows = parseSummary(readFileSync(out, 'utf8')).rows;
  rows.delete('execve');
  return new Map([...rows].map(([k, v]) => [k, `${v.calls}/${v.errors}`]));
}

interface SummaryRow {
  percent: number;
  seconds: number;
  usecsPerCall: number;
  calls: number;
  errors: number;
}

const HEADER = '% time     seconds  usecs/call     calls    errors syscall';
const RULE = '------ ----------- ----------- --------- --------- ----------------';
const ROW = /^ *(\d+\.\d{2}) +(\d+\.\d{6}) +(\d+) +(\d+) +(\d+ +)?(\w+)$/;

/** Parses an strace -c table, checking its shape on the way. */
function parseSummary(text: string): { rows: Map<string, SummaryRow>; total: SummaryRow } {
  const ls = lines(text);
  expect(ls[0]).toBe(HEADER);
  expect(ls[1]).toBe(RULE);
  expect(ls.at(-2)).toBe(RULE);
  const rows = new Map<string, SummaryRow>();
  let total: SummaryRow | null = null;
  for (const [i, line] of ls.slice(2).entries()) {
    if (line === RULE) continue;
    const m = ROW.exec(line);
    if (!m) throw new Error(`not an strace -c row: ${JSON.stringify(line)}`);
    const row = {
      percent: Number(m[1]),
      seconds: Number(m[2]),
      usecsPerCall: Number(m[3]),
      calls: Number(m[4]),
      errors: Number(m[5] ?? 0),
    };
    if (m[6] === 'total') {
      expect(i + 2).toBe(ls.length - 1);
      total = row;
    } else rows.set(m[6] ?? '', row);
  }
  if (!total) throw new Error(`no total row in ${text}`);
  return { rows, total };
}

const withoutWarnings = (ls: string[]): string[] => ls.filter((l) => !NOSYS_WARNING.test(l));
const noStrace = HAVE_STRACE ? '' : ' (skipped: strace is not installed)';
const noMusl = HAVE_MUSL_GCC ? '' : ' (skipped: musl-gcc is not installed)';

describe('--strace prints what the real strace -f prints', () => {
  it('musl-static hello: exact lines', async () => {
    const r = await nommu(['run', '--strace', conformanceProgram('hello')]);
    expect(r.status).toBe(0);
    expect(r.stdout).toBe('hello, world\n');
    const expected = [
      /^arch_prctl\(ARCH_SET_FS, 0x[0-9a-f]+\) = 0$/,
      /^set_tid_address\(0x[0-9a-f]+\) = \d+$/,
      /^ioctl\(1, TIOCGWINSZ, 0x[0-9a-f]+\) = -1 ENOTTY \(Inappropriate ioctl for device\)$/,
      /^writev\(1, \[\{iov_base="hello, world", iov_len=12\}, \{iov_base="\\n", iov_len=1\}\], 2\) = 13$/,
      /^exit_group\(0\) = \?$/,
      /^\+\+\+ exited with 0 \+\+\+$/,
    ];
    expect(lines(r.stderr)).toEqual(expected.map((re) => expect.stringMatching(re)));
  });

  /** Native and nommu traces of one program (under nommu, to --strace=FILE), normalised. */
  async function bothTraces(name: string): Promise<{ native: string[]; ours: string[]; status: number | null }> {
    const prog = conformanceProgram(name);
    const native = await nativeStrace([prog], name);
    const file = join(tmp.dir, `${name}.nommu-trace`);
    const r = await nommu(['run', `--strace=${file}`, prog]);
    const ours = withoutWarnings(lines(readFileSync(file, 'utf8')));
    return { native: native.map(normalize), ours: ours.map(normalize), status: r.status };
  }

  it.skipIf(!HAVE_STRACE).each(['hello', 'exit_code', 'syscall_nosys', 'argv_env', 'stdin_cat', 'tls', 'auxv', 'vdso_time'])(
    `musl-static %s: every line agrees with strace -f once addresses are normalised${noStrace}`,
    async (name) => {
      const { native, ours, status } = await bothTraces(name);
      expect(ours).toEqual(native);
      expect(status).toBe(0);
    },
  );

  it.skipIf(!HAVE_STRACE)(`musl-static malloc_stress: every line but mremap agrees with strace -f${noStrace}`, async () => {
    const { native, ours } = await bothTraces('malloc_stress');
    const notMremap = (l: string): boolean => !l.startsWith('mremap(');
    expect(native.length).toBeGreaterThan(1000);
    expect(ours.filter(notMremap)).toEqual(native.filter(notMremap));
    expect(ours.filter((l) => !notMremap(l))).toHaveLength(native.filter((l) => !notMremap(l)).length);
  });

  // Bug: the strace formatter always prints mremap's 5th argument (new_addr, as "NULL");
  // strace prints it only when flags hold MREMAP_MAYMOVE|MREMAP_FIXED
  // (the mremap row in syscall-table/src/table/syscalls.ts lists new_addr unconditionally).
  it.skipIf(!HAVE_STRACE).fails(`musl-static malloc_stress: mremap lines agree with strace -f${noStrace}`, async () => {
    const { native, ours } = await bothTraces('malloc_stress');
    const mremap = (l: string): boolean => l.startsWith('mremap(');
    expect(native.filter(mremap).length).toBeGreaterThan(0);
    expect(ours.filter(mremap)).toEqual(native.filter(mremap));
  });

  it(`busybox echo ends with the write, exit_group and exit lines, as strace prints them`, async () => {
    const r = await nommu(['run', '--strace', '/bin/busybox', 'echo', 'hi']);
    expect(r.status).toBe(0);
    expect(r.stdout).toBe('hi\n');
    const expected = ['write(1, "hi\\n", 3) = 3', 'exit_group(0) = ?', '+++ exited with 0 +++'];
    expect(lines(r.stderr).slice(-3)).toEqual(expected);
    if (HAVE_STRACE) expect((await nativeStrace(['/bin/busybox', 'echo', 'hi'], 'busybox-echo')).slice(-3).map(normalize)).toEqual(expected);
  });

  it("the guest's own stderr and the trace share stderr, in order", async () => {
    const r = await nommu(['run', '--strace', conformanceProgram('exit_code'), '3']);
    expect(r.status).toBe(3);
    expect(r.stdout).toBe('exit_code: exiting with 3\n');
    const ls = lines(r.stderr);
    const own = ls.indexOf('exit_code: this goes to stderr');
    const call = ls.findIndex((l) => l.startsWith('writev(2, '));
    expect(own).toBeGreaterThanOrEqual(0);
    expect(call).toBeGreaterThan(own);
    expect(ls.slice(-2)).toEqual(['exit_group(3) = ?', '+++ exited with 3 +++']);
  });

  describe('programs killed by a signal', () => {
    const source = `#include <signal.h>
#include <stdlib.h>
#include <string.h>
int main(int argc, char **argv)
{
	if (strcmp(argv[1], "abort") == 0)
		abort();
	if (strcmp(argv[1], "term") == 0)
		raise(SIGTERM);
	volatile int *p = 0;
	return *p;
}
`;
    let prog = '';
    beforeAll(() => {
      if (HAVE_MUSL_GCC) prog = compileMusl(tmp.dir, 'killed', source);
    });

    /** Native strace -f with core dumps off (nommu never writes a core), lines normalised. */
    async function nativeKilled(how: string): Promise<string[]> {
      const r = await runCommand('sh', ['-c', 'ulimit -c 0; exec strace -f "$0" "$1" 2>&1 >/dev/null', prog, how]);
      return withPid(lines(r.stdout).slice(1)).map(normalize);
    }

    /** The trace and, apart, the shell-style message the CLI prints after it. */
    async function nommuKilled(how: string): Promise<{ status: number | null; trace: string[]; message: string }> {
      const r = await nommu(['run', '--strace', prog, how]);
      const ls = withoutWarnings(lines(r.stderr));
      return { status: r.status, trace: withPid(ls.slice(0, -1)).map(normalize), message: ls.at(-1) ?? '' };
    }

    it.skipIf(!HAVE_MUSL_GCC)(`a NULL dereference: the SIGSEGV line strace prints, then the shell's message${noMusl}`, async () => {
      const { status, trace, message } = await nommuKilled('segv');
      expect(status).toBe(139);
      expect(trace.slice(-2)).toEqual([
        '--- SIGSEGV {si_signo=SIGSEGV, si_code=SEGV_MAPERR, si_addr=NULL} ---',
        expect.stringMatching(/^\+\+\+ killed by SIGSEGV( \(core dumped\))? \+\+\+$/),
      ]);
      expect(message).toBe('Segmentation fault');
    });

    it.skipIf(!HAVE_MUSL_GCC || !HAVE_STRACE)(`raise(SIGTERM): every line agrees with strace -f${noMusl}${noStrace}`, async () => {
      const native = await nativeKilled('term');
      const { status, trace, message } = await nommuKilled('term');
      expect({ status, message }).toEqual({ status: 143, message: 'Terminated' });
      expect(native.slice(-2)).toEqual(['--- SIGTERM {si_signo=SIGTERM, si_code=SI_TKILL, si_pid=PID, si_uid=0} ---', '+++ killed by SIGTERM +++']);
      expect(trace).toEqual(native);
    });

    // nommu never writes a core file, so it never reports one (as Linux with ulimit -c 0).
    it.skipIf(!HAVE_MUSL_GCC || !HAVE_STRACE).each(['segv', 'abort'])(
      `%s: every line agrees with strace -f${noMusl}${noStrace}`,
      async (how) => {
        const native = await nativeKilled(how);
        const { trace } = await nommuKilled(how);
        expect(trace).toEqual(native);
      },
    );
  });
});

describe('--strace=FILE', () => {
  it('writes exactly the lines --strace prints, and nothing to stderr', async () => {
    const file = join(tmp.dir, 'hello.trace');
    const toFile = await nommu(['run', `--strace=${file}`, conformanceProgram('hello')]);
    const toStderr = await nommu(['run', '--strace', conformanceProgram('hello')]);
    expect(toFile).toMatchObject({ status: 0, stdout: 'hello, world\n', stderr: '' });
    const written = readFileSync(file, 'utf8');
    expect(written).toBe(toStderr.stderr);
    expect(lines(written).at(-1)).toBe('+++ exited with 0 +++');
  });

  it("keeps the guest's stderr on stderr", async () => {
    const file = join(tmp.dir, 'exit_code.trace');
    const r = await nommu(['run', `--strace=${file}`, conformanceProgram('exit_code'), '4']);
    expect(r).toMatchObject({ status: 4, stderr: 'exit_code: this goes to stderr\n' });
    expect(readFileSync(file, 'utf8')).toMatch(/^writev\(2, .*\) = 31$/m);
  });
});

describe('--strace=summary', () => {
  it('prints an strace -c table on stderr instead of the calls', async () => {
    const r = await nommu(['run', '--strace=summary', conformanceProgram('exit_code'), '0']);
    expect(r.status).toBe(0);
    expect(r.stdout).toBe('exit_code: exiting with 0\n');
    expect(r.stderr.startsWith('exit_code: this goes to stderr\n')).toBe(true);
    const table = r.stderr.slice('exit_code: this goes to stderr\n'.length);
    expect(table).not.toMatch(/writev\(|\+\+\+/);
    const { rows, total } = parseSummary(table);
    expect(rows.get('writev')).toMatchObject({ calls: 2, errors: 0 });
    expect(rows.get('ioctl')).toMatchObject({ calls: 1, errors: 1 });
    const sum = (k: 'calls' | 'errors' | 'seconds' | 'percent'): number => [...rows.values()].reduce((s, row) => s + row[k], 0);
    expect(total.calls).toBe(sum('calls'));
    expect(total.errors).toBe(sum('errors'));
    expect(total.seconds).toBeCloseTo(sum('seconds'), 5);
    expect(total.percent).toBe(100);
    expect(Math.abs(sum('percent') - 100)).toBeLessThan(0.05 * rows.size + 0.01);
    const times = [...rows.values()].map((row) => row.seconds);
    expect(times).toEqual([...times].sort((a, b) => b - a));
  });

  // Bug: the table's last line ("... total") has no trailing newline: SyscallSummary.format()
  // returns it without one (as documented) and cli/src/run.ts writes it as-is; strace -c ends with "\n".
  it('ends with a newline', async () => {
    const r = await nommu(['run', '--strace=summary', conformanceProgram('hello')]);
    expect(r.stderr).toMatch(/ total\n$/);
  });

  it.skipIf(!HAVE_STRACE)(`counts every call native strace -c counts, with the same errors${noStrace}`, async () => {
    const prog = conformanceProgram('exit_code');
    const native = await nativeSummary([prog, '0'], 'exit_code');
    const r = await nommu(['run', '--strace=summary', prog, '0']);
    const ours = parseSummary(r.stderr.slice(r.stderr.indexOf('% time'))).rows;
    for (const [name, callsErrors] of native) {
      const row = ours.get(name);
      expect({ name, callsErrors: row && `${row.calls}/${row.errors}` }).toEqual({ name, callsErrors });
    }
  });

  // exit_group never returns, and strace -c leaves it out.
  it.skipIf(!HAVE_STRACE)(`lists no syscall that native strace -c does not${noStrace}`, async () => {
    const prog = conformanceProgram('exit_code');
    const native = await nativeSummary([prog, '0'], 'exit_code-names');
    const r = await nommu(['run', '--strace=summary', prog, '0']);
    const ours = parseSummary(r.stderr.slice(r.stderr.indexOf('% time'))).rows;
    expect([...ours.keys()].sort()).toEqual([...native.keys()].sort());
  });
});

describe('unimplemented syscalls', () => {
  const source = `#include <sys/syscall.h>
#include <unistd.h>
int main(void)
{
	for (int i = 0; i < 3; i++)
		syscall(1000);
	for (int i = 0; i < 2; i++)
		syscall(SYS_tuxcall);
	return 0;
}
`;
  let prog = '';
  beforeAll(() => {
    if (HAVE_MUSL_GCC) prog = compileMusl(tmp.dir, 'nosys_twice', source);
  });

  it.skipIf(!HAVE_MUSL_GCC)(`warn once per number, before the first failing call${noMusl}`, async () => {
    const r = await nommu(['run', '--strace', prog]);
    expect(r.status).toBe(0);
    const ls = lines(r.stderr);
    const warnings = ls.filter((l) => NOSYS_WARNING.test(l));
    expect(warnings).toEqual([
      expect.stringMatching(/^nommu: \S+ \(1000\) is not implemented: answering -ENOSYS$/),
      'nommu: tuxcall (184) is not implemented: answering -ENOSYS',
    ]);
    const calls1000 = ls.filter((l) => /^syscall_0x3e8\(.*\) = -1 ENOSYS \(Function not implemented\)$/.test(l));
    const tuxcalls = ls.filter((l) => /^tuxcall\(.*\) = -1 ENOSYS \(Function not implemented\)$/.test(l));
    expect([calls1000.length, tuxcalls.length]).toEqual([3, 2]);
    expect(ls.indexOf(warnings[0] ?? '')).toBeLessThan(ls.indexOf(calls1000[0] ?? ''));
    expect(ls.indexOf(warnings[1] ?? '')).toBeLessThan(ls.indexOf(tuxcalls[0] ?? ''));
  });

  it('conformance syscall_nosys: one warning for each of its two numbers', async () => {
    const r = await nommu(['run', '--strace', conformanceProgram('syscall_nosys')]);
    expect(r.status).toBe(0);
    expect(r.stdout).toBe('1000: ENOSYS\n-1: ENOSYS\n');
    const numbers = lines(r.stderr).flatMap((l) => NOSYS_WARNING.exec(l)?.[1] ?? []);
    expect(numbers).toEqual(['1000', '-1']);
  });

  it('the warning goes with the trace to --strace=FILE', async () => {
    const file = join(tmp.dir, 'nosys.trace');
    const r = await nommu(['run', `--strace=${file}`, conformanceProgram('syscall_nosys')]);
    expect(r).toMatchObject({ status: 0, stderr: '' });
    expect(lines(readFileSync(file, 'utf8')).filter((l) => NOSYS_WARNING.test(l))).toHaveLength(2);
  });
});
