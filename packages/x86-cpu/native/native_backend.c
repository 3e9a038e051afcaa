/*
 * Native CPU backend, the Node side: owns the guest RAM and control memfds,
 * starts nommu-native-runner (runner.c) and drives it. run() posts a command
 * in the shared control block and waits for the runner's answer: a short spin,
 * then a futex with a timeout so a runner that died is noticed. Nothing here
 * runs guest code, installs signal handlers or changes Node's own state.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <node_api.h>
#include <signal.h>
#include <spawn.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <x86intrin.h>
#include "native_abi.h"

extern char **environ;

typedef struct {
  int ram_fd, ctl_fd;
  int sock_fd; /* our end of the socket that passes offloaded descriptors to the runner (its fd 5) */
  uint8_t *ram;
  Control *ctl;
  uint64_t ram_base, ram_size;
  uint64_t vsyscall, trap;
  pid_t pid;
  uint32_t spin_us; /* how long to spin before the futex (see spin_next) */
  int closed;
  int dead;
  int status;
} Native;

static napi_value throw_native(napi_env env, const char *code, const char *msg) {
  napi_throw_error(env, code, msg);
  return NULL;
}

static int arg_u64(napi_env env, napi_value v, uint64_t *out) {
  double d;
  if (napi_get_value_double(env, v, &d) != napi_ok || d < 0 || d > 9007199254740991.0) return 0;
  *out = (uint64_t)d;
  return 1;
}

static void reap(Native *n, int options) {
  if (n->dead || n->pid <= 0) return;
  int st;
  pid_t r = waitpid(n->pid, &st, options);
  if (r == n->pid) {
    n->dead = 1;
    n->status = st;
  }
}

/* NOMMU_NATIVE_STATS: the hand-over breakdown (see Control.stats_on), once. */
static void print_stats(Native *n) {
  Control *c = n->ctl;
  if (!c || !c->stats_on || !c->s_commands) return;
  double k = (double)c->s_commands, us = (double)tsc_per_us();
  fprintf(stderr,
          "nommu native backend: %llu commands; per command (us): Node -> runner %.2f, guest %.2f, runner -> Node %.2f, "
          "Node %.2f; sleeps: Node %llu, runner %llu; calls answered in the runner: %llu\n",
          (unsigned long long)c->s_commands, c->s_to_runner / us / k, c->s_guest / us / k, c->s_to_node / us / k,
          c->s_node / us / k, (unsigned long long)c->s_sleeps_node, (unsigned long long)c->s_sleeps_runner,
          (unsigned long long)c->s_offloaded);
  c->stats_on = 0;
}

/* Asks the runner to exit, waits up to ~100 ms for it, then kills it; always reaps it. */
static void stop_runner(Native *n) {
  if (n->pid <= 0 || n->dead) return;
  print_stats(n);
  if (n->ctl) {
    n->ctl->cmd = CMD_EXIT;
    __atomic_add_fetch(&n->ctl->req, 1, __ATOMIC_SEQ_CST);
    syscall(SYS_futex, &n->ctl->req, FUTEX_WAKE, 1, NULL, NULL, 0);
  }
  for (int i = 0; i < 100 && !n->dead; i++) {
    reap(n, WNOHANG);
    if (!n->dead) usleep(1000);
  }
  if (!n->dead) {
    kill(n->pid, SIGKILL);
    reap(n, 0);
  }
}

static void destroy(Native *n) {
  stop_runner(n);
  if (n->ram) munmap(n->ram, n->ram_size);
  if (n->ctl) munmap(n->ctl, CONTROL_SIZE);
  if (n->ram_fd >= 0) close(n->ram_fd);
  if (n->ctl_fd >= 0) close(n->ctl_fd);
  if (n->sock_fd >= 0) close(n->sock_fd);
  n->sock_fd = -1;
  n->ram = NULL;
  n->ctl = NULL;
  n->ram_fd = n->ctl_fd = -1;
}

