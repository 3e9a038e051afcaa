// Bundles the CLI (dist/main.js and every @nommu package it imports) into one
// CommonJS file, dist/nommu-cli.cjs, which bin/nommu.js compiles with V8's
// code cache: resolving, reading and compiling ~100 modules one by one cost
// ~90 ms of every `nommu` start-up, and the cache (written after a first
// run, with the kernel's code compiled) saves ~30 ms more and halves the cost
// of a guest's first exec. CommonJS because only a vm.Script takes a cache on
// Node 20. The native addons stay outside (@nommu/x86-cpu finds them through
// its own package.json).
import { rmSync } from 'node:fs';
import { build } from 'esbuild';

const dist = new URL('../dist/', import.meta.url).pathname;
await build({
  entryPoints: [`${dist}main.js`],
  outfile: `${dist}nommu-cli.cjs`,
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  sourcemap: 'linked',
  logLevel: 'warning',
  // The modules find files next to themselves through import.meta.url; the bundle sits in dist/ as they do.
  define: { 'import.meta.url': '__nommuBundleUrl' },
  banner: { js: 'const __nommuBundleUrl = require("node:url").pathToFileURL(__filename).href;' },
});
// A cache made for the previous bundle would only be rejected.
rmSync(`${dist}nommu-cli.cache`, { force: true });
rmSync(`${dist}nommu-cli.mjs`, { force: true });
rmSync(`${dist}nommu-cli.mjs.map`, { force: true });
