#!/usr/bin/env node
// Runs a program in a fresh temporary root that holds only busybox (with a
// link for each of its applets in /bin), /tmp, and the files you give; tells
// what the program created, changed and deleted; then removes the root. The
// host's own files are out of the program's reach.
//
//   node examples/temp-root.mjs [--file GUEST_PATH=CONTENT]... PROGRAM [ARGS...]
//
// On stderr:  temp-root: root /tmp/nommu-root-XXXX
//             temp-root: created /tmp/out.txt
//             temp-root: changed /etc/motd
//             temp-root: deleted /etc/motd
//             temp-root: removed the root
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createNommu } from '@nommu/cli';

const HOST_BUSYBOX = '/bin/busybox';

const argv = process.argv.slice(2);
/** @type {[string, string][]} */
const files = [];
while (argv[0] === '--file') {
  const spec = argv[1] ?? '';
  const eq = spec.indexOf('=');
  if (!spec.startsWith('/') || eq < 0) {
    process.stderr.write(`temp-root: --file needs /GUEST/PATH=CONTENT, got '${spec}'\n`);
    process.exit(2);
  }
  files.push([spec.slice(0, eq), spec.slice(eq + 1)]);
  argv.splice(0, 2);
}
const [program, ...args] = argv;
if (!program) {
  process.stderr.write('usage: temp-root.mjs [--file GUEST_PATH=CONTENT]... PROGRAM [ARGS...]\n');
  process.exit(2);
}

/**
 * Every file, directory and link under `root`, by guest path, with a digest of what it holds.
 * @param {string} root
 * @returns {Map<string, string>}
 */
function snapshot(root) {
  const seen = new Map();
  /** @param {string} guest */
  const walk = (guest) => {
    const host = join(root, guest);
    const st = lstatSync(host);
    if (st.isDirectory()) {
      if (guest !== '/') seen.set(guest, `dir ${st.mode}`);
      for (const name of readdirSync(host).sort()) walk(join(guest, name));
    } else if (st.isSymbolicLink()) {
      seen.set(guest, `link ${readlinkSync(host)}`);
    } else {
      seen.set(guest, `file ${st.mode} ${createHash('sha256').update(readFileSync(host)).digest('hex')}`);
    }
  };
  walk('/');
  return seen;
}

const root = mkdtempSync(join(tmpdir(), 'nommu-root-'));
process.stderr.write(`temp-root: root ${root}\n`);
let status = 127;
try {
  mkdirSync(join(root, 'bin'));
  mkdirSync(join(root, 'tmp'), { mode: 0o1777 });
  copyFileSync(HOST_BUSYBOX, join(root, 'bin/busybox'));
  const applets = execFileSync(HOST_BUSYBOX, ['--list'], { encoding: 'utf8' }).split('\n').filter((a) => a && a !== 'busybox');
  for (const a of applets) symlinkSync('busybox', join(root, 'bin', a));
  for (const [guest, content] of files) {
    mkdirSync(dirname(join(root, guest)), { recursive: true });
    writeFileSync(join(root, guest), content);
  }
  const before = snapshot(root);
  const nommu = createNommu({ root, stdin: 'inherit', stdout: 'inherit', stderr: 'inherit' });
  try {
    status = (await nommu.run({ program, args, env: { PATH: '/bin', HOME: '/tmp' }, cwd: '/tmp' })).exitCode;
  } catch (e) {
    process.stderr.write(`temp-root: ${program}: ${/** @type {Error} */ (e).message}\n`);
  } finally {
    nommu.dispose();
  }
  const after = snapshot(root);
  for (const [path, what] of after) {
    const was = before.get(path);
    if (was === undefined) process.stderr.write(`temp-root: created ${path}\n`);
    else if (was !== what) process.stderr.write(`temp-root: changed ${path}\n`);
  }
  for (const path of before.keys()) if (!after.has(path)) process.stderr.write(`temp-root: deleted ${path}\n`);
} finally {
  rmSync(root, { recursive: true, force: true });
  process.stderr.write('temp-root: removed the root\n');
}
process.exitCode = status;
