import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nativeBackendUnavailable } from '@nommu/x86-cpu';
import {
  BASE_ENV,
  compileMusl,
  conformanceProgram,
  ensureConformance,
  expectOneLine,
  HAVE_MUSL_GCC,
  lines,
  nommu,
  NOMMU_BIN,
  REPO,
  runCommand,
  tempDir,
  writeExecutable,
} from './helpers.js';

const tmp = tempDir('cli');
/** The CPU backends this host runs: Unicorn, and the native one where it can. */
const BACKENDS = ['unicorn', ...(nativeBackendUnavailable() === null ? ['native'] : [])];
afterAll(tmp.cleanup);
beforeAll(ensureConformance);

describe('nommu run: exit status and output', () => {
  it('runs busybox echo: its output on stdout, nothing on stderr, status 0', async () => {
    const r = await nommu(['run', '/bin/busybox', 'echo', 'hello', 'world']);
    expect(r).toMatchObject({ status: 0, stdout: 'hello world\n', stderr: '' });
  });

  it("returns the guest's status: busybox false exits 1", async () => {
    const r = await nommu(['run', '/bin/busybox', 'false']);
    expect(r).toMatchObject({ status: 1, stdout: '', stderr: '' });
  });

  it("returns the guest's status: busybox sh -c 'exit 7' exits 7", async () => {
    const r = await nommu(['run', '/bin/busybox', 'sh', '-c', 'exit 7']);
    expect(r).toMatchObject({ status: 7, stdout: '', stderr: '' });
  });

  it('keeps stdout and stderr apart', async () => {
    const r = await nommu(['run', '/bin/busybox', 'sh', '-c', 'echo out; echo err >&2; exit 3']);
    expect(r).toMatchObject({ status: 3, stdout: 'out\n', stderr: 'err\n' });
  });

  it.each([0, 1, 42, 255])('conformance exit_code %i exits with that status', async (code) => {
    const r = await nommu(['run', conformanceProgram('exit_code'), String(code)]);
    expect(r).toMatchObject({
      status: code,
      stdout: `exit_code: exiting with ${code}\n`,
      stderr: 'exit_code: this goes to stderr\n',
    });
  });

  it('stdin redirected from a file is that file: it seeks back (head -n1; cat), from where the host left it', async () => {
    const file = join(tmp.dir, 'five-lines');
    writeFileSync(file, '1\n2\n3\n4\n5\n');
    const sh = (cmd: string): Promise<{ stdout: string }> => runCommand('bash', ['--norc', '--noprofile', '-c', cmd]);
    const script = `sh -c 'head -n1; echo ---; cat; wc -c < /proc/self/fd/0'`;
    const native = await sh(`(read first; /bin/busybox ${script}) < ${file}`);
    expect(native.stdout).toBe('2\n---\n3\n4\n5\n10\n');
    const r = await sh(`(read first; '${process.execPath}' '${NOMMU_BIN}' run /bin/busybox ${script}) < ${file}`);
    expect(r.stdout).toBe(native.stdout);
  });

  it("lists a host directory in the host's own order, as getdents does natively (find)", async () => {
    const dir = join(tmp.dir, 'unordered');
    mkdirSync(dir);
    for (let i = 0; i < 40; i++) writeFileSync(join(dir, `f${(i * 7919) % 1000}`), '');
    const entries = (out: string): string[] => out.split('\n').filter((n) => n !== '' && n !== '.' && n !== '..');
    const find = ['find', dir, '-mindepth', '1', '-maxdepth', '1'];
    const native = await runCommand('/bin/busybox', find);
    const r = await nommu(['run', '/bin/busybox', ...find]);
    expect(entries(r.stdout)).toEqual(entries(native.stdout));
    expect(entries(native.stdout)).toHaveLength(40);
  });

  it('passes stdin through to the guest', async () => {
    const r = await nommu(['run', '/bin/busybox', 'wc', '-l'], { input: 'one\ntwo\nthree\n' });
    expect(r).toMatchObject({ status: 0, stdout: '3\n', stderr: '' });
  });
});

