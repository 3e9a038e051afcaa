/* Clocks and randomness: clock_gettime on the fine, raw and coarse clocks
 * (never backwards, advancing with a sleep, the coarse ones within a tick of
 * the fine ones); clock_getres (fine: 1 µs or better; coarse: a tick, 1 to
 * 10 ms); clock_nanosleep relative and TIMER_ABSTIME on MONOTONIC, REALTIME
 * and BOOTTIME (a deadline in the past returns at once, the remaining time
 * is not written), EOPNOTSUPP on MONOTONIC_RAW and the coarse clocks, and
 * the errors; getrandom (the length asked for, different bytes each time,
 * the flags and errors).
 *
 * Timing-dependent results are printed as yes/no against generous bounds. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "expect.h"

#ifndef GRND_NONBLOCK
#define GRND_NONBLOCK 1
#define GRND_RANDOM 2
#endif
#ifndef GRND_INSECURE
#define GRND_INSECURE 4
#endif

#define MS 1000000LL

static long long ns_of(clockid_t c)
{
	struct timespec ts;
	if (clock_gettime(c, &ts) != 0)
		return -1;
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static struct timespec ts_of(long long ns)
{
	struct timespec ts = {ns / 1000000000LL, ns % 1000000000LL};
	return ts;
}

static void nap(long long ns)
{
	struct timespec ts = ts_of(ns);
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

static const struct {
	clockid_t id;
	const char *name;
	int coarse;
} CLOCKS[] = {
	{CLOCK_REALTIME, "REALTIME", 0},
	{CLOCK_MONOTONIC, "MONOTONIC", 0},
	{CLOCK_MONOTONIC_RAW, "MONOTONIC_RAW", 0},
	{CLOCK_REALTIME_COARSE, "REALTIME_COARSE", 1},
	{CLOCK_MONOTONIC_COARSE, "MONOTONIC_COARSE", 1},
	{CLOCK_BOOTTIME, "BOOTTIME", 0},
};
#define NCLOCKS (sizeof CLOCKS / sizeof CLOCKS[0])

static void test_clocks(void)
{
	char what[128];
	long long before[NCLOCKS], after[NCLOCKS];
	for (unsigned i = 0; i < NCLOCKS; i++) {
		long long a = ns_of(CLOCKS[i].id), b = ns_of(CLOCKS[i].id);
		before[i] = b;
		snprintf(what, sizeof what, "clock_gettime(%s) reads, and not backwards", CLOCKS[i].name);
		check(a > 0 && b >= a, what);
	}
	nap(30 * MS);
	for (unsigned i = 0; i < NCLOCKS; i++)
		after[i] = ns_of(CLOCKS[i].id);
	for (unsigned i = 0; i < NCLOCKS; i++) {
		long long d = after[i] - before[i];
		/* A coarse clock may lag a tick behind at either end. */
		long long min = CLOCKS[i].coarse ? 10 * MS : 30 * MS;
		snprintf(what, sizeof what, "%s advanced by the 30 ms slept (and less than 5 s)", CLOCKS[i].name);
		check(d >= min && d < 5000 * MS, what);
	}
	/*
	 * Coarse: never ahead of the fine clock, and behind it by about a tick.
	 * A loaded VM can hold the tick back for a while (one CI host lagged
	 * more than 10 ms natively), so the lag is the smallest of 20 reads
	 * 1 ms apart, and the bound is 50 ms.
	 */
	for (int k = 0; k < 2; k++) {
		clockid_t coarse = k ? CLOCK_MONOTONIC_COARSE : CLOCK_REALTIME_COARSE;
		clockid_t fine = k ? CLOCK_MONOTONIC : CLOCK_REALTIME;
		int ahead = 0;
		long long lag = -1;
		for (int n = 0; n < 20; n++) {
			long long c = ns_of(coarse), f = ns_of(fine);
			if (c > f) ahead = 1;
			if (lag < 0 || f - c < lag) lag = f - c;
			nap(1 * MS);
		}
		snprintf(what, sizeof what, "%s is at most a few ticks behind %s, never ahead", k ? "MONOTONIC_COARSE" : "REALTIME_COARSE",
		         k ? "MONOTONIC" : "REALTIME");
		check(!ahead && lag < 50 * MS, what);
	}
	for (unsigned i = 0; i < NCLOCKS; i++) {
		struct timespec res = {-1, -1};
		int r = clock_getres(CLOCKS[i].id, &res);
		long long ns = res.tv_sec * 1000000000LL + res.tv_nsec;
		if (CLOCKS[i].coarse) {
			snprintf(what, sizeof what, "clock_getres(%s): a tick (HZ 100 to 1000: 1 to 10 ms)", CLOCKS[i].name);
			check(r == 0 && ns >= 1 * MS && ns <= 10 * MS, what);
		} else {
			snprintf(what, sizeof what, "clock_getres(%s): 1 us or better", CLOCKS[i].name);
			check(r == 0 && ns > 0 && ns <= 1000, what);
		}
	}
	EXPECT_ERR(clock_getres(12345, NULL), EINVAL, "clock_getres of an unknown clock");
}

