/*
 * nommu-native-runner: the native backend's CPU. Guest code runs directly on
 * the host CPU in this small process, at the guest's own addresses, while the
 * kernel stays in Node. A separate process because Debian's node is a non-PIE
 * executable at 0x400000, exactly where non-PIE guests (busybox-static) must
 * live, and because guest code then cannot scribble on Node's memory.
 *
 * - Guest RAM (fd 3) is mapped RWX at its guest address; the control block
 *   (fd 4) is shared with the addon, which posts commands through futexes.
 * - Syscall User Dispatch turns a guest `syscall` into SIGSYS while nn_selector
 *   says BLOCK; the handler applies the instruction's semantics (rcx = next
 *   rip, r11 = rflags) and continues at the vDSO's __kernel_vsyscall, as the
 *   seed's seccomp hook does. The vDSO's do_syscall_64 is patched (by the
 *   addon) to jump to nommu_native_kcall, so entering the kernel costs no
 *   second signal.
 * - Faults, invalid instructions and the preemption tick end a run through a
 *   signal handler that rewrites its ucontext to resume nommu_native_leave.
 *
 * Handlers run with the guest's FS base loaded: they touch no TLS (built
 * without stack protector), make no syscall while the selector says BLOCK,
 * and return through nommu_native_restorer, which the dispatch never traps.
 */
#define _GNU_SOURCE
#include <cpuid.h>
#include <errno.h>
#include <linux/futex.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>
#include <x86intrin.h>
#include "native_abi.h"

#ifndef PR_SET_SYSCALL_USER_DISPATCH
#define PR_SET_SYSCALL_USER_DISPATCH 59
#define PR_SYS_DISPATCH_ON 1
#endif
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif
#ifndef SYS_USER_DISPATCH
#define SYS_USER_DISPATCH 2
#endif
#define FILTER_ALLOW 0
#define FILTER_BLOCK 1

#define HIDDEN __attribute__((visibility("hidden")))
HIDDEN GuestState nn_guest __attribute__((aligned(64)));
HIDDEN volatile char nn_selector = FILTER_ALLOW;
HIDDEN uint64_t nn_host_rsp, nn_host_fs, nn_host_gs, nn_trap_resume;
HIDDEN uint32_t nn_host_mxcsr;
HIDDEN uint16_t nn_host_fcw;
HIDDEN uint64_t nn_xsave_mask;
HIDDEN uint8_t nn_has_avx;

extern uint64_t nommu_native_enter(void);
extern char nommu_native_kcall[], nommu_native_leave[], nommu_native_restorer[], nommu_native_restorer_end[];

static uint64_t nn_ram_base, nn_ram_size, nn_vsyscall, nn_trap;
/* A second, writable view of guest RAM: how syscall sites are rewritten whatever the guest's protections. */
static uint8_t *nn_ram_rw;
static volatile int nn_preempt_enabled;
static Control *ctl;
static uint32_t nn_xsave_size;

/* ---- signals ---- */

struct kernel_sigaction {
  void *handler;
  unsigned long flags;
  void *restorer;
  uint64_t mask;
};
#define KSA_RESTORER 0x04000000UL

static const int kGregOf[16] = {REG_RAX, REG_RBX, REG_RCX, REG_RDX, REG_RSI, REG_RDI, REG_RBP, REG_RSP,
                                REG_R8,  REG_R9,  REG_R10, REG_R11, REG_R12, REG_R13, REG_R14, REG_R15};

static int in_ram(uint64_t addr) { return addr - nn_ram_base < nn_ram_size; }

/* Saves the interrupted guest and makes sigreturn land in nommu_native_leave. */
static void exit_to_host(ucontext_t *uc, uint64_t reason) {
  greg_t *g = uc->uc_mcontext.gregs;
  for (int i = 0; i < 16; i++) nn_guest.regs[i] = (uint64_t)g[kGregOf[i]];
  nn_guest.regs[R_RIP] = (uint64_t)g[REG_RIP];
  nn_guest.regs[R_RFLAGS] = (uint64_t)g[REG_EFL];
  nn_guest.stop[3] = (uint64_t)g[REG_RIP];
  g[REG_RIP] = (greg_t)(uintptr_t)nommu_native_leave;
  g[REG_RSP] = (greg_t)nn_host_rsp;
  g[REG_RAX] = (greg_t)reason;
  g[REG_EFL] &= ~(greg_t)(0x100 | 0x400 | 0x40000); /* TF, DF, AC */
  nn_selector = FILTER_ALLOW;
}

/* A fault of the runner itself: die of it, so the addon reports a backend failure. */
static void die_of(int sig) {
  struct kernel_sigaction dfl = {SIG_DFL, 0, NULL, 0};
  syscall(SYS_rt_sigaction, sig, &dfl, NULL, 8);
}

/*
 * Syscall sites rewritten to call __kernel_vsyscall directly, avoiding the
 * SIGSYS (~3.5 us on a VM) on their next runs: the option-6 fast path of the
 * native backend. Sites are rewritten lazily, when they trap, in one of two
 * ways; both jump to a stub in the area after RAM that does what the
 * instruction did (r11 = rflags, rcx = where to go on; the red zone under rsp
 * untouched) and jumps to the shim.
 *
 * - `mov $imm32, %eax; syscall` (b8 imm32 0f 05) with rax equal to the
 *   immediate: the mov becomes `jmp stub`, which sets eax first; the syscall
 *   stays, so a jump straight to it or a restarted syscall still traps.
 * - Otherwise, `syscall` followed by one register-only instruction I of 3 or
 *   more bytes (glibc's `cmp $-4096,%rax`, musl's `mov %rax,%rdi`, ...), or
 *   by a `ret` and at least 2 bytes of alignment padding (musl's
 *   __syscall_cp_c, through which its read and write go): the syscall and
 *   the start of I become `jmp stub`; the stub's shim call comes back to a
 *   copy of I and then jumps past it. The stub keeps a `syscall`
 *   right before that copy, where a restart (rcx - 2) lands. Code may still
 *   reach I's old address (a jump there, or a task that trapped before the
 *   rewrite resuming after its syscall): the stub is placed so that the byte
 *   there, the second of the jump's displacement, is 0xcc (int3), and the
 *   SIGTRAP handler sends such a task to the copy of I (instruction punning).
 *   Guests see rcx pointing into the stub after such a syscall, and a guest
 *   that reads its own code sees the jump.
 */
