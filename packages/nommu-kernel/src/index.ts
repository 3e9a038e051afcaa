export { CLONE, Kernel, KERNEL_API_VERSION, ExecFailure, SCHED_RESET_ON_FORK, WAIT_ALL, WAIT_CLONE, WAIT_CONTINUED, WAIT_EXITED, WAIT_STOPPED } from './kernel.js';
export type { ChildEvent, CloneArgs, Identity, KernelOptions, SpawnOptions, SyscallTracer } from './kernel.js';
export { E, ENOTSUP, Errno, errno, hostErrno } from './errno.js';
export { SyscallCall } from './hooks.js';
export type { KernelHooks, MemoryFault, SyscallVerdict } from './hooks.js';
export { GuestMemory } from './memory/guest.js';
export { bufferSource, collectingSink, readableSource, writableSink } from './fs/stdio.js';
export type { CollectingSink } from './fs/stdio.js';
export { KernelError } from './errors.js';
export { BLOCK, NORETURN, SYSCALL_REGISTRY_VERSION, SyscallArgs, SyscallTable } from './syscalls.js';
export type {
  DecodedSyscall,
  DecodedSyscallArg,
  SupportLevel,
  SyscallDecoder,
  SyscallEntry,
  SyscallHandler,
  SyscallMemoryReader,
  SyscallResult,
} from './syscalls.js';
export { FsContext, Process, RegsAt, Task, TaskState } from './task/task.js';
export type { CpuTimer, ExitStatus, WaitState } from './task/task.js';
export { raiseSigpipe, SIG, SI_CODE, signalDescription, signalFromStop } from './signals.js';
export { UserMemory } from './memory/user.js';
export { PhysicalMemory, PAGE_SIZE, pageDown, pageUp } from './memory/ram.js';
export * as mman from './memory/mm.js';
export { MemoryMap } from './memory/mm.js';
export type { Vma } from './memory/mm.js';
export { parseElf, isElf } from './loader/elf.js';
export type { ElfImage, ProgramHeader } from './loader/elf.js';
export { AT } from './loader/exec.js';
export type { ExecAt, LoadedProgram } from './loader/exec.js';
export { isMagicLink, Mount, pathInRoot, splitPath, Vfs } from './fs/vfs.js';
export type { MountSpec, Resolved, ResolveScope } from './fs/vfs.js';
export * as fcntl from './fs/file.js';
export { FdTable, HostFile, OpenFile, POLL, StreamFile, SyntheticFile, hostSink, hostSource } from './fs/file.js';
export { ProcFs } from './fs/procfs.js';
export { DevFs, DeviceFile } from './fs/devfs.js';
export { makedev } from './fs/stat.js';
export { PathFile, notPath, pathStat, O_PATH_KEEP } from './fs/pathfile.js';
export { Terminal, Tty } from './fs/tty.js';
export type { TtySide } from './fs/tty.js';
export { LineDiscipline } from './fs/ldisc.js';
export type { LdiscHooks } from './fs/ldisc.js';
export { Pty, PtyMaster, PtySlave } from './fs/pty.js';
export { Pipe, PipeEnd, PIPE_BUF } from './fs/pipe.js';
export { WaitQueue } from './fs/wait.js';
export { openFifo } from './fs/fifo.js';
export * as locks from './fs/locks.js';
export type { RecordLock } from './fs/locks.js';
export { EventFd, EFD_SEMAPHORE } from './fs/eventfd.js';
export { PidFd } from './fs/pidfd.js';
export { TimerFd, CLOCK_BOOTTIME, CLOCK_MONOTONIC, CLOCK_REALTIME } from './fs/timerfd.js';
export type { TimerSetting } from './fs/timerfd.js';
export { SignalFd, SIZEOF_SIGNALFD_SIGINFO } from './fs/signalfd.js';
export { EpollFile, EPOLL, EPOLL_EXCLUSIVE_OK } from './fs/epoll.js';
export type { EpollEvent } from './fs/epoll.js';
export { AF, MSG, SCM, SHUT, SO, SOCK, SOL, Socket, optInt, optOf } from './net/socket.js';
export type { Cred, Received, SendRequest, SockResult } from './net/socket.js';
export { UnixSocket } from './net/unix.js';
export { TcpSocket, UdpSocket, inetSocket } from './net/inet.js';
export { NetStack } from './net/stack.js';
export type { SyntheticFs, SyntheticNode } from './fs/procfs.js';
export type { DirEntry, IoResult, StreamSink, StreamSource } from './fs/file.js';
export * as stat from './fs/stat.js';
export type { KStat } from './fs/stat.js';
export { monotonicNs, realtimeNs } from './time.js';
export { bit, defaultAction, parseSigaction, SA, SIG_DFL, SIG_IGN, UNBLOCKABLE } from './signal/action.js';
export type { SigAction } from './signal/action.js';
export { writeSiginfo } from './signal/frame.js';
export { altStackFlags, MINSIGSTKSZ, newAltStack, onAltStack, SS } from './signal/altstack.js';
export type { AltStack } from './signal/altstack.js';
export { PosixTimer, SI_TIMER, SIGEV } from './signal/timers.js';
export type { PosixTimerSetting, TimerNotify } from './signal/timers.js';
export type { SigInfo } from './signal/frame.js';
export { CAP_IPC_LOCK, CAP_LAST_CAP, CAP_SYS_NICE, CAP_SYS_TIME, capabilities, capable } from './capability.js';
export { HARD_MSGMAX, HARD_MSGSIZEMAX, MessageQueue, MQ_LIMITS, MQ_PRIO_MAX, MQ_SIGEV, MqFile, MqNamespace, mqNamespace, SI_MESGQ, SIZEOF_MQ_ATTR } from './fs/mqueue.js';
export type { MqMessage } from './fs/mqueue.js';
export { IN, INOTIFY_LIMITS, InotifyFile } from './fs/inotify.js';
export * as fsnotify from './fs/inotify.js';
export { PerKernel } from './perkernel.js';
