/**
 * Symbolic names for flag and enum arguments, x86-64 values, listed in the order strace
 * prints them (multi-bit names such as O_TMPFILE come before the bits they contain, so
 * they win). Values are facts from the Linux UAPI headers.
 */

/** name/value pairs, in print order. */
export type Xlat = readonly (readonly [name: string, value: number])[];

export interface FlagSet {
  /** A multi-bit field printed first, even when zero (O_ACCMODE, MAP_TYPE, SOCK_TYPE_MASK). */
  readonly field?: { readonly mask: number; readonly values: Xlat };
  /** Low bits holding a signal number, printed by name after the flags (clone's exit signal). */
  readonly signalMask?: number;
  /** A numeric subfield printed as `N<<NAME` (MAP_HUGE_SHIFT). */
  readonly shift?: { readonly mask: number; readonly shift: number; readonly name: string };
  readonly bits: Xlat;
  /** Shown in a comment after the hex value when no name matches at all (PROT_???). */
  readonly unknown: string;
}

export interface EnumSet {
  readonly values: Xlat;
  readonly unknown: string;
}

const O_ACCMODE_VALUES: Xlat = [
  ['O_RDONLY', 0],
  ['O_WRONLY', 1],
  ['O_RDWR', 2],
  ['O_ACCMODE', 3],
];

const OPEN_BITS: Xlat = [
  ['O_CREAT', 0o100],
  ['O_EXCL', 0o200],
  ['O_NOCTTY', 0o400],
  ['O_TRUNC', 0o1000],
  ['O_APPEND', 0o2000],
  ['O_NONBLOCK', 0o4000],
  ['O_SYNC', 0o4010000],
  ['__O_SYNC', 0o4000000],
  ['O_DSYNC', 0o10000],
  ['O_DIRECT', 0o40000],
  ['O_LARGEFILE', 0o100000],
  ['O_NOFOLLOW', 0o400000],
  ['O_NOATIME', 0o1000000],
  ['O_CLOEXEC', 0o2000000],
  ['O_PATH', 0o10000000],
  ['O_TMPFILE', 0o20200000],
  ['__O_TMPFILE', 0o20000000],
  ['O_DIRECTORY', 0o200000],
  ['FASYNC', 0o20000],
];

const AT_BITS: Xlat = [
  ['AT_SYMLINK_NOFOLLOW', 0x100],
  ['AT_REMOVEDIR', 0x200],
  ['AT_SYMLINK_FOLLOW', 0x400],
  ['AT_NO_AUTOMOUNT', 0x800],
  ['AT_EMPTY_PATH', 0x1000],
  ['AT_RECURSIVE', 0x8000],
];

const TERM_BAUD: Xlat = [
  ['B0', 0o0], ['B50', 0o1], ['B75', 0o2], ['B110', 0o3], ['B134', 0o4], ['B150', 0o5],
  ['B200', 0o6], ['B300', 0o7], ['B600', 0o10], ['B1200', 0o11], ['B1800', 0o12],
  ['B2400', 0o13], ['B4800', 0o14], ['B9600', 0o15], ['B19200', 0o16], ['B38400', 0o17],
  ['BOTHER', 0o10000], ['B57600', 0o10001], ['B115200', 0o10002], ['B230400', 0o10003],
  ['B460800', 0o10004], ['B500000', 0o10005], ['B576000', 0o10006], ['B921600', 0o10007],
  ['B1000000', 0o10010], ['B1152000', 0o10011], ['B1500000', 0o10012], ['B2000000', 0o10013],
  ['B2500000', 0o10014], ['B3000000', 0o10015], ['B3500000', 0o10016], ['B4000000', 0o10017],
];