#define STUB_AREA (1u << 20)
#define STUB_GRAIN 16
#define STUB_SIZE 48
#define SITE_SLOTS 8192
#define PUN 0xcc
enum { SITE_MOV = 1, SITE_AFTER = 2 };
/* The area starts with the shim's address (one slot, kept current by run_guest), then the stubs. */
static uint8_t *nn_stubs;
static uint8_t nn_stub_used[STUB_AREA / STUB_GRAIN / 8];
static struct {
  uint64_t next;    /* the address after the syscall instruction */
  uint32_t stub;    /* offset in the area */
  uint8_t kind;     /* SITE_* */
  uint8_t len;      /* SITE_AFTER: I's length */
  uint8_t code[10]; /* SITE_MOV: the immediate; SITE_AFTER: I */
} nn_sites[SITE_SLOTS];

static int fits_rel32(int64_t d) { return d >= INT32_MIN && d <= INT32_MAX; }

static int grains_free(uint32_t off) {
  for (uint32_t g = off / STUB_GRAIN; g < (off + STUB_SIZE) / STUB_GRAIN; g++)
    if (nn_stub_used[g / 8] & (1u << (g % 8))) return 0;
  return 1;
}

static void take_grains(uint32_t off) {
  for (uint32_t g = off / STUB_GRAIN; g < (off + STUB_SIZE) / STUB_GRAIN; g++) nn_stub_used[g / 8] |= (uint8_t)(1u << (g % 8));
}

/*
 * A free stub slot: anywhere (pun_for == 0), or where a jump at pun_for - 2
 * gets PUN as the second byte of its displacement: (stub - (site + 5)) >> 8
 * & 0xff == PUN, a 256-byte range of starts in every 64 KiB of the area.
 * Returns the offset, or 0 when there is none.
 */
static uint32_t alloc_stub(uint64_t pun_for) {
  uint64_t base = (uint64_t)(uintptr_t)nn_stubs;
  if (!pun_for) {
    for (uint32_t off = 64; off + STUB_SIZE <= STUB_AREA; off += STUB_GRAIN)
      if (grains_free(off)) return take_grains(off), off;
    return 0;
  }
  uint64_t site = pun_for - 2;
  uint32_t first = (uint32_t)((site + 5 + ((uint64_t)PUN << 8) - base) & 0xffff);
  for (uint32_t win = 0; win < STUB_AREA; win += 0x10000)
    for (uint32_t j = (STUB_GRAIN - (first % STUB_GRAIN)) % STUB_GRAIN; j < 256; j += STUB_GRAIN) {
      uint32_t off = win + first + j;
      if (off < 64 || off + STUB_SIZE > STUB_AREA || !grains_free(off)) continue;
      take_grains(off);
      return off;
    }
  return 0;
}

static uint32_t site_hash(uint64_t next) { return (uint32_t)((next * 0x9e3779b97f4a7c15ull) >> 51) & (SITE_SLOTS - 1); }

/* Handlers call no libc function they have not called before (a lazy binding would run with the guest's FS). */
static int same_bytes(const uint8_t *a, const uint8_t *b, uint32_t len) {
  for (uint32_t i = 0; i < len; i++)
    if (a[i] != b[i]) return 0;
  return 1;
}

/* The slot of a known site with these bytes, or a free slot (next == 0), or -1 when the table is full. */
static int find_site(uint64_t next, uint8_t kind, const uint8_t *code, uint8_t len) {
  uint32_t h = site_hash(next);
  for (uint32_t n = 0; n < SITE_SLOTS; n++, h = (h + 1) & (SITE_SLOTS - 1)) {
    if (nn_sites[h].next == 0) return (int)h;
    if (nn_sites[h].next == next && nn_sites[h].kind == kind && nn_sites[h].len == len && same_bytes(nn_sites[h].code, code, len))
      return (int)h;
  }
  return -1;
}

/* Emits the common part of a stub: r11 = rflags, rcx = `resume`, jump to the shim. */
static uint8_t *emit_entry(uint8_t *p, uint64_t resume) {
  memcpy(p, "\x48\x8d\x64\x24\x80", 5); p += 5;              /* lea -128(%rsp), %rsp */
  *p++ = 0x9c;                                                /* pushfq */
  *p++ = 0x41; *p++ = 0x5b;                                   /* pop %r11 */
  memcpy(p, "\x48\x8d\xa4\x24\x80\x00\x00\x00", 8); p += 8; /* lea 128(%rsp), %rsp */
  *p++ = 0x48; *p++ = 0x8d; *p++ = 0x0d;                      /* lea resume(%rip), %rcx */
  int32_t rel = (int32_t)((int64_t)resume - (int64_t)(uintptr_t)(p + 4)); memcpy(p, &rel, 4); p += 4;
  *p++ = 0xff; *p++ = 0x25;                                   /* jmp *slot(%rip): the shim */
  rel = (int32_t)((int64_t)(uintptr_t)nn_stubs - (int64_t)(uintptr_t)(p + 4)); memcpy(p, &rel, 4); p += 4;
  return p;
}

/* Where a SITE_AFTER stub keeps its copy of I: after the entry (29 bytes) and a `syscall`. */
#define AFTER_COPY 31

static uint8_t *stub_for(uint64_t next, uint8_t kind, const uint8_t *code, uint8_t len) {
  int h = find_site(next, kind, code, len);
  if (h < 0) return NULL;
  if (nn_sites[h].next) return nn_stubs + nn_sites[h].stub;
  uint32_t off = alloc_stub(kind == SITE_AFTER ? next : 0);
  if (!off) return NULL;
  uint8_t *st = nn_stubs + off, *p = st;
  if (kind == SITE_MOV) {
    *p++ = 0xb8; memcpy(p, code, 4); p += 4; /* mov $imm, %eax */
    emit_entry(p, next);
  } else {
    p = emit_entry(p, (uint64_t)(uintptr_t)(st + AFTER_COPY));
    *p++ = 0x0f; *p++ = 0x05;                  /* syscall: where a restart lands */
    memcpy(p, code, len); p += len;            /* I */
    *p++ = 0xe9;                               /* jmp past I */
    int32_t rel = (int32_t)((int64_t)(next + len) - (int64_t)(uintptr_t)(p + 4));
    memcpy(p, &rel, 4);
  }
  nn_sites[h].next = next;
  nn_sites[h].kind = kind;
  nn_sites[h].len = len;
  memcpy(nn_sites[h].code, code, len);
  nn_sites[h].stub = off;
  return st;
}