static void test_nanosleep(void)
{
	char what[128];
	/* Relative. */
	long long t0 = ns_of(CLOCK_MONOTONIC);
	struct timespec rel = ts_of(20 * MS);
	int r = clock_nanosleep(CLOCK_MONOTONIC, 0, &rel, NULL);
	check(r == 0 && ns_of(CLOCK_MONOTONIC) - t0 >= 20 * MS, "clock_nanosleep(MONOTONIC, 20 ms) slept 20 ms");

	/* Absolute: woken at the deadline or after, never before. */
	const struct {
		clockid_t id;
		const char *name;
	} abs_clocks[] = {{CLOCK_MONOTONIC, "MONOTONIC"}, {CLOCK_REALTIME, "REALTIME"}, {CLOCK_BOOTTIME, "BOOTTIME"}};
	for (unsigned i = 0; i < 3; i++) {
		long long deadline = ns_of(abs_clocks[i].id) + 30 * MS;
		struct timespec until = ts_of(deadline), rem = {77, 77};
		r = clock_nanosleep(abs_clocks[i].id, TIMER_ABSTIME, &until, &rem);
		long long now = ns_of(abs_clocks[i].id);
		snprintf(what, sizeof what, "clock_nanosleep(%s, TIMER_ABSTIME, now + 30 ms) returns at the deadline", abs_clocks[i].name);
		check(r == 0 && now >= deadline && now - deadline < 2000 * MS, what);
		snprintf(what, sizeof what, "clock_nanosleep(%s, TIMER_ABSTIME) leaves the remaining time alone", abs_clocks[i].name);
		check(rem.tv_sec == 77 && rem.tv_nsec == 77, what);
	}
	long long start = ns_of(CLOCK_MONOTONIC);
	struct timespec past = ts_of(start - 1000 * MS);
	r = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &past, NULL);
	check(r == 0 && ns_of(CLOCK_MONOTONIC) - start < 500 * MS, "clock_nanosleep(TIMER_ABSTIME, a second ago) returns at once");
	struct timespec zero = {0, 0};
	check(clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME, &zero, NULL) == 0, "clock_nanosleep(REALTIME, TIMER_ABSTIME, the epoch) returns 0");

	/* Clocks Linux cannot sleep on, and the errors (raw, as libcs differ in what they check themselves). */
	struct timespec tiny = ts_of(1000);
	EXPECT_ERR(syscall(SYS_clock_nanosleep, CLOCK_MONOTONIC_RAW, 0, &tiny, NULL), EOPNOTSUPP, "clock_nanosleep(MONOTONIC_RAW)");
	EXPECT_ERR(syscall(SYS_clock_nanosleep, CLOCK_REALTIME_COARSE, 0, &tiny, NULL), EOPNOTSUPP, "clock_nanosleep(REALTIME_COARSE)");
	EXPECT_ERR(syscall(SYS_clock_nanosleep, CLOCK_MONOTONIC_COARSE, TIMER_ABSTIME, &tiny, NULL), EOPNOTSUPP,
	           "clock_nanosleep(MONOTONIC_COARSE, TIMER_ABSTIME)");
	EXPECT_ERR(syscall(SYS_clock_nanosleep, 12345, 0, &tiny, NULL), EINVAL, "clock_nanosleep of an unknown clock");
	struct timespec bad = {0, 1000000000};
	EXPECT_ERR(syscall(SYS_clock_nanosleep, CLOCK_MONOTONIC, TIMER_ABSTIME, &bad, NULL), EINVAL, "clock_nanosleep, tv_nsec 1e9");
	struct timespec neg = {-1, 0};
	EXPECT_ERR(syscall(SYS_clock_nanosleep, CLOCK_MONOTONIC, 0, &neg, NULL), EINVAL, "clock_nanosleep, negative tv_sec");
	EXPECT_ERR(syscall(SYS_clock_nanosleep, CLOCK_MONOTONIC, 0, (void *)8, NULL), EFAULT, "clock_nanosleep from a bad address");
}

static long getrandom_(void *buf, size_t len, unsigned flags)
{
	return syscall(SYS_getrandom, buf, len, flags);
}

static void test_getrandom(void)
{
	unsigned char a[64], b[64], zero[64], big[1000];
	memset(a, 0, sizeof a);
	memset(b, 0, sizeof b);
	memset(zero, 0, sizeof zero);
	check(getrandom_(a, sizeof a, 0) == 64, "getrandom(64) returns 64");
	check(getrandom_(b, sizeof b, 0) == 64, "again");
	check(memcmp(a, b, sizeof a) != 0 && memcmp(a, zero, sizeof a) != 0, "the two differ, and are not zeros");
	check(getrandom_(big, 256, GRND_NONBLOCK) == 256, "getrandom(256, GRND_NONBLOCK) returns 256");
	check(getrandom_(big, sizeof big, GRND_RANDOM) > 0, "getrandom(1000, GRND_RANDOM) returns bytes");
	check(getrandom_(big, sizeof big, GRND_INSECURE) == 1000, "getrandom(1000, GRND_INSECURE) returns 1000");
	check(getrandom_(NULL, 0, 0) == 0, "getrandom(NULL, 0) returns 0");
	EXPECT_ERR(getrandom_(a, sizeof a, 0x80), EINVAL, "getrandom with an unknown flag");
	EXPECT_ERR(getrandom_(a, sizeof a, GRND_RANDOM | GRND_INSECURE), EINVAL, "getrandom(GRND_RANDOM | GRND_INSECURE)");
	EXPECT_ERR(getrandom_((void *)8, 64, 0), EFAULT, "getrandom to a bad address");
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	test_clocks();
	test_nanosleep();
	test_getrandom();
	if (failures) {
		printf("clocks: %d failures\n", failures);
		return 1;
	}
	printf("clocks ok\n");
	return 0;
}
