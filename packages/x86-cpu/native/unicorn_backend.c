/*
 * Unicorn CPU backend for nommu: a Node-API addon over Debian's libunicorn 2.0.1.
 *
 * The addon owns guest RAM (an anonymous MAP_NORESERVE mapping handed to
 * uc_mem_map_ptr and shown to JavaScript as an external ArrayBuffer), applies the
 * hardware semantics of `syscall` in C (rcx = next rip, r11 = rflags, continue at
 * __kernel_vsyscall) and stops only when the guest reaches the kernel trap inside
 * the vDSO. Preemption is a watchdog thread that raises a flag a block hook
 * acts on (see hook_block); never `count` or `timeout`, which are 20x slower
 * (see shared/notes/unicorn.md).
 */
#include <errno.h>
#include <fcntl.h>
#include <node_api.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unicorn/unicorn.h>
#include <unistd.h>
#include <x86intrin.h>

/* Stop reasons: keep in sync with StopReason in src/backend.ts. */
enum {
  STOP_NONE = 0,
  STOP_KERNEL_CALL = 1,
  STOP_FAULT = 2,
  STOP_INVALID_INSN = 3,
  STOP_EXCEPTION = 4,
  STOP_PREEMPTED = 5,
  STOP_HALT = 6,
};

/* Guest RAM is mapped into the engine in pieces of this size (see js_new). */
#define RAM_CHUNK (16ull << 20)
#define PAGE 4096ull
/*
 * Engine regions allowed at once. Each map or unmap makes QEMU rebuild its
 * memory map and flush the whole TLB, in time that grows with the regions
 * (measured: 1.9 ms per protect at 250 regions, 9 ms at 500, 50 ms at 1000),
 * and it aborts the process at 4096 sections. Past this, a chunk whose
 * protections would split it further gives up enforcing them (every right).
 */
#define MAX_REGIONS 512

/* Access kinds for STOP_FAULT: keep in sync with FaultAccess in src/backend.ts. */
enum { ACCESS_READ = 1, ACCESS_WRITE = 2, ACCESS_FETCH = 3 };

/* Unicorn reads an x87 register as a 64-bit mantissa then a 16-bit sign+exponent. */
typedef struct { uint64_t mantissa; uint16_t exponent; uint8_t pad[6]; } Float80;

/* Register numbering of the backend interface (Reg in src/backend.ts). */
static const int kRegMap[] = {
    UC_X86_REG_RAX, UC_X86_REG_RBX, UC_X86_REG_RCX,    UC_X86_REG_RDX,
    UC_X86_REG_RSI, UC_X86_REG_RDI, UC_X86_REG_RBP,    UC_X86_REG_RSP,
    UC_X86_REG_R8,  UC_X86_REG_R9,  UC_X86_REG_R10,    UC_X86_REG_R11,
    UC_X86_REG_R12, UC_X86_REG_R13, UC_X86_REG_R14,    UC_X86_REG_R15,
    UC_X86_REG_RIP, UC_X86_REG_EFLAGS, UC_X86_REG_FS_BASE, UC_X86_REG_GS_BASE,
};
#define NREGS ((int)(sizeof(kRegMap) / sizeof(kRegMap[0])))

/* stop_info layout shared with JavaScript (BigUint64Array of 4). */
enum { SI_REASON = 0, SI_ADDRESS = 1, SI_DETAIL = 2, SI_RIP = 3, SI_LEN = 4 };

