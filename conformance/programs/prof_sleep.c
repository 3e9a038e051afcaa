/* A process computing under ITIMER_PROF goes to sleep: a SIGPROF that comes
 * as the sleep begins (the CPU time of the call itself) interrupts it, the
 * handler runs, and the sleep, restarted with the time it has left, still
 * ends. While the process sleeps it uses no CPU time, so the timer stays
 * quiet. Under nommu a kernel test makes the nanosleep call itself expire the
 * timer, every time (see packages/nommu-kernel/test/scheduler.test.ts).
 *
 * Timing-dependent facts are printed as yes/no against generous bounds. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <sys/time.h>
#include <time.h>

#include "check.h"

static volatile sig_atomic_t profs;
static volatile unsigned long sink;

static void on_prof(int sig)
{
	(void)sig;
	profs++;
}

static long long mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	struct sigaction sa = { .sa_handler = on_prof };
	sigemptyset(&sa.sa_mask);
	check(sigaction(SIGPROF, &sa, NULL) == 0, "sigaction(SIGPROF)");
	struct itimerval it = { { 0, 20000 }, { 0, 20000 } };
	check(setitimer(ITIMER_PROF, &it, NULL) == 0, "setitimer(ITIMER_PROF, 20 ms)");
	long long start = mono_ms();
	while (profs < 2 && mono_ms() - start < 20000)
		for (int i = 0; i < 2000; i++)
			sink += i;
	check(profs >= 2, "SIGPROF while computing");

	/* Three sleeps of 60 ms, each restarted with what is left when a signal cuts it short. */
	for (int round = 0; round < 3; round++) {
		struct timespec ts = { 0, 60 * 1000000L };
		long long t0 = mono_ms();
		int r, interruptions = 0;
		while ((r = nanosleep(&ts, &ts)) == -1 && errno == EINTR && interruptions < 1000)
			interruptions++;
		long long slept = mono_ms() - t0;
		printf("round %d: nanosleep %s, slept at least 60 ms: %s, at most 10 interruptions: %s\n", round,
		       r == 0 ? "ended" : errname(errno), slept >= 59 ? "yes" : "no", interruptions <= 10 ? "yes" : "no");
		if (r != 0 || slept < 59 || interruptions > 10)
			failures++;
	}

	struct itimerval off = { { 0, 0 }, { 0, 0 } };
	check(setitimer(ITIMER_PROF, &off, NULL) == 0, "disarm ITIMER_PROF");
	if (failures) {
		printf("prof_sleep: %d failures\n", failures);
		return 1;
	}
	printf("prof_sleep ok\n");
	return 0;
}
