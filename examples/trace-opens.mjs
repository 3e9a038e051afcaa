#!/usr/bin/env node
// Runs a program under nommu and lists every file it opens, with the result:
//
//   node examples/trace-opens.mjs [--output FILE] PROGRAM [ARGS...]
//
// One line per open, open(2), openat(2), openat2(2) or creat(2), to stderr or FILE:
//   [pid 1] /etc/hostname = 3
//   [pid 1] /nonexistent = -1 ENOENT
// The program's own stdio is the terminal's; the exit status is the program's.
import { writeSync, openSync, closeSync } from 'node:fs';
import { createNommu } from '@nommu/cli';
import { errnoName } from '@nommu/syscall-table';

/** Which argument holds the path, per syscall. */
const PATH_ARG = /** @type {Record<string, number>} */ ({ open: 0, creat: 0, openat: 1, openat2: 1 });

const argv = process.argv.slice(2);
let out = 2;
if (argv[0] === '--output') {
  out = openSync(argv[1] ?? '', 'w');
  argv.splice(0, 2);
}
const [program, ...args] = argv;
if (!program) {
  process.stderr.write('usage: trace-opens.mjs [--output FILE] PROGRAM [ARGS...]\n');
  process.exit(2);
}

const nommu = createNommu({ stdin: 'inherit', stdout: 'inherit', stderr: 'inherit' });
/** Paths read at entry, by thread, until the call returns. */
const pending = new Map();
nommu.addHooks({
  beforeSyscall(call) {
    const i = PATH_ARG[call.name];
    if (i === undefined) return;
    let path;
    try {
      path = call.memory.readString(call.arg(i));
    } catch {
      path = `<bad pointer 0x${call.arg(i).toString(16)}>`;
    }
    pending.set(call.task.tid, path);
  },
  afterSyscall(call, result) {
    if (PATH_ARG[call.name] === undefined) return;
    const path = pending.get(call.task.tid);
    pending.delete(call.task.tid);
    const shown = result < 0n ? `-1 ${errnoName(Number(-result)) ?? Number(-result)}` : String(result);
    writeSync(out, `[pid ${call.task.tid}] ${path} = ${shown}\n`);
  },
});
let status = 127;
try {
  const r = await nommu.run({ program, args, env: process.env });
  status = r.exitCode;
} catch (e) {
  process.stderr.write(`trace-opens: ${program}: ${/** @type {Error} */ (e).message}\n`);
} finally {
  nommu.dispose();
  if (out !== 2) closeSync(out);
}
process.exitCode = status;
