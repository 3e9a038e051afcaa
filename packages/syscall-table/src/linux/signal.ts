import { altStackFlags, bit, BLOCK, E, Errno, errno, newAltStack, SIG, UNBLOCKABLE, writeSiginfo, type CpuTimer, type Process, type SigInfo, type SyscallArgs, type SyscallResult, type Task } from '@nommu/kernel';
import { PtRegs } from '@nommu/um-entry';
import { partial, supported, type Family } from './define.js';
import { readTimeout } from './timespec.js';

const SIG_BLOCK = 0;
const SIG_UNBLOCK = 1;
const SIG_SETMASK = 2;
const SI_USER = 0;
const SI_TKILL = -6;
const SIZEOF_SIGACTION = 32;

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

function rtSigaction(task: Task, a: SyscallArgs) {
  const sig = a.int(0);
  if (sig < 1 || sig > 64 || a.ptr(3) !== 8) throw errno(E.EINVAL);
  const actAddr = a.ptr(1);
  const oldAddr = a.ptr(2);
  const mem = task.kernel.mem;
  const table = task.process.sigactions;
  const old = table.get(sig) ?? new Uint8Array(SIZEOF_SIGACTION);
  if (actAddr !== 0) {
    if (sig === SIG.KILL || sig === SIG.STOP) throw errno(E.EINVAL);
    const act = mem.copyIn(actAddr, SIZEOF_SIGACTION);
    table.set(sig, act);
    // Setting SIG_IGN (or SIG_DFL where the default ignores) discards what is pending.
    const handler = new DataView(act.buffer).getBigUint64(0, true);
    if (handler === 1n || (handler === 0n && [SIG.CHLD, SIG.URG, SIG.WINCH].includes(sig as 17))) {
      dropPending(task.process, sig);
    }
  }
  if (oldAddr !== 0) mem.copyOut(oldAddr, old);
  return 0;
}

function dropPending(p: Process, sig: number): void {
  const keep = (q: SigInfo[]): void => {
    for (let i = q.length - 1; i >= 0; i--) if (q[i]!.signo === sig) q.splice(i, 1)[0]!.onDequeue?.(false);
  };
  keep(p.pending);
  for (const t of p.threads) keep(t.pending);
}

export function checkSig(sig: number): void {
  if (sig < 0 || sig > 64) throw errno(E.EINVAL);
}

/**
 * kill(2): pid > 0 one process, 0 the caller's group, -1 everyone but pid 1
 * and the caller's own thread group, < -1 a group. A zombie still has its pid
 * and group: it counts (the signal goes nowhere), as on Linux.
 */
function kill(task: Task, a: SyscallArgs) {
  const k = task.kernel;
  const pid = a.int(0);
  const sig = a.int(1);
  checkSig(sig);
  const self = task.process;
  const targets = [...k.processes.values()].filter((p) => {
    if (pid > 0) return p.pid === pid;
    if (pid === 0) return p.pgid === self.pgid;
    if (pid === -1) return p.pid !== 1 && p !== self;
    return p.pgid === -pid;
  });
  if (targets.length === 0) throw errno(E.ESRCH);
  if (sig === 0) return 0;
  for (const p of targets) k.sendSignal(p, { signo: sig, code: SI_USER, pid: self.pid, uid: k.identity.uid });
  return 0;
}

function tgkill(task: Task, tgid: number, tid: number, sig: number) {
  const k = task.kernel;
  checkSig(sig);
  if (tid <= 0 || (tgid !== -1 && tgid <= 0)) throw errno(E.EINVAL);
  const t = k.findTask(tid);
  if (!t || (tgid !== -1 && t.process.pid !== tgid)) throw errno(E.ESRCH);
  // A zombie is found, and a signal sent to it is lost.
  if (sig === 0 || t.process.exitStatus !== null) return 0;
  k.sendSignal(t, { signo: sig, code: SI_TKILL, pid: task.process.pid, uid: k.identity.uid });
  return 0;
}

function rtSigpending(task: Task, a: SyscallArgs) {
  if (a.ptr(1) !== 8) throw errno(E.EINVAL);
  let set = 0n;
  for (const i of [...task.pending, ...task.process.pending]) set |= bit(i.signo);
  task.kernel.mem.setU64(a.ptr(0), set & task.sigmask);
  return 0;
}

const ERESTARTNOHAND = 514;