describe('nommu run: argv and environment', () => {
  const argvEnv = (): string => conformanceProgram('argv_env');

  it('passes arguments unchanged, including empty ones and ones with spaces', async () => {
    const r = await nommu(['run', '--clear-env', argvEnv(), 'with space', '', '-x', '--env']);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe(
      ['argc=5', 'argv[0] basename=[argv_env]', 'argv[1]=[with space]', 'argv[2]=[]', 'argv[3]=[-x]', 'argv[4]=[--env]', 'NOMMU_TEST_ vars=0', ''].join('\n'),
    );
    expect(r.status).toBe(0);
  });

  it("passes the host's environment by default; --env adds and overrides", async () => {
    const env = { ...BASE_ENV, NOMMU_TEST_HOST: 'from host', NOMMU_TEST_OVER: 'host' };
    const r = await nommu(['run', '--env', 'NOMMU_TEST_OVER=cli', '--env=NOMMU_TEST_NEW=a=b', argvEnv()], { env });
    expect(r.status).toBe(0);
    expect(lines(r.stdout).filter((l) => l.startsWith('env ') || l.startsWith('NOMMU_TEST_'))).toEqual([
      'NOMMU_TEST_ vars=3',
      'env NOMMU_TEST_HOST=from host',
      'env NOMMU_TEST_NEW=a=b',
      'env NOMMU_TEST_OVER=cli',
    ]);
  });

  it('--unset-env removes a variable from the host environment', async () => {
    const env = { ...BASE_ENV, NOMMU_TEST_GONE: '1', NOMMU_TEST_KEPT: '2' };
    const r = await nommu(['run', '--unset-env', 'NOMMU_TEST_GONE', argvEnv()], { env });
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('NOMMU_TEST_ vars=1\nenv NOMMU_TEST_KEPT=2\n');
  });

  it('--clear-env starts from an empty environment', async () => {
    const env = { ...BASE_ENV, NOMMU_TEST_HOST: 'x' };
    const r = await nommu(['run', '--clear-env', '--env', 'A=1', '--env', 'B=two words', '/bin/busybox', 'env'], { env });
    expect(r).toMatchObject({ status: 0, stdout: 'A=1\nB=two words\n', stderr: '' });
  });

  it('--argv0 sets argv[0]', async () => {
    const r = await nommu(['run', '--argv0', 'custom-name', argvEnv(), 'a']);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('argc=2\nargv[0] basename=[custom-name]\nargv[1]=[a]\n');
  });

  it('--argv0 picks the busybox applet, as argv[0] does natively', async () => {
    const r = await nommu(['run', '--argv0', 'echo', '/bin/busybox', 'via', 'argv0']);
    expect(r).toMatchObject({ status: 0, stdout: 'via argv0\n', stderr: '' });
  });

  it('options after the program, or after --, belong to the program', async () => {
    const after = await nommu(['run', '/bin/busybox', 'echo', '--strace', '--env']);
    expect(after).toMatchObject({ status: 0, stdout: '--strace --env\n', stderr: '' });
    const dashdash = await nommu(['run', '--', '/bin/busybox', 'echo', 'x']);
    expect(dashdash).toMatchObject({ status: 0, stdout: 'x\n', stderr: '' });
  });
});

