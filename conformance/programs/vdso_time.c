/* clock_gettime(CLOCK_MONOTONIC) 100000 times must never go backwards;
 * CLOCK_REALTIME must be after 2020-01-01; gettimeofday() and time() must
 * agree with CLOCK_REALTIME within 2 s. Prints only pass/fail lines. */
#include <stdio.h>
#include <sys/time.h>
#include <time.h>

static int failures;

static void check(int ok, const char *what)
{
	printf("%s %s\n", what, ok ? "ok" : "FAILED");
	if (!ok)
		failures++;
}

static long long ns_of(const struct timespec *t)
{
	return (long long)t->tv_sec * 1000000000ll + t->tv_nsec;
}

int main(void)
{
	struct timespec prev, now;
	int ok = clock_gettime(CLOCK_MONOTONIC, &prev) == 0 && prev.tv_nsec >= 0 && prev.tv_nsec < 1000000000;
	for (int i = 0; ok && i < 100000; i++) {
		if (clock_gettime(CLOCK_MONOTONIC, &now) != 0 || now.tv_nsec < 0 || now.tv_nsec >= 1000000000 ||
		    ns_of(&now) < ns_of(&prev))
			ok = 0;
		prev = now;
	}
	check(ok, "monotonic");

	struct timespec rt;
	ok = clock_gettime(CLOCK_REALTIME, &rt) == 0 && rt.tv_sec > 1577836800 /* 2020-01-01 */ &&
	     rt.tv_nsec >= 0 && rt.tv_nsec < 1000000000;
	check(ok, "realtime");

	struct timeval tv;
	int gtod = gettimeofday(&tv, NULL);
	time_t t = time(NULL);
	time_t t2;
	time_t t3 = time(&t2);
	struct timespec rt2;
	clock_gettime(CLOCK_REALTIME, &rt2);
	long long lo = (long long)rt.tv_sec - 2, hi = (long long)rt2.tv_sec + 2;
	ok = gtod == 0 && tv.tv_usec >= 0 && tv.tv_usec < 1000000 && (long long)tv.tv_sec >= lo &&
	     (long long)tv.tv_sec <= hi && (long long)t >= lo && (long long)t <= hi && t2 == t3 &&
	     (long long)t3 >= lo && (long long)t3 <= hi;
	check(ok, "gettimeofday");

	return failures ? 1 : 0;
}