/*
 * The length of `p` if it is one instruction that uses and changes nothing but
 * registers and flags (so its copy in a stub behaves the same and cannot
 * fault), else 0. A small whitelist: optional REX, then ALU and mov forms
 * with a register operand (ModRM mod 3) or an immediate to eAX/a register.
 */
static uint32_t plain_insn_len(const uint8_t *p) {
  uint32_t n = 0, rexw = 0;
  if ((p[0] & 0xf0) == 0x40) rexw = p[n++] & 8;
  uint8_t op = p[n++];
  switch (op) {
    case 0x05: case 0x0d: case 0x15: case 0x1d: case 0x25: case 0x2d: case 0x35: case 0x3d: case 0xa9:
      return n + 4; /* op eAX, imm32 */
    case 0x01: case 0x03: case 0x09: case 0x0b: case 0x11: case 0x13: case 0x19: case 0x1b: case 0x21: case 0x23:
    case 0x29: case 0x2b: case 0x31: case 0x33: case 0x39: case 0x3b: case 0x63: case 0x85: case 0x87: case 0x89: case 0x8b:
      return (p[n] >> 6) == 3 ? n + 1 : 0; /* op r, r */
    case 0x83: case 0xc1:
      return (p[n] >> 6) == 3 ? n + 2 : 0; /* op r, imm8 */
    case 0x81:
      return (p[n] >> 6) == 3 ? n + 5 : 0; /* op r, imm32 */
    case 0xc7:
      return (p[n] >> 6) == 3 && ((p[n] >> 3) & 7) == 0 ? n + 5 : 0; /* mov r, imm32 */
    case 0x0f:
      if (p[n] == 0xb6 || p[n] == 0xb7 || p[n] == 0xbe || p[n] == 0xbf) return (p[n + 1] >> 6) == 3 ? n + 2 : 0;
      return 0;
    default:
      if (op >= 0xb8 && op <= 0xbf) return n + (rexw ? 8 : 4); /* mov r, imm32/imm64 */
      return 0;
  }
}

/* The length of `p` if it is a NOP compilers pad with (or an int3), else 0. */
static uint32_t nop_len(const uint8_t *p) {
  if (p[0] == 0x90 || p[0] == 0xcc) return 1;
  uint32_t n = 0;
  while (n < 6 && p[n] == 0x66) n++;
  if (n && p[n] == 0x90) return n + 1;
  if (p[n] == 0x2e) n++;
  if (p[n] != 0x0f || p[n + 1] != 0x1f) return 0;
  uint8_t modrm = p[n + 2], mod = modrm >> 6, rm = modrm & 7;
  n += 3;
  if (mod == 3) return n;
  if (rm == 4) n++; /* SIB */
  if (mod == 1) return n + 1;
  if (mod == 2 || (mod == 0 && rm == 5)) return n + 4;
  return n;
}

static int in_stub_area(uint64_t a) { return nn_stubs && a - (uint64_t)(uintptr_t)nn_stubs < STUB_AREA; }

static void write_jump(uint64_t at, const uint8_t *st) {
  uint8_t jmp[5] = {0xe9};
  int32_t rel = (int32_t)((int64_t)(uintptr_t)st - (int64_t)(at + 5));
  memcpy(jmp + 1, &rel, 4);
  memcpy(nn_ram_rw + (at - nn_ram_base), jmp, 5);
}

static void rewrite_site(uint64_t next, uint64_t rax) {
  /* The bytes looked at: up to 8 before the syscall, up to 32 after it. */
  if (!nn_stubs || !in_ram(next - 2) || !in_ram(next + 32)) return;
  const uint8_t *p = (const uint8_t *)(uintptr_t)(next - 2);
  if (p[0] != 0x0f || p[1] != 0x05) return; /* int $0x80, or rewritten meanwhile */
  if (!fits_rel32((int64_t)(uintptr_t)nn_stubs - (int64_t)next) ||
      !fits_rel32((int64_t)(uintptr_t)nn_stubs + STUB_AREA - (int64_t)next)) return;
  if (next - 8 >= nn_ram_base) {
    const uint8_t *mov = p - 5;
    uint32_t imm;
    memcpy(&imm, mov + 1, 4);
    /* A prefix would make the b8 some other instruction (REX.B: mov to r8d), or be part of one. */
    uint8_t pre = mov[-1];
    if (mov[0] == 0xb8 && imm == rax && (pre & 0xf0) != 0x40 && pre != 0x66 && pre != 0x67 && pre != 0xf2 && pre != 0xf3) {
      uint8_t *st = stub_for(next, SITE_MOV, (const uint8_t *)&imm, 4);
      if (st) write_jump(next - 7, st);
      return;
    }
    /* Already a jump into the stubs right before: a mov site entered at its syscall; leave it. */
    if (mov[0] == 0xe9) {
      int32_t rel;
      memcpy(&rel, mov + 1, 4);
      if (in_stub_area(next - 2 + (uint64_t)(int64_t)rel)) return;
    }
  }
  uint32_t len = plain_insn_len(p + 2), cover = len;
  if (p[2] == 0xc3) { /* `syscall; ret` then alignment padding, which nothing jumps into: the jump may cover it */
    uint32_t pad = 0, k;
    while (pad < 2 && (k = nop_len(p + 3 + pad)) != 0) pad += k;
    if (pad >= 2) len = 1, cover = 1 + pad;
  }
  if (cover < 3 || len > sizeof nn_sites[0].code) return;
  uint8_t *st = stub_for(next, SITE_AFTER, p + 2, (uint8_t)len);
  if (!st) return;
  write_jump(next - 2, st);
  for (uint32_t i = 5; i < 2 + cover; i++) nn_ram_rw[next - 2 + i - nn_ram_base] = 0xcc;
}

