/* Setting the clock: only what is the same natively and under nommu, and
 * nothing that could change the host's clock when run natively as root (every
 * set here is refused before it happens: a clock that cannot be set, a bad
 * timespec or timeval, a read-only adjtimex). Under nommu the guest may set
 * its own clock (packages/nommu-kernel/test/clock_set.test.ts checks that). */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/timex.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

#ifndef ADJ_OFFSET_SS_READ
#define ADJ_OFFSET_SS_READ 0xa001
#endif
#ifndef CLOCK_TAI
#define CLOCK_TAI 11
#endif
#define CAP_SYS_TIME 25

static long long ns_of(const struct timespec *t)
{
	return (long long)t->tv_sec * 1000000000ll + t->tv_nsec;
}

/* Whether the caller holds CAP_SYS_TIME (root in a container may not). */
static int has_cap_sys_time(void)
{
	struct { uint32_t version; int pid; } hdr = { 0x20080522u, 0 };
	struct { uint32_t effective, permitted, inheritable; } data[2];
	if (syscall(SYS_capget, &hdr, data) != 0)
		return 0;
	return (data[0].effective >> CAP_SYS_TIME) & 1;
}

static void errno_line(const char *what, long r)
{
	printf("%s: %s\n", what, r == -1 ? errname(errno) : "0");
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);

	/* adjtimex: a read (modes 0) works for anyone and reports the time. */
	struct timex tx;
	memset(&tx, 0, sizeof tx);
	struct timespec before, after;
	clock_gettime(CLOCK_REALTIME, &before);
	int r = adjtimex(&tx);
	clock_gettime(CLOCK_REALTIME, &after);
	check(r >= 0, "adjtimex(modes 0) answers a clock state");
	long long frac = (tx.status & STA_NANO) ? tx.time.tv_usec : tx.time.tv_usec * 1000ll;
	long long t = (long long)tx.time.tv_sec * 1000000000ll + frac;
	check(t >= ns_of(&before) - 1000000ll && t <= ns_of(&after) + 1000000ll, "adjtimex reports the current time");
	check(tx.precision == 1 && tx.tolerance == 500l << 16, "adjtimex precision 1, tolerance 500 ppm");
	check(tx.time.tv_usec >= 0 && tx.time.tv_usec < ((tx.status & STA_NANO) ? 1000000000l : 1000000l), "adjtimex time is normalised");
	/* CLOCK_TAI is CLOCK_REALTIME plus the TAI offset adjtimex reports. */
	struct timespec tai, real;
	clock_gettime(CLOCK_REALTIME, &real);
	clock_gettime(CLOCK_TAI, &tai);
	long long d = ns_of(&tai) - ns_of(&real) - tx.tai * 1000000000ll;
	check(d > -1000000000ll && d < 1000000000ll, "CLOCK_TAI - CLOCK_REALTIME is adjtimex's tai");

	/* adjtime()'s read-only single shot: anyone. */
	memset(&tx, 0, sizeof tx);
	tx.modes = ADJ_OFFSET_SS_READ;
	check(adjtimex(&tx) >= 0, "adjtimex(ADJ_OFFSET_SS_READ) works");
	/* ADJ_ADJTIME without ADJ_OFFSET: EINVAL, before any permission check. */
	memset(&tx, 0, sizeof tx);
	tx.modes = 0x8000;
	errno_line("adjtimex(0x8000)", adjtimex(&tx) >= 0 ? 0 : -1);
	errno_line("adjtimex(NULL)", syscall(SYS_adjtimex, NULL));

	/* clock_adjtime: CLOCK_REALTIME reads as adjtimex; other clocks cannot be adjusted. */
	memset(&tx, 0, sizeof tx);
	check(syscall(SYS_clock_adjtime, CLOCK_REALTIME, &tx) >= 0, "clock_adjtime(CLOCK_REALTIME, modes 0) works");
	memset(&tx, 0, sizeof tx);
	errno_line("clock_adjtime(CLOCK_MONOTONIC)", syscall(SYS_clock_adjtime, CLOCK_MONOTONIC, &tx));
	errno_line("clock_adjtime(CLOCK_BOOTTIME)", syscall(SYS_clock_adjtime, CLOCK_BOOTTIME, &tx));
	errno_line("clock_adjtime(10)", syscall(SYS_clock_adjtime, 10, &tx));
	errno_line("clock_adjtime(999)", syscall(SYS_clock_adjtime, 999, &tx));
	errno_line("clock_adjtime(CLOCK_REALTIME, NULL)", syscall(SYS_clock_adjtime, CLOCK_REALTIME, NULL));

	/* clock_settime: only CLOCK_REALTIME can be set; these are refused before anything is set. */
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	errno_line("clock_settime(CLOCK_MONOTONIC)", syscall(SYS_clock_settime, CLOCK_MONOTONIC, &now));
	errno_line("clock_settime(CLOCK_MONOTONIC_RAW)", syscall(SYS_clock_settime, CLOCK_MONOTONIC_RAW, &now));
	errno_line("clock_settime(CLOCK_BOOTTIME)", syscall(SYS_clock_settime, CLOCK_BOOTTIME, &now));
	errno_line("clock_settime(CLOCK_REALTIME_COARSE)", syscall(SYS_clock_settime, CLOCK_REALTIME_COARSE, &now));
	errno_line("clock_settime(CLOCK_TAI)", syscall(SYS_clock_settime, CLOCK_TAI, &now));
	errno_line("clock_settime(10)", syscall(SYS_clock_settime, 10, &now));
	errno_line("clock_settime(999)", syscall(SYS_clock_settime, 999, &now));
	errno_line("clock_settime(CLOCK_PROCESS_CPUTIME_ID)", syscall(SYS_clock_settime, CLOCK_PROCESS_CPUTIME_ID, &now));
	errno_line("clock_settime(CLOCK_THREAD_CPUTIME_ID)", syscall(SYS_clock_settime, CLOCK_THREAD_CPUTIME_ID, &now));
	clock_gettime(CLOCK_REALTIME, &now);
	struct timespec bad = now;
	bad.tv_nsec = 1000000000;
	errno_line("clock_settime(CLOCK_REALTIME, tv_nsec 1e9)", syscall(SYS_clock_settime, CLOCK_REALTIME, &bad));
	bad.tv_nsec = -1;
	errno_line("clock_settime(CLOCK_REALTIME, tv_nsec -1)", syscall(SYS_clock_settime, CLOCK_REALTIME, &bad));
	bad.tv_sec = -1;
	bad.tv_nsec = 0;
	errno_line("clock_settime(CLOCK_REALTIME, tv_sec -1)", syscall(SYS_clock_settime, CLOCK_REALTIME, &bad));

	/* settimeofday: a bad tv_usec is EINVAL for anyone; with nothing to set, it still asks for CAP_SYS_TIME. */
	struct timeval tv = { now.tv_sec, 1000000 };
	errno_line("settimeofday(tv_usec 1000000)", syscall(SYS_settimeofday, &tv, NULL));
	tv.tv_usec = -1;
	errno_line("settimeofday(tv_usec -1)", syscall(SYS_settimeofday, &tv, NULL));
	long n = syscall(SYS_settimeofday, NULL, NULL);
	check(has_cap_sys_time() ? n == 0 : fails_with(n, EPERM), "settimeofday(NULL, NULL): 0 with CAP_SYS_TIME, else EPERM");

	/* gettimeofday's timezone and time, through the syscall. */
	struct timeval g;
	check(syscall(SYS_gettimeofday, &g, NULL) == 0 && g.tv_usec >= 0 && g.tv_usec < 1000000, "gettimeofday(tv, NULL)");
	check(syscall(SYS_gettimeofday, NULL, NULL) == 0, "gettimeofday(NULL, NULL)");

	return failures ? 1 : 0;
}
