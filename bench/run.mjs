#!/usr/bin/env node
// nommu benchmarks: lmbench-style microbenchmarks and whole-program workloads,
// run natively, under qemu-user (qemu-x86_64-static) and under nommu on both
// CPU backends (Unicorn, and `--backend native`).
// Writes BENCHMARKS.md at the repository root and bench/out/results.json.
//
//   node bench/run.mjs [--only name,name] [--runners native,qemu,nommu,nommu-native]
//                      [--output FILE] [--no-write] [--budget SECONDS]
//
// Never part of the test suite. See bench/README.md.

import { spawnSync, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..');
const out = path.join(here, 'out');
const nommuCli = path.join(root, 'packages/cli/bin/nommu.js');
const BUSYBOX = '/bin/busybox';
const QEMU = 'qemu-x86_64-static';

// ---- options ---------------------------------------------------------------

const argv = process.argv.slice(2);
function opt(name) {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
}
const only = opt('--only')?.split(',').filter(Boolean);
const runnerNames = (opt('--runners') ?? 'native,qemu,nommu,nommu-native').split(',').filter(Boolean);
const outputFile = path.resolve(root, opt('--output') ?? 'BENCHMARKS.md');
const writeReport = !argv.includes('--no-write');
// After this many seconds, only first runs are made (the rest are skipped).
const budgetS = Number(opt('--budget') ?? 600);

// ---- inputs ----------------------------------------------------------------

// The generated data, at the sizes the issue names: 32 MB of text for
// sha256sum and gzip, 1M lines for sort. gzip and sort take minutes per run on
// Unicorn, so they get one run there (see WHOLE).
const DATA_BYTES = 32 * 1024 * 1024;
const GZIP_BYTES = 32 * 1024 * 1024;
const SORT_LINES = 1_000_000;
const dataFile = path.join(out, `data-${DATA_BYTES >> 20}m.txt`);
const gzipFile = path.join(out, `data-${GZIP_BYTES >> 20}m.txt`);
const sortFile = path.join(out, `lines-${SORT_LINES / 1000}k.txt`);

const WORDS = ['alpha', 'bravo', 'charlie', 'delta', 'echo', 'foxtrot', 'golf', 'hotel',
  'india', 'juliet', 'kilo', 'lima', 'mike', 'november', 'oscar', 'papa'];

/** Deterministic text: lines of six words and a hex number from a 32-bit LCG. */
function* lines(seed) {
  let s = seed >>> 0;
  const next = () => (s = (Math.imul(s, 1103515245) + 12345) >>> 0);
  for (;;) {
    let line = '';
    for (let k = 0; k < 6; k++) line += WORDS[next() >>> 28] + ' ';
    yield line + next().toString(16) + '\n';
  }
}

function generate(file, { bytes, count, seed }) {
  if (fs.existsSync(file)) return;
  const parts = [];
  let n = 0;
  let c = 0;
  for (const line of lines(seed)) {
    if (bytes !== undefined && n + line.length > bytes) {
      parts.push('#'.repeat(bytes - n - 1) + '\n');
      break;
    }
    parts.push(line);
    n += line.length;
    if (count !== undefined && ++c >= count) break;
  }
  const tmp = `${file}.tmp.${process.pid}`;
  fs.writeFileSync(tmp, parts.join(''));
  fs.renameSync(tmp, file);
}

// ---- benchmarks ------------------------------------------------------------

const lat = path.join(out, 'lat');
const hello = path.join(out, 'hello');
const helloPie = path.join(out, 'hello-pie');
const timeitPie = path.join(out, 'timeit-pie');

// Per-runner arrays are indexed like RUNNERS: native, qemu, nommu (Unicorn),
// nommu-native (`--backend native`). iters: iterations per runner (the
// program reports ns/op, so runners may differ); runs: how many times each
// runner runs it (median reported). uml: keys into UML below.
const MICRO = [
  { name: 'null', label: 'null syscall (syscall(SYS_getpid))', iters: [1_000_000, 200_000, 100_000, 100_000], uml: ['null', 'getpid'] },
  // The native backend with every `syscall` left to trap (SIGSYS each time): what the rewritten sites above save.
  { name: 'null', id: 'null_trapped', label: 'null syscall, every `syscall` trapped (`--no-syscall-rewrite`)', iters: [0, 0, 0, 100_000], only: ['nommu-native'], nommuArgs: ['--no-syscall-rewrite'] },
  { name: 'getppid', label: 'getppid() (lmbench null syscall: a fixed-number libc site)', iters: [1_000_000, 200_000, 100_000, 100_000] },
  // Only nommu's vDSO has __kernel_vsyscall: natively and under qemu-user `lat` prints "n/a".
  { name: 'vsyscall', label: 'getpid by direct call of the vDSO\'s __kernel_vsyscall', iters: [1_000, 1_000, 100_000, 100_000] },
  { name: 'read', label: 'read 1 byte from /dev/zero', iters: [500_000, 200_000, 20_000, 50_000], uml: ['read'] },
  { name: 'write', label: 'write 1 byte to /dev/null', iters: [500_000, 200_000, 20_000, 50_000], uml: ['write'] },
  { name: 'stat', label: 'stat of a file', iters: [200_000, 100_000, 5_000, 20_000], uml: ['stat'] },
  { name: 'openclose', label: 'open + close', iters: [100_000, 50_000, 3_000, 10_000], uml: ['openclose'] },
  { name: 'select10', label: 'select on 10 fds (pipes)', iters: [200_000, 50_000, 5_000, 20_000], uml: ['select10'] },
  { name: 'select100', label: 'select on 100 fds (pipes)', iters: [50_000, 20_000, 2_000, 5_000], uml: ['select100'] },
  { name: 'pipe', label: 'pipe round trip, 2 processes (fork)', iters: [20_000, 10_000, 50, 50] },
  { name: 'signal', label: 'signal delivery (kill self, handler)', iters: [100_000, 50_000, 5_000, 10_000] },
  { name: 'vfork_exec', label: 'vfork + execve + exit + wait, static hello', iters: [1_000, 300, 100, 300], uml: ['forkexec'], extra: [hello] },
  { name: 'vfork_exec', id: 'vfork_exec_pie', label: 'vfork + execve + exit + wait, static-pie hello', iters: [1_000, 300, 100, 300], uml: ['forkexec'], extra: [helloPie] },
  { name: 'fork_exec', label: 'fork + execve + exit + wait, static hello', iters: [1_000, 300, 20, 20], extra: [hello] },
  { name: 'fork_exit', label: 'fork + exit + wait', iters: [2_000, 300, 20, 20] },
  { name: 'vfork_sh', label: 'vfork + /bin/sh -c hello (static-pie)', iters: [200, 100, 10, 20], uml: ['forksh'], extra: [helloPie], timeout: 20 },
].map((b) => ({
  kind: 'micro',
  id: b.id ?? b.name,
  runs: [5, 5, 3, 5],
  timeout: 30,
  ...b,
  cmd: (runner) => [lat, b.name, String(b.iters[runner]), ...(b.extra ?? [])],
}));

const WHOLE = [
  { id: 'hello', label: 'hello world start-up (static)', argv: [hello], runs: [10, 10, 10, 10], target: 'hello' },
  // timed: run through bench/out/timeit-pie, which also reports the time from
  // inside the runner (start-up of Node / nommu / qemu excluded, see RUNNERS).
  { id: 'sieve', label: 'sieve of Eratosthenes to 10^7', argv: [path.join(out, 'sieve'), '10000000'], runs: [9, 5, 3, 9], timed: true },
  { id: 'matmul', label: '400x400 double matrix multiply', argv: [path.join(out, 'matmul'), '400', '1'], runs: [9, 5, 3, 9], timed: true },
  { id: 'sha256sum', label: `busybox sha256sum, ${DATA_BYTES >> 20} MB`, argv: [BUSYBOX, 'sha256sum', dataFile], runs: [9, 3, 2, 9], timeout: 240, timed: true },
  { id: 'gzip', label: `busybox gzip -c, ${GZIP_BYTES >> 20} MB`, argv: [BUSYBOX, 'gzip', '-c', gzipFile], runs: [9, 3, 1, 9], timeout: 400, timed: true },
  { id: 'sort', label: `busybox sort, ${SORT_LINES.toLocaleString('en-US')} lines`, argv: [BUSYBOX, 'sort', sortFile], runs: [9, 3, 1, 9], timeout: 400, timed: true },
].map((b) => ({ kind: 'whole', timeout: 60, timed: false, ...b, cmd: () => b.argv }));

const ALL = [...MICRO, ...WHOLE].filter((b) => !only || only.includes(b.id));

// UML figures from the series documentation (their machine), lmbench.
// Microseconds, except getpid in nanoseconds.
const UML = {
  null: { label: 'null syscall (us)', native: 0.1644, ptrace: 35.03, mmu: 53.21, nommu: 2.598, unit: 'us' },
  read: { label: 'read (us)', native: 0.3055, ptrace: 31.55, mmu: 45.85, nommu: 2.707, unit: 'us' },
  write: { label: 'write (us)', native: 0.2512, ptrace: 31.36, mmu: 29.26, nommu: 2.695, unit: 'us' },
  stat: { label: 'stat (us)', native: 1.889, ptrace: 43.85, mmu: 49.61, nommu: 3.191, unit: 'us' },
  openclose: { label: 'open/close (us)', native: 3.297, ptrace: 77.51, mmu: 68.94, nommu: 6.258, unit: 'us' },
  select10: { label: 'select 10 fds (us)', native: 0.5319, ptrace: 36.12, mmu: 24.28, nommu: 2.917, unit: 'us' },
  select100: { label: 'select 100 fds (us)', native: 1.602, ptrace: 34.6, mmu: 28.89, nommu: 3.808, unit: 'us' },
  forksh: { label: 'fork+sh (us)', native: 1110, ptrace: 7360, mmu: 4619, nommu: 439.5, unit: 'us' },
  forkexec: { label: 'fork+execve (us)', native: 510.8, ptrace: 2834, mmu: 2461, nommu: 139.8, unit: 'us' },
  getpid: { label: 'getpid (ns)', native: 161, ptrace: 34477, mmu: 26242, nommu: 2599, unit: 'ns' },
};

// ---- runners ---------------------------------------------------------------

// wrap(cmd, timed): the command line; with `timed`, timeit-pie runs cmd. Under
// qemu-user, timeit runs natively around qemu (without binfmt_misc, qemu would
// hand timeit's execve to the host kernel), so there qemu's start-up is timed too.
const timeit = (timed) => (timed ? [timeitPie] : []);
// opts: extra `nommu run` options of a benchmark (b.nommuArgs).
const RUNNERS = [
  { name: 'native', wrap: (cmd, timed) => [...timeit(timed), ...cmd] },
  { name: 'qemu', wrap: (cmd, timed) => [...timeit(timed), QEMU, ...cmd] },
  { name: 'nommu', wrap: (cmd, timed, opts = []) => [process.execPath, nommuCli, 'run', ...opts, ...timeit(timed), ...cmd] },
  { name: 'nommu-native', wrap: (cmd, timed, opts = []) => [process.execPath, nommuCli, 'run', '--backend', 'native', ...opts, ...timeit(timed), ...cmd] },
].map((r, index) => ({ ...r, index, enabled: runnerNames.includes(r.name), unavailable: null }));
for (const name of runnerNames) {
  if (!RUNNERS.some((r) => r.name === name)) {
    process.stderr.write(`bench/run.mjs: unknown runner '${name}' (runners: ${RUNNERS.map((r) => r.name).join(', ')})\n`);
    process.exit(2);
  }
}
const RUNNER_LABEL = { native: 'native', qemu: 'qemu-user', nommu: 'nommu (Unicorn)', 'nommu-native': 'nommu (native backend)' };

const env = { ...process.env, LC_ALL: 'C', LANG: 'C' };
delete env.NODE_OPTIONS;

const SIGNALS = Object.fromEntries(Object.entries(os.constants.signals).map(([k, v]) => [v, k]));

const TIMEIT_LINE = /^timeit: (\d+) ns$/;

/** Runs one command; returns { ms, stdout, stderr } or { error }. */
function runOnce(argvList, timeoutS) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(argvList[0], argvList.slice(1), {
    cwd: out,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
    maxBuffer: 1 << 30,
    timeout: timeoutS * 1000,
    killSignal: 'SIGKILL',
  });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  const stderr = r.stderr ? r.stderr.toString() : '';
  const errLines = stderr.split('\n').map((l) => l.trim()).filter((l) => l && !/is not implemented: answering/.test(l) && !TIMEIT_LINE.test(l));
  let lastErr = errLines.at(-1);
  // A Node crash ends with "Node.js vX.Y.Z": report its error line instead.
  if (lastErr && /^Node\.js v\d/.test(lastErr)) lastErr = errLines.findLast((l) => /^\w*Error\b|^Error:|\bERR_/.test(l)) ?? lastErr;
  if (r.error?.code === 'ETIMEDOUT') return { error: `timeout after ${timeoutS} s` };
  if (r.error) return { error: r.error.message };
  if (r.signal) return { error: `killed by ${r.signal}${lastErr ? `: ${lastErr}` : ''}` };
  if (r.status !== 0) {
    const sig = r.status > 128 ? SIGNALS[r.status - 128] : undefined;
    return { error: `exit ${r.status}${sig ? ` (${sig})` : ''}${lastErr ? `: ${lastErr}` : ''}` };
  }
  return { ms, stdout: r.stdout, stderr };
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

// ---- preparation -----------------------------------------------------------

function log(msg) {
  process.stderr.write(msg + '\n');
}

function have(cmd) {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

function ensureQemu() {
  if (have(QEMU)) return null;
  log(`${QEMU} not found: apt-get install -y qemu-user-static`);
  const opts = { stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } };
  let r = spawnSync('apt-get', ['install', '-y', 'qemu-user-static'], opts);
  if (r.status !== 0) {
    spawnSync('apt-get', ['update'], opts);
    r = spawnSync('apt-get', ['install', '-y', 'qemu-user-static'], opts);
  }
  return have(QEMU) ? null : 'qemu-user-static could not be installed';
}

function sh(cmd) {
  try {
    return execFileSync('sh', ['-c', cmd], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return '';
  }
}

function machine() {
  const cpuinfo = fs.readFileSync('/proc/cpuinfo', 'utf8');
  const model = /^model name\s*:\s*(.*)$/m.exec(cpuinfo)?.[1] ?? 'unknown';
  const info = sh(`"${process.execPath}" "${nommuCli}" info`);
  const backend = /^backend\s+(.*)$/m.exec(info)?.[1] ?? 'unknown';
  const nativeInfo = /^backend native\s+(.*)$/m.exec(info)?.[1];
  const unicornPkg = sh(`dpkg-query -W -f '\${Version}' libunicorn2`);
  const nb = RUNNERS.find((r) => r.name === 'nommu-native');
  const nativeBackend = !nb.enabled ? 'not run (`--runners`)'
    : nb.unavailable ? `unavailable: ${nb.unavailable}`
    : 'guest code on this CPU in a runner process (`nommu-native-runner`) that maps guest RAM at'
      + ' guest addresses; its `syscall` instructions are trapped with Syscall User Dispatch (SIGSYS)'
      + ' into the vDSO\'s `__kernel_vsyscall` shim, which hands over to the Node kernel through'
      + ` shared memory and a futex; no isolation from the host${nativeInfo ? ` (\`nommu info\`: ${nativeInfo})` : ''}`;
  return {
    cpu: model,
    cores: os.cpus().length,
    memGiB: (os.totalmem() / 2 ** 30).toFixed(1),
    kernel: `${os.type()} ${os.release()}`,
    node: process.version,
    backend,
    unicornPkg,
    nativeBackend,
    qemu: sh(`${QEMU} --version | head -n1`),
    busybox: sh(`${BUSYBOX} 2>&1 | head -n1`).replace(/ multi-call binary\.?$/, ''),
    musl: sh(`dpkg-query -W -f '\${Version}' musl`),
    commit: sh(`git -C "${root}" describe --always --dirty --exclude '*'`),
    loadStart: os.loadavg().map((x) => x.toFixed(2)).join(' '),
  };
}

// ---- main ------------------------------------------------------------------

const started = Date.now();

/** Newest modification time under nommu's built outputs (dist/ and the addon). */
function nommuBuildStamp() {
  let newest = 0;
  const walk = (dir) => {
    let entries;
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      // The CLI's code cache is written by runs, not by builds.
      else if (!e.name.endsWith('.cache')) newest = Math.max(newest, fs.statSync(p).mtimeMs);
    }
  };
  for (const pkg of fs.readdirSync(path.join(root, 'packages'))) {
    walk(path.join(root, 'packages', pkg, 'dist'));
    walk(path.join(root, 'packages', pkg, 'build', 'Release'));
  }
  return newest;
}
const stampStart = nommuBuildStamp();
log('building bench/out ...');
execFileSync('bash', [path.join(here, 'build.sh')], { stdio: 'inherit' });
// Inputs of other sizes from earlier versions of this script go.
for (const f of fs.readdirSync(out)) {
  if (/^(data|lines)-.*\.txt$/.test(f) && ![dataFile, gzipFile, sortFile].includes(path.join(out, f))) fs.rmSync(path.join(out, f));
}
generate(dataFile, { bytes: DATA_BYTES, seed: 12345 });
if (!fs.existsSync(gzipFile)) {
  const fd = fs.openSync(dataFile, 'r');
  const buf = Buffer.alloc(GZIP_BYTES);
  fs.readSync(fd, buf, 0, GZIP_BYTES, 0);
  fs.closeSync(fd);
  fs.writeFileSync(`${gzipFile}.tmp`, buf);
  fs.renameSync(`${gzipFile}.tmp`, gzipFile);
}
generate(sortFile, { count: SORT_LINES, seed: 424242 });

const qemuRunner = RUNNERS[1];
if (qemuRunner.enabled) qemuRunner.unavailable = ensureQemu();
for (const nommuRunner of RUNNERS.slice(2)) {
  if (!nommuRunner.enabled) continue;
  const r = runOnce(nommuRunner.wrap([hello]), 60);
  if (r.error) nommuRunner.unavailable = `${nommuRunner.name} cannot run hello: ${r.error}`;
}
if (!fs.existsSync(BUSYBOX)) log(`warning: ${BUSYBOX} missing (apt-get install -y busybox-static)`);

const mach = machine();
const results = [];
let skippedRuns = 0;

for (const b of ALL) {
  const res = { id: b.id, kind: b.kind, label: b.label, runners: {} };
  results.push(res);
  const active = RUNNERS.filter((r) => r.enabled);
  for (const r of active) {
    res.runners[r.name] = r.unavailable
      ? { error: r.unavailable, samples: [] }
      : b.only && !b.only.includes(r.name)
        ? { na: true, samples: [] }
        : { samples: [], runs: b.runs[r.index], iters: b.kind === 'micro' ? b.iters[r.index] : undefined };
  }
  let reference; // sha256 of native stdout (whole programs)
  const maxRuns = Math.max(0, ...active.filter((r) => !res.runners[r.name].na).map((r) => b.runs[r.index]));
  // Interleave the runners run by run, so that background load hits all alike.
  for (let i = 0; i < maxRuns; i++) {
    for (const r of active) {
      const rr = res.runners[r.name];
      if (rr.error || rr.na || i >= b.runs[r.index]) continue;
      if (i > 0 && (Date.now() - started) / 1000 > budgetS) {
        skippedRuns++;
        continue;
      }
      const x = runOnce(r.wrap(b.cmd(r.index), b.timed, b.nommuArgs), b.timeout);
      if (x.error) {
        rr.error = x.error;
        log(`${b.id} ${r.name}: failed: ${x.error}`);
        continue;
      }
      let value;
      if (b.kind === 'micro') {
        const text = x.stdout.toString().trim();
        if (text === 'n/a') {
          // The operation does not exist under this runner (no __kernel_vsyscall).
          rr.na = true;
          log(`${b.id} ${r.name}: n/a`);
          continue;
        }
        value = Number(text);
        if (!/^\d+(\.\d+)?$/.test(text) || !Number.isFinite(value)) {
          rr.error = `unexpected output ${JSON.stringify(text.slice(0, 60))}`;
          log(`${b.id} ${r.name}: failed: ${rr.error}`);
          continue;
        }
      } else {
        value = x.ms;
        const digest = createHash('sha256').update(x.stdout).digest('hex');
        if (r.name === 'native' && reference === undefined) reference = digest;
        else if (reference !== undefined && digest !== reference) {
          rr.error = 'output differs from native';
          log(`${b.id} ${r.name}: failed: ${rr.error}`);
          continue;
        }
      }
      let inner = '';
      if (b.timed) {
        const line = x.stderr.split('\n').map((l) => l.trim()).findLast((l) => TIMEIT_LINE.test(l));
        if (!line) {
          rr.error = 'no "timeit: N ns" line on stderr';
          log(`${b.id} ${r.name}: failed: ${rr.error}`);
          continue;
        }
        const ns = Number(TIMEIT_LINE.exec(line)[1]);
        (rr.innerSamples ??= []).push(ns);
        inner = ` (inside: ${fmtNs(ns)})`;
      }
      rr.samples.push(value);
      log(`${b.id} ${r.name} #${i + 1}: ${b.kind === 'micro' ? fmtNs(value) + '/op' : fmtNs(value * 1e6)}${inner}`);
    }
  }
  for (const rr of Object.values(res.runners)) {
    if (!rr.error && rr.samples.length) rr.median = b.kind === 'micro' ? median(rr.samples) : median(rr.samples) * 1e6; // ns
    if (!rr.error && rr.innerSamples?.length) rr.innerMedian = median(rr.innerSamples); // ns
  }
}

