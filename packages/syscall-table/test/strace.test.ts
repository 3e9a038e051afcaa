/**
 * The expected strings are lines strace 6.1 printed for the same calls made natively
 * (addresses and pids copied from those runs), so these pin the formatter to strace's
 * real output.
 */
import { describe, expect, it } from 'vitest';
import {
  decodeEntry,
  formatExit,
  formatExitStatus,
  formatNoReturn,
  formatSignal,
  SyscallSummary,
  type GuestMemoryReader,
} from '../src/strace/index.js';
import { NR } from '../src/table/index.js';

/** Guest memory made of a few byte regions; anything else is unreadable. */
class FakeMemory implements GuestMemoryReader {
  readonly #regions: { base: bigint; bytes: Uint8Array }[] = [];

  put(base: bigint, data: Uint8Array | string): bigint {
    const bytes = typeof data === 'string' ? latin1(data) : data;
    this.#regions.push({ base, bytes });
    return base;
  }

  read(addr: bigint, len: number): Uint8Array | null {
    for (const { base, bytes } of this.#regions) {
      const off = addr - base;
      if (off >= 0n && off + BigInt(len) <= BigInt(bytes.length)) return bytes.slice(Number(off), Number(off) + len);
    }
    return null;
  }
}

const latin1 = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0));
const cstr = (s: string): Uint8Array => latin1(`${s}\0`);

/** A little-endian struct: [offset, bytes-wide, value] fields in a zeroed buffer. */
function struct(size: number, fields: readonly (readonly [number, 2 | 4 | 8, bigint | number])[]): Uint8Array {
  const bytes = new Uint8Array(size);
  const dv = new DataView(bytes.buffer);
  for (const [off, width, value] of fields) {
    if (width === 2) dv.setUint16(off, Number(value), true);
    else if (width === 4) dv.setUint32(off, Number(value) >>> 0, true);
    else dv.setBigUint64(off, BigInt.asUintN(64, BigInt(value)), true);
  }
  return bytes;
}

const AT_FDCWD = BigInt.asUintN(64, -100n);
const neg = (errno: number): bigint => BigInt.asUintN(64, BigInt(-errno));

function call(mem: GuestMemoryReader, name: string, args: readonly bigint[], result: bigint): string {
  const nr = NR[name];
  if (nr === undefined) throw new Error(`no syscall ${name}`);
  return formatExit(decodeEntry(nr, args, mem), result, mem);
}

