/* CPU-time accounting: CLOCK_PROCESS_CPUTIME_ID and CLOCK_THREAD_CPUTIME_ID
 * (and the clock_getcpuclockid / pthread_getcpuclockid forms) grow with a
 * busy loop, never go backwards, never outrun the wall clock, and stay still
 * while a thread sleeps; the process clock covers every thread; times() and
 * getrusage() report the same time, RUSAGE_CHILDREN / tms_cutime and
 * wait4's rusage the time of a child that was waited for; ITIMER_VIRTUAL and
 * ITIMER_PROF fire while the process computes, not while it sleeps.
 *
 * Everything timing-dependent is printed as a yes/no against generous
 * bounds, so the output is the same natively and under nommu. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/times.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

static long long ns_of(clockid_t clock)
{
	struct timespec ts;
	if (clock_gettime(clock, &ts) != 0) {
		printf("FAIL clock_gettime(%d): %s\n", (int)clock, errname(errno));
		failures++;
		return -1;
	}
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static long long tv_ms(struct timeval tv)
{
	return tv.tv_sec * 1000LL + tv.tv_usec / 1000;
}

static volatile unsigned long sink;

/* Computes until `clock` has grown by `ms` (at most 20 s of wall time); answers whether it never went backwards. */
static int spin_on(clockid_t clock, long ms)
{
	long long start = ns_of(clock), last = start, wall0 = ns_of(CLOCK_MONOTONIC);
	int monotonic = 1;
	while (last - start < ms * 1000000LL && ns_of(CLOCK_MONOTONIC) - wall0 < 20000000000LL) {
		/* Long enough that the clock reads (syscalls natively) stay a small part of the time. */
		for (int i = 0; i < 50000; i++)
			sink += i;
		long long now = ns_of(clock);
		if (now < last)
			monotonic = 0;
		last = now;
	}
	return monotonic;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

static long long thread_cpu_at_end;

static void *busy_thread(void *arg)
{
	(void)arg;
	spin_on(CLOCK_THREAD_CPUTIME_ID, 60);
	thread_cpu_at_end = ns_of(CLOCK_THREAD_CPUTIME_ID);
	return NULL;
}

static long long sleeper_cpu;

static void *sleepy_thread(void *arg)
{
	(void)arg;
	long long before = ns_of(CLOCK_THREAD_CPUTIME_ID);
	sleep_ms(150);
	sleeper_cpu = ns_of(CLOCK_THREAD_CPUTIME_ID) - before;
	return NULL;
}

static void test_clocks(void)
{
	long long p0 = ns_of(CLOCK_PROCESS_CPUTIME_ID), t0 = ns_of(CLOCK_THREAD_CPUTIME_ID), w0 = ns_of(CLOCK_MONOTONIC);
	check(spin_on(CLOCK_PROCESS_CPUTIME_ID, 100), "the process CPU clock never goes backwards");
	long long p1 = ns_of(CLOCK_PROCESS_CPUTIME_ID), t1 = ns_of(CLOCK_THREAD_CPUTIME_ID), w1 = ns_of(CLOCK_MONOTONIC);
	check(p1 - p0 >= 100000000LL, "a busy loop adds its time to the process CPU clock");
	check(t1 - t0 >= 90000000LL, "and to the thread CPU clock");
	check(p1 - p0 <= w1 - w0 + 20000000LL, "one busy thread's CPU time does not outrun the wall clock");
	check(spin_on(CLOCK_THREAD_CPUTIME_ID, 30), "the thread CPU clock never goes backwards");

	clockid_t pc, tc;
	check(clock_getcpuclockid(0, &pc) == 0, "clock_getcpuclockid(0)");
	check(pthread_getcpuclockid(pthread_self(), &tc) == 0, "pthread_getcpuclockid(self)");
	long long direct_p = ns_of(CLOCK_PROCESS_CPUTIME_ID), dyn_p = ns_of(pc);
	long long direct_t = ns_of(CLOCK_THREAD_CPUTIME_ID), dyn_t = ns_of(tc);
	check(dyn_p >= direct_p && dyn_p - direct_p < 50000000LL, "the process clock id reads the same clock");
	check(dyn_t >= direct_t && dyn_t - direct_t < 50000000LL, "the thread clock id reads the same clock");
	struct timespec res;
	check(clock_getres(CLOCK_PROCESS_CPUTIME_ID, &res) == 0 && res.tv_sec == 0 && res.tv_nsec > 0, "clock_getres of the CPU clock");

	/* Threads: a sleeping thread uses (almost) no CPU; the process clock covers every thread. */
	pthread_t a, b;
	long long before = ns_of(CLOCK_PROCESS_CPUTIME_ID);
	long long main_before = ns_of(CLOCK_THREAD_CPUTIME_ID);
	pthread_create(&a, NULL, busy_thread, NULL);
	pthread_create(&b, NULL, sleepy_thread, NULL);
	spin_on(CLOCK_THREAD_CPUTIME_ID, 60);
	pthread_join(a, NULL);
	pthread_join(b, NULL);
	long long main_used = ns_of(CLOCK_THREAD_CPUTIME_ID) - main_before;
	long long all = ns_of(CLOCK_PROCESS_CPUTIME_ID) - before;
	check(thread_cpu_at_end >= 60000000LL, "the busy thread's own clock grew");
	check(sleeper_cpu < 40000000LL, "a sleeping thread's clock stays (almost) still");
	check(all >= main_used + 60000000LL, "the process clock counts the other threads too");
}

static void test_times_rusage(void)
{
	struct tms tm0, tm1;
	struct rusage ru0, ru1;
	times(&tm0);
	getrusage(RUSAGE_SELF, &ru0);
	spin_on(CLOCK_PROCESS_CPUTIME_ID, 100);
	times(&tm1);
	getrusage(RUSAGE_SELF, &ru1);
	long hz = sysconf(_SC_CLK_TCK);
	long long tms_ms = ((tm1.tms_utime + tm1.tms_stime) - (tm0.tms_utime + tm0.tms_stime)) * 1000LL / hz;
	long long ru_ms = tv_ms(ru1.ru_utime) + tv_ms(ru1.ru_stime) - tv_ms(ru0.ru_utime) - tv_ms(ru0.ru_stime);
	check(tms_ms >= 80 && tms_ms <= 5000, "times(): the busy loop's CPU time");
	check(tm1.tms_utime - tm0.tms_utime >= (clock_t)(30 * hz / 1000), "times(): a loop without syscalls is mostly user time");
	check(ru_ms >= 80 && ru_ms <= 5000, "getrusage(RUSAGE_SELF): the busy loop's CPU time");
	struct rusage rt;
	check(getrusage(RUSAGE_THREAD, &rt) == 0 && tv_ms(rt.ru_utime) + tv_ms(rt.ru_stime) >= 80, "getrusage(RUSAGE_THREAD)");
	errno = 0;
	check(getrusage(7, &rt) == -1 && errno == EINVAL, "getrusage(7): EINVAL");

	/* A child's time reaches the parent when the parent waits for it. */
	struct rusage rc0, rc1, rw;
	getrusage(RUSAGE_CHILDREN, &rc0);
	times(&tm0);
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		spin_on(CLOCK_PROCESS_CPUTIME_ID, 100);
		_exit(0);
	}
	int st;
	pid_t r;
	do
		r = wait4(pid, &st, 0, &rw);
	while (r == -1 && errno == EINTR);
	check(r == pid && WIFEXITED(st), "wait4 for the busy child");
	check(tv_ms(rw.ru_utime) + tv_ms(rw.ru_stime) >= 80, "wait4's rusage: the child's CPU time");
	getrusage(RUSAGE_CHILDREN, &rc1);
	times(&tm1);
	check(tv_ms(rc1.ru_utime) + tv_ms(rc1.ru_stime) - tv_ms(rc0.ru_utime) - tv_ms(rc0.ru_stime) >= 80, "RUSAGE_CHILDREN grew by it");
	check(((tm1.tms_cutime + tm1.tms_cstime) - (tm0.tms_cutime + tm0.tms_cstime)) * 1000LL / hz >= 80, "tms_cutime + tms_cstime grew by it");
}

