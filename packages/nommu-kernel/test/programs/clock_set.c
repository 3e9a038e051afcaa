/*
 * The guest sets its own CLOCK_REALTIME (test/clock_set.test.ts). Never run
 * natively as root: it would set the host's clock.
 *
 *   clock_set set      steps the clock a day forward (clock_settime), prints
 *                      it through syscalls ("sys ...") and through the vDSO
 *                      ("vdso ...": libc's clock_gettime, gettimeofday, time),
 *                      then settimeofday's timezone and adjtimex's step
 *   clock_set user     what a user without CAP_SYS_TIME gets
 *   clock_set timerfd  an absolute realtime timerfd with TFD_TIMER_CANCEL_ON_SET
 *                      reads ECANCELED after a step; one without the flag expires
 *   clock_set sleep    clock_nanosleep(TIMER_ABSTIME) on CLOCK_REALTIME follows steps
 *   clock_set timer    an absolute CLOCK_REALTIME POSIX timer fires when the clock passes it
 *
 * Lines are "name value" or "name errno-name"; times in seconds.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/timerfd.h>
#include <sys/timex.h>
#include <time.h>
#include <unistd.h>

#define DAY 86400LL
#define NS 1000000000LL

static const char *ename(int e)
{
	switch (e) {
	case 0: return "0";
	case EPERM: return "EPERM";
	case EINVAL: return "EINVAL";
	case ECANCELED: return "ECANCELED";
	case EAGAIN: return "EAGAIN";
	case EOPNOTSUPP: return "EOPNOTSUPP";
	default: return strerror(e);
	}
}

static long long sys_realtime_ns(int clk)
{
	struct timespec ts;
	syscall(SYS_clock_gettime, clk, &ts);
	return ts.tv_sec * NS + ts.tv_nsec;
}

static long long mono_ns(void)
{
	struct timespec ts;
	syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * NS + ts.tv_nsec;
}

static int step(long long delta_ns)
{
	long long now = sys_realtime_ns(CLOCK_REALTIME) + delta_ns;
	struct timespec ts = { now / NS, now % NS };
	return syscall(SYS_clock_settime, CLOCK_REALTIME, &ts) == 0 ? 0 : errno;
}

static void do_set(void)
{
	printf("settime %s\n", ename(step(DAY * NS)));
	printf("sys_clock_gettime %lld\n", sys_realtime_ns(CLOCK_REALTIME) / NS);
	printf("sys_coarse %lld\n", sys_realtime_ns(CLOCK_REALTIME_COARSE) / NS);
	printf("sys_tai %lld\n", sys_realtime_ns(CLOCK_TAI) / NS);
	struct timeval tv;
	syscall(SYS_gettimeofday, &tv, NULL);
	printf("sys_gettimeofday %lld\n", (long long)tv.tv_sec);
	printf("sys_time %lld\n", (long long)syscall(SYS_time, NULL));
	/* libc's: the vDSO answers (the test counts the syscalls). */
	fflush(stdout);
	write(1, "marker vdso\n", 12); /* write(2) itself: the test watches for it (stdio uses writev) */
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	long long a = ts.tv_sec;
	clock_gettime(CLOCK_REALTIME_COARSE, &ts);
	long long b = ts.tv_sec;
	gettimeofday(&tv, NULL);
	long long c = tv.tv_sec;
	long long d = time(NULL);
	printf("vdso_clock_gettime %lld\nvdso_coarse %lld\nvdso_gettimeofday %lld\nvdso_time %lld\n", a, b, c, d);
	fflush(stdout);
	write(1, "marker end\n", 11);

	/* settimeofday: a timezone alone, then read back; a bad tv_usec. */
	struct timezone tz = { -120, 0 }, got = { 0, 0 };
	printf("settimeofday_tz %s\n", ename(syscall(SYS_settimeofday, NULL, &tz) == 0 ? 0 : errno));
	syscall(SYS_gettimeofday, NULL, &got);
	printf("tz %d %d\n", got.tz_minuteswest, got.tz_dsttime);
	struct timeval bad = { 1, 1000000 };
	printf("settimeofday_bad_usec %s\n", ename(syscall(SYS_settimeofday, &bad, NULL) == 0 ? 0 : errno));

	/* adjtimex: the step made the clock unsynchronised (TIME_ERROR); ADJ_SETOFFSET steps it back an hour. */
	struct timex tx = { 0 };
	int r = adjtimex(&tx);
	printf("adjtimex_read %d unsync %d\n", r, (tx.status & STA_UNSYNC) != 0);
	printf("adjtimex_time %lld\n", (long long)tx.time.tv_sec);
	memset(&tx, 0, sizeof tx);
	tx.modes = ADJ_SETOFFSET;
	tx.time.tv_sec = -3600;
	r = adjtimex(&tx);
	printf("adjtimex_setoffset %s\n", ename(r >= 0 ? 0 : errno));
	printf("after_setoffset %lld\n", sys_realtime_ns(CLOCK_REALTIME) / NS);
	clock_gettime(CLOCK_REALTIME, &ts);
	printf("vdso_after_setoffset %lld\n", (long long)ts.tv_sec);
	/* Recorded and reported back (the clock does not slew). */
	memset(&tx, 0, sizeof tx);
	tx.modes = ADJ_FREQUENCY | ADJ_STATUS | ADJ_MAXERROR;
	tx.freq = 123 << 16;
	tx.status = STA_PLL;
	tx.maxerror = 1000;
	r = adjtimex(&tx);
	memset(&tx, 0, sizeof tx);
	r = adjtimex(&tx);
	printf("adjtimex_recorded %d freq %ld status %d maxerror %ld\n", r, (long)(tx.freq >> 16), tx.status, (long)tx.maxerror);
	memset(&tx, 0, sizeof tx);
	tx.modes = 0x8000; /* ADJ_ADJTIME without ADJ_OFFSET */
	printf("adjtimex_bad_modes %s\n", ename(adjtimex(&tx) >= 0 ? 0 : errno));
	printf("clock_settime_monotonic %s\n", ename(syscall(SYS_clock_settime, CLOCK_MONOTONIC, &ts) == 0 ? 0 : errno));
	ts.tv_nsec = NS;
	printf("clock_settime_bad_ns %s\n", ename(syscall(SYS_clock_settime, CLOCK_REALTIME, &ts) == 0 ? 0 : errno));
}

