/* POSIX timers: timer_create with SIGEV_SIGNAL (siginfo: SI_TIMER,
 * si_timerid, si_value, si_overrun), the default sigevent (SIGALRM carrying
 * the timer id), SIGEV_NONE, SIGEV_THREAD_ID to one thread, SIGEV_THREAD;
 * timer_settime relative and TIMER_ABSTIME, intervals, the old value;
 * timer_gettime; overruns counted while the signal is blocked and
 * timer_getoverrun; timer_delete; no timers in a forked child or after
 * exec; the errors.
 *
 * Timing-dependent results are printed as yes/no against generous bounds. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

static long long now_ns(clockid_t c)
{
	struct timespec ts;
	clock_gettime(c, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static long long spec_ns(struct timespec ts)
{
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

static struct itimerspec its(long value_ms, long interval_ms)
{
	struct itimerspec s;
	s.it_value.tv_sec = value_ms / 1000;
	s.it_value.tv_nsec = (value_ms % 1000) * 1000000L;
	s.it_interval.tv_sec = interval_ms / 1000;
	s.it_interval.tv_nsec = (interval_ms % 1000) * 1000000L;
	return s;
}

/* What the SIGEV_SIGNAL handler saw. */
static volatile sig_atomic_t hits;
static volatile int seen_code, seen_timerid, seen_overrun, seen_value;

static void on_timer(int sig, siginfo_t *si, void *ctx)
{
	(void)sig;
	(void)ctx;
	hits++;
	seen_code = si->si_code;
	seen_timerid = si->si_timerid;
	seen_overrun = si->si_overrun;
	seen_value = si->si_value.sival_int;
}

static void handle(int sig)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = on_timer;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigaction(sig, &sa, NULL);
}

/* Waits (up to 10 s) until the handler ran `n` times. */
static int wait_hits(int n)
{
	long long t0 = now_ns(CLOCK_MONOTONIC);
	while (hits < n && now_ns(CLOCK_MONOTONIC) - t0 < 10000000000LL)
		sleep_ms(1);
	return hits >= n;
}

/* The kernel's timer id: glibc's and musl's timer_t hold it for non-thread timers. */
static int kid(timer_t t)
{
	return (int)(intptr_t)t;
}

static void test_signal_oneshot(void)
{
	handle(SIGUSR1);
	struct sigevent sev;
	memset(&sev, 0, sizeof sev);
	sev.sigev_notify = SIGEV_SIGNAL;
	sev.sigev_signo = SIGUSR1;
	sev.sigev_value.sival_int = 0x1234;
	timer_t t;
	check(timer_create(CLOCK_MONOTONIC, &sev, &t) == 0, "timer_create(CLOCK_MONOTONIC, SIGEV_SIGNAL)");
	struct itimerspec cur;
	check(timer_gettime(t, &cur) == 0 && spec_ns(cur.it_value) == 0 && spec_ns(cur.it_interval) == 0, "a new timer is disarmed");
	hits = 0;
	long long t0 = now_ns(CLOCK_MONOTONIC);
	struct itimerspec s = its(50, 0);
	check(timer_settime(t, 0, &s, NULL) == 0, "timer_settime 50 ms");
	check(timer_gettime(t, &cur) == 0 && spec_ns(cur.it_value) > 0 && spec_ns(cur.it_value) <= 50000000LL, "timer_gettime counts down");
	check(wait_hits(1), "the signal arrives");
	check(now_ns(CLOCK_MONOTONIC) - t0 >= 49000000LL, "not before 50 ms");
	printf("siginfo: code %s timerid %s value 0x%x overrun %d\n", seen_code == SI_TIMER ? "SI_TIMER" : "other",
	       seen_timerid == kid(t) ? "matches" : "differs", seen_value, seen_overrun);
	sleep_ms(60);
	check(hits == 1, "a one-shot timer fires once");
	check(timer_gettime(t, &cur) == 0 && spec_ns(cur.it_value) == 0, "and is disarmed after");
	check(timer_delete(t) == 0, "timer_delete");
	errno = 0; /* musl's timer_delete does not report errors: ask the kernel */
	check(syscall(SYS_timer_delete, kid(t)) == -1 && errno == EINVAL, "timer_delete again: EINVAL");
	errno = 0;
	check(timer_gettime(t, &cur) == -1 && errno == EINVAL, "timer_gettime of a deleted timer: EINVAL");
}

