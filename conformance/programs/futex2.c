/* The futex2 calls: futex_waitv (Linux 5.16), futex_wake, futex_wait and
 * futex_requeue (6.7). Argument errors (flags, sizes, reserved words, counts,
 * clocks, values), EAGAIN and absolute timeouts on both clocks; then waits
 * that threads and a forked child (MAP_SHARED memory) are woken from, by the
 * futex2 calls and by the classic futex() on the same word, with the index
 * futex_waitv returns; private versus shared keys; wake masks; requeue; and
 * signals (EINTR without SA_RESTART, a transparent restart with it).
 *
 * Whether a waiter is parked is learnt without waking it: FUTEX_CMP_REQUEUE
 * of a word onto itself (nr_wake 0) counts its waiters. */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "expect.h"

#define NR_futex_waitv 449
#define NR_futex_wake 454
#define NR_futex_wait 455
#define NR_futex_requeue 456

#define FUTEX_WAIT 0
#define FUTEX_WAKE 1
#define FUTEX_CMP_REQUEUE 4
#define FUTEX_PRIVATE_FLAG 128

#define FUTEX2_SIZE_U8 0x00
#define FUTEX2_SIZE_U16 0x01
#define FUTEX2_SIZE_U32 0x02
#define FUTEX2_SIZE_U64 0x03
#define FUTEX2_PRIVATE 128

struct futex_waitv {
	uint64_t val;
	uint64_t uaddr;
	uint32_t flags;
	uint32_t __reserved;
};

static long waitv(struct futex_waitv *w, unsigned n, unsigned flags, struct timespec *ts, int clk)
{
	return syscall(NR_futex_waitv, w, n, flags, ts, clk);
}

static long fwake(void *addr, unsigned long mask, int nr, unsigned flags)
{
	return syscall(NR_futex_wake, addr, mask, nr, flags);
}

static long fwait(void *addr, unsigned long val, unsigned long mask, unsigned flags, struct timespec *ts, int clk)
{
	return syscall(NR_futex_wait, addr, val, mask, flags, ts, clk);
}

static long frequeue(struct futex_waitv *w, unsigned flags, int nr_wake, int nr_requeue)
{
	return syscall(NR_futex_requeue, w, flags, nr_wake, nr_requeue);
}

static long futex(uint32_t *addr, int op, uint32_t val)
{
	return syscall(SYS_futex, addr, op, val, NULL, NULL, 0);
}

/* The waiters on a word, none woken (classic CMP_REQUEUE onto itself). */
static long waiters(uint32_t *addr, int priv)
{
	return syscall(SYS_futex, addr, FUTEX_CMP_REQUEUE | (priv ? FUTEX_PRIVATE_FLAG : 0), 0, INT_MAX, addr, *addr);
}

static void wait_for_waiters(uint32_t *addr, int priv, long n)
{
	for (int i = 0; i < 5000 && waiters(addr, priv) < n; i++)
		usleep(1000);
}

static void entry(struct futex_waitv *w, uint32_t *addr, uint64_t val, uint32_t flags)
{
	memset(w, 0, sizeof *w);
	w->val = val;
	w->uaddr = (uintptr_t)addr;
	w->flags = flags;
}

static struct timespec in_ms(int clk, long ms)
{
	struct timespec ts;
	clock_gettime(clk, &ts);
	ts.tv_nsec += (ms % 1000) * 1000000L;
	ts.tv_sec += ms / 1000 + ts.tv_nsec / 1000000000L;
	ts.tv_nsec %= 1000000000L;
	return ts;
}

static long ms_since(struct timespec *t0)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0->tv_sec) * 1000 + (t.tv_nsec - t0->tv_nsec) / 1000000;
}

#define PRIV32 (FUTEX2_SIZE_U32 | FUTEX2_PRIVATE)

static uint32_t words[130];

