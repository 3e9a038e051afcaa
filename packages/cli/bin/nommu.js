#!/usr/bin/env node
// The CLI as one bundled file (scripts/bundle.mjs), compiled with V8's code
// cache (dist/nommu-cli.cache). The cache is written after a `run` or `shell`
// when it is missing or V8 refused it (another Node, other flags), so it holds
// the kernel's code as a real run compiled it. Writing it is best effort: a
// read-only install simply runs without one.
import { readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Script } from 'node:vm';

const bundle = fileURLToPath(new URL('../dist/nommu-cli.cjs', import.meta.url));
const cacheFile = fileURLToPath(new URL('../dist/nommu-cli.cache', import.meta.url));

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

if ((argv[0] === 'run' || argv[0] === 'shell') && (cachedData === undefined || script.cachedDataRejected)) {
  const tmp = `${cacheFile}.${process.pid}`;
  try {
    writeFileSync(tmp, script.createCachedData());
    renameSync(tmp, cacheFile);
  } catch {
    try {
      unlinkSync(tmp);
    } catch {
      // nothing was written
    }
  }
}