typedef struct {
  uc_engine *uc;
  uint8_t *ram;
  uint64_t ram_base;
  size_t ram_size;
  uint64_t vsyscall;
  uint64_t trap;
  uint64_t *stop_info; /* points into an ArrayBuffer owned by JS (kept by a ref) */
  napi_ref stop_info_ref;
  napi_ref ram_ref;
  int stop_reason;
  uint64_t fault_rip;

  pthread_t watchdog;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int watchdog_started;
  int watchdog_quit;
  int running;
  uint64_t run_gen;
  uint64_t deadline_ns;
  volatile int preempted;
  /* Set by the watchdog, acted on by the block hook on the engine's thread. */
  volatile int preempt_pending;

  uc_hook h_syscall, h_intr, h_mem, h_invalid, h_cpuid, h_block;
  /* CPUID answers that replace the engine's: leaf, subleaf (~0 = any), eax, ebx, ecx, edx. */
  uint32_t cpuid[64][6];
  int ncpuid;
  int disposed;
  /* Two owners: the JS wrapper and the RAM ArrayBuffer; the last one frees. */
  int owners;
  /* Where uc_context keeps QEMU's env->old_exception (-1 if not found); see reset_exception_state. */
  long old_exception_offset;
  uc_context *scratch;
  /* Protection of each page of RAM; engine regions are exactly its runs of equal bytes within a chunk. */
  uint8_t *perms;
  uint32_t nregions;
} Backend;

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* ---- hooks (run on the engine's thread, inside uc_emu_start) ---- */

static void hook_syscall(uc_engine *uc, void *user) {
  Backend *b = user;
  uint64_t rip, rflags;
  uc_reg_read(uc, UC_X86_REG_RIP, &rip);
  if (rip == b->trap) {
    b->stop_reason = STOP_KERNEL_CALL;
    uc_emu_stop(uc);
    return;
  }
  /* What the CPU does for `syscall`; then Unicorn adds the insn length (2). */
  uint64_t next = rip + 2;
  uc_reg_read(uc, UC_X86_REG_EFLAGS, &rflags);
  uc_reg_write(uc, UC_X86_REG_RCX, &next);
  uc_reg_write(uc, UC_X86_REG_R11, &rflags);
  uint64_t target = b->vsyscall - 2;
  uc_reg_write(uc, UC_X86_REG_RIP, &target);
}

static void hook_intr(uc_engine *uc, uint32_t intno, void *user) {
  Backend *b = user;
  b->stop_reason = STOP_EXCEPTION;
  b->stop_info[SI_DETAIL] = intno;
  b->stop_info[SI_ADDRESS] = 0;
  uc_emu_stop(uc);
}

static bool hook_mem_invalid(uc_engine *uc, uc_mem_type type, uint64_t address,
                             int size, int64_t value, void *user) {
  (void)size; (void)value;
  Backend *b = user;
  int access = ACCESS_READ;
  switch (type) {
    case UC_MEM_WRITE_UNMAPPED: case UC_MEM_WRITE_PROT: access = ACCESS_WRITE; break;
    case UC_MEM_FETCH_UNMAPPED: case UC_MEM_FETCH_PROT: access = ACCESS_FETCH; break;
    default: access = ACCESS_READ; break;
  }
  int prot = type == UC_MEM_WRITE_PROT || type == UC_MEM_READ_PROT || type == UC_MEM_FETCH_PROT;
  b->stop_reason = STOP_FAULT;
  uc_reg_read(uc, UC_X86_REG_RIP, &b->fault_rip);
  b->stop_info[SI_ADDRESS] = address;
  b->stop_info[SI_DETAIL] = (uint64_t)access | ((uint64_t)prot << 8);
  return false;
}

static bool hook_insn_invalid(uc_engine *uc, void *user) {
  Backend *b = user;
  b->stop_reason = STOP_INVALID_INSN;
  uc_emu_stop(uc);
  return false;
}

/*
 * Preemption point. Unicorn 2.0.1 is not safe against uc_emu_stop from another
 * thread: a stop that lands inside a memory access helper re-executes that
 * instruction on resume (upstream issue 1355; measured: a push/pop loop gives
 * wrong sums). So the watchdog only raises a flag and the guest stops here, at
 * the start of a block, on its own thread.
 */
static void hook_block(uc_engine *uc, uint64_t address, uint32_t size, void *user) {
  (void)address; (void)size;
  Backend *b = user;
  if (b->preempt_pending) {
    b->preempt_pending = 0;
    b->preempted = 1;
    uc_emu_stop(uc);
  }
}

static int hook_cpuid(uc_engine *uc, void *user) {
  Backend *b = user;
  uint64_t rax, rcx;
  uc_reg_read(uc, UC_X86_REG_RAX, &rax);
  uc_reg_read(uc, UC_X86_REG_RCX, &rcx);
  for (int i = 0; i < b->ncpuid; i++) {
    uint32_t *e = b->cpuid[i];
    if (e[0] != (uint32_t)rax || (e[1] != 0xffffffffu && e[1] != (uint32_t)rcx)) continue;
    uint64_t v[4] = {e[2], e[3], e[4], e[5]};
    uc_reg_write(uc, UC_X86_REG_RAX, &v[0]);
    uc_reg_write(uc, UC_X86_REG_RBX, &v[1]);
    uc_reg_write(uc, UC_X86_REG_RCX, &v[2]);
    uc_reg_write(uc, UC_X86_REG_RDX, &v[3]);
    return 1;
  }
  return 0;
}

/* ---- watchdog: stops a run that outlives its time slice ---- */

static void *watchdog_main(void *arg) {
  Backend *b = arg;
  pthread_mutex_lock(&b->mu);
  for (;;) {
    while (!b->watchdog_quit && !b->running) pthread_cond_wait(&b->cv, &b->mu);
    if (b->watchdog_quit) break;
    uint64_t gen = b->run_gen;
    uint64_t deadline = b->deadline_ns;
    struct timespec ts = {(time_t)(deadline / 1000000000ull), (long)(deadline % 1000000000ull)};
    while (!b->watchdog_quit && b->running && b->run_gen == gen) {
      if (pthread_cond_timedwait(&b->cv, &b->mu, &ts) == ETIMEDOUT) {
        if (b->running && b->run_gen == gen) b->preempt_pending = 1;
        break;
      }
    }
    /* Wait for this run to end before arming again. */
    while (!b->watchdog_quit && b->running && b->run_gen == gen) pthread_cond_wait(&b->cv, &b->mu);
  }
  pthread_mutex_unlock(&b->mu);
  return NULL;
}

/*
 * QEMU remembers the last exception (env->old_exception) until the guest's IDT
 * delivers it. Unicorn hands exceptions to our hook instead, so the memory
 * stays: a second divide error becomes a double fault (vector 8), a third a
 * triple fault. We find where uc_context holds that field once (diffing the
 * state around a divide error) and reset it to -1 after every exception stop.
 */
static void find_old_exception(Backend *b) {
  b->old_exception_offset = -1;
  if (uc_context_alloc(b->uc, &b->scratch) != UC_ERR_OK) return;
  uc_context *before = NULL;
  if (uc_context_alloc(b->uc, &before) != UC_ERR_OK) return;
  static const uint8_t code[] = {0x31, 0xc9, 0x31, 0xd2, 0xb8, 1, 0, 0, 0, 0xf7, 0xf1, 0xf4};
  uint8_t saved[sizeof code];
  memcpy(saved, b->ram, sizeof code);
  memcpy(b->ram, code, sizeof code);
  uc_ctl_remove_cache(b->uc, b->ram_base, b->ram_base + 4096);
  uc_context_save(b->uc, before);
  uint64_t rip = b->ram_base;
  uc_reg_write(b->uc, UC_X86_REG_RIP, &rip);
  b->stop_reason = STOP_NONE;
  uc_emu_start(b->uc, rip, UINT64_MAX, 0, 0);
  if (b->stop_reason == STOP_EXCEPTION && b->stop_info[SI_DETAIL] == 0) {
    uc_context_save(b->uc, b->scratch);
    size_t size = uc_context_size(b->uc);
    const uint8_t *x = (const uint8_t *)before, *y = (const uint8_t *)b->scratch;
    for (size_t k = 0; k + 4 <= size; k += 4) {
      int32_t u, v;
      memcpy(&u, x + k, 4);
      memcpy(&v, y + k, 4);
      if (u == -1 && v == 0) {
        b->old_exception_offset = (long)k;
        break;
      }
    }
  }
  uc_context_restore(b->uc, before);
  uc_context_free(before);
  memcpy(b->ram, saved, sizeof code);
  uc_ctl_remove_cache(b->uc, b->ram_base, b->ram_base + 4096);
}

static void reset_exception_state(Backend *b) {
  if (b->old_exception_offset < 0 || !b->scratch) return;
  int32_t none = -1;
  uc_context_save(b->uc, b->scratch);
  memcpy((uint8_t *)b->scratch + b->old_exception_offset, &none, 4);
  uc_context_restore(b->uc, b->scratch);
}

/* ---- helpers ---- */

#define NAPI_CALL(env, call)                                        \
  do {                                                              \
    if ((call) != napi_ok) {                                        \
      napi_throw_error((env), "NOMMU_ADDON", "Node-API call failed: " #call); \
      return NULL;                                                  \
    }                                                               \
  } while (0)

static napi_value throw_uc(napi_env env, const char *what, uc_err err) {
  char msg[256];
  snprintf(msg, sizeof msg, "%s: %s", what, uc_strerror(err));
  napi_throw_error(env, "NOMMU_UNICORN", msg);
  return NULL;
}

static Backend *get_backend(napi_env env, napi_callback_info info, size_t *argc, napi_value *argv) {
  napi_value self;
  void *data;
  if (napi_get_cb_info(env, info, argc, argv, &self, NULL) != napi_ok) return NULL;
  if (napi_unwrap(env, self, &data) != napi_ok) {
    napi_throw_error(env, "NOMMU_ADDON", "not a backend object");
    return NULL;
  }
  Backend *b = data;
  if (b->disposed) {
    napi_throw_error(env, "NOMMU_DISPOSED", "the CPU backend was disposed");
    return NULL;
  }
  return b;
}

static int get_u64(napi_env env, napi_value v, uint64_t *out) {
  napi_valuetype t;
  napi_typeof(env, v, &t);
  if (t == napi_bigint) {
    bool lossless;
    return napi_get_value_bigint_uint64(env, v, out, &lossless) == napi_ok;
  }
  double d;
  if (napi_get_value_double(env, v, &d) != napi_ok) return 0;
  *out = (uint64_t)(int64_t)d;
  return 1;
}

/* A typed array of `type` with at least `min` elements; its data and length. */
static int typed_array(napi_env env, napi_value v, napi_typedarray_type type, size_t min, void **data, size_t *len) {
  napi_typedarray_type tt;
  size_t n;
  if (napi_get_typedarray_info(env, v, &tt, &n, data, NULL, NULL) != napi_ok || tt != type || n < min) return 0;
  if (len) *len = n;
  return 1;
}

static void backend_release(Backend *b) {
  if (b->disposed) return;
  b->disposed = 1;
  if (b->watchdog_started) {
    pthread_mutex_lock(&b->mu);
    b->watchdog_quit = 1;
    pthread_cond_broadcast(&b->cv);
    pthread_mutex_unlock(&b->mu);
    pthread_join(b->watchdog, NULL);
  }
  if (b->scratch) uc_context_free(b->scratch);
  b->scratch = NULL;
  if (b->uc) uc_close(b->uc);
  b->uc = NULL;
  /* RAM stays mapped until the ArrayBuffer that shows it is collected. */
}

static void backend_unref(Backend *b) {
  if (--b->owners == 0) {
    free(b->perms);
    free(b);
  }
}

static void ram_finalize(napi_env env, void *data, void *hint) {
  (void)env; (void)data;
  Backend *b = hint;
  /* At environment teardown this may run before the wrapper's finalizer. */
  backend_release(b);
  if (b->ram) munmap(b->ram, b->ram_size);
  b->ram = NULL;
  backend_unref(b);
}

static void backend_finalize(napi_env env, void *data, void *hint) {
  (void)hint;
  Backend *b = data;
  backend_release(b);
  if (b->stop_info_ref) napi_delete_reference(env, b->stop_info_ref);
  if (b->ram_ref) napi_delete_reference(env, b->ram_ref);
  backend_unref(b);
}

/* ---- methods ---- */

/* new UnicornBackend(ramBase: number, ramSize: number, stopInfo: BigUint64Array) */
static napi_value js_new(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3], self;
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, &self, NULL));
  if (argc < 3) {
    napi_throw_type_error(env, NULL, "UnicornBackend(ramBase, ramSize, stopInfo)");
    return NULL;
  }
  uint64_t base, size;
  if (!get_u64(env, argv[0], &base) || !get_u64(env, argv[1], &size) || (base & 0xfff) || (size & 0xfff) || size == 0) {
    napi_throw_range_error(env, NULL, "RAM base and size must be page-aligned numbers");
    return NULL;
  }
  void *si;
  if (!typed_array(env, argv[2], napi_biguint64_array, SI_LEN, &si, NULL)) {
    napi_throw_type_error(env, NULL, "stopInfo must be a BigUint64Array(4)");
    return NULL;
  }

  Backend *b = calloc(1, sizeof *b);
  if (!b) { napi_throw_error(env, "NOMMU_NOMEM", "out of memory"); return NULL; }
  b->ram_base = base;
  b->ram_size = size;
  b->stop_info = si;
  b->owners = 2;
  pthread_mutex_init(&b->mu, NULL);
  /* Deadlines are CLOCK_MONOTONIC: the condition variable must wait on that clock. */
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&b->cv, &ca);
  pthread_condattr_destroy(&ca);

  b->ram = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (b->ram == MAP_FAILED) {
    free(b);
    napi_throw_error(env, "NOMMU_NOMEM", "cannot reserve guest RAM");
    return NULL;
  }
  b->perms = malloc(size / PAGE);
  if (!b->perms) {
    munmap(b->ram, size);
    free(b);
    napi_throw_error(env, "NOMMU_NOMEM", "out of memory");
    return NULL;
  }
  memset(b->perms, UC_PROT_ALL, size / PAGE);
  uc_err err = uc_open(UC_ARCH_X86, UC_MODE_64, &b->uc);
  if (err) { munmap(b->ram, size); free(b->perms); free(b); return throw_uc(env, "uc_open", err); }
  /*
   * In chunks: a protection change unmaps and maps whole runs of pages (see
   * protect_pages), and unmapping flushes every page of a run from the TLB, so
   * runs never span more than a chunk (measured with one 1 GiB region: 50-100 ms
   * per guard page; with 16 MiB chunks ~1 ms; 4 MiB chunks make QEMU's memory-map
   * rebuilds dearer: 73 ms per vfork+exec against ~15).
   */
  for (uint64_t off = 0; off < size; off += RAM_CHUNK) {
    uint64_t len = size - off < RAM_CHUNK ? size - off : RAM_CHUNK;
    err = uc_mem_map_ptr(b->uc, base + off, len, UC_PROT_ALL, b->ram + off);
    if (err) { uc_close(b->uc); munmap(b->ram, size); free(b->perms); free(b); return throw_uc(env, "uc_mem_map_ptr", err); }
    b->nregions++;
  }

  uc_hook_add(b->uc, &b->h_syscall, UC_HOOK_INSN, (void *)hook_syscall, b, 1, 0, UC_X86_INS_SYSCALL);
  uc_hook_add(b->uc, &b->h_intr, UC_HOOK_INTR, (void *)hook_intr, b, 1, 0);
  uc_hook_add(b->uc, &b->h_mem, UC_HOOK_MEM_INVALID, (void *)hook_mem_invalid, b, 1, 0);
  uc_hook_add(b->uc, &b->h_invalid, UC_HOOK_INSN_INVALID, (void *)hook_insn_invalid, b, 1, 0);
  uc_hook_add(b->uc, &b->h_cpuid, UC_HOOK_INSN, (void *)hook_cpuid, b, 1, 0, UC_X86_INS_CPUID);
  uc_hook_add(b->uc, &b->h_block, UC_HOOK_BLOCK, (void *)hook_block, b, 1, 0);

  /* Unicorn resets the FPU wrongly (FPCW=0, MXCSR=0): give it the ABI values. */
  uint64_t fpcw = 0x37f, mxcsr = 0x1f80;
  uc_reg_write(b->uc, UC_X86_REG_FPCW, &fpcw);
  uc_reg_write(b->uc, UC_X86_REG_MXCSR, &mxcsr);
  /* CR4 as Linux sets it for user mode: OSFXSR|OSXMMEXCPT. Without OSFXSR the
   * engine's fxsave/fxrstor skip MXCSR and the XMM registers, which breaks
   * glibc's lazy-binding trampoline (_dl_runtime_resolve_fxsave). */
  uint64_t cr4 = 0;
  uc_reg_read(b->uc, UC_X86_REG_CR4, &cr4);
  cr4 |= (1u << 9) | (1u << 10);
  uc_reg_write(b->uc, UC_X86_REG_CR4, &cr4);

  find_old_exception(b);

  if (pthread_create(&b->watchdog, NULL, watchdog_main, b) == 0) b->watchdog_started = 1;

  napi_value ram;
  if (napi_create_external_arraybuffer(env, b->ram, size, ram_finalize, b, &ram) != napi_ok) {
    backend_release(b);
    munmap(b->ram, size);
    free(b->perms);
    free(b);
    napi_throw_error(env, "NOMMU_ADDON", "cannot expose guest RAM");
    return NULL;
  }
  NAPI_CALL(env, napi_create_reference(env, ram, 1, &b->ram_ref));
  NAPI_CALL(env, napi_create_reference(env, argv[2], 1, &b->stop_info_ref));
  NAPI_CALL(env, napi_wrap(env, self, b, backend_finalize, NULL, NULL));
  napi_set_named_property(env, self, "ram", ram);
  return self;
}

