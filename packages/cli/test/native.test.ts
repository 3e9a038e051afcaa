/**
 * `nommu run --backend native` as a user meets it: the same programs, the
 * same exit statuses, and a guest that cannot take Node (or the host) down.
 */
import { spawn, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { nativeBackendUnavailable } from '@nommu/x86-cpu';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BASE_ENV,
  compileMusl,
  conformanceProgram,
  ensureConformance,
  HAVE_MUSL_GCC,
  NOMMU_BIN,
  nommu,
  REPO,
  tempDir,
} from './helpers.js';

const tmp = tempDir('native');
afterAll(tmp.cleanup);

/** 20000 real page faults, each caught and left with siglongjmp. */
const FAULT_STORM = `
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
static sigjmp_buf env;
static volatile int caught;
static void on_segv(int sig) { (void)sig; caught++; siglongjmp(env, 1); }
int main(void) {
  signal(SIGSEGV, on_segv);
  for (int i = 0; i < 20000; i++)
    if (!sigsetjmp(env, 1)) *(volatile int *)(long)(16 + i % 7) = i;
  printf("caught %d\\n", caught);
  return 0;
}
`;

const why = nativeBackendUnavailable();
if (why) console.warn(`native backend CLI tests skipped: ${why}`);
beforeAll(ensureConformance);

/** Runner processes (nommu-native-runner) whose parent is `pid`. */
function runnersOf(pid: number): number[] {
  const r = spawnSync('ps', ['-o', 'pid=,comm=', '--ppid', String(pid)], { encoding: 'utf8' });
  return r.stdout
    .split('\n')
    .filter((l) => l.includes('nommu-native'))
    .map((l) => Number(l.trim().split(/\s+/)[0]));
}