static volatile sig_atomic_t vtalrms, profs;

static void on_timer(int sig)
{
	if (sig == SIGVTALRM)
		vtalrms++;
	else
		profs++;
}

static void test_itimers(void)
{
	signal(SIGVTALRM, on_timer);
	signal(SIGPROF, on_timer);
	struct itimerval it = { { 0, 20000 }, { 0, 20000 } }, cur;
	check(setitimer(ITIMER_VIRTUAL, &it, NULL) == 0, "setitimer(ITIMER_VIRTUAL, 20 ms)");
	check(setitimer(ITIMER_PROF, &it, NULL) == 0, "setitimer(ITIMER_PROF, 20 ms)");
	check(getitimer(ITIMER_VIRTUAL, &cur) == 0 && cur.it_interval.tv_usec == 20000 && cur.it_value.tv_sec == 0 &&
		      cur.it_value.tv_usec > 0, /* Linux adds a tick to the first expiry */
	      "getitimer(ITIMER_VIRTUAL)");
	long long wall0 = ns_of(CLOCK_MONOTONIC);
	while ((vtalrms < 3 || profs < 3) && ns_of(CLOCK_MONOTONIC) - wall0 < 20000000000LL)
		for (int i = 0; i < 2000; i++)
			sink += i;
	check(vtalrms >= 3, "SIGVTALRM while computing");
	check(profs >= 3, "SIGPROF while computing");
	int v = vtalrms;
	sleep_ms(200);
	check(vtalrms - v <= 1, "no SIGVTALRM while sleeping");
	struct itimerval off = { { 0, 0 }, { 0, 0 } }, old;
	check(setitimer(ITIMER_VIRTUAL, &off, &old) == 0 && old.it_interval.tv_usec == 20000, "disarm ITIMER_VIRTUAL, old value");
	setitimer(ITIMER_PROF, &off, NULL);
	check(getitimer(ITIMER_PROF, &cur) == 0 && cur.it_value.tv_sec == 0 && cur.it_value.tv_usec == 0, "ITIMER_PROF disarmed");
	v = vtalrms;
	int p = profs;
	spin_on(CLOCK_PROCESS_CPUTIME_ID, 60);
	check(vtalrms == v && profs == p, "no signals once disarmed");
	errno = 0;
	check(setitimer(3, &it, NULL) == -1 && errno == EINVAL, "setitimer(3): EINVAL");
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	test_clocks();
	test_times_rusage();
	test_itimers();
	if (failures) {
		printf("cputime: %d failures\n", failures);
		return 1;
	}
	printf("cputime ok\n");
	return 0;
}