describe('file calls', () => {
  it('openat with AT_FDCWD and O_RDONLY|O_CLOEXEC', () => {
    const mem = new FakeMemory();
    const path = mem.put(0x1000n, cstr('/tmp/st/forty.txt'));
    expect(call(mem, 'openat', [AT_FDCWD, path, 0o2000000n, 0n], 3n)).toBe(
      'openat(AT_FDCWD, "/tmp/st/forty.txt", O_RDONLY|O_CLOEXEC) = 3',
    );
  });

  it('openat with O_CREAT shows the mode, unknown flag bits show in hex', () => {
    const mem = new FakeMemory();
    const path = mem.put(0x1000n, cstr('/tmp/st/out.txt'));
    expect(call(mem, 'openat', [AT_FDCWD, path, 0o1101n, 0o644n], 3n)).toBe(
      'openat(AT_FDCWD, "/tmp/st/out.txt", O_WRONLY|O_CREAT|O_TRUNC, 0644) = 3',
    );
    expect(call(mem, 'openat', [AT_FDCWD, path, 0o20000000n, 0n], neg(22))).toBe(
      'openat(AT_FDCWD, "/tmp/st/out.txt", O_RDONLY|__O_TMPFILE, 000) = -1 EINVAL (Invalid argument)',
    );
    expect(call(mem, 'openat', [AT_FDCWD, path, 0x40000000n, 0n], 3n)).toBe(
      'openat(AT_FDCWD, "/tmp/st/out.txt", O_RDONLY|0x40000000) = 3',
    );
  });

  it('an ENOENT failure', () => {
    const mem = new FakeMemory();
    const path = mem.put(0x1000n, cstr('/nope'));
    expect(call(mem, 'openat', [AT_FDCWD, path, 0n, 0n], neg(2))).toBe(
      'openat(AT_FDCWD, "/nope", O_RDONLY) = -1 ENOENT (No such file or directory)',
    );
  });

  it('read shows at most 32 bytes of what was read, then ...', () => {
    const mem = new FakeMemory();
    const buf = mem.put(0x2000n, latin1('root:x:0:0:root:/root:/bin/bash\nabcdefg'));
    expect(call(mem, 'read', [3n, buf, 64n], 39n)).toBe('read(3, "root:x:0:0:root:/root:/bin/bash\\n"..., 64) = 39');
    expect(call(mem, 'read', [3n, buf, 10n], 10n)).toBe('read(3, "root:x:0:0", 10) = 10');
    expect(call(mem, 'read', [3n, buf, 40n], neg(11))).toBe(
      'read(3, 0x2000, 40) = -1 EAGAIN (Resource temporarily unavailable)',
    );
  });

  it('write escapes like strace: \\t \\n \\" \\\\ and octal, padded before digits', () => {
    const mem = new FakeMemory();
    const a = mem.put(0x3000n, latin1('hello\tworld\n"q" \\ \x01\x7f\xff0end\0'));
    expect(call(mem, 'write', [3n, a, 26n], 26n)).toBe('write(3, "hello\\tworld\\n\\"q\\" \\\\ \\1\\177\\3770end\\0", 26) = 26');
    const b = mem.put(0x4000n, latin1('\x011\x02a\x1b[0m\r\v\f'));
    expect(call(mem, 'write', [3n, b, 11n], 11n)).toBe('write(3, "\\0011\\2a\\33[0m\\r\\v\\f", 11) = 11');
  });

  it('writev shows each iovec', () => {
    const mem = new FakeMemory();
    mem.put(0x5000n, latin1('ab\n'));
    mem.put(0x5100n, latin1('cd'));
    const iov = mem.put(0x6000n, struct(32, [[0, 8, 0x5000n], [8, 8, 3n], [16, 8, 0x5100n], [24, 8, 2n]]));
    expect(call(mem, 'writev', [2n, iov, 2n], 5n)).toBe(
      'writev(2, [{iov_base="ab\\n", iov_len=3}, {iov_base="cd", iov_len=2}], 2) = 5',
    );
  });

  it('recvmsg shows the descriptors SCM_RIGHTS brought, and MSG_CMSG_CLOEXEC', () => {
    const mem = new FakeMemory();
    mem.put(0x5000n, latin1('pipe'));
    const iov = mem.put(0x6000n, struct(16, [[0, 8, 0x5000n], [8, 8, 16n]]));
    const control = mem.put(0x7000n, struct(24, [[0, 8, 20n], [8, 4, 1], [12, 4, 1], [16, 4, 3]]));
    const msg = mem.put(0x8000n, struct(56, [[16, 8, iov], [24, 8, 1n], [32, 8, control], [40, 8, 24n], [48, 4, 0x40000000]]));
    expect(call(mem, 'recvmsg', [4n, msg, 0x40000000n], 4n)).toBe(
      'recvmsg(4, {msg_name=NULL, msg_namelen=0, msg_iov=[{iov_base="pipe", iov_len=16}], msg_iovlen=1, ' +
        'msg_control=[{cmsg_len=20, cmsg_level=SOL_SOCKET, cmsg_type=SCM_RIGHTS, cmsg_data=[3]}], msg_controllen=24, ' +
        'msg_flags=MSG_CMSG_CLOEXEC}, MSG_CMSG_CLOEXEC) = 4',
    );
  });

  it('recvfrom with MSG_TRUNC shows only what fits in the buffer', () => {
    const mem = new FakeMemory();
    const buf = mem.put(0x5000n, latin1('th\0\0\0\0'));
    expect(call(mem, 'recvfrom', [4n, buf, 2n, 0x20n, 0n, 0n], 6n)).toBe('recvfrom(4, "th", 2, MSG_TRUNC, NULL, NULL) = 6');
  });

  it('decodes struct stat, short form', () => {
    const mem = new FakeMemory();
    const empty = mem.put(0x1000n, cstr(''));
    const reg = mem.put(0x7000n, struct(144, [[24, 4, 0o100644], [48, 8, 39n]]));
    expect(call(mem, 'newfstatat', [3n, empty, reg, 0x1000n], 0n)).toBe(
      'newfstatat(3, "", {st_mode=S_IFREG|0644, st_size=39, ...}, AT_EMPTY_PATH) = 0',
    );
    const devnull = mem.put(0x1100n, cstr('/dev/null'));
    const chr = mem.put(0x8000n, struct(144, [[24, 4, 0o20666], [40, 8, 0x103n]]));
    expect(call(mem, 'newfstatat', [AT_FDCWD, devnull, chr, 0n], 0n)).toBe(
      'newfstatat(AT_FDCWD, "/dev/null", {st_mode=S_IFCHR|0666, st_rdev=makedev(0x1, 0x3), ...}, 0) = 0',
    );
    const nope = mem.put(0x1200n, cstr('/nope'));
    expect(call(mem, 'newfstatat', [AT_FDCWD, nope, 0x7fffb05253d0n, 0x100n], neg(2))).toBe(
      'newfstatat(AT_FDCWD, "/nope", 0x7fffb05253d0, AT_SYMLINK_NOFOLLOW) = -1 ENOENT (No such file or directory)',
    );
  });

  it('prints unreadable pointers as addresses and NULL as NULL', () => {
    const mem = new FakeMemory();
    expect(call(mem, 'openat', [AT_FDCWD, 0xdead0000n, 0n, 0n], neg(14))).toBe(
      'openat(AT_FDCWD, 0xdead0000, O_RDONLY) = -1 EFAULT (Bad address)',
    );
    expect(call(mem, 'brk', [0n], 0x16c71000n)).toBe('brk(NULL) = 0x16c71000');
  });

  it('execve prints argv and counts envp', () => {
    const mem = new FakeMemory();
    const path = mem.put(0x1000n, cstr('/nonexist'));
    mem.put(0x1100n, cstr('/bin/true'));
    mem.put(0x1200n, cstr('x'));
    const argv = mem.put(0x7ffc54c17b40n, struct(24, [[0, 8, 0x1100n], [8, 8, 0x1200n]]));
    expect(call(mem, 'execve', [path, argv, argv], neg(2))).toBe(
      'execve("/nonexist", ["/bin/true", "x"], 0x7ffc54c17b40 /* 2 vars */) = -1 ENOENT (No such file or directory)',
    );
  });

  it('fcntl decodes its argument and F_GETFL result', () => {
    const mem = new FakeMemory();
    expect(call(mem, 'fcntl', [4n, 3n, 0n], 0x800n)).toBe('fcntl(4, F_GETFL) = 0x800 (flags O_RDONLY|O_NONBLOCK)');
    expect(call(mem, 'fcntl', [4n, 2n, 1n], 0n)).toBe('fcntl(4, F_SETFD, FD_CLOEXEC) = 0');
    expect(call(mem, 'fcntl', [4n, 1030n, 20n], 20n)).toBe('fcntl(4, F_DUPFD_CLOEXEC, 20) = 20');
    expect(call(mem, 'fcntl', [4n, 4n, 0o6000n], 0n)).toBe('fcntl(4, F_SETFL, O_RDONLY|O_APPEND|O_NONBLOCK) = 0');
  });

  it('umask returns octal, lseek names whence', () => {
    const mem = new FakeMemory();
    expect(call(mem, 'umask', [0o22n], 0o22n)).toBe('umask(022) = 022');
    expect(call(mem, 'lseek', [3n, 0n, 0n], 0n)).toBe('lseek(3, 0, SEEK_SET) = 0');
  });
});