static void errors(void)
{
	struct futex_waitv w[2];
	struct timespec past = {0, 0};
	uint32_t *f = &words[0];
	*f = 5;

	entry(&w[0], f, 5, PRIV32);
	EXPECT_ERR(waitv(w, 1, 1, NULL, 0), EINVAL, "futex_waitv flags 1");
	EXPECT_ERR(waitv(w, 0, 0, NULL, 0), EINVAL, "futex_waitv nr 0");
	EXPECT_ERR(waitv(w, 129, 0, NULL, 0), EINVAL, "futex_waitv nr 129");
	EXPECT_ERR(waitv(NULL, 1, 0, NULL, 0), EINVAL, "futex_waitv NULL waiters");
	EXPECT_ERR(waitv(w, 1, 0, &past, CLOCK_BOOTTIME), EINVAL, "futex_waitv CLOCK_BOOTTIME");
	EXPECT_ERR(waitv(w, 1, 0, &past, CLOCK_PROCESS_CPUTIME_ID), EINVAL, "futex_waitv CLOCK_PROCESS_CPUTIME_ID");
	struct timespec bad_ns = {0, 1000000000L}, bad_sec = {-1, 0};
	EXPECT_ERR(waitv(w, 1, 0, &bad_ns, CLOCK_MONOTONIC), EINVAL, "futex_waitv tv_nsec 1e9");
	EXPECT_ERR(waitv(w, 1, 0, &bad_sec, CLOCK_REALTIME), EINVAL, "futex_waitv tv_sec -1");
	EXPECT_ERR(fwait(f, 5, ~0u, PRIV32, &bad_ns, CLOCK_MONOTONIC), EINVAL, "futex_wait tv_nsec 1e9");
	EXPECT_ERR(waitv(w, 1, 0, (struct timespec *)8, CLOCK_BOOTTIME), EINVAL, "futex_waitv bad clock before a bad timeout pointer");
	static const struct { uint32_t flags; const char *name; } bad[] = {
		{FUTEX2_SIZE_U8, "U8"}, {FUTEX2_SIZE_U16, "U16"}, {FUTEX2_SIZE_U64, "U64"},
		{FUTEX2_SIZE_U32 | 0x10, "unknown bit 0x10"}, {FUTEX2_SIZE_U32 | 0x100, "unknown bit 0x100"},
	};
	for (unsigned i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char what[80];
		entry(&w[0], f, 5, bad[i].flags | FUTEX2_PRIVATE);
		snprintf(what, sizeof what, "futex_waitv size/flags %s", bad[i].name);
		EXPECT_ERR(waitv(w, 1, 0, &past, CLOCK_MONOTONIC), EINVAL, what);
	}
	entry(&w[0], f, 5, PRIV32);
	w[0].__reserved = 1;
	EXPECT_ERR(waitv(w, 1, 0, &past, CLOCK_MONOTONIC), EINVAL, "futex_waitv reserved word");
	entry(&w[0], f, 0x100000005ull, PRIV32);
	EXPECT_ERR(waitv(w, 1, 0, &past, CLOCK_MONOTONIC), EINVAL, "futex_waitv value past 32 bits");
	entry(&w[0], (uint32_t *)((char *)f + 2), 5, PRIV32);
	EXPECT_ERR(waitv(w, 1, 0, &past, CLOCK_MONOTONIC), EINVAL, "futex_waitv unaligned address");
	entry(&w[0], f, 5, PRIV32);
	entry(&w[1], &words[1], 7, PRIV32);
	EXPECT_ERR(waitv(w, 2, 0, NULL, 0), EAGAIN, "futex_waitv second value differs");
	EXPECT_ERR(waitv(w, 2, 0, (struct timespec *)8, CLOCK_MONOTONIC), EFAULT, "futex_waitv bad timeout pointer");
	EXPECT_ERR(waitv((struct futex_waitv *)8, 1, 0, NULL, 0), EFAULT, "futex_waitv bad waiters pointer");
	entry(&w[1], (uint32_t *)8, 0, PRIV32);
	EXPECT_ERR(waitv(w, 2, 0, NULL, 0), EFAULT, "futex_waitv unmapped futex word");

	/* futex_wait */
	EXPECT_ERR(fwait(f, 5, ~0u, FUTEX2_SIZE_U64, NULL, 0), EINVAL, "futex_wait U64");
	EXPECT_ERR(fwait(f, 5, ~0u, FUTEX2_SIZE_U32 | 0x40, NULL, 0), EINVAL, "futex_wait unknown flag");
	EXPECT_ERR(fwait(f, 5, 0, PRIV32, NULL, 0), EINVAL, "futex_wait mask 0");
	EXPECT_ERR(fwait(f, 0x100000005ul, ~0u, PRIV32, NULL, 0), EINVAL, "futex_wait value past 32 bits");
	EXPECT_ERR(fwait(f, 5, 0x100000000ul, PRIV32, NULL, 0), EINVAL, "futex_wait mask past 32 bits");
	EXPECT_ERR(fwait(f, 6, ~0u, PRIV32, NULL, 0), EAGAIN, "futex_wait value differs");
	EXPECT_ERR(fwait(f, 5, ~0u, PRIV32, &past, 7), EINVAL, "futex_wait CLOCK_BOOTTIME");
	EXPECT_ERR(fwait((char *)f + 1, 5, ~0u, PRIV32, NULL, 0), EINVAL, "futex_wait unaligned");

	/* futex_wake */
	EXPECT_ERR(fwake(f, 0, 1, PRIV32), EINVAL, "futex_wake mask 0");
	EXPECT_ERR(fwake(f, ~0u, 1, FUTEX2_SIZE_U16), EINVAL, "futex_wake U16");
	EXPECT_ERR(fwake(f, 0x100000000ul, 1, PRIV32), EINVAL, "futex_wake mask past 32 bits");
	EXPECT_ERR(fwake((char *)f + 2, ~0u, 1, PRIV32), EINVAL, "futex_wake unaligned");
	check(fwake(f, ~0u, 1, PRIV32) == 0, "futex_wake with no waiters wakes 0");
	check(fwake(f, ~0u, 0, PRIV32) == 0, "futex_wake nr 0 wakes 0");
	check(fwake(NULL, ~0u, 1, PRIV32) == 0, "futex_wake of a private NULL word: 0 (a private key is only an address)");
	EXPECT_ERR(fwake(NULL, ~0u, 1, FUTEX2_SIZE_U32), EFAULT, "futex_wake of a shared NULL word");
	entry(&w[0], NULL, 0, PRIV32);
	EXPECT_ERR(waitv(w, 1, 0, NULL, 0), EFAULT, "futex_waitv of a NULL word");

	/* futex_requeue */
	entry(&w[0], f, 5, PRIV32);
	entry(&w[1], &words[1], 0, PRIV32);
	EXPECT_ERR(frequeue(w, 1, 1, 1), EINVAL, "futex_requeue flags 1");
	EXPECT_ERR(frequeue(NULL, 0, 1, 1), EINVAL, "futex_requeue NULL waiters");
	EXPECT_ERR(frequeue(w, 0, -1, 1), EINVAL, "futex_requeue nr_wake -1");
	EXPECT_ERR(frequeue(w, 0, 1, -1), EINVAL, "futex_requeue nr_requeue -1");
	w[1].flags = FUTEX2_SIZE_U8;
	EXPECT_ERR(frequeue(w, 0, 1, 1), EINVAL, "futex_requeue second U8");
	w[1].flags = PRIV32;
	w[0].val = 4;
	EXPECT_ERR(frequeue(w, 0, 1, 1), EAGAIN, "futex_requeue value differs");
	w[0].val = 5;
	check(frequeue(w, 0, 1, 1) == 0, "futex_requeue with no waiters: 0");
}

