/* Preemption: threads that only compute (no syscalls at all) must not
 * starve the others. On nommu's one CPU only the watchdog's time slices can
 * take the CPU from such a loop.
 *
 *   sched_fair            the fairness checks (differential)
 *   sched_fair deadlock   two threads take two mutexes in opposite orders and
 *                         block forever (for the kernel's deadlock report) */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static volatile unsigned long counter;
static volatile int stop;

static void *spin(void *arg)
{
	volatile unsigned long *c = arg;
	while (!stop)
		(*c)++;
	return NULL;
}

static pthread_mutex_t ma = PTHREAD_MUTEX_INITIALIZER, mb = PTHREAD_MUTEX_INITIALIZER;
static pthread_barrier_t both_hold_one;

static void *take_b_then_a(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&mb);
	pthread_barrier_wait(&both_hold_one);
	pthread_mutex_lock(&ma);
	return NULL;
}

static int deadlock(void)
{
	pthread_barrier_init(&both_hold_one, NULL, 2);
	pthread_t t;
	pthread_create(&t, NULL, take_b_then_a, NULL);
	pthread_mutex_lock(&ma);
	pthread_barrier_wait(&both_hold_one);
	printf("both threads hold one mutex; each now waits for the other's\n");
	fflush(stdout);
	pthread_mutex_lock(&mb);
	printf("FAIL: the deadlock did not happen\n");
	return 1;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc > 1 && strcmp(argv[1], "deadlock") == 0)
		return deadlock();

	/* One spinner; this thread watches its counter, itself spinning between prints. */
	pthread_t t;
	pthread_create(&t, NULL, spin, (void *)&counter);
	for (int i = 1; i <= 5; i++) {
		unsigned long seen = counter;
		while (counter < seen + 100000)
			;
		printf("progress %d: the spinning thread's counter advanced\n", i);
	}
	stop = 1;
	pthread_join(t, NULL);
	printf("spinner stopped after the watcher saw it advance 5 times\n");

	/* Two spinners while this thread sleeps: both must get CPU time. */
	stop = 0;
	static volatile unsigned long c1, c2;
	pthread_t t1, t2;
	pthread_create(&t1, NULL, spin, (void *)&c1);
	pthread_create(&t2, NULL, spin, (void *)&c2);
	struct timespec nap = {0, 200 * 1000000L};
	nanosleep(&nap, NULL);
	/* Then keep watching until both have counted, without a syscall. */
	while (c1 < 100000 || c2 < 100000)
		;
	stop = 1;
	pthread_join(t1, NULL);
	pthread_join(t2, NULL);
	printf("two spinners and a sleeper: both spinners ran\n");
	printf("sched_fair ok\n");
	return 0;
}