static void native_finalize(napi_env env, void *data, void *hint) {
  (void)env; (void)hint;
  Native *n = data;
  destroy(n);
  free(n);
}

/* Waits for the runner to finish the posted command; 0 when it did, -1 when it died. */
static int wait_done(Native *n, uint32_t seq) {
  Control *c = n->ctl;
  uint32_t cpu = this_cpu();
  __atomic_store_n(&c->node_cpu, cpu, __ATOMIC_RELAXED);
  uint64_t per_us = tsc_per_us(), t0 = __rdtsc();
  uint64_t limit = cpu != ~0u && __atomic_load_n(&c->runner_cpu, __ATOMIC_RELAXED) == cpu ? t0 : t0 + n->spin_us * per_us;
  int rc = 0;
  while (__rdtsc() < limit) {
    if (__atomic_load_n(&c->done, __ATOMIC_ACQUIRE) == seq) goto out;
    _mm_pause();
  }
  for (;;) {
    __atomic_store_n(&c->node_sleeping, 1, __ATOMIC_SEQ_CST);
    uint32_t v = __atomic_load_n(&c->done, __ATOMIC_SEQ_CST);
    if (v == seq) break;
    struct timespec ts = {0, 50 * 1000 * 1000};
    syscall(SYS_futex, &c->done, FUTEX_WAIT, v, &ts, NULL, 0);
    if (c->stats_on) c->s_sleeps_node++;
    if (__atomic_load_n(&c->done, __ATOMIC_ACQUIRE) == seq) break;
    reap(n, WNOHANG);
    if (n->dead) {
      rc = -1;
      break;
    }
  }
  __atomic_store_n(&c->node_sleeping, 0, __ATOMIC_RELAXED);
out:
  n->spin_us = spin_next(n->spin_us, (__rdtsc() - t0) / per_us);
  return rc;
}

static int post(Native *n, uint32_t cmd) {
  if (n->dead) return -1;
  Control *c = n->ctl;
  c->cmd = cmd;
  if (c->stats_on) {
    c->t_post = __rdtsc();
    if (c->t_back) c->s_node += c->t_post - c->t_back;
  }
  uint32_t seq = __atomic_add_fetch(&c->req, 1, __ATOMIC_SEQ_CST);
  if (__atomic_load_n(&c->runner_sleeping, __ATOMIC_SEQ_CST)) syscall(SYS_futex, &c->req, FUTEX_WAKE, 1, NULL, NULL, 0);
  int rc = wait_done(n, seq);
  if (c->stats_on && rc == 0) {
    c->t_back = __rdtsc();
    c->s_to_node += c->t_back - c->t_done;
    c->s_commands++;
  }
  return rc;
}


static napi_value runner_died(napi_env env, Native *n) {
  char msg[160];
  if (WIFSIGNALED(n->status))
    snprintf(msg, sizeof msg, "the native runner process died of signal %d", WTERMSIG(n->status));
  else
    snprintf(msg, sizeof msg, "the native runner process exited with status %d", WEXITSTATUS(n->status));
  return throw_native(env, "NOMMU_BACKEND_DIED", msg);
}

static Native *unwrap(napi_env env, napi_value v) {
  void *data = NULL;
  if (napi_get_value_external(env, v, &data) != napi_ok || !data) {
    napi_throw_type_error(env, "NOMMU_BAD_ARGUMENT", "not a native backend handle");
    return NULL;
  }
  Native *n = data;
  if (!n->ctl || n->closed) {
    napi_throw_error(env, "NOMMU_DISPOSED", "the native CPU backend was disposed");
    return NULL;
  }
  return n;
}

/*
 * Lowers by 10 nice levels every thread of this process but the caller (V8's
 * and libuv's helpers): on few cores they would otherwise preempt the side of
 * the hand-over that spins. Best effort.
 */
