/* eventfd and timerfd. eventfd: flags, the counter (read takes all of it),
 * EFD_SEMAPHORE (read takes 1), EAGAIN at 0 and at the ceiling, EINVAL for
 * short buffers and for the value 2^64-1, a blocked reader woken by another
 * process, poll readiness. timerfd: clocks and flags, disarmed reads, one-shot
 * and periodic expirations (counted from an absolute start in the past, so
 * the counts do not depend on speed), gettime, the old value from settime,
 * a blocking read, EAGAIN when non-blocking. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

static void expect_err(long r, int want, const char *what)
{
	char buf[160];
	snprintf(buf, sizeof buf, "%s: %ld %s", what, r, r < 0 ? errname(errno) : "");
	check(r == -1 && errno == want, buf);
}

static short revents(int fd, short events)
{
	struct pollfd p = { .fd = fd, .events = events };
	poll(&p, 1, 0);
	return p.revents;
}

static void eventfds(void)
{
	expect_err(eventfd(0, 0x10), EINVAL, "eventfd with an unknown flag");
	int fd = eventfd(5, EFD_NONBLOCK | EFD_CLOEXEC);
	check(fcntl(fd, F_GETFD) == FD_CLOEXEC, "EFD_CLOEXEC");
	check((fcntl(fd, F_GETFL) & (O_NONBLOCK | O_ACCMODE)) == (O_NONBLOCK | O_RDWR), "EFD_NONBLOCK, O_RDWR");
	check(lseek(fd, 100, SEEK_SET) == 0 && lseek(fd, 0, SEEK_END) == 0, "lseek of an eventfd answers 0 and moves nothing");
	uint64_t v = 0;
	expect_err(read(fd, &v, 4), EINVAL, "read of 4 bytes");
	check(read(fd, &v, 8) == 8 && v == 5, "read takes the initial value");
	expect_err(read(fd, &v, 8), EAGAIN, "read at 0");
	printf("poll at 0: %#x\n", revents(fd, POLLIN | POLLOUT));
	v = 3;
	write(fd, &v, 8);
	v = 4;
	write(fd, &v, 8);
	printf("poll at 7: %#x\n", revents(fd, POLLIN | POLLOUT));
	uint64_t wide[2] = { 0, 0 };
	check(read(fd, wide, sizeof wide) == 8 && wide[0] == 7, "writes add up; a long buffer is fine");
	v = UINT64_MAX;
	expect_err(write(fd, &v, 8), EINVAL, "write of 2^64-1");
	expect_err(write(fd, &v, 7), EINVAL, "write of 7 bytes");
	v = UINT64_MAX - 1;
	check(write(fd, &v, 8) == 8, "write up to the ceiling 2^64-2");
	printf("poll at the ceiling: %#x\n", revents(fd, POLLIN | POLLOUT));
	v = 1;
	expect_err(write(fd, &v, 8), EAGAIN, "write past the ceiling");
	v = 0;
	check(write(fd, &v, 8) == 8, "write of 0 always fits");
	check(read(fd, &v, 8) == 8 && v == UINT64_MAX - 1, "read at the ceiling");
	close(fd);

	fd = eventfd(3, EFD_SEMAPHORE | EFD_NONBLOCK);
	int got = 0;
	while (read(fd, &v, 8) == 8 && v == 1)
		got++;
	check(got == 3 && errno == EAGAIN, "EFD_SEMAPHORE: three reads of 1, then EAGAIN");
	close(fd);

	fd = eventfd(0, 0);
	pid_t pid = fork();
	if (pid == 0) {
		usleep(30 * 1000);
		uint64_t one = 42;
		write(fd, &one, 8);
		_exit(0);
	}
	check(read(fd, &v, 8) == 8 && v == 42, "a blocked read is woken by another process");
	waitpid(pid, NULL, 0);
	close(fd);
}

static struct timespec ns_ts(long long ns)
{
	struct timespec ts = { ns / 1000000000LL, ns % 1000000000LL };
	return ts;
}

static long long ts_ns(struct timespec ts)
{
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void timerfds(void)
{
	expect_err(timerfd_create(12345, 0), EINVAL, "timerfd_create with a bad clock");
	expect_err(timerfd_create(CLOCK_MONOTONIC, 0x10), EINVAL, "timerfd_create with a bad flag");
	int clocks[] = { CLOCK_REALTIME, CLOCK_MONOTONIC, CLOCK_BOOTTIME };
	for (int i = 0; i < 3; i++) {
		int fd = timerfd_create(clocks[i], TFD_NONBLOCK);
		char what[64];
		snprintf(what, sizeof what, "timerfd_create clock %d", clocks[i]);
		check(fd >= 0, what);
		close(fd);
	}
	int fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	check(fcntl(fd, F_GETFD) == FD_CLOEXEC, "TFD_CLOEXEC");
	check(lseek(fd, 7, SEEK_CUR) == 0, "lseek of a timerfd answers 0");
	uint64_t n = 0;
	expect_err(read(fd, &n, 8), EAGAIN, "read of a disarmed timer");
	expect_err(read(fd, &n, 4), EINVAL, "read of 4 bytes");
	struct itimerspec its = { 0 }, old;
	its.it_value.tv_nsec = 1000000000;
	expect_err(timerfd_settime(fd, 0, &its, NULL), EINVAL, "settime with tv_nsec 1e9");
	expect_err(timerfd_settime(fd, 4, &its, NULL), EINVAL, "settime with a bad flag");
	expect_err(timerfd_settime(0, 0, &(struct itimerspec){ 0 }, NULL), EINVAL, "settime on stdin");

	/* One-shot, 10 s away: gettime shows it, nothing has expired. */
	its = (struct itimerspec){ .it_value = { 10, 0 } };
	timerfd_settime(fd, 0, &its, NULL);
	struct itimerspec cur;
	timerfd_gettime(fd, &cur);
	check(cur.it_value.tv_sec >= 9 && cur.it_value.tv_sec <= 10 && ts_ns(cur.it_interval) == 0, "gettime of a 10 s one-shot");
	expect_err(read(fd, &n, 8), EAGAIN, "read before the expiry");
	printf("poll before the expiry: %#x\n", revents(fd, POLLIN));

	/* Periodic, 1 s interval, started 10.5 s ago (absolute): 11 expirations at once. */
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	its.it_value = ns_ts(ts_ns(now) - 10500000000LL);
	its.it_interval = ns_ts(1000000000LL);
	timerfd_settime(fd, TFD_TIMER_ABSTIME, &its, &old);
	check(old.it_value.tv_sec >= 9 && old.it_value.tv_sec <= 10, "settime returns the old setting");
	printf("poll after the expiry: %#x\n", revents(fd, POLLIN));
	check(read(fd, &n, 8) == 8, "read of a periodic timer");
	printf("periodic expirations: %llu\n", (unsigned long long)n);
	expect_err(read(fd, &n, 8), EAGAIN, "read again at once");
	timerfd_gettime(fd, &cur);
	check(ts_ns(cur.it_interval) == 1000000000LL && ts_ns(cur.it_value) > 0 && ts_ns(cur.it_value) <= 1000000000LL,
	      "gettime of a periodic timer: the interval, and the time to the next expiry");

	/* Disarm: gettime reads 0, the unread count is dropped. */
	its = (struct itimerspec){ 0 };
	timerfd_settime(fd, 0, &its, &old);
	check(ts_ns(old.it_interval) == 1000000000LL, "disarming returns the interval");
	timerfd_gettime(fd, &cur);
	check(ts_ns(cur.it_value) == 0 && ts_ns(cur.it_interval) == 0, "disarmed: gettime reads 0");
	close(fd);

	/* Realtime absolute one-shot in the past: one expiry. */
	fd = timerfd_create(CLOCK_REALTIME, TFD_NONBLOCK);
	clock_gettime(CLOCK_REALTIME, &now);
	its = (struct itimerspec){ .it_value = ns_ts(ts_ns(now) - 1000000000LL) };
	timerfd_settime(fd, TFD_TIMER_ABSTIME, &its, NULL);
	check(read(fd, &n, 8) == 8 && n == 1, "realtime absolute expiry in the past: 1");
	timerfd_gettime(fd, &cur);
	check(ts_ns(cur.it_value) == 0, "an expired one-shot reads 0");
	close(fd);

	/* A blocking read sleeps until the expiry. */
	fd = timerfd_create(CLOCK_MONOTONIC, 0);
	its = (struct itimerspec){ .it_value = { 0, 30 * 1000000 } };
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	timerfd_settime(fd, 0, &its, NULL);
	check(read(fd, &n, 8) == 8 && n == 1, "a blocking read returns 1 expiry");
	clock_gettime(CLOCK_MONOTONIC, &t1);
	check(ts_ns(t1) - ts_ns(t0) >= 30000000LL, "after at least 30 ms");
	close(fd);
}

int main(void)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	eventfds();
	timerfds();
	if (failures) {
		printf("eventfd_timerfd: %d failures\n", failures);
		return 1;
	}
	printf("eventfd_timerfd ok\n");
	return 0;
}
