/* signalfd with the mask blocked, as programs use it: flags and errors, reads
 * of struct signalfd_siginfo (several per read, lowest signal first),
 * sigqueue's value, queued real-time signals, a signal from another process
 * waking a blocking read, SIGCHLD's status, a mask update through the same
 * fd, poll readiness, signals outside the mask left pending. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"

static void expect_err(long r, int want, const char *what)
{
	char buf[160];
	snprintf(buf, sizeof buf, "%s: %ld %s", what, r, r < 0 ? errname(errno) : "");
	check(r == -1 && errno == want, buf);
}

static short readable(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	poll(&p, 1, 0);
	return p.revents;
}

static void show(const struct signalfd_siginfo *si, pid_t from)
{
	printf("signo %u code %d from-expected-pid %d status %d int %d ptr %llu\n", si->ssi_signo, si->ssi_code,
	       (pid_t)si->ssi_pid == from, si->ssi_status, si->ssi_int, (unsigned long long)si->ssi_ptr);
}

int main(void)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGUSR1);
	sigaddset(&mask, SIGUSR2);
	sigaddset(&mask, SIGRTMIN);
	sigaddset(&mask, SIGCHLD);
	sigprocmask(SIG_BLOCK, &mask, NULL);

	expect_err(signalfd(-1, &mask, 0x10), EINVAL, "signalfd with an unknown flag");
	expect_err(syscall(SYS_signalfd4, -1, &mask, 4, 0), EINVAL, "signalfd4 with sizemask 4");
	expect_err(signalfd(0, &mask, 0), EINVAL, "signalfd on stdin");
	expect_err(signalfd(999, &mask, 0), EBADF, "signalfd on a closed fd");

	int fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	check(fd >= 0, "signalfd");
	check(lseek(fd, 3, SEEK_CUR) == 0, "lseek of a signalfd answers 0");
	check(fcntl(fd, F_GETFD) == FD_CLOEXEC, "SFD_CLOEXEC");
	check((fcntl(fd, F_GETFL) & (O_NONBLOCK | O_ACCMODE)) == (O_NONBLOCK | O_RDWR), "SFD_NONBLOCK, O_RDWR");
	struct signalfd_siginfo si[4];
	expect_err(read(fd, si, sizeof si), EAGAIN, "read with nothing pending");
	expect_err(read(fd, si, sizeof si[0] - 1), EINVAL, "read of 127 bytes");
	printf("poll, nothing pending: %#x\n", readable(fd));

	pid_t me = getpid();
	raise(SIGUSR2);
	raise(SIGUSR1);
	printf("poll, two pending: %#x\n", readable(fd));
	ssize_t n = read(fd, si, sizeof si);
	printf("read returned %zd (%zd records)\n", n, n / (ssize_t)sizeof si[0]);
	for (int i = 0; i < n / (ssize_t)sizeof si[0]; i++)
		show(&si[i], me);
	printf("poll, taken: %#x\n", readable(fd));

	union sigval v1 = { .sival_int = 1234 }, v2 = { .sival_int = 5678 };
	sigqueue(me, SIGRTMIN, v1);
	sigqueue(me, SIGRTMIN, v2);
	n = read(fd, si, sizeof si);
	printf("two queued SIGRTMIN: %zd records\n", n / (ssize_t)sizeof si[0]);
	for (int i = 0; i < n / (ssize_t)sizeof si[0]; i++)
		show(&si[i], me);

	/* Signals outside the mask stay pending for the process. */
	sigset_t only1;
	sigemptyset(&only1);
	sigaddset(&only1, SIGUSR1);
	check(signalfd(fd, &only1, 0) == fd, "a mask update returns the same fd");
	raise(SIGUSR2);
	expect_err(read(fd, si, sizeof si), EAGAIN, "SIGUSR2 is no longer read");
	sigset_t pend;
	sigpending(&pend);
	check(sigismember(&pend, SIGUSR2), "SIGUSR2 stays pending");
	signalfd(fd, &mask, 0);
	check(read(fd, si, sizeof si) == sizeof si[0] && si[0].ssi_signo == SIGUSR2, "the wider mask takes it");
	close(fd);

	/* Blocking: another process's kill wakes the read; SIGCHLD carries the status. */
	fd = signalfd(-1, &mask, 0);
	pid_t child = fork();
	if (child == 0) {
		usleep(30 * 1000);
		kill(getppid(), SIGUSR1);
		_exit(7);
	}
	n = read(fd, si, sizeof si[0]);
	check(n == sizeof si[0], "a blocking read returns one record");
	show(&si[0], child);
	n = read(fd, si, sizeof si[0]);
	check(n == sizeof si[0], "SIGCHLD read");
	show(&si[0], child);
	int st;
	check(waitpid(child, &st, 0) == child && WEXITSTATUS(st) == 7, "the child is still there to reap");
	close(fd);

	if (failures) {
		printf("signalfd: %d failures\n", failures);
		return 1;
	}
	printf("signalfd ok\n");
	return 0;
}
