#!/usr/bin/env node
// The CLI as one bundled file (scripts/bundle.mjs): a faster start than loading its modules one by one.
import { main } from '../dist/nommu-cli.mjs';

process.exitCode = await main(process.argv.slice(2));