static void do_user(void)
{
	printf("settime %s\n", ename(step(DAY * NS)));
	struct timeval tv = { 1, 0 };
	printf("settimeofday %s\n", ename(syscall(SYS_settimeofday, &tv, NULL) == 0 ? 0 : errno));
	printf("settimeofday_null %s\n", ename(syscall(SYS_settimeofday, NULL, NULL) == 0 ? 0 : errno));
	struct timex tx = { 0 };
	int r = adjtimex(&tx);
	printf("adjtimex_read %s\n", r >= 0 ? "ok" : ename(errno));
	tx.modes = ADJ_SETOFFSET;
	tx.time.tv_sec = 10;
	printf("adjtimex_setoffset %s\n", ename(adjtimex(&tx) >= 0 ? 0 : errno));
	tx.modes = ADJ_FREQUENCY;
	printf("adjtimex_freq %s\n", ename(adjtimex(&tx) >= 0 ? 0 : errno));
	printf("now %lld\n", sys_realtime_ns(CLOCK_REALTIME) / NS);
}

static long long step_after_ms;
static long long step_by_ns;

static void *stepper(void *arg)
{
	(void)arg;
	usleep(step_after_ms * 1000);
	int e = step(step_by_ns);
	if (e)
		printf("stepper %s\n", ename(e));
	return NULL;
}

static pthread_t start_stepper(long long after_ms, long long by_ns)
{
	pthread_t t;
	step_after_ms = after_ms;
	step_by_ns = by_ns;
	pthread_create(&t, NULL, stepper, NULL);
	return t;
}

