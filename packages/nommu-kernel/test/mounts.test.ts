/**
 * Mounts (bind and tmpfs) and the jail across them: lookups cross mount
 * points as Linux does ('..' at a mount's root goes to the parent mount),
 * each mount has its own st_dev, statfs and read-only flag, rename and link
 * stop at mount boundaries (EXDEV); then a C program (test/programs/jail.c)
 * and busybox attack the root from inside, and the files outside it (and in a
 * read-only root, the root itself) must come out unread and unchanged.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { E, Errno, Vfs, type KernelOptions, type MountSpec } from '../src/index.js';
import { BUSYBOX, newKernel, runGuest, syscallProbe, type GuestRun } from './support.js';

const CANARY = 'nommu-mount-canary-7d02e4';
const JAIL_C = fileURLToPath(new URL('./programs/jail.c', import.meta.url));

let TMP: string; // around the root: nothing here but the bind source may be read or changed
let ROOT: string;
let BIND: string; // the bind mount's source, a sibling of the root

function makeTree(): void {
  TMP = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'nommu-mounts-')));
  fs.writeFileSync(path.join(TMP, 'secret'), `${CANARY}-secret\n`);
  fs.writeFileSync(path.join(TMP, 'bind_sentinel'), `${CANARY}-bind-sentinel\n`);
  fs.mkdirSync(path.join(TMP, 'canary', 'sub'), { recursive: true });
  fs.writeFileSync(path.join(TMP, 'canary', 'keep'), `${CANARY}-keep\n`);
  BIND = path.join(TMP, 'bindsrc');
  fs.mkdirSync(BIND);
  fs.writeFileSync(path.join(BIND, 'inside'), 'inside mnt\n');
  fs.symlinkSync('../../../..', path.join(BIND, 'up'));
  fs.symlinkSync(TMP, path.join(BIND, 'abs'));
  ROOT = path.join(TMP, 'root');
  const at = (p: string): string => path.join(ROOT, p);
  for (const d of ['bin', 'mnt', 'tmp', 'dir/sub']) fs.mkdirSync(at(d), { recursive: true });
  fs.writeFileSync(at('file'), 'guest file\n');
  fs.writeFileSync(at('dir/sub/file'), 'sub file\n');
  fs.writeFileSync(at('dir/sub/file2'), 'sub file2\n');
  fs.copyFileSync(BUSYBOX, at('bin/busybox'));
  fs.chmodSync(at('bin/busybox'), 0o755);
  const links: [string, string][] = [
    ['abs_secret', path.join(TMP, 'secret')],
    ['dir/sub/abs_secret', path.join(TMP, 'secret')],
    ['dir/sub/abs_canary', path.join(TMP, 'canary')],
    ['dir/sub/up', '../../../../..'],
    ['dir/sub/link_to_root', '/'],
    ['dir/sub/loop_a', 'loop_b'],
    ['dir/sub/loop_b', 'loop_a'],
    ['dir/sub/self_loop', 'self_loop'],
  ];
  for (const [p, target] of links) fs.symlinkSync(target, at(p));
  execFileSync('musl-gcc', ['-static', '-O1', '-pthread', '-o', at('bin/jail'), JAIL_C]);
}

beforeAll(makeTree);
afterAll(() => fs.rmSync(TMP, { recursive: true, force: true }));

const MOUNTS = (): MountSpec[] => [
  { type: 'bind', source: BIND, target: '/mnt' },
  { type: 'tmpfs', target: '/tmp' },
];

/** Names, kinds, modes, sizes, mtimes and contents of everything under `dir` (symlinks not followed), minus `skip`. */
function snapshot(dir: string, skip: string[] = []): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (rel: string): void => {
    if (skip.includes(rel)) return;
    const full = path.join(dir, rel);
    const st = fs.lstatSync(full, { bigint: true });
    const head = `${(Number(st.mode) & 0o7777).toString(8)} ${st.size} ${st.mtimeNs} ${st.nlink}`;
    if (st.isSymbolicLink()) out[rel] = `link ${head} ${fs.readlinkSync(full)}`;
    else if (st.isDirectory()) {
      out[rel] = `dir ${head}`;
      for (const n of fs.readdirSync(full).sort()) walk(path.join(rel, n));
    } else out[rel] = `file ${head} ${st.size < 4096 ? fs.readFileSync(full, 'latin1') : ''}`;
  };
  walk('');
  return out;
}

