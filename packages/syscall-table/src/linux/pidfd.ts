/**
 * Process file descriptors: pidfd_open, pidfd_send_signal, pidfd_getfd (and
 * waitid's P_PIDFD in tasks.ts). A pidfd names one process while it is open;
 * it polls readable once the process has exited.
 */
import { E, errno, fcntl, PidFd, type SyscallArgs, type SyscallResult, type Task } from '@nommu/kernel';
import { partial, supported, type Family } from './define.js';
import { callerSiginfo, checkSig } from './signal.js';

const SI_USER = 0;

/** The process a pidfd names; EBADF for a descriptor that is not one. */
export function pidfdTarget(task: Task, fd: number): PidFd {
  const f = task.process.files.get(fd);
  if (!(f instanceof PidFd)) throw errno(E.EBADF);
  return f;
}

/** pidfd_open: a thread-group leader (EINVAL for another thread), alive or a zombie (ESRCH once reaped). */
function pidfdOpen(task: Task, a: SyscallArgs): SyscallResult {
  const pid = a.int(0);
  const flags = a.int(1);
  if ((flags & ~fcntl.O_NONBLOCK) !== 0 || pid <= 0) throw errno(E.EINVAL);
  const k = task.kernel;
  const p = k.processes.get(pid);
  if (!p) {
    if (k.tasks.has(pid)) throw errno(E.EINVAL); // a thread that is not its group's leader
    throw errno(E.ESRCH);
  }
  // A pidfd is always close-on-exec.
  return task.process.files.install(new PidFd(p, flags), true);
}

/**
 * pidfd_send_signal: kill(2) for the pidfd's process (a zombie still takes
 * the signal and drops it; a reaped one is ESRCH). With a siginfo, as
 * rt_sigqueueinfo: its signo must be `sig`, and only the caller may be sent
 * SI_USER-like codes (EPERM).
 */
function pidfdSendSignal(task: Task, a: SyscallArgs): SyscallResult {
  const fd = pidfdTarget(task, a.int(0));
  const sig = a.int(1);
  const infoAddr = a.ptr(2);
  if (a.int(3) !== 0) throw errno(E.EINVAL);
  checkSig(sig);
  const k = task.kernel;
  const p = fd.target;
  if (fd.reaped) throw errno(E.ESRCH);
  if (infoAddr !== 0 && k.mem.i32(infoAddr) !== sig) throw errno(E.EINVAL);
  const info = infoAddr !== 0 ? callerSiginfo(task, sig, infoAddr, p === task.process) : { signo: sig, code: SI_USER, pid: task.process.pid, uid: k.identity.uid };
  if (sig !== 0 && p.exitStatus === null) k.sendSignal(p, info);
  return 0;
}

/** pidfd_getfd: a duplicate (close-on-exec) of another process's descriptor; ESRCH once that process has exited. */
function pidfdGetfd(task: Task, a: SyscallArgs): SyscallResult {
  const fd = pidfdTarget(task, a.int(0));
  if (a.int(2) !== 0) throw errno(E.EINVAL);
  if (fd.target.exitStatus !== null) throw errno(E.ESRCH);
  const file = fd.target.files.get(a.int(1));
  return task.process.files.install(file.get(), true);
}

export const pidfdFamily: Family = {
  pidfd_open: partial('PIDFD_NONBLOCK; PIDFD_THREAD answers EINVAL', pidfdOpen),
  pidfd_send_signal: supported(pidfdSendSignal),
  pidfd_getfd: supported(pidfdGetfd),
};