/*
 * An int3 at `at`: a punned byte of a SITE_AFTER site (see above)? Then the
 * stub's copy of the instruction that was there, else 0.
 */
static uint64_t pun_target(uint64_t at) {
  if (!nn_stubs || at - 2 < nn_ram_base || !in_ram(at + 3)) return 0;
  const uint8_t *p = (const uint8_t *)(uintptr_t)(at - 2);
  if (p[0] != 0xe9 || p[2] != PUN) return 0;
  int32_t rel;
  memcpy(&rel, p + 1, 4);
  uint64_t st = at + 3 + (uint64_t)(int64_t)rel;
  if (!in_stub_area(st)) return 0;
  /* The stub must be this site's (a guest's own int3 there is reported as usual). */
  uint32_t h = site_hash(at);
  for (uint32_t n = 0; n < SITE_SLOTS; n++, h = (h + 1) & (SITE_SLOTS - 1)) {
    if (nn_sites[h].next == 0) return 0;
    if (nn_sites[h].next == at && nn_sites[h].kind == SITE_AFTER && nn_stubs + nn_sites[h].stub == (uint8_t *)(uintptr_t)st)
      return st + AFTER_COPY;
  }
  return 0;
}

static void on_sigsys(int sig, siginfo_t *si, void *ctx) {
  if (nn_selector != FILTER_BLOCK || si->si_code != SYS_USER_DISPATCH) {
    die_of(sig);
    return;
  }
  ucontext_t *uc = ctx;
  greg_t *g = uc->uc_mcontext.gregs;
  uint64_t next = (uint64_t)g[REG_RIP];
  if (next - 2 == nn_trap) { /* the vDSO's trap where it could not be patched */
    exit_to_host(uc, STOP_KERNEL_CALL);
    return;
  }
  g[REG_RCX] = (greg_t)next;
  g[REG_R11] = g[REG_EFL];
  g[REG_RIP] = (greg_t)nn_vsyscall;
  if (nn_stubs && nn_vsyscall) rewrite_site(next, (uint64_t)g[REG_RAX]);
}

static void on_fault(int sig, siginfo_t *si, void *ctx) {
  if (nn_selector != FILTER_BLOCK) {
    die_of(sig);
    return;
  }
  ucontext_t *uc = ctx;
  greg_t *g = uc->uc_mcontext.gregs;
  uint64_t trapno = (uint64_t)g[REG_TRAPNO], err = (uint64_t)g[REG_ERR], rip = (uint64_t)g[REG_RIP];
  uint64_t reason, detail = 0, address = 0;
  if (sig == SIGSEGV && trapno == 14) {
    reason = STOP_FAULT;
    address = (uint64_t)(uintptr_t)si->si_addr;
    detail = (err & 0x10) ? ACCESS_FETCH : (err & 2) ? ACCESS_WRITE : ACCESS_READ;
    if (si->si_code == SEGV_ACCERR) detail |= 0x100; /* the page is there: a protection fault */
  } else if (sig == SIGBUS) {
    reason = STOP_FAULT;
    address = (uint64_t)(uintptr_t)si->si_addr;
    detail = ACCESS_READ;
  } else if (sig == SIGSEGV && trapno == 13 && in_ram(rip) && *(uint8_t *)(uintptr_t)rip == 0xf4) {
    reason = STOP_HALT;
  } else if (sig == SIGILL) {
    reason = STOP_INVALID_INSN;
  } else if (sig == SIGTRAP && trapno == 3 && (address = pun_target(rip - 1)) != 0) {
    g[REG_RIP] = (greg_t)address; /* a punned byte of a rewritten site: on at its instruction's copy */
    return;
  } else if (sig == SIGTRAP) {
    reason = STOP_EXCEPTION;
    detail = trapno == 1 ? 1 : 3;
  } else {
    reason = STOP_EXCEPTION; /* #DE and other vectors, #GP */
    detail = trapno;
  }
  nn_guest.stop[1] = address;
  nn_guest.stop[2] = detail;
  exit_to_host(uc, reason);
}

static void on_preempt(int sig, siginfo_t *si, void *ctx) {
  (void)sig; (void)si;
  ucontext_t *uc = ctx;
  /* A tick outside the guest (waiting, or inside the switch): the next one preempts. */
  if (nn_selector != FILTER_BLOCK || !nn_preempt_enabled || !in_ram((uint64_t)uc->uc_mcontext.gregs[REG_RIP])) return;
  nn_guest.stop[1] = nn_guest.stop[2] = 0;
  exit_to_host(uc, STOP_PREEMPTED);
}

static int install(int sig, void *handler) {
  struct kernel_sigaction act = {handler, SA_SIGINFO | SA_ONSTACK | SA_RESTART | KSA_RESTORER,
                                 (void *)nommu_native_restorer, ~0ull};
  return (int)syscall(SYS_rt_sigaction, sig, &act, NULL, 8);
}

/* ---- start-up ---- */

static int fail(const char *what) {
  snprintf(ctl->error, sizeof ctl->error, "%s", what);
  __atomic_store_n(&ctl->ready, 2, __ATOMIC_RELEASE);
  syscall(SYS_futex, &ctl->ready, FUTEX_WAKE, 1, NULL, NULL, 0);
  return 1;
}

