import { FaultAccess, StopReason, Vector, type StopInfo } from '@nommu/x86-cpu';
import type { Task } from './task/task.js';

/** Linux signal numbers (x86-64). */
export const SIG = {
  HUP: 1, INT: 2, QUIT: 3, ILL: 4, TRAP: 5, ABRT: 6, BUS: 7, FPE: 8, KILL: 9, USR1: 10, SEGV: 11,
  USR2: 12, PIPE: 13, ALRM: 14, TERM: 15, STKFLT: 16, CHLD: 17, CONT: 18, STOP: 19, TSTP: 20,
  TTIN: 21, TTOU: 22, URG: 23, XCPU: 24, XFSZ: 25, VTALRM: 26, PROF: 27, WINCH: 28, IO: 29,
  PWR: 30, SYS: 31,
} as const;

/** si_code values for faults. */
export const SI_CODE = {
  SEGV_MAPERR: 1, SEGV_ACCERR: 2,
  BUS_ADRERR: 2,
  ILL_ILLOPC: 1, ILL_ILLOPN: 2, ILL_PRVOPC: 5,
  FPE_INTDIV: 1, FPE_INTOVF: 2,
  TRAP_BRKPT: 1, TRAP_TRACE: 2,
  SI_KERNEL: 0x80,
} as const;

/**
 * A write to a pipe, FIFO, socket or host stream nobody reads any more:
 * SIGPIPE to the writing thread (pipe_write); the caller answers EPIPE if it
 * survives.
 */
export function raiseSigpipe(task: Task): void {
  task.kernel.sendSignal(task, { signo: SIG.PIPE, code: SI_CODE.SI_KERNEL });
}

export interface FaultSignal {
  signo: number;
  code: number;
  addr?: bigint;
}

/** The signal a CPU stop becomes, as Linux's trap handlers decide it. */
export function signalFromStop(stop: StopInfo): FaultSignal {
  switch (stop.reason) {
    case StopReason.Fault:
      return {
        signo: SIG.SEGV,
        code: stop.protection ? SI_CODE.SEGV_ACCERR : SI_CODE.SEGV_MAPERR,
        addr: stop.access === FaultAccess.Fetch ? stop.rip : stop.address,
      };
    case StopReason.InvalidInstruction:
      return { signo: SIG.ILL, code: SI_CODE.ILL_ILLOPN, addr: stop.rip };
    case StopReason.Halt:
      // hlt is privileged: user mode gets #GP, which Linux delivers as SIGSEGV/SI_KERNEL.
      return { signo: SIG.SEGV, code: SI_CODE.SI_KERNEL, addr: 0n };
    case StopReason.Exception:
      switch (stop.vector) {
        case Vector.DivideError:
          return { signo: SIG.FPE, code: SI_CODE.FPE_INTDIV, addr: stop.rip };
        case Vector.Overflow:
          return { signo: SIG.SEGV, code: SI_CODE.SI_KERNEL, addr: 0n };
        case Vector.Breakpoint:
          return { signo: SIG.TRAP, code: SI_CODE.SI_KERNEL };
        case Vector.Debug:
          return { signo: SIG.TRAP, code: SI_CODE.TRAP_TRACE, addr: stop.rip };
        case Vector.InvalidOpcode:
          return { signo: SIG.ILL, code: SI_CODE.ILL_ILLOPN, addr: stop.rip };
        default:
          return { signo: SIG.SEGV, code: SI_CODE.SI_KERNEL, addr: 0n };
      }
    default:
      return { signo: SIG.SEGV, code: SI_CODE.SI_KERNEL, addr: 0n };
  }
}

const NAMES: Record<number, string> = {
  1: 'Hangup', 2: 'Interrupt', 3: 'Quit', 4: 'Illegal instruction', 5: 'Trace/breakpoint trap',
  6: 'Aborted', 7: 'Bus error', 8: 'Floating point exception', 9: 'Killed', 10: 'User defined signal 1',
  11: 'Segmentation fault', 12: 'User defined signal 2', 13: 'Broken pipe', 14: 'Alarm clock',
  15: 'Terminated', 16: 'Stack fault', 24: 'CPU time limit exceeded', 25: 'File size limit exceeded',
  26: 'Virtual timer expired', 27: 'Profiling timer expired', 29: 'I/O possible', 30: 'Power failure',
  31: 'Bad system call',
};

/** What a shell prints when a job dies of `signo` (bash's wording). */
export function signalDescription(signo: number): string {
  return NAMES[signo] ?? `Signal ${signo}`;
}