/* setKernelEntry(vsyscall, trap) */
static napi_value js_set_kernel_entry(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  Backend *b = get_backend(env, info, &argc, argv);
  if (!b) return NULL;
  if (argc < 2 || !get_u64(env, argv[0], &b->vsyscall) || !get_u64(env, argv[1], &b->trap)) {
    napi_throw_type_error(env, NULL, "setKernelEntry(vsyscall, trap)");
    return NULL;
  }
  return NULL;
}

static uint64_t chunk_lo(uint64_t page) {
  return page / (RAM_CHUNK / PAGE) * (RAM_CHUNK / PAGE);
}

static uint64_t chunk_hi(Backend *b, uint64_t page) {
  uint64_t hi = chunk_lo(page) + RAM_CHUNK / PAGE, end = b->ram_size / PAGE;
  return hi < end ? hi : end;
}

/* The run of pages with the protection of `page`, within its chunk: [*lo, *hi). */
static void run_of(Backend *b, uint64_t page, uint64_t *lo, uint64_t *hi) {
  uint64_t cl = chunk_lo(page), ch = chunk_hi(b, page);
  uint8_t p = b->perms[page];
  uint64_t l = page, h = page + 1;
  while (l > cl && b->perms[l - 1] == p) l--;
  while (h < ch && b->perms[h] == p) h++;
  *lo = l;
  *hi = h;
}