describe('nommu run: finding the program', () => {
  it('finds busybox on PATH', async () => {
    const r = await nommu(['run', 'busybox', 'echo', 'x'], { env: { ...BASE_ENV, PATH: '/bin' } });
    expect(r).toMatchObject({ status: 0, stdout: 'x\n', stderr: '' });
  });

  it('searches PATH in order and skips files that are not executable', async () => {
    const first = join(tmp.dir, 'path-first');
    const second = join(tmp.dir, 'path-second');
    mkdirSync(first);
    mkdirSync(second);
    writeFileSync(join(first, 'mytool'), 'not executable\n', { mode: 0o644 });
    copyFileSync(conformanceProgram('exit_code'), join(second, 'mytool'));
    const r = await nommu(['run', 'mytool', '5'], { env: { ...BASE_ENV, PATH: `${first}:${second}` } });
    expect(r.status).toBe(5);
    expect(r.stdout).toBe('exit_code: exiting with 5\n');
  });

  it('a name that is not on PATH: one line on stderr, status 127', async () => {
    const r = await nommu(['run', 'nommu-no-such-program', 'arg']);
    expect(r.status).toBe(127);
    expect(r.stdout).toBe('');
    expect(expectOneLine(r.stderr)).toMatch(/^nommu: nommu-no-such-program: .*not found/);
  });

  it('a path that does not exist: one line on stderr, status 127', async () => {
    const r = await nommu(['run', '/nonexistent/prog']);
    expect(r.status).toBe(127);
    expect(r.stdout).toBe('');
    expect(expectOneLine(r.stderr)).toMatch(/^nommu: \/nonexistent\/prog: No such file or directory$/);
  });

  it('a name with a slash is not looked up on PATH', async () => {
    const r = await nommu(['run', './busybox'], { cwd: tmp.dir, env: { ...BASE_ENV, PATH: '/bin' } });
    expect(r.status).toBe(127);
    expect(expectOneLine(r.stderr)).toContain('./busybox');
  });
});

describe('nommu run: files that cannot be executed exit 126 with one line', () => {
  const cases: [string, () => string][] = [
    ['a directory', () => tmp.dir],
    ['a text file with exec permission and no #!', () => writeExecutable(join(tmp.dir, 'text'), 'echo this is not a script\n')],
    [
      'random bytes with exec permission',
      () => writeExecutable(join(tmp.dir, 'random'), Uint8Array.from({ length: 4096 }, (_, i) => (i * 2654435761) >>> 24)),
    ],
    ['a truncated ELF header', () => writeExecutable(join(tmp.dir, 'truncated'), '\x7fELF\x02\x01\x01')],
    ['an empty file with exec permission', () => writeExecutable(join(tmp.dir, 'empty'), '')],
    [
      'an ELF without exec permission',
      () => {
        const p = join(tmp.dir, 'noexec');
        copyFileSync(conformanceProgram('exit_code'), p);
        chmodSync(p, 0o644);
        return p;
      },
    ],
  ];

  it.each(cases)('%s', async (_what, make) => {
    const path = make();
    const r = await nommu(['run', path]);
    expect(r.status).toBe(126);
    expect(r.stdout).toBe('');
    expect(expectOneLine(r.stderr)).toMatch(new RegExp(`^nommu: ${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: `));
  });
});

