/**
 * Sockets between a guest and the host: a TCP echo server inside nommu
 * answers a client in this test, and a guest client reaches a server in this
 * test (loopback, ephemeral ports). Each exchange runs the same program
 * natively too: the guest's output must equal the native one.
 */
import { spawn } from 'node:child_process';
import * as net from 'node:net';
import { beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_ENV, ensurePrograms, programPath, VARIANTS } from '../harness/native.js';
import { NOMMU_BIN } from '../harness/nommu.js';

beforeAll(() => {
  ensurePrograms();
});

interface Exit {
  stdout: string;
  stderr: string;
  status: number | null;
}

/** Starts `path args` natively or under nommu; `onLine` sees each stdout line as it comes. */
function start(path: string, args: string[], under: 'native' | 'nommu', onLine: (line: string) => void = () => {}): Promise<Exit> {
  const envArgs = Object.entries(DEFAULT_ENV).flatMap(([k, v]) => ['--env', `${k}=${v}`]);
  const [cmd, argv] = under === 'native'
    ? [path, args]
    : [process.execPath, [NOMMU_BIN, 'run', '--clear-env', ...envArgs, path, ...args]];
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, argv, { env: { ...DEFAULT_ENV }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let partial = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString('utf8');
      partial += d.toString('utf8');
      let nl;
      while ((nl = partial.indexOf('\n')) >= 0) {
        onLine(partial.slice(0, nl));
        partial = partial.slice(nl + 1);
      }
    });
    child.stderr.on('data', (d: Buffer) => (err += d.toString('utf8')));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ stdout: out, stderr: err, status });
    });
  });
}

/** The guest serves; this test is its client. Returns what the client got back and the server's exit. */
async function guestServer(path: string, under: 'native' | 'nommu'): Promise<{ reply: string; exit: Exit }> {
  let reply: Promise<string> | null = null;
  const exit = await start(path, ['serve'], under, (line) => {
    const m = /^port (\d+)$/.exec(line);
    if (!m) return;
    reply = new Promise((resolve, reject) => {
      const c = net.connect({ host: '127.0.0.1', port: Number(m[1]) });
      const chunks: Buffer[] = [];
      c.on('data', (d) => chunks.push(d));
      c.on('error', reject);
      c.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
      c.end('hello from the host\n'.repeat(100));
    });
  });
  expect(reply, `the server never printed its port:\n${exit.stdout}${exit.stderr}`).not.toBeNull();
  return { reply: await reply!, exit: { ...exit, stdout: exit.stdout.replace(/^port \d+\n/, '') } };
}

/** A server in this test; the guest connects to it. Returns the guest's exit and what the server heard. */
async function guestClient(path: string, under: 'native' | 'nommu'): Promise<{ heard: string; exit: Exit }> {
  let heard = '';
  const server = net.createServer({ allowHalfOpen: true }, (s) => {
    s.on('data', (d) => (heard += d.toString('utf8')));
    s.on('end', () => s.end(`echo: ${heard}`));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  try {
    const exit = await start(path, ['connect', String(port)], under);
    return { heard, exit };
  } finally {
    server.close();
  }
}

describe.each(VARIANTS)('%s', (variant) => {
  it('a TCP server in the guest answers a host client', async () => {
    const path = programPath('inet_sockets', variant);
    const native = await guestServer(path, 'native');
    expect(native.exit.status).toBe(0);
    expect(native.reply).toBe('hello from the host\n'.repeat(100));
    const nommu = await guestServer(path, 'nommu');
    expect(nommu).toEqual(native);
  });

  it('a guest TCP client reaches a host server', async () => {
    const path = programPath('inet_sockets', variant);
    const native = await guestClient(path, 'native');
    expect(native.exit.status).toBe(0);
    expect(native.heard).toBe('hello from the guest\n');
    const nommu = await guestClient(path, 'nommu');
    expect(nommu).toEqual(native);
  });
});