const rebuilt = nommuBuildStamp() !== stampStart;
mach.loadEnd = os.loadavg().map((x) => x.toFixed(2)).join(' ');
const elapsedS = (Date.now() - started) / 1000;

// ---- report ----------------------------------------------------------------

function fmtNs(ns) {
  if (ns === undefined || !Number.isFinite(ns)) return '-';
  const f = (x) => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));
  if (ns < 1e3) return `${f(ns)} ns`;
  if (ns < 1e6) return `${f(ns / 1e3)} us`;
  if (ns < 1e9) return `${f(ns / 1e6)} ms`;
  return `${f(ns / 1e9)} s`;
}

function ratio(a, b) {
  if (a === undefined || b === undefined || !b) return '-';
  const x = a / b;
  return `${x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2)}x`;
}

function cell(rr) {
  if (!rr) return 'not run';
  if (rr.na) return 'n/a';
  if (rr.error) return `failed: ${rr.error.replace(/\|/g, '\\|')}`;
  return fmtNs(rr.median);
}

const byId = Object.fromEntries(results.map((r) => [r.id, r]));
const med = (id, runner) => byId[id]?.runners[runner]?.median;

/** Targets of the Unicorn backend (runner `nommu`): [target, measured, status]. */
function unicornTargets() {
  const t = [];
  const nNull = med('null', 'nommu');
  const qNull = med('null', 'qemu');
  if (nNull !== undefined && qNull !== undefined) {
    const ok = nNull <= 2 * qNull && nNull < 2600;
    t.push(['null syscall within 2x of qemu-user and below 2.6 us',
      `${fmtNs(nNull)} (qemu-user ${fmtNs(qNull)}, ${ratio(nNull, qNull)})`, ok ? 'met' : 'missed']);
  } else {
    t.push(['null syscall within 2x of qemu-user and below 2.6 us',
      `nommu: ${cell(byId.null?.runners.nommu)}; qemu: ${cell(byId.null?.runners.qemu)}`, 'not measured']);
  }
  const ve = byId.vfork_exec?.runners.nommu;
  const vp = byId.vfork_exec_pie?.runners.nommu;
  const veText = !ve ? 'static hello: not run' : ve.error ? `static hello: failed (${ve.error})` : `static hello: ${fmtNs(ve.median)}`;
  const vpText = vp ? `; static-pie hello: ${vp.error ? `failed (${vp.error})` : fmtNs(vp.median)}` : '';
  t.push(['vfork+execve of a static hello below 2 ms', veText + vpText,
    !ve ? 'not measured' : !ve.error && ve.median !== undefined ? (ve.median < 2e6 ? 'met' : 'missed') : 'missed (does not run)']);
  const h = byId.hello?.runners.nommu;
  t.push(['`nommu run` hello wall time below 150 ms (incl. Node start-up)',
    h?.error ? `failed: ${h.error}` : `${fmtNs(h?.median)} (native ${fmtNs(med('hello', 'native'))}; \`node -e 0\` ${fmtNs(nodeStart)})`,
    h && !h.error && h.median !== undefined ? (h.median < 150e6 ? 'met' : 'missed') : 'not measured']);
  return t;
}