static void timeouts(void)
{
	struct futex_waitv w[128];
	struct timespec past = {0, 0}, t0, ts;
	for (int i = 0; i < 128; i++) {
		words[i] = 0;
		entry(&w[i], &words[i], 0, PRIV32);
	}
	EXPECT_ERR(waitv(w, 128, 0, &past, CLOCK_MONOTONIC), ETIMEDOUT, "futex_waitv of 128 futexes, end passed");
	EXPECT_ERR(fwait(&words[0], 0, ~0u, PRIV32, &past, CLOCK_REALTIME), ETIMEDOUT, "futex_wait end passed");

	clock_gettime(CLOCK_MONOTONIC, &t0);
	ts = in_ms(CLOCK_MONOTONIC, 60);
	EXPECT_ERR(waitv(w, 3, 0, &ts, CLOCK_MONOTONIC), ETIMEDOUT, "futex_waitv 60 ms on CLOCK_MONOTONIC");
	check(ms_since(&t0) >= 55, "  it waited");
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ts = in_ms(CLOCK_REALTIME, 60);
	EXPECT_ERR(waitv(w, 3, 0, &ts, CLOCK_REALTIME), ETIMEDOUT, "futex_waitv 60 ms on CLOCK_REALTIME");
	check(ms_since(&t0) >= 55, "  it waited");
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ts = in_ms(CLOCK_MONOTONIC, 60);
	EXPECT_ERR(fwait(&words[0], 0, ~0u, FUTEX2_SIZE_U32, &ts, CLOCK_MONOTONIC), ETIMEDOUT, "futex_wait 60 ms (shared) on CLOCK_MONOTONIC");
	check(ms_since(&t0) >= 55, "  it waited");
}