static void test_interval_overrun(void)
{
	handle(SIGUSR2);
	struct sigevent sev;
	memset(&sev, 0, sizeof sev);
	sev.sigev_notify = SIGEV_SIGNAL;
	sev.sigev_signo = SIGUSR2;
	sev.sigev_value.sival_int = 77;
	timer_t t;
	timer_create(CLOCK_MONOTONIC, &sev, &t);

	/* Periodic: several signals, handled one at a time. */
	hits = 0;
	struct itimerspec s = its(10, 10);
	timer_settime(t, 0, &s, NULL);
	check(wait_hits(3), "an interval timer keeps firing");
	struct itimerspec cur;
	check(timer_gettime(t, &cur) == 0 && spec_ns(cur.it_interval) == 10000000LL && spec_ns(cur.it_value) > 0 &&
		      spec_ns(cur.it_value) <= 10000000LL,
	      "timer_gettime: the interval, and the time to the next expiry");

	/* Blocked: one signal is queued, the other expirations are overruns (taken with
	 * sigtimedwait while the timer still runs: newer Linux drops a queued signal of a
	 * timer that is re-armed or disarmed). */
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR2);
	sigprocmask(SIG_BLOCK, &set, NULL);
	s = its(5, 5);
	timer_settime(t, 0, &s, NULL);
	sleep_ms(230);
	siginfo_t si;
	struct timespec zero = { 0, 0 };
	int r = sigtimedwait(&set, &si, &zero);
	int overrun_now = timer_getoverrun(t);
	check(r == SIGUSR2 && si.si_code == SI_TIMER && si.si_value.sival_int == 77, "the blocked timer signal is pending");
	printf("overrun: at least 20 %s, at most 100 %s, timer_getoverrun agrees %s\n", si.si_overrun >= 20 ? "yes" : "no",
	       si.si_overrun <= 100 ? "yes" : "no", overrun_now == si.si_overrun ? "yes" : "no");
	s = its(0, 0);
	timer_settime(t, 0, &s, NULL);
	while (sigtimedwait(&set, &si, &zero) > 0)
		;
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	timer_delete(t);
}

static void test_abstime_and_old_value(void)
{
	struct sigevent sev;
	memset(&sev, 0, sizeof sev);
	sev.sigev_notify = SIGEV_SIGNAL;
	sev.sigev_signo = SIGRTMIN + 1;
	sev.sigev_value.sival_int = 5;
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGRTMIN + 1);
	sigprocmask(SIG_BLOCK, &set, NULL);
	timer_t t;
	check(timer_create(CLOCK_REALTIME, &sev, &t) == 0, "timer_create(CLOCK_REALTIME)");

	long long start = now_ns(CLOCK_REALTIME);
	long long when = start + 60000000LL;
	struct itimerspec s = { { 0, 0 }, { when / 1000000000LL, when % 1000000000LL } };
	check(timer_settime(t, TIMER_ABSTIME, &s, NULL) == 0, "timer_settime TIMER_ABSTIME, 60 ms ahead");
	siginfo_t si;
	struct timespec ten = { 10, 0 };
	int r = sigtimedwait(&set, &si, &ten);
	long long got = now_ns(CLOCK_REALTIME);
	check(r == SIGRTMIN + 1 && si.si_code == SI_TIMER && si.si_value.sival_int == 5, "sigtimedwait takes the timer's signal");
	check(got >= when - 2000000LL, "not before the absolute time");

	s.it_value.tv_sec = start / 1000000000LL - 10;
	check(timer_settime(t, TIMER_ABSTIME, &s, NULL) == 0, "TIMER_ABSTIME in the past");
	r = sigtimedwait(&set, &si, &ten);
	check(r == SIGRTMIN + 1, "fires at once");

	s = its(10000, 0);
	timer_settime(t, 0, &s, NULL);
	struct itimerspec prev;
	s = its(20000, 500);
	check(timer_settime(t, 0, &s, &prev) == 0, "re-arm with the old value");
	check(spec_ns(prev.it_value) > 9000000000LL && spec_ns(prev.it_value) <= 10000000000LL && spec_ns(prev.it_interval) == 0,
	      "the old value: about 10 s left, no interval");
	struct itimerspec cur;
	timer_gettime(t, &cur);
	check(spec_ns(cur.it_value) > 19000000000LL && spec_ns(cur.it_value) <= 20000000000LL && spec_ns(cur.it_interval) == 500000000LL,
	      "the new value");
	s = its(0, 0);
	check(timer_settime(t, 0, &s, &prev) == 0 && spec_ns(prev.it_value) > 19000000000LL, "disarm, old value returned");
	timer_gettime(t, &cur);
	check(spec_ns(cur.it_value) == 0, "disarmed");

	struct itimerspec bad = its(10, 0);
	bad.it_value.tv_nsec = 1000000000L;
	errno = 0;
	check(timer_settime(t, 0, &bad, NULL) == -1 && errno == EINVAL, "tv_nsec of 1e9: EINVAL");
	bad.it_value.tv_nsec = -1;
	errno = 0;
	check(timer_settime(t, 0, &bad, NULL) == -1 && errno == EINVAL, "negative tv_nsec: EINVAL");
	timer_delete(t);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
}