static uint32_t count_runs(Backend *b, uint64_t lo, uint64_t hi) {
  uint32_t n = 0;
  for (uint64_t i = lo; i < hi; i++)
    if (i == lo || b->perms[i] != b->perms[i - 1]) n++;
  return n;
}

/* Maps [lo, hi) (page numbers) as one region per run of equal protection. */
static void map_runs(Backend *b, uint64_t lo, uint64_t hi) {
  for (uint64_t i = lo; i < hi;) {
    uint64_t j = i + 1;
    while (j < hi && b->perms[j] == b->perms[i]) j++;
    uc_mem_map_ptr(b->uc, b->ram_base + i * PAGE, (j - i) * PAGE, b->perms[i], b->ram + i * PAGE);
    i = j;
  }
}

/* Unmaps the whole runs [lo, hi) and maps them again from `perms`: drops their TLB entries. */
static void remap_runs(Backend *b, uint64_t lo, uint64_t hi) {
  uc_mem_unmap(b->uc, b->ram_base + lo * PAGE, (hi - lo) * PAGE);
  map_runs(b, lo, hi);
}

/*
 * Sets the protection of pages [first, end) within one chunk, keeping one
 * region per run: the runs the change touches, and their neighbours that may
 * merge with it, are unmapped and mapped again. Unmapping drops their TLB
 * entries (see forget_rights). If the engine would hold too many regions, the
 * whole chunk gets every right instead, as one region, and 0 is returned: the
 * protections of that chunk are no longer enforced (as on nommu Linux).
 */