static void deprioritize_others(void) {
  pid_t self = (pid_t)syscall(SYS_gettid);
  DIR *d = opendir("/proc/self/task");
  if (!d) return;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    pid_t t = (pid_t)atoi(e->d_name);
    if (t <= 0 || t == self) continue;
    errno = 0;
    int nice = getpriority(PRIO_PROCESS, (id_t)t);
    if (nice == -1 && errno != 0) continue;
    setpriority(PRIO_PROCESS, (id_t)t, nice + 10 > 19 ? 19 : nice + 10);
  }
  closedir(d);
}

/* open(runnerPath, ramBase, ramSize, flags?) -> { handle, ram, state, xsaveSize, xsaveMask, mxcsrMask } */
static napi_value js_open(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  char path[4096];
  size_t plen;
  uint64_t base, size;
  if (argc < 3 || napi_get_value_string_utf8(env, argv[0], path, sizeof path, &plen) != napi_ok ||
      !arg_u64(env, argv[1], &base) || !arg_u64(env, argv[2], &size) || (base | size) & 0xfff || !size || base < 0x10000)
    return throw_native(env, "NOMMU_BAD_ARGUMENT", "open(runnerPath, ramBase, ramSize): page-aligned numbers");
  uint64_t flags = 0;
  if (argc > 3 && !arg_u64(env, argv[3], &flags)) return throw_native(env, "NOMMU_BAD_ARGUMENT", "open: flags must be a number");

  Native *n = calloc(1, sizeof *n);
  if (!n) return throw_native(env, "NOMMU_NOMEM", "out of memory");
  n->ram_fd = n->ctl_fd = n->sock_fd = -1;
  n->spin_us = SPIN_START_US;
  n->ram_base = base;
  n->ram_size = size;
  char msg[256];
  n->ram_fd = (int)syscall(SYS_memfd_create, "nommu-ram", MFD_CLOEXEC);
  n->ctl_fd = (int)syscall(SYS_memfd_create, "nommu-cpu", MFD_CLOEXEC);
  if (n->ram_fd < 0 || n->ctl_fd < 0 || ftruncate(n->ram_fd, (off_t)size) != 0 || ftruncate(n->ctl_fd, CONTROL_SIZE) != 0) {
    snprintf(msg, sizeof msg, "cannot create guest RAM (%llu bytes): %s", (unsigned long long)size, strerror(errno));
    goto fail;
  }
  n->ram = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, n->ram_fd, 0);
  n->ctl = mmap(NULL, CONTROL_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, n->ctl_fd, 0);
  if (n->ram == MAP_FAILED || n->ctl == MAP_FAILED) {
    if (n->ram == MAP_FAILED) n->ram = NULL;
    if (n->ctl == MAP_FAILED) n->ctl = NULL;
    snprintf(msg, sizeof msg, "cannot map guest RAM: %s", strerror(errno));
    goto fail;
  }

  int sv[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) {
    snprintf(msg, sizeof msg, "cannot create the runner's socket: %s", strerror(errno));
    goto fail;
  }
  n->sock_fd = sv[0];
  n->ctl->node_cpu = n->ctl->runner_cpu = ~0u;
  for (int i = 0; i < OFFLOAD_FDS; i++) n->ctl->off_table[i] = -1;
  if (flags & OPEN_DEPRIORITIZE_HOST_THREADS) deprioritize_others();
  const char *stats = getenv("NOMMU_NATIVE_STATS");
  n->ctl->stats_on = stats && *stats && strcmp(stats, "0") != 0;
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, n->ram_fd, 3);
  posix_spawn_file_actions_adddup2(&fa, n->ctl_fd, 4);
  posix_spawn_file_actions_adddup2(&fa, sv[1], 5);
  char b1[32], b2[32], b3[32];
  snprintf(b1, sizeof b1, "0x%llx", (unsigned long long)base);
  snprintf(b2, sizeof b2, "0x%llx", (unsigned long long)size);
  snprintf(b3, sizeof b3, "%llu", (unsigned long long)flags);
  char *args[] = {path, b1, b2, b3, NULL};
  char *envp[] = {NULL};
  int rc = posix_spawn(&n->pid, path, &fa, NULL, args, envp);
  posix_spawn_file_actions_destroy(&fa);
  close(sv[1]);
  if (rc != 0) {
    n->pid = 0;
    snprintf(msg, sizeof msg, "cannot start the native runner: %s", strerror(rc));
    goto fail;
  }
  for (;;) {
    uint32_t r = __atomic_load_n(&n->ctl->ready, __ATOMIC_ACQUIRE);
    if (r == 1) break;
    if (r == 2) {
      snprintf(msg, sizeof msg, "%.*s", (int)sizeof n->ctl->error, n->ctl->error);
      goto fail;
    }
    struct timespec ts = {0, 50 * 1000 * 1000};
    syscall(SYS_futex, &n->ctl->ready, FUTEX_WAIT, r, &ts, NULL, 0);
    reap(n, WNOHANG);
    if (n->dead && __atomic_load_n(&n->ctl->ready, __ATOMIC_ACQUIRE) != 2) {
      snprintf(msg, sizeof msg, "the native runner exited during start-up (status 0x%x)", n->status);
      goto fail;
    }
  }
  /* A freshly reset FPU: FCW 0x37f, MXCSR 0x1f80, XSTATE_BV x87|SSE. */
  GuestState *g = &n->ctl->guest;
  g->xsave[0] = 0x7f;
  g->xsave[1] = 0x03;
  g->xsave[24] = 0x80;
  g->xsave[25] = 0x1f;
  g->xsave[512] = 3;
  g->regs[R_RFLAGS] = 0x202;

  napi_value out, handle, ram_ab, state_ab, v;
  if (napi_create_object(env, &out) != napi_ok ||
      napi_create_external(env, n, native_finalize, NULL, &handle) != napi_ok) {
    destroy(n);
    free(n);
    return throw_native(env, "NOMMU_ADDON", "Node-API call failed");
  }
  napi_set_named_property(env, out, "handle", handle);
  napi_create_external_arraybuffer(env, n->ram, size, NULL, NULL, &ram_ab);
  napi_set_named_property(env, out, "ram", ram_ab);
  napi_create_external_arraybuffer(env, g, sizeof *g, NULL, NULL, &state_ab);
  napi_set_named_property(env, out, "state", state_ab);
  napi_create_uint32(env, n->ctl->xsave_size, &v);
  napi_set_named_property(env, out, "xsaveSize", v);
  napi_create_uint32(env, (uint32_t)n->ctl->xsave_mask, &v);
  napi_set_named_property(env, out, "xsaveMask", v);
  napi_create_uint32(env, n->ctl->mxcsr_mask, &v);
  napi_set_named_property(env, out, "mxcsrMask", v);
  napi_create_int32(env, n->pid, &v);
  napi_set_named_property(env, out, "pid", v);
  /* Offloaded I/O: JavaScript writes off_on, off_table and off_slots directly. */
  napi_value off_ab;
  size_t off0 = offsetof(Control, off_on);
  napi_create_external_arraybuffer(env, &n->ctl->off_on, sizeof(Control) - off0, NULL, NULL, &off_ab);
  napi_set_named_property(env, out, "offload", off_ab);
  napi_create_uint32(env, (uint32_t)(offsetof(Control, off_table) - off0), &v);
  napi_set_named_property(env, out, "offloadTable", v);
  napi_create_uint32(env, (uint32_t)(offsetof(Control, off_slots) - off0), &v);
  napi_set_named_property(env, out, "offloadSlots", v);
  napi_create_uint32(env, (uint32_t)(offsetof(Control, mm_off) - off0), &v);
  napi_set_named_property(env, out, "offloadMm", v);
  return out;