static const char *probe_cpu(void) {
  if (!(getauxval(AT_HWCAP2) & 2)) return "the host kernel does not enable FSGSBASE for user code (Linux >= 5.9 on a CPU with it)";
  unsigned a, b, c, d;
  if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & (1u << 27))) return "the CPU or kernel has no XSAVE/OSXSAVE";
  uint32_t lo, hi;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  /* What the kernel enabled, except PKRU (the host's business) and AMX tiles (need a permission). */
  nn_xsave_mask = (((uint64_t)hi << 32) | lo) & ~((1ull << 9) | (1ull << 17) | (1ull << 18));
  nn_has_avx = (nn_xsave_mask & 4) != 0;
  /*
   * The standard-format area the saved components need: the legacy region and
   * header, then each component at the offset CPUID leaf 0xd gives it. Not
   * CPUID.(0xd,0).EBX, which counts every component XCR0 enables: with AMX
   * (Sapphire Rapids) that is ~11 KB of tile data this backend never saves.
   */
  uint32_t need = 576;
  for (unsigned i = 2; i < 63; i++) {
    if (!(nn_xsave_mask >> i & 1)) continue;
    __cpuid_count(0xd, i, a, b, c, d);
    if (a + b > need) need = a + b;
  }
  if (need > NATIVE_XSAVE_MAX) return "the CPU's XSAVE area is larger than this backend supports";
  nn_xsave_size = need;
  uint8_t fx[512] __attribute__((aligned(16)));
  memset(fx, 0, sizeof fx);
  __asm__ volatile("fxsave64 %0" : "=m"(fx));
  uint32_t mm;
  memcpy(&mm, fx + 28, 4);
  ctl->mxcsr_mask = mm ? mm : 0xffbf;
  ctl->xsave_size = nn_xsave_size;
  ctl->xsave_mask = nn_xsave_mask;
  return NULL;
}

/* Waits for the next command: an adaptive spin (see spin_next), then the futex. */
static uint32_t wait_request(uint32_t seen) {
  static uint32_t spin_us = SPIN_START_US;
  uint32_t cpu = this_cpu();
  __atomic_store_n(&ctl->runner_cpu, cpu, __ATOMIC_RELAXED);
  uint64_t per_us = tsc_per_us(), t0 = __rdtsc();
  uint64_t limit = cpu != ~0u && __atomic_load_n(&ctl->node_cpu, __ATOMIC_RELAXED) == cpu ? t0 : t0 + spin_us * per_us;
  uint32_t v;
  while (__rdtsc() < limit) {
    v = __atomic_load_n(&ctl->req, __ATOMIC_ACQUIRE);
    if (v != seen) goto out;
    _mm_pause();
  }
  for (;;) {
    __atomic_store_n(&ctl->runner_sleeping, 1, __ATOMIC_SEQ_CST);
    v = __atomic_load_n(&ctl->req, __ATOMIC_SEQ_CST);
    if (v != seen) break;
    syscall(SYS_futex, &ctl->req, FUTEX_WAIT, seen, NULL, NULL, 0);
    if (ctl->stats_on) ctl->s_sleeps_runner++;
  }
  __atomic_store_n(&ctl->runner_sleeping, 0, __ATOMIC_RELAXED);
out:
  spin_us = spin_next(spin_us, (__rdtsc() - t0) / per_us);
  return v;
}

/* One protection change; out of host mappings, the range gets every right: more permissive than asked, never less. */
static int protect_range(uint64_t addr, uint64_t len, int prot) {
  if (len == 0) return 0;
  int result = mprotect((void *)(uintptr_t)addr, len, prot) == 0 ? 0 : -errno;
  if (result == -ENOMEM) {
    mprotect((void *)(uintptr_t)addr, len, PROT_READ | PROT_WRITE | PROT_EXEC);
    ctl->prot_failed = 1;
  }
  return result;
}

/*
 * Prefaults run on a helper thread, from the end of each range backwards,
 * while the guest goes on: its first touches fault in the front pages
 * meanwhile, so a fresh buffer is ready in about half the time on two cores
 * (measured: populating 10 MiB of guest RAM ~9-11 ms on one thread, against
 * ~7-8 ms of page faults for a native program's own memory). A page both
 * touch is faulted once; a populate that fails (a page made read-only or
 * unmapped meanwhile) only leaves the faults to come. The thread blocks every
 * signal and is not under Syscall User Dispatch (it exists before it is set).
 */
#define PREFAULT_RING 64
#define PREFAULT_CHUNK (256 * 1024)
static struct {
  pthread_mutex_t lock;
  pthread_cond_t more;
  uint64_t addr[PREFAULT_RING], len[PREFAULT_RING];
  uint32_t head, tail;
  int running;
} pf = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, {0}, {0}, 0, 0, 0};

static void *prefault_thread(void *unused) {
  (void)unused;
  for (;;) {
    pthread_mutex_lock(&pf.lock);
    while (pf.head == pf.tail) pthread_cond_wait(&pf.more, &pf.lock);
    uint64_t addr = pf.addr[pf.head % PREFAULT_RING], len = pf.len[pf.head % PREFAULT_RING];
    pf.head++;
    pthread_mutex_unlock(&pf.lock);
    for (uint64_t end = addr + len; end > addr;) {
      uint64_t start = end - addr > PREFAULT_CHUNK ? end - PREFAULT_CHUNK : addr;
      madvise((void *)(uintptr_t)start, end - start, MADV_POPULATE_WRITE);
      end = start;
    }
  }
  return NULL;
}

/* Starts the helper (before the dispatch is switched on for this thread); without it, prefaults run in line. */
static void start_prefault_thread(void) {
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  pthread_t t;
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, 64 * 1024);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  pf.running = pthread_create(&t, &attr, prefault_thread, NULL) == 0;
  pthread_attr_destroy(&attr);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
}

/*
 * Ranges this small are left to fault: the guest's own first touch costs what
 * populating them would, and handing each to the helper thread (a futex wake,
 * and a third busy thread on two cores) made a one-page mremap 13.7 us
 * instead of 6.5 us here.
 */
#define SMALL_PREFAULT (64 * 1024)

static void prefault_async(uint64_t addr, uint64_t len) {
  if (len <= SMALL_PREFAULT) return;
  if (pf.running) {
    pthread_mutex_lock(&pf.lock);
    int queued = pf.tail - pf.head < PREFAULT_RING;
    if (queued) {
      pf.addr[pf.tail % PREFAULT_RING] = addr;
      pf.len[pf.tail % PREFAULT_RING] = len;
      pf.tail++;
      pthread_cond_signal(&pf.more);
    }
    pthread_mutex_unlock(&pf.lock);
    if (queued) return;
  }
  madvise((void *)(uintptr_t)addr, len, MADV_POPULATE_WRITE);
}

