/**
 * The kernel package does not depend on the syscall table (the table depends
 * on the kernel); its tests use it through the alias in vitest.config.ts.
 * This gives the type checker the one function they call.
 */
declare module '@nommu/syscall-table/linux' {
  export function createLinuxSyscallTable(): import('../src/index.js').SyscallTable;
}
