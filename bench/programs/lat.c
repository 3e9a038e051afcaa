/*
 * lat: lmbench-style latency microbenchmarks for nommu.
 *
 *   lat <benchmark> <iterations> [hello-path]
 *
 * Runs <iterations> operations of <benchmark> between two
 * clock_gettime(CLOCK_MONOTONIC) calls (after an untimed warm-up of a fifth as many) and
 * prints one number on stdout: nanoseconds per operation. Process start-up
 * and set-up (creating files, pipes, the pipe partner) are not timed.
 *
 * Benchmarks:
 *   null        syscall(SYS_getpid)      (libc's getpid() could be cached)
 *   getppid     getppid(), lmbench's null syscall: libc's wrapper, a fixed
 *               `mov $nr, %eax; syscall` site (the native backend rewrites it)
 *   read        read 1 byte from /dev/zero
 *   write       write 1 byte to /dev/null
 *   stat        stat() of a file
 *   openclose   open()+close() of a file
 *   select10    select() on 10 fds (write ends of pipes, timeout 0)
 *   select100   select() on 100 fds
 *   pipe        round trip of 1 byte between two processes (fork)
 *   vfork_exec  vfork + execve(hello) + exit + waitpid
 *   fork_exec   fork + execve(hello) + exit + waitpid
 *   vfork_sh    vfork + execve("/bin/sh -c hello") + waitpid (lmbench's fork+sh)
 *   fork_exit   fork + _exit + waitpid
 *   signal      kill(getpid(), SIGUSR1) with a handler installed
 *   vsyscall    getpid by a direct call of the vDSO's __kernel_vsyscall
 *               (found through AT_SYSINFO_EHDR); nommu's vDSO has one, Linux's
 *               x86-64 vDSO does not: then it prints "n/a" and exits 0
 *
 * The exec benchmarks run [hello-path] (default: "hello" next to this
 * program) with stdout redirected to /dev/null for the whole loop.
 */
#define _GNU_SOURCE
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/select.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static void die(const char *what) {
  fprintf(stderr, "lat: %s: %s\n", what, strerror(errno));
  exit(1);
}

static double now_ns(void) {
  struct timespec ts;
  if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0) die("clock_gettime");
  return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* ---- state shared by the benchmarks ---------------------------------- */

static int g_fd = -1;
static char g_path[PATH_MAX];
static char g_hello[PATH_MAX];
static int g_nfds;
static int g_fds[128];
static int g_maxfd;
static int g_to_child[2], g_to_parent[2];
static pid_t g_child;
static volatile sig_atomic_t g_caught;
static const void *g_vsyscall;

/* ---- one operation each ---------------------------------------------- */

static void op_null(void) { syscall(SYS_getpid); }

static void op_getppid(void) { getppid(); }

static void op_read(void) {
  char c;
  if (read(g_fd, &c, 1) != 1) die("read /dev/zero");
}

static void op_write(void) {
  char c = 0;
  if (write(g_fd, &c, 1) != 1) die("write /dev/null");
}

static void op_stat(void) {
  struct stat st;
  if (stat(g_path, &st) != 0) die("stat");
}

static void op_openclose(void) {
  int fd = open(g_path, O_RDONLY);
  if (fd < 0) die("open");
  close(fd);
}

static void op_select(void) {
  fd_set w;
  struct timeval tv = {0, 0};
  FD_ZERO(&w);
  for (int i = 0; i < g_nfds; i++) FD_SET(g_fds[i], &w);
  int n = select(g_maxfd + 1, NULL, &w, NULL, &tv);
  if (n != g_nfds) {
    if (n < 0) die("select");
    fprintf(stderr, "lat: select returned %d, expected %d\n", n, g_nfds);
    exit(1);
  }
}

static void op_pipe(void) {
  char c = 'x';
  if (write(g_to_child[1], &c, 1) != 1) die("pipe write");
  if (read(g_to_parent[0], &c, 1) != 1) die("pipe read");
}

static void wait_child(pid_t pid) {
  int st;
  if (waitpid(pid, &st, 0) != pid) die("waitpid");
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
    fprintf(stderr, "lat: child status 0x%x\n", st);
    exit(1);
  }
}

static void op_vfork_exec(void) {
  char *argv[] = {g_hello, NULL};
  pid_t pid = vfork();
  if (pid < 0) die("vfork");
  if (pid == 0) {
    execve(g_hello, argv, environ);
    _exit(127);
  }
  wait_child(pid);
}

static void op_fork_exec(void) {
  char *argv[] = {g_hello, NULL};
  pid_t pid = fork();
  if (pid < 0) die("fork");
  if (pid == 0) {
    execve(g_hello, argv, environ);
    _exit(127);
  }
  wait_child(pid);
}

static void op_vfork_sh(void) {
  char *argv[] = {"sh", "-c", g_hello, NULL};
  pid_t pid = vfork();
  if (pid < 0) die("vfork");
  if (pid == 0) {
    execve("/bin/sh", argv, environ);
    _exit(127);
  }
  wait_child(pid);
}