static void do_timerfd(void)
{
	long long now = sys_realtime_ns(CLOCK_REALTIME);
	int cancel = timerfd_create(CLOCK_REALTIME, 0);
	int plain = timerfd_create(CLOCK_REALTIME, TFD_NONBLOCK);
	int rel = timerfd_create(CLOCK_REALTIME, TFD_NONBLOCK);
	struct itimerspec in = { { 0, 0 }, { (now + 3600 * NS) / NS, 0 } };
	printf("settime_cancel %s\n", ename(timerfd_settime(cancel, TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET, &in, NULL) == 0 ? 0 : errno));
	in.it_value.tv_sec = (now + DAY / 2 * NS) / NS;
	timerfd_settime(plain, TFD_TIMER_ABSTIME, &in, NULL);
	struct itimerspec relin = { { 0, 0 }, { 3600, 0 } };
	timerfd_settime(rel, 0, &relin, NULL);
	uint64_t n = 0;
	printf("before_step %s\n", ename(read(plain, &n, 8) == 8 ? 0 : errno));
	/* Blocked in read while another thread steps the clock. */
	pthread_t t = start_stepper(100, DAY * NS);
	long long t0 = mono_ns();
	ssize_t got = read(cancel, &n, 8);
	printf("read_cancel %s\n", ename(got == 8 ? 0 : errno));
	printf("woke_within_5s %d\n", mono_ns() - t0 < 5 * NS);
	pthread_join(t, NULL);
	/* Once: the timer goes on. */
	struct pollfd p = { cancel, POLLIN, 0 };
	printf("poll_after_cancel %d\n", poll(&p, 1, 0));
	n = 0;
	got = read(plain, &n, 8);
	printf("read_plain %s %llu\n", ename(got == 8 ? 0 : errno), (unsigned long long)n);
	got = read(rel, &n, 8);
	printf("read_relative %s\n", ename(got == 8 ? 0 : errno));
	struct itimerspec cur;
	timerfd_gettime(rel, &cur);
	printf("relative_left_over_3500s %d\n", cur.it_value.tv_sec > 3500 && cur.it_value.tv_sec <= 3600);
}

static void do_sleep(void)
{
	/* A deadline an hour off; the clock steps a day forward after 100 ms: the sleep ends. */
	long long now = sys_realtime_ns(CLOCK_REALTIME);
	struct timespec until = { (now + 3600 * NS) / NS, 0 };
	pthread_t t = start_stepper(100, DAY * NS);
	long long t0 = mono_ns();
	int r = clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME, &until, NULL);
	long long took = mono_ns() - t0;
	pthread_join(t, NULL);
	printf("forward %s within_5s %d\n", ename(r), took < 5 * NS);
	/* A deadline 400 ms off; the clock steps 600 ms back after 100 ms: the sleep lasts about a second. */
	now = sys_realtime_ns(CLOCK_REALTIME) + 400000000LL;
	until.tv_sec = now / NS;
	until.tv_nsec = now % NS;
	t = start_stepper(100, -600000000LL);
	t0 = mono_ns();
	r = clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME, &until, NULL);
	took = mono_ns() - t0;
	pthread_join(t, NULL);
	printf("backward %s over_800ms %d\n", ename(r), took > 800000000LL);
}

static void do_timer(void)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_BLOCK, &set, NULL);
	struct sigevent sev = { 0 };
	sev.sigev_notify = SIGEV_SIGNAL;
	sev.sigev_signo = SIGUSR1;
	timer_t id;
	timer_create(CLOCK_REALTIME, &sev, &id);
	long long now = sys_realtime_ns(CLOCK_REALTIME);
	struct itimerspec in = { { 0, 0 }, { (now + 3600 * NS) / NS, 0 } };
	timer_settime(id, TIMER_ABSTIME, &in, NULL);
	struct timespec wait = { 0, 200000000 };
	printf("before_step %s\n", sigtimedwait(&set, NULL, &wait) == SIGUSR1 ? "SIGUSR1" : ename(errno));
	printf("settime %s\n", ename(step(DAY * NS)));
	wait.tv_sec = 5;
	printf("after_step %s\n", sigtimedwait(&set, NULL, &wait) == SIGUSR1 ? "SIGUSR1" : ename(errno));
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	const char *mode = argc > 1 ? argv[1] : "";
	if (strcmp(mode, "set") == 0)
		do_set();
	else if (strcmp(mode, "user") == 0)
		do_user();
	else if (strcmp(mode, "timerfd") == 0)
		do_timerfd();
	else if (strcmp(mode, "sleep") == 0)
		do_sleep();
	else if (strcmp(mode, "timer") == 0)
		do_timer();
	else
		return 2;
	return 0;
}
