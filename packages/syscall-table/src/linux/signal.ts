import { E, errno, type SyscallArgs, type Task } from '@nommu/kernel';
import { partial, type Family } from './define.js';

const SIG_BLOCK = 0;
const SIG_UNBLOCK = 1;
const SIG_SETMASK = 2;
const UNBLOCKABLE = (1n << 8n) | (1n << 18n); // SIGKILL, SIGSTOP

function rtSigprocmask(task: Task, a: SyscallArgs) {
  if (a.ptr(3) !== 8) throw errno(E.EINVAL);
  const mem = task.kernel.mem;
  const setAddr = a.ptr(1);
  const oldAddr = a.ptr(2);
  const old = task.sigmask;
  if (setAddr !== 0) {
    const set = mem.u64(setAddr);
    switch (a.int(0)) {
      case SIG_BLOCK: task.sigmask = old | set; break;
      case SIG_UNBLOCK: task.sigmask = old & ~set; break;
      case SIG_SETMASK: task.sigmask = set; break;
      default: throw errno(E.EINVAL);
    }
    task.sigmask &= ~UNBLOCKABLE;
  }
  if (oldAddr !== 0) mem.setU64(oldAddr, old);
  return 0;
}

/** struct sigaction as the process registered it, per signal (delivery comes with the signals work). */
const SIZEOF_SIGACTION = 32;

function rtSigaction(task: Task, a: SyscallArgs) {
  const sig = a.int(0);
  if (sig < 1 || sig > 64 || a.ptr(3) !== 8) throw errno(E.EINVAL);
  const actAddr = a.ptr(1);
  const oldAddr = a.ptr(2);
  const mem = task.kernel.mem;
  const table = task.process.sigactions;
  const old = table.get(sig) ?? new Uint8Array(SIZEOF_SIGACTION);
  if (actAddr !== 0) {
    if (sig === 9 || sig === 19) throw errno(E.EINVAL);
    table.set(sig, mem.copyIn(actAddr, SIZEOF_SIGACTION));
  }
  if (oldAddr !== 0) mem.copyOut(oldAddr, old);
  return 0;
}

export const signalFamily: Family = {
  rt_sigprocmask: partial('the mask is kept; delivery comes with the signals work', rtSigprocmask),
  rt_sigaction: partial('handlers are recorded; delivery comes with the signals work', rtSigaction),
};
