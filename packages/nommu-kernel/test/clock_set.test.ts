/**
 * The guest's own wall clock (Unicorn backend): root in the guest steps
 * CLOCK_REALTIME and reads it back through syscalls and through the vDSO
 * (which must not trap); a user gets EPERM; an absolute realtime timerfd with
 * TFD_TIMER_CANCEL_ON_SET reads ECANCELED after a step; absolute realtime
 * sleeps and POSIX timers follow the steps; the host clock never moves. (Not
 * a differential test: natively it would set the host's clock.)
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KernelHooks } from '../src/index.js';
import { runGuest } from './support.js';

const SOURCE = fileURLToPath(new URL('./programs/clock_set.c', import.meta.url));
const DAY = 86_400;
let TMP = '';
let PROG = '';

beforeAll(() => {
  TMP = fs.mkdtempSync(path.join(os.tmpdir(), 'nommu-clock-set-'));
  PROG = path.join(TMP, 'clock_set');
  execFileSync('musl-gcc', ['-static', '-O1', '-pthread', '-o', PROG, SOURCE]);
});
afterAll(() => fs.rmSync(TMP, { recursive: true, force: true }));

const root = { uid: 0, gid: 0, euid: 0, egid: 0 };
const user = { uid: 1000, gid: 1000, euid: 1000, egid: 1000 };

/** "name value..." lines -> name: the rest. */
function fields(out: string): Record<string, string> {
  const r: Record<string, string> = {};
  for (const line of out.trim().split('\n')) {
    const i = line.indexOf(' ');
    r[line.slice(0, i)] = line.slice(i + 1);
  }
  return r;
}

const hostSec = (): number => Date.now() / 1000;

describe('setting the guest clock', () => {
  it('root steps it a day forward: syscalls and the vDSO (without a trap) both answer host + 1 day', async () => {
    const before = Date.now();
    // The clock syscalls the guest makes between the two markers: none, the vDSO answers.
    let inVdsoPart = false;
    let trapped = 0;
    let markers = 0;
    const hooks: KernelHooks = {
      beforeSyscall: (call) => {
        if (call.name === 'write') {
          const text = Buffer.from(call.memory.read(Number(call.arg(1)), Number(call.arg(2)))).toString();
          if (text.includes('marker vdso') || text.includes('marker end')) {
            inVdsoPart = text.includes('marker vdso');
            markers++;
          }
        }
        if (inVdsoPart && ['clock_gettime', 'gettimeofday', 'time'].includes(call.name)) trapped++;
      },
    };
    const r = await runGuest({ path: PROG, argv: ['clock_set', 'set'] }, { identity: root, hooks });
    expect(r.stderr).toBe('');
    expect(r.status.code).toBe(0);
    const f = fields(r.stdout);
    expect(f.settime).toBe('0');
    const want = hostSec() + DAY;
    for (const k of ['sys_clock_gettime', 'sys_coarse', 'sys_tai', 'sys_gettimeofday', 'sys_time', 'vdso_clock_gettime', 'vdso_coarse', 'vdso_gettimeofday', 'vdso_time']) {
      expect(Math.abs(Number(f[k]) - want), `${k}: ${f[k]} vs ${want}`).toBeLessThan(1.5);
    }
    expect(markers).toBe(2);
    expect(trapped).toBe(0);
    expect(f.settimeofday_tz).toBe('0');
    expect(f.tz).toBe('-120 0');
    expect(f.settimeofday_bad_usec).toBe('EINVAL');
    // TIME_ERROR (5) after a step: the clock is no longer synchronised.
    expect(f.adjtimex_read).toBe('5 unsync 1');
    expect(Math.abs(Number(f.adjtimex_time) - want)).toBeLessThan(1.5);
    expect(f.adjtimex_setoffset).toBe('0');
    expect(Math.abs(Number(f.after_setoffset) - (want - 3600))).toBeLessThan(1.5);
    expect(Math.abs(Number(f.vdso_after_setoffset) - (want - 3600))).toBeLessThan(1.5);
    expect(f.adjtimex_recorded).toBe(`0 freq 123 status ${0x0001} maxerror 1000`);
    expect(f.adjtimex_bad_modes).toBe('EINVAL');
    expect(f.clock_settime_monotonic).toBe('EINVAL');
    expect(f.clock_settime_bad_ns).toBe('EINVAL');
    // The host's clock did not move.
    expect(Math.abs(Date.now() - before)).toBeLessThan(60_000);
  });

  it('a user without CAP_SYS_TIME gets EPERM; reading adjtimex works; the clock stays', async () => {
    const r = await runGuest({ path: PROG, argv: ['clock_set', 'user'] }, { identity: user });
    expect(r.status.code).toBe(0);
    const f = fields(r.stdout);
    expect(f).toMatchObject({ settime: 'EPERM', settimeofday: 'EPERM', settimeofday_null: 'EPERM', adjtimex_read: 'ok', adjtimex_setoffset: 'EPERM', adjtimex_freq: 'EPERM' });
    expect(Math.abs(Number(f.now) - hostSec())).toBeLessThan(1.5);
  });

  it('an absolute realtime timerfd with TFD_TIMER_CANCEL_ON_SET reads ECANCELED after a step; one without expires; a relative one keeps its time', async () => {
    const r = await runGuest({ path: PROG, argv: ['clock_set', 'timerfd'] }, { identity: root });
    expect(r.stderr).toBe('');
    expect(fields(r.stdout)).toEqual({
      settime_cancel: '0',
      before_step: 'EAGAIN',
      read_cancel: 'ECANCELED',
      woke_within_5s: '1',
      poll_after_cancel: '0',
      read_plain: '0 1',
      read_relative: 'EAGAIN',
      relative_left_over_3500s: '1',
    });
  });

  it('clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME): the deadline moves with the clock', async () => {
    const r = await runGuest({ path: PROG, argv: ['clock_set', 'sleep'] }, { identity: root });
    expect(r.stderr).toBe('');
    expect(fields(r.stdout)).toEqual({ forward: '0 within_5s 1', backward: '0 over_800ms 1' });
  });

  it('an absolute CLOCK_REALTIME POSIX timer fires when a step passes its time', async () => {
    const r = await runGuest({ path: PROG, argv: ['clock_set', 'timer'] }, { identity: root });
    expect(r.stderr).toBe('');
    expect(fields(r.stdout)).toEqual({ before_step: 'EAGAIN', settime: '0', after_step: 'SIGUSR1' });
  });

  it('KernelOptions.realtimeNs starts the guest clock there, and it runs on', async () => {
    const start = 1_900_000_000n * 1_000_000_000n;
    const r = await runGuest({ path: '/bin/busybox', argv: ['date', '-u', '+%s'] }, { identity: user, realtimeNs: start });
    expect(r.status.code).toBe(0);
    const sec = Number(r.stdout.trim());
    expect(sec).toBeGreaterThanOrEqual(1_900_000_000);
    expect(sec).toBeLessThan(1_900_000_030);
  });
});