/* ---- threads ---- */

static uint32_t fa, fb, fc;
static long result;
static int result_errno;

static void *waitv_three(void *arg)
{
	uint32_t flags = (uint32_t)(uintptr_t)arg;
	struct futex_waitv w[3];
	entry(&w[0], &fa, 0, flags);
	entry(&w[1], &fb, 0, flags);
	entry(&w[2], &fc, 0, flags);
	result = waitv(w, 3, 0, NULL, 0);
	result_errno = errno;
	return NULL;
}

static void *classic_wait(void *arg)
{
	(void)arg;
	result = futex(&fa, FUTEX_WAIT | FUTEX_PRIVATE_FLAG, 0);
	result_errno = errno;
	return NULL;
}

static unsigned long wait_mask;

static void *futex2_wait(void *arg)
{
	uint32_t flags = (uint32_t)(uintptr_t)arg;
	result = fwait(&fa, 0, wait_mask, flags, NULL, 0);
	result_errno = errno;
	return NULL;
}

static void reset(void)
{
	fa = fb = fc = 0;
	result = -2;
	result_errno = 0;
}

static void cross_wake(void)
{
	pthread_t t;

	reset();
	pthread_create(&t, NULL, waitv_three, (void *)(uintptr_t)PRIV32);
	wait_for_waiters(&fc, 1, 1);
	check(waiters(&fa, 1) == 1 && waiters(&fb, 1) == 1 && waiters(&fc, 1) == 1, "futex_waitv waits on each of its three futexes");
	fb = 1;
	check(futex(&fb, FUTEX_WAKE | FUTEX_PRIVATE_FLAG, 1) == 1, "classic FUTEX_WAKE wakes the futex_waitv waiter");
	pthread_join(t, NULL);
	printf("futex_waitv returned %ld (the index of the woken futex)\n", result);
	check(waiters(&fa, 1) == 0 && waiters(&fc, 1) == 0, "woken, it waits on none of them");

	reset();
	pthread_create(&t, NULL, waitv_three, (void *)(uintptr_t)PRIV32);
	wait_for_waiters(&fc, 1, 1);
	check(fwake(&fc, ~0u, 1, PRIV32) == 1, "futex_wake wakes the futex_waitv waiter on its third futex");
	pthread_join(t, NULL);
	printf("futex_waitv returned %ld\n", result);

	reset();
	pthread_create(&t, NULL, classic_wait, NULL);
	wait_for_waiters(&fa, 1, 1);
	check(fwake(&fa, ~0u, 0, PRIV32) == 0, "futex_wake nr 0 leaves the classic waiter");
	check(fwake(&fa, ~0u, 1, PRIV32) == 1, "futex_wake wakes a classic FUTEX_WAIT_PRIVATE waiter");
	pthread_join(t, NULL);
	printf("FUTEX_WAIT returned %ld\n", result);

	reset();
	wait_mask = ~0u;
	pthread_create(&t, NULL, futex2_wait, (void *)(uintptr_t)FUTEX2_SIZE_U32);
	wait_for_waiters(&fa, 0, 1);
	check(futex(&fa, FUTEX_WAKE | FUTEX_PRIVATE_FLAG, 1) == 0, "a private FUTEX_WAKE does not wake a shared futex_wait");
	check(fwake(&fa, ~0u, 1, PRIV32) == 0, "nor a private futex_wake");
	check(futex(&fa, FUTEX_WAKE, 1) == 1, "a shared FUTEX_WAKE does");
	pthread_join(t, NULL);
	printf("futex_wait returned %ld\n", result);

	reset();
	wait_mask = 0x2;
	pthread_create(&t, NULL, futex2_wait, (void *)(uintptr_t)PRIV32);
	wait_for_waiters(&fa, 1, 1);
	check(fwake(&fa, 0x1, 1, PRIV32) == 0, "futex_wake mask 0x1 misses a wait with mask 0x2");
	check(fwake(&fa, 0x6, 1, PRIV32) == 1, "futex_wake mask 0x6 wakes it");
	pthread_join(t, NULL);

	reset();
	pthread_create(&t, NULL, waitv_three, (void *)(uintptr_t)FUTEX2_SIZE_U32);
	wait_for_waiters(&fa, 0, 1);
	check(futex(&fa, FUTEX_WAKE | FUTEX_PRIVATE_FLAG, 1) == 0, "a private wake misses a shared futex_waitv entry");
	check(futex(&fa, FUTEX_WAKE, 1) == 1, "a shared FUTEX_WAKE wakes it");
	pthread_join(t, NULL);
	printf("futex_waitv returned %ld\n", result);
}