export const FLAG_SETS = {
  open: { field: { mask: 3, values: O_ACCMODE_VALUES }, bits: OPEN_BITS, unknown: 'O_???' },
  /** Plain O_* bits without the access mode (pipe2, dup3, ...). */
  open_bits: { bits: OPEN_BITS, unknown: 'O_???' },
  at: { bits: AT_BITS, unknown: 'AT_???' },
  at_faccessat: {
    bits: [['AT_SYMLINK_NOFOLLOW', 0x100], ['AT_EACCESS', 0x200], ['AT_EMPTY_PATH', 0x1000]],
    unknown: 'AT_???',
  },
  at_statx: {
    field: {
      mask: 0x6000,
      values: [['AT_STATX_SYNC_AS_STAT', 0], ['AT_STATX_FORCE_SYNC', 0x2000], ['AT_STATX_DONT_SYNC', 0x4000]],
    },
    bits: AT_BITS,
    unknown: 'AT_???',
  },
  statx_mask: {
    bits: [
      ['STATX_ALL', 0xfff], ['STATX_BASIC_STATS', 0x7ff], ['STATX_TYPE', 0x1], ['STATX_MODE', 0x2],
      ['STATX_NLINK', 0x4], ['STATX_UID', 0x8], ['STATX_GID', 0x10], ['STATX_ATIME', 0x20],
      ['STATX_MTIME', 0x40], ['STATX_CTIME', 0x80], ['STATX_INO', 0x100], ['STATX_SIZE', 0x200],
      ['STATX_BLOCKS', 0x400], ['STATX_BTIME', 0x800], ['STATX_MNT_ID', 0x1000],
      ['STATX_DIOALIGN', 0x2000], ['STATX_MNT_ID_UNIQUE', 0x4000],
    ],
    unknown: 'STATX_???',
  },
  access: { bits: [['F_OK', 0], ['R_OK', 4], ['W_OK', 2], ['X_OK', 1]], unknown: '?_OK' },
  prot: {
    bits: [
      ['PROT_NONE', 0], ['PROT_READ', 0x1], ['PROT_WRITE', 0x2], ['PROT_EXEC', 0x4], ['PROT_SEM', 0x8],
      ['PROT_GROWSDOWN', 0x01000000], ['PROT_GROWSUP', 0x02000000],
    ],
    unknown: 'PROT_???',
  },
  mmap: {
    field: { mask: 0xf, values: [['MAP_SHARED', 0x1], ['MAP_PRIVATE', 0x2], ['MAP_SHARED_VALIDATE', 0x3]] },
    shift: { mask: 0x3f << 26, shift: 26, name: 'MAP_HUGE_SHIFT' },
    bits: [
      ['MAP_FIXED', 0x10], ['MAP_ANONYMOUS', 0x20], ['MAP_32BIT', 0x40], ['MAP_ABOVE4G', 0x80],
      ['MAP_NORESERVE', 0x4000], ['MAP_POPULATE', 0x8000], ['MAP_NONBLOCK', 0x10000],
      ['MAP_GROWSDOWN', 0x100], ['MAP_DENYWRITE', 0x800], ['MAP_EXECUTABLE', 0x1000],
      ['MAP_LOCKED', 0x2000], ['MAP_STACK', 0x20000], ['MAP_HUGETLB', 0x40000], ['MAP_SYNC', 0x80000],
      ['MAP_UNINITIALIZED', 0x4000000], ['MAP_FIXED_NOREPLACE', 0x100000],
    ],
    unknown: 'MAP_???',
  },
  mremap: { bits: [['MREMAP_MAYMOVE', 1], ['MREMAP_FIXED', 2], ['MREMAP_DONTUNMAP', 4]], unknown: 'MREMAP_???' },
  msync: { bits: [['MS_ASYNC', 1], ['MS_INVALIDATE', 2], ['MS_SYNC', 4]], unknown: 'MS_???' },
  mlockall: { bits: [['MCL_CURRENT', 1], ['MCL_FUTURE', 2], ['MCL_ONFAULT', 4]], unknown: 'MCL_???' },
  mlock2: { bits: [['MLOCK_ONFAULT', 1]], unknown: 'MLOCK_???' },
  clone: {
    signalMask: 0xff,
    bits: [
      ['CLONE_VM', 0x100], ['CLONE_FS', 0x200], ['CLONE_FILES', 0x400], ['CLONE_SIGHAND', 0x800],
      ['CLONE_PIDFD', 0x1000], ['CLONE_PTRACE', 0x2000], ['CLONE_VFORK', 0x4000],
      ['CLONE_PARENT', 0x8000], ['CLONE_THREAD', 0x10000], ['CLONE_NEWNS', 0x20000],
      ['CLONE_SYSVSEM', 0x40000], ['CLONE_SETTLS', 0x80000], ['CLONE_PARENT_SETTID', 0x100000],
      ['CLONE_CHILD_CLEARTID', 0x200000], ['CLONE_UNTRACED', 0x800000],
      ['CLONE_CHILD_SETTID', 0x1000000], ['CLONE_NEWCGROUP', 0x2000000], ['CLONE_NEWUTS', 0x4000000],
      ['CLONE_NEWIPC', 0x8000000], ['CLONE_NEWUSER', 0x10000000], ['CLONE_NEWPID', 0x20000000],
      ['CLONE_NEWNET', 0x40000000], ['CLONE_IO', 0x80000000],
    ],
    unknown: 'CLONE_???',
  },
  /** unshare/setns: clone namespace bits without the exit signal. */
  clone_ns: {
    bits: [
      ['CLONE_FS', 0x200], ['CLONE_FILES', 0x400], ['CLONE_NEWNS', 0x20000], ['CLONE_SYSVSEM', 0x40000],
      ['CLONE_NEWCGROUP', 0x2000000], ['CLONE_NEWUTS', 0x4000000], ['CLONE_NEWIPC', 0x8000000],
      ['CLONE_NEWUSER', 0x10000000], ['CLONE_NEWPID', 0x20000000], ['CLONE_NEWNET', 0x40000000],
      ['CLONE_NEWTIME', 0x80],
    ],
    unknown: 'CLONE_???',
  },
  wait: {
    bits: [
      ['WNOHANG', 1], ['WUNTRACED', 2], ['WEXITED', 4], ['WCONTINUED', 8], ['WNOWAIT', 0x01000000],
      ['__WCLONE', 0x80000000], ['__WALL', 0x40000000], ['__WNOTHREAD', 0x20000000],
    ],
    unknown: 'W???',
  },
  waitid: {
    bits: [
      ['WNOHANG', 1], ['WSTOPPED', 2], ['WEXITED', 4], ['WCONTINUED', 8], ['WNOWAIT', 0x01000000],
      ['__WCLONE', 0x80000000], ['__WALL', 0x40000000], ['__WNOTHREAD', 0x20000000],
    ],
    unknown: 'W???',
  },
  fd: { bits: [['FD_CLOEXEC', 1]], unknown: 'FD_???' },
  socket_type: {
    field: {
      mask: 0xf,
      values: [
        ['SOCK_STREAM', 1], ['SOCK_DGRAM', 2], ['SOCK_RAW', 3], ['SOCK_RDM', 4],
        ['SOCK_SEQPACKET', 5], ['SOCK_DCCP', 6], ['SOCK_PACKET', 10],
      ],
    },
    bits: [['SOCK_CLOEXEC', 0o2000000], ['SOCK_NONBLOCK', 0o4000]],
    unknown: 'SOCK_???',
  },
  socket_flags: { bits: [['SOCK_CLOEXEC', 0o2000000], ['SOCK_NONBLOCK', 0o4000]], unknown: 'SOCK_???' },
  msg: {
    bits: [
      ['MSG_OOB', 0x1], ['MSG_PEEK', 0x2], ['MSG_DONTROUTE', 0x4], ['MSG_CTRUNC', 0x8],
      ['MSG_PROBE', 0x10], ['MSG_TRUNC', 0x20], ['MSG_DONTWAIT', 0x40], ['MSG_EOR', 0x80],
      ['MSG_WAITALL', 0x100], ['MSG_FIN', 0x200], ['MSG_SYN', 0x400], ['MSG_CONFIRM', 0x800],
      ['MSG_RST', 0x1000], ['MSG_ERRQUEUE', 0x2000], ['MSG_NOSIGNAL', 0x4000], ['MSG_MORE', 0x8000],
      ['MSG_WAITFORONE', 0x10000], ['MSG_BATCH', 0x40000], ['MSG_ZEROCOPY', 0x4000000],
      ['MSG_FASTOPEN', 0x20000000], ['MSG_CMSG_CLOEXEC', 0x40000000],
    ],
    unknown: 'MSG_???',
  },
  poll: {
    bits: [
      ['POLLIN', 0x1], ['POLLPRI', 0x2], ['POLLOUT', 0x4], ['POLLERR', 0x8], ['POLLHUP', 0x10],
      ['POLLNVAL', 0x20], ['POLLRDNORM', 0x40], ['POLLRDBAND', 0x80], ['POLLWRNORM', 0x100],
      ['POLLWRBAND', 0x200], ['POLLMSG', 0x400], ['POLLREMOVE', 0x1000], ['POLLRDHUP', 0x2000],
    ],
    unknown: 'POLL???',
  },
  epoll_events: {
    bits: [
      ['EPOLLIN', 0x1], ['EPOLLPRI', 0x2], ['EPOLLOUT', 0x4], ['EPOLLERR', 0x8], ['EPOLLHUP', 0x10],
      ['EPOLLNVAL', 0x20], ['EPOLLRDNORM', 0x40], ['EPOLLRDBAND', 0x80], ['EPOLLWRNORM', 0x100],
      ['EPOLLWRBAND', 0x200], ['EPOLLMSG', 0x400], ['EPOLLRDHUP', 0x2000],
      ['EPOLLEXCLUSIVE', 0x10000000], ['EPOLLWAKEUP', 0x20000000], ['EPOLLONESHOT', 0x40000000],
      ['EPOLLET', 0x80000000],
    ],
    unknown: 'EPOLL???',
  },
  epoll_create: { bits: [['EPOLL_CLOEXEC', 0o2000000]], unknown: 'EPOLL_???' },
  sa: {
    bits: [
      ['SA_RESTORER', 0x04000000], ['SA_ONSTACK', 0x08000000], ['SA_RESTART', 0x10000000],
      ['SA_INTERRUPT', 0x20000000], ['SA_NODEFER', 0x40000000], ['SA_RESETHAND', 0x80000000],
      ['SA_SIGINFO', 0x4], ['SA_NOCLDSTOP', 0x1], ['SA_NOCLDWAIT', 0x2],
    ],
    unknown: 'SA_???',
  },
  ss: { bits: [['SS_ONSTACK', 1], ['SS_DISABLE', 2], ['SS_AUTODISARM', 0x80000000]], unknown: 'SS_???' },
  getrandom: { bits: [['GRND_NONBLOCK', 1], ['GRND_RANDOM', 2], ['GRND_INSECURE', 4]], unknown: 'GRND_???' },
  eventfd: {
    bits: [['EFD_SEMAPHORE', 1], ['EFD_CLOEXEC', 0o2000000], ['EFD_NONBLOCK', 0o4000]],
    unknown: 'EFD_???',
  },
  signalfd: { bits: [['SFD_CLOEXEC', 0o2000000], ['SFD_NONBLOCK', 0o4000]], unknown: 'SFD_???' },
  timerfd: { bits: [['TFD_CLOEXEC', 0o2000000], ['TFD_NONBLOCK', 0o4000]], unknown: 'TFD_???' },
  timerfd_settime: {
    bits: [['TFD_TIMER_ABSTIME', 1], ['TFD_TIMER_CANCEL_ON_SET', 2]],
    unknown: 'TFD_TIMER_???',
  },
  timer: { bits: [['TIMER_ABSTIME', 1]], unknown: 'TIMER_???' },
  inotify_init: { bits: [['IN_CLOEXEC', 0o2000000], ['IN_NONBLOCK', 0o4000]], unknown: 'IN_???' },
  inotify_mask: {
    bits: [
      ['IN_ACCESS', 0x1], ['IN_MODIFY', 0x2], ['IN_ATTRIB', 0x4], ['IN_CLOSE_WRITE', 0x8],
      ['IN_CLOSE_NOWRITE', 0x10], ['IN_OPEN', 0x20], ['IN_MOVED_FROM', 0x40], ['IN_MOVED_TO', 0x80],
      ['IN_CREATE', 0x100], ['IN_DELETE', 0x200], ['IN_DELETE_SELF', 0x400], ['IN_MOVE_SELF', 0x800],
      ['IN_UNMOUNT', 0x2000], ['IN_Q_OVERFLOW', 0x4000], ['IN_IGNORED', 0x8000],
      ['IN_ONLYDIR', 0x01000000], ['IN_DONT_FOLLOW', 0x02000000], ['IN_EXCL_UNLINK', 0x04000000],
      ['IN_MASK_CREATE', 0x10000000], ['IN_MASK_ADD', 0x20000000], ['IN_ISDIR', 0x40000000],
      ['IN_ONESHOT', 0x80000000],
    ],
    unknown: 'IN_???',
  },
  memfd: {
    bits: [['MFD_CLOEXEC', 1], ['MFD_ALLOW_SEALING', 2], ['MFD_HUGETLB', 4], ['MFD_NOEXEC_SEAL', 8], ['MFD_EXEC', 0x10]],
    unknown: 'MFD_???',
  },
  rwf: {
    bits: [['RWF_HIPRI', 1], ['RWF_DSYNC', 2], ['RWF_SYNC', 4], ['RWF_NOWAIT', 8], ['RWF_APPEND', 0x10], ['RWF_NOAPPEND', 0x20]],
    unknown: 'RWF_???',
  },
  splice: {
    bits: [['SPLICE_F_MOVE', 1], ['SPLICE_F_NONBLOCK', 2], ['SPLICE_F_MORE', 4], ['SPLICE_F_GIFT', 8]],
    unknown: 'SPLICE_F_???',
  },
  flock: { bits: [['LOCK_SH', 1], ['LOCK_EX', 2], ['LOCK_NB', 4], ['LOCK_UN', 8]], unknown: 'LOCK_???' },
  rename: { bits: [['RENAME_NOREPLACE', 1], ['RENAME_EXCHANGE', 2], ['RENAME_WHITEOUT', 4]], unknown: 'RENAME_???' },
  close_range: { bits: [['CLOSE_RANGE_UNSHARE', 2], ['CLOSE_RANGE_CLOEXEC', 4]], unknown: 'CLOSE_RANGE_???' },
  mount: {
    bits: [
      ['MS_RDONLY', 1], ['MS_NOSUID', 2], ['MS_NODEV', 4], ['MS_NOEXEC', 8], ['MS_SYNCHRONOUS', 16],
      ['MS_REMOUNT', 32], ['MS_MANDLOCK', 64], ['MS_DIRSYNC', 128], ['MS_NOSYMFOLLOW', 256],
      ['MS_NOATIME', 1024], ['MS_NODIRATIME', 2048], ['MS_BIND', 4096], ['MS_MOVE', 8192],
      ['MS_REC', 16384], ['MS_SILENT', 32768], ['MS_POSIXACL', 1 << 16], ['MS_UNBINDABLE', 1 << 17],
      ['MS_PRIVATE', 1 << 18], ['MS_SLAVE', 1 << 19], ['MS_SHARED', 1 << 20], ['MS_RELATIME', 1 << 21],
      ['MS_KERNMOUNT', 1 << 22], ['MS_I_VERSION', 1 << 23], ['MS_STRICTATIME', 1 << 24],
      ['MS_LAZYTIME', 1 << 25], ['MS_NOSEC', 1 << 28], ['MS_BORN', 1 << 29], ['MS_ACTIVE', 1 << 30],
      ['MS_NOUSER', 0x80000000],
    ],
    unknown: 'MS_???',
  },
  umount: {
    bits: [['MNT_FORCE', 1], ['MNT_DETACH', 2], ['MNT_EXPIRE', 4], ['UMOUNT_NOFOLLOW', 8]],
    unknown: 'MNT_???',
  },
  xattr: { bits: [['XATTR_CREATE', 1], ['XATTR_REPLACE', 2]], unknown: 'XATTR_???' },
  seals: {
    bits: [['F_SEAL_SEAL', 1], ['F_SEAL_SHRINK', 2], ['F_SEAL_GROW', 4], ['F_SEAL_WRITE', 8], ['F_SEAL_FUTURE_WRITE', 0x10], ['F_SEAL_EXEC', 0x20]],
    unknown: 'F_SEAL_???',
  },
  pidfd_open: { bits: [['PIDFD_NONBLOCK', 0o4000]], unknown: 'PIDFD_???' },
  ioc_dir: { bits: [['_IOC_WRITE', 1], ['_IOC_READ', 2]], unknown: '_IOC_???' },
  term_iflag: {
    bits: [
      ['IGNBRK', 0o1], ['BRKINT', 0o2], ['IGNPAR', 0o4], ['PARMRK', 0o10], ['INPCK', 0o20],
      ['ISTRIP', 0o40], ['INLCR', 0o100], ['IGNCR', 0o200], ['ICRNL', 0o400], ['IUCLC', 0o1000],
      ['IXON', 0o2000], ['IXANY', 0o4000], ['IXOFF', 0o10000], ['IMAXBEL', 0o20000], ['IUTF8', 0o40000],
    ],
    unknown: 'I???',
  },
  term_oflag: {
    bits: [
      ['OPOST', 0o1], ['OLCUC', 0o2], ['ONLCR', 0o4], ['OCRNL', 0o10], ['ONOCR', 0o20],
      ['ONLRET', 0o40], ['OFILL', 0o100], ['OFDEL', 0o200],
    ],
    unknown: 'O???',
  },
  term_cflag: {
    bits: [
      ['CSTOPB', 0o100], ['CREAD', 0o200], ['PARENB', 0o400], ['PARODD', 0o1000], ['HUPCL', 0o2000],
      ['CLOCAL', 0o4000], ['CMSPAR', 0o10000000000], ['CRTSCTS', 0o20000000000],
    ],
    unknown: 'C???',
  },
  term_lflag: {
    bits: [
      ['ISIG', 0o1], ['ICANON', 0o2], ['XCASE', 0o4], ['ECHO', 0o10], ['ECHOE', 0o20], ['ECHOK', 0o40],
      ['ECHONL', 0o100], ['NOFLSH', 0o200], ['IEXTEN', 0o100000], ['ECHOCTL', 0o1000],
      ['ECHOPRT', 0o2000], ['ECHOKE', 0o4000], ['FLUSHO', 0o10000], ['PENDIN', 0o40000],
      ['TOSTOP', 0o400], ['EXTPROC', 0o200000],
    ],
    unknown: 'E???',
  },
} as const satisfies Record<string, FlagSet>;

