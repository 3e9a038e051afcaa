/**
 * Kernel hooks and guest-memory helpers, on real programs (Debian's static
 * busybox and conformance binaries) on the real Unicorn backend.
 */
import { realpathSync } from 'node:fs';
import { PassThrough } from 'node:stream';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  bufferSource,
  collectingSink,
  E,
  errno,
  Errno,
  GuestMemory,
  readableSource,
  type DecodedSyscall,
  type KernelHooks,
  type MemoryFault,
  type SyscallCall,
} from '../src/index.js';
import { BUSYBOX, buildConformance, conformanceProgram, newKernel, runGuest } from './support.js';

beforeAll(buildConformance);

const sh = (script: string): { path: string; argv: string[]; envp: string[] } => ({
  path: BUSYBOX,
  argv: ['sh', '-c', script],
  envp: ['PATH=/usr/bin:/bin'],
});

describe('beforeSyscall', () => {
  it('sees every call with its number, name and arguments, and can read the path argument', async () => {
    const opened: string[] = [];
    const names = new Set<string>();
    const hooks: KernelHooks = {
      beforeSyscall(c) {
        names.add(c.name);
        if (c.name === 'openat') {
          expect(c.nr).toBe(257);
          opened.push(c.memory.readString(c.arg(1)));
        }
      },
    };
    const r = await runGuest({ path: BUSYBOX, argv: ['cat', '/etc/hostname'], envp: [] }, { hooks });
    expect(r.status.code).toBe(0);
    expect(opened).toEqual(['/etc/hostname']);
    expect([...names]).toEqual(expect.arrayContaining(['openat', 'exit_group']));
    // busybox cat copies with sendfile where the kernel has it, else with read and write.
    expect(names.has('sendfile') || (names.has('read') && names.has('write'))).toBe(true);
  });

  it('decodes a call: arguments named by the table and rendered as strace does', async () => {
    const seen: DecodedSyscall[] = [];
    const hooks: KernelHooks = {
      beforeSyscall(c) {
        if (c.name === 'openat' || c.name === 'read' || c.name === 'exit_group') seen.push(c.decode());
      },
    };
    const r = await runGuest({ path: BUSYBOX, argv: ['head', '-c', '3', '/etc/hostname'], envp: [] }, { hooks });
    expect(r.status.code).toBe(0);
    const open = seen.find((d) => d.name === 'openat')!;
    expect(open.text).toBe('openat(AT_FDCWD, "/etc/hostname", O_RDONLY)');
    expect(open.args.map((a) => [a.name, a.text])).toEqual([
      ['dfd', 'AT_FDCWD'],
      ['filename', '"/etc/hostname"'],
      ['flags', 'O_RDONLY'],
      ['mode', expect.any(String)],
    ]);
    expect(BigInt.asIntN(32, open.args[0]!.value)).toBe(-100n);
    // read's buffer is the kernel's to fill: at entry it shows its address.
    const read = seen.find((d) => d.name === 'read')!;
    expect(read.args.map((a) => a.name)).toEqual(['fd', 'buf', 'count']);
    expect(read.args[1]!.text).toBe(`0x${read.args[1]!.value.toString(16)}`);
    expect(read.text).toMatch(/^read\(3, 0x[0-9a-f]+, \d+\)$/);
    expect(seen.at(-1)!.text).toBe('exit_group(0)');
  });

  it('without a decoder in the table, decode() names the registers arg0..arg5', async () => {
    let text = '';
    const r = await runGuest(sh('exit 7'), {
      hooks: {
        beforeSyscall(c) {
          if (c.name !== 'exit_group') return;
          const saved = c.task.kernel.syscalls.decoder;
          c.task.kernel.syscalls.decoder = null;
          text = c.decode().text;
          c.task.kernel.syscalls.decoder = saved;
        },
      },
    });
    expect(r.status.code).toBe(7);
    // The six registers whatever they hold (only the first is exit_group's).
    expect(text).toMatch(/^exit_group\(0x7(, 0x[0-9a-f]+){5}\)$/);
  });

  it('changes an argument: write(1, ...) becomes write(2, ...)', async () => {
    const hooks: KernelHooks = {
      beforeSyscall(c) {
        if (c.name === 'write' && c.arg(0) === 1n) c.setArg(0, 2);
      },
    };
    const r = await runGuest({ path: BUSYBOX, argv: ['echo', 'to stderr'], envp: [] }, { hooks });
    expect(r).toMatchObject({ stdout: '', stderr: 'to stderr\n', status: { code: 0 } });
  });

  it('skips the handler with an errno: openat of one file is EACCES', async () => {
    const hooks: KernelHooks = {
      beforeSyscall(c) {
        if (c.name === 'openat' && c.memory.readString(c.arg(1)) === '/etc/hostname') return { errno: E.EACCES };
        return undefined;
      },
    };
    const r = await runGuest({ path: BUSYBOX, argv: ['cat', '/etc/hostname', '/dev/null'], envp: [] }, { hooks });
    expect(r.status.code).toBe(1);
    expect(r.stderr).toBe("cat: can't open '/etc/hostname': Permission denied\n");
  });

  it('skips the handler with a result: getpid answers 4242', async () => {
    const r = await runGuest(sh('echo $$'), { hooks: { beforeSyscall: (c) => (c.name === 'getpid' ? { result: 4242 } : undefined) } });
    expect(r.stdout).toBe('4242\n');
  });

  it('an Errno thrown by a hook is the answer (a bad pointer read by the hook: EFAULT)', async () => {
    const seen: bigint[] = [];
    const hooks: KernelHooks = {
      beforeSyscall(c) {
        if (c.name === 'write') c.memory.read(8, 1); // nothing is mapped at 8
      },
      afterSyscall(c, result) {
        if (c.name === 'write') seen.push(result);
      },
    };
    const r = await runGuest({ path: BUSYBOX, argv: ['echo', 'x'], envp: [] }, { hooks });
    expect(r.stdout).toBe('');
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.every((s) => s === BigInt(-E.EFAULT))).toBe(true);
  });

  it('a call that parks and runs again after the wake-up is seen once', async () => {
    const input = new PassThrough();
    let before = 0;
    let after = 0;
    const hooks: KernelHooks = {
      beforeSyscall(c) {
        if (c.name === 'read' && c.arg(0) === 0n) before++;
      },
      afterSyscall(c) {
        if (c.name === 'read' && c.arg(0) === 0n) after++;
      },
    };
    setTimeout(() => input.write('first\n'), 50);
    setTimeout(() => input.end('second\n'), 150);
    const r = await runGuest({ path: BUSYBOX, argv: ['cat'], envp: [] }, { hooks, stdin: readableSource(input) });
    expect(r.stdout).toBe('first\nsecond\n');
    expect(before).toBeGreaterThanOrEqual(3);
    expect(after).toBe(before);
  });
});

