/**
 * The library API of @nommu/cli (createNommu, runProgram): real programs on
 * the real backend, stdio as strings, buffers and streams, hooks, overrides.
 */
import { mkdirSync, copyFileSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { E, ExecFailure, type KernelHooks } from '@nommu/kernel';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNommu, runProgram } from '../src/index.js';
import { conformanceProgram, ensureConformance, tempDir } from './helpers.js';

const tmp = tempDir('library');
afterAll(tmp.cleanup);
beforeAll(ensureConformance);

const MEMORY = 128 << 20;

describe('runProgram', () => {
  it('finds the program on the guest PATH, passes argv and env, collects stdout and stderr', async () => {
    const r = await runProgram({
      program: 'busybox',
      args: ['sh', '-c', 'echo "$GREETING $0"; echo oops >&2; exit 4', 'arg0'],
      env: { PATH: '/usr/bin:/bin', GREETING: 'hello', UNSET: undefined },
      memory: MEMORY,
    });
    expect(r).toEqual({ status: { code: 4, signal: 0, coreDumped: false }, exitCode: 4, stdout: 'hello arg0\n', stderr: 'oops\n' });
  });

  it('feeds stdin from a string, a Buffer and a stream', async () => {
    const fromString = await runProgram({ program: '/bin/busybox', args: ['wc', '-l'], stdin: 'a\nb\nc\n', memory: MEMORY });
    expect(fromString.stdout.trim()).toBe('3');
    const fromBuffer = await runProgram({ program: '/bin/busybox', args: ['od', '-An', '-tx1'], stdin: Buffer.from([0, 255, 7]), memory: MEMORY });
    expect(fromBuffer.stdout.trim()).toBe('00 ff 07');
    const input = new PassThrough();
    setTimeout(() => input.write('late '), 30);
    setTimeout(() => input.end('input\n'), 80);
    const fromStream = await runProgram({ program: '/bin/busybox', args: ['cat'], stdin: input, memory: MEMORY });
    expect(fromStream.stdout).toBe('late input\n');
  });

  it('writes stdout into a stream and stderr into a callback', async () => {
    const chunks: Buffer[] = [];
    const out = new Writable({ write: (c: Buffer, _e, done) => (chunks.push(c), done()) });
    const err: string[] = [];
    const r = await runProgram({
      program: '/bin/busybox',
      args: ['sh', '-c', 'echo to-stream; echo to-callback >&2'],
      stdout: out,
      stderr: (d) => err.push(Buffer.from(d).toString()),
      memory: MEMORY,
    });
    expect(r.stdout).toBe('');
    expect(Buffer.concat(chunks).toString()).toBe('to-stream\n');
    expect(err.join('')).toBe('to-callback\n');
  });

  it('reports death by a signal as 128+N', async () => {
    const r = await runProgram({ program: '/bin/busybox', args: ['sh', '-c', 'kill -TERM $$'], memory: MEMORY });
    expect(r.status).toEqual({ code: 0, signal: 15, coreDumped: false });
    expect(r.exitCode).toBe(143);
  });

  it('a program that does not exist is an ExecFailure with ENOENT', async () => {
    await expect(runProgram({ program: 'no-such-program', memory: MEMORY })).rejects.toSatisfy(
      (e) => e instanceof ExecFailure && e.errno === E.ENOENT,
    );
  });

  it('runs in another root: the guest sees only that directory', async () => {
    const root = join(tmp.dir, 'root');
    mkdirSync(join(root, 'bin'), { recursive: true });
    copyFileSync('/bin/busybox', join(root, 'bin/busybox'));
    const r = await runProgram({
      root,
      program: 'busybox',
      args: ['sh', '-c', 'ls /; echo made > /made.txt'],
      env: { PATH: '/bin' },
      memory: MEMORY,
    });
    expect(r).toMatchObject({ exitCode: 0, stdout: 'bin\n', stderr: '' });
    expect(readFileSync(join(root, 'made.txt'), 'utf8')).toBe('made\n');
  });

  it('readOnly: the guest cannot write under its root', async () => {
    const root = join(tmp.dir, 'ro');
    mkdirSync(join(root, 'bin'), { recursive: true });
    copyFileSync('/bin/busybox', join(root, 'bin/busybox'));
    const r = await runProgram({ root, readOnly: true, program: '/bin/busybox', args: ['touch', '/x'], memory: MEMORY });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toBe("touch: /x: Read-only file system\n");
    expect(existsSync(join(root, 'x'))).toBe(false);
  });

  it('strace lines go to the callback', async () => {
    const lines: string[] = [];
    await runProgram({ program: conformanceProgram('hello'), strace: (l) => lines.push(l), memory: MEMORY });
    expect(lines.at(-1)).toBe('+++ exited with 0 +++');
    expect(lines).toContain('exit_group(0) = ?');
  });
});

describe('createNommu', () => {
  it('handle() overrides a syscall by name; hooks see the call', async () => {
    const n = createNommu({ memory: MEMORY });
    try {
      n.handle('getuid', () => 4321);
      n.handle('geteuid', () => 4321);
      const names: string[] = [];
      const hooks: KernelHooks = { beforeSyscall: (c) => void names.push(c.name) };
      n.addHooks(hooks);
      const r = await n.run({ program: '/bin/busybox', args: ['id', '-u'] });
      expect(r.stdout).toBe('4321\n');
      expect(names).toContain('geteuid');
    } finally {
      n.dispose();
    }
  });

  it('handle() adds a syscall nommu does not have: number 1000 answers 7', async () => {
    const n = createNommu({ memory: MEMORY });
    try {
      n.handle(1000, () => 7);
      expect(n.syscalls.entry(1000)?.name).toBe('syscall_1000');
      const r = await n.run({ program: conformanceProgram('syscall_nosys') });
      expect(r.stdout).toBe('1000: returned 7\n-1: ENOSYS\n');
    } finally {
      n.dispose();
    }
  });

  it('an unknown syscall name is a TypeError', () => {
    const n = createNommu({ memory: MEMORY });
    try {
      expect(() => n.handle('no_such_call', () => 0)).toThrow(TypeError);
    } finally {
      n.dispose();
    }
  });
});