const guest = (args: string[], opts: Partial<KernelOptions> = {}): Promise<GuestRun> =>
  runGuest({ path: args[0]!, argv: args, envp: ['PATH=/bin'] }, { root: ROOT, mounts: MOUNTS(), timeoutMs: 60_000, ...opts });
const busybox = (args: string[], opts: Partial<KernelOptions> = {}): Promise<GuestRun> => guest(['/bin/busybox', ...args], opts);

function expectNoLeak(run: GuestRun): void {
  expect(run.stdout + run.stderr).not.toContain(CANARY);
}

const errnoOf = (f: () => unknown): number | string => {
  try {
    f();
    return 'no error';
  } catch (e) {
    return e instanceof Errno ? e.errno : String(e);
  }
};

describe('the mount table (Vfs)', () => {
  let vfs: Vfs;
  beforeAll(() => {
    vfs = new Vfs({ root: ROOT, mounts: MOUNTS() });
  });
  afterAll(() => vfs.dispose());

  it('lookups under a mount point name the mount source; .. at its root goes back to the parent mount', () => {
    expect(vfs.resolve('/', '/mnt/inside').host).toBe(path.join(BIND, 'inside'));
    expect(vfs.resolve('/', '/mnt').host).toBe(BIND);
    expect(vfs.resolve('/mnt', '..').host).toBe(ROOT);
    expect(vfs.resolve('/mnt', '../file').host).toBe(path.join(ROOT, 'file'));
    expect(vfs.resolve('/', '/mnt/../mnt/../tmp/..').guest).toBe('/');
    expect(vfs.resolve('/', '/mnt/up/file').host).toBe(path.join(ROOT, 'file'));
    expect(vfs.resolve('/', '/mnt/inside').mount).toBe(vfs.mounts[1]);
    expect(vfs.resolve('/', '/tmp').mount?.kind).toBe('tmpfs');
    expect(vfs.resolve('/', '/file').mount?.kind).toBe('root');
  });

  it('no hostile path through a mount names a host file outside the root and the mount sources', () => {
    const allowed = [ROOT, BIND, ...vfs.mounts.map((m) => m.host)];
    const inside = (h: string): boolean => allowed.some((a) => h === a || h.startsWith(a + '/'));
    const hostile = ['/mnt/..', '/mnt/../..', '/mnt/../../bind_sentinel', '/mnt/up', '/mnt/up/../..', '/mnt/abs', '/mnt/abs/secret',
      '/mnt/abs/bindsrc/inside', '/tmp/..', '/tmp/../../secret', `/mnt/${'../'.repeat(50)}secret`, '/mnt/./up/../../..'];
    for (const cwd of ['/', '/mnt', '/tmp', '/dir/sub']) {
      for (const p of hostile) {
        for (const follow of [true, false]) {
          try {
            const r = vfs.resolve(cwd, p, follow);
            expect(inside(r.host), `${cwd} ${p} -> ${r.host}`).toBe(true);
          } catch (e) {
            expect(e).toBeInstanceOf(Errno);
          }
        }
      }
    }
    expect(errnoOf(() => vfs.resolve('/', '/mnt/abs/secret'))).toBe(E.ENOENT);
  });

  it('a mount needs an existing guest directory, and / and /proc are not mount points', () => {
    const v = new Vfs({ root: ROOT });
    try {
      expect(errnoOf(() => v.mount({ type: 'tmpfs', target: '/nonexistent' }))).toBe(E.ENOENT);
      expect(errnoOf(() => v.mount({ type: 'tmpfs', target: '/file' }))).toBe(E.ENOTDIR);
      expect(errnoOf(() => v.mount({ type: 'tmpfs', target: '/' }))).toBe(E.EBUSY);
      expect(errnoOf(() => v.mount({ type: 'tmpfs', target: '/proc' }))).toBe(E.EBUSY);
      expect(errnoOf(() => v.mount({ type: 'bind', source: path.join(TMP, 'secret'), target: '/mnt' }))).toBe(E.ENOTDIR);
      // The target is resolved inside the root: a symlink out of it mounts on the root's own directory.
      const m = v.mount({ type: 'tmpfs', target: '/dir/sub/link_to_root/mnt' });
      expect(m.target).toBe('/mnt');
    } finally {
      v.dispose();
    }
  });

  it("a tmpfs is a fresh host directory, removed when the Vfs is disposed; later mounts hide earlier ones", () => {
    const v = new Vfs({ root: ROOT, mounts: [...MOUNTS(), { type: 'tmpfs', target: '/mnt' }] });
    const tmpfs = v.mounts.filter((m) => m.kind === 'tmpfs').map((m) => m.host);
    expect(tmpfs).toHaveLength(2);
    expect(v.resolve('/', '/mnt/inside', true).host).toBe(path.join(tmpfs[1]!, 'inside'));
    for (const h of tmpfs) expect(fs.readdirSync(h)).toEqual([]);
    v.dispose();
    for (const h of tmpfs) expect(fs.existsSync(h)).toBe(false);
  });

  it('each mount has its own device numbers, the root the host one', () => {
    const [root, bind, tmp] = vfs.mounts;
    const hostDev = Number(fs.statSync(ROOT).dev);
    expect(root!.devOf(hostDev)).toBe(hostDev);
    const devs = new Set([root!.devOf(hostDev), bind!.devOf(hostDev), tmp!.devOf(hostDev)]);
    expect(devs.size).toBe(3);
    expect(bind!.devOf(hostDev)).toBe(bind!.devOf(hostDev));
    expect(bind!.devOf(hostDev + 1)).not.toBe(bind!.devOf(hostDev));
  });
});

