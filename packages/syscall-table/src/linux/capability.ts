/**
 * Capabilities (capget/capset). The kernel has one guest identity, so one
 * set of capabilities: every capability for root, none for anyone else, as
 * Linux gives them to a process that has not dropped any. Nothing in the
 * kernel can hold a smaller set, so capset accepts exactly what is already
 * there (libcap and friends write back the sets they read) and answers EPERM
 * to any change, like the set*id calls.
 */
import { capabilities, E, errno, type SyscallArgs, type SyscallResult, type Task } from '@nommu/kernel';
import { partial, supported, type Family } from './define.js';
import { affinityTarget } from './tasks.js';

const VERSION_1 = 0x19980330;
const VERSION_2 = 0x20071026;
const VERSION_3 = 0x20080522;
/** struct __user_cap_data_struct: effective, permitted, inheritable (u32 each). */
const DATA_SIZE = 12;

/**
 * The header's version: how many 32-bit words each set takes (1 for version
 * 1, 2 after). An unknown version gets the preferred one written back and EINVAL.
 */
function words(task: Task, hdr: number): number {
  const mem = task.kernel.mem;
  const version = mem.u32(hdr);
  if (version === VERSION_1) return 1;
  if (version === VERSION_2 || version === VERSION_3) return 2;
  mem.setU32(hdr, VERSION_3);
  throw errno(E.EINVAL);
}

interface CapSets {
  effective: bigint;
  permitted: bigint;
  inheritable: bigint;
}

function current(task: Task): CapSets {
  const all = capabilities(task.kernel.identity);
  return { effective: all, permitted: all, inheritable: 0n };
}

function capget(task: Task, a: SyscallArgs): SyscallResult {
  const hdr = a.ptr(0);
  const data = a.ptr(1);
  let n: number;
  try {
    n = words(task, hdr);
  } catch (e) {
    // With no data pointer an unknown version is how libcap asks for the preferred one.
    if (data === 0) return 0;
    throw e;
  }
  const pid = task.kernel.mem.i32(hdr + 4);
  if (data === 0) return 0;
  if (pid < 0) throw errno(E.EINVAL);
  affinityTarget(task, pid);
  const sets = current(task);
  const mem = task.kernel.mem;
  mem.offset(data, n * DATA_SIZE);
  for (let i = 0; i < n; i++) {
    const at = data + i * DATA_SIZE;
    const shift = BigInt(32 * i);
    mem.setU32(at, Number((sets.effective >> shift) & 0xffffffffn));
    mem.setU32(at + 4, Number((sets.permitted >> shift) & 0xffffffffn));
    mem.setU32(at + 8, Number((sets.inheritable >> shift) & 0xffffffffn));
  }
  return 0;
}

function capset(task: Task, a: SyscallArgs): SyscallResult {
  const hdr = a.ptr(0);
  const data = a.ptr(1);
  const n = words(task, hdr);
  const mem = task.kernel.mem;
  const pid = mem.i32(hdr + 4);
  if (pid !== 0 && pid !== task.process.pid) throw errno(E.EPERM);
  const want: CapSets = { effective: 0n, permitted: 0n, inheritable: 0n };
  mem.offset(data, n * DATA_SIZE);
  for (let i = 0; i < n; i++) {
    const at = data + i * DATA_SIZE;
    const shift = BigInt(32 * i);
    want.effective |= BigInt(mem.u32(at)) << shift;
    want.permitted |= BigInt(mem.u32(at + 4)) << shift;
    want.inheritable |= BigInt(mem.u32(at + 8)) << shift;
  }
  // Bits past the last capability are dropped, as Linux does.
  const valid = capabilities({ ...task.kernel.identity, euid: 0 });
  want.effective &= valid;
  want.permitted &= valid;
  want.inheritable &= valid;
  const have = current(task);
  if (want.effective !== have.effective || want.permitted !== have.permitted || want.inheritable !== have.inheritable) {
    throw errno(E.EPERM);
  }
  return 0;
}

export const capabilityFamily: Family = {
  capget: supported(capget),
  capset: partial('one guest identity, one set of capabilities (all for root, none otherwise): a capset that changes nothing succeeds, any change answers EPERM', capset),
};
