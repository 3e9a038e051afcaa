import { signalText } from './values.js';
import { formatSiginfo, type SiginfoFields } from './structs.js';

/**
 * A delivered signal: `--- SIGSEGV {si_signo=SIGSEGV, si_code=SEGV_MAPERR, si_addr=NULL} ---`,
 * `--- SIGCHLD {si_signo=SIGCHLD, si_code=CLD_EXITED, si_pid=7, si_uid=0, si_status=0, si_utime=0, si_stime=0} ---`.
 */
export function formatSignal(info: SiginfoFields): string {
  return `--- ${signalText(BigInt(info.signo))} ${formatSiginfo(info)} ---`;
}

/** `+++ exited with 0 +++`, `+++ killed by SIGSEGV (core dumped) +++`. */
export function formatExitStatus(kind: 'exited' | 'killed', value: number, coreDumped = false): string {
  if (kind === 'exited') return `+++ exited with ${value} +++`;
  return `+++ killed by ${signalText(BigInt(value))}${coreDumped ? ' (core dumped)' : ''} +++`;
}