describe('memory and process calls', () => {
  it('mmap with PROT/MAP flags returns a hex address', () => {
    const mem = new FakeMemory();
    expect(call(mem, 'mmap', [0n, 8192n, 3n, 0x22n, BigInt.asUintN(64, -1n), 0n], 0x7f12b509d000n)).toBe(
      'mmap(NULL, 8192, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7f12b509d000',
    );
    expect(call(mem, 'mmap', [0x10000n, 4096n, 5n, 0x20032n, BigInt.asUintN(64, -1n), 0n], 0x10000n)).toBe(
      'mmap(0x10000, 4096, PROT_READ|PROT_EXEC, MAP_PRIVATE|MAP_FIXED|MAP_ANONYMOUS|MAP_STACK, -1, 0) = 0x10000',
    );
    expect(call(mem, 'mmap', [0n, 4096n, 0x10n, 0x40000001n, 99n, 0n], neg(9))).toBe(
      'mmap(NULL, 4096, 0x10 /* PROT_??? */, MAP_SHARED|16<<MAP_HUGE_SHIFT, 99, 0) = -1 EBADF (Bad file descriptor)',
    );
    expect(call(mem, 'mprotect', [0x7f12b509d000n, 4096n, 0n], 0n)).toBe('mprotect(0x7f12b509d000, 4096, PROT_NONE) = 0');
  });

  it('clone flags end with the exit signal', () => {
    const mem = new FakeMemory();
    const fork = 0x1200000n | 17n;
    expect(call(mem, 'clone', [fork, 0n, 0n, 0x7fc67541ba10n, 0n], 21345n)).toBe(
      'clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD, child_tidptr=0x7fc67541ba10) = 21345',
    );
    expect(call(mem, 'clone', [0x4100n | 17n, 0n, 0n, 0n, 0n], 7n)).toBe(
      'clone(child_stack=NULL, flags=CLONE_VM|CLONE_VFORK|SIGCHLD) = 7',
    );
    const ptid = mem.put(0x9000n, struct(4, [[0, 4, 24091]]));
    expect(call(mem, 'clone', [0x184100n | 17n, 0n, ptid, 0x9100n, 0x1234n], 24091n)).toBe(
      'clone(child_stack=NULL, flags=CLONE_VM|CLONE_VFORK|CLONE_SETTLS|CLONE_PARENT_SETTID|SIGCHLD, parent_tid=[24091], tls=0x1234) = 24091',
    );
  });

  it('exit_group does not return', () => {
    const mem = new FakeMemory();
    const nr = NR.exit_group ?? -1;
    expect(formatNoReturn(decodeEntry(nr, [0n], mem))).toBe('exit_group(0) = ?');
  });

  it('wait4 decodes the status', () => {
    const mem = new FakeMemory();
    const st = mem.put(0xa000n, struct(4, [[0, 4, 3 << 8]]));
    expect(call(mem, 'wait4', [21345n, st, 0n, 0n], 21345n)).toBe(
      'wait4(21345, [{WIFEXITED(s) && WEXITSTATUS(s) == 3}], 0, NULL) = 21345',
    );
    const killed = mem.put(0xa100n, struct(4, [[0, 4, 11]]));
    expect(call(mem, 'wait4', [BigInt.asUintN(64, -1n), killed, 0x40000001n, 0n], 21347n)).toBe(
      'wait4(-1, [{WIFSIGNALED(s) && WTERMSIG(s) == SIGSEGV}], WNOHANG|__WALL, NULL) = 21347',
    );
  });

  it('futex prints the arguments its op uses', () => {
    const mem = new FakeMemory();
    expect(call(mem, 'futex', [0x7ffc54c17c30n, 129n, 1n, 0n, 0n, 0n], 0n)).toBe(
      'futex(0x7ffc54c17c30, FUTEX_WAKE_PRIVATE, 1) = 0',
    );
    expect(call(mem, 'futex', [0x7ffc54c17c30n, 0n, 1n, 0n, 0n, 0n], neg(11))).toBe(
      'futex(0x7ffc54c17c30, FUTEX_WAIT, 1, NULL) = -1 EAGAIN (Resource temporarily unavailable)',
    );
  });

  it('arch_prctl, prctl and ioctl', () => {
    const mem = new FakeMemory();
    expect(call(mem, 'arch_prctl', [0x1002n, 0x16c713c0n], 0n)).toBe('arch_prctl(ARCH_SET_FS, 0x16c713c0) = 0');
    const name = mem.put(0xb000n, cstr('busybox'));
    expect(call(mem, 'prctl', [16n, name, 0n, 0n, 0n], 0n)).toBe('prctl(PR_GET_NAME, "busybox") = 0');
    expect(call(mem, 'prctl', [1n, 9n, 0n, 0n, 0n], 0n)).toBe('prctl(PR_SET_PDEATHSIG, SIGKILL) = 0');
    expect(call(mem, 'ioctl', [1n, 0x5413n, 0x7ffc54c17e84n], neg(25))).toBe(
      'ioctl(1, TIOCGWINSZ, 0x7ffc54c17e84) = -1 ENOTTY (Inappropriate ioctl for device)',
    );
    expect(call(mem, 'ioctl', [0n, 0x1234n, 0n], neg(25))).toBe(
      'ioctl(0, _IOC(_IOC_NONE, 0x12, 0x34, 0), 0) = -1 ENOTTY (Inappropriate ioctl for device)',
    );
    const ws = mem.put(0xb100n, struct(8, [[0, 2, 24], [2, 2, 80]]));
    expect(call(mem, 'ioctl', [1n, 0x5413n, ws], 0n)).toBe(
      'ioctl(1, TIOCGWINSZ, {ws_row=24, ws_col=80, ws_xpixel=0, ws_ypixel=0}) = 0',
    );
    const tios = mem.put(0xb200n, struct(36, [[0, 4, 0o2400], [4, 4, 0o5], [8, 4, 0o277], [12, 4, 0o105073]]));
    expect(call(mem, 'ioctl', [0n, 0x5401n, tios], 0n)).toBe(
      'ioctl(0, TCGETS, {c_iflag=ICRNL|IXON, c_oflag=NL0|CR0|TAB0|BS0|VT0|FF0|OPOST|ONLCR, c_cflag=B38400|CS8|CREAD, c_lflag=ISIG|ICANON|ECHO|ECHOE|ECHOK|IEXTEN|ECHOCTL|ECHOKE, ...}) = 0',
    );
  });

  it('unknown syscall numbers print six hex arguments', () => {
    const mem = new FakeMemory();
    expect(formatExit(decodeEntry(400, [1n, 0n, 0x20n], mem), neg(38), mem)).toBe(
      'syscall_0x190(0x1, 0, 0x20, 0, 0, 0) = -1 ENOSYS (Function not implemented)',
    );
  });

  it('ERESTARTSYS prints like strace', () => {
    const mem = new FakeMemory();
    const buf = mem.put(0xc000n, new Uint8Array(16));
    expect(call(mem, 'read', [0n, buf, 16n], neg(512))).toBe(
      'read(0, 0xc000, 16) = ? ERESTARTSYS (To be restarted if SA_RESTART is set)',
    );
  });

  it('pads to strace\'s column when asked', () => {
    const mem = new FakeMemory();
    const entry = decodeEntry(NR.brk ?? -1, [0n], mem);
    expect(formatExit(entry, 0x16c71000n, mem, { column: 40 })).toBe(
      'brk(NULL)                               = 0x16c71000',
    );
  });
});

