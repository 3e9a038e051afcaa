/* poll, ppoll, select and pselect6 over pipes, sockets and stdin: immediate
 * readiness, waiting until another process writes, timeouts, hang-ups, bad
 * descriptors, and pselect/ppoll's temporary signal mask. Reads stdin (give it
 * input). Prints only results that do not depend on timing. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "expect.h"

static long elapsed_ms(const struct timespec *t0)
{
	struct timespec t1;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (t1.tv_sec - t0->tv_sec) * 1000 + (t1.tv_nsec - t0->tv_nsec) / 1000000;
}

/* A child that sleeps `ms` then writes one byte into fd and exits. */
static pid_t write_later(int fd, int ms)
{
	pid_t pid = fork();
	if (pid == 0) {
		usleep(ms * 1000);
		if (write(fd, "x", 1) != 1)
			_exit(1);
		_exit(0);
	}
	return pid;
}

static void reap(pid_t pid)
{
	int status;
	waitpid(pid, &status, 0);
	check(WIFEXITED(status) && WEXITSTATUS(status) == 0, "writer child exited 0");
}

static void test_poll(void)
{
	int p[2];
	pipe(p);
	struct pollfd fds[2] = { { .fd = p[0], .events = POLLIN }, { .fd = p[1], .events = POLLOUT } };
	int n = poll(fds, 2, 0);
	check(n == 1 && fds[0].revents == 0 && fds[1].revents == POLLOUT, "poll: empty pipe: only the write end is ready");

	n = poll(fds, 1, 50);
	check(n == 0 && fds[0].revents == 0, "poll: timeout on an empty pipe answers 0");

	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	pid_t child = write_later(p[1], 100);
	n = poll(fds, 1, 5000);
	long ms = elapsed_ms(&t0);
	check(n == 1 && fds[0].revents == POLLIN, "poll: wakes when another process writes");
	check(ms >= 50 && ms < 4000, "poll: woke after the write, before the timeout");
	reap(child);

	close(p[1]);
	char buf[4];
	read(p[0], buf, sizeof buf);
	n = poll(fds, 1, 1000);
	check(n == 1 && fds[0].revents == POLLHUP, "poll: drained pipe without writers: POLLHUP");
	close(p[0]);

	struct pollfd bad[2] = { { .fd = 999, .events = POLLIN }, { .fd = -1, .events = POLLIN } };
	n = poll(bad, 2, 0);
	check(n == 1 && bad[0].revents == POLLNVAL && bad[1].revents == 0, "poll: a closed fd is POLLNVAL, a negative one ignored");

	int q[2];
	pipe(q);
	close(q[0]);
	struct pollfd w = { .fd = q[1], .events = POLLOUT };
	n = poll(&w, 1, 0);
	check(n == 1 && (w.revents & POLLERR) != 0, "poll: write end without readers: POLLERR");
	close(q[1]);

	struct pollfd *volatile nowhere = NULL;
	EXPECT_ERR(poll(nowhere, 1, 0), EFAULT, "poll(NULL, 1)");
	n = poll(nowhere, 0, 10);
	check(n == 0, "poll with no fds sleeps and answers 0");
}

static void test_ppoll(void)
{
	int p[2];
	pipe(p);
	struct pollfd fd = { .fd = p[0], .events = POLLIN };
	struct timespec ts = { 0, 30 * 1000000 };
	int n = ppoll(&fd, 1, &ts, NULL);
	check(n == 0, "ppoll: timeout answers 0");

	pid_t child = write_later(p[1], 50);
	n = ppoll(&fd, 1, NULL, NULL);
	check(n == 1 && fd.revents == POLLIN, "ppoll: no timeout waits for the write");
	reap(child);

	struct timespec bad = { 0, 1000000000 };
	EXPECT_ERR(ppoll(&fd, 1, &bad, NULL), EINVAL, "ppoll: tv_nsec 1e9");
	close(p[0]);
	close(p[1]);
}