export type FlagSetName = keyof typeof FLAG_SETS;

export const ENUM_SETS = {
  seek: {
    values: [['SEEK_SET', 0], ['SEEK_CUR', 1], ['SEEK_END', 2], ['SEEK_DATA', 3], ['SEEK_HOLE', 4]],
    unknown: 'SEEK_???',
  },
  fcntl: {
    values: [
      ['F_DUPFD', 0], ['F_GETFD', 1], ['F_SETFD', 2], ['F_GETFL', 3], ['F_SETFL', 4], ['F_GETLK', 5],
      ['F_SETLK', 6], ['F_SETLKW', 7], ['F_SETOWN', 8], ['F_GETOWN', 9], ['F_SETSIG', 10],
      ['F_GETSIG', 11], ['F_SETOWN_EX', 15], ['F_GETOWN_EX', 16], ['F_GETOWNER_UIDS', 17],
      ['F_OFD_GETLK', 36], ['F_OFD_SETLK', 37], ['F_OFD_SETLKW', 38], ['F_SETLEASE', 1024],
      ['F_GETLEASE', 1025], ['F_NOTIFY', 1026], ['F_DUPFD_QUERY', 1027], ['F_CANCELLK', 1029],
      ['F_DUPFD_CLOEXEC', 1030], ['F_SETPIPE_SZ', 1031], ['F_GETPIPE_SZ', 1032], ['F_ADD_SEALS', 1033],
      ['F_GET_SEALS', 1034], ['F_GET_RW_HINT', 1035], ['F_SET_RW_HINT', 1036],
      ['F_GET_FILE_RW_HINT', 1037], ['F_SET_FILE_RW_HINT', 1038],
    ],
    unknown: 'F_???',
  },
  lock_type: { values: [['F_RDLCK', 0], ['F_WRLCK', 1], ['F_UNLCK', 2]], unknown: 'F_???' },
  arch_prctl: {
    values: [
      ['ARCH_SET_GS', 0x1001], ['ARCH_SET_FS', 0x1002], ['ARCH_GET_FS', 0x1003], ['ARCH_GET_GS', 0x1004],
      ['ARCH_GET_CPUID', 0x1011], ['ARCH_SET_CPUID', 0x1012], ['ARCH_GET_XCOMP_SUPP', 0x1021],
      ['ARCH_GET_XCOMP_PERM', 0x1022], ['ARCH_REQ_XCOMP_PERM', 0x1023],
      ['ARCH_GET_XCOMP_GUEST_PERM', 0x1024], ['ARCH_REQ_XCOMP_GUEST_PERM', 0x1025],
      ['ARCH_MAP_VDSO_X32', 0x2001], ['ARCH_MAP_VDSO_32', 0x2002], ['ARCH_MAP_VDSO_64', 0x2003],
      ['ARCH_GET_UNTAG_MASK', 0x4001], ['ARCH_ENABLE_TAGGED_ADDR', 0x4002],
      ['ARCH_GET_MAX_TAG_BITS', 0x4003], ['ARCH_FORCE_TAGGED_SVA', 0x4004],
      ['ARCH_SHSTK_ENABLE', 0x5001], ['ARCH_SHSTK_DISABLE', 0x5002], ['ARCH_SHSTK_LOCK', 0x5003],
      ['ARCH_SHSTK_UNLOCK', 0x5004], ['ARCH_SHSTK_STATUS', 0x5005],
    ],
    unknown: 'ARCH_???',
  },
  /** The command part of a futex op (FUTEX_CMD_MASK); private/clock bits are added by the formatter. */
  futex_cmd: {
    values: [
      ['FUTEX_WAIT', 0], ['FUTEX_WAKE', 1], ['FUTEX_FD', 2], ['FUTEX_REQUEUE', 3],
      ['FUTEX_CMP_REQUEUE', 4], ['FUTEX_WAKE_OP', 5], ['FUTEX_LOCK_PI', 6], ['FUTEX_UNLOCK_PI', 7],
      ['FUTEX_TRYLOCK_PI', 8], ['FUTEX_WAIT_BITSET', 9], ['FUTEX_WAKE_BITSET', 10],
      ['FUTEX_WAIT_REQUEUE_PI', 11], ['FUTEX_CMP_REQUEUE_PI', 12], ['FUTEX_LOCK_PI2', 13],
    ],
    unknown: 'FUTEX_???',
  },
  sigprocmask: {
    values: [['SIG_BLOCK', 0], ['SIG_UNBLOCK', 1], ['SIG_SETMASK', 2]],
    unknown: 'SIG_???',
  },
  address_family: {
    values: [
      ['AF_UNSPEC', 0], ['AF_UNIX', 1], ['AF_INET', 2], ['AF_AX25', 3], ['AF_IPX', 4],
      ['AF_APPLETALK', 5], ['AF_NETROM', 6], ['AF_BRIDGE', 7], ['AF_ATMPVC', 8], ['AF_X25', 9],
      ['AF_INET6', 10], ['AF_ROSE', 11], ['AF_DECnet', 12], ['AF_NETBEUI', 13], ['AF_SECURITY', 14],
      ['AF_KEY', 15], ['AF_NETLINK', 16], ['AF_PACKET', 17], ['AF_ASH', 18], ['AF_ECONET', 19],
      ['AF_ATMSVC', 20], ['AF_RDS', 21], ['AF_SNA', 22], ['AF_IRDA', 23], ['AF_PPPOX', 24],
      ['AF_WANPIPE', 25], ['AF_LLC', 26], ['AF_IB', 27], ['AF_MPLS', 28], ['AF_CAN', 29],
      ['AF_TIPC', 30], ['AF_BLUETOOTH', 31], ['AF_IUCV', 32], ['AF_RXRPC', 33], ['AF_ISDN', 34],
      ['AF_PHONET', 35], ['AF_IEEE802154', 36], ['AF_CAIF', 37], ['AF_ALG', 38], ['AF_NFC', 39],
      ['AF_VSOCK', 40], ['AF_KCM', 41], ['AF_QIPCRTR', 42], ['AF_SMC', 43], ['AF_XDP', 44],
      ['AF_MCTP', 45],
    ],
    unknown: 'AF_???',
  },
  ip_protocol: {
    values: [
      ['IPPROTO_IP', 0], ['IPPROTO_ICMP', 1], ['IPPROTO_IGMP', 2], ['IPPROTO_IPIP', 4],
      ['IPPROTO_TCP', 6], ['IPPROTO_EGP', 8], ['IPPROTO_PUP', 12], ['IPPROTO_UDP', 17],
      ['IPPROTO_IDP', 22], ['IPPROTO_TP', 29], ['IPPROTO_DCCP', 33], ['IPPROTO_IPV6', 41],
      ['IPPROTO_RSVP', 46], ['IPPROTO_GRE', 47], ['IPPROTO_ESP', 50], ['IPPROTO_AH', 51],
      ['IPPROTO_ICMPV6', 58], ['IPPROTO_MTP', 92], ['IPPROTO_BEETPH', 94], ['IPPROTO_ENCAP', 98],
      ['IPPROTO_PIM', 103], ['IPPROTO_COMP', 108], ['IPPROTO_L2TP', 115], ['IPPROTO_SCTP', 132],
      ['IPPROTO_UDPLITE', 136], ['IPPROTO_MPLS', 137], ['IPPROTO_ETHERNET', 143], ['IPPROTO_RAW', 255],
      ['IPPROTO_MPTCP', 262],
    ],
    unknown: 'IPPROTO_???',
  },
  sockopt_level: {
    values: [['SOL_IP', 0], ['SOL_SOCKET', 1], ['SOL_TCP', 6], ['SOL_UDP', 17], ['SOL_IPV6', 41], ['SOL_RAW', 255]],
    unknown: 'SOL_???',
  },
  sockopt_socket: {
    values: [
      ['SO_DEBUG', 1], ['SO_REUSEADDR', 2], ['SO_TYPE', 3], ['SO_ERROR', 4], ['SO_DONTROUTE', 5],
      ['SO_BROADCAST', 6], ['SO_SNDBUF', 7], ['SO_RCVBUF', 8], ['SO_KEEPALIVE', 9], ['SO_OOBINLINE', 10],
      ['SO_NO_CHECK', 11], ['SO_PRIORITY', 12], ['SO_LINGER', 13], ['SO_BSDCOMPAT', 14],
      ['SO_REUSEPORT', 15], ['SO_PASSCRED', 16], ['SO_PEERCRED', 17], ['SO_RCVLOWAT', 18],
      ['SO_SNDLOWAT', 19], ['SO_RCVTIMEO_OLD', 20], ['SO_SNDTIMEO_OLD', 21], ['SO_BINDTODEVICE', 25],
      ['SO_ATTACH_FILTER', 26], ['SO_DETACH_FILTER', 27], ['SO_PEERNAME', 28], ['SO_TIMESTAMP_OLD', 29],
      ['SO_ACCEPTCONN', 30], ['SO_PEERSEC', 31], ['SO_SNDBUFFORCE', 32], ['SO_RCVBUFFORCE', 33],
      ['SO_PASSSEC', 34], ['SO_MARK', 36], ['SO_PROTOCOL', 38], ['SO_DOMAIN', 39], ['SO_RXQ_OVFL', 40],
      ['SO_PEEK_OFF', 42], ['SO_BUSY_POLL', 46], ['SO_INCOMING_CPU', 49], ['SO_PEERGROUPS', 59],
      ['SO_ZEROCOPY', 60], ['SO_RCVTIMEO_NEW', 66], ['SO_SNDTIMEO_NEW', 67],
    ],
    unknown: 'SO_???',
  },
  sockopt_tcp: {
    values: [
      ['TCP_NODELAY', 1], ['TCP_MAXSEG', 2], ['TCP_CORK', 3], ['TCP_KEEPIDLE', 4], ['TCP_KEEPINTVL', 5],
      ['TCP_KEEPCNT', 6], ['TCP_SYNCNT', 7], ['TCP_LINGER2', 8], ['TCP_DEFER_ACCEPT', 9],
      ['TCP_WINDOW_CLAMP', 10], ['TCP_INFO', 11], ['TCP_QUICKACK', 12], ['TCP_CONGESTION', 13],
      ['TCP_USER_TIMEOUT', 18], ['TCP_FASTOPEN', 23], ['TCP_NOTSENT_LOWAT', 25],
    ],
    unknown: 'TCP_???',
  },
  shutdown: { values: [['SHUT_RD', 0], ['SHUT_WR', 1], ['SHUT_RDWR', 2]], unknown: 'SHUT_???' },
  ioctl: {
    values: [
      ['TCGETS', 0x5401], ['TCSETS', 0x5402], ['TCSETSW', 0x5403], ['TCSETSF', 0x5404],
      ['TCGETA', 0x5405], ['TCSETA', 0x5406], ['TCSETAW', 0x5407], ['TCSETAF', 0x5408],
      ['TCSBRK', 0x5409], ['TCXONC', 0x540a], ['TCFLSH', 0x540b], ['TIOCEXCL', 0x540c],
      ['TIOCNXCL', 0x540d], ['TIOCSCTTY', 0x540e], ['TIOCGPGRP', 0x540f], ['TIOCSPGRP', 0x5410],
      ['TIOCOUTQ', 0x5411], ['TIOCSTI', 0x5412], ['TIOCGWINSZ', 0x5413], ['TIOCSWINSZ', 0x5414],
      ['TIOCMGET', 0x5415], ['TIOCMBIS', 0x5416], ['TIOCMBIC', 0x5417], ['TIOCMSET', 0x5418],
      ['TIOCGSOFTCAR', 0x5419], ['TIOCSSOFTCAR', 0x541a], ['FIONREAD', 0x541b], ['TIOCLINUX', 0x541c],
      ['TIOCCONS', 0x541d], ['TIOCGSERIAL', 0x541e], ['TIOCSSERIAL', 0x541f], ['TIOCPKT', 0x5420],
      ['FIONBIO', 0x5421], ['TIOCNOTTY', 0x5422], ['TIOCSETD', 0x5423], ['TIOCGETD', 0x5424],
      ['TCSBRKP', 0x5425], ['TIOCSBRK', 0x5427], ['TIOCCBRK', 0x5428], ['TIOCGSID', 0x5429],
      ['TCGETS2', 0x802c542a], ['TCSETS2', 0x402c542b], ['TCSETSW2', 0x402c542c],
      ['TCSETSF2', 0x402c542d], ['TIOCGRS485', 0x542e], ['TIOCSRS485', 0x542f],
      ['TIOCGPTN', 0x80045430], ['TIOCSPTLCK', 0x40045431], ['TIOCGDEV', 0x80045432],
      ['TCGETX', 0x5432], ['TCSETX', 0x5433], ['TCSETXF', 0x5434], ['TCSETXW', 0x5435],
      ['TIOCSIG', 0x40045436], ['TIOCVHANGUP', 0x5437], ['TIOCGPKT', 0x80045438],
      ['TIOCGPTLCK', 0x80045439], ['TIOCGEXCL', 0x80045440], ['TIOCGPTPEER', 0x5441],
      ['FIONCLEX', 0x5450], ['FIOCLEX', 0x5451], ['FIOASYNC', 0x5452], ['TIOCSERCONFIG', 0x5453],
      ['TIOCSERGWILD', 0x5454], ['TIOCSERSWILD', 0x5455], ['TIOCGLCKTRMIOS', 0x5456],
      ['TIOCSLCKTRMIOS', 0x5457], ['TIOCSERGSTRUCT', 0x5458], ['TIOCSERGETLSR', 0x5459],
      ['TIOCSERGETMULTI', 0x545a], ['TIOCSERSETMULTI', 0x545b], ['TIOCMIWAIT', 0x545c],
      ['TIOCGICOUNT', 0x545d], ['FIOQSIZE', 0x5460], ['FIOSETOWN', 0x8901], ['SIOCSPGRP', 0x8902],
      ['FIOGETOWN', 0x8903], ['SIOCGPGRP', 0x8904], ['SIOCATMARK', 0x8905],
      ['SIOCGSTAMP_OLD', 0x8906], ['SIOCGSTAMPNS_OLD', 0x8907], ['FS_IOC_GETFLAGS', 0x80086601],
      ['FS_IOC_SETFLAGS', 0x40086602], ['FIFREEZE', 0xc0045877], ['FITHAW', 0xc0045878],
      ['FICLONE', 0x40049409], ['FICLONERANGE', 0x4020940d], ['FIDEDUPERANGE', 0xc0189436],
      ['BLKGETSIZE64', 0x80081272], ['BLKSSZGET', 0x1268], ['BLKGETSIZE', 0x1260],
    ],
    unknown: 'IOC_???',
  },
  prctl: {
    values: [
      ['PR_SET_PDEATHSIG', 1], ['PR_GET_PDEATHSIG', 2], ['PR_GET_DUMPABLE', 3], ['PR_SET_DUMPABLE', 4],
      ['PR_GET_UNALIGN', 5], ['PR_SET_UNALIGN', 6], ['PR_GET_KEEPCAPS', 7], ['PR_SET_KEEPCAPS', 8],
      ['PR_GET_FPEMU', 9], ['PR_SET_FPEMU', 10], ['PR_GET_FPEXC', 11], ['PR_SET_FPEXC', 12],
      ['PR_GET_TIMING', 13], ['PR_SET_TIMING', 14], ['PR_SET_NAME', 15], ['PR_GET_NAME', 16],
      ['PR_GET_ENDIAN', 19], ['PR_SET_ENDIAN', 20], ['PR_GET_SECCOMP', 21], ['PR_SET_SECCOMP', 22],
      ['PR_CAPBSET_READ', 23], ['PR_CAPBSET_DROP', 24], ['PR_GET_TSC', 25], ['PR_SET_TSC', 26],
      ['PR_GET_SECUREBITS', 27], ['PR_SET_SECUREBITS', 28], ['PR_SET_TIMERSLACK', 29],
      ['PR_GET_TIMERSLACK', 30], ['PR_TASK_PERF_EVENTS_DISABLE', 31], ['PR_TASK_PERF_EVENTS_ENABLE', 32],
      ['PR_MCE_KILL', 33], ['PR_MCE_KILL_GET', 34], ['PR_SET_MM', 35], ['PR_SET_CHILD_SUBREAPER', 36],
      ['PR_GET_CHILD_SUBREAPER', 37], ['PR_SET_NO_NEW_PRIVS', 38], ['PR_GET_NO_NEW_PRIVS', 39],
      ['PR_GET_TID_ADDRESS', 40], ['PR_SET_THP_DISABLE', 41], ['PR_GET_THP_DISABLE', 42],
      ['PR_MPX_ENABLE_MANAGEMENT', 43], ['PR_MPX_DISABLE_MANAGEMENT', 44], ['PR_SET_FP_MODE', 45],
      ['PR_GET_FP_MODE', 46], ['PR_CAP_AMBIENT', 47], ['PR_SVE_SET_VL', 50], ['PR_SVE_GET_VL', 51],
      ['PR_GET_SPECULATION_CTRL', 52], ['PR_SET_SPECULATION_CTRL', 53], ['PR_PAC_RESET_KEYS', 54],
      ['PR_SET_TAGGED_ADDR_CTRL', 55], ['PR_GET_TAGGED_ADDR_CTRL', 56], ['PR_SET_IO_FLUSHER', 57],
      ['PR_GET_IO_FLUSHER', 58], ['PR_SET_SYSCALL_USER_DISPATCH', 59], ['PR_PAC_SET_ENABLED_KEYS', 60],
      ['PR_PAC_GET_ENABLED_KEYS', 61], ['PR_SCHED_CORE', 62], ['PR_SME_SET_VL', 63], ['PR_SME_GET_VL', 64],
      ['PR_SET_MDWE', 65], ['PR_GET_MDWE', 66], ['PR_SET_MEMORY_MERGE', 67], ['PR_GET_MEMORY_MERGE', 68],
      ['PR_RISCV_V_SET_CONTROL', 69], ['PR_RISCV_V_GET_CONTROL', 70],
      ['PR_RISCV_SET_ICACHE_FLUSH_CTX', 71], ['PR_PPC_GET_DEXCR', 72], ['PR_PPC_SET_DEXCR', 73],
      ['PR_GET_AUXV', 0x41555856], ['PR_SET_VMA', 0x53564d41], ['PR_SET_PTRACER', 0x59616d61],
    ],
    unknown: 'PR_???',
  },
  madvise: {
    values: [
      ['MADV_NORMAL', 0], ['MADV_RANDOM', 1], ['MADV_SEQUENTIAL', 2], ['MADV_WILLNEED', 3],
      ['MADV_DONTNEED', 4], ['MADV_FREE', 8], ['MADV_REMOVE', 9], ['MADV_DONTFORK', 10],
      ['MADV_DOFORK', 11], ['MADV_MERGEABLE', 12], ['MADV_UNMERGEABLE', 13], ['MADV_HUGEPAGE', 14],
      ['MADV_NOHUGEPAGE', 15], ['MADV_DONTDUMP', 16], ['MADV_DODUMP', 17], ['MADV_WIPEONFORK', 18],
      ['MADV_KEEPONFORK', 19], ['MADV_COLD', 20], ['MADV_PAGEOUT', 21], ['MADV_POPULATE_READ', 22],
      ['MADV_POPULATE_WRITE', 23], ['MADV_DONTNEED_LOCKED', 24], ['MADV_COLLAPSE', 25],
      ['MADV_HWPOISON', 100], ['MADV_SOFT_OFFLINE', 101],
    ],
    unknown: 'MADV_???',
  },
  clock: {
    values: [
      ['CLOCK_REALTIME', 0], ['CLOCK_MONOTONIC', 1], ['CLOCK_PROCESS_CPUTIME_ID', 2],
      ['CLOCK_THREAD_CPUTIME_ID', 3], ['CLOCK_MONOTONIC_RAW', 4], ['CLOCK_REALTIME_COARSE', 5],
      ['CLOCK_MONOTONIC_COARSE', 6], ['CLOCK_BOOTTIME', 7], ['CLOCK_REALTIME_ALARM', 8],
      ['CLOCK_BOOTTIME_ALARM', 9], ['CLOCK_SGI_CYCLE', 10], ['CLOCK_TAI', 11],
    ],
    unknown: 'CLOCK_???',
  },
  epoll_ctl: { values: [['EPOLL_CTL_ADD', 1], ['EPOLL_CTL_DEL', 2], ['EPOLL_CTL_MOD', 3]], unknown: 'EPOLL_CTL_???' },
  rlimit: {
    values: [
      ['RLIMIT_CPU', 0], ['RLIMIT_FSIZE', 1], ['RLIMIT_DATA', 2], ['RLIMIT_STACK', 3], ['RLIMIT_CORE', 4],
      ['RLIMIT_RSS', 5], ['RLIMIT_NPROC', 6], ['RLIMIT_NOFILE', 7], ['RLIMIT_MEMLOCK', 8], ['RLIMIT_AS', 9],
      ['RLIMIT_LOCKS', 10], ['RLIMIT_SIGPENDING', 11], ['RLIMIT_MSGQUEUE', 12], ['RLIMIT_NICE', 13],
      ['RLIMIT_RTPRIO', 14], ['RLIMIT_RTTIME', 15],
    ],
    unknown: 'RLIMIT_???',
  },
  rusage_who: {
    values: [['RUSAGE_SELF', 0], ['RUSAGE_CHILDREN', -1], ['RUSAGE_THREAD', 1]],
    unknown: 'RUSAGE_???',
  },
  itimer: { values: [['ITIMER_REAL', 0], ['ITIMER_VIRTUAL', 1], ['ITIMER_PROF', 2]], unknown: 'ITIMER_???' },
  priority_which: { values: [['PRIO_PROCESS', 0], ['PRIO_PGRP', 1], ['PRIO_USER', 2]], unknown: 'PRIO_???' },
  sched_policy: {
    values: [
      ['SCHED_OTHER', 0], ['SCHED_FIFO', 1], ['SCHED_RR', 2], ['SCHED_BATCH', 3], ['SCHED_ISO', 4],
      ['SCHED_IDLE', 5], ['SCHED_DEADLINE', 6], ['SCHED_EXT', 7],
    ],
    unknown: 'SCHED_???',
  },
  waitid_which: {
    values: [['P_ALL', 0], ['P_PID', 1], ['P_PGID', 2], ['P_PIDFD', 3]],
    unknown: 'P_???',
  },
  seccomp_op: {
    values: [
      ['SECCOMP_SET_MODE_STRICT', 0], ['SECCOMP_SET_MODE_FILTER', 1],
      ['SECCOMP_GET_ACTION_AVAIL', 2], ['SECCOMP_GET_NOTIF_SIZES', 3],
    ],
    unknown: 'SECCOMP_???',
  },
  membarrier_cmd: {
    values: [
      ['MEMBARRIER_CMD_QUERY', 0], ['MEMBARRIER_CMD_GLOBAL', 1], ['MEMBARRIER_CMD_GLOBAL_EXPEDITED', 2],
      ['MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED', 4], ['MEMBARRIER_CMD_PRIVATE_EXPEDITED', 8],
      ['MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED', 16],
      ['MEMBARRIER_CMD_PRIVATE_EXPEDITED_SYNC_CORE', 32],
      ['MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_SYNC_CORE', 64],
      ['MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ', 128],
      ['MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_RSEQ', 256], ['MEMBARRIER_CMD_GET_REGISTRATIONS', 512],
    ],
    unknown: 'MEMBARRIER_CMD_???',
  },
  fadvise: {
    values: [
      ['POSIX_FADV_NORMAL', 0], ['POSIX_FADV_RANDOM', 1], ['POSIX_FADV_SEQUENTIAL', 2],
      ['POSIX_FADV_WILLNEED', 3], ['POSIX_FADV_DONTNEED', 4], ['POSIX_FADV_NOREUSE', 5],
    ],
    unknown: 'POSIX_FADV_???',
  },
  ptrace: {
    values: [
      ['PTRACE_TRACEME', 0], ['PTRACE_PEEKTEXT', 1], ['PTRACE_PEEKDATA', 2], ['PTRACE_PEEKUSER', 3],
      ['PTRACE_POKETEXT', 4], ['PTRACE_POKEDATA', 5], ['PTRACE_POKEUSER', 6], ['PTRACE_CONT', 7],
      ['PTRACE_KILL', 8], ['PTRACE_SINGLESTEP', 9], ['PTRACE_GETREGS', 12], ['PTRACE_SETREGS', 13],
      ['PTRACE_GETFPREGS', 14], ['PTRACE_SETFPREGS', 15], ['PTRACE_ATTACH', 16], ['PTRACE_DETACH', 17],
      ['PTRACE_SYSCALL', 24], ['PTRACE_SETOPTIONS', 0x4200], ['PTRACE_GETEVENTMSG', 0x4201],
      ['PTRACE_GETSIGINFO', 0x4202], ['PTRACE_SETSIGINFO', 0x4203], ['PTRACE_GETREGSET', 0x4204],
      ['PTRACE_SETREGSET', 0x4205], ['PTRACE_SEIZE', 0x4206], ['PTRACE_INTERRUPT', 0x4207],
      ['PTRACE_LISTEN', 0x4208],
    ],
    unknown: 'PTRACE_???',
  },
} as const satisfies Record<string, EnumSet>;