/* The changes the addon queued since the last command, in order. */
static void apply_protections(void) {
  uint32_t n = ctl->nprot;
  if (n > PROT_QUEUE_MAX) n = PROT_QUEUE_MAX;
  for (uint32_t i = 0; i < n; i++) {
    uint64_t addr = ctl->prot_queue[i].addr, len = ctl->prot_queue[i].len;
    /* A failed populate (an old host, a page the guest cannot write) only leaves the faults to come. */
    if (ctl->prot_queue[i].prot == QUEUE_PREFAULT) prefault_async(addr, len);
    else protect_range(addr, len, (int)ctl->prot_queue[i].prot);
  }
  ctl->nprot = 0;
}

/* ---- offloaded I/O (see OFFLOAD_FDS in native_abi.h) ---- */

#define OFFLOAD_SOCKET 5
#define MAX_RW 0x7ffff000L
#define IOV_MAX_GUEST 1024
/* struct pt_regs offsets (bytes). */
enum { PT_AX = 80, PT_DX = 96, PT_SI = 104, PT_DI = 112, PT_ORIG_AX = 120, PT_R10 = 56, PT_SIZE = 168 };

/* The runner's own descriptor for each slot, -1 when it has none. */
static int off_fd[OFFLOAD_SLOTS];

/* Receives one descriptor the addon sent (SCM_RIGHTS); -1 if none came. */
static int receive_fd(void) {
  char byte;
  struct iovec iov = {&byte, 1};
  union {
    struct cmsghdr h;
    char buf[CMSG_SPACE(sizeof(int))];
  } u;
  struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf};
  ssize_t r;
  do r = recvmsg(OFFLOAD_SOCKET, &m, MSG_CMSG_CLOEXEC);
  while (r < 0 && errno == EINTR);
  struct cmsghdr *c = r > 0 ? CMSG_FIRSTHDR(&m) : NULL;
  if (!c || c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) return -1;
  int fd;
  memcpy(&fd, CMSG_DATA(c), sizeof fd);
  return fd;
}

/* The attachments and detachments the addon queued since the last command, in order. */
static void apply_offload_queue(void) {
  uint32_t n = ctl->off_nqueue;
  if (n > OFFLOAD_QUEUE_MAX) n = OFFLOAD_QUEUE_MAX;
  for (uint32_t i = 0; i < n; i++) {
    uint32_t s = ctl->off_queue[i].slot;
    if (s >= OFFLOAD_SLOTS) continue;
    if (off_fd[s] >= 0) close(off_fd[s]);
    off_fd[s] = ctl->off_queue[i].op == OFFLOAD_ATTACH ? receive_fd() : -1;
  }
  ctl->off_nqueue = 0;
}

static int in_ram_range(uint64_t addr, uint64_t len) {
  return addr >= nn_ram_base && len <= nn_ram_size && addr - nn_ram_base <= nn_ram_size - len;
}

/* The guest's iovec array, checked as the kernel's iovecs() does, and its total length; the count, or -1 to leave the call to the kernel. */
static int guest_iov(uint64_t addr, uint64_t count, struct iovec **out, uint64_t *total_out) {
  if (count > IOV_MAX_GUEST || !in_ram_range(addr, count * 16)) return -1;
  struct iovec *iov = (struct iovec *)(uintptr_t)addr;
  uint64_t total = 0;
  for (uint64_t i = 0; i < count; i++) {
    uint64_t len = (uint64_t)iov[i].iov_len;
    if (len > (uint64_t)MAX_RW || (total += len) > (uint64_t)MAX_RW) return -1;
    if (len && !in_ram_range((uint64_t)(uintptr_t)iov[i].iov_base, len)) return -1;
  }
  *out = iov;
  *total_out = total;
  return (int)count;
}

/*
 * Writes all of iov to a stream, as the kernel's host sink does (EAGAIN
 * waits); what was written before an error, or -1 if nothing could be (a
 * reader gone, EPIPE: the kernel then raises SIGPIPE).
 */
static long write_all(int fd, struct iovec *iov, int cnt, uint64_t total) {
  uint64_t done = 0;
  while (done < total) {
    while (cnt > 0 && iov->iov_len == 0) iov++, cnt--;
    ssize_t k = writev(fd, iov, cnt);
    if (k < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) {
        struct pollfd p = {fd, POLLOUT, 0};
        poll(&p, 1, -1);
        continue;
      }
      return done ? (long)done : -1;
    }
    done += (uint64_t)k;
    while (k > 0 && cnt > 0) {
      if ((size_t)k < iov->iov_len) {
        iov->iov_base = (char *)iov->iov_base + k; /* a copy: see offload_call */
        iov->iov_len -= (size_t)k;
        k = 0;
      } else {
        k -= (ssize_t)iov->iov_len;
        iov++, cnt--;
      }
    }
  }
  return (long)done;
}

/*
 * A kernel call the runner may answer itself: read, write, pread64, pwrite64,
 * readv or writev on a descriptor the kernel listed, with every buffer in
 * RAM, or brk and mremap as MmOffload allows (mm_call). Returns 1 when it
 * wrote the result into pt_regs->ax; 0 leaves the call to the kernel,
 * untouched (a host error included, so the kernel gives the errno it always
 * gives).
 */
static int mm_call(uint64_t nr, uint64_t *r);