describe('mounts seen by busybox', () => {
  it('/proc/mounts lists the root, /proc and each mount, with its mode', async () => {
    const run = await busybox(['cat', '/proc/mounts'], { mounts: [{ type: 'bind', source: BIND, target: '/mnt', readOnly: true }, { type: 'tmpfs', target: '/tmp' }] });
    expect(run.stdout).toBe(
      'root / hostfs rw 0 0\nproc /proc proc rw,nosuid,nodev,noexec 0 0\ndevtmpfs /dev devtmpfs rw 0 0\ntmpfs /dev/shm tmpfs rw 0 0\ndevpts /dev/pts devpts rw 0 0\nsysfs /sys sysfs rw 0 0\nbind /mnt hostfs ro 0 0\ntmpfs /tmp tmpfs rw 0 0\n',
    );
  });

  it('st_dev differs across each mount point and is the same within a mount', async () => {
    const run = await busybox(['stat', '-c', '%d', '/', '/dir', '/mnt', '/mnt/inside', '/tmp']);
    const [root, dir, mnt, inside, tmp] = run.stdout.trim().split('\n');
    expect(root).toBe(dir);
    expect(mnt).toBe(inside);
    expect(new Set([root, mnt, tmp]).size).toBe(3);
  });

  it('statfs answers per mount: a tmpfs has tmpfs magic', async () => {
    const run = await busybox(['stat', '-f', '-c', '%t', '/tmp', '/mnt']);
    const [tmp, mnt] = run.stdout.trim().split('\n');
    expect(tmp).toBe('1021994');
    expect(mnt).toBe(Number(fs.statfsSync(BIND).type).toString(16));
  });

  it('a tmpfs holds files and directories for the run; a bind mount writes through to its source', async () => {
    const run = await busybox(['sh', '-c', 'mkdir -p /tmp/a/b && echo data > /tmp/a/b/f && cat /tmp/a/b/f && ls -ld /tmp | cut -c1-10 && echo w > /mnt/written && cat /mnt/written']);
    expect(run.stdout).toBe('data\ndrwxrwxrwt\nw\n');
    expect(fs.readFileSync(path.join(BIND, 'written'), 'utf8')).toBe('w\n');
    fs.rmSync(path.join(BIND, 'written'));
    expect(fs.readdirSync(ROOT + '/tmp')).toEqual([]);
  });

  it('rename and link across mounts are EXDEV; a mount point is EBUSY; mv falls back to copying', async () => {
    const probe = async (nr: number, args: (number | 'path' | 'path2')[], p1: string, p2: string): Promise<number> => {
      fs.writeFileSync(path.join(ROOT, 'bin', 'probe'), syscallProbe(nr, args, p1, p2), { mode: 0o755 });
      const run = await guest(['/bin/probe']);
      return run.status.code;
    };
    const AT_FDCWD = -100;
    expect(await probe(82, ['path', 'path2'], '/mnt/inside', '/moved')).toBe(E.EXDEV); // rename
    expect(await probe(82, ['path', 'path2'], '/file', '/mnt/moved')).toBe(E.EXDEV);
    expect(await probe(86, ['path', 'path2'], '/mnt/inside', '/hard')).toBe(E.EXDEV); // link
    expect(await probe(265, [AT_FDCWD, 'path', AT_FDCWD, 'path2', 0], '/file', '/tmp/hard')).toBe(E.EXDEV); // linkat
    expect(await probe(82, ['path', 'path2'], '/tmp', '/tmp2')).toBe(E.EBUSY);
    expect(await probe(84, ['path'], '/mnt', '')).toBe(E.EBUSY); // rmdir
    expect(await probe(82, ['path', 'path2'], '/mnt/inside', '/mnt/inside2')).toBe(0); // within a mount: fine
    fs.renameSync(path.join(BIND, 'inside2'), path.join(BIND, 'inside'));
    const mv = await busybox(['sh', '-c', 'cp /file /tmp/f && mv /tmp/f /mnt/f && cat /mnt/f && ls /tmp']);
    expect(mv.stdout).toBe('guest file\n');
    expect(fs.readFileSync(path.join(BIND, 'f'), 'utf8')).toBe('guest file\n');
    fs.rmSync(path.join(BIND, 'f'));
    fs.rmSync(path.join(ROOT, 'bin', 'probe'));
  });

  it('a read-only bind mount refuses writes with EROFS, while the root and a tmpfs stay writable', async () => {
    const before = snapshot(BIND);
    const mounts: MountSpec[] = [{ type: 'bind', source: BIND, target: '/mnt', readOnly: true }, { type: 'tmpfs', target: '/tmp' }];
    for (const cmd of ['touch /mnt/new', 'echo x > /mnt/inside', 'rm /mnt/inside', 'mkdir /mnt/d', 'chmod 777 /mnt/inside', 'mv /mnt/inside /mnt/x', 'ln -s / /mnt/l']) {
      const run = await busybox(['sh', '-c', cmd], { mounts });
      expect(run.status.code, cmd).not.toBe(0);
      expect(run.stderr, cmd).toMatch(/Read-only file system/);
    }
    const ok = await busybox(['sh', '-c', 'echo t > /tmp/t && cat /tmp/t /mnt/inside && touch /newfile && rm /newfile'], { mounts });
    expect(ok.stdout).toBe('t\ninside mnt\n');
    expect(snapshot(BIND)).toEqual(before);
  });
});