const COMPUTE = ['sieve', 'matmul', 'sha256sum', 'gzip', 'sort'];

/** Targets of the native backend (runner `nommu-native`): [target, measured, status]. */
function nativeBackendTargets() {
  const t = [];
  const status = (oks) => (oks.some((x) => x === undefined) ? 'not measured' : oks.every(Boolean) ? 'met' : 'missed');
  // Compute speed, twice: as timed by timeit-pie inside the runner (the
  // workload itself, exec included, Node and nommu start-up excluded), and
  // wall clock of the whole `nommu run` (start-up included).
  const inner = [], wall = [], innerOk = [], wallOk = [];
  for (const id of COMPUTE) {
    const n = byId[id]?.runners.native;
    const m = byId[id]?.runners['nommu-native'];
    const missing = [['native', n], ['native backend', m]].find(([, rr]) => rr?.median === undefined);
    if (missing) {
      const [who, rr] = missing;
      const why = `${id}: ${who} ${!rr ? 'not run' : rr.error ? `failed (${rr.error})` : 'no result'}`;
      inner.push(why);
      wall.push(why);
      innerOk.push(undefined);
      wallOk.push(undefined);
      continue;
    }
    // The fastest runs too, as background load only ever adds time.
    const best = ratio(Math.min(...m.innerSamples), Math.min(...n.innerSamples));
    inner.push(`${id} ${ratio(m.innerMedian, n.innerMedian)} (${fmtNs(m.innerMedian)} vs ${fmtNs(n.innerMedian)}; fastest runs ${best})`);
    innerOk.push(m.innerMedian / n.innerMedian <= 1.1);
    wall.push(`${id} ${ratio(m.median, n.median)}`);
    wallOk.push(m.median / n.median <= 1.1);
  }
  t.push(['compute (sieve, matmul, sha256sum, gzip, sort) within 1.1x of native, timed inside the runner (start-up excluded; judged on medians)',
    inner.join('; '), status(innerOk)]);
  t.push(['the same, wall clock of the whole `nommu run` (Node and nommu start-up included)',
    `${wall.join('; ')} (hello start-up: ${fmtNs(med('hello', 'nommu-native'))} vs native ${fmtNs(med('hello', 'native'))})`, status(wallOk)]);

  const nNull = byId.null?.runners['nommu-native'];
  const trapped = med('null_trapped', 'nommu-native');
  t.push(['null syscall (a `syscall` instruction: `syscall(SYS_getpid)`, its site rewritten at its first trap) at or below 2.6 us',
    nNull?.median !== undefined
      ? `${fmtNs(nNull.median)} (native ${fmtNs(med('null', 'native'))}, qemu-user ${fmtNs(med('null', 'qemu'))}; every syscall trapped: ${fmtNs(trapped)})`
      : cell(nNull),
    nNull?.median !== undefined ? (nNull.median <= 2600 ? 'met' : 'missed') : 'not measured']);
  const nPpid = byId.getppid?.runners['nommu-native'];
  t.push(['lmbench\'s null syscall (getppid(): a fixed-number site, rewritten on its first trap) at or below 2.6 us',
    nPpid?.median !== undefined ? `${fmtNs(nPpid.median)} (native ${fmtNs(med('getppid', 'native'))}, qemu-user ${fmtNs(med('getppid', 'qemu'))})` : cell(nPpid),
    nPpid?.median !== undefined ? (nPpid.median <= 2600 ? 'met' : 'missed') : 'not measured']);
  t.push(['a `syscall` trapped every time (SIGSYS, `--no-syscall-rewrite`) measured',
    trapped !== undefined ? `${fmtNs(trapped)} (the nommu UML seccomp figure: 2.6 us)` : cell(byId.null_trapped?.runners['nommu-native']),
    trapped !== undefined ? 'measured' : 'not measured']);

  const v = byId.vsyscall?.runners;
  const vM = v?.['nommu-native'];
  const vText = (name) => {
    const rr = v?.[name];
    if (rr?.median === undefined) return cell(rr);
    const trapped = med('null', name);
    return `${fmtNs(rr.median)}${trapped !== undefined ? ` (${ratio(rr.median, trapped)} of the null syscall row, ${fmtNs(trapped)})` : ''}`;
  };
  t.push(['direct-call path (getpid by calling `__kernel_vsyscall`) measured',
    `native backend: ${vText('nommu-native')}; Unicorn: ${vText('nommu')}; native and qemu-user: ${cell(v?.native)} / ${cell(v?.qemu)} (no such symbol)`,
    vM?.median !== undefined ? 'measured' : vM?.error ? 'failed' : 'not measured']);
  return t;
}

