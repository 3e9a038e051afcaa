import { readFileSync } from 'node:fs';
import { KernelError } from '@nommu/kernel';
import { parseRunArgs, parseShellArgs, UsageError } from './args.js';
import { errorPrefix } from './color.js';
import { MAIN_HELP, RUN_HELP, SHELL_HELP } from './help.js';
import { info } from './info.js';
import { run } from './run.js';
export { syscallsMadeByRun } from './run.js';
import { syscalls } from './syscalls.js';

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

/** The nommu command. Returns the process exit status; never throws. */
export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  try {
    switch (cmd) {
      case 'run':
        return await run(parseRunArgs(rest));
      case 'shell':
        return await run(parseShellArgs(rest));
      case 'syscalls':
        return syscalls(rest);
      case 'info':
        return info(rest);
      case 'help':
      case '--help':
      case '-h':
        if (rest[0] !== undefined && !['run', 'shell', 'syscalls', 'info', 'help'].includes(rest[0])) {
          throw new UsageError(`no help for '${rest[0]}' (commands: run, shell, syscalls, info)`);
        }
        process.stdout.write(rest[0] === 'run' ? RUN_HELP : rest[0] === 'shell' ? SHELL_HELP : MAIN_HELP);
        return 0;
      case '--version':
      case '-V':
        process.stdout.write(`nommu ${version()}\n`);
        return 0;
      case undefined:
        process.stderr.write(MAIN_HELP);
        return 2;
      default:
        throw new UsageError(`unknown command '${cmd}' (see 'nommu help')`);
    }
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`${errorPrefix()} ${e.message}\n`);
      return 2;
    }
    const err = e as { code?: string; message?: string };
    const where = e instanceof KernelError || err.code?.startsWith('NOMMU_') ? '' : 'internal error: ';
    process.stderr.write(`${errorPrefix()} ${where}${err.message ?? String(e)}\n`);
    if (process.env.NOMMU_DEBUG) process.stderr.write(`${(e as Error).stack ?? ''}\n`);
    return 70;
  }
}
