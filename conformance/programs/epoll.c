/* epoll: create flags, epoll_ctl's errors in Linux's order (EBADF, EPERM for
 * a regular file, EINVAL, EEXIST, ENOENT, ELOOP), level-triggered, EPOLLET and
 * EPOLLONESHOT reports over pipes, the data field round trip, HUP when the
 * writer goes, items that outlive one of two descriptors, LT round robin with
 * maxevents 1, nested instances, eventfd/timerfd/signalfd/stdin as targets,
 * timeouts (0, ms, -1 with a writer in another process), EINTR even with
 * SA_RESTART, and epoll_pwait's temporary mask. Reads stdin (give it input). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

/* "-1 EINVAL" or the result, for a call expected to fail. */
static void expect_err(int r, int want, const char *what)
{
	char buf[160];
	snprintf(buf, sizeof buf, "%s: %d %s", what, r, r < 0 ? errname(errno) : "");
	check(r == -1 && errno == want, buf);
}

static long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static int add(int ep, int fd, uint32_t events, uint64_t data)
{
	struct epoll_event ev = { .events = events, .data.u64 = data };
	return epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
}

static int mod(int ep, int fd, uint32_t events, uint64_t data)
{
	struct epoll_event ev = { .events = events, .data.u64 = data };
	return epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev);
}

/* One epoll_wait: prints its result and every event as "events/data". */
static int show(int ep, int max, int timeout, const char *what)
{
	struct epoll_event evs[8];
	int n = epoll_wait(ep, evs, max, timeout);
	printf("%s: %d", what, n);
	if (n < 0)
		printf(" %s", errname(errno));
	for (int i = 0; i < n; i++)
		printf(" %#x/%llx", evs[i].events, (unsigned long long)evs[i].data.u64);
	printf("\n");
	return n;
}

static void creation(void)
{
	/* Straight to the kernel: some libcs check the size themselves. */
	expect_err((int)syscall(SYS_epoll_create, 0), EINVAL, "epoll_create(0)");
	expect_err(epoll_create1(1), EINVAL, "epoll_create1(1)");
	int a = epoll_create(1);
	int b = epoll_create1(EPOLL_CLOEXEC);
	check(a >= 0 && b >= 0, "epoll_create and epoll_create1");
	check(lseek(b, 10, SEEK_SET) == 0, "lseek of an epoll fd answers 0");
	check(fcntl(a, F_GETFD) == 0, "epoll_create: no FD_CLOEXEC");
	check(fcntl(b, F_GETFD) == FD_CLOEXEC, "EPOLL_CLOEXEC sets FD_CLOEXEC");
	check((fcntl(b, F_GETFL) & O_ACCMODE) == O_RDWR, "an epoll fd is O_RDWR");
	close(a);
	close(b);
}

static void ctl_errors(void)
{
	int ep = epoll_create1(0), ep2 = epoll_create1(0), p[2];
	pipe(p);
	int reg = open("/proc/self/exe", O_RDONLY);
	struct epoll_event ev = { .events = EPOLLIN };
	expect_err(add(ep, 999, EPOLLIN, 0), EBADF, "ADD of a closed fd");
	expect_err(add(999, p[0], EPOLLIN, 0), EBADF, "ADD on a closed epfd");
	expect_err(add(ep, ep, EPOLLIN, 0), EINVAL, "ADD of the epoll fd to itself");
	expect_err(add(p[1], p[0], EPOLLIN, 0), EINVAL, "epfd that is a pipe");
	expect_err(add(ep, reg, EPOLLIN, 0), EPERM, "ADD of a regular file");
	expect_err(mod(ep, p[0], EPOLLIN, 0), ENOENT, "MOD of an fd not added");
	expect_err(epoll_ctl(ep, EPOLL_CTL_DEL, p[0], NULL), ENOENT, "DEL of an fd not added");
	check(add(ep, p[0], EPOLLIN, 1) == 0, "ADD");
	expect_err(add(ep, p[0], EPOLLIN, 1), EEXIST, "ADD twice");
	expect_err(epoll_ctl(ep, 99, p[0], &ev), EINVAL, "unknown op");
	expect_err(mod(ep, p[0], EPOLLIN | EPOLLEXCLUSIVE, 1), EINVAL, "MOD with EPOLLEXCLUSIVE");
	expect_err(add(ep, p[1], EPOLLOUT | EPOLLEXCLUSIVE | EPOLLONESHOT, 1), EINVAL, "EPOLLEXCLUSIVE with EPOLLONESHOT");
	expect_err(add(ep, ep2, EPOLLIN | EPOLLEXCLUSIVE, 1), EINVAL, "EPOLLEXCLUSIVE on an epoll fd");
	check(add(ep, ep2, EPOLLIN, 2) == 0, "ADD of another epoll fd");
	expect_err(add(ep2, ep, EPOLLIN, 3), ELOOP, "ADD that closes a loop");
	check(epoll_ctl(ep, EPOLL_CTL_DEL, p[0], NULL) == 0, "DEL");
	expect_err(epoll_ctl(ep, EPOLL_CTL_DEL, p[0], NULL), ENOENT, "DEL twice");
	struct epoll_event out[1];
	expect_err(epoll_wait(ep, out, 0, 0), EINVAL, "epoll_wait maxevents 0");
	expect_err(epoll_wait(p[0], out, 1, 0), EINVAL, "epoll_wait on a pipe");
	expect_err(epoll_wait(999, out, 1, 0), EBADF, "epoll_wait on a closed fd");
	close(reg);
	close(p[0]);
	close(p[1]);
	close(ep);
	close(ep2);
}

