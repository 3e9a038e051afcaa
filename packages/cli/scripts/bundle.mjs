// Bundles the CLI (dist/main.js and every @nommu package it imports) into one
// file, dist/nommu-cli.mjs, which bin/nommu.js loads: resolving, reading and
// compiling ~100 modules one by one cost ~90 ms of every `nommu` start-up.
// The native addons stay outside (@nommu/x86-cpu finds them through its own
// package.json).
import { build } from 'esbuild';

await build({
  entryPoints: [new URL('../dist/main.js', import.meta.url).pathname],
  outfile: new URL('../dist/nommu-cli.mjs', import.meta.url).pathname,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  sourcemap: 'linked',
  logLevel: 'warning',
});