static int offload_call(void) {
  uint64_t pt = nn_guest.regs[R_RDI];
  if ((pt & 7) || !in_ram_range(pt, PT_SIZE)) return 0;
  uint64_t *r = (uint64_t *)(uintptr_t)pt;
  uint64_t nr = r[PT_ORIG_AX / 8];
  if ((nr == 12 || nr == 25) && ctl->mm_off.on) {
    if (!mm_call(nr, r)) return 0;
    if (ctl->stats_on) ctl->s_offloaded++;
    return 1;
  }
  if (!ctl->off_on) return 0;
  if (nr > 20 || !((1u << nr) & ((1u << 0) | (1u << 1) | (1u << 17) | (1u << 18) | (1u << 19) | (1u << 20)))) return 0;
  int32_t fd = (int32_t)r[PT_DI / 8];
  if (fd < 0 || fd >= OFFLOAD_FDS) return 0;
  int32_t s = ctl->off_table[fd];
  if (s < 0 || s >= OFFLOAD_SLOTS || off_fd[s] < 0) return 0;
  OffloadSlot *slot = &ctl->off_slots[s];
  uint32_t mode = slot->mode;
  int writing = nr == 1 || nr == 18 || nr == 20;
  if (!(mode & (writing ? OFFLOAD_WRITE : OFFLOAD_READ))) return 0;
  int positioned = (mode & OFFLOAD_POSITIONED) != 0;
  if ((nr == 17 || nr == 18) && !positioned) return 0; /* ESPIPE: the kernel's */
  if (!writing && !positioned) return 0;               /* stream reads may wait: the kernel's */

  struct iovec one[1], copy[16], *iov;
  int cnt;
  uint64_t total = 0;
  if (nr == 19 || nr == 20) {
    cnt = guest_iov(r[PT_SI / 8], r[PT_DX / 8], &iov, &total);
    if (cnt < 0) return 0;
  } else {
    uint64_t len = r[PT_DX / 8] > (uint64_t)MAX_RW ? (uint64_t)MAX_RW : r[PT_DX / 8];
    if (len && !in_ram_range(r[PT_SI / 8], len)) return 0;
    one[0].iov_base = (void *)(uintptr_t)r[PT_SI / 8];
    one[0].iov_len = len;
    iov = one;
    cnt = 1;
    total = len;
  }
  long res;
  if (positioned) {
    double at = nr == 17 || nr == 18 ? (double)(int64_t)r[PT_R10 / 8] : slot->pos;
    if (at < 0 || at > 9007199254740991.0) return 0;
    ssize_t k = writing ? pwritev(off_fd[s], iov, cnt, (off_t)at) : preadv(off_fd[s], iov, cnt, (off_t)at);
    if (k < 0) return 0;
    if (nr != 17 && nr != 18) slot->pos = at + (double)k;
    res = k;
  } else {
    /* write_all moves through the vectors: on a copy, the guest's own are not to change. */
    if (cnt > 16) return 0;
    memcpy(copy, iov, (size_t)cnt * sizeof *iov);
    res = write_all(off_fd[s], copy, cnt, total);
    if (res < 0) return 0;
  }
  r[PT_AX / 8] = (uint64_t)res;
  if (ctl->stats_on) ctl->s_offloaded++;
  return 1;
}

/* ---- memory calls answered in the runner (see MmOffload in native_abi.h) ---- */

#define MREMAP_MAYMOVE 1
/* The most the kernel backs at once (PREFAULT_MAX in the syscall table's memory.ts). */
#define MM_PREFAULT_MAX (64ull << 20)

static uint64_t page_up(uint64_t a) { return (a + 4095) & ~4095ull; }

/*
 * brk or mremap as the kernel would answer them, for the cases MmOffload
 * allows; 1 when the result is in pt_regs->ax, 0 leaves the call to the kernel.
 */
static int mm_call(uint64_t nr, uint64_t *r) {
  MmOffload *m = &ctl->mm_off;
  uint32_t flags = m->flags;
  if (nr == 12) { /* brk */
    if (!(flags & MM_BRK)) return 0;
    uint64_t want = r[PT_DI / 8], cur = (uint64_t)m->brk;
    if (want > (uint64_t)m->brk_limit) return 0; /* the kernel answers (and notes it under --strict-nommu) */
    if (want >= (uint64_t)m->brk_start) {
      if (want < cur) {
        if (!(flags & MM_BRK_SHRINK)) return 0;
        memset(nn_ram_rw + (page_up(want) - nn_ram_base), 0, page_up(cur) - page_up(want)); /* whole pages, as brk() */
      } else {
        uint64_t from = page_up(cur), to = page_up(want);
        if (to > from && to - from <= MM_PREFAULT_MAX) prefault_async(from, to - from);
      }
      m->brk = (double)want;
      cur = want;
    }
    r[PT_AX / 8] = cur;
    return 1;
  }
  /* mremap: growing the named mapping in place */
  if (!(flags & MM_GROW)) return 0;
  uint64_t old = r[PT_DI / 8], old_len = r[PT_SI / 8], new_len = r[PT_DX / 8], how = r[PT_R10 / 8];
  uint64_t start = (uint64_t)m->grow_start, end = (uint64_t)m->grow_end, limit = (uint64_t)m->grow_limit;
  if ((how & ~(uint64_t)MREMAP_MAYMOVE) || (old & 4095) || old < start || old >= end) return 0;
  if (old_len == 0 || old_len > end - old || page_up(old_len) != end - old) return 0;
  if (new_len > limit - old || page_up(new_len) <= end - old) return 0;
  uint64_t to = old + page_up(new_len);
  if (protect_range(end, to - end, (int)m->grow_prot) != 0) return 0;
  if ((flags & MM_GROW_PREFAULT) && to - end <= MM_PREFAULT_MAX) prefault_async(end, to - end);
  m->grow_end = (double)to;
  r[PT_AX / 8] = old;
  return 1;
}