static void level_edge_oneshot(void)
{
	int p[2], ep = epoll_create1(0);
	pipe(p);
	add(ep, p[0], EPOLLIN, 0x1122334455667788ULL);
	show(ep, 8, 0, "LT empty pipe");
	write(p[1], "abc", 3);
	show(ep, 8, 0, "LT after write");
	show(ep, 8, 0, "LT again, nothing read");
	char buf[8];
	read(p[0], buf, sizeof buf);
	show(ep, 8, 0, "LT after read");
	add(ep, p[1], EPOLLOUT, 7);
	show(ep, 8, 0, "write end ready");
	epoll_ctl(ep, EPOLL_CTL_DEL, p[1], NULL);

	mod(ep, p[0], EPOLLIN | EPOLLET, 2);
	show(ep, 8, 0, "ET empty");
	write(p[1], "abcd", 4);
	show(ep, 8, 0, "ET after write");
	show(ep, 8, 0, "ET again");
	read(p[0], buf, 2);
	show(ep, 8, 0, "ET after partial read");
	write(p[1], "e", 1);
	show(ep, 8, 0, "ET after another write");
	read(p[0], buf, sizeof buf);

	mod(ep, p[0], EPOLLIN | EPOLLONESHOT, 3);
	write(p[1], "x", 1);
	show(ep, 8, 0, "ONESHOT first");
	show(ep, 8, 0, "ONESHOT disarmed");
	write(p[1], "y", 1);
	show(ep, 8, 0, "ONESHOT disarmed after write");
	mod(ep, p[0], EPOLLIN | EPOLLONESHOT, 4);
	show(ep, 8, 0, "ONESHOT re-armed by MOD");
	read(p[0], buf, sizeof buf);

	mod(ep, p[0], EPOLLIN | EPOLLRDHUP, 5);
	close(p[1]);
	show(ep, 8, 0, "writer closed");
	close(p[0]);
	close(ep);
}

static void lifetime(void)
{
	int p[2], ep = epoll_create1(0);
	pipe(p);
	add(ep, p[0], EPOLLIN, 9);
	int dupfd = dup(p[0]);
	close(p[0]);
	write(p[1], "z", 1);
	show(ep, 8, 0, "item outlives one of two fds");
	expect_err(epoll_ctl(ep, EPOLL_CTL_DEL, p[0], NULL), EBADF, "DEL through the closed fd");
	close(dupfd);
	show(ep, 8, 0, "item gone with the last fd");
	close(p[1]);
	close(ep);
}

static void round_robin(void)
{
	int ep = epoll_create1(0), p[3][2];
	for (int i = 0; i < 3; i++) {
		pipe(p[i]);
		write(p[i][1], "r", 1);
		add(ep, p[i][0], EPOLLIN, 100 + i);
	}
	int seen = 0;
	for (int i = 0; i < 3; i++) {
		struct epoll_event ev;
		if (epoll_wait(ep, &ev, 1, 0) == 1)
			seen |= 1 << (ev.data.u64 - 100);
	}
	check(seen == 7, "maxevents 1 takes turns among three ready items");
	for (int i = 0; i < 3; i++) {
		close(p[i][0]);
		close(p[i][1]);
	}
	close(ep);
}

static void nested(void)
{
	int inner = epoll_create1(0), outer = epoll_create1(0), p[2];
	pipe(p);
	add(inner, p[0], EPOLLIN, 1);
	add(outer, inner, EPOLLIN, 2);
	show(outer, 8, 0, "nested, nothing ready");
	write(p[1], "n", 1);
	show(outer, 8, 0, "nested, inner ready");
	show(inner, 8, 0, "inner itself");
	close(p[0]);
	close(p[1]);
	close(inner);
	close(outer);
}