/* The kernel's default sigevent (the C libraries build their own, so this asks the kernel directly). */
static void test_default_sigevent(void)
{
	handle(SIGALRM);
	int t = -1;
	check(syscall(SYS_timer_create, CLOCK_BOOTTIME, NULL, &t) == 0, "timer_create(CLOCK_BOOTTIME, NULL sigevent)");
	hits = 0;
	struct itimerspec s = its(20, 0);
	syscall(SYS_timer_settime, t, 0, &s, NULL);
	check(wait_hits(1), "SIGALRM by default");
	check(seen_code == SI_TIMER && seen_value == t && seen_timerid == t, "si_value is the timer id");
	syscall(SYS_timer_delete, t);
	signal(SIGALRM, SIG_DFL);
}

static void test_sigev_none(void)
{
	struct sigevent sev;
	memset(&sev, 0, sizeof sev);
	sev.sigev_notify = SIGEV_NONE;
	timer_t t;
	check(timer_create(CLOCK_MONOTONIC, &sev, &t) == 0, "timer_create(SIGEV_NONE)");
	struct itimerspec s = its(50, 50), cur;
	timer_settime(t, 0, &s, NULL);
	sleep_ms(120);
	timer_gettime(t, &cur);
	check(spec_ns(cur.it_value) > 0 && spec_ns(cur.it_value) <= 50000000LL, "SIGEV_NONE: still counting down through its periods");
	s = its(30, 0);
	timer_settime(t, 0, &s, NULL);
	sleep_ms(60);
	timer_gettime(t, &cur);
	check(spec_ns(cur.it_value) == 0, "SIGEV_NONE: a one-shot one ends disarmed");
	timer_delete(t);
}

/* ---- SIGEV_THREAD_ID ---- */

static volatile pid_t worker_tid;
static volatile int worker_code, worker_value;

static void *worker(void *arg)
{
	sigset_t *set = arg;
	worker_tid = (pid_t)syscall(SYS_gettid);
	siginfo_t si;
	struct timespec ten = { 10, 0 };
	if (sigtimedwait(set, &si, &ten) == SIGRTMIN + 2) {
		worker_code = si.si_code;
		worker_value = si.si_value.sival_int;
	}
	return NULL;
}

#ifndef sigev_notify_thread_id
#define sigev_notify_thread_id _sigev_un._tid
#endif

