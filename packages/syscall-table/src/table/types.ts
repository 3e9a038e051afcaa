import type { EnumSetName, FlagSetName } from './flags.js';

/** Structures the strace formatter knows how to decode from guest memory. */
export type StructName =
  | 'stat'
  | 'statx'
  | 'statfs'
  | 'timespec'
  | 'timespec_pair'
  | 'timeval'
  | 'timeval_pair'
  | 'timezone'
  | 'itimerspec'
  | 'itimerval'
  | 'utsname'
  | 'sigaction'
  | 'sigset'
  | 'siginfo'
  | 'stack_t'
  | 'rlimit'
  | 'rusage'
  | 'sysinfo'
  | 'tms'
  | 'pollfd'
  | 'fd_set'
  | 'winsize'
  | 'termios'
  | 'epoll_event'
  | 'sockaddr'
  | 'msghdr'
  | 'int'
  | 'uint64'
  | 'fd_pair'
  | 'wait_status'
  | 'dirents'
  | 'dirents64'
  | 'clone_args'
  | 'open_how'
  | 'sched_param'
  | 'cpu_set'
  | 'user_cap';

export type ArgType =
  | { readonly kind: 'int' }
  | { readonly kind: 'uint' }
  | { readonly kind: 'hex' }
  | { readonly kind: 'size' }
  | { readonly kind: 'ssize' }
  /** Printed as 0x... or NULL. */
  | { readonly kind: 'ptr' }
  | { readonly kind: 'fd' }
  /** Like fd, but -100 prints AT_FDCWD. */
  | { readonly kind: 'dirfd' }
  | { readonly kind: 'pid' }
  | { readonly kind: 'uid' }
  /** Printed in octal, 0644 style. */
  | { readonly kind: 'mode' }
  | { readonly kind: 'signal' }
  /** NUL-terminated strings read at entry; paths are never truncated, strings are. */
  | { readonly kind: 'path' }
  | { readonly kind: 'string' }
  /** Guest-provided bytes; len is the index of the length argument. */
  | { readonly kind: 'buf_in'; readonly len: number }
  /** Kernel-filled bytes, shown at exit with the return value as length (len names the capacity argument). */
  | { readonly kind: 'buf_out'; readonly len: number }
  | { readonly kind: 'flags'; readonly set: FlagSetName }
  | { readonly kind: 'enum'; readonly set: EnumSetName }
  | { readonly kind: 'struct'; readonly name: StructName; readonly dir: 'in' | 'out' | 'inout' }
  /** count is the index of the iovcnt argument. */
  | { readonly kind: 'iovec'; readonly count: number; readonly dir: 'in' | 'out' }
  /**
   * NULL-terminated string array. With abbrev only the address is printed, followed by a
   * comment with the entry count, as strace does for execve's envp.
   */
  | { readonly kind: 'strv'; readonly abbrev?: boolean };

/** How strace prints a successful return value; 'mode' is octal (umask). */
export type RetType = 'int' | 'fd' | 'size' | 'ptr' | 'hex' | 'pid' | 'mode' | 'noreturn';

export interface ArgDef {
  readonly name: string;
  readonly type: ArgType;
}

export interface SyscallDef {
  readonly nr: number;
  readonly name: string;
  readonly args: readonly ArgDef[];
  readonly ret: RetType;
}
