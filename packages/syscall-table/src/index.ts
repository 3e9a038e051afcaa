// The pure entry: the x86-64 syscall table as data and the strace formatter.
// Nothing here loads the kernel or a native addon.
export * from './table/index.js';
export * from './strace/index.js';

/** Version of this package's public interface (table shape, formatter API). */
export const SYSCALL_TABLE_VERSION = 1;