static int protect_pages(Backend *b, uint64_t first, uint64_t end, uint8_t prot) {
  uint64_t same = first;
  while (same < end && b->perms[same] == prot) same++;
  if (same == end) return 1;
  uint64_t cl = chunk_lo(first), ch = chunk_hi(b, first), lo, hi, tmp;
  run_of(b, first > cl ? first - 1 : first, &lo, &tmp);
  run_of(b, end < ch ? end : end - 1, &tmp, &hi);
  uint32_t before = count_runs(b, lo, hi);
  int exec_lost = 0, ok = 1;
  for (uint64_t i = first; i < end; i++) {
    if ((b->perms[i] & UC_PROT_EXEC) && !(prot & UC_PROT_EXEC)) exec_lost = 1;
    b->perms[i] = prot;
  }
  uint32_t after = count_runs(b, lo, hi);
  if (b->nregions - before + after > MAX_REGIONS) {
    before = count_runs(b, cl, ch) - after + before;
    lo = cl;
    hi = ch;
    memset(b->perms + cl, UC_PROT_ALL, ch - cl);
    after = 1;
    exec_lost = 0;
    ok = 0;
  }
  /* Code translated while the pages could run must go; this refills TLB entries that the unmap then drops. */
  if (exec_lost) uc_ctl_remove_cache(b->uc, b->ram_base + first * PAGE, b->ram_base + end * PAGE);
  remap_runs(b, lo, hi);
  b->nregions = b->nregions - before + after;
  return ok;
}

/*
 * Unicorn 2.0.1 checks a page's protection only when it fills the softmmu TLB
 * entry, and it fills entries with full rights: before the check of an access
 * that then faults, and whenever it looks a page's code up (uc_ctl_remove_cache
 * does). Once filled, loads and stores through the entry are never checked
 * again (measured: a second write to a read-only page succeeds, and a read of a
 * PROT_NONE page succeeds after its code was invalidated). Unmapping a range
 * drops its entries, so the protected parts of [start, end) are unmapped and
 * mapped back at once: same host memory, same protection. Pages with every
 * right need nothing: a full-rights entry is right for them.
 */
static void forget_rights(Backend *b, uint64_t start, uint64_t end) {
  if (start < b->ram_base) start = b->ram_base;
  if (end > b->ram_base + b->ram_size) end = b->ram_base + b->ram_size;
  for (uint64_t page = (start - b->ram_base) / PAGE; b->ram_base + page * PAGE < end;) {
    uint64_t lo, hi;
    run_of(b, page, &lo, &hi);
    if (b->perms[page] != UC_PROT_ALL) remap_runs(b, lo, hi);
    page = hi;
  }
}

/*
 * Drops translated code of [start, end). Only executable pages can have any
 * (protect_pages drops a page's code when it stops being executable), so the
 * others are skipped: looking code up refills TLB entries with full rights,
 * which forget_rights must then drop again, and fork swaps pages of writable
 * data here all the time.
 */
static void drop_code(Backend *b, uint64_t start, uint64_t end) {
  uint64_t first = (start - b->ram_base) / PAGE, last = (end - b->ram_base + PAGE - 1) / PAGE;
  int any = 0;
  for (uint64_t i = first; i < last && !any; i++) any = b->perms[i] & UC_PROT_EXEC;
  if (!any) return;
  for (uint64_t page = first; b->ram_base + page * PAGE < end;) {
    uint64_t lo, hi;
    run_of(b, page, &lo, &hi);
    if (b->perms[page] & UC_PROT_EXEC) {
      uint64_t a = b->ram_base + lo * PAGE > start ? b->ram_base + lo * PAGE : start;
      uint64_t z = b->ram_base + hi * PAGE < end ? b->ram_base + hi * PAGE : end;
      uc_ctl_remove_cache(b->uc, a, z);
      if (b->perms[page] != UC_PROT_ALL) remap_runs(b, lo, hi); /* see forget_rights */
    }
    page = hi;
  }
}

/* run(sliceMicros) -> stop reason; details in stopInfo */
static napi_value js_run(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  Backend *b = get_backend(env, info, &argc, argv);
  if (!b) return NULL;
  uint64_t slice_us = 0;
  if (argc >= 1) get_u64(env, argv[0], &slice_us);

  uint64_t rip;
  uc_reg_read(b->uc, UC_X86_REG_RIP, &rip);
  b->stop_reason = STOP_NONE;
  b->preempted = 0;
  if (slice_us && b->watchdog_started) {
    pthread_mutex_lock(&b->mu);
    b->preempt_pending = 0;
    b->run_gen++;
    b->deadline_ns = now_ns() + slice_us * 1000ull;
    b->running = 1;
    pthread_cond_broadcast(&b->cv);
    pthread_mutex_unlock(&b->mu);
  }
  uc_err err = uc_emu_start(b->uc, rip, UINT64_MAX, 0, 0);
  if (slice_us && b->watchdog_started) {
    pthread_mutex_lock(&b->mu);
    b->running = 0;
    /* A deadline that passed as the run ended on its own leaves no preemption for the next run (one
       without a slice stopped at its first block: a test failed so on a busy machine). */
    b->preempt_pending = 0;
    pthread_cond_broadcast(&b->cv);
    pthread_mutex_unlock(&b->mu);
  }

  int reason = b->stop_reason;
  if (reason == STOP_NONE) {
    if (err == UC_ERR_INSN_INVALID) {
      reason = STOP_INVALID_INSN;
    } else if (err == UC_ERR_READ_UNMAPPED || err == UC_ERR_WRITE_UNMAPPED || err == UC_ERR_FETCH_UNMAPPED ||
               err == UC_ERR_READ_PROT || err == UC_ERR_WRITE_PROT || err == UC_ERR_FETCH_PROT ||
               err == UC_ERR_FETCH_UNALIGNED || err == UC_ERR_READ_UNALIGNED || err == UC_ERR_WRITE_UNALIGNED) {
      reason = STOP_FAULT;
      b->stop_info[SI_ADDRESS] = 0;
      b->stop_info[SI_DETAIL] = err == UC_ERR_WRITE_UNMAPPED || err == UC_ERR_WRITE_PROT ? ACCESS_WRITE
                               : err == UC_ERR_FETCH_UNMAPPED || err == UC_ERR_FETCH_PROT ? ACCESS_FETCH
                                                                                         : ACCESS_READ;
    } else if (err == UC_ERR_EXCEPTION) {
      reason = STOP_EXCEPTION;
      b->stop_info[SI_DETAIL] = 13;
    } else if (err != UC_ERR_OK) {
      return throw_uc(env, "uc_emu_start", err);
    } else if (b->preempted) {
      reason = STOP_PREEMPTED;
    } else {
      reason = STOP_HALT;
    }
  }
  if (reason == STOP_EXCEPTION || reason == STOP_INVALID_INSN) reset_exception_state(b);
  if (b->stop_reason == STOP_FAULT) {
    /* The engine's rip after a failed access is its block start; the hook saw the instruction. */
    uc_reg_write(b->uc, UC_X86_REG_RIP, &b->fault_rip);
    if (b->stop_info[SI_DETAIL] & 0x100) {
      uint64_t page = b->stop_info[SI_ADDRESS] & ~(uint64_t)0xfff;
      forget_rights(b, page, page + 4096);
    }
  }
  uc_reg_read(b->uc, UC_X86_REG_RIP, &b->stop_info[SI_RIP]);
  b->stop_info[SI_REASON] = (uint64_t)reason;
  napi_value out;
  napi_create_int32(env, reason, &out);
  return out;
}