fail:
  destroy(n);
  free(n);
  return throw_native(env, "NOMMU_BACKEND_UNAVAILABLE", msg);
}

/*
 * The vDSO ends do_syscall_64 with `syscall; ret` and 14 bytes of int3 room:
 * make it `jmp +1; ret; jmp *0(%rip); .quad kcall`, so the guest enters the
 * kernel with a jump instead of a second signal. kcall is the runner's
 * nommu_native_kcall, which it publishes as the last word of the control block.
 */
static void patch_trap(Native *n) {
  uint64_t t = n->trap;
  if (t < n->ram_base || t + 17 > n->ram_base + n->ram_size) return;
  uint8_t *p = n->ram + (t - n->ram_base);
  if (p[0] != 0x0f || p[1] != 0x05 || p[2] != 0xc3) return;
  for (int i = 3; i < 17; i++)
    if (p[i] != 0xcc) return;
  uint64_t target = n->ctl->args[3];
  if (!target) return;
  p[3] = 0xff;
  p[4] = 0x25;
  memset(p + 5, 0, 4);
  memcpy(p + 9, &target, 8);
  p[0] = 0xeb;
  p[1] = 0x01;
}

static napi_value js_run(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  Native *n = argc >= 1 ? unwrap(env, argv[0]) : NULL;
  if (!n) return NULL;
  double slice = 0;
  if (argc >= 2) napi_get_value_double(env, argv[1], &slice);
  patch_trap(n);
  n->ctl->args[0] = slice > 0 ? (uint64_t)slice : 0;
  n->ctl->args[1] = n->vsyscall;
  n->ctl->args[2] = n->trap;
  if (post(n, CMD_RUN) != 0) return runner_died(env, n);
  napi_value r;
  napi_create_uint32(env, (uint32_t)n->ctl->result, &r);
  return r;
}

