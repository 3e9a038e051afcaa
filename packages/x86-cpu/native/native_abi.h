/*
 * What the native backend's addon (in Node) and its runner process share: a
 * control block in a memfd mapped by both. Guest RAM is a second memfd, mapped
 * by the runner at the guest's own addresses and by Node anywhere.
 */
#ifndef NOMMU_NATIVE_ABI_H
#define NOMMU_NATIVE_ABI_H
#include <sched.h>
#include <stdint.h>
#include <time.h>
#include <x86intrin.h>

#define NATIVE_NREGS 20
#define NATIVE_XSAVE_MAX 8192

/* Keep in sync with StopReason / FaultAccess in src/backend.ts. */
enum { STOP_KERNEL_CALL = 1, STOP_FAULT = 2, STOP_INVALID_INSN = 3, STOP_EXCEPTION = 4, STOP_PREEMPTED = 5, STOP_HALT = 6 };
enum { ACCESS_READ = 1, ACCESS_WRITE = 2, ACCESS_FETCH = 3 };
enum { R_RAX, R_RBX, R_RCX, R_RDX, R_RSI, R_RDI, R_RBP, R_RSP, R_R8, R_R9, R_R10, R_R11,
       R_R12, R_R13, R_R14, R_R15, R_RIP, R_RFLAGS, R_FS, R_GS };

/* Layout known to native_entry.S (offsets) and src/native.ts (views). */
typedef struct {
  uint64_t regs[NATIVE_NREGS]; /* 0: Reg order */
  uint64_t stop[4];            /* 160: reason, address, detail, rip */
  uint64_t pad[8];
  uint8_t xsave[NATIVE_XSAVE_MAX] __attribute__((aligned(64))); /* 256 */
} GuestState;

enum { CMD_RUN = 1, CMD_PROTECT = 2, CMD_EXIT = 3 };
#define PROT_QUEUE_MAX 128
/* A prot_queue entry that populates its range (MADV_POPULATE_WRITE) instead of protecting it. */
#define QUEUE_PREFAULT 0x100
/* Runner flags (its third argument). */
#define RUNNER_REWRITE_SYSCALLS 1

/*
 * Offloaded I/O: the runner answers read, write, pread64, pwrite64, readv and
 * writev itself, without a kernel call, for the guest descriptors the kernel
 * lists in off_table (see src/backend.ts, FileOffload). Each listed open file
 * has a slot: the access the runner may do and, for a file with an offset, the
 * offset, which the runner moves and the kernel reads back. The runner holds
 * its own descriptor for each slot, received over the socket at fd 5
 * (SCM_RIGHTS: the same open file description as the kernel's) when it carries
 * out the slot queue, in order, before any command. Anything unusual (a
 * buffer outside RAM, a host error, a descriptor not listed) goes to the
 * kernel as before, so the kernel's answer stays the reference.
 */
#define OFFLOAD_FDS 64
#define OFFLOAD_SLOTS 256
#define OFFLOAD_QUEUE_MAX 64
enum {
  OFFLOAD_READ = 1,       /* read, readv (and pread64, preadv with POSITIONED) */
  OFFLOAD_WRITE = 2,      /* write, writev (and pwrite64, pwritev with POSITIONED) */
  OFFLOAD_POSITIONED = 4, /* a file with an offset (slot pos): pread/pwrite at it, then move it */
  OFFLOAD_STREAM = 8,     /* a host pipe, socket or device: a write writes everything, EPIPE drops it */
};
enum { OFFLOAD_ATTACH = 1, OFFLOAD_DETACH = 2 };
typedef struct {
  double pos;    /* the file offset (OFFLOAD_POSITIONED); a double so Node reads it without a BigInt (exact below 2^53) */
  uint32_t mode; /* OFFLOAD_* bits; 0: answered by the kernel */
  uint32_t pad;
} OffloadSlot;
/*
 * Memory calls the runner answers itself (see MemoryOffload in src/backend.ts):
 * brk inside the running process's break area, and mremap growing the one
 * mapping the kernel named (grow_start..grow_end) in place, into room up to
 * grow_limit that the kernel found free and zeroed. Node writes the values
 * before a run and reads back the break and grow_end, which the runner moves.
 * Addresses are doubles so JavaScript reads them without a BigInt.
 */
typedef struct {
  uint32_t on;    /* nonzero: the runner may answer the calls MM_* allows */
  uint32_t flags; /* MM_* */
  double brk_start, brk, brk_limit;
  double grow_start, grow_end, grow_limit;
  uint32_t grow_prot; /* the protection the grown pages get (mprotect in the runner) */
  uint32_t pad;
} MmOffload;
enum {
  MM_BRK = 1,          /* brk inside [brk_start, brk_limit] */
  MM_BRK_SHRINK = 2,   /* brk below the break too (nothing sealed there): the bytes given back are zeroed */
  MM_GROW = 4,         /* mremap growing grow_start..grow_end in place, up to grow_limit */
  MM_GROW_PREFAULT = 8 /* the grown pages are backed at once (anonymous writable memory), as brk's are */
};
/* The addon's own open() flag: renice the process's other threads (see deprioritize_others). */
#define OPEN_DEPRIORITIZE_HOST_THREADS 2