/* getRegs(out: BigUint64Array(NREGS)) */
static napi_value js_get_regs(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  Backend *b = get_backend(env, info, &argc, argv);
  if (!b) return NULL;
  void *data;
  if (argc < 1 || !typed_array(env, argv[0], napi_biguint64_array, NREGS, &data, NULL)) {
    napi_throw_type_error(env, NULL, "getRegs(BigUint64Array(20))");
    return NULL;
  }
  uint64_t *out = data;
  void *ptrs[NREGS];
  for (int i = 0; i < NREGS; i++) ptrs[i] = &out[i];
  uc_reg_read_batch(b->uc, (int *)kRegMap, ptrs, NREGS);
  return NULL;
}

/* setRegs(in: BigUint64Array(NREGS)) */
static napi_value js_set_regs(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  Backend *b = get_backend(env, info, &argc, argv);
  if (!b) return NULL;
  void *data;
  if (argc < 1 || !typed_array(env, argv[0], napi_biguint64_array, NREGS, &data, NULL)) {
    napi_throw_type_error(env, NULL, "setRegs(BigUint64Array(20))");
    return NULL;
  }
  uint64_t *in = data;
  /* FS/GS base last: writing them is only meaningful in 64-bit mode, which holds. */
  for (int i = 0; i < NREGS; i++) uc_reg_write(b->uc, kRegMap[i], &in[i]);
  return NULL;
}

/* getReg(id) -> bigint */
static napi_value js_get_reg(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  Backend *b = get_backend(env, info, &argc, argv);
  if (!b) return NULL;
  int32_t id;
  if (argc < 1 || napi_get_value_int32(env, argv[0], &id) != napi_ok || id < 0 || id >= NREGS) {
    napi_throw_range_error(env, NULL, "bad register id");
    return NULL;
  }
  uint64_t v = 0;
  uc_reg_read(b->uc, kRegMap[id], &v);
  napi_value out;
  napi_create_bigint_uint64(env, v, &out);
  return out;
}

/* setReg(id, value: bigint) */
static napi_value js_set_reg(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  Backend *b = get_backend(env, info, &argc, argv);
  if (!b) return NULL;
  int32_t id;
  uint64_t v;
  if (argc < 2 || napi_get_value_int32(env, argv[0], &id) != napi_ok || id < 0 || id >= NREGS ||
      !get_u64(env, argv[1], &v)) {
    napi_throw_range_error(env, NULL, "setReg(id, value)");
    return NULL;
  }
  uc_reg_write(b->uc, kRegMap[id], &v);
  return NULL;
}

/*
 * getFpState(out: Uint8Array(512)) / setFpState(in): the x87/SSE state in
 * fxsave layout, the format a signal frame and a context switch use.
 */
static int fp_buffer(napi_env env, napi_value v, uint8_t **out) {
  return typed_array(env, v, napi_uint8_array, 512, (void **)out, NULL);
}

static napi_value js_get_fp(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  Backend *b = get_backend(env, info, &argc, argv);
  if (!b) return NULL;
  uint8_t *fx;
  if (argc < 1 || !fp_buffer(env, argv[0], &fx)) {
    napi_throw_type_error(env, NULL, "getFpState(Uint8Array(512))");
    return NULL;
  }
  memset(fx, 0, 512);
  uint64_t fcw = 0, fsw = 0, ftw = 0, mxcsr = 0;
  uc_reg_read(b->uc, UC_X86_REG_FPCW, &fcw);
  uc_reg_read(b->uc, UC_X86_REG_FPSW, &fsw);
  uc_reg_read(b->uc, UC_X86_REG_FPTAG, &ftw);
  uc_reg_read(b->uc, UC_X86_REG_MXCSR, &mxcsr);
  uint16_t w = (uint16_t)fcw; memcpy(fx + 0, &w, 2);
  w = (uint16_t)fsw; memcpy(fx + 2, &w, 2);
  /* Abridged tag: one bit per physical register, 1 = valid (full tag != 3). */
  uint8_t abridged = 0;
  for (int i = 0; i < 8; i++) if (((ftw >> (2 * i)) & 3) != 3) abridged |= (uint8_t)(1u << i);
  fx[4] = abridged;
  uint32_t m = (uint32_t)mxcsr; memcpy(fx + 24, &m, 4);
  m = 0xffff; memcpy(fx + 28, &m, 4);
  int top = (int)((fsw >> 11) & 7);
  for (int i = 0; i < 8; i++) {
    Float80 f = {0, 0, {0}};
    uc_reg_read(b->uc, UC_X86_REG_FP0 + ((top + i) & 7), &f);
    memcpy(fx + 32 + 16 * i, &f.mantissa, 8);
    memcpy(fx + 32 + 16 * i + 8, &f.exponent, 2);
  }
  for (int i = 0; i < 16; i++) uc_reg_read(b->uc, UC_X86_REG_XMM0 + i, fx + 160 + 16 * i);
  return NULL;
}