static napi_value js_set_kernel_entry(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  Native *n = argc >= 1 ? unwrap(env, argv[0]) : NULL;
  if (!n) return NULL;
  uint64_t v, t;
  if (argc < 3 || !arg_u64(env, argv[1], &v) || !arg_u64(env, argv[2], &t))
    return throw_native(env, "NOMMU_BAD_ARGUMENT", "setKernelEntry(vsyscall, trap)");
  n->vsyscall = v;
  n->trap = t;
  return NULL;
}

static Native *range_args(napi_env env, napi_callback_info info, uint64_t *addr, uint64_t *len, uint64_t *third) {
  size_t argc = 4;
  napi_value argv[4];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  Native *n = argc >= 1 ? unwrap(env, argv[0]) : NULL;
  if (!n) return NULL;
  if (argc < 3 || !arg_u64(env, argv[1], addr) || !arg_u64(env, argv[2], len) ||
      (third && (argc < 4 || !arg_u64(env, argv[3], third))) || *addr < n->ram_base ||
      *addr + *len > n->ram_base + n->ram_size) {
    napi_throw_range_error(env, "NOMMU_BAD_ARGUMENT", "range outside guest RAM");
    return NULL;
  }
  return n;
}

/* A full queue: an empty CMD_PROTECT, before which the runner applies every queue. 0, or -1 when the runner died. */
static int flush_queues(Native *n) {
  n->ctl->args[1] = 0;
  return post(n, CMD_PROTECT);
}

/* Queues a change for the runner's next command (see Control.prot_queue): a run of the same kind grows in place. 0, or -1 when the runner died. */
static int enqueue(Native *n, uint64_t addr, uint64_t len, uint64_t what) {
  Control *c = n->ctl;
  uint32_t k = c->nprot;
  if (k > 0 && c->prot_queue[k - 1].prot == what && c->prot_queue[k - 1].addr + c->prot_queue[k - 1].len == addr) {
    c->prot_queue[k - 1].len += len;
    return 0;
  }
  if (k == PROT_QUEUE_MAX) {
    if (flush_queues(n) != 0) return -1;
    k = c->nprot;
  }
  c->prot_queue[k].addr = addr;
  c->prot_queue[k].len = len;
  c->prot_queue[k].prot = what;
  c->nprot = k + 1;
  return 0;
}