static pthread_t two[2];
static long two_result[2];

static void *wait_a(void *arg)
{
	int i = (int)(uintptr_t)arg;
	two_result[i] = fwait(&fa, 0, ~0u, PRIV32, NULL, 0);
	return NULL;
}

static void requeue(void)
{
	struct futex_waitv w[2];
	reset();
	for (int i = 0; i < 2; i++)
		pthread_create(&two[i], NULL, wait_a, (void *)(uintptr_t)i);
	wait_for_waiters(&fa, 1, 2);
	entry(&w[0], &fa, 0, PRIV32);
	entry(&w[1], &fb, 0, PRIV32);
	check(frequeue(w, 0, 0, 1) == 1, "futex_requeue nr_wake 0 nr_requeue 1: 1");
	check(waiters(&fa, 1) == 1 && waiters(&fb, 1) == 1, "one waiter on each word");
	check(frequeue(w, 0, 1, 0) == 1, "futex_requeue nr_wake 1: wakes the one left");
	check(futex(&fb, FUTEX_WAKE | FUTEX_PRIVATE_FLAG, 1) == 1, "classic FUTEX_WAKE wakes the requeued one");
	for (int i = 0; i < 2; i++)
		pthread_join(two[i], NULL);
	check(two_result[0] == 0 && two_result[1] == 0, "both futex_wait calls returned 0");
}

/* ---- signals ---- */

static volatile sig_atomic_t handled;

static void on_usr1(int sig)
{
	(void)sig;
	handled++;
}

static void *waitv_timed(void *arg)
{
	(void)arg;
	struct futex_waitv w[1];
	struct timespec ts = in_ms(CLOCK_MONOTONIC, 5000);
	entry(&w[0], &fa, 0, PRIV32);
	result = waitv(w, 1, 0, &ts, CLOCK_MONOTONIC);
	result_errno = errno;
	return NULL;
}

