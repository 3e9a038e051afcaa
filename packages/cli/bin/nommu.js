#!/usr/bin/env node
// The CLI as one bundled file (scripts/bundle.mjs), compiled with V8's code
// cache (dist/nommu-cli.cache). The cache holds the kernel's code as real runs
// compiled it, and dist/nommu-cli.cache.syscalls the syscall numbers those
// runs made. After a `run` or `shell`, the cache is written again when it is
// missing, V8 refused it (another Node, other flags), or the guest made a
// syscall it has not seen: a cache made by a hello left vfork, execve and
// wait4 to be compiled in every later run (~10 ms of a 40 ms program). The new
// cache holds what the old one did plus what this run compiled. Writing is
// best effort: a read-only install simply runs as it is. NOMMU_CODE_CACHE
// names another file for the cache (its record is that name + .syscalls).
import { readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Script } from 'node:vm';

const bundle = fileURLToPath(new URL('../dist/nommu-cli.cjs', import.meta.url));
const cacheFile = process.env.NOMMU_CODE_CACHE || fileURLToPath(new URL('../dist/nommu-cli.cache', import.meta.url));
const seenFile = `${cacheFile}.syscalls`;

let cachedData;
try {
  cachedData = readFileSync(cacheFile);
} catch {
  cachedData = undefined;
}
const source = `(function (exports, require, module, __filename, __dirname) {${readFileSync(bundle, 'utf8')}\n})`;
const script = new Script(source, { filename: bundle, cachedData });
const module = { exports: {} };
script.runInThisContext()(module.exports, createRequire(bundle), module, bundle, dirname(bundle));

const argv = process.argv.slice(2);
process.exitCode = await module.exports.main(argv);

if (argv[0] === 'run' || argv[0] === 'shell') {
  const fresh = cachedData === undefined || script.cachedDataRejected;
  const seen = new Set();
  if (!fresh) {
    try {
      for (const n of readFileSync(seenFile, 'utf8').split(',')) if (n !== '') seen.add(Number(n));
    } catch {
      // no record: every syscall counts as new
    }
  }
  const made = module.exports.syscallsMadeByRun();
  if (fresh || made.some((n) => !seen.has(n))) {
    for (const n of made) seen.add(n);
    replace(cacheFile, script.createCachedData());
    replace(seenFile, [...seen].sort((a, b) => a - b).join(','));
  }
}

function replace(file, data) {
  const tmp = `${file}.${process.pid}`;
  try {
    writeFileSync(tmp, data);
    renameSync(tmp, file);
  } catch {
    try {
      unlinkSync(tmp);
    } catch {
      // nothing was written
    }
  }
}