static napi_value js_protect(napi_env env, napi_callback_info info) {
  uint64_t addr, len, prot;
  Native *n = range_args(env, info, &addr, &len, &prot);
  if (!n) return NULL;
  if ((addr | len) & 0xfff) return throw_native(env, "NOMMU_BAD_ARGUMENT", "protect: page-aligned range");
  Control *c = n->ctl;
  napi_value ok;
  if (!c->prot_failed && !n->dead) {
    if (enqueue(n, addr, len, prot & 7) != 0) return runner_died(env, n);
    napi_get_boolean(env, true, &ok);
    return ok;
  }
  n->ctl->args[0] = addr;
  n->ctl->args[1] = len;
  n->ctl->args[2] = prot & 7;
  if (post(n, CMD_PROTECT) != 0) return runner_died(env, n);
  /* ENOMEM: past the host's limit on mappings (vm.max_map_count) the runner left the range with every right: false. */
  if (n->ctl->result != 0 && n->ctl->result != -ENOMEM) return throw_native(env, "NOMMU_PROTECT", strerror(-n->ctl->result));
  napi_get_boolean(env, n->ctl->result == 0, &ok);
  return ok;
}

static napi_value js_prefault(napi_env env, napi_callback_info info) {
  uint64_t addr, len;
  Native *n = range_args(env, info, &addr, &len, NULL);
  if (!n) return NULL;
  if ((addr | len) & 0xfff) return throw_native(env, "NOMMU_BAD_ARGUMENT", "prefault: page-aligned range");
  if (len && !n->dead && enqueue(n, addr, len, QUEUE_PREFAULT) != 0) return runner_died(env, n);
  return NULL;
}

/*
 * dataExtents(h, addr, len): the runs of [addr, addr+len) for which the RAM
 * memfd holds data (SEEK_DATA/SEEK_HOLE: a page swapped out counts as data),
 * as [start, end, start, end, ...]; the rest are holes, which read as zeros.
 * A host error answers the whole range (every page may hold data).
 */
static napi_value js_data_extents(napi_env env, napi_callback_info info) {
  uint64_t addr, len;
  Native *n = range_args(env, info, &addr, &len, NULL);
  if (!n) return NULL;
  napi_value out;
  if (napi_create_array(env, &out) != napi_ok) return NULL;
  uint64_t off = addr - n->ram_base, end = off + len;
  uint32_t count = 0;
  while (off < end) {
    off_t data = lseek(n->ram_fd, (off_t)off, SEEK_DATA);
    off_t hole = data < 0 ? -1 : lseek(n->ram_fd, data, SEEK_HOLE);
    if (data < 0 && errno == ENXIO) break; /* holes up to the end of the memfd */
    uint64_t from = off, to = end;
    if (data >= 0 && hole >= 0) {
      if ((uint64_t)data >= end) break;
      from = (uint64_t)data;
      to = (uint64_t)hole < end ? (uint64_t)hole : end;
    }
    napi_value a, b;
    if (napi_create_double(env, (double)(n->ram_base + from), &a) != napi_ok ||
        napi_create_double(env, (double)(n->ram_base + to), &b) != napi_ok ||
        napi_set_element(env, out, count++, a) != napi_ok || napi_set_element(env, out, count++, b) != napi_ok)
      return NULL;
    off = to;
  }
  return out;
}