/** For each target that can be missed: [backend, start of its text, what the time is spent on]. */
const WHY_MISSED = [
  ['Unicorn', 'null syscall',
    'each syscall leaves the emulator and enters it again (uc_emu_start, the translated-block lookup and the CPU state sync: ~3-4 us on this VM), and the shim runs emulated (pushfq/popfq end translated blocks). qemu-user answers a syscall inside its own CPU loop; Unicorn 2.0.1 has no such path (answering from inside the hook was tried and was no faster).'],
  ['Unicorn', 'vfork+execve',
    'page protections: each change remaps the pages in the engine, and each map/unmap rebuilds QEMU\'s memory map and flushes the TLB (~0.5-1.5 ms each). Freed RAM now keeps its protection, so a program run again at its own addresses changes none (this row was 16-23 ms with a dozen changes per exec); here `lat` and `hello` are both linked at 0x400000 with different layouts, so each switch between the two images still changes three runs of pages (~2 ms). The rest: translating hello\'s code afresh (~1-2 ms of the emulated run) and dropping the old translations (~0.7 ms).'],
  ['Unicorn', '`nommu run` hello',
    'Node itself starts in ~110-120 ms (`node -e 0` above). A profile of the rest (~60-70 ms): loading libunicorn ~15 ms, compiling the CLI bundle from its V8 code cache ~11 ms, creating the engine and mapping its RAM ~10 ms plus the CPUID probe ~5 ms, the exec\'s protection changes ~12 ms, garbage collection ~15 ms, closing the engine ~7 ms.'],
  ['native', 'compute',
    'guest code runs at native speed; what differs is the timed vfork + execve + exit + wait4 (`timeit busybox true`: ~2.9 ms under nommu against ~0.75 ms natively, mostly the kernel\'s JavaScript running cold in a fresh Node), ~0.6 us more than natively per read/write/pread/pwrite/readv/writev that the runner answers on a host file or pipe (sha256sum makes 8,191), and each call the kernel answers in Node (~5-20 us: a hand-over each way plus the JavaScript). The runner also answers brk and in-place mremap growth (glibc\'s realloc grows a large block a page at a time): busybox sort makes 493 calls to the kernel instead of 2,946. This VM\'s noise moves a row by a few percent between benches.'],

  ['native', 'the same, wall clock',
    'Node and nommu start-up (~140-190 ms, see the hello row) dwarfs workloads of 50-500 ms natively.'],
  ['native', 'null syscall (a',
    'with its site rewritten, a null syscall is the hand-over to Node and back through shared memory (~0.5-0.7 us each way when both sides spin on their own cores) and the kernel\'s JavaScript (~1.3-2 us warm); on a busy 2-core machine V8\'s own compiler and GC threads take a core from the spinning side. A trapped `syscall` adds a SIGSYS and its sigreturn: ~3.3-3.5 us on this VM for a bare C handler alone (the last row).'],
];