static void op_fork_exit(void) {
  pid_t pid = fork();
  if (pid < 0) die("fork");
  if (pid == 0) _exit(0);
  wait_child(pid);
}

static void on_usr1(int sig) {
  (void)sig;
  g_caught++;
}

static void op_signal(void) {
  kill(getpid(), SIGUSR1);
}

/* nommu's entry convention: rax = number, rcx = return address, jmp (not
 * call); it returns with jmp *%rcx, result in rax, rcx and r11 clobbered. */
static long direct_getpid(void) {
  long ret;
  __asm__ volatile("lea 1f(%%rip), %%rcx\n\t"
                   "jmp *%[entry]\n"
                   "1:"
                   : "=a"(ret)
                   : [entry] "r"(g_vsyscall), "0"((long)SYS_getpid)
                   : "rcx", "r11", "memory", "cc");
  return ret;
}

static void op_vsyscall(void) { direct_getpid(); }

/* ---- set-up and tear-down -------------------------------------------- */

/* Number of dynamic symbols: nchain of DT_HASH, else one past the highest
 * index reachable through DT_GNU_HASH's buckets and chains. */
static size_t vdso_nsyms(const uint32_t *hash, const uint32_t *gnu) {
  if (hash) return hash[1];
  uint32_t nbuckets = gnu[0], symoffset = gnu[1], bloom_words = gnu[2];
  const uint32_t *buckets = gnu + 4 + 2 * bloom_words; /* 64-bit bloom words */
  const uint32_t *chain = buckets + nbuckets;
  uint32_t last = 0;
  for (uint32_t i = 0; i < nbuckets; i++)
    if (buckets[i] > last) last = buckets[i];
  if (last < symoffset) return symoffset;
  while (!(chain[last - symoffset] & 1)) last++;
  return (size_t)last + 1;
}

/* __kernel_vsyscall in the vDSO's dynamic symbol table, or NULL. */
static const void *find_vsyscall(void) {
  const unsigned char *base = (const unsigned char *)getauxval(AT_SYSINFO_EHDR);
  if (!base) return NULL;
  const Elf64_Ehdr *eh = (const Elf64_Ehdr *)base;
  if (memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0 || eh->e_ident[EI_CLASS] != ELFCLASS64) return NULL;
  const Elf64_Phdr *ph = (const Elf64_Phdr *)(base + eh->e_phoff);
  uintptr_t bias = 0;
  const Elf64_Phdr *dynph = NULL;
  int loaded = 0;
  for (int i = 0; i < eh->e_phnum; i++) {
    if (ph[i].p_type == PT_LOAD && !loaded) {
      bias = (uintptr_t)base + ph[i].p_offset - ph[i].p_vaddr;
      loaded = 1;
    } else if (ph[i].p_type == PT_DYNAMIC) {
      dynph = &ph[i];
    }
  }
  if (!loaded || !dynph) return NULL;
  const Elf64_Sym *symtab = NULL;
  const char *strtab = NULL;
  const uint32_t *hash = NULL, *gnu = NULL;
  for (const Elf64_Dyn *d = (const Elf64_Dyn *)(bias + dynph->p_vaddr); d->d_tag != DT_NULL; d++) {
    if (d->d_tag == DT_SYMTAB) symtab = (const Elf64_Sym *)(bias + d->d_un.d_ptr);
    else if (d->d_tag == DT_STRTAB) strtab = (const char *)(bias + d->d_un.d_ptr);
    else if (d->d_tag == DT_HASH) hash = (const uint32_t *)(bias + d->d_un.d_ptr);
    else if (d->d_tag == DT_GNU_HASH) gnu = (const uint32_t *)(bias + d->d_un.d_ptr);
  }
  if (!symtab || !strtab || (!hash && !gnu)) return NULL;
  size_t n = vdso_nsyms(hash, gnu);
  for (size_t i = 1; i < n; i++) {
    const Elf64_Sym *sym = &symtab[i];
    if (sym->st_shndx != SHN_UNDEF && sym->st_name && !strcmp(strtab + sym->st_name, "__kernel_vsyscall"))
      return (const void *)(bias + sym->st_value);
  }
  return NULL;
}

static void make_file(void) {
  const char *dir = getenv("TMPDIR");
  if (!dir || !*dir) dir = "/tmp";
  snprintf(g_path, sizeof g_path, "%s/nommu-bench-lat.%d", dir, (int)getpid());
  int fd = open(g_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) die("create temp file");
  if (write(fd, "lmbench\n", 8) != 8) die("write temp file");
  close(fd);
}

static void make_pipes(int n) {
  g_nfds = n;
  g_maxfd = 0;
  for (int i = 0; i < n; i++) {
    int p[2];
    if (pipe(p) != 0) die("pipe");
    g_fds[i] = p[1];
    if (p[1] > g_maxfd) g_maxfd = p[1];
  }
}