static void test_select(void)
{
	int p[2];
	pipe(p);
	fd_set r, w;
	FD_ZERO(&r);
	FD_ZERO(&w);
	FD_SET(p[0], &r);
	FD_SET(p[1], &w);
	int nfds = (p[0] > p[1] ? p[0] : p[1]) + 1;
	int n = select(nfds, &r, &w, NULL, &(struct timeval){ 0, 0 });
	check(n == 1 && !FD_ISSET(p[0], &r) && FD_ISSET(p[1], &w), "select: empty pipe: only the write end is ready");

	FD_ZERO(&r);
	FD_SET(p[0], &r);
	struct timeval tv = { 0, 40000 };
	n = select(nfds, &r, NULL, NULL, &tv);
	check(n == 0 && !FD_ISSET(p[0], &r), "select: timeout answers 0 and clears the set");

	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	pid_t child = write_later(p[1], 100);
	FD_ZERO(&r);
	FD_SET(p[0], &r);
	n = select(nfds, &r, NULL, NULL, NULL);
	long ms = elapsed_ms(&t0);
	check(n == 1 && FD_ISSET(p[0], &r), "select: wakes when another process writes");
	check(ms >= 50, "select: woke after the write");
	reap(child);

	FD_ZERO(&r);
	FD_SET(p[0], &r);
	tv = (struct timeval){ 5, 0 };
	n = select(nfds, &r, NULL, NULL, &tv);
	check(n == 1 && FD_ISSET(p[0], &r), "select: a pipe with data is ready at once");

	FD_ZERO(&r);
	FD_SET(50, &r);
	EXPECT_ERR(select(51, &r, NULL, NULL, &(struct timeval){ 0, 0 }), EBADF, "select on a closed fd");
	EXPECT_ERR(select(-1, NULL, NULL, NULL, &(struct timeval){ 0, 0 }), EINVAL, "select(-1)");
	EXPECT_ERR(select(1, NULL, NULL, NULL, &(struct timeval){ 0, -1 }), EINVAL, "select: negative tv_usec");
	n = select(0, NULL, NULL, NULL, &(struct timeval){ 0, 10000 });
	check(n == 0, "select with no fds sleeps and answers 0");
	close(p[0]);
	close(p[1]);
}

static volatile sig_atomic_t got_usr1;
static void on_usr1(int sig)
{
	(void)sig;
	got_usr1 = 1;
}

static void test_pselect_mask(void)
{
	struct sigaction sa = { .sa_handler = on_usr1 };
	sigaction(SIGUSR1, &sa, NULL);
	sigset_t block, old, empty;
	sigemptyset(&block);
	sigaddset(&block, SIGUSR1);
	sigprocmask(SIG_BLOCK, &block, &old);
	raise(SIGUSR1);
	check(got_usr1 == 0, "SIGUSR1 blocked: not delivered yet");

	int p[2];
	pipe(p);
	fd_set r;
	FD_ZERO(&r);
	FD_SET(p[0], &r);
	sigemptyset(&empty);
	struct timespec ts = { 5, 0 };
	errno = 0;
	int n = pselect(p[0] + 1, &r, NULL, NULL, &ts, &empty);
	check(n == -1 && errno == EINTR && got_usr1 == 1, "pselect: its mask lets the pending signal in: EINTR");
	sigset_t now;
	sigprocmask(SIG_SETMASK, NULL, &now);
	check(sigismember(&now, SIGUSR1), "pselect: the old mask is back afterwards");

	got_usr1 = 0;
	raise(SIGUSR1);
	struct pollfd fd = { .fd = p[0], .events = POLLIN };
	errno = 0;
	n = ppoll(&fd, 1, &ts, &empty);
	check(n == -1 && errno == EINTR && got_usr1 == 1, "ppoll: its mask lets the pending signal in: EINTR");
	sigprocmask(SIG_SETMASK, &old, NULL);
	close(p[0]);
	close(p[1]);
}

static void test_sockets_and_stdin(void)
{
	int sv[2];
	socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
	pid_t child = write_later(sv[1], 50);
	fd_set r;
	FD_ZERO(&r);
	FD_SET(sv[0], &r);
	int n = select(sv[0] + 1, &r, NULL, NULL, &(struct timeval){ 5, 0 });
	check(n == 1 && FD_ISSET(sv[0], &r), "select: a socket becomes readable");
	reap(child);
	shutdown(sv[1], SHUT_WR);
	char buf[4];
	read(sv[0], buf, sizeof buf);
	struct pollfd fd = { .fd = sv[0], .events = POLLIN | POLLRDHUP };
	n = poll(&fd, 1, 1000);
	check(n == 1 && (fd.revents & (POLLIN | POLLRDHUP)) == (POLLIN | POLLRDHUP), "poll: peer shut down writing: POLLIN|POLLRDHUP");
	close(sv[0]);
	close(sv[1]);

	struct pollfd in = { .fd = 0, .events = POLLIN };
	n = poll(&in, 1, 5000);
	check(n == 1 && (in.revents & POLLIN), "poll: stdin with input is readable");
	char line[64];
	ssize_t got = read(0, line, sizeof line - 1);
	check(got > 0, "stdin: read after poll");
	FD_ZERO(&r);
	FD_SET(0, &r);
	n = select(1, &r, NULL, NULL, &(struct timeval){ 5, 0 });
	check(n == 1 && FD_ISSET(0, &r), "select: stdin at end of file is readable");
	check(read(0, line, sizeof line) == 0, "stdin: end of file");
}

int main(void)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	test_poll();
	test_ppoll();
	test_select();
	test_pselect_mask();
	test_sockets_and_stdin();
	printf("poll_select %s\n", failures ? "FAILED" : "ok");
	return failures != 0;
}