function rtSigsuspend(task: Task, a: SyscallArgs): SyscallResult {
  if (a.ptr(1) !== 8) throw errno(E.EINVAL);
  const mask = task.kernel.mem.u64(a.ptr(0));
  task.savedSigmask = task.sigmask;
  task.sigmask = mask & ~UNBLOCKABLE;
  return park(task, 'sigsuspend');
}

/** Waits for a signal: only a delivered signal ends it (with EINTR after the handler). */
function park(task: Task, why: string): SyscallResult {
  const k = task.kernel;
  task.interruptCode = ERESTARTNOHAND;
  k.block(task, why, false);
  // Something may already be pending and unblocked: take it now.
  const ready = [...task.pending, ...task.process.pending].some((i) => (task.sigmask & bit(i.signo)) === 0n);
  if (ready) k.wakeUp(task, false, BigInt(-ERESTARTNOHAND));
  return BLOCK;
}

/** sigaltstack: the query reports SS_ONSTACK while on the stack, and SS_AUTODISARM as set. */
function sigaltstack(task: Task, a: SyscallArgs) {
  const mem = task.kernel.mem;
  const ss = a.ptr(0);
  const old = a.ptr(1);
  const sp = mem.u64(task.ptregs + PtRegs.SP);
  const cur = task.altStack;
  const want = ss === 0 ? null : { sp: mem.u64(ss), flags: mem.i32(ss + 8), size: mem.u64(ss + 16) };
  if (old !== 0) {
    mem.setU64(old, cur?.sp ?? 0n);
    mem.setI32(old + 8, altStackFlags(cur, sp));
    mem.setI32(old + 12, 0);
    mem.setU64(old + 16, cur?.size ?? 0n);
  }
  if (want !== null) {
    const next = newAltStack(cur, sp, want);
    if (next instanceof Errno) throw next;
    task.altStack = next;
  }
  return 0;
}

function alarm(task: Task, a: SyscallArgs) {
  const left = task.kernel.setAlarm(task.process, a.uint(0) * 1000, 0);
  return Math.ceil(left / 1000);
}

const ITIMER_REAL = 0;
const ITIMER_VIRTUAL = 1;
const ITIMER_PROF = 2;

function setitimer(task: Task, a: SyscallArgs) {
  const which = a.int(0);
  if (which !== ITIMER_REAL && which !== ITIMER_VIRTUAL && which !== ITIMER_PROF) throw errno(E.EINVAL);
  const mem = task.kernel.mem;
  const v = a.ptr(1);
  const us = (addr: number): number => Number(mem.i64(addr)) * 1000 + Number(mem.i64(addr + 8)) / 1000;
  const interval = v ? us(v) : 0;
  const value = v ? us(v + 16) : 0;
  const p = task.process;
  if (which === ITIMER_REAL) {
    const prevInterval = p.alarm?.intervalMs ?? 0;
    const left = task.kernel.setAlarm(p, value, interval);
    writeItimer(task, a.ptr(2), prevInterval, left);
    return 0;
  }
  // CPU-time timers: the kernel counts them down as it accounts the group's CPU time.
  const old = which === ITIMER_VIRTUAL ? p.itimerVirtual : p.itimerProf;
  const next: CpuTimer | null = value > 0 ? { leftMs: value, intervalMs: interval } : null;
  if (which === ITIMER_VIRTUAL) p.itimerVirtual = next;
  else p.itimerProf = next;
  writeItimer(task, a.ptr(2), old?.intervalMs ?? 0, old?.leftMs ?? 0);
  return 0;
}

function writeItimer(task: Task, addr: number, intervalMs: number, valueMs: number): void {
  if (addr === 0) return;
  const mem = task.kernel.mem;
  const put = (at: number, ms: number): void => {
    const usec = Math.round(ms * 1000);
    mem.setI64(at, Math.floor(usec / 1e6));
    mem.setI64(at + 8, usec % 1e6);
  };
  put(addr, intervalMs);
  put(addr + 16, valueMs);
}

function getitimer(task: Task, a: SyscallArgs) {
  const which = a.int(0);
  const p = task.process;
  if (which === ITIMER_REAL) {
    const al = p.alarm;
    writeItimer(task, a.ptr(1), al?.intervalMs ?? 0, al ? Math.max(0, al.due - performance.now()) : 0);
  } else if (which === ITIMER_VIRTUAL || which === ITIMER_PROF) {
    const t = which === ITIMER_VIRTUAL ? p.itimerVirtual : p.itimerProf;
    writeItimer(task, a.ptr(1), t?.intervalMs ?? 0, t?.leftMs ?? 0);
  } else {
    throw errno(E.EINVAL);
  }
  return 0;
}