describe('signals', () => {
  const TERM_RT2_LO = 1 << 14;
  const TERM_RT2_HI = 1 << 1;

  it('rt_sigaction with a handler, and the old action at exit', () => {
    const mem = new FakeMemory();
    const act = mem.put(
      0xd000n,
      struct(32, [[0, 8, 0x55af6841f4b9n], [8, 8, 0x14000000n], [16, 8, 0x7f12b4ef0050n], [24, 4, TERM_RT2_LO], [28, 4, TERM_RT2_HI]]),
    );
    expect(call(mem, 'rt_sigaction', [10n, act, 0n, 8n], 0n)).toBe(
      'rt_sigaction(SIGUSR1, {sa_handler=0x55af6841f4b9, sa_mask=[TERM RT_2], sa_flags=SA_RESTORER|SA_RESTART, sa_restorer=0x7f12b4ef0050}, NULL, 8) = 0',
    );
    const ign = mem.put(
      0xd100n,
      struct(32, [[0, 8, 1n], [8, 8, 0x14000000n], [16, 8, 0x7f12b4ef0050n], [24, 4, TERM_RT2_LO], [28, 4, TERM_RT2_HI]]),
    );
    const old = mem.put(0xd200n, struct(32, []));
    expect(call(mem, 'rt_sigaction', [13n, ign, old, 8n], 0n)).toBe(
      'rt_sigaction(SIGPIPE, {sa_handler=SIG_IGN, sa_mask=[TERM RT_2], sa_flags=SA_RESTORER|SA_RESTART, sa_restorer=0x7f12b4ef0050}, {sa_handler=SIG_DFL, sa_mask=[], sa_flags=0}, 8) = 0',
    );
  });

  it('rt_sigprocmask prints sets, and complements when most signals are in them', () => {
    const mem = new FakeMemory();
    const all = mem.put(0xe000n, struct(8, [[0, 4, 0x7ffffffd], [4, 4, 0xfffffffe]]));
    const old = mem.put(0xe100n, struct(8, [[0, 4, (1 << 1) | (1 << 14)]]));
    expect(call(mem, 'rt_sigprocmask', [2n, all, old, 8n], 0n)).toBe(
      'rt_sigprocmask(SIG_SETMASK, ~[INT RTMIN RT_1], [INT TERM], 8) = 0',
    );
  });

  it('kill names the signal', () => {
    const mem = new FakeMemory();
    expect(call(mem, 'kill', [21344n, 34n], 0n)).toBe('kill(21344, SIGRT_2) = 0');
    expect(call(mem, 'kill', [21344n, 99n], neg(22))).toBe('kill(21344, 99) = -1 EINVAL (Invalid argument)');
  });

  it('signal delivery lines', () => {
    expect(formatSignal({ signo: 11, code: 1, addr: 0n })).toBe(
      '--- SIGSEGV {si_signo=SIGSEGV, si_code=SEGV_MAPERR, si_addr=NULL} ---',
    );
    expect(formatSignal({ signo: 11, code: 0x80, addr: 0n })).toBe(
      '--- SIGSEGV {si_signo=SIGSEGV, si_code=SI_KERNEL, si_addr=NULL} ---',
    );
    expect(formatSignal({ signo: 10, code: 0, pid: 21344, uid: 0 })).toBe(
      '--- SIGUSR1 {si_signo=SIGUSR1, si_code=SI_USER, si_pid=21344, si_uid=0} ---',
    );
    expect(formatSignal({ signo: 17, code: 1, pid: 21345, uid: 0, status: 3 })).toBe(
      '--- SIGCHLD {si_signo=SIGCHLD, si_code=CLD_EXITED, si_pid=21345, si_uid=0, si_status=3, si_utime=0, si_stime=0} ---',
    );
    expect(formatSignal({ signo: 17, code: 2, pid: 21347, uid: 0, status: 11 })).toBe(
      '--- SIGCHLD {si_signo=SIGCHLD, si_code=CLD_KILLED, si_pid=21347, si_uid=0, si_status=SIGSEGV, si_utime=0, si_stime=0} ---',
    );
  });

  it('exit lines', () => {
    expect(formatExitStatus('exited', 0)).toBe('+++ exited with 0 +++');
    expect(formatExitStatus('exited', 3)).toBe('+++ exited with 3 +++');
    expect(formatExitStatus('killed', 11)).toBe('+++ killed by SIGSEGV +++');
    expect(formatExitStatus('killed', 11, true)).toBe('+++ killed by SIGSEGV (core dumped) +++');
  });
});

