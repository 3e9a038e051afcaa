/**
 * Each example script run as a user would run it (node examples/X.mjs ...),
 * on real programs (Debian's static busybox), checked against what its
 * README section promises.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const HERE = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const NOMMU = resolve(HERE, '../packages/cli/bin/nommu.js');
const ENV = { PATH: '/usr/bin:/bin', LANG: 'C' };
const tmp = mkdtempSync(join(tmpdir(), 'nommu-examples-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

interface Result {
  status: number | null;
  stdout: string;
  stderr: string;
}

function node(args: readonly string[]): Promise<Result> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, args, { cwd: HERE, env: ENV, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', fail);
    child.on('close', (status) => done({ status, stdout, stderr }));
  });
}

describe('trace-opens.mjs', () => {
  it('lists each opened file with its descriptor or errno; the program runs as usual', async () => {
    const r = await node(['trace-opens.mjs', '/bin/busybox', 'cat', '/etc/hostname', '/nonexistent']);
    expect(r.status).toBe(1);
    expect(r.stdout).toBe(readFileSync('/etc/hostname', 'utf8'));
    expect(r.stderr).toBe(
      "[pid 1] /etc/hostname = 3\n[pid 1] /nonexistent = -1 ENOENT\ncat: can't open '/nonexistent': No such file or directory\n",
    );
  });

  it('--output FILE: the trace goes to the file, the children\'s opens too', async () => {
    const file = join(tmp, 'opens.txt');
    const r = await node(['trace-opens.mjs', '--output', file, '/bin/busybox', 'sh', '-c', 'cat /etc/hostname > /dev/null; echo done']);
    expect(r).toMatchObject({ status: 0, stdout: 'done\n', stderr: '' });
    const lines = readFileSync(file, 'utf8').trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines.some((l) => /^\[pid \d+\] \/dev\/null = \d+$/.test(l))).toBe(true);
    expect(lines.some((l) => /^\[pid \d+\] \/etc\/hostname = \d+$/.test(l))).toBe(true);
  });
});

describe('deny-network.mjs', () => {
  const CONNECT = ['/bin/busybox', 'nc', '127.0.0.1', '9'];

  it('refuses an Internet socket with EACCES and says so', async () => {
    const r = await node(['deny-network.mjs', ...CONNECT]);
    expect(r.status).toBe(1);
    expect(r.stderr).toBe('deny-network: socket(AF_INET) refused\nnc: socket: Permission denied\n');
  });

  it('control: without it, the same program gets past socket()', async () => {
    const r = await node([NOMMU, 'run', ...CONNECT]);
    expect(r.status).not.toBe(0);
    expect(r.stderr).not.toContain('Permission denied');
  });

  it('leaves local sockets alone: busybox logger (AF_UNIX) runs, nothing refused', async () => {
    const r = await node(['deny-network.mjs', '/bin/busybox', 'logger', 'hello']);
    expect(r).toMatchObject({ status: 0, stdout: '', stderr: '' });
  });
});

describe('temp-root.mjs', () => {
  it('runs in a root holding busybox and the given files, reports the changes, removes the root', async () => {
    const r = await node([
      'temp-root.mjs',
      '--file', '/etc/motd=hello from the host\n',
      'sh', '-c', 'cat /etc/motd; ls /; echo data > /tmp/new.txt; rm /etc/motd; touch /bin/x; pwd',
    ]);
    expect(r.status).toBe(0);
    expect(r.stdout).toBe('hello from the host\nbin\netc\ntmp\n/tmp\n');
    const root = /^temp-root: root (.*)$/m.exec(r.stderr)?.[1] ?? '';
    expect(root).toMatch(/nommu-root-/);
    expect(r.stderr).toBe(
      [`temp-root: root ${root}`, 'temp-root: created /bin/x', 'temp-root: created /tmp/new.txt', 'temp-root: deleted /etc/motd', 'temp-root: removed the root', ''].join('\n'),
    );
    expect(existsSync(root)).toBe(false);
  });

  it("the host's files are out of reach", async () => {
    const r = await node(['temp-root.mjs', 'cat', '/etc/hostname']);
    expect(r.status).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain("cat: can't open '/etc/hostname': No such file or directory\n");
  });

  it("the program's exit status is the script's", async () => {
    const r = await node(['temp-root.mjs', 'sh', '-c', 'exit 7']);
    expect(r.status).toBe(7);
  });
});