describe('afterSyscall', () => {
  it('replaces the result: getuid and geteuid answer 1234', async () => {
    const hooks: KernelHooks = {
      afterSyscall: (c) => (c.name === 'getuid' || c.name === 'geteuid' ? 1234 : undefined),
    };
    const r = await runGuest({ path: BUSYBOX, argv: ['id', '-u'], envp: [] }, { hooks });
    expect(r.stdout).toBe('1234\n');
  });

  it('hooks run in order, each seeing what the previous one left; the first verdict wins', async () => {
    const order: string[] = [];
    const out = collectingSink();
    const k2 = newKernel({ stdin: bufferSource(''), stdout: out, stderr: collectingSink() });
    k2.addHooks({ beforeSyscall: (c) => (c.name === 'getpid' ? (order.push('a'), { result: 1 }) : undefined) });
    k2.addHooks({ beforeSyscall: (c) => (c.name === 'getpid' ? (order.push('b'), { result: 2 }) : undefined) });
    k2.addHooks({ afterSyscall: (c, r) => (c.name === 'getpid' ? (order.push(`x${r}`), r + 10n) : undefined) });
    k2.addHooks({ afterSyscall: (c, r) => (c.name === 'getpid' ? (order.push(`y${r}`), r * 2n) : undefined) });
    k2.spawn(sh('echo $$'));
    await k2.run();
    k2.dispose();
    expect(out.text()).toBe('22\n');
    expect(order).toEqual(['a', 'x1', 'y11']);
  });

  it('removed hooks are not called', async () => {
    let calls = 0;
    const out = collectingSink();
    const k = newKernel({ stdin: bufferSource(''), stdout: out, stderr: collectingSink() });
    const remove = k.addHooks({ beforeSyscall: () => void calls++ });
    remove();
    k.spawn({ path: BUSYBOX, argv: ['echo', 'hi'], envp: [] });
    await k.run();
    k.dispose();
    expect(out.text()).toBe('hi\n');
    expect(calls).toBe(0);
  });
});