/*
 * Each side spins for the other's answer before sleeping on the futex, for a
 * time budget that follows the waits it sees: a short wait (one a spin could
 * catch) longer than half the budget raises it to twice that wait at once,
 * shorter ones let it decay by 1/32; a long wait (the other side computes, or
 * waits for I/O) decays it by 1/8. One slow syscall thus no longer halves the
 * budget for the fast ones after it, while a run of long waits soon stops the
 * spinner from stealing the CPU. A side never spins while the other one was
 * last seen on its own CPU: there the answer cannot come before it sleeps.
 * Measured: a fixed 4000-pause spin made a guest getpid cost ~350 us at load 7
 * on 2 cores. The earlier rule (set to twice the last short wait, halve on a
 * long one) slept in about half of the first 6,000 syscalls of a run, while
 * Node's code was still cold: hand-overs of 7-11 us instead of 0.2-0.7 us.
 */
#define SPIN_START_US 50
#define SPIN_MIN_US 2
#define SPIN_MAX_US 200

static inline uint32_t spin_next(uint32_t budget_us, uint64_t waited_us) {
  if (waited_us <= SPIN_MAX_US / 2) {
    uint32_t want = (uint32_t)waited_us * 2;
    if (want > budget_us) return want;
    budget_us -= budget_us / 32;
  } else {
    budget_us -= budget_us / 8;
  }
  return budget_us > SPIN_MIN_US ? budget_us : SPIN_MIN_US;
}

/* The CPU this thread runs on now (glibc reads it from rseq or the vDSO); ~0 if unknown. */
static inline uint32_t this_cpu(void) {
  int cpu = sched_getcpu();
  return cpu < 0 ? ~0u : (uint32_t)cpu;
}

/* TSC ticks per microsecond, measured once (~0.2 ms). */
static inline uint64_t tsc_per_us(void) {
  static uint64_t per_us;
  if (!per_us) {
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    uint64_t t0 = __rdtsc();
    long long ns;
    do {
      clock_gettime(CLOCK_MONOTONIC, &b);
      ns = (long long)(b.tv_sec - a.tv_sec) * 1000000000LL + (b.tv_nsec - a.tv_nsec);
    } while (ns < 200000);
    per_us = (__rdtsc() - t0) * 1000 / (uint64_t)ns;
    if (!per_us) per_us = 1;
  }
  return per_us;
}

typedef struct {
  uint32_t req;    /* bumped by the addon to post a command (futex word) */
  uint32_t done;   /* set to req by the runner when the command is over (futex word) */
  uint32_t cmd;
  int32_t result;  /* stop reason for CMD_RUN, 0 or -errno otherwise */
  uint64_t args[4];
  /* Filled by the runner at start-up. */
  uint32_t ready;
  uint32_t xsave_size;
  uint64_t xsave_mask;
  uint32_t mxcsr_mask;
  uint32_t pad0;
  char error[128]; /* why the runner cannot run guests, if it cannot */
  /* Set while that side sleeps on its futex, so the other wakes it only then. */
  uint32_t node_sleeping;
  uint32_t runner_sleeping;
  /* The CPU each side last waited on (see spin_next). */
  uint32_t node_cpu;
  uint32_t runner_cpu;
  uint8_t pad[256 - 48 - 8 - 8 - 8 - 128 - 8 - 8];
  GuestState guest; /* 256 */
  /*
   * Protection changes not applied yet. Only guest code is subject to them and
   * it runs only after the next command, so the addon queues them here and the
   * runner applies them, in order, before it carries out any command: an mmap
   * no longer costs a round trip to the runner per change.
   */
  uint32_t nprot;
  uint32_t prot_failed; /* sticky: the host refused one (ENOMEM), which got every right */
  struct {
    uint64_t addr, len, prot;
  } prot_queue[PROT_QUEUE_MAX];
  /*
   * Where a command's time goes, in TSC ticks, kept only when the addon was
   * opened with NOMMU_NATIVE_STATS set (printed on stderr when it closes):
   * Node posts -> runner sees it -> guest enters ... leaves -> runner says
   * done -> Node sees it -> Node posts the next command.
   */
  uint32_t stats_on;
  uint32_t pad1;
  uint64_t t_post, t_seen, t_done, t_back;
  uint64_t s_commands, s_sleeps_node, s_sleeps_runner;
  uint64_t s_to_runner, s_guest, s_to_node, s_node;
  uint64_t s_offloaded; /* calls the runner answered itself */
  /* Offloaded I/O (see OFFLOAD_FDS); the addon's JavaScript writes the table and slots directly. */
  uint32_t off_on;     /* nonzero: the runner may answer the listed calls */
  uint32_t off_nqueue; /* slot attachments and detachments for the runner, in order */
  struct {
    uint32_t op, slot;
  } off_queue[OFFLOAD_QUEUE_MAX];
  int32_t off_table[OFFLOAD_FDS] __attribute__((aligned(64))); /* guest fd -> slot, -1: not offloaded */
  OffloadSlot off_slots[OFFLOAD_SLOTS];
  MmOffload mm_off __attribute__((aligned(64)));
} Control;

_Static_assert(__builtin_offsetof(Control, guest) == 256, "Control layout");
_Static_assert(__builtin_offsetof(GuestState, xsave) == 256, "GuestState layout");
_Static_assert(__builtin_offsetof(MmOffload, grow_prot) == 56 && sizeof(MmOffload) == 64, "MmOffload layout (src/native.ts)");
_Static_assert((__builtin_offsetof(Control, mm_off) - __builtin_offsetof(Control, off_on)) % 8 == 0, "MmOffload alignment");
_Static_assert(__builtin_offsetof(Control, off_slots) == __builtin_offsetof(Control, off_table) + 4 * OFFLOAD_FDS, "offload layout");

#define CONTROL_SIZE (((sizeof(Control)) + 4095) & ~(size_t)4095)
#endif