describe('the jail: a hostile C program and busybox inside a root with mounts', () => {
  let outside: Record<string, string>;
  beforeAll(() => {
    outside = snapshot(TMP, ['root']);
    expect(Object.keys(outside).length).toBeGreaterThan(6);
  });

  it('reads through .., symlinks, /proc links, dirfds and a mount\'s .. never reach a file outside', async () => {
    const run = await guest(['/bin/jail', 'read']);
    expect(run.status.code, run.stderr).toBe(0);
    expectNoLeak(run);
    const lines = run.stdout.trim().split('\n');
    expect(lines.length).toBeGreaterThan(50);
    const answer = (what: string): string => lines.find((l) => l.startsWith(`${what}: `))?.slice(what.length + 2) ?? 'missing';
    // The ways in still work for what is inside (so the refusals are the jail, not a broken lookup).
    expect(answer('file')).toBe('ok sub file');
    expect(answer('/mnt/inside')).toBe('ok inside mnt');
    expect(answer('/proc/self/root/file')).toBe('ok guest file');
    expect(answer('up/file')).toBe('ok guest file');
    expect(answer('/mnt/../mnt/../../bind_sentinel')).toBe('errno 2');
    expect(answer('loop_a')).toBe('errno 40');
    expect(answer('self_loop')).toBe('errno 40');
    expect(answer('O_NOFOLLOW abs_secret')).toBe('errno 40');
    expect(answer('O_NOFOLLOW /mnt/abs')).toBe('errno 40');
    expect(answer('getcwd')).toBe('ok /');
    expect(answer('readlink /proc/self/root')).toBe('ok /');
    // Every other answer is an error: nothing outside exists in the guest's tree.
    const okLines = lines.filter((l) => / ok /.test(l));
    expect(okLines.every((l) => /ok (sub file|inside mnt|guest file|dir|\/)$/.test(l)), okLines.join('\n')).toBe(true);
    expect(snapshot(TMP, ['root'])).toEqual(outside);
  });

  it('creates, renames, links, removes, truncates, chmods and utimes aimed outside change nothing there', async () => {
    const run = await guest(['/bin/jail', 'write']);
    expect(run.status.code, run.stderr).toBe(0);
    const lines = run.stdout.trim().split('\n');
    expect(lines.length).toBe(26);
    expect(lines.filter((l) => l.includes(' ok')), run.stdout).toEqual([]);
    const answer = (what: string): string => lines.find((l) => l.startsWith(`${what}: `))?.slice(what.length + 2) ?? 'missing';
    expect(answer('rename /mnt/inside -> /')).toBe(`errno ${E.EXDEV}`);
    expect(answer('rmdir /mnt')).toBe(`errno ${E.EBUSY}`);
    expect(snapshot(TMP, ['root'])).toEqual(outside);
  });

  it('a thread swapping a directory with a climbing symlink while another opens through it reads nothing outside', async () => {
    const run = await guest(['/bin/jail', 'race']);
    fs.rmSync(path.join(ROOT, 'race'), { recursive: true, force: true });
    expect(run.status.code, run.stderr).toBe(0);
    expectNoLeak(run);
    expect(run.stdout).toMatch(/^race: 12000 attempts, inside file read yes\n$/);
    expect(snapshot(TMP, ['root'])).toEqual(outside);
  });

  it('busybox through a mount\'s .. and /proc reads nothing outside either', async () => {
    const run = await busybox(['sh', '-c', 'cat /mnt/../../secret /mnt/up/secret /mnt/abs/secret /proc/self/root/../bind_sentinel; cd /mnt; cd ../../..; ls; cat bind_sentinel canary/keep; find / -xdev -name "*sentinel*"; find /mnt -name inside']);
    expectNoLeak(run);
    expect(run.stdout).toContain('/mnt/inside');
    expect(run.stdout).not.toContain('bind_sentinel');
  });
});

