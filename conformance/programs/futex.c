/* futex(2) directly: argument errors, FUTEX_WAKE_OP (every operation and
 * comparison), FUTEX_REQUEUE / FUTEX_CMP_REQUEUE, the BITSET forms, private
 * versus shared keys, relative and absolute (CLOCK_MONOTONIC and
 * CLOCK_REALTIME) timeouts; then robust futexes: the kernel's walk of a
 * set_robust_list list at thread death, and libc robust mutexes whose owner
 * (a thread, or a forked process) dies holding them (EOWNERDEAD).
 *
 * Waiters are counted without waking them with FUTEX_CMP_REQUEUE onto the
 * same word (nr_wake 0), so every count printed is exact, not timing. */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <semaphore.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

/* <linux/futex.h>, which musl's toolchain does not ship. */
#define FUTEX_WAIT 0
#define FUTEX_WAKE 1
#define FUTEX_REQUEUE 3
#define FUTEX_CMP_REQUEUE 4
#define FUTEX_WAKE_OP 5
#define FUTEX_WAIT_BITSET 9
#define FUTEX_WAKE_BITSET 10
#define FUTEX_PRIVATE_FLAG 128
#define FUTEX_CLOCK_REALTIME 256
#define FUTEX_WAIT_PRIVATE (FUTEX_WAIT | FUTEX_PRIVATE_FLAG)
#define FUTEX_WAKE_PRIVATE (FUTEX_WAKE | FUTEX_PRIVATE_FLAG)
#define FUTEX_WAKE_OP_PRIVATE (FUTEX_WAKE_OP | FUTEX_PRIVATE_FLAG)
#define FUTEX_BITSET_MATCH_ANY 0xffffffff
#define FUTEX_OP_SET 0
#define FUTEX_OP_ADD 1
#define FUTEX_OP_OR 2
#define FUTEX_OP_ANDN 3
#define FUTEX_OP_XOR 4
#define FUTEX_OP_OPARG_SHIFT 8
#define FUTEX_OP_CMP_EQ 0
#define FUTEX_OP_CMP_NE 1
#define FUTEX_OP_CMP_LT 2
#define FUTEX_OP_CMP_LE 3
#define FUTEX_OP_CMP_GT 4
#define FUTEX_OP_CMP_GE 5
#define FUTEX_OP(op, oparg, cmp, cmparg) \
	(int)((((unsigned)(op) & 0xf) << 28) | (((unsigned)(cmp) & 0xf) << 24) | (((unsigned)(oparg) & 0xfff) << 12) | ((unsigned)(cmparg) & 0xfff))
#define FUTEX_WAITERS 0x80000000
#define FUTEX_OWNER_DIED 0x40000000
#define FUTEX_TID_MASK 0x3fffffff
struct robust_list {
	struct robust_list *next;
};
struct robust_list_head {
	struct robust_list list;
	long futex_offset;
	struct robust_list *list_op_pending;
};

static const char *ename(int e)
{
	if (e == EOWNERDEAD)
		return "EOWNERDEAD";
	if (e == ENOTRECOVERABLE)
		return "ENOTRECOVERABLE";
	return errname(e);
}

static long fx(int *uaddr, int op, int val, const void *timeout_or_val2, int *uaddr2, int val3)
{
	return syscall(SYS_futex, uaddr, op, val, timeout_or_val2, uaddr2, val3);
}

/* "-1 EAGAIN" or "3". */
static const char *res(long r)
{
	static char buf[4][64];
	static int i;
	char *b = buf[i++ % 4];
	if (r == -1)
		snprintf(b, 64, "-1 %s", errname(errno));
	else
		snprintf(b, 64, "%ld", r);
	return b;
}

static void *as_val2(long n)
{
	return (void *)(intptr_t)n;
}

/* Waiters parked on *w under `priv` keys, without waking any. */
static long waiters(int *w, int priv)
{
	for (;;) {
		long n = fx(w, FUTEX_CMP_REQUEUE | priv, 0, as_val2(INT_MAX), w, *w);
		if (n >= 0 || errno != EAGAIN)
			return n;
	}
}

