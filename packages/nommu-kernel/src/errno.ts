/** Linux errno numbers (x86-64; asm-generic/errno-base.h and errno.h). */
export const E = {
  EPERM: 1, ENOENT: 2, ESRCH: 3, EINTR: 4, EIO: 5, ENXIO: 6, E2BIG: 7, ENOEXEC: 8, EBADF: 9, ECHILD: 10,
  EAGAIN: 11, ENOMEM: 12, EACCES: 13, EFAULT: 14, ENOTBLK: 15, EBUSY: 16, EEXIST: 17, EXDEV: 18, ENODEV: 19,
  ENOTDIR: 20, EISDIR: 21, EINVAL: 22, ENFILE: 23, EMFILE: 24, ENOTTY: 25, ETXTBSY: 26, EFBIG: 27, ENOSPC: 28,
  ESPIPE: 29, EROFS: 30, EMLINK: 31, EPIPE: 32, EDOM: 33, ERANGE: 34, EDEADLK: 35, ENAMETOOLONG: 36,
  ENOLCK: 37, ENOSYS: 38, ENOTEMPTY: 39, ELOOP: 40, ENOMSG: 42, EIDRM: 43, ENODATA: 61, ETIME: 62,
  EOVERFLOW: 75, EBADFD: 77, EILSEQ: 84, ENOTSOCK: 88, EDESTADDRREQ: 89, EMSGSIZE: 90, EPROTOTYPE: 91,
  ENOPROTOOPT: 92, EPROTONOSUPPORT: 93, ESOCKTNOSUPPORT: 94, EOPNOTSUPP: 95, EPFNOSUPPORT: 96,
  EAFNOSUPPORT: 97, EADDRINUSE: 98, EADDRNOTAVAIL: 99, ENETDOWN: 100, ENETUNREACH: 101, ECONNABORTED: 103,
  ECONNRESET: 104, ENOBUFS: 105, EISCONN: 106, ENOTCONN: 107, ETIMEDOUT: 110, ECONNREFUSED: 111,
  EHOSTUNREACH: 113, EALREADY: 114, EINPROGRESS: 115, ESTALE: 116, EDQUOT: 122, ECANCELED: 125,
  EOWNERDEAD: 130, ENOTRECOVERABLE: 131,
  /** Kernel-internal restart codes (never seen by user code unless a restart is impossible). */
  ERESTARTSYS: 512, ERESTARTNOINTR: 513, ERESTARTNOHAND: 514, ERESTART_RESTARTBLOCK: 516,
} as const;
export const ENOTSUP = E.EOPNOTSUPP;
export const EWOULDBLOCK = E.EAGAIN;

/**
 * A Linux error a syscall answers with. Instances are interned per number and
 * carry no stack, so `throw errno(E.ENOENT)` and `return errno(E.ENOENT)` are
 * cheap; only the syscall exit path turns one into -errno in rax.
 */
export class Errno {
  private constructor(readonly errno: number) {}
  private static readonly interned = new Map<number, Errno>();
  static of(n: number): Errno {
    let e = Errno.interned.get(n);
    if (!e) {
      e = new Errno(n);
      Errno.interned.set(n, e);
    }
    return e;
  }
  toString(): string {
    const name = Object.entries(E).find(([, v]) => v === this.errno)?.[0];
    return `Errno(${name ?? this.errno})`;
  }
}

export function errno(n: number): Errno {
  return Errno.of(n);
}

/** Host (Node) error codes to Linux errno numbers. */
export function hostErrno(err: unknown): Errno {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && code in E) return Errno.of(E[code as keyof typeof E]);
  if (code === 'ENOTSUP') return Errno.of(E.EOPNOTSUPP);
  if (code === 'EWOULDBLOCK') return Errno.of(E.EAGAIN);
  return Errno.of(E.EIO);
}