static void other_files(void)
{
	int ep = epoll_create1(0);
	int efd = eventfd(0, EFD_NONBLOCK);
	add(ep, efd, EPOLLIN | EPOLLOUT, 0xe);
	show(ep, 8, 0, "eventfd at 0");
	uint64_t one = 1;
	write(efd, &one, 8);
	show(ep, 8, 0, "eventfd at 1");
	epoll_ctl(ep, EPOLL_CTL_DEL, efd, NULL);
	close(efd);

	int tfd = timerfd_create(CLOCK_MONOTONIC, 0);
	add(ep, tfd, EPOLLIN, 0x7);
	show(ep, 8, 0, "timerfd disarmed");
	struct itimerspec its = { .it_value = { 0, 20 * 1000000 } };
	timerfd_settime(tfd, 0, &its, NULL);
	show(ep, 8, -1, "timerfd after waiting");
	uint64_t ticks = 0;
	read(tfd, &ticks, 8);
	printf("timerfd expirations: %llu\n", (unsigned long long)ticks);
	epoll_ctl(ep, EPOLL_CTL_DEL, tfd, NULL);
	close(tfd);

	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_BLOCK, &set, NULL);
	int sfd = signalfd(-1, &set, SFD_NONBLOCK);
	add(ep, sfd, EPOLLIN, 0x5);
	show(ep, 8, 0, "signalfd, nothing pending");
	raise(SIGUSR1);
	show(ep, 8, 0, "signalfd, SIGUSR1 pending");
	struct signalfd_siginfo si;
	check(read(sfd, &si, sizeof si) == sizeof si && si.ssi_signo == SIGUSR1, "signalfd read takes SIGUSR1");
	show(ep, 8, 0, "signalfd, taken");
	close(sfd);
	sigprocmask(SIG_UNBLOCK, &set, NULL);

	add(ep, 0, EPOLLIN, 0);
	struct epoll_event ev;
	int n = epoll_wait(ep, &ev, 1, -1);
	check(n == 1 && (ev.events & EPOLLIN), "stdin with input is readable");
	close(ep);
}

static void timeouts(void)
{
	int ep = epoll_create1(0), p[2];
	pipe(p);
	add(ep, p[0], EPOLLIN, 1);
	long t0 = now_ms();
	int n = show(ep, 8, 60, "60 ms timeout");
	check(n == 0 && now_ms() - t0 >= 60, "the timeout lasted 60 ms");

	pid_t pid = fork();
	if (pid == 0) {
		usleep(50 * 1000);
		write(p[1], "w", 1);
		_exit(0);
	}
	show(ep, 8, -1, "wait -1 until another process writes");
	waitpid(pid, NULL, 0);
	close(p[0]);
	close(p[1]);
	close(ep);
}

static int alarms;
static void on_alarm(int sig)
{
	(void)sig;
	alarms++;
}

static void signals(void)
{
	int ep = epoll_create1(0), p[2];
	pipe(p);
	add(ep, p[0], EPOLLIN, 1);
	struct sigaction sa = { .sa_handler = on_alarm, .sa_flags = SA_RESTART };
	sigaction(SIGALRM, &sa, NULL);
	struct itimerval it = { .it_value = { 0, 30 * 1000 } };
	setitimer(ITIMER_REAL, &it, NULL);
	show(ep, 8, -1, "a signal ends the wait, SA_RESTART or not");
	check(alarms == 1, "the handler ran once");

	/* epoll_pwait blocks SIGALRM during the wait only: it is taken after the call. */
	sigset_t block;
	sigemptyset(&block);
	sigaddset(&block, SIGALRM);
	setitimer(ITIMER_REAL, &it, NULL);
	struct epoll_event ev;
	int n = epoll_pwait(ep, &ev, 1, 150, &block);
	check(n == 0, "epoll_pwait with SIGALRM blocked times out");
	check(alarms == 2, "SIGALRM taken once the mask is back");
	sigset_t now;
	sigprocmask(SIG_SETMASK, NULL, &now);
	check(!sigismember(&now, SIGALRM), "the caller's mask is restored");

	/* A pending signal that the temporary mask unblocks ends the wait at once. */
	sigprocmask(SIG_BLOCK, &block, NULL);
	raise(SIGALRM);
	sigset_t none;
	sigemptyset(&none);
	n = epoll_pwait(ep, &ev, 1, -1, &none);
	check(n == -1 && errno == EINTR && alarms == 3, "epoll_pwait unblocking a pending signal: EINTR");
	sigprocmask(SIG_SETMASK, NULL, &now);
	check(sigismember(&now, SIGALRM), "the blocking mask is back after the handler");
	sigprocmask(SIG_UNBLOCK, &block, NULL);

#ifdef SYS_epoll_pwait2
	struct timespec ts = { 0, 20 * 1000000 };
	n = syscall(SYS_epoll_pwait2, ep, &ev, 1, &ts, NULL, 8);
	check(n == 0, "epoll_pwait2 with a 20 ms timespec times out");
	write(p[1], "q", 1);
	n = syscall(SYS_epoll_pwait2, ep, &ev, 1, NULL, NULL, 8);
	check(n == 1 && ev.data.u64 == 1, "epoll_pwait2 without timeout reports the pipe");
#endif
	close(p[0]);
	close(p[1]);
	close(ep);
}

int main(void)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	creation();
	ctl_errors();
	level_edge_oneshot();
	lifetime();
	round_robin();
	nested();
	other_files();
	timeouts();
	signals();
	if (failures) {
		printf("epoll: %d failures\n", failures);
		return 1;
	}
	printf("epoll ok\n");
	return 0;
}