static void test_thread_id(void)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGRTMIN + 2);
	sigprocmask(SIG_BLOCK, &set, NULL);
	pthread_t th;
	pthread_create(&th, NULL, worker, &set);
	while (worker_tid == 0)
		sleep_ms(1);
	struct sigevent sev;
	memset(&sev, 0, sizeof sev);
	sev.sigev_notify = SIGEV_THREAD_ID;
	sev.sigev_signo = SIGRTMIN + 2;
	sev.sigev_value.sival_int = 99;
	sev.sigev_notify_thread_id = worker_tid;
	timer_t t;
	check(timer_create(CLOCK_MONOTONIC, &sev, &t) == 0, "timer_create(SIGEV_THREAD_ID)");
	struct itimerspec s = its(30, 0);
	timer_settime(t, 0, &s, NULL);
	pthread_join(th, NULL);
	check(worker_code == SI_TIMER && worker_value == 99, "the named thread takes the signal");
	sigset_t pending;
	sigpending(&pending);
	check(!sigismember(&pending, SIGRTMIN + 2), "nothing left pending for the other thread");
	timer_delete(t);

	sev.sigev_notify_thread_id = 1 << 30;
	errno = 0;
	check(timer_create(CLOCK_MONOTONIC, &sev, &t) == -1 && errno == EINVAL, "SIGEV_THREAD_ID of no such thread: EINVAL");
	sigprocmask(SIG_UNBLOCK, &set, NULL);
}

/* ---- SIGEV_THREAD (the C library's, on SIGEV_THREAD_ID) ---- */

static int notify_pipe[2];

static void notified(union sigval v)
{
	char c = (char)v.sival_int;
	if (write(notify_pipe[1], &c, 1) != 1)
		abort();
}

static void test_sigev_thread(void)
{
	if (pipe(notify_pipe)) {
		check(0, "pipe");
		return;
	}
	struct sigevent sev;
	memset(&sev, 0, sizeof sev);
	sev.sigev_notify = SIGEV_THREAD;
	sev.sigev_notify_function = notified;
	sev.sigev_value.sival_int = 'T';
	timer_t t;
	check(timer_create(CLOCK_MONOTONIC, &sev, &t) == 0, "timer_create(SIGEV_THREAD)");
	struct itimerspec s = its(20, 0);
	timer_settime(t, 0, &s, NULL);
	char c = 0;
	check(read(notify_pipe[0], &c, 1) == 1 && c == 'T', "the notify function runs with sigev_value");
	check(timer_delete(t) == 0, "timer_delete of a SIGEV_THREAD timer");
	close(notify_pipe[0]);
	close(notify_pipe[1]);
}

static void test_errors(void)
{
	timer_t t;
	struct sigevent sev;
	memset(&sev, 0, sizeof sev);
	sev.sigev_notify = SIGEV_SIGNAL;
	sev.sigev_signo = SIGUSR1;
	errno = 0;
	check(timer_create(12345, &sev, &t) == -1 && errno == EINVAL, "an unknown clock: EINVAL");
	sev.sigev_signo = 0;
	errno = 0;
	check(timer_create(CLOCK_MONOTONIC, &sev, &t) == -1 && errno == EINVAL, "signal 0: EINVAL");
	sev.sigev_signo = 65;
	errno = 0;
	check(timer_create(CLOCK_MONOTONIC, &sev, &t) == -1 && errno == EINVAL, "signal 65: EINVAL");
	sev.sigev_signo = SIGUSR1;
	sev.sigev_notify = 77;
	errno = 0;
	check(timer_create(CLOCK_MONOTONIC, &sev, &t) == -1 && errno == EINVAL, "sigev_notify 77: EINVAL");
	struct itimerspec s = its(10, 0);
	errno = 0;
	check(syscall(SYS_timer_settime, 4242, 0, &s, NULL) == -1 && errno == EINVAL, "timer_settime of no timer: EINVAL");
	errno = 0;
	check(syscall(SYS_timer_getoverrun, 4242) == -1 && errno == EINVAL, "timer_getoverrun of no timer: EINVAL");
	sev.sigev_notify = SIGEV_SIGNAL;
	errno = 0;
	check(syscall(SYS_timer_create, CLOCK_MONOTONIC, &sev, (void *)8) == -1 && errno == EFAULT, "a bad timer id pointer: EFAULT");
}