static uint64_t run_guest(uint64_t slice, timer_t timer, uint64_t *armed) {
  if (slice && slice != *armed) {
    struct itimerspec its = {{(time_t)(slice / 1000000), (long)(slice % 1000000) * 1000},
                             {(time_t)(slice / 1000000), (long)(slice % 1000000) * 1000}};
    timer_settime(timer, 0, &its, NULL);
    *armed = slice;
  }
  nn_preempt_enabled = slice != 0;
  nn_trap_resume = nn_trap + 2;
  if (nn_stubs) memcpy(nn_stubs, &nn_vsyscall, 8);
  memcpy(nn_guest.regs, ctl->guest.regs, sizeof nn_guest.regs);
  memcpy(nn_guest.xsave, ctl->guest.xsave, nn_xsave_size);
  nn_guest.stop[1] = nn_guest.stop[2] = 0;
  uint64_t t = ctl->stats_on ? __rdtsc() : 0;
  uint64_t reason;
  do reason = nommu_native_enter();
  while (reason == STOP_KERNEL_CALL && (ctl->off_on || ctl->mm_off.on) && offload_call());
  if (t) ctl->s_guest += __rdtsc() - t;
  nn_guest.stop[0] = reason;
  if (reason == STOP_KERNEL_CALL) nn_guest.stop[3] = nn_guest.regs[R_RIP];
  memcpy(ctl->guest.regs, nn_guest.regs, sizeof nn_guest.regs + sizeof nn_guest.stop);
  memcpy(ctl->guest.xsave, nn_guest.xsave, nn_xsave_size);
  return reason;
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "nommu-native-runner: started by the nommu native backend, not by hand\n");
    return 2;
  }
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  ctl = mmap(NULL, CONTROL_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, 4, 0);
  if (ctl == MAP_FAILED) return 3;
  if (getppid() == 1) return 4;
  nn_ram_base = strtoull(argv[1], NULL, 0);
  nn_ram_size = strtoull(argv[2], NULL, 0);

  /* Terminal and job-control signals are for the guest's kernel in Node, not for this CPU. */
  /* SIGTERM too: `timeout` and `kill -TERM -PGID` signal Node's whole group, and Node hands it to the guest. */
  static const int kIgnored[] = {SIGINT, SIGQUIT, SIGTSTP, SIGTTIN, SIGTTOU, SIGHUP, SIGPIPE, SIGWINCH, SIGUSR1, SIGUSR2, SIGALRM, SIGTERM};
  for (size_t i = 0; i < sizeof kIgnored / sizeof kIgnored[0]; i++) signal(kIgnored[i], SIG_IGN);

  const char *why = probe_cpu();
  if (why) return fail(why);
  void *ram = mmap((void *)(uintptr_t)nn_ram_base, nn_ram_size, PROT_READ | PROT_WRITE | PROT_EXEC,
                   MAP_SHARED | MAP_FIXED_NOREPLACE, 3, 0);
  if (ram != (void *)(uintptr_t)nn_ram_base) return fail("cannot map guest RAM at its guest address in the runner");
  if (argc > 3 && (strtoull(argv[3], NULL, 0) & RUNNER_REWRITE_SYSCALLS)) {
    nn_ram_rw = mmap(NULL, nn_ram_size, PROT_READ | PROT_WRITE, MAP_SHARED, 3, 0);
    /* Stubs right after RAM, so a rel32 jump reaches them from guest code. */
    void *stubs = mmap((void *)(uintptr_t)(nn_ram_base + nn_ram_size), STUB_AREA, PROT_READ | PROT_WRITE | PROT_EXEC,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    if (nn_ram_rw != MAP_FAILED && stubs == (void *)(uintptr_t)(nn_ram_base + nn_ram_size)) nn_stubs = stubs;
  }
  close(3);

  size_t alt = 256 * 1024;
  void *stack = mmap(NULL, alt, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  stack_t ss = {.ss_sp = stack, .ss_flags = 0, .ss_size = alt};
  if (stack == MAP_FAILED || sigaltstack(&ss, NULL) != 0) return fail("cannot set up an alternate signal stack");

  int preempt_sig = SIGRTMIN + 2;
  static const int kFault[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP};
  for (size_t i = 0; i < sizeof kFault / sizeof kFault[0]; i++)
    if (install(kFault[i], (void *)on_fault) != 0) return fail("cannot install the fault handlers");
  if (install(SIGSYS, (void *)on_sigsys) != 0 || install(preempt_sig, (void *)on_preempt) != 0)
    return fail("cannot install the SIGSYS and preemption handlers");

  struct sigevent sev;
  memset(&sev, 0, sizeof sev);
  sev.sigev_notify = SIGEV_THREAD_ID;
  sev.sigev_signo = preempt_sig;
  sev._sigev_un._tid = (pid_t)syscall(SYS_gettid);
  timer_t timer;
  if (timer_create(CLOCK_MONOTONIC, &sev, &timer) != 0) return fail("cannot create the preemption timer");
  uint64_t armed = 0;
  for (int i = 0; i < OFFLOAD_SLOTS; i++) off_fd[i] = -1;

  start_prefault_thread();
  uint64_t off = (uint64_t)(uintptr_t)nommu_native_restorer;
  uint64_t len = (uint64_t)(nommu_native_restorer_end - nommu_native_restorer) + 1;
  if (prctl(PR_SET_SYSCALL_USER_DISPATCH, PR_SYS_DISPATCH_ON, off, len, &nn_selector) != 0) {
    char msg[128];
    snprintf(msg, sizeof msg, "Syscall User Dispatch is not available (needs Linux >= 5.11): %s", strerror(errno));
    return fail(msg);
  }

  ctl->args[3] = (uint64_t)(uintptr_t)nommu_native_kcall; /* where the addon patches the vDSO trap to jump */
  __atomic_store_n(&ctl->ready, 1, __ATOMIC_RELEASE);
  syscall(SYS_futex, &ctl->ready, FUTEX_WAKE, 1, NULL, NULL, 0);

  uint32_t seen = 0;
  for (;;) {
    seen = wait_request(seen);
    if (ctl->stats_on) ctl->t_seen = __rdtsc();
    apply_protections();
    apply_offload_queue();
    int32_t result = 0;
    switch (ctl->cmd) {
      case CMD_RUN:
        nn_vsyscall = ctl->args[1];
        nn_trap = ctl->args[2];
        result = (int32_t)run_guest(ctl->args[0], timer, &armed);
        break;
      case CMD_PROTECT:
        result = protect_range(ctl->args[0], ctl->args[1], (int)ctl->args[2]);
        break;
      case CMD_EXIT:
        return 0;
      default:
        result = -EINVAL;
    }
    ctl->result = result;
    if (ctl->stats_on) {
      ctl->t_done = __rdtsc();
      ctl->s_to_runner += ctl->t_seen - ctl->t_post;
    }
    __atomic_store_n(&ctl->done, seen, __ATOMIC_SEQ_CST);
    if (__atomic_load_n(&ctl->node_sleeping, __ATOMIC_SEQ_CST)) syscall(SYS_futex, &ctl->done, FUTEX_WAKE, 1, NULL, NULL, 0);
  }
}
