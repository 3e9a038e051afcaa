/**
 * Restartable sequences (rseq(2)). One CPU: the struct rseq's cpu_id fields
 * are 0 from registration on, and a critical section restarts at its abort
 * handler when the thread gets a signal or another thread ran while it was
 * stopped in it (the kernel's #rseqAbort).
 */
import { E, errno, type SyscallArgs, type SyscallResult, type Task } from '@nommu/kernel';
import { partial, type Family } from './define.js';

const RSEQ_FLAG_UNREGISTER = 1;
/** The original struct rseq: cpu_id_start, cpu_id, rseq_cs, flags; then node_id and mm_cid (Linux 6.3+) in its padding. */
const ORIG_RSEQ_SIZE = 32;

function rseq(task: Task, a: SyscallArgs): SyscallResult {
  const addr = a.ptr(0);
  const len = a.uint(1);
  const flags = a.int(2);
  const sig = a.uint(3);
  const cur = task.rseq;
  if ((flags & RSEQ_FLAG_UNREGISTER) !== 0) {
    if ((flags & ~RSEQ_FLAG_UNREGISTER) !== 0) throw errno(E.EINVAL);
    if (cur === null || cur.addr !== addr || cur.len !== len) throw errno(E.EINVAL);
    if (cur.sig !== sig) throw errno(E.EPERM);
    task.rseq = null;
    return 0;
  }
  if (flags !== 0) throw errno(E.EINVAL);
  if (cur !== null) {
    if (cur.addr !== addr || cur.len !== len) throw errno(E.EINVAL);
    if (cur.sig !== sig) throw errno(E.EPERM);
    throw errno(E.EBUSY);
  }
  // At least the original struct, aligned as struct rseq is (32).
  if (len < ORIG_RSEQ_SIZE || addr % ORIG_RSEQ_SIZE !== 0) throw errno(E.EINVAL);
  const mem = task.kernel.mem;
  if (!mem.ok(addr, len)) throw errno(E.EFAULT);
  // cpu_id_start, cpu_id, node_id and mm_cid (Linux writes them on the way back to user mode).
  for (const off of [0, 4, 20, 24]) mem.setU32(addr + off, 0);
  task.rseq = { addr, len, sig };
  return 0;
}

export const rseqFamily: Family = {
  rseq: partial('one CPU: cpu_id, node_id and mm_cid are 0; a critical section restarts at its abort handler on a signal or when another thread ran while it was stopped in it (not at every preemption)', rseq),
};