// Node's own start-up, for context on the hello target.
const nodeStart = (() => {
  const xs = [];
  for (let i = 0; i < 5; i++) {
    const r = runOnce([process.execPath, '-e', '0'], 30);
    if (!r.error) xs.push(r.ms * 1e6);
  }
  return xs.length ? median(xs) : undefined;
})();

const L = [];
L.push('# Benchmarks');
L.push('');
L.push('Generated by `pnpm bench` (`bench/run.mjs`); do not edit by hand. What is measured and');
L.push('how: [bench/README.md](bench/README.md).');
L.push('');
L.push(`- Date: ${new Date().toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC')} (whole run: ${Math.round(elapsedS)} s)`);
L.push(`- CPU: ${mach.cpu}, ${mach.cores} cores, ${mach.memGiB} GiB RAM; ${mach.kernel}`);
L.push(`- nommu: commit ${mach.commit || 'unknown'} of this repository (\`-dirty\`: with uncommitted changes)`);
L.push(`- Node ${mach.node}; nommu backends:`);
L.push(`  - \`nommu\` runner: ${mach.backend}${mach.unicornPkg ? ` (libunicorn2 ${mach.unicornPkg})` : ''}`);
L.push(`  - \`nommu-native\` runner (\`nommu run --backend native\`): ${mach.nativeBackend}`);
L.push(`- ${mach.qemu || 'qemu-user: not available'}; ${mach.busybox || 'busybox: not available'} (Debian busybox-static); musl ${mach.musl}`);
L.push(`- Load average at start / end: ${mach.loadStart} / ${mach.loadEnd}`);
L.push('');
L.push('## Targets');
L.push('');
L.push('| backend | target | measured (median) | status |');
L.push('| --- | --- | --- | --- |');
for (const [what, m, s] of unicornTargets()) L.push(`| Unicorn | ${what} | ${m} | **${s}** |`);
for (const [what, m, s] of nativeBackendTargets()) L.push(`| native | ${what} | ${m} | **${s}** |`);
L.push('');
const missed = [...unicornTargets().map((t) => ['Unicorn', ...t]), ...nativeBackendTargets().map((t) => ['native', ...t])]
  .filter(([, , , s]) => s === 'missed');
