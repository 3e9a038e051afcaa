export const MAIN_HELP = `nommu - run x86-64 Linux programs inside Node.js, the way User-Mode Linux
without an MMU runs them: one flat address space, one CPU, every syscall through
the vDSO's __kernel_vsyscall.

Usage:
  nommu run [options] <program> [args...]   run a program
  nommu shell [options]                      an interactive busybox sh under nommu
  nommu syscalls [--format table|json|csv|markdown]
                                             the syscall support table
  nommu info [--backend NAME] [--mem SIZE] [--root DIR]
                                             versions, backend, CPU features, RAM
  nommu help [command]                       this text, or a command's
  nommu --version

Run 'nommu help run' for the run options.

nommu's own messages are coloured only on a terminal, and never when the
NO_COLOR environment variable is set (no-color.org).
`;

export const RUN_HELP = `Usage: nommu run [options] <program> [args...]

Runs <program> (a static, static-pie or dynamically linked x86-64 ELF, or a #!
script) under the nommu kernel. A program without '/' is searched on the guest
PATH. The exit status is the program's, or 128+N when signal N killed it;
126 when it cannot be executed, 127 when it is not found.

Options:
  --root DIR          host directory that is the guest's / (default /)
  --read-only         the guest cannot change anything under the root (other
                      mounts keep their own mode)
  --mount HOST:GUEST[:ro]
                      bind mount: host directory HOST is seen at GUEST (an
                      existing guest directory); :ro makes it read-only
  --tmpfs GUEST       an empty, writable filesystem at GUEST, in host memory
                      (/dev/shm), gone when nommu exits; none unless asked
  --mem SIZE          guest RAM, e.g. 512M, 2G (default 1G)
  --env NAME=VALUE    set a variable in the program's environment
  --unset-env NAME    remove a variable
  --clear-env         start from an empty environment
  --cwd DIR           guest working directory (default: the current directory)
  --argv0 NAME        argv[0] for the program (default: as given)
  --strace[=FILE]     print every syscall, strace style (to stderr or FILE)
  --strace=summary    print an strace -c style table at exit
  --strict-nommu      refuse what an MMU-less kernel refuses (fork: EINVAL) and
                      report at exit what the program did that would fail there
  --no-protections    do not enforce page protections, except PROT_NONE guard
                      pages (nommu Linux's behaviour; makes exec ~3x cheaper
                      on the unicorn backend)
  --backend NAME      CPU backend: unicorn (default; emulated, isolates the
                      guest) or native (guest code on the real CPU in a helper
                      process: near-native speed, no isolation from the host;
                      Linux x86-64 with Syscall User Dispatch, >= 5.11)
  --no-syscall-rewrite  native backend: keep trapping every syscall; by default
                      a trapped syscall site whose bytes allow it is rewritten
                      to call the kernel entry directly (faster; the guest sees
                      the rewritten bytes if it reads its own code)
  --uid N, --gid N    identity the guest sees (default 0, root); host files of
                      the user running nommu show as this identity's
  --date TIME         start the guest's clock (CLOCK_REALTIME, gettimeofday,
                      time) at TIME, an ISO 8601 date or time (2030-01-02,
                      2030-01-02T03:04:05Z) or @SECONDS since the epoch; it
                      runs on from there. The host clock is not touched, and
                      host files keep host times. Root in the guest may set
                      its clock too (date -s, clock_settime)
`;

export const SHELL_HELP = `Usage: nommu shell [options]

Starts Debian's busybox sh, interactive, under nommu, with the prompt
"[nommu] DIR $". Takes the options of 'nommu run' (--root, --mem, --strace...).
Ctrl-C goes to the shell; twice within a second stops nommu.
`;