static napi_value js_set_fp(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  Backend *b = get_backend(env, info, &argc, argv);
  if (!b) return NULL;
  uint8_t *fx;
  if (argc < 1 || !fp_buffer(env, argv[0], &fx)) {
    napi_throw_type_error(env, NULL, "setFpState(Uint8Array(512))");
    return NULL;
  }
  uint16_t w;
  uint64_t v;
  memcpy(&w, fx + 0, 2); v = w; uc_reg_write(b->uc, UC_X86_REG_FPCW, &v);
  memcpy(&w, fx + 2, 2); v = w; uc_reg_write(b->uc, UC_X86_REG_FPSW, &v);
  uint64_t fsw = w;
  uint64_t ftw = 0;
  for (int i = 0; i < 8; i++) if (!(fx[4] & (1u << i))) ftw |= 3ull << (2 * i);
  uc_reg_write(b->uc, UC_X86_REG_FPTAG, &ftw);
  uint32_t m; memcpy(&m, fx + 24, 4);
  /* Reserved MXCSR bits would make a real CPU fault (#GP); keep the valid ones. */
  v = m & 0xffff; uc_reg_write(b->uc, UC_X86_REG_MXCSR, &v);
  int top = (int)((fsw >> 11) & 7);
  for (int i = 0; i < 8; i++) {
    Float80 f = {0, 0, {0}};
    memcpy(&f.mantissa, fx + 32 + 16 * i, 8);
    memcpy(&f.exponent, fx + 32 + 16 * i + 8, 2);
    uc_reg_write(b->uc, UC_X86_REG_FP0 + ((top + i) & 7), &f);
  }
  for (int i = 0; i < 16; i++) uc_reg_write(b->uc, UC_X86_REG_XMM0 + i, fx + 160 + 16 * i);
  return NULL;
}

static int get_range(napi_env env, Backend *b, napi_value *argv, size_t argc, uint64_t *addr, uint64_t *len) {
  if (argc < 2 || !get_u64(env, argv[0], addr) || !get_u64(env, argv[1], len)) return 0;
  if (*addr < b->ram_base || *len > b->ram_size || *addr - b->ram_base > b->ram_size - *len) return 0;
  return 1;
}

/* protect(addr, len, prot): page-aligned range inside RAM; prot bits 1=R 2=W 4=X */
static napi_value js_protect(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  Backend *b = get_backend(env, info, &argc, argv);
  if (!b) return NULL;
  uint64_t addr, len, prot;
  if (!get_range(env, b, argv, argc, &addr, &len) || argc < 3 || !get_u64(env, argv[2], &prot) ||
      (addr & 0xfff) || (len & 0xfff)) {
    napi_throw_range_error(env, NULL, "protect(addr, len, prot): page-aligned range inside RAM");
    return NULL;
  }
  if (len == 0) {
    napi_value yes;
    napi_get_boolean(env, 1, &yes);
    return yes;
  }
  /*
   * Not uc_mem_protect: in 2.0.1 it leaves the TLB alone when the range is a
   * region of its own already, so accesses through cached entries keep the old
   * rights, and taking PROT_EXEC away makes it request a stop that can
   * outlive the call.
   */
  uint8_t p = (uint8_t)(prot & UC_PROT_ALL);
  uint64_t first = (addr - b->ram_base) / PAGE, end = first + len / PAGE;
  int ok = 1;
  for (uint64_t at = first; at < end;) {
    uint64_t stop = chunk_hi(b, at) < end ? chunk_hi(b, at) : end;
    ok &= protect_pages(b, at, stop, p);
    at = stop;
  }
  napi_value result;
  napi_get_boolean(env, ok, &result);
  return result;
}

/* The backend and (addr, len) of a method taking a range inside RAM; NULL after throwing `usage`. */
static Backend *range_call(napi_env env, napi_callback_info info, const char *usage, uint64_t *addr, uint64_t *len) {
  size_t argc = 2;
  napi_value argv[2];
  Backend *b = get_backend(env, info, &argc, argv);
  if (!b) return NULL;
  if (!get_range(env, b, argv, argc, addr, len)) {
    napi_throw_range_error(env, NULL, usage);
    return NULL;
  }
  return b;
}

/* invalidateCode(addr, len): drop translated code for a range the host rewrote. */
static napi_value js_invalidate(napi_env env, napi_callback_info info) {
  uint64_t addr, len;
  Backend *b = range_call(env, info, "invalidateCode(addr, len): range inside RAM", &addr, &len);
  if (!b) return NULL;
  if (len == 0) return NULL;
  drop_code(b, addr, addr + len);
  return NULL;
}

/* zero(addr, len): zero guest memory, giving whole pages back to the host. */
static napi_value js_zero(napi_env env, napi_callback_info info) {
  uint64_t addr, len;
  Backend *b = range_call(env, info, "zero(addr, len): range inside RAM", &addr, &len);
  if (!b) return NULL;
  uint8_t *p = b->ram + (addr - b->ram_base);
  uint8_t *end = p + len;
  uint8_t *first = (uint8_t *)(((uintptr_t)p + 4095) & ~(uintptr_t)4095);
  uint8_t *last = (uint8_t *)((uintptr_t)end & ~(uintptr_t)4095);
  if (last > first && (size_t)(last - first) >= 64 * 1024) {
    memset(p, 0, (size_t)(first - p));
    madvise(first, (size_t)(last - first), MADV_DONTNEED);
    memset(last, 0, (size_t)(end - last));
  } else {
    memset(p, 0, len);
  }
  return NULL;
}

/* Appends the pair [a, b) to the array `out`, which holds *count elements. */
static int push_extent(napi_env env, napi_value out, uint32_t *count, uint64_t a, uint64_t b) {
  napi_value x, y;
  return napi_create_double(env, (double)a, &x) == napi_ok && napi_create_double(env, (double)b, &y) == napi_ok &&
         napi_set_element(env, out, (*count)++, x) == napi_ok && napi_set_element(env, out, (*count)++, y) == napi_ok;
}

/*
 * dataExtents(addr, len): the runs of [addr, addr+len) that may hold nonzero
 * bytes, as [start, end, ...]: pages present or swapped out, from
 * /proc/self/pagemap. Pages never touched since they were last zeroed
 * (MADV_DONTNEED) read as zeros. Without pagemap: the whole range.
 */