describe('process events', () => {
  it('exec, task creation, task and process exit, in order', async () => {
    const events: string[] = [];
    const hooks: KernelHooks = {
      onExec: (t, e) => events.push(`exec ${t.tid} ${e.path} ${e.argv.join(' ')}`),
      onTaskCreate: (p, c) => events.push(`create ${p.tid}->${c.tid}`),
      onTaskExit: (t) => events.push(`task-exit ${t.tid}`),
      onProcessExit: (p, s) => events.push(`process-exit ${p.pid} ${s.code}`),
    };
    const r = await runGuest(sh('busybox true; exit 5'), { hooks });
    expect(r.status.code).toBe(5);
    expect(events).toEqual([
      `exec 1 ${realpathSync(BUSYBOX)} sh -c busybox true; exit 5`,
      'create 1->2',
      `exec 2 ${realpathSync('/usr/bin/busybox')} busybox true`,
      'process-exit 2 0',
      'task-exit 2',
      'process-exit 1 5',
      'task-exit 1',
    ]);
  });

  it('signal delivery: a handled SIGUSR1 and the fatal SIGTERM', async () => {
    const signals: number[] = [];
    const r = await runGuest(sh("trap 'echo usr1' USR1; kill -USR1 $$; kill -TERM $$; echo not reached"), {
      hooks: { onSignal: (_t, info) => void signals.push(info.signo) },
    });
    expect(r.stdout).toBe('usr1\n');
    expect(r.status.signal).toBe(15);
    expect(signals).toEqual([10, 15]);
  });

  it('memory faults: the conformance signals program reads address 0x18', async () => {
    const faults: MemoryFault[] = [];
    const r = await runGuest(
      { path: conformanceProgram('musl-static', 'signals'), argv: ['signals'], envp: [] },
      { hooks: { onFault: (_t, f) => void faults.push(f) } },
    );
    expect(r.stdout).toContain('read 0x18: SIGSEGV, SEGV_MAPERR, si_addr == 0x18: yes');
    expect(faults).toContainEqual({ address: 0x18n, rip: expect.any(BigInt), access: 'read', protection: false, signo: 11, code: 1 });
    // Its stack overflow test hits the guard page below the stack: a write, a protection fault.
    expect(faults.some((f) => f.access === 'write' && f.protection && f.code === 2)).toBe(true);
  });
});

describe('GuestMemory', () => {
  it('reads and writes mapped memory; anything else is EFAULT, never a host exception', async () => {
    let checked = false;
    const hooks: KernelHooks = {
      beforeSyscall(c: SyscallCall) {
        if (checked || c.name !== 'write') return;
        checked = true;
        const m: GuestMemory = c.memory;
        const buf = c.arg(1);
        const len = Number(c.arg(2));
        expect(Buffer.from(m.read(buf, len)).toString()).toBe('hello\n');
        m.write(buf, Buffer.from('HE'));
        expect(m.valid(buf, len)).toBe(true);
        const efault = (f: () => unknown): void => {
          let thrown: unknown;
          try {
            f();
          } catch (e) {
            thrown = e;
          }
          expect(thrown).toBe(errno(E.EFAULT));
          expect(thrown).toBeInstanceOf(Errno);
        };
        for (const addr of [0, 8, -1, 2n ** 64n - 1n, 2n ** 60n, 0x7fff_ffff_f000]) {
          expect(m.valid(addr, 1)).toBe(false);
          efault(() => m.read(addr, 1));
          efault(() => m.write(addr, Uint8Array.of(1)));
          efault(() => m.readU64(addr));
          efault(() => m.readString(addr));
        }
        efault(() => m.read(buf, -1));
        efault(() => m.read(buf, 1 << 30));
        // The kernel's own memory (this task's pt_regs) is not the process's.
        efault(() => m.read(c.task.ptregs, 8));
      },
    };
    const r = await runGuest({ path: BUSYBOX, argv: ['echo', 'hello'], envp: [] }, { hooks });
    expect(checked).toBe(true);
    expect(r.stdout).toBe('HEllo\n');
  });
});
