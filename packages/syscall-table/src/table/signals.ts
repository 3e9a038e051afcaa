/** x86-64 signal names as strace prints them; index = signal number. */
const SIGNALS: readonly string[] = [
  '', 'SIGHUP', 'SIGINT', 'SIGQUIT', 'SIGILL', 'SIGTRAP', 'SIGABRT', 'SIGBUS', 'SIGFPE', 'SIGKILL',
  'SIGUSR1', 'SIGSEGV', 'SIGUSR2', 'SIGPIPE', 'SIGALRM', 'SIGTERM', 'SIGSTKFLT', 'SIGCHLD', 'SIGCONT',
  'SIGSTOP', 'SIGTSTP', 'SIGTTIN', 'SIGTTOU', 'SIGURG', 'SIGXCPU', 'SIGXFSZ', 'SIGVTALRM', 'SIGPROF',
  'SIGWINCH', 'SIGIO', 'SIGPWR', 'SIGSYS', 'SIGRTMIN',
];

/** The kernel's SIGRTMIN (glibc reserves 32 and 33 and reports 34). */
export const SIGRTMIN = 32;
export const SIGRTMAX = 64;

/** 11 -> 'SIGSEGV'; 32 -> 'SIGRTMIN'; 33..64 -> 'SIGRT_1'..'SIGRT_32', as strace names them. */
export function signalName(sig: number): string | undefined {
  if (!Number.isInteger(sig) || sig <= 0) return undefined;
  const name = SIGNALS[sig];
  if (name !== undefined) return name;
  if (sig <= SIGRTMAX) return `SIGRT_${sig - SIGRTMIN}`;
  return undefined;
}

/** 'SIGSEGV' or 'SEGV' -> 11. */
export function signalByName(name: string): number | undefined {
  const full = name.startsWith('SIG') ? name : `SIG${name}`;
  const i = SIGNALS.indexOf(full);
  if (i > 0) return i;
  const rt = /^SIGRT_(\d+)$/.exec(full);
  if (rt?.[1] !== undefined) {
    const sig = SIGRTMIN + Number(rt[1]);
    if (sig <= SIGRTMAX) return sig;
  }
  return undefined;
}