describe('a --read-only root: nothing under it changes', () => {
  it('after the hostile writes, the race, and busybox writers, the tree is identical (names, sizes, mtimes)', async () => {
    const ro: Partial<KernelOptions> = { readOnly: true, mounts: [{ type: 'bind', source: BIND, target: '/mnt', readOnly: true }] };
    const before = snapshot(ROOT);
    const bindBefore = snapshot(BIND);
    const write = await guest(['/bin/jail', 'write'], ro);
    expect(write.stdout.trim().split('\n').filter((l) => l.includes(' ok'))).toEqual([]);
    const race = await guest(['/bin/jail', 'race'], ro);
    expect(race.stdout).toMatch(/race: 12000 attempts, inside file read no/);
    const writers = [
      'touch /newfile', 'touch /file', 'rm -f /file', 'rm -rf /dir', 'cp /file /copy', 'mkdir /newdir', 'rmdir /tmp', 'mv /file /moved',
      'ln -s /file /lnk', 'ln /file /hard', 'chmod 777 /file', 'echo pwned > /file', 'echo pwned >> /file', 'echo x > /mnt/inside',
      'truncate -s 0 /file', 'mkfifo /fifo', 'touch -d 2000-01-01 /file', 'exec 3</file; echo y >/proc/self/fd/3', 'echo y >/proc/self/root/file',
      'cd /dir/sub && echo z > up/file',
    ];
    for (const cmd of writers) {
      const run = await busybox(['sh', '-c', cmd], ro);
      expect(run.status.code, cmd).not.toBe(0);
    }
    expect(snapshot(ROOT)).toEqual(before);
    expect(snapshot(BIND)).toEqual(bindBefore);
  });
});