/**
 * A siginfo the caller wrote for `sig` (rt_sigqueueinfo, pidfd_send_signal):
 * only the kernel may claim SI_USER/SI_KERNEL/SI_TKILL or positive codes
 * for another process (EPERM).
 */
export function callerSiginfo(task: Task, sig: number, infoAddr: number, toSelf: boolean): SigInfo {
  const mem = task.kernel.mem;
  const code = mem.i32(infoAddr + 8);
  if ((code >= 0 || code === SI_TKILL) && !toSelf) throw errno(E.EPERM);
  return { signo: sig, code, pid: mem.i32(infoAddr + 16), uid: mem.i32(infoAddr + 20), value: mem.u64(infoAddr + 24) };
}

/** rt_sigqueueinfo / rt_tgsigqueueinfo: a signal with the caller's siginfo (si_value). */
function sigqueueinfo(task: Task, tgid: number, tid: number | null, sig: number, infoAddr: number): SyscallResult {
  const k = task.kernel;
  checkSig(sig);
  const info = callerSiginfo(task, sig, infoAddr, tgid === task.process.pid);
  if (tid !== null) {
    const t = k.findTask(tid);
    if (!t || t.process.pid !== tgid) throw errno(E.ESRCH);
    if (sig !== 0 && t.process.exitStatus === null) k.sendSignal(t, info);
    return 0;
  }
  const p = k.processes.get(tgid);
  if (!p || p.exitStatus) throw errno(E.ESRCH);
  if (sig !== 0) k.sendSignal(p, info);
  return 0;
}

/** rt_sigtimedwait: take a pending signal from `set`, waiting up to the timeout. */
function sigtimedwait(task: Task, a: SyscallArgs): SyscallResult {
  const k = task.kernel;
  if (a.ptr(3) !== 8) throw errno(E.EINVAL);
  const set = k.mem.u64(a.ptr(0)) & ~UNBLOCKABLE;
  const info = k.takePending(task, set);
  task.sigwait = null;
  if (info) {
    if (a.ptr(1) !== 0) writeSiginfo(k.mem, a.ptr(1), info);
    return info.signo;
  }
  const timeout = readTimeout(task, a.ptr(2));
  if (timeout === 0n) throw errno(E.EAGAIN);
  task.sigwait = set;
  // Woken by a signal in the set: the call runs again and takes it; by the timer: EAGAIN.
  task.interruptCode = E.EINTR;
  return timeout === null ? k.waitEvent(task, 'sigtimedwait', null, false) : k.waitEventWith(task, 'sigtimedwait', timeout, BigInt(-E.EAGAIN));
}

export const signalFamily: Family = {
  rt_sigqueueinfo: supported((t, a) => sigqueueinfo(t, a.int(0), null, a.int(1), a.ptr(2))),
  rt_tgsigqueueinfo: supported((t, a) => sigqueueinfo(t, a.int(0), a.int(1), a.int(2), a.ptr(3))),
  rt_sigtimedwait: supported(sigtimedwait),
  rt_sigprocmask: supported(rtSigprocmask),
  rt_sigaction: supported(rtSigaction),
  rt_sigreturn: supported((t) => t.kernel.sigreturn(t)),
  rt_sigpending: supported(rtSigpending),
  rt_sigsuspend: supported(rtSigsuspend),
  pause: supported((t) => park(t, 'pause')),
  kill: partial('no permission checks: every process belongs to the one guest user', kill),
  tgkill: supported((t, a) => tgkill(t, a.int(0), a.int(1), a.int(2))),
  tkill: supported((t, a) => tgkill(t, -1, a.int(0), a.int(1))),
  sigaltstack: supported(sigaltstack),
  restart_syscall: supported((t) => t.restartBlock?.(t) ?? errno(E.EINTR)),
  alarm: supported(alarm),
  setitimer: partial('VIRTUAL and PROF count guest CPU time as clock_gettime measures it, checked after each run of the CPU (at most one slice late)', setitimer),
  getitimer: supported(getitimer),
};