/* ---- fork and exec drop the timers ---- */

static volatile sig_atomic_t alarms;

static void on_alarm(int sig)
{
	(void)sig;
	alarms++;
}

/* alarm() far away (68 years: past what one host timer can wait) must not fire soon. */
static void test_far_alarm(void)
{
	signal(SIGALRM, on_alarm);
	alarm(0x7fffffff);
	struct timespec ts = { 0, 80 * 1000 * 1000 };
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
	unsigned left = alarm(0);
	check(alarms == 0, "alarm(0x7fffffff) has not fired 80 ms later");
	check(left >= 0x7fffffff - 2 && left <= 0x7fffffff, "alarm(0) answers what was left of it");
	signal(SIGALRM, SIG_DFL);
}

/*
 * A timer due while the program computes fires on time: ITIMER_REAL at 2 ms,
 * then 30 ms of computing that makes no syscall (the vDSO's clock), then the
 * timer disarmed. The signal must have come in the loop, within a few ms.
 */
static volatile long long alarm_at;

static void on_alarm_time(int sig)
{
	(void)sig;
	if (!alarm_at)
		alarm_at = now_ns(CLOCK_MONOTONIC);
}

static void test_alarm_while_computing(void)
{
	signal(SIGALRM, on_alarm_time);
	struct itimerval it = { { 0, 0 }, { 0, 2000 } };
	long long t0 = now_ns(CLOCK_MONOTONIC);
	setitimer(ITIMER_REAL, &it, NULL);
	while (now_ns(CLOCK_MONOTONIC) - t0 < 30 * 1000000LL)
		;
	struct itimerval off = { { 0, 0 }, { 0, 0 } };
	setitimer(ITIMER_REAL, &off, NULL);
	check(alarm_at != 0, "ITIMER_REAL fired while the program computed");
	check(alarm_at - t0 >= 2000000 && alarm_at - t0 < 12000000, "2 ms after it was armed, not much later");
	signal(SIGALRM, SIG_DFL);
}

static void test_fork_exec(const char *self)
{
	struct sigevent sev;
	memset(&sev, 0, sizeof sev);
	sev.sigev_notify = SIGEV_NONE;
	timer_t t;
	timer_create(CLOCK_MONOTONIC, &sev, &t);
	struct itimerspec s = its(10000, 0);
	timer_settime(t, 0, &s, NULL);
	char id[16];
	snprintf(id, sizeof id, "%d", kid(t));
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		struct itimerspec cur;
		errno = 0;
		long r = syscall(SYS_timer_gettime, kid(t), &cur);
		printf("forked child: timer_gettime %s\n", r == -1 ? errname(errno) : "works");
		fflush(stdout);
		execl(self, self, "after-exec", id, (char *)NULL);
		_exit(127);
	}
	int st;
	while (waitpid(pid, &st, 0) == -1 && errno == EINTR)
		;
	check(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the child ran and exec'd");
	struct itimerspec cur;
	check(timer_gettime(t, &cur) == 0 && spec_ns(cur.it_value) > 0, "the parent's timer is still armed");
	timer_delete(t);
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 3 && strcmp(argv[1], "after-exec") == 0) {
		struct itimerspec cur;
		errno = 0;
		long r = syscall(SYS_timer_gettime, atoi(argv[2]), &cur);
		printf("after exec: timer_gettime %s\n", r == -1 ? errname(errno) : "works");
		return 0;
	}
	alarm(60);
	test_signal_oneshot();
	test_interval_overrun();
	test_abstime_and_old_value();
	test_default_sigevent();
	test_far_alarm();
	test_alarm_while_computing();
	alarm(60);
	test_sigev_none();
	test_thread_id();
	test_sigev_thread();
	test_errors();
	test_fork_exec(argv[0]);
	if (failures) {
		printf("timers: %d failures\n", failures);
		return 1;
	}
	printf("timers ok\n");
	return 0;
}