describe("the kernel's /dev (devfs): never the root's", () => {
  it('under a root with no /dev, /dev/null takes writes and /dev/zero reads zeros, and nothing is made in the root', async () => {
    const root = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'nommu-devfs-')));
    try {
      fs.copyFileSync(BUSYBOX, path.join(root, 'busybox'));
      fs.chmodSync(path.join(root, 'busybox'), 0o755);
      const script = [
        'echo written > /dev/null',
        'echo more >> /dev/null',
        '/busybox head -c 6 /dev/zero | /busybox od -An -tx1',
        '/busybox wc -c < /dev/null',
        '/busybox head -c 16 /dev/urandom | /busybox wc -c',
        'echo x > /dev/full 2>/dev/null || echo full refused',
        '/busybox stat -c "%F %t:%T %a" /dev/null /dev/zero',
        '/busybox ls /dev',
        'echo shm > /dev/shm/f && /busybox cat /dev/shm/f',
      ].join('; ');
      const run = await runGuest({ path: '/busybox', argv: ['/busybox', 'sh', '-c', script], envp: [] }, { root, timeoutMs: 60_000 });
      expect(run.stdout).toBe(
        [
          ' 00 00 00 00 00 00',
          '0',
          '16',
          'full refused',
          'character special file 1:3 666',
          'character special file 1:5 666',
          'console\nfd\nfull\nnull\nptmx\npts\nrandom\nshm\nstderr\nstdin\nstdout\ntty\nurandom\nzero',
          'shm',
          '',
        ].join('\n'),
      );
      expect(run.status.code).toBe(0);
      expect(fs.readdirSync(root)).toEqual(['busybox']);
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });

  it('a host character device a bind mount shows is read as a stream, and a read that would wait never stalls Node', async () => {
    const root = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'nommu-devfs-')));
    try {
      fs.copyFileSync(BUSYBOX, path.join(root, 'busybox'));
      fs.chmodSync(path.join(root, 'busybox'), 0o755);
      fs.mkdirSync(path.join(root, 'hostdev'));
      // A pty master has no positional reads (pread is ESPIPE); what is written to it comes back echoed.
      const script = 'exec 3<>/hostdev/ptmx; printf "hi\\n" >&3; /busybox head -c 4 <&3 | /busybox od -An -c; /busybox timeout 1 /busybox cat /hostdev/ptmx; echo rc=$?';
      const run = await runGuest({ path: '/busybox', argv: ['/busybox', 'sh', '-c', script], envp: [] }, { root, mounts: [{ type: 'bind', source: '/dev', target: '/hostdev' }], timeoutMs: 30_000 });
      expect(run.timedOut).toBe(false);
      expect(run.stdout).toBe('   h   i  \\r  \\n\nrc=143\n');
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });

  it("'.' inside /proc and /dev is the kernel's directory, never the root's (which may not exist)", async () => {
    const root = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'nommu-devfs-')));
    try {
      fs.copyFileSync(BUSYBOX, path.join(root, 'busybox'));
      fs.chmodSync(path.join(root, 'busybox'), 0o755);
      const script = 'cd /proc && /busybox ls . | /busybox grep -x self; cd /dev && /busybox ls . | /busybox grep -x null; /busybox stat -c %F .';
      const run = await runGuest({ path: '/busybox', argv: ['/busybox', 'sh', '-c', script], envp: [] }, { root, timeoutMs: 30_000 });
      expect(run.stdout).toBe('self\nnull\ndirectory\n');
      expect(fs.readdirSync(root)).toEqual(['busybox']);
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });

  it('a mount on /dev hides the devfs; devfs: false shows the root\'s own /dev', async () => {
    const root = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'nommu-devfs-')));
    try {
      fs.copyFileSync(BUSYBOX, path.join(root, 'busybox'));
      fs.chmodSync(path.join(root, 'busybox'), 0o755);
      fs.mkdirSync(path.join(root, 'dev'));
      fs.writeFileSync(path.join(root, 'dev', 'own'), 'the root\'s own /dev\n');
      const cat = { path: '/busybox', argv: ['/busybox', 'sh', '-c', '/busybox cat /dev/own; /busybox ls /dev'], envp: [] };
      const hidden = await runGuest(cat, { root, timeoutMs: 60_000 });
      expect(hidden.stdout).not.toContain("the root's own");
      const plain = await runGuest(cat, { root, devfs: false, timeoutMs: 60_000 });
      expect(plain.stdout).toBe("the root's own /dev\nown\n");
      const tmpfs = await runGuest(cat, { root, mounts: [{ type: 'tmpfs', target: '/dev' }], timeoutMs: 60_000 });
      expect(tmpfs.stdout).toBe('');
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
});
