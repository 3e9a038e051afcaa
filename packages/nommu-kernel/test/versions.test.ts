/**
 * The versioned interfaces: a kernel refuses a CPU backend or a syscall table
 * built for another version, with an error saying which and why.
 */
import { createLinuxSyscallTable } from '@nommu/syscall-table/linux';
import { createUnicornBackend, CPU_BACKEND_INTERFACE_VERSION, type CpuBackend } from '@nommu/x86-cpu';
import { afterAll, describe, expect, it } from 'vitest';
import { Kernel, KernelError, SYSCALL_REGISTRY_VERSION } from '../src/index.js';

const cpu = createUnicornBackend({ ramSize: 16 << 20 });
afterAll(() => cpu.dispose());

/** The real backend, claiming another interface version. */
function claiming(version: number): CpuBackend {
  return new Proxy(cpu, { get: (t, k) => (k === 'interfaceVersion' ? version : Reflect.get(t, k, t)) });
}

describe('versioned interfaces', () => {
  it('refuses a CPU backend of another interface version', () => {
    const make = (): Kernel => new Kernel({ cpu: claiming(CPU_BACKEND_INTERFACE_VERSION - 1), syscalls: createLinuxSyscallTable() });
    expect(make).toThrow(KernelError);
    expect(make).toThrow(`CPU backend 'unicorn' implements interface v${CPU_BACKEND_INTERFACE_VERSION - 1}; this kernel needs v${CPU_BACKEND_INTERFACE_VERSION}`);
  });

  it('refuses a syscall table of another registry version', () => {
    const table = createLinuxSyscallTable();
    const other = Object.assign(Object.create(Object.getPrototypeOf(table) as object) as typeof table, table, { version: SYSCALL_REGISTRY_VERSION + 1 });
    expect(() => new Kernel({ cpu, syscalls: other })).toThrow(/syscall table registry v\d+; this kernel needs v\d+/);
  });
});