describe('nommu run: programs killed by a signal', () => {
  const source = `#include <signal.h>
#include <stdlib.h>
#include <string.h>
int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "abort") == 0)
		abort();
	if (argc > 1 && strcmp(argv[1], "term") == 0)
		raise(SIGTERM);
	volatile int *p = 0;
	return *p;
}
`;
  let prog = '';
  beforeAll(() => {
    if (HAVE_MUSL_GCC) prog = compileMusl(tmp.dir, 'killed', source);
  });
  const skip = HAVE_MUSL_GCC ? '' : ' (skipped: musl-gcc is not installed)';

  it.skipIf(!HAVE_MUSL_GCC)(`a NULL dereference: status 139 and 'Segmentation fault' on stderr${skip}`, async () => {
    const native = await runCommand(prog, ['segv']);
    expect(native.signal).toBe('SIGSEGV');
    const r = await nommu(['run', prog, 'segv']);
    expect(r.status).toBe(139);
    expect(r.stdout).toBe('');
    expect(expectOneLine(r.stderr)).toMatch(/^Segmentation fault( \(core dumped\))?$/);
  });

  it.skipIf(!HAVE_MUSL_GCC)(`abort(): status 134 and 'Aborted'${skip}`, async () => {
    const r = await nommu(['run', prog, 'abort']);
    expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 134, stderr: 'Aborted\n' });
  });

  it.skipIf(!HAVE_MUSL_GCC)(`raise(SIGTERM): status 143 and 'Terminated'${skip}`, async () => {
    const r = await nommu(['run', prog, 'term']);
    expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 143, stderr: 'Terminated\n' });
  });

  // `timeout` signals nommu's whole process group: the native runner must not die of it, the guest gets it.
  for (const backend of BACKENDS) {
    it(`SIGTERM and SIGUSR1 to nommu's process group reach the guest's handlers (${backend}; timeout)`, async () => {
      const guest = (sig: string): string =>
        `'${process.execPath}' '${NOMMU_BIN}' run --backend ${backend} /bin/busybox sh -c 'trap "echo caught ${sig}; exit 6" ${sig}; sleep 20 & wait'`;
      for (const sig of ['TERM', 'USR1']) {
        const r = await runCommand('bash', ['--norc', '--noprofile', '-c', `timeout --preserve-status -s ${sig} 2 ${guest(sig)}; echo "status $?"`], { timeoutMs: 30_000 });
        expect({ stdout: r.stdout, stderr: r.stderr }).toEqual({ stdout: `caught ${sig}\nstatus 6\n`, stderr: '' });
      }
    });
  }

  // The host pipe's reader goes away: the guest's next write raises SIGPIPE, as natively (status 141, no message).
  for (const backend of BACKENDS) {
    it(`a writer whose host pipe reader is gone dies of SIGPIPE, quietly (${backend}; busybox yes | head -1)`, async () => {
      const pipeline = (cmd: string): Promise<{ status: number | null; stdout: string; stderr: string }> =>
        runCommand('bash', ['--norc', '--noprofile', '-c', `${cmd} | head -1; echo "status \${PIPESTATUS[0]}"`], { timeoutMs: 30_000 });
      const native = await pipeline('/bin/busybox yes');
      expect(native.stdout).toBe('y\nstatus 141\n');
      const r = await pipeline(`'${process.execPath}' '${NOMMU_BIN}' run --backend ${backend} /bin/busybox yes`);
      expect({ stdout: r.stdout, stderr: r.stderr }).toEqual({ stdout: native.stdout, stderr: '' });
    });
  }
});

describe('usage errors exit 2 with a one-line hint', () => {
  it.each([
    ['run with no program', ['run'], /'nommu run' needs a program.*nommu help run/],
    ['an unknown run option', ['run', '--bogus', '/bin/busybox', 'true'], /unknown option '--bogus'.*nommu help run/],
    ['an unknown command', ['frobnicate'], /unknown command 'frobnicate'.*nommu help/],
    ['an option without its value', ['run', '--env'], /--env needs a value/],
    ['--env without =', ['run', '--env', 'NOEQUALS', '/bin/busybox', 'true'], /--env needs NAME=VALUE/],
    ['a bad --mem size', ['run', '--mem', 'lots', '/bin/busybox', 'true'], /bad size 'lots'/],
    ['an unknown backend', ['run', '--backend', 'kvm', '/bin/busybox', 'true'], /unknown backend 'kvm'/],
    ['a non-numeric --uid', ['run', '--uid', 'root', '/bin/busybox', 'true'], /--uid needs a number/],
    ['help for an unknown command', ['help', 'frobnicate'], /no help for 'frobnicate'/],
    ['an unknown info option', ['info', '--bogus'], /'nommu info' takes --backend, --mem and --root, not '--bogus'/],
    ['info with a bad --root', ['info', '--root', '/no/such/dir'], /--root \/no\/such\/dir: not a directory/],
  ])('%s', async (_what, args, message) => {
    const r = await nommu(args);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    const line = expectOneLine(r.stderr);
    expect(line).toMatch(/^nommu: /);
    expect(line).toMatch(message);
  });

  it('no command at all: the usage on stderr, status 2', async () => {
    const r = await nommu([]);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('nommu run [options] <program>');
  });
});