static napi_value js_data_extents(napi_env env, napi_callback_info info) {
  uint64_t addr, len;
  Backend *b = range_call(env, info, "dataExtents(addr, len): range inside RAM", &addr, &len);
  if (!b) return NULL;
  static int pagemap = -2;
  if (pagemap == -2) pagemap = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
  napi_value out;
  if (napi_create_array(env, &out) != napi_ok) return NULL;
  uint32_t count = 0;
  uint64_t first = addr >> 12, end = (addr + len + 4095) >> 12, run = end; /* run: where the current run of data began (end: none) */
  uint64_t host = (uint64_t)(uintptr_t)b->ram - b->ram_base; /* host address = guest address + host */
  enum { CHUNK = 512 };
  uint64_t entries[CHUNK];
  for (uint64_t page = first; page < end;) {
    uint64_t n = end - page < CHUNK ? end - page : CHUNK;
    ssize_t got = pagemap < 0 ? -1 : pread(pagemap, entries, n * 8, (off_t)(((page << 12) + host) >> 12) * 8);
    for (uint64_t i = 0; i < n; i++) {
      /* bit 63 present, bit 62 swapped; unreadable: may hold data */
      int data = got != (ssize_t)(n * 8) || (entries[i] >> 62) != 0;
      if (data && run == end) run = page + i;
      if (!data && run != end) {
        if (!push_extent(env, out, &count, run << 12, (page + i) << 12)) return NULL;
        run = end;
      }
    }
    page += n;
  }
  if (run != end && !push_extent(env, out, &count, run << 12, end << 12)) return NULL;
  return out;
}

/* residentBytes(): host memory the guest RAM really uses (for leak tests). */
static napi_value js_resident(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  Backend *b = get_backend(env, info, &argc, NULL);
  if (!b) return NULL;
  size_t pages = (b->ram_size + 4095) / 4096;
  unsigned char *vec = malloc(pages);
  double resident = 0;
  if (vec && mincore(b->ram, b->ram_size, vec) == 0)
    for (size_t i = 0; i < pages; i++) resident += (vec[i] & 1) ? 4096 : 0;
  free(vec);
  napi_value out;
  napi_create_double(env, resident, &out);
  return out;
}

/* setCpuid(entries: Uint32Array of [leaf, subleaf, eax, ebx, ecx, edx]*): CPUID answers for the guest. */
static napi_value js_set_cpuid(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  Backend *b = get_backend(env, info, &argc, argv);
  if (!b) return NULL;
  size_t len;
  void *data;
  if (argc < 1 || !typed_array(env, argv[0], napi_uint32_array, 0, &data, &len) || len % 6 != 0 || len / 6 > 64) {
    napi_throw_type_error(env, NULL, "setCpuid(Uint32Array of at most 64 six-word entries)");
    return NULL;
  }
  memcpy(b->cpuid, data, len * sizeof(uint32_t));
  b->ncpuid = (int)(len / 6);
  return NULL;
}

/* readTsc(): what the guest's rdtsc reads now (Unicorn passes the host TSC through). */
static napi_value js_read_tsc(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value out;
  napi_create_bigint_uint64(env, __rdtsc(), &out);
  return out;
}

/* stop(): ask a running guest to stop (from a hook or another thread). */
static napi_value js_stop(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  Backend *b = get_backend(env, info, &argc, NULL);
  if (!b) return NULL;
  uc_emu_stop(b->uc);
  return NULL;
}

static napi_value js_dispose(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  napi_value self;
  void *data;
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, NULL, &self, NULL));
  if (napi_unwrap(env, self, &data) == napi_ok) backend_release(data);
  return NULL;
}

static napi_value js_version(napi_env env, napi_callback_info info) {
  (void)info;
  unsigned int major, minor;
  uc_version(&major, &minor);
  char buf[32];
  snprintf(buf, sizeof buf, "%u.%u", major, minor);
  napi_value out;
  napi_create_string_utf8(env, buf, NAPI_AUTO_LENGTH, &out);
  return out;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor methods[] = {
      {"setKernelEntry", NULL, js_set_kernel_entry, NULL, NULL, NULL, napi_default, NULL},
      {"run", NULL, js_run, NULL, NULL, NULL, napi_default, NULL},
      {"getRegs", NULL, js_get_regs, NULL, NULL, NULL, napi_default, NULL},
      {"setRegs", NULL, js_set_regs, NULL, NULL, NULL, napi_default, NULL},
      {"getReg", NULL, js_get_reg, NULL, NULL, NULL, napi_default, NULL},
      {"setReg", NULL, js_set_reg, NULL, NULL, NULL, napi_default, NULL},
      {"getFpState", NULL, js_get_fp, NULL, NULL, NULL, napi_default, NULL},
      {"setFpState", NULL, js_set_fp, NULL, NULL, NULL, napi_default, NULL},
      {"protect", NULL, js_protect, NULL, NULL, NULL, napi_default, NULL},
      {"invalidateCode", NULL, js_invalidate, NULL, NULL, NULL, napi_default, NULL},
      {"zero", NULL, js_zero, NULL, NULL, NULL, napi_default, NULL},
      {"dataExtents", NULL, js_data_extents, NULL, NULL, NULL, napi_default, NULL},
      {"residentBytes", NULL, js_resident, NULL, NULL, NULL, napi_default, NULL},
      {"setCpuid", NULL, js_set_cpuid, NULL, NULL, NULL, napi_default, NULL},
      {"readTsc", NULL, js_read_tsc, NULL, NULL, NULL, napi_default, NULL},
      {"stop", NULL, js_stop, NULL, NULL, NULL, napi_default, NULL},
      {"dispose", NULL, js_dispose, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_value cls;
  if (napi_define_class(env, "UnicornBackend", NAPI_AUTO_LENGTH, js_new, NULL,
                        sizeof methods / sizeof methods[0], methods, &cls) != napi_ok)
    return NULL;
  napi_set_named_property(env, exports, "UnicornBackend", cls);
  napi_value ver;
  napi_create_function(env, "unicornVersion", NAPI_AUTO_LENGTH, js_version, NULL, &ver);
  napi_set_named_property(env, exports, "unicornVersion", ver);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
