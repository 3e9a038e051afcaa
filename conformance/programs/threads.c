/* POSIX threads: a mutex-protected counter incremented by 8 threads,
 * pthread_join / pthread_exit return values, per-thread __thread values,
 * a condition-variable ping-pong, pthread_once, a detached thread that
 * signals a semaphore, a thread with a big explicit stack, and timed waits
 * (pthread_cond_timedwait, sem_timedwait) that must time out. */
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

#define NTHREADS 8
#define PER_THREAD 100000

static pthread_mutex_t counter_lock = PTHREAD_MUTEX_INITIALIZER;
static long counter;

static __thread long tls_val;
static __thread int tls_init = 7;

static pthread_once_t once = PTHREAD_ONCE_INIT;
static int once_runs;
static void once_init(void)
{
	once_runs++;
}

static pid_t tids[NTHREADS];

static void *worker(void *arg)
{
	int id = (int)(intptr_t)arg;
	int bad = 0;
	if (tls_init != 7)
		bad = 1;
	tls_val = 1000L * (id + 1);
	tls_init = id;
	tids[id] = (pid_t)syscall(SYS_gettid);
	pthread_once(&once, once_init);
	for (int i = 0; i < PER_THREAD; i++) {
		pthread_mutex_lock(&counter_lock);
		counter++;
		pthread_mutex_unlock(&counter_lock);
		if (i % 10000 == 0)
			sched_yield();
	}
	if (tls_val != 1000L * (id + 1) || tls_init != id)
		bad = 1;
	if (bad)
		return (void *)(intptr_t)-1;
	if (id % 2)
		pthread_exit((void *)(intptr_t)(id * id + 1));
	return (void *)(intptr_t)(id * id);
}

/* Condition-variable ping-pong. */
static pthread_mutex_t pp_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t pp_cond = PTHREAD_COND_INITIALIZER;
static int pp_turn; /* 0: ping's turn, 1: pong's turn */
static int pp_count[2];
#define ROUNDS 1000

static void *pinger(void *arg)
{
	int me = (int)(intptr_t)arg;
	for (int r = 0; r < ROUNDS; r++) {
		pthread_mutex_lock(&pp_lock);
		while (pp_turn != me)
			pthread_cond_wait(&pp_cond, &pp_lock);
		pp_count[me]++;
		if (pp_count[me] != pp_count[1 - me] + (me == 0 ? 1 : 0)) {
			pthread_mutex_unlock(&pp_lock);
			return (void *)1;
		}
		pp_turn = 1 - me;
		pthread_cond_broadcast(&pp_cond);
		pthread_mutex_unlock(&pp_lock);
	}
	return NULL;
}

/* Detached thread + semaphore. */
static sem_t sem;
static volatile int detached_value;
static void *detached(void *arg)
{
	detached_value = (int)(intptr_t)arg;
	sem_post(&sem);
	return NULL;
}

/* A thread that uses most of a 1 MiB stack. */
static void *big_stack(void *arg)
{
	(void)arg;
	volatile char buf[768 * 1024];
	for (size_t i = 0; i < sizeof buf; i += 4096)
		buf[i] = (char)i;
	unsigned sum = 0;
	for (size_t i = 0; i < sizeof buf; i += 4096)
		sum += (unsigned char)buf[i];
	return (void *)(uintptr_t)sum;
}

static long ms_between(const struct timespec *a, const struct timespec *b)
{
	return (b->tv_sec - a->tv_sec) * 1000L + (b->tv_nsec - a->tv_nsec) / 1000000L;
}

static int ts_ge(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec > b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec >= b->tv_nsec);
}