// User mistakes that are not usage errors must still be one clean line, not an "internal error".
describe('bad paths given to options', () => {
  // Bug: run.ts lets the host ENOENT escape; main.ts labels it "internal error" and exits 70.
  it('--root that does not exist', async () => {
    const r = await nommu(['run', '--root', '/nonexistent-root', '/bin/busybox', 'true']);
    expect(expectOneLine(r.stderr)).not.toMatch(/internal error/);
    expect(r.stderr).toContain('/nonexistent-root');
    expect([0, 70]).not.toContain(r.status);
  });

  // Bug: run.ts opens the --strace FILE with fs.openSync and the ENOENT becomes "internal error", status 70.
  it('--strace=FILE in a directory that does not exist', async () => {
    const r = await nommu(['run', '--strace=/nonexistent-dir/trace', '/bin/busybox', 'true']);
    expect(expectOneLine(r.stderr)).not.toMatch(/internal error/);
    expect(r.stderr).toContain('/nonexistent-dir/trace');
    expect([0, 70]).not.toContain(r.status);
  });

  // Bug: --cwd is never checked; the guest starts in a directory that does not exist
  // (busybox pwd prints /nonexistent-cwd and exits 0). env -C and chroot refuse with 125.
  it('--cwd that does not exist', async () => {
    const r = await nommu(['run', '--cwd', '/nonexistent-cwd', '/bin/busybox', 'pwd']);
    expect(r.stdout).toBe('');
    expect(expectOneLine(r.stderr)).toContain('/nonexistent-cwd');
    expect(r.status).not.toBe(0);
  });

  it('--cwd sets the guest working directory', async () => {
    const r = await nommu(['run', '--cwd', '/etc', '/bin/busybox', 'pwd']);
    expect(r).toMatchObject({ status: 0, stdout: '/etc\n', stderr: '' });
  });
});

describe('help and version', () => {
  it.each([['--help'], ['-h'], ['help']])('nommu %s prints the usage on stdout, status 0', async (flag) => {
    const r = await nommu([flag]);
    expect(r.status).toBe(0);
    expect(r.stderr).toBe('');
    for (const cmd of ['nommu run [options] <program> [args...]', 'nommu syscalls', 'nommu info', 'nommu help', 'nommu --version']) {
      expect(r.stdout).toContain(cmd);
    }
  });

  it('nommu help run lists every run option', async () => {
    const r = await nommu(['help', 'run']);
    expect(r.status).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/^Usage: nommu run \[options\] <program> \[args\.\.\.\]\n/);
    // Every option the parser knows (its `case '--name'` lines), so the help cannot fall behind.
    const parsed = [...readFileSync(join(REPO, 'packages/cli/src/args.ts'), 'utf8').matchAll(/case '(--[a-z0-9-]+)'/g)].map((m) => m[1]!);
    expect(parsed.length).toBeGreaterThanOrEqual(17);
    for (const o of [...parsed, '--strace=summary']) expect(r.stdout).toMatch(new RegExp(`(^\\s+|, )${o}\\b`, 'm'));
    expect(r.stdout).toContain('126');
    expect(r.stdout).toContain('127');
  });

  it.each([['--version'], ['-V']])('nommu %s prints the CLI package version', async (flag) => {
    const pkg = JSON.parse(readFileSync(join(REPO, 'packages/cli/package.json'), 'utf8')) as { version: string };
    const r = await nommu([flag]);
    expect(r).toMatchObject({ status: 0, stdout: `nommu ${pkg.version}\n`, stderr: '' });
  });
});