static void start_partner(void) {
  if (pipe(g_to_child) != 0 || pipe(g_to_parent) != 0) die("pipe");
  g_child = fork();
  if (g_child < 0) die("fork");
  if (g_child == 0) {
    char c;
    close(g_to_child[1]);
    close(g_to_parent[0]);
    for (;;) {
      ssize_t r = read(g_to_child[0], &c, 1);
      if (r <= 0) _exit(r == 0 ? 0 : 1);
      if (write(g_to_parent[1], &c, 1) != 1) _exit(1);
    }
  }
  close(g_to_child[0]);
  close(g_to_parent[1]);
}

static void hello_path(const char *self, const char *arg) {
  if (arg) {
    snprintf(g_hello, sizeof g_hello, "%s", arg);
  } else {
    const char *slash = strrchr(self, '/');
    if (slash)
      snprintf(g_hello, sizeof g_hello, "%.*shello", (int)(slash - self + 1), self);
    else
      snprintf(g_hello, sizeof g_hello, "./hello");
  }
  if (access(g_hello, X_OK) != 0) die(g_hello);
}

struct bench {
  const char *name;
  void (*op)(void);
};

static const struct bench benches[] = {
    {"null", op_null},           {"getppid", op_getppid},
    {"read", op_read},
    {"write", op_write},         {"stat", op_stat},
    {"openclose", op_openclose}, {"select10", op_select},
    {"select100", op_select},    {"pipe", op_pipe},
    {"vfork_exec", op_vfork_exec}, {"fork_exec", op_fork_exec},
    {"vfork_sh", op_vfork_sh},
    {"fork_exit", op_fork_exit}, {"signal", op_signal},
    {"vsyscall", op_vsyscall},
};

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: lat <benchmark> <iterations> [hello-path]\nbenchmarks:");
    for (size_t i = 0; i < sizeof benches / sizeof benches[0]; i++)
      fprintf(stderr, " %s", benches[i].name);
    fprintf(stderr, "\n");
    return 2;
  }
  const char *name = argv[1];
  long iters = strtol(argv[2], NULL, 10);
  if (iters < 1) iters = 1;
  const struct bench *b = NULL;
  for (size_t i = 0; i < sizeof benches / sizeof benches[0]; i++)
    if (strcmp(benches[i].name, name) == 0) b = &benches[i];
  if (!b) {
    fprintf(stderr, "lat: unknown benchmark '%s'\n", name);
    return 2;
  }

  int saved_stdout = -1;
  if (!strcmp(name, "read")) {
    if ((g_fd = open("/dev/zero", O_RDONLY)) < 0) die("open /dev/zero");
  } else if (!strcmp(name, "write")) {
    if ((g_fd = open("/dev/null", O_WRONLY)) < 0) die("open /dev/null");
  } else if (!strcmp(name, "stat") || !strcmp(name, "openclose")) {
    make_file();
  } else if (!strcmp(name, "select10")) {
    make_pipes(10);
  } else if (!strcmp(name, "select100")) {
    make_pipes(100);
  } else if (!strcmp(name, "pipe")) {
    start_partner();
  } else if (!strcmp(name, "vfork_exec") || !strcmp(name, "fork_exec") ||
             !strcmp(name, "vfork_sh")) {
    hello_path(argv[0], argc > 3 ? argv[3] : NULL);
    fflush(stdout);
    saved_stdout = dup(1);
    int devnull = open("/dev/null", O_WRONLY);
    if (saved_stdout < 0 || devnull < 0 || dup2(devnull, 1) < 0) die("redirect stdout");
    close(devnull);
  } else if (!strcmp(name, "signal")) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGUSR1, &sa, NULL) != 0) die("sigaction");
  } else if (!strcmp(name, "vsyscall")) {
    if (!(g_vsyscall = find_vsyscall())) {
      printf("n/a\n");
      return 0;
    }
    long pid = direct_getpid();
    if (pid != (long)getpid()) {
      fprintf(stderr, "lat: __kernel_vsyscall getpid returned %ld, getpid() %ld\n", pid, (long)getpid());
      return 1;
    }
  }

  /*
   * Steady state, as lmbench measures: an untimed fifth of the iterations
   * first. Under nommu the kernel's JavaScript is compiled and optimized by
   * V8 while it runs: its first ~10,000 syscalls cost several times the
   * later ones (the whole-program rows show that start-up cost).
   */
  long warm = iters / 5;
  for (long i = 0; i < warm; i++) b->op();

  double t0 = now_ns();
  for (long i = 0; i < iters; i++) b->op();
  double t1 = now_ns();

  if (saved_stdout >= 0) {
    dup2(saved_stdout, 1);
    close(saved_stdout);
  }
  if (g_path[0]) unlink(g_path);
  if (g_child > 0) {
    close(g_to_child[1]);
    int st;
    waitpid(g_child, &st, 0);
  }
  if (!strcmp(name, "signal") && g_caught != warm + iters) {
    fprintf(stderr, "lat: caught %ld signals, expected %ld\n", (long)g_caught, warm + iters);
    return 1;
  }
  printf("%.1f\n", (t1 - t0) / (double)iters);
  return 0;
}