if (missed.length > 0) {
  L.push('### Why the missed targets are missed');
  L.push('');
  L.push('Where the time goes, from profiles and probes (see the closing notes of the issues for the runs behind them):');
  L.push('');
  for (const [backend, what] of missed) {
    const why = WHY_MISSED.find(([b, prefix]) => b === backend && what.startsWith(prefix));
    if (why) L.push(`- ${backend}, ${what.split(' (')[0]}: ${why[2]}`);
  }
  L.push('');
}
L.push('## Results');
L.push('');
L.push('Medians. Microbenchmarks: time per operation, measured by the program itself with');
L.push('`clock_gettime(CLOCK_MONOTONIC)` around N iterations (start-up excluded). Whole programs:');
L.push('wall-clock time of the whole run as seen by the parent (spawn included; for nommu that');
L.push('includes Node start-up). Runs (successful ones) and iterations are given per runner, in');
L.push('column order: native / qemu-user / nommu (Unicorn) / nommu (native backend). "n/a": the');
L.push('operation does not exist there (Linux\'s x86-64 vDSO has no `__kernel_vsyscall`).');
L.push('');
const RUNNER_ORDER = RUNNERS.map((r) => r.name);
L.push(`| benchmark | ${RUNNER_ORDER.map((k) => RUNNER_LABEL[k]).join(' | ')} | runs | iterations |`);
L.push(`| --- |${' --- |'.repeat(RUNNER_ORDER.length + 2)}`);
for (const res of results) {
  const b = ALL.find((x) => x.id === res.id);
  const runs = RUNNER_ORDER.map((k) => res.runners[k]?.samples.length ?? 0).join(' / ');
  const iters = b.kind === 'micro' ? b.iters.map((x) => x.toLocaleString('en-US')).join(' / ') : 'whole program';
  L.push(`| ${res.label} | ${RUNNER_ORDER.map((k) => cell(res.runners[k])).join(' | ')} | ${runs} | ${iters} |`);
}
L.push('');
L.push('### Compute workloads, start-up excluded');
L.push('');
L.push('The same runs, timed from inside the runner by `timeit-pie` (vfork + execve + wait of the');
L.push('workload): Node\'s and nommu\'s start-up are excluded, the exec of the workload is included.');
L.push('Under qemu-user, timeit runs natively around `qemu-x86_64-static`, so qemu\'s start-up (a few');
L.push('ms) is included there.');
L.push('');
L.push(`| benchmark | ${RUNNER_ORDER.map((k) => RUNNER_LABEL[k]).join(' | ')} | Unicorn / native | native backend / native |`);
L.push(`| --- |${' --- |'.repeat(RUNNER_ORDER.length + 2)}`);
for (const res of results) {
  const b = ALL.find((x) => x.id === res.id);
  if (!b.timed) continue;
  const c = (k) => {
    const rr = res.runners[k];
    return rr && !rr.error ? fmtNs(rr.innerMedian) : cell(rr);
  };
  const x = (k) => res.runners[k]?.innerMedian;
  L.push(`| ${res.label} | ${RUNNER_ORDER.map(c).join(' | ')} | ${ratio(x('nommu'), x('native'))} | ${ratio(x('nommu-native'), x('native'))} |`);
}
L.push('');
L.push('### Ratios');
L.push('');
L.push('Median over median of the main table (whole programs: wall clock), for both nommu backends.');
L.push('');
L.push('| benchmark | Unicorn / native | Unicorn / qemu-user | native backend / native | native backend / qemu-user |');
L.push('| --- | --- | --- | --- | --- |');
for (const res of results) {
  const x = (k) => res.runners[k]?.median;
  L.push(`| ${res.label} | ${ratio(x('nommu'), x('native'))} | ${ratio(x('nommu'), x('qemu'))} | ${ratio(x('nommu-native'), x('native'))} | ${ratio(x('nommu-native'), x('qemu'))} |`);
}
L.push('');
L.push('## Compared with UML nommu (seccomp)');
L.push('');
L.push('The UML figures are lmbench results from the "um: nommu" series documentation (v11-v13),');
L.push('measured on the series author\'s machine, not this one: compare the ratios to native');
L.push('rather than the absolute numbers. UML nommu has no `fork`, so its lmbench "fork+execve"');
L.push('and "fork+sh" are vfork-based; they are compared with our vfork rows. Our null syscall');
L.push('is `syscall(SYS_getpid)` and stands for both lmbench\'s null syscall and getpid. UML nommu');
L.push('runs guest code on the real CPU and traps syscalls with seccomp, like our native backend.');
L.push('');
L.push('| benchmark | UML: native | UML: MMU seccomp | UML: nommu seccomp | UML nommu/native | here: native | here: Unicorn | Unicorn/native | here: native backend | native backend/native |');
L.push('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
const UML_ROWS = [
  ['getpid', 'null'], ['null', 'null'], ['read', 'read'], ['write', 'write'], ['stat', 'stat'],
  ['openclose', 'openclose'], ['select10', 'select10'], ['select100', 'select100'],
  ['forkexec', 'vfork_exec'], ['forkexec', 'vfork_exec_pie'], ['forksh', 'vfork_sh'],
];
for (const [key, id] of UML_ROWS) {
  const u = UML[key];
  const res = byId[id];
  if (!res) continue;
  const scale = u.unit === 'us' ? 1e3 : 1;
  const uNative = u.native * scale, uNommu = u.nommu * scale, uMmu = u.mmu * scale;
  const n = res.runners.native, m = res.runners.nommu, nb = res.runners['nommu-native'];
  L.push(`| ${u.label.replace(/ \((us|ns)\)$/, '')} ↔ ${res.label} | ${fmtNs(uNative)} | ${fmtNs(uMmu)} | ${fmtNs(uNommu)} | ${ratio(uNommu, uNative)} | ${cell(n)} | ${cell(m)} | ${ratio(m?.median, n?.median)} | ${cell(nb)} | ${ratio(nb?.median, n?.median)} |`);
}
L.push('');
const failures = results.flatMap((r) =>
  Object.entries(r.runners).filter(([, x]) => x.error).map(([name, x]) => `- ${r.label} under ${name}: ${x.error}`));
L.push('## Failures');
L.push('');
L.push(failures.length ? failures.join('\n') : 'None.');
L.push('');
L.push('## Notes');
L.push('');
L.push(`- Inputs are generated deterministically into bench/out/ once: ${DATA_BYTES >> 20} MB of text for sha256sum,`);
L.push(`  ${GZIP_BYTES >> 20} MB of it for gzip and ${SORT_LINES.toLocaleString('en-US')} lines for sort: the sizes issue #9 names. gzip and`);
L.push('  sort take minutes per run on Unicorn, so they get one run there.');
L.push('  Every whole-program output is checked against the native output (sha256 of stdout).');
L.push('- qemu-user without binfmt_misc hands `execve` to the host kernel, so in the exec rows the');
L.push('  child program runs natively under qemu-user; those rows time qemu\'s fork/vfork, not an');
L.push('  emulated exec.');
L.push('- The static hello (musl-gcc -static) is an ET_EXEC linked at 0x400000, like the `lat`');
L.push('  program that runs it; the static-pie hello can be loaded anywhere. Both rows are kept.');
L.push('- Native whole-program times include the spawn from Node (about a millisecond).');
L.push('- Under the native backend, guest code runs on this CPU in a runner process and every');
L.push('  syscall is a round trip between that process and Node (shared memory, a short spin,');
L.push('  then a futex): with both cores busy, each hand-off can wait for the scheduler, so its');
L.push('  syscall rows depend on the load much more than the compute rows do. Its whole-program');
L.push('  times include Node start-up and the runner\'s start (see its hello row).');
L.push('- busybox sha256sum reads 4 KiB per `read()` (8,193 calls for 32 MB, counted with strace), so');
L.push('  under the native backend it pays the syscall hand-off thousands of times, not only compute.');
L.push('- `__kernel_vsyscall` row: natively and under qemu-user there is no such vDSO symbol');
L.push('  (qemu-user 7.2 gives no vDSO at all), so it is "n/a" there.');
L.push('- The machine may be shared with other work: see the load averages above.');
if (rebuilt) L.push('- **nommu was rebuilt while this ran** (dist/ or the addon changed): results may mix versions, and failures may come from the rebuild.');
if (skippedRuns) L.push(`- ${skippedRuns} repeat runs were skipped to keep the whole run near its ${budgetS} s budget (\`--budget\`).`);
L.push('');

const report = L.join('\n');
fs.writeFileSync(path.join(out, 'results.json'), JSON.stringify({ machine: mach, elapsedS, nodeStartNs: nodeStart, results }, null, 2) + '\n');
if (writeReport) {
  fs.writeFileSync(outputFile, report);
  log(`wrote ${path.relative(process.cwd(), outputFile) || outputFile} (${Math.round(elapsedS)} s)`);
} else {
  process.stdout.write(report);
}