describe('start-up code cache', () => {
  const cache = join(REPO, 'packages/cli/dist/nommu-cli.cache');

  it('a run writes V8\'s code cache of the bundle; a corrupt one is refused, the run works and a good one replaces it', async () => {
    await nommu(['run', '/bin/busybox', 'true']);
    expect(existsSync(cache)).toBe(true);
    const good = readFileSync(cache).length;
    expect(good).toBeGreaterThan(100_000); // the kernel's code, compiled by the run
    writeFileSync(cache, Buffer.from('not a code cache'));
    expect(await nommu(['run', '/bin/busybox', 'echo', 'still runs'])).toMatchObject({ status: 0, stdout: 'still runs\n', stderr: '' });
    expect(readFileSync(cache).length).toBeGreaterThan(100_000);
    // Commands other than run and shell leave it alone.
    writeFileSync(cache, Buffer.from('not a code cache'));
    expect(await nommu(['--version'])).toMatchObject({ status: 0 });
    expect(readFileSync(cache, 'utf8')).toBe('not a code cache');
    await nommu(['run', '/bin/busybox', 'true']);
    expect(readFileSync(cache).length).toBeGreaterThan(100_000);
  });

  it('a run making syscalls the cache has not seen writes it again, wider; a run making none leaves it', async () => {
    // A cache of its own: other test files' runs write the shared one meanwhile.
    const cache = join(tmp.dir, 'code.cache');
    const run = (args: string[]): ReturnType<typeof nommu> => nommu(['run', ...args], { env: { ...BASE_ENV, NOMMU_CODE_CACHE: cache } });
    const seenFile = `${cache}.syscalls`;
    const seen = (): number[] => readFileSync(seenFile, 'utf8').split(',').map(Number);
    expect(existsSync(cache)).toBe(false);
    expect(await run(['/bin/busybox', 'true'])).toMatchObject({ status: 0 });
    const small = readFileSync(cache);
    const first = seen();
    expect(first).toContain(231); // exit_group
    expect(first).not.toContain(59); // execve: made by the kernel's spawn, not by the guest
    // The same calls again: nothing is written.
    expect(await run(['/bin/busybox', 'true'])).toMatchObject({ status: 0 });
    expect(readFileSync(cache).equals(small)).toBe(true);
    // A pipeline forks, execs and waits: new calls, a wider cache.
    const r = await run(['/bin/busybox', 'sh', '-c', 'echo hi | /bin/busybox cat']);
    expect(r).toMatchObject({ status: 0, stdout: 'hi\n' });
    const wide = seen();
    expect(wide).toEqual(expect.arrayContaining([...first, 59, 61]));
    expect(readFileSync(cache).length).toBeGreaterThan(small.length);
    // Back to the smaller program: the record and the cache stay as wide as they were.
    const wideCache = readFileSync(cache);
    expect(await run(['/bin/busybox', 'true'])).toMatchObject({ status: 0 });
    expect(seen()).toEqual(wide);
    expect(readFileSync(cache).equals(wideCache)).toBe(true);
  });

  // Node 20's V8 (11.3) saves a class's own variable in its scope info when the class has static private methods.
  // With more than 75 private names the scope info keeps its names in a hash table and saves the variable as a slot
  // of that table; a code cache made by one process (one hash seed) and read by another (another seed) then finds
  // the wrong slot, and the first lazy compile of a method crashed Node (SIGSEGV in the parser, 1 run in 3 with an
  // unlucky cache). Kernel has ~75 private names, so the bundle keeps away from the trigger.
  it('the bundle declares no static private members (V8 11 code-cache crash)', () => {
    const bundle = readFileSync(join(REPO, 'packages/cli/dist/nommu-cli.cjs'), 'utf8');
    const found = [...bundle.matchAll(/\bstatic\s+(?:async\s+)?(?:[gs]et\s+)?\*?\s*#[A-Za-z_$][\w$]*/g)].map((m) => m[0]);
    expect(found).toEqual([]);
    expect(bundle).toMatch(/\bKernel = class\b/); // the right file: the kernel's code is in it
  });
});