describe.skipIf(why !== null)('nommu run --backend native', () => {
  it('runs static, static-pie and dynamic programs with the output they have natively', async () => {
    for (const variant of ['musl-static', 'musl-static-pie', 'glibc-dynamic']) {
      const r = await nommu(['run', '--backend', 'native', conformanceProgram('hello', variant)]);
      expect(r, variant).toMatchObject({ status: 0, stdout: 'hello, world\n', stderr: '' });
    }
    const bb = await nommu(['run', '--backend', 'native', '/bin/busybox', 'sh', '-c', 'echo a | cat | wc -c; (exit 3); echo $?']);
    expect(bb).toMatchObject({ status: 0, stdout: '2\n3\n', stderr: '' });
  });

  it('reports a guest crash like a shell and exits 128+signal', async () => {
    const r = await nommu(['run', '--backend', 'native', '/bin/busybox', 'sh', '-c', 'kill -SEGV $$']);
    expect(r.status).toBe(139);
    expect(r.stderr).toMatch(/Segmentation fault/);
  });

  it('lists the backends in the usage error for an unknown one', async () => {
    const r = await nommu(['run', '--backend', 'nope', '/bin/true']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/unknown backend 'nope' \(available: unicorn, native\)/);
  });

  it('stops a runaway guest on Ctrl-C and leaves no runner behind', async () => {
    const child = spawn(process.execPath, [NOMMU_BIN, 'run', '--backend', 'native', '/bin/busybox', 'sh', '-c', 'echo spinning; while :; do :; done'], {
      env: { ...BASE_ENV },
      cwd: REPO,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    const started = new Promise<void>((resolve) =>
      child.stdout.setEncoding('utf8').on('data', (d: string) => {
        out += d;
        if (out.includes('spinning')) resolve();
      }),
    );
    const closed = new Promise<number | null>((resolve) => child.on('close', (status) => resolve(status)));
    await started;
    await new Promise((r) => setTimeout(r, 300));
    expect(runnersOf(child.pid!)).toHaveLength(1);
    child.kill('SIGINT');
    const status = await Promise.race([closed, new Promise<'hung'>((r) => setTimeout(() => r('hung'), 10_000))]);
    if (status === 'hung') child.kill('SIGKILL');
    expect(status).toBe(130);
    expect(runnersOf(child.pid!)).toHaveLength(0);
  });

  it('with NOMMU_NATIVE_STATS set, says where the commands\' time went when the backend closes', async () => {
    const r = await nommu(['run', '--backend', 'native', '/bin/busybox', 'true'], { env: { ...BASE_ENV, NOMMU_NATIVE_STATS: '1' } });
    expect(r.status).toBe(0);
    const m = /^nommu native backend: (\d+) commands; per command \(us\): Node -> runner [\d.]+, guest [\d.]+, runner -> Node [\d.]+, Node [\d.]+; sleeps: Node \d+, runner \d+; calls answered in the runner: \d+$/m.exec(r.stderr);
    expect(m, r.stderr).not.toBeNull();
    expect(Number(m![1])).toBeGreaterThan(5); // the syscalls of a busybox start-up, each a command
    expect(r.stderr.match(/nommu native backend:/g)).toHaveLength(1); // once, though both close and the finalizer stop the runner
    expect((await nommu(['run', '--backend', 'native', '/bin/busybox', 'true'])).stderr).toBe('');
  });

  it('answers reads of host files and writes to a host pipe in the runner, and not while --strace shows every call', async () => {
    // 64 KiB read 4 KiB at a time, to stdout: a pipe here. Each read and write could be a hand-over to Node.
    const data = join(tmp.dir, 'offload.dat');
    writeFileSync(data, Buffer.alloc(65536, 'x'));
    const argv = ['run', '--backend', 'native', '/bin/busybox', 'dd', `if=${data}`, 'bs=4096'];
    const answered = (stderr: string): number => Number(/calls answered in the runner: (\d+)/.exec(stderr)?.[1] ?? NaN);
    const env = { ...BASE_ENV, NOMMU_NATIVE_STATS: '1' };
    const fast = await nommu(argv, { env });
    expect(fast.status, fast.stderr).toBe(0);
    expect(fast.stdout).toBe('x'.repeat(65536));
    // 17 reads (the last at the end of the file) and 16 writes; the first two of each are the kernel's, before the file gets a slot.
    expect(answered(fast.stderr)).toBeGreaterThanOrEqual(29);
    const traced = await nommu([argv[0]!, '--strace=summary', ...argv.slice(1)], { env });
    expect(traced.stdout).toBe('x'.repeat(65536));
    expect(answered(traced.stderr)).toBe(0);
    expect(traced.stderr).toMatch(/\b17\s+read\n/);
  });

  it('interrupts a task running alone every 50 ms, every 10 ms while an ITIMER_VIRTUAL counts its CPU time', async () => {
    // The same few hundred ms of computing either way, no syscall in the loop; the timer (100 s) never fires.
    const prog = compileMusl(tmp.dir, 'spin', `
#include <sys/time.h>
int main(int argc, char **argv) {
  (void)argv;
  if (argc > 1) {
    struct itimerval t = { { 0, 0 }, { 100, 0 } };
    setitimer(ITIMER_VIRTUAL, &t, 0);
  }
  for (volatile unsigned long i = 0; i < 1500000000ul; i++) {}
  return 0;
}
`);
    const commands = async (args: string[]): Promise<number> => {
      const r = await nommu(['run', '--backend', 'native', prog, ...args], { env: { ...BASE_ENV, NOMMU_NATIVE_STATS: '1' } });
      expect(r.status, r.stderr).toBe(0);
      return Number(/nommu native backend: (\d+) commands/.exec(r.stderr)?.[1] ?? NaN);
    };
    const alone = await commands([]);
    const counted = await commands(['itimer']);
    // One tick each 50 ms against each 10 ms, on top of the same dozen syscalls: at least 20 more for the 0.4-1 s this takes.
    expect(counted - alone, `${alone} and ${counted} commands`).toBeGreaterThan(20);
  });

  it('survives a signal flood in the guest', async () => {
    const flood = await nommu([
      'run', '--backend', 'native', '/bin/busybox', 'sh', '-c',
      'n=0; trap "n=$((n+1))" USR1; (i=0; while [ $i -lt 300 ]; do kill -USR1 $$; i=$((i+1)); done) & wait $!; echo done',
    ]);
    expect(flood).toMatchObject({ status: 0, stdout: 'done\n' });
  });

  it.skipIf(!HAVE_MUSL_GCC)('survives a storm of real page faults, each delivered as SIGSEGV', async () => {
    const prog = compileMusl(tmp.dir, 'fault_storm', FAULT_STORM);
    const r = await nommu(['run', '--backend', 'native', prog]);
    expect(r).toMatchObject({ status: 0, stdout: 'caught 20000\n', stderr: '' });
  });

  it.skipIf(!HAVE_MUSL_GCC)('rewrites a trapped getppid site into a direct call, and --no-syscall-rewrite keeps it', async () => {
    // musl's getppid is `mov $110, %eax; syscall`: after its first trap the mov is a jump (e9) to a stub.
    const prog = compileMusl(tmp.dir, 'own_code', `
#include <stdio.h>
#include <unistd.h>
int main(void) {
  const unsigned char *code = (const unsigned char *)(void *)getppid;
  printf("before %02x\\n", code[0]);
  pid_t a = getppid(), b = getppid();
  printf("after %02x same %d\\n", code[0], a == b && a >= 0);
  return 0;
}
`);
    const fast = await nommu(['run', '--backend', 'native', prog]);
    expect(fast).toMatchObject({ status: 0, stdout: 'before b8\nafter e9 same 1\n', stderr: '' });
    const trapped = await nommu(['run', '--backend', 'native', '--no-syscall-rewrite', prog]);
    expect(trapped).toMatchObject({ status: 0, stdout: 'before b8\nafter b8 same 1\n', stderr: '' });
  });
});