describe('strace -c summary', () => {
  it('prints the table strace printed for busybox ls', () => {
    const s = new SyscallSummary();
    const rec = (name: string, micros: readonly number[], errors = 0): void => {
      micros.forEach((us, i) => s.record(NR[name] ?? -1, i < errors ? neg(2) : 0n, us * 1000));
    };
    rec('execve', [932]);
    rec('newfstatat', [33, 33, 32], 1);
    rec('readlink', [49]);
    rec('write', [20, 19]);
    rec('brk', [6, 6, 6, 6, 5]);
    rec('mprotect', [15]);
    rec('ioctl', [5, 5, 5], 3);
    rec('prctl', [6]);
    rec('prlimit64', [6]);
    rec('getrandom', [5]);
    rec('getuid', [4]);
    rec('arch_prctl', [4]);
    rec('set_tid_address', [4]);
    rec('set_robust_list', [4]);
    rec('rseq', [4]);
    expect(s.format()).toBe(
      [
        '% time     seconds  usecs/call     calls    errors syscall',
        '------ ----------- ----------- --------- --------- ----------------',
        ' 76.77    0.000932         932         1           execve',
        '  8.07    0.000098          32         3         1 newfstatat',
        '  4.04    0.000049          49         1           readlink',
        '  3.21    0.000039          19         2           write',
        '  2.39    0.000029           5         5           brk',
        '  1.24    0.000015          15         1           mprotect',
        '  1.24    0.000015           5         3         3 ioctl',
        '  0.49    0.000006           6         1           prctl',
        '  0.49    0.000006           6         1           prlimit64',
        '  0.41    0.000005           5         1           getrandom',
        '  0.33    0.000004           4         1           getuid',
        '  0.33    0.000004           4         1           arch_prctl',
        '  0.33    0.000004           4         1           set_tid_address',
        '  0.33    0.000004           4         1           set_robust_list',
        '  0.33    0.000004           4         1           rseq',
        '------ ----------- ----------- --------- --------- ----------------',
        '100.00    0.001214          50        24         4 total',
      ].join('\n'),
    );
  });

  it('widens the name column for long names', () => {
    const s = new SyscallSummary();
    s.record(NR.set_mempolicy_home_node ?? -1, 0n, 1000);
    const lines = s.format().split('\n');
    expect(lines[1]?.endsWith(` ${'-'.repeat('set_mempolicy_home_node'.length + 1)}`)).toBe(true);
    expect(lines[2]).toBe('100.00    0.000001           1         1           set_mempolicy_home_node');
  });
});
