/* Time slices are time, not a count of kernel entries: a thread that makes a
 * syscall every 8 ms, computing in between, must not keep the CPU from a
 * spinning thread for long. On nommu's one CPU the spinner only runs when the
 * scheduler takes the CPU from the syscall maker; natively both run at once.
 *
 * The process is pinned to one CPU, so that natively too the two threads take
 * turns (on several CPUs of a busy host a thread may wait long for one).
 * The stall is measured in the syscall maker's rounds, not in wall time (a
 * busy host may stop both threads for a while, which costs at most one
 * round): the most it completed between two consecutive iterations of the
 * spinner. 12 rounds are ~100 ms; a slice is 10 ms.
 *
 * Prints only ok/FAIL lines. */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

#define PERIOD_NS (8 * 1000000LL)  /* the syscall maker's compute between syscalls */
#define RUN_NS (1200 * 1000000LL)  /* how long both compete */
#define MAX_ROUNDS 12                /* ~100 ms of the syscall maker's running time */

static volatile int stop;
static volatile long syscalls_made, spins, max_rounds;

static long long now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000000000LL + t.tv_nsec;
}

/* Computes for PERIOD_NS, then a syscall, over and over. */
static void *syscall_maker(void *arg)
{
	(void)arg;
	while (!stop) {
		long long t0 = now_ns();
		while (now_ns() - t0 < PERIOD_NS && !stop)
			;
		syscall(SYS_getppid);
		syscalls_made++;
	}
	return NULL;
}

/* Only computes: what the syscall maker did between two of its iterations is how long it waited. */
static void *spinner(void *arg)
{
	(void)arg;
	long last = syscalls_made;
	while (!stop) {
		long now = syscalls_made;
		if (now - last > max_rounds)
			max_rounds = now - last;
		last = now;
		spins++;
	}
	return NULL;
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	pthread_t a, b;
	/* Pinned to the first CPU the process may use. */
	cpu_set_t set;
	int cpu = -1;
	if (sched_getaffinity(0, sizeof set, &set) == 0)
		for (int i = 0; i < CPU_SETSIZE && cpu < 0; i++)
			if (CPU_ISSET(i, &set))
				cpu = i;
	CPU_ZERO(&set);
	if (cpu >= 0)
		CPU_SET(cpu, &set);
	check(cpu >= 0 && sched_setaffinity(0, sizeof set, &set) == 0, "the process runs on one CPU");
	check(pthread_create(&a, NULL, syscall_maker, NULL) == 0, "started a thread making a syscall every 8 ms");
	check(pthread_create(&b, NULL, spinner, NULL) == 0, "started a spinning thread");
	struct timespec nap = {RUN_NS / 1000000000LL, RUN_NS % 1000000000LL};
	nanosleep(&nap, NULL);
	stop = 1;
	pthread_join(a, NULL);
	pthread_join(b, NULL);
	check(syscalls_made >= 10, "the syscall maker progressed");
	check(spins > 0, "the spinner progressed");
	check(max_rounds < MAX_ROUNDS, "the spinner never waited while the syscall maker ran 12 rounds (~100 ms)");
	if (failures) {
		printf("sched_slice: %d failures\n", failures);
		return 1;
	}
	printf("sched_slice ok\n");
	return 0;
}