static void signals(void)
{
	pthread_t t;
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_usr1;
	sigaction(SIGUSR1, &sa, NULL);

	reset();
	handled = 0;
	pthread_create(&t, NULL, waitv_timed, NULL);
	wait_for_waiters(&fa, 1, 1);
	pthread_kill(t, SIGUSR1);
	pthread_join(t, NULL);
	printf("futex_waitv after a handler without SA_RESTART: %s, handled %d\n", result == -1 ? errname(result_errno) : "success", handled);

	reset();
	handled = 0;
	wait_mask = ~0u;
	pthread_create(&t, NULL, futex2_wait, (void *)(uintptr_t)PRIV32);
	wait_for_waiters(&fa, 1, 1);
	pthread_kill(t, SIGUSR1);
	pthread_join(t, NULL);
	printf("futex_wait after a handler without SA_RESTART: %s, handled %d\n", result == -1 ? errname(result_errno) : "success", handled);

	sa.sa_flags = SA_RESTART;
	sigaction(SIGUSR1, &sa, NULL);
	reset();
	handled = 0;
	pthread_create(&t, NULL, waitv_three, (void *)(uintptr_t)PRIV32);
	wait_for_waiters(&fb, 1, 1);
	pthread_kill(t, SIGUSR1);
	for (int i = 0; i < 5000 && !handled; i++)
		usleep(1000);
	wait_for_waiters(&fb, 1, 1);
	check(waiters(&fb, 1) == 1, "with SA_RESTART futex_waitv waits again after the handler");
	check(fwake(&fb, ~0u, 1, PRIV32) == 1, "and is woken");
	pthread_join(t, NULL);
	printf("futex_waitv returned %ld, handled %d\n", result, handled);
}

/* ---- a forked child on MAP_SHARED memory ---- */

static void shared_child(void)
{
	uint32_t *m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED) {
		check(0, "mmap MAP_SHARED");
		return;
	}
	m[0] = m[1] = m[2] = 0;
	pid_t pid = fork();
	if (pid == 0) {
		struct futex_waitv w[3];
		entry(&w[0], &m[0], 0, FUTEX2_SIZE_U32);
		entry(&w[1], &m[1], 0, FUTEX2_SIZE_U32);
		entry(&w[2], &m[2], 0, FUTEX2_SIZE_U32 | FUTEX2_PRIVATE);
		long r = waitv(w, 3, 0, NULL, 0);
		_exit(r < 0 ? 100 : (int)r);
	}
	wait_for_waiters(&m[1], 0, 1);
	check(waiters(&m[1], 0) == 1, "the child waits on the shared word");
	check(waiters(&m[2], 1) == 0, "its private entry is not the parent's private futex");
	m[1] = 1;
	check(futex(&m[1], FUTEX_WAKE, 1) == 1, "a shared FUTEX_WAKE in the parent wakes the child's futex_waitv");
	int st;
	waitpid(pid, &st, 0);
	printf("child's futex_waitv returned %d\n", WIFEXITED(st) ? WEXITSTATUS(st) : -1);

	m[0] = m[1] = 0;
	pid = fork();
	if (pid == 0)
		_exit(fwait(&m[0], 0, ~0u, FUTEX2_SIZE_U32, NULL, 0) == 0 ? 0 : 1);
	wait_for_waiters(&m[0], 0, 1);
	check(fwake(&m[0], ~0u, 5, FUTEX2_SIZE_U32) == 1, "futex_wake in the parent wakes the child's futex_wait");
	waitpid(pid, &st, 0);
	check(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the child's futex_wait returned 0");

	/* A waiter killed in its wait leaves the queue: the next wake is not lost on it. */
	m[0] = 0;
	pid = fork();
	if (pid == 0) {
		struct futex_waitv w[2];
		entry(&w[0], &m[0], 0, FUTEX2_SIZE_U32);
		entry(&w[1], &m[1], 0, FUTEX2_SIZE_U32);
		waitv(w, 2, 0, NULL, 0);
		_exit(9);
	}
	wait_for_waiters(&m[0], 0, 1);
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	check(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "a child killed in futex_waitv");
	check(waiters(&m[0], 0) == 0 && waiters(&m[1], 0) == 0, "  is no longer a waiter on either word");
	check(futex(&m[0], FUTEX_WAKE, 1) == 0, "  and a wake finds nobody");
	munmap(m, 4096);
}

int main(void)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	errors();
	timeouts();
	cross_wake();
	requeue();
	signals();
	shared_child();
	printf("%s\n", failures ? "SOME FAILED" : "all ok");
	return failures != 0;
}