static napi_value js_zero(napi_env env, napi_callback_info info) {
  uint64_t addr, len;
  Native *n = range_args(env, info, &addr, &len, NULL);
  if (!n) return NULL;
  uint64_t off = addr - n->ram_base, end = off + len;
  uint64_t first = (off + 4095) & ~4095ull, last = end & ~4095ull;
  if (first < last) {
    memset(n->ram + off, 0, first - off);
    /* Punching the hole gives the pages back to the host (both mappings see zeros). */
    if (fallocate(n->ram_fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)first, (off_t)(last - first)) != 0)
      memset(n->ram + first, 0, last - first);
    memset(n->ram + last, 0, end - last);
  } else {
    memset(n->ram + off, 0, len);
  }
  return NULL;
}

/*
 * readFile(h, fd, pos, addr, len): copies len bytes of host file fd from
 * offset pos into RAM at addr inside the host kernel (sendfile into the RAM
 * memfd): no page fault in this process's mapping per page, and no zeroing
 * of pages about to be overwritten (an exec's image: 1.9 MB of busybox in
 * ~0.4 ms instead of ~1.2 ms read() into fresh RAM here). The bytes copied,
 * fewer at the end of the file; -1 when the host refused before any.
 */
static napi_value js_read_file(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  Native *n = argc == 5 ? unwrap(env, argv[0]) : NULL;
  if (!n) return NULL;
  int32_t fd;
  uint64_t pos, addr, len;
  if (napi_get_value_int32(env, argv[1], &fd) != napi_ok || !arg_u64(env, argv[2], &pos) || !arg_u64(env, argv[3], &addr) ||
      !arg_u64(env, argv[4], &len) || addr < n->ram_base || len > n->ram_size || addr - n->ram_base > n->ram_size - len ||
      pos > (uint64_t)INT64_MAX - len) {
    napi_throw_range_error(env, "NOMMU_BAD_ARGUMENT", "readFile: a descriptor, a file offset and a range inside guest RAM");
    return NULL;
  }
  off_t in = (off_t)pos;
  uint64_t done = 0;
  int failed = 0;
  while (done < len) {
    if (lseek(n->ram_fd, (off_t)(addr - n->ram_base + done), SEEK_SET) < 0) {
      failed = 1;
      break;
    }
    ssize_t k = sendfile(n->ram_fd, fd, &in, len - done > 0x7ffff000ull ? 0x7ffff000ull : len - done);
    if (k < 0 && errno == EINTR) continue;
    if (k < 0) failed = 1;
    if (k <= 0) break;
    done += (uint64_t)k;
  }
  napi_value v;
  napi_create_double(env, failed && done == 0 ? -1 : (double)done, &v);
  return v;
}

/* Queues an offload slot change for the runner's next command; 0, or -1 when the runner died. */
static int offload_enqueue(Native *n, uint32_t op, uint32_t slot) {
  Control *c = n->ctl;
  if (c->off_nqueue == OFFLOAD_QUEUE_MAX && flush_queues(n) != 0) return -1;
  c->off_queue[c->off_nqueue].op = op;
  c->off_queue[c->off_nqueue].slot = slot;
  c->off_nqueue++;
  return 0;
}

static Native *slot_args(napi_env env, napi_callback_info info, uint32_t *slot, int32_t *fd) {
  size_t argc = 3;
  napi_value argv[3];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  Native *n = argc >= 1 ? unwrap(env, argv[0]) : NULL;
  if (!n) return NULL;
  if (argc < 2 || napi_get_value_uint32(env, argv[1], slot) != napi_ok || *slot >= OFFLOAD_SLOTS ||
      (fd && (argc < 3 || napi_get_value_int32(env, argv[2], fd) != napi_ok || *fd < 0))) {
    napi_throw_range_error(env, "NOMMU_BAD_ARGUMENT", "offload: a slot below 256 (and a host descriptor)");
    return NULL;
  }
  return n;
}

