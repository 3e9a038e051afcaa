/**
 * An AF_UNIX stream socket of the guest connects to a socket a host process
 * listens on (ssh-agent, docker.sock, a database's socket): the guest's
 * socket gets an in-kernel peer whose queue goes to a Node socket. A Node
 * server in this process answers; the guest program is a real musl binary.
 */
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNativeBackend, nativeBackendUnavailable } from '@nommu/x86-cpu';
import { MiB, runGuest } from './support.js';

const SOURCE = fileURLToPath(new URL('./programs/host_unix.c', import.meta.url));
const SERVER_SOURCE = fileURLToPath(new URL('./programs/unix_server.c', import.meta.url));
let SERVER = '';
let TMP = '';
let PROG = '';
let SOCK = '';
let FILE = '';
let server: net.Server;
const seen: string[] = [];
/** The CPU backends this host runs: Unicorn, and the native one where it can. */
const BACKENDS = ['unicorn', ...(nativeBackendUnavailable() === null ? ['native'] : [])];

beforeAll(async () => {
  TMP = fs.mkdtempSync(path.join(os.tmpdir(), 'nommu-host-unix-'));
  PROG = path.join(TMP, 'host_unix');
  SOCK = path.join(TMP, 'upper.sock');
  FILE = path.join(TMP, 'plain');
  fs.writeFileSync(FILE, '');
  execFileSync('musl-gcc', ['-static', '-O1', '-o', PROG, SOURCE]);
  SERVER = path.join(TMP, 'unix_server');
  execFileSync('musl-gcc', ['-static', '-O1', '-o', SERVER, SERVER_SOURCE]);
  // Reads until the client shuts down writing, then answers the bytes in capitals and closes.
  server = net.createServer({ allowHalfOpen: true }, (c) => {
    let text = '';
    c.on('data', (d: Buffer) => (text += d.toString()));
    c.on('end', () => {
      seen.push(text);
      c.end(text.toUpperCase());
    });
    c.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(SOCK, resolve));
});
afterAll(async () => {
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  fs.rmSync(TMP, { recursive: true, force: true });
});

const EXPECTED = [
  'peer: the path',
  'reply: HELLO HOST',
  'non-blocking connect: ok',
  'POLLOUT 1, SO_ERROR 0',
  'reply: SECOND',
  'missing path: No such file or directory',
  'regular file: Connection refused',
].join('\n') + '\n';

describe('AF_UNIX connect to a host socket', () => {
  it('natively: what the guest must print', async () => {
    // Not execFileSync: the server answering is in this process's event loop.
    const { stdout } = await promisify(execFile)(PROG, [SOCK, FILE], { encoding: 'utf8' });
    expect(stdout).toBe(EXPECTED);
  });

  for (const backend of BACKENDS) {
    it(`under nommu (${backend}): the same exchange, peer name and refusals`, async () => {
      seen.length = 0;
      const cpu = backend === 'native' ? { cpu: createNativeBackend({ ramSize: 64 * MiB }) } : {};
      const run = await runGuest({ path: PROG, argv: ['host_unix', SOCK, FILE] }, cpu);
      expect(run.stdout).toBe(EXPECTED);
      expect(run.status.code).toBe(0);
      expect(seen).toEqual(['hello host\n', 'second\n']);
    });
  }
});

/** A host client: connects to `sockPath` once it is a socket, sends `text`, shuts down writing, resolves with the answer. */
async function hostClient(sockPath: string, text: string): Promise<string> {
  for (let i = 0; i < 200 && !(fs.existsSync(sockPath) && fs.statSync(sockPath).isSocket()); i++) await new Promise((r) => setTimeout(r, 25));
  return new Promise((resolve, reject) => {
    const c = net.connect({ path: sockPath, allowHalfOpen: true }, () => c.end(text));
    let got = '';
    c.on('data', (d: Buffer) => (got += d.toString()));
    c.on('end', () => resolve(got));
    c.on('error', reject);
  });
}

describe('a host process connects to a guest AF_UNIX socket', () => {
  for (const backend of BACKENDS) {
    it(`the guest's listening pathname socket is a real host socket (${backend})`, async () => {
      const sockPath = path.join(TMP, `guest-${backend}.sock`);
      const cpu = backend === 'native' ? { cpu: createNativeBackend({ ramSize: 64 * MiB }) } : {};
      const guest = runGuest({ path: SERVER, argv: ['unix_server', sockPath, '2'] }, cpu);
      const first = await hostClient(sockPath, 'abc from the host');
      const second = await hostClient(sockPath, 'x'.repeat(3000) + 'yz');
      const run = await guest;
      expect(first).toBe('tsoh eht morf cba');
      expect(second).toBe('zy' + 'x'.repeat(3000));
      expect(run.stdout).toBe(`got 17 bytes: abc from the host\ngot 3002 bytes: ${'x'.repeat(3000)}yz\n`);
      expect(run.status.code).toBe(0);
    });
  }
});
