import { formatSupportTable, type SupportFormat } from '@nommu/syscall-table/linux';
import { UsageError } from './args.js';

const FORMATS: readonly SupportFormat[] = ['table', 'json', 'csv', 'markdown'];

/** `nommu syscalls [--format F]`. */
export function syscalls(argv: string[]): number {
  let format: SupportFormat = 'table';
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const v = a.startsWith('--format=') ? a.slice(9) : a === '--format' ? argv[++i] : undefined;
    if (v === undefined) throw new UsageError(`unknown option '${a}' (try --format table|json|csv|markdown)`);
    if (!FORMATS.includes(v as SupportFormat)) throw new UsageError(`unknown format '${v}' (table, json, csv or markdown)`);
    format = v as SupportFormat;
  }
  process.stdout.write(formatSupportTable(format));
  return 0;
}