static void wait_for_waiters(int *w, int priv, long n)
{
	for (int i = 0; i < 20000 && waiters(w, priv) != n; i++)
		usleep(500);
}

/* A thread that waits once on a futex word and records how it ended. */
struct waiter {
	pthread_t th;
	int *addr;
	int val;
	int op;
	unsigned bitset;
	const struct timespec *timeout;
	long ret;
	int err;
	volatile int done;
};

static void *waiter_main(void *arg)
{
	struct waiter *w = arg;
	errno = 0;
	w->ret = fx(w->addr, w->op, w->val, w->timeout, NULL, (int)w->bitset);
	w->err = errno;
	__atomic_store_n(&w->done, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

static void park(struct waiter *w, int *addr, int op, unsigned bitset)
{
	memset(w, 0, sizeof *w);
	w->addr = addr;
	w->val = *addr;
	w->op = op;
	w->bitset = bitset;
	pthread_create(&w->th, NULL, waiter_main, w);
}

static void join(struct waiter *w)
{
	pthread_join(w->th, NULL);
}

static void wait_done(struct waiter *w)
{
	for (int i = 0; i < 20000 && !__atomic_load_n(&w->done, __ATOMIC_SEQ_CST); i++)
		usleep(500);
}

static void argument_errors(void)
{
	static int word;
	static int words[2];
	struct timespec bad = {0, 1000000000L};
	word = 5;
	printf("misaligned FUTEX_WAKE: %s\n", res(fx((int *)((char *)words + 1), FUTEX_WAKE, 1, NULL, NULL, 0)));
	printf("unknown command 14: %s\n", res(fx(&word, 14, 1, NULL, NULL, 0)));
	printf("FUTEX_WAIT, value differs: %s\n", res(fx(&word, FUTEX_WAIT, 4, NULL, NULL, 0)));
	printf("FUTEX_WAIT, bad timespec, value differs: %s\n", res(fx(&word, FUTEX_WAIT, 4, &bad, NULL, 0)));
	printf("FUTEX_WAIT_BITSET, bitset 0: %s\n", res(fx(&word, FUTEX_WAIT_BITSET, 5, NULL, NULL, 0)));
	printf("FUTEX_WAKE_BITSET, bitset 0: %s\n", res(fx(&word, FUTEX_WAKE_BITSET, 1, NULL, NULL, 0)));
	printf("FUTEX_WAKE | FUTEX_CLOCK_REALTIME: %s\n", res(fx(&word, FUTEX_WAKE | FUTEX_CLOCK_REALTIME, 1, NULL, NULL, 0)));
	printf("FUTEX_WAIT | FUTEX_CLOCK_REALTIME: %s\n", res(fx(&word, FUTEX_WAIT | FUTEX_CLOCK_REALTIME, 5, NULL, NULL, 0)));
	printf("FUTEX_WAKE, nobody waits: %s\n", res(fx(&word, FUTEX_WAKE, INT_MAX, NULL, NULL, 0)));
	printf("FUTEX_REQUEUE, nr_wake -1: %s\n", res(fx(&word, FUTEX_REQUEUE, -1, as_val2(1), &words[0], 0)));
	printf("FUTEX_REQUEUE, nr_requeue -1: %s\n", res(fx(&word, FUTEX_REQUEUE, 1, as_val2(-1), &words[0], 0)));
	printf("FUTEX_CMP_REQUEUE, value differs: %s\n", res(fx(&word, FUTEX_CMP_REQUEUE, 1, as_val2(1), &words[0], 4)));
	printf("FUTEX_CMP_REQUEUE, misaligned uaddr2: %s\n",
	       res(fx(&word, FUTEX_CMP_REQUEUE, 1, as_val2(1), (int *)((char *)words + 2), 5)));
	printf("FUTEX_WAKE_OP, misaligned uaddr2: %s\n", res(fx(&word, FUTEX_WAKE_OP, 1, as_val2(1), (int *)((char *)words + 2), 0)));
	printf("FUTEX_WAKE_OP, uaddr2 NULL: %s\n", res(fx(&word, FUTEX_WAKE_OP, 1, as_val2(1), NULL, 0)));
	words[1] = 9;
	const char *r = res(fx(&word, FUTEX_WAKE_OP, 1, as_val2(1), &words[1], 7 << 28));
	printf("FUTEX_WAKE_OP, operation 7: %s, word %d\n", r, words[1]);
	/* An unknown comparison answers ENOSYS, after the store. */
	r = res(fx(&word, FUTEX_WAKE_OP, 1, as_val2(1), &words[1], FUTEX_OP(FUTEX_OP_ADD, 3, 9, 0)));
	printf("FUTEX_WAKE_OP, comparison 9: %s, word %d\n", r, words[1]);
}

/* *uaddr2 OP oparg, as FUTEX_WAKE_OP stores it; nobody waits, so it returns 0. */
static void wake_op_arithmetic(void)
{
	static int a, b;
	static const struct {
		const char *name;
		int op, oparg, start;
	} cases[] = {
		{"SET 42", FUTEX_OP_SET, 42, 7},
		{"SET -5", FUTEX_OP_SET, -5, 7},
		{"ADD 100", FUTEX_OP_ADD, 100, 7},
		{"ADD -2048", FUTEX_OP_ADD, -2048, 7},
		{"ADD 1 to INT_MAX", FUTEX_OP_ADD, 1, INT_MAX},
		{"OR 0x0f0", FUTEX_OP_OR, 0x0f0, 0x303},
		{"ANDN 0x00f", FUTEX_OP_ANDN, 0x00f, 0x3ff},
		{"XOR 0x7ff", FUTEX_OP_XOR, 0x7ff, 0x123},
		{"SET 1<<31 (OPARG_SHIFT)", FUTEX_OP_SET | FUTEX_OP_OPARG_SHIFT, 31, 0},
		{"OR 1<<5 (OPARG_SHIFT)", FUTEX_OP_OR | FUTEX_OP_OPARG_SHIFT, 5, 1},
		{"ANDN 1<<0 (OPARG_SHIFT)", FUTEX_OP_ANDN | FUTEX_OP_OPARG_SHIFT, 0, 3},
		{"XOR 1<<(40&31) (OPARG_SHIFT, out of range)", FUTEX_OP_XOR | FUTEX_OP_OPARG_SHIFT, 40, 0},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		b = cases[i].start;
		long r = fx(&a, FUTEX_WAKE_OP_PRIVATE, 1, as_val2(1), &b,
			    FUTEX_OP(cases[i].op, cases[i].oparg & 0xfff, FUTEX_OP_CMP_EQ, 0));
		printf("WAKE_OP %s on %d: %s, word 0x%x\n", cases[i].name, cases[i].start, res(r), (unsigned)b);
	}
}

/* Each comparison, true and false: 1 waiter on a, 2 on b; nr_wake 1, nr_wake2 1. */
static void wake_op_comparisons(void)
{
	static int a, b;
	static const struct {
		const char *name;
		int cmp;
	} cmps[] = {
		{"EQ", FUTEX_OP_CMP_EQ}, {"NE", FUTEX_OP_CMP_NE}, {"LT", FUTEX_OP_CMP_LT},
		{"LE", FUTEX_OP_CMP_LE}, {"GT", FUTEX_OP_CMP_GT}, {"GE", FUTEX_OP_CMP_GE},
	};
	static const int cmpargs[] = {-1, 0, 1};
	for (size_t c = 0; c < sizeof cmps / sizeof cmps[0]; c++) {
		for (size_t k = 0; k < sizeof cmpargs / sizeof cmpargs[0]; k++) {
			a = 0;
			b = 0;
			struct waiter wa, wb[2];
			park(&wa, &a, FUTEX_WAIT_PRIVATE, 0);
			park(&wb[0], &b, FUTEX_WAIT_PRIVATE, 0);
			park(&wb[1], &b, FUTEX_WAIT_PRIVATE, 0);
			wait_for_waiters(&a, FUTEX_PRIVATE_FLAG, 1);
			wait_for_waiters(&b, FUTEX_PRIVATE_FLAG, 2);
			/* old value of b is 0; it becomes 0 + 10. */
			long r = fx(&a, FUTEX_WAKE_OP_PRIVATE, 1, as_val2(1), &b,
				    FUTEX_OP(FUTEX_OP_ADD, 10, cmps[c].cmp, cmpargs[k] & 0xfff));
			long left_a = waiters(&a, FUTEX_PRIVATE_FLAG);
			long left_b = waiters(&b, FUTEX_PRIVATE_FLAG);
			printf("WAKE_OP ADD 10, CMP_%s old(0) vs %d: woke %s, left a:%ld b:%ld, b=%d\n", cmps[c].name, cmpargs[k],
			       res(r), left_a, left_b, b);
			fx(&a, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
			fx(&b, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
			join(&wa);
			join(&wb[0]);
			join(&wb[1]);
		}
	}
	/* nr_wake 0 still wakes one (Linux counts after waking); nr_wake2 2 wakes both. */
	a = b = 0;
	struct waiter w[4];
	park(&w[0], &a, FUTEX_WAIT_PRIVATE, 0);
	park(&w[1], &a, FUTEX_WAIT_PRIVATE, 0);
	park(&w[2], &b, FUTEX_WAIT_PRIVATE, 0);
	park(&w[3], &b, FUTEX_WAIT_PRIVATE, 0);
	wait_for_waiters(&a, FUTEX_PRIVATE_FLAG, 2);
	wait_for_waiters(&b, FUTEX_PRIVATE_FLAG, 2);
	const char *r = res(fx(&a, FUTEX_WAKE_OP_PRIVATE, 0, as_val2(2), &b, FUTEX_OP(FUTEX_OP_SET, 1, FUTEX_OP_CMP_EQ, 0)));
	long left_a = waiters(&a, FUTEX_PRIVATE_FLAG);
	long left_b = waiters(&b, FUTEX_PRIVATE_FLAG);
	printf("WAKE_OP nr_wake 0, nr_wake2 2: woke %s, left a:%ld b:%ld\n", r, left_a, left_b);
	fx(&a, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
	for (int i = 0; i < 4; i++) {
		join(&w[i]);
		if (w[i].ret != 0)
			printf("FAIL waiter %d: %s\n", i, res(w[i].ret));
	}
}

/* Runs a futex call, then counts the waiters left on a and b: "<result>, left a:N b:M". */
static const char *after(long r, int *a, int *b, int priv)
{
	static char buf[2][128];
	static int i;
	char *o = buf[i++ % 2];
	const char *rs = res(r);
	long na = waiters(a, priv);
	if (b)
		snprintf(o, 128, "%s, left a:%ld b:%ld", rs, na, waiters(b, priv));
	else
		snprintf(o, 128, "%s, left %ld", rs, na);
	return o;
}

static void wake_counts_and_keys(void)
{
	static int a;
	struct waiter w[3];
	const int P = FUTEX_PRIVATE_FLAG;
	/* FUTEX_WAKE with 0 wakes one. */
	a = 0;
	for (int i = 0; i < 3; i++)
		park(&w[i], &a, FUTEX_WAIT_PRIVATE, 0);
	wait_for_waiters(&a, P, 3);
	printf("FUTEX_WAKE 0 with 3 waiters: %s\n", after(fx(&a, FUTEX_WAKE_PRIVATE, 0, NULL, NULL, 0), &a, NULL, P));
	printf("FUTEX_WAKE 1: %s\n", after(fx(&a, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0), &a, NULL, P));
	printf("FUTEX_WAKE INT_MAX: %s\n", after(fx(&a, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0), &a, NULL, P));
	for (int i = 0; i < 3; i++)
		join(&w[i]);

	/* Private and shared keys never match, even on private memory. */
	park(&w[0], &a, FUTEX_WAIT_PRIVATE, 0);
	park(&w[1], &a, FUTEX_WAIT, 0);
	wait_for_waiters(&a, P, 1);
	wait_for_waiters(&a, 0, 1);
	long np = waiters(&a, P);
	long ns = waiters(&a, 0);
	printf("one private and one shared waiter: private count %ld, shared count %ld\n", np, ns);
	printf("shared FUTEX_WAKE: %s (private)\n", after(fx(&a, FUTEX_WAKE, INT_MAX, NULL, NULL, 0), &a, NULL, P));
	join(&w[1]);
	printf("private FUTEX_WAKE: %s\n", res(fx(&a, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0)));
	join(&w[0]);

	/* Shared keys on MAP_SHARED memory, across fork. */
	int *shm = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (shm == MAP_FAILED) {
		printf("FAIL mmap: %s\n", errname(errno));
		failures++;
		return;
	}
	shm[0] = 0;
	shm[1] = 0;
	pid_t pid = fork();
	if (pid == 0) {
		__atomic_store_n(&shm[1], 1, __ATOMIC_SEQ_CST);
		long r = fx(&shm[0], FUTEX_WAIT, 0, NULL, NULL, 0);
		_exit(r == 0 ? 0 : 1);
	}
	while (__atomic_load_n(&shm[1], __ATOMIC_SEQ_CST) == 0)
		usleep(500);
	wait_for_waiters(&shm[0], 0, 1);
	printf("child waits on a MAP_SHARED word: shared count %ld\n", waiters(&shm[0], 0));
	printf("parent's shared FUTEX_WAKE: %s\n", res(fx(&shm[0], FUTEX_WAKE, 1, NULL, NULL, 0)));
	int st = -1;
	waitpid(pid, &st, 0);
	check(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the child's FUTEX_WAIT returned 0");
	munmap(shm, 4096);
}

static void requeue(int priv)
{
	static int a, b;
	struct waiter w[5];
	a = 1;
	b = 2;
	for (int i = 0; i < 5; i++)
		park(&w[i], &a, FUTEX_WAIT | priv, 0);
	wait_for_waiters(&a, priv, 5);
	const char *kind = priv ? "private" : "shared";
	printf("%s CMP_REQUEUE wake 1, requeue 2: %s\n", kind, after(fx(&a, FUTEX_CMP_REQUEUE | priv, 1, as_val2(2), &b, 1), &a, &b, priv));
	printf("%s CMP_REQUEUE, value differs: %s\n", kind, after(fx(&a, FUTEX_CMP_REQUEUE | priv, 1, as_val2(2), &b, 7), &a, &b, priv));
	printf("%s REQUEUE wake 0, requeue 1: %s\n", kind, after(fx(&a, FUTEX_REQUEUE | priv, 0, as_val2(1), &b, 0), &a, &b, priv));
	printf("%s REQUEUE wake 0, requeue 0: %s\n", kind, after(fx(&a, FUTEX_REQUEUE | priv, 0, as_val2(0), &b, 0), &a, &b, priv));
	printf("%s REQUEUE with the other key kind: %s\n", kind,
	       after(fx(&a, FUTEX_REQUEUE | (priv ^ FUTEX_PRIVATE_FLAG), 1, as_val2(1), &b, 0), &a, &b, priv));
	printf("%s wake on a: %s\n", kind, res(fx(&a, FUTEX_WAKE | priv, INT_MAX, NULL, NULL, 0)));
	printf("%s wake on b: %s\n", kind, res(fx(&b, FUTEX_WAKE | priv, INT_MAX, NULL, NULL, 0)));
	int ok = 1;
	for (int i = 0; i < 5; i++) {
		join(&w[i]);
		ok &= w[i].ret == 0;
	}
	check(ok, "every woken or requeued waiter returned 0");
}

static void bitsets(int priv)
{
	static int a;
	struct waiter w[4];
	static const unsigned masks[] = {1, 2, 4, FUTEX_BITSET_MATCH_ANY};
	a = 0;
	for (int i = 0; i < 4; i++)
		park(&w[i], &a, FUTEX_WAIT_BITSET | priv, masks[i]);
	wait_for_waiters(&a, priv, 4);
	const char *kind = priv ? "private" : "shared";
	long r = fx(&a, FUTEX_WAKE_BITSET | priv, INT_MAX, NULL, NULL, 2);
	wait_done(&w[1]);
	wait_done(&w[3]);
	printf("%s WAKE_BITSET 2: %s; done %d%d%d%d\n", kind, res(r), w[0].done, w[1].done, w[2].done, w[3].done);
	r = fx(&a, FUTEX_WAKE_BITSET | priv, 1, NULL, NULL, 8);
	printf("%s WAKE_BITSET 8: %s\n", kind, res(r));
	printf("%s WAKE_BITSET 5, one: %s\n", kind, after(fx(&a, FUTEX_WAKE_BITSET | priv, 1, NULL, NULL, 5), &a, NULL, priv));
	r = fx(&a, FUTEX_WAKE | priv, INT_MAX, NULL, NULL, 0);
	printf("%s plain FUTEX_WAKE: %s\n", kind, res(r));
	int ok = 1;
	for (int i = 0; i < 4; i++) {
		join(&w[i]);
		ok &= w[i].ret == 0;
	}
	check(ok, "bitset waiters returned 0");
}

static long ns_between(const struct timespec *a, const struct timespec *b)
{
	return (b->tv_sec - a->tv_sec) * 1000000000L + (b->tv_nsec - a->tv_nsec);
}

static int ts_ge(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec > b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec >= b->tv_nsec);
}

static struct timespec plus_ms(struct timespec t, long ms)
{
	t.tv_nsec += ms * 1000000L;
	while (t.tv_nsec >= 1000000000L) {
		t.tv_nsec -= 1000000000L;
		t.tv_sec++;
	}
	return t;
}

static void timeouts(int priv)
{
	static int a;
	const char *kind = priv ? "private" : "shared";
	struct timespec start, end, deadline, rel = {0, 30 * 1000000L}, zero = {0, 0};
	long r;

	clock_gettime(CLOCK_MONOTONIC, &start);
	r = fx(&a, FUTEX_WAIT | priv, 0, &rel, NULL, 0);
	clock_gettime(CLOCK_MONOTONIC, &end);
	printf("%s FUTEX_WAIT, relative 30 ms: %s\n", kind, res(r));
	check(ns_between(&start, &end) >= 30 * 1000000L, "relative: no earlier than 30 ms");
	check(ns_between(&start, &end) < 5000 * 1000000L, "relative: within 5 s");

	printf("%s FUTEX_WAIT, zero timeout: %s\n", kind, res(fx(&a, FUTEX_WAIT | priv, 0, &zero, NULL, 0)));

	clock_gettime(CLOCK_MONOTONIC, &start);
	deadline = plus_ms(start, 30);
	r = fx(&a, FUTEX_WAIT_BITSET | priv, 0, &deadline, NULL, FUTEX_BITSET_MATCH_ANY);
	clock_gettime(CLOCK_MONOTONIC, &end);
	printf("%s FUTEX_WAIT_BITSET, CLOCK_MONOTONIC deadline: %s\n", kind, res(r));
	check(ts_ge(&end, &deadline), "monotonic: no earlier than the deadline");

	clock_gettime(CLOCK_REALTIME, &start);
	deadline = plus_ms(start, 30);
	r = fx(&a, FUTEX_WAIT_BITSET | FUTEX_CLOCK_REALTIME | priv, 0, &deadline, NULL, FUTEX_BITSET_MATCH_ANY);
	clock_gettime(CLOCK_REALTIME, &end);
	printf("%s FUTEX_WAIT_BITSET, CLOCK_REALTIME deadline: %s\n", kind, res(r));
	check(ts_ge(&end, &deadline), "realtime: no earlier than the deadline");

	/* A monotonic deadline long past, and a realtime deadline in 1970. */
	struct timespec past = {1, 0};
	printf("%s FUTEX_WAIT_BITSET, past deadlines: %s %s\n", kind,
	       res(fx(&a, FUTEX_WAIT_BITSET | priv, 0, &past, NULL, FUTEX_BITSET_MATCH_ANY)),
	       res(fx(&a, FUTEX_WAIT_BITSET | FUTEX_CLOCK_REALTIME | priv, 0, &past, NULL, FUTEX_BITSET_MATCH_ANY)));

	/* A timed waiter woken long before its 10 s timeout. */
	struct timespec ten = {10, 0};
	struct waiter w;
	memset(&w, 0, sizeof w);
	w.addr = &a;
	w.op = FUTEX_WAIT | priv;
	w.timeout = &ten;
	clock_gettime(CLOCK_MONOTONIC, &start);
	pthread_create(&w.th, NULL, waiter_main, &w);
	wait_for_waiters(&a, priv, 1);
	r = fx(&a, FUTEX_WAKE | priv, 1, NULL, NULL, 0);
	join(&w);
	clock_gettime(CLOCK_MONOTONIC, &end);
	printf("%s timed waiter woken: wake %s, wait %s\n", kind, res(r), w.ret == -1 ? errname(w.err) : "0");
	check(ns_between(&start, &end) < 5000 * 1000000L, "woken well before its timeout");
}

/* The kernel's walk of a robust list: a thread registers its own list and dies with raw exit(2). */
struct rentry {
	struct rentry *next;
	int word;
};
static struct robust_list_head rhead;
static struct rentry owned, foreign, pending, pi_owned;
static volatile int robust_ready;
static long got_head_ok, got_len;

static void *robust_dier(void *arg)
{
	(void)arg;
	int tid = (int)syscall(SYS_gettid);
	owned.word = tid | FUTEX_WAITERS;
	foreign.word = (tid ^ 1) | FUTEX_WAITERS;
	pending.word = 0;
	pi_owned.word = tid;
	rhead.list.next = (struct robust_list *)&owned;
	owned.next = &foreign;
	foreign.next = (struct rentry *)((uintptr_t)&pi_owned | 1); /* bit 0: a PI futex */
	pi_owned.next = (struct rentry *)&rhead.list;
	rhead.futex_offset = offsetof(struct rentry, word) - offsetof(struct rentry, next);
	rhead.list_op_pending = (struct robust_list *)&pending;
	printf("set_robust_list, bad length: %s\n", res(syscall(SYS_set_robust_list, &rhead, sizeof rhead + 1)));
	long r = syscall(SYS_set_robust_list, &rhead, sizeof rhead);
	struct robust_list_head *h = NULL;
	size_t len = 0;
	long g = syscall(SYS_get_robust_list, 0, &h, &len);
	got_head_ok = r == 0 && g == 0 && h == &rhead;
	got_len = (long)len;
	__atomic_store_n(&robust_ready, 1, __ATOMIC_SEQ_CST);
	/* Die once the two waiters are parked (shared keys: the kernel wakes with those). */
	wait_for_waiters(&owned.word, 0, 1);
	wait_for_waiters(&pending.word, 0, 1);
	syscall(SYS_exit, 0);
	return NULL;
}

static void robust_list_walk(void)
{
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_t t;
	pthread_create(&t, &attr, robust_dier, NULL);
	pthread_attr_destroy(&attr);
	while (!__atomic_load_n(&robust_ready, __ATOMIC_SEQ_CST))
		usleep(500);
	printf("get_robust_list: head %s, len %ld\n", got_head_ok ? "as set" : "WRONG", got_len);
	struct waiter w_owned, w_pending;
	park(&w_owned, &owned.word, FUTEX_WAIT, 0);
	park(&w_pending, &pending.word, FUTEX_WAIT, 0);
	join(&w_owned);
	join(&w_pending);
	printf("waiter on the dead thread's lock: %s; waiter on the pending op's word: %s\n",
	       w_owned.ret == 0 ? "woken" : errname(w_owned.err), w_pending.ret == 0 ? "woken" : errname(w_pending.err));
	printf("owned word: 0x%08x\n", (unsigned)owned.word);
	printf("foreign word: %s\n", (foreign.word & FUTEX_TID_MASK) != 0 && (foreign.word & FUTEX_OWNER_DIED) == 0 ? "unchanged" : "CHANGED");
	printf("PI word: 0x%08x\n", (unsigned)pi_owned.word);
	printf("pending word: %d\n", pending.word);
}

/* libc robust mutexes. */
static pthread_mutex_t rm;
static sem_t rm_locked;

static void *lock_and_die(void *arg)
{
	int linger = (int)(intptr_t)arg;
	pthread_mutex_lock(&rm);
	sem_post(&rm_locked);
	if (linger)
		usleep(50000);
	return NULL;
}

static void robust_mutex_thread(int linger)
{
	pthread_mutexattr_t ma;
	pthread_mutexattr_init(&ma);
	pthread_mutexattr_setrobust(&ma, PTHREAD_MUTEX_ROBUST);
	pthread_mutex_init(&rm, &ma);
	pthread_mutexattr_destroy(&ma);
	sem_init(&rm_locked, 0, 0);
	pthread_t t;
	pthread_create(&t, NULL, lock_and_die, (void *)(intptr_t)linger);
	while (sem_wait(&rm_locked) == -1 && errno == EINTR)
		;
	if (!linger)
		pthread_join(t, NULL);
	int rc = pthread_mutex_lock(&rm);
	printf("robust mutex, owner thread %s: lock %s\n", linger ? "dies while we wait" : "dead", ename(rc));
	if (rc == EOWNERDEAD) {
		printf("pthread_mutex_consistent: %s\n", ename(pthread_mutex_consistent(&rm)));
		printf("unlock: %s\n", ename(pthread_mutex_unlock(&rm)));
		printf("lock again: %s\n", ename(pthread_mutex_lock(&rm)));
		pthread_mutex_unlock(&rm);
	} else {
		failures++;
	}
	if (linger)
		pthread_join(t, NULL);
	pthread_mutex_destroy(&rm);
}

static void robust_mutex_process(int linger)
{
	pthread_mutex_t *m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED) {
		printf("FAIL mmap: %s\n", errname(errno));
		failures++;
		return;
	}
	pthread_mutexattr_t ma;
	pthread_mutexattr_init(&ma);
	pthread_mutexattr_setrobust(&ma, PTHREAD_MUTEX_ROBUST);
	pthread_mutexattr_setpshared(&ma, PTHREAD_PROCESS_SHARED);
	pthread_mutex_init(m, &ma);
	pthread_mutexattr_destroy(&ma);
	int p[2];
	if (pipe(p) != 0)
		return;
	pid_t pid = fork();
	if (pid == 0) {
		pthread_mutex_lock(m);
		char c = 'x';
		if (write(p[1], &c, 1) != 1)
			_exit(2);
		if (linger)
			usleep(50000);
		_exit(0);
	}
	char c;
	if (read(p[0], &c, 1) != 1)
		failures++;
	if (!linger)
		waitpid(pid, NULL, 0);
	int rc = pthread_mutex_lock(m);
	printf("process-shared robust mutex, owner process %s: lock %s\n", linger ? "dies while we wait" : "dead", ename(rc));
	if (rc == EOWNERDEAD) {
		printf("pthread_mutex_consistent: %s\n", ename(pthread_mutex_consistent(m)));
		pthread_mutex_unlock(m);
	} else {
		failures++;
	}
	if (linger)
		waitpid(pid, NULL, 0);
	close(p[0]);
	close(p[1]);
	munmap(m, 4096);
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	alarm(60);
	argument_errors();
	wake_op_arithmetic();
	wake_op_comparisons();
	wake_counts_and_keys();
	requeue(FUTEX_PRIVATE_FLAG);
	requeue(0);
	bitsets(FUTEX_PRIVATE_FLAG);
	bitsets(0);
	timeouts(FUTEX_PRIVATE_FLAG);
	timeouts(0);
	robust_mutex_thread(0);
	robust_mutex_thread(1);
	robust_mutex_process(0);
	robust_mutex_process(1);
	/* Last: its thread ends with a raw exit(2), which libc's thread list never hears of. */
	robust_list_walk();
	if (failures) {
		printf("futex: %d failures\n", failures);
		return 1;
	}
	printf("futex ok\n");
	return 0;
}
