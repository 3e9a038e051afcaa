/**
 * `nommu run` options that change the machine or the identity (--mem, --uid,
 * --gid, --read-only, --date) and the colour rules of nommu's own messages, each
 * checked by spawning the CLI on Debian's static busybox.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BASE_ENV, compileMusl, expectOneLine, HAVE_MUSL_GCC, lines, NOMMU_BIN, nommu, REPO, tempDir } from './helpers.js';

const tmp = tempDir('options');
afterAll(tmp.cleanup);

/** A root holding busybox and one file, writable by the host. */
function smallRoot(name: string): string {
  const root = join(tmp.dir, name);
  mkdirSync(join(root, 'bin'), { recursive: true });
  mkdirSync(join(root, 'data'));
  copyFileSync('/bin/busybox', join(root, 'bin/busybox'));
  writeFileSync(join(root, 'data/file'), 'original\n');
  return root;
}

/** `free -k`'s total memory, in KiB. */
function totalKiB(stdout: string): number {
  const mem = lines(stdout).find((l) => l.startsWith('Mem:'));
  return Number(mem?.split(/\s+/)[1]);
}

describe('--mem', () => {
  it.each([['64M', 64 * 1024], ['512M', 512 * 1024], ['1g', 1024 * 1024]])('--mem %s: the guest sees that much RAM', async (size, kib) => {
    const r = await nommu(['run', '--mem', size, '/bin/busybox', 'free', '-k']);
    expect(r.status).toBe(0);
    expect(totalKiB(r.stdout)).toBe(kib);
    const meminfo = await nommu(['run', `--mem=${size}`, '/bin/busybox', 'head', '-1', '/proc/meminfo']);
    expect(meminfo.stdout).toMatch(new RegExp(`^MemTotal: +${kib} kB\n$`));
  });

  it('too little RAM for the program: it cannot be executed (126), one line', async () => {
    const r = await nommu(['run', '--mem', '16M', '/bin/busybox', 'true']);
    expect(r.status).toBe(126);
    expect(r.stderr).toBe('nommu: /bin/busybox: Cannot allocate memory\n');
  });

  it.each([['15M', /too small/], ['65G', /too large/], ['12Q', /bad size/]])('--mem %s is a usage error', async (size, message) => {
    const r = await nommu(['run', '--mem', size, '/bin/busybox', 'true']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(message);
  });
});

describe('--uid and --gid', () => {
  it('default: root', async () => {
    const r = await nommu(['run', '/bin/busybox', 'sh', '-c', 'id -u; id -g']);
    expect(r).toMatchObject({ status: 0, stdout: '0\n0\n' });
  });

  it('the guest sees the identity it is given, real and effective', async () => {
    const r = await nommu(['run', '--uid', '1234', '--gid=567', '/bin/busybox', 'sh', '-c', 'id -u; id -g; id -ru; id -rg']);
    expect(r).toMatchObject({ status: 0, stdout: '1234\n567\n1234\n567\n', stderr: '' });
  });

  it('files of the host user are the identity\'s (what the guest creates is its own), and the other way round', async () => {
    const dir = join(tmp.dir, 'owners');
    mkdirSync(dir);
    writeFileSync(join(dir, 'host'), 'made by the host user\n');
    const hostUid = process.getuid!();
    const script = `cd ${dir}; touch new; mkdir sub; stat -c '%u:%g %n' host new sub; chown ${hostUid}:${process.getgid!()} new; stat -c '%u:%g' new`;
    const r = await nommu(['run', '--uid', '4242', '--gid', '4343', '/bin/busybox', 'sh', '-c', script]);
    // A guest that is not root may not give its file away (EPERM), as on Linux.
    expect(r.stdout).toBe('4242:4343 host\n4242:4343 new\n4242:4343 sub\n4242:4343\n');
    expect(r.stderr).toMatch(/^chown: new: Operation not permitted$/m);
    // On the host they are the host user's; the guest's root chowning to the identity gives them back to it.
    expect(statSync(join(dir, 'new')).uid).toBe(hostUid);
    if (hostUid !== 0) return; // only a root host can chown to another user
    const back = await nommu(['run', '--uid', '0', '/bin/busybox', 'sh', '-c', `chown 4242 ${dir}/sub; stat -c %u ${dir}/sub`]);
    expect(back).toMatchObject({ status: 0, stdout: '4242\n' });
    expect(statSync(join(dir, 'sub')).uid).toBe(4242);
  });
});

describe('--read-only', () => {
  it('writes under the root fail with EROFS and change nothing; reads work', async () => {
    const root = smallRoot('ro');
    const script = 'cat /data/file; echo new > /data/file; touch /data/other; mkdir /d; rm /data/file; echo status $?';
    const r = await nommu(['run', '--root', root, '--read-only', '/bin/busybox', 'sh', '-c', script]);
    expect(r.stdout).toBe('original\nstatus 1\n');
    expect(lines(r.stderr)).toEqual([
      'sh: can\'t create /data/file: Read-only file system',
      "touch: /data/other: Read-only file system",
      "mkdir: can't create directory '/d': Read-only file system",
      "rm: can't remove '/data/file': Read-only file system",
    ]);
    expect(readFileSync(join(root, 'data/file'), 'utf8')).toBe('original\n');
    expect(existsSync(join(root, 'data/other'))).toBe(false);
    expect(existsSync(join(root, 'd'))).toBe(false);
  });

  it('control: without it the same script changes the root', async () => {
    const root = smallRoot('rw');
    const r = await nommu(['run', '--root', root, '/bin/busybox', 'sh', '-c', 'echo new > /data/file; touch /data/other']);
    expect(r).toMatchObject({ status: 0, stderr: '' });
    expect(readFileSync(join(root, 'data/file'), 'utf8')).toBe('new\n');
    expect(existsSync(join(root, 'data/other'))).toBe(true);
  });
});

describe('--mount and --tmpfs', () => {
  it('a bind mount shows a host directory in the guest, :ro refuses writes; a tmpfs is empty, writable and gone after', async () => {
    const root = smallRoot('mounts');
    mkdirSync(join(root, 'mnt'));
    mkdirSync(join(root, 'tmp'));
    const host = join(tmp.dir, 'bind-source');
    mkdirSync(host);
    writeFileSync(join(host, 'hello'), 'from the host\n');
    const script = 'cat /mnt/hello; echo x > /mnt/new; echo t > /tmp/t; cat /tmp/t; ls /tmp; cat /proc/mounts';
    const r = await nommu(['run', '--root', root, '--read-only', '--mount', `${host}:/mnt:ro`, '--tmpfs', '/tmp', '/bin/busybox', 'sh', '-c', script]);
    expect(r.stdout).toBe(
      'from the host\nt\nt\nroot / hostfs ro 0 0\nproc /proc proc rw,nosuid,nodev,noexec 0 0\ndevtmpfs /dev devtmpfs rw 0 0\ntmpfs /dev/shm tmpfs rw 0 0\ndevpts /dev/pts devpts rw 0 0\nsysfs /sys sysfs rw 0 0\nbind /mnt hostfs ro 0 0\ntmpfs /tmp tmpfs rw 0 0\n',
    );
    expect(lines(r.stderr)).toEqual(["sh: can't create /mnt/new: Read-only file system"]);
    expect(existsSync(join(host, 'new'))).toBe(false);
    expect(existsSync(join(root, 'tmp', 't'))).toBe(false);
    const rw = await nommu(['run', '--root', root, `--mount=${host}:/mnt`, '/bin/busybox', 'sh', '-c', 'echo y > /mnt/new']);
    expect(rw).toMatchObject({ status: 0, stderr: '' });
    expect(readFileSync(join(host, 'new'), 'utf8')).toBe('y\n');
  });

  it.each([
    [['--mount', '/tmp'], "nommu: --mount needs HOSTDIR:GUESTDIR[:ro], got '/tmp'"],
    [['--mount', '/tmp:mnt'], "nommu: --mount needs HOSTDIR:GUESTDIR[:ro], got '/tmp:mnt'"],
    [['--mount', '/tmp:/mnt:rx'], "nommu: --mount needs HOSTDIR:GUESTDIR[:ro], got '/tmp:/mnt:rx'"],
    [['--tmpfs', 'tmp'], "nommu: --tmpfs needs an absolute guest directory, got 'tmp'"],
    [['--mount', '/nonexistent-nommu:/data'], 'nommu: cannot mount /nonexistent-nommu on /data: no such directory'],
    [['--tmpfs', '/data/file'], 'nommu: cannot mount tmpfs on /data/file: not a directory'],
    [['--tmpfs', '/proc'], 'nommu: cannot mount tmpfs on /proc: not a mount point'],
  ])('%j: a usage error (2), one line', async (opts, message) => {
    const root = smallRoot(`bad-mount-${opts.join('').replace(/\W/g, '')}`);
    const r = await nommu(['run', '--root', root, ...opts, '/bin/busybox', 'true']);
    expect(r.status).toBe(2);
    expect(expectOneLine(r.stderr)).toContain(message);
  });
});

/** nommu in a pseudo-terminal (util-linux script): what it wrote there, raw. */
function inTerminal(args: readonly string[], env: Record<string, string> = {}): string {
  const cmd = [process.execPath, NOMMU_BIN, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  const r = spawnSync('script', ['-qec', cmd, '/dev/null'], { cwd: REPO, env: { ...BASE_ENV, TERM: 'xterm', ...env }, encoding: 'utf8' });
  return r.stdout;
}

describe('colour', () => {
  const RED = '\x1b[1;31mnommu:\x1b[0m';

  it("nommu's own error is red on a terminal", () => {
    expect(inTerminal(['run', '/nonexistent'])).toBe(`${RED} /nonexistent: No such file or directory\r\n`);
    expect(inTerminal(['run', '--bogus'])).toContain(`${RED} unknown option '--bogus'`);
  });

  it('NO_COLOR, TERM=dumb or a pipe: no escape sequences', async () => {
    expect(inTerminal(['run', '/nonexistent'], { NO_COLOR: '1' })).toBe('nommu: /nonexistent: No such file or directory\r\n');
    expect(inTerminal(['run', '/nonexistent'], { TERM: 'dumb' })).toBe('nommu: /nonexistent: No such file or directory\r\n');
    const piped = await nommu(['run', '/nonexistent']);
    expect(piped.stderr).toBe('nommu: /nonexistent: No such file or directory\n');
  });

  it("an empty NO_COLOR does not count (no-color.org); the guest's own output is never touched", () => {
    expect(inTerminal(['run', '/nonexistent'], { NO_COLOR: '' })).toContain(RED);
    expect(inTerminal(['run', '/bin/busybox', 'echo', 'plain'])).toBe('plain\r\n');
  });
});

describe('--no-protections', () => {
  const dir = tempDir('protections');
  afterAll(dir.cleanup);
  // A write to a read-only page and a read of a PROT_NONE page, each caught or not.
  const PROBE = `
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <sys/mman.h>
static sigjmp_buf env;
static void on_segv(int sig) { (void)sig; siglongjmp(env, 1); }
int main(void) {
  signal(SIGSEGV, on_segv);
  volatile char *p = mmap(0, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  mprotect((void *)p, 4096, PROT_READ);
  mprotect((void *)(p + 4096), 4096, PROT_NONE);
  if (!sigsetjmp(env, 1)) { p[1] = 1; puts("write to read-only: no fault"); } else puts("write to read-only: SIGSEGV");
  if (!sigsetjmp(env, 1)) { (void)p[4097]; puts("read of PROT_NONE: no fault"); } else puts("read of PROT_NONE: SIGSEGV");
  return 0;
}
`;
  it.skipIf(!HAVE_MUSL_GCC)('leaves protections advisory, as nommu Linux does, except PROT_NONE pages', async () => {
    const prog = compileMusl(dir.dir, 'probe', PROBE);
    expect(await nommu(['run', prog])).toMatchObject({ status: 0, stdout: 'write to read-only: SIGSEGV\nread of PROT_NONE: SIGSEGV\n' });
    expect(await nommu(['run', '--no-protections', prog])).toMatchObject({
      status: 0,
      stdout: 'write to read-only: no fault\nread of PROT_NONE: SIGSEGV\n',
    });
  });
});

describe('--date', () => {
  it('@SECONDS: the guest clock starts there and runs on; a file the guest touches gets the host time', async () => {
    const stamp = join(tmp.dir, 'date-stamp');
    const r = await nommu(['run', '--date', '@1700000000', '/bin/busybox', 'sh', '-c', `date -u +%s; touch ${stamp}; stat -c %Y ${stamp}`]);
    expect(r).toMatchObject({ status: 0, stderr: '' });
    const [guest, file] = lines(r.stdout).map(Number);
    expect(guest).toBeGreaterThanOrEqual(1_700_000_000);
    expect(guest).toBeLessThan(1_700_000_030);
    expect(Math.abs(file! - Date.now() / 1000)).toBeLessThan(60);
  });

  it('an ISO 8601 time; root in the guest may set its clock further (date -s), a user may not', async () => {
    const iso = await nommu(['run', '--date=2030-01-02T03:04:05Z', '/bin/busybox', 'date', '-u', '+%Y-%m-%d %H:%M']);
    expect(iso).toMatchObject({ status: 0, stdout: '2030-01-02 03:04\n', stderr: '' });
    const set = await nommu(['run', '--date', '2030-01-02', '/bin/busybox', 'sh', '-c', 'date -u -s "2031-05-06 07:08:09" >/dev/null; date -u "+%F %H:%M"']);
    expect(set).toMatchObject({ status: 0, stdout: '2031-05-06 07:08\n', stderr: '' });
    const user = await nommu(['run', '--uid', '1000', '/bin/busybox', 'date', '-u', '-s', '2031-05-06 07:08:09']);
    expect(user.stderr).toMatch(/Operation not permitted/);
    // Without --date and without a set: the host's time.
    const host = await nommu(['run', '/bin/busybox', 'date', '-u', '+%s']);
    expect(Math.abs(Number(host.stdout) - Date.now() / 1000)).toBeLessThan(60);
  });

  it.each(['yesterday', '@-5', '@99999999999', '2030-13-45'])('--date %s is a usage error', async (v) => {
    const r = await nommu(['run', '--date', v, '/bin/busybox', 'true']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--date/);
  });
});

describe('--strict-nommu', () => {
  // brk far past the area reserved at exec, and MAP_FIXED on an address the process no longer maps.
  const SOURCE = `
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>
int main(void) {
  /* The raw call: musl's sbrk refuses any increment itself. */
  long before = syscall(SYS_brk, 0);
  long after = syscall(SYS_brk, before + (256L << 20));
  printf("brk +256M: %s\\n", after == before ? "refused" : "grown");
  char *p = mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  munmap(p, 4096);
  void *q = mmap(p, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
  printf("MAP_FIXED outside: %s\\n", q == MAP_FAILED ? strerror(errno) : "mapped");
  return 0;
}
`;

  it.skipIf(!HAVE_MUSL_GCC)('reports brk past the reservation and MAP_FIXED outside the mappings, and refuses the MAP_FIXED', async () => {
    const prog = compileMusl(tmp.dir, 'strict', SOURCE);
    const strict = await nommu(['run', '--strict-nommu', prog]);
    expect(strict.status).toBe(0);
    expect(lines(strict.stdout)).toEqual(['brk +256M: refused', 'MAP_FIXED outside: Invalid argument']);
    expect(strict.stderr).toMatch(/^nommu: strict nommu: 2 operation\(s\) an MMU-less kernel refuses:$/m);
    expect(strict.stderr).toMatch(/^ {2}- brk\(\) past the area reserved at exec \(.*strict, pid 1\)$/m);
    expect(strict.stderr).toMatch(/^ {2}- mmap\(MAP_FIXED\) outside the process's own mappings \(.*strict, pid 1\)$/m);
    // Without the flag: the same program, no report, and the MAP_FIXED is granted on free RAM.
    const relaxed = await nommu(['run', prog]);
    expect(relaxed).toMatchObject({ status: 0, stderr: '' });
    expect(lines(relaxed.stdout)).toEqual(['brk +256M: refused', 'MAP_FIXED outside: mapped']);
  });

  it('says so when nothing the program did needs an MMU', async () => {
    const r = await nommu(['run', '--strict-nommu', '/bin/busybox', 'echo', 'hi']);
    expect(r).toMatchObject({ status: 0, stdout: 'hi\n', stderr: 'nommu: strict nommu: nothing this program did needs an MMU\n' });
  });
});