/* attachOffload(h, slot, hostFd) -> bool: passes the runner its own copy of hostFd for `slot`. */
static napi_value js_attach_offload(napi_env env, napi_callback_info info) {
  uint32_t slot;
  int32_t fd;
  Native *n = slot_args(env, info, &slot, &fd);
  if (!n) return NULL;
  int ok = 0;
  if (!n->dead && n->sock_fd >= 0) {
    char byte = 0;
    struct iovec iov = {&byte, 1};
    union {
      struct cmsghdr h;
      char buf[CMSG_SPACE(sizeof(int))];
    } u;
    memset(&u, 0, sizeof u);
    struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf};
    struct cmsghdr *c = CMSG_FIRSTHDR(&m);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &fd, sizeof fd);
    ssize_t r;
    do r = sendmsg(n->sock_fd, &m, MSG_NOSIGNAL | MSG_DONTWAIT);
    while (r < 0 && errno == EINTR);
    /* Not sent (a bad descriptor, the socket full): the file stays the kernel's. */
    if (r == 1) {
      if (offload_enqueue(n, OFFLOAD_ATTACH, slot) != 0) return runner_died(env, n);
      ok = 1;
    }
  }
  napi_value v;
  napi_get_boolean(env, ok, &v);
  return v;
}

/* detachOffload(h, slot): the runner closes its copy before its next command. */
static napi_value js_detach_offload(napi_env env, napi_callback_info info) {
  uint32_t slot;
  Native *n = slot_args(env, info, &slot, NULL);
  if (!n) return NULL;
  n->ctl->off_slots[slot].mode = 0;
  if (!n->dead && offload_enqueue(n, OFFLOAD_DETACH, slot) != 0) return runner_died(env, n);
  return NULL;
}

static napi_value js_resident(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  Native *n = argc >= 1 ? unwrap(env, argv[0]) : NULL;
  if (!n) return NULL;
  struct stat st;
  double bytes = fstat(n->ram_fd, &st) == 0 ? (double)st.st_blocks * 512 : 0;
  napi_value r;
  napi_create_double(env, bytes, &r);
  return r;
}

static napi_value js_close(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  void *data = NULL;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 ||
      napi_get_value_external(env, argv[0], &data) != napi_ok || !data)
    return NULL;
  Native *n = data;
  /* Stop the runner now; the mappings go with the handle (JavaScript may still hold views). */
  stop_runner(n);
  n->dead = 1;
  n->closed = 1;
  return NULL;
}

static napi_value js_read_tsc(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value r;
  napi_create_bigint_uint64(env, __rdtsc(), &r);
  return r;
}

NAPI_MODULE_INIT() {
  napi_property_descriptor props[] = {
      {"open", NULL, js_open, NULL, NULL, NULL, napi_default, NULL},
      {"close", NULL, js_close, NULL, NULL, NULL, napi_default, NULL},
      {"run", NULL, js_run, NULL, NULL, NULL, napi_default, NULL},
      {"setKernelEntry", NULL, js_set_kernel_entry, NULL, NULL, NULL, napi_default, NULL},
      {"protect", NULL, js_protect, NULL, NULL, NULL, napi_default, NULL},
      {"prefault", NULL, js_prefault, NULL, NULL, NULL, napi_default, NULL},
      {"zero", NULL, js_zero, NULL, NULL, NULL, napi_default, NULL},
      {"readFile", NULL, js_read_file, NULL, NULL, NULL, napi_default, NULL},
      {"dataExtents", NULL, js_data_extents, NULL, NULL, NULL, napi_default, NULL},
      {"residentBytes", NULL, js_resident, NULL, NULL, NULL, napi_default, NULL},
      {"readTsc", NULL, js_read_tsc, NULL, NULL, NULL, napi_default, NULL},
      {"attachOffload", NULL, js_attach_offload, NULL, NULL, NULL, napi_default, NULL},
      {"detachOffload", NULL, js_detach_offload, NULL, NULL, NULL, napi_default, NULL},
  };
  if (napi_define_properties(env, exports, sizeof props / sizeof props[0], props) != napi_ok) return NULL;
  return exports;
}