export type EnumSetName = keyof typeof ENUM_SETS;

/** Terminal c_cflag and c_oflag fields that are enumerations, not bits (see termios decoding). */
export const TERM_FIELDS = {
  baud: { mask: 0o10017, values: TERM_BAUD },
  csize: { mask: 0o60, values: [['CS5', 0o0], ['CS6', 0o20], ['CS7', 0o40], ['CS8', 0o60]] as Xlat },
  oflagDelays: [
    { mask: 0o400, values: [['NL0', 0], ['NL1', 0o400]] as Xlat },
    { mask: 0o3000, values: [['CR0', 0], ['CR1', 0o1000], ['CR2', 0o2000], ['CR3', 0o3000]] as Xlat },
    { mask: 0o14000, values: [['TAB0', 0], ['TAB1', 0o4000], ['TAB2', 0o10000], ['TAB3', 0o14000]] as Xlat },
    { mask: 0o20000, values: [['BS0', 0], ['BS1', 0o20000]] as Xlat },
    { mask: 0o100000, values: [['VT0', 0], ['VT1', 0o100000]] as Xlat },
    { mask: 0o40000, values: [['FF0', 0], ['FF1', 0o40000]] as Xlat },
  ],
} as const;

/** File type names for the S_IFMT part of a mode. */
export const FILE_TYPES: Xlat = [
  ['S_IFREG', 0o100000],
  ['S_IFSOCK', 0o140000],
  ['S_IFIFO', 0o10000],
  ['S_IFLNK', 0o120000],
  ['S_IFDIR', 0o40000],
  ['S_IFBLK', 0o60000],
  ['S_IFCHR', 0o20000],
];