static void add_ms(struct timespec *ts, long ms)
{
	ts->tv_nsec += ms * 1000000L;
	while (ts->tv_nsec >= 1000000000L) {
		ts->tv_nsec -= 1000000000L;
		ts->tv_sec++;
	}
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	tls_val = -5;
	tls_init = 99;

	/* Counter, join values, TLS, once. */
	{
		pthread_t th[NTHREADS];
		for (int i = 0; i < NTHREADS; i++) {
			int rc = pthread_create(&th[i], NULL, worker, (void *)(intptr_t)i);
			if (rc) {
				printf("FAIL pthread_create: %s\n", errname(rc));
				return 1;
			}
		}
		int joins_ok = 1;
		for (int i = 0; i < NTHREADS; i++) {
			void *ret;
			int rc = pthread_join(th[i], &ret);
			long want = (long)i * i + (i % 2);
			if (rc || (intptr_t)ret != want) {
				printf("FAIL join %d: rc %s, value %ld, want %ld\n", i, errname(rc), (long)(intptr_t)ret, want);
				joins_ok = 0;
			}
		}
		printf("counter: %ld\n", counter);
		if (counter != (long)NTHREADS * PER_THREAD)
			failures++;
		check(joins_ok, "pthread_join values (return and pthread_exit), per-thread TLS intact");
		check(tls_val == -5 && tls_init == 99, "main thread's TLS unchanged by threads");
		printf("pthread_once ran %d time(s)\n", once_runs);
		if (once_runs != 1)
			failures++;
		pid_t pid = getpid();
		int distinct = 1;
		for (int i = 0; i < NTHREADS; i++) {
			if (tids[i] == pid || tids[i] <= 0)
				distinct = 0;
			for (int j = 0; j < i; j++)
				if (tids[i] == tids[j])
					distinct = 0;
		}
		check(distinct, "thread ids distinct from each other and from the pid");
		check(syscall(SYS_gettid) == pid, "main thread's tid is the pid");
	}

	/* Condition-variable ping-pong. */
	{
		pthread_t a, b;
		pthread_create(&a, NULL, pinger, (void *)0);
		pthread_create(&b, NULL, pinger, (void *)1);
		void *ra, *rb;
		pthread_join(a, &ra);
		pthread_join(b, &rb);
		printf("ping-pong: %d + %d rounds, order %s\n", pp_count[0], pp_count[1],
		       ra == NULL && rb == NULL ? "strict" : "BROKEN");
		if (pp_count[0] != ROUNDS || pp_count[1] != ROUNDS || ra || rb)
			failures++;
	}

	/* Detached thread + semaphore. */
	{
		sem_init(&sem, 0, 0);
		pthread_attr_t attr;
		pthread_attr_init(&attr);
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		int ds = -1;
		pthread_attr_getdetachstate(&attr, &ds);
		check(ds == PTHREAD_CREATE_DETACHED, "attr detach state");
		pthread_t t;
		int rc = pthread_create(&t, &attr, detached, (void *)(intptr_t)1234);
		pthread_attr_destroy(&attr);
		check(rc == 0, "detached thread created");
		while (sem_wait(&sem) == -1 && errno == EINTR)
			;
		printf("detached thread posted the semaphore, value %d\n", detached_value);
		if (detached_value != 1234)
			failures++;
		int v = -1;
		sem_getvalue(&sem, &v);
		printf("semaphore value after wait: %d\n", v);
		errno = 0;
		int r = sem_trywait(&sem);
		printf("sem_trywait on zero: %d %s\n", r, errname(errno));
		/* A second thread detached after creation. */
		pthread_t t2;
		pthread_create(&t2, NULL, detached, (void *)(intptr_t)5678);
		check(pthread_detach(t2) == 0, "pthread_detach");
		while (sem_wait(&sem) == -1 && errno == EINTR)
			;
		printf("second detached thread value %d\n", detached_value);
		if (detached_value != 5678)
			failures++;
	}

	/* A thread with a 1 MiB stack. */
	{
		pthread_attr_t attr;
		pthread_attr_init(&attr);
		pthread_attr_setstacksize(&attr, 1 << 20);
		size_t sz = 0;
		pthread_attr_getstacksize(&attr, &sz);
		printf("requested stack size: %zu\n", sz);
		pthread_t t;
		int rc = pthread_create(&t, &attr, big_stack, NULL);
		pthread_attr_destroy(&attr);
		void *ret = NULL;
		if (rc == 0)
			pthread_join(t, &ret);
		unsigned want = 0;
		for (size_t i = 0; i < 768 * 1024; i += 4096)
			want += (unsigned char)(char)i;
		check(rc == 0 && (uintptr_t)ret == want, "768 KiB of stack used in a thread");
	}

	/* pthread_cond_timedwait with a 50 ms CLOCK_REALTIME deadline. */
	{
		pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
		pthread_cond_t c = PTHREAD_COND_INITIALIZER;
		struct timespec start, deadline, end;
		clock_gettime(CLOCK_REALTIME, &start);
		deadline = start;
		add_ms(&deadline, 50);
		pthread_mutex_lock(&m);
		int rc;
		do
			rc = pthread_cond_timedwait(&c, &m, &deadline);
		while (rc == 0); /* spurious wakeups */
		pthread_mutex_unlock(&m);
		clock_gettime(CLOCK_REALTIME, &end);
		printf("pthread_cond_timedwait: %s\n", errname(rc));
		if (rc != ETIMEDOUT)
			failures++;
		check(ts_ge(&end, &deadline), "returned no earlier than the deadline");
		check(ms_between(&start, &end) < 5000, "returned within 5 s");
	}

	/* The same with a CLOCK_MONOTONIC condition variable. */
	{
		pthread_condattr_t ca;
		pthread_condattr_init(&ca);
		pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		pthread_cond_t c;
		pthread_cond_init(&c, &ca);
		pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
		struct timespec deadline, end;
		clock_gettime(CLOCK_MONOTONIC, &deadline);
		add_ms(&deadline, 30);
		pthread_mutex_lock(&m);
		int rc;
		do
			rc = pthread_cond_timedwait(&c, &m, &deadline);
		while (rc == 0);
		pthread_mutex_unlock(&m);
		clock_gettime(CLOCK_MONOTONIC, &end);
		printf("pthread_cond_timedwait (CLOCK_MONOTONIC): %s\n", errname(rc));
		if (rc != ETIMEDOUT)
			failures++;
		check(ts_ge(&end, &deadline), "monotonic: returned no earlier than the deadline");
		pthread_cond_destroy(&c);
	}

	/* sem_timedwait that times out; a deadline already past. */
	{
		sem_t s;
		sem_init(&s, 0, 0);
		struct timespec deadline, end;
		clock_gettime(CLOCK_REALTIME, &deadline);
		add_ms(&deadline, 20);
		int r;
		do {
			errno = 0;
			r = sem_timedwait(&s, &deadline);
		} while (r == -1 && errno == EINTR);
		clock_gettime(CLOCK_REALTIME, &end);
		printf("sem_timedwait: %d %s\n", r, errname(errno));
		if (r != -1 || errno != ETIMEDOUT)
			failures++;
		check(ts_ge(&end, &deadline), "sem_timedwait returned no earlier than the deadline");
		struct timespec past = {1, 0};
		errno = 0;
		r = sem_timedwait(&s, &past);
		printf("sem_timedwait with a past deadline: %d %s\n", r, errname(errno));
	}

	/* pthread_mutex_trylock on a held mutex, from another thread's view. */
	{
		pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
		pthread_mutex_lock(&m);
		int rc = pthread_mutex_trylock(&m);
		printf("trylock on a held (normal) mutex: %s\n", errname(rc));
		pthread_mutex_unlock(&m);
		rc = pthread_mutex_trylock(&m);
		printf("trylock on a free mutex: %s\n", errname(rc));
		pthread_mutex_unlock(&m);
	}

	if (failures) {
		printf("threads: %d failures\n", failures);
		return 1;
	}
	printf("threads ok\n");
	return 0;
}
