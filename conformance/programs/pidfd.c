/* Process file descriptors: pidfd_open (close-on-exec, PIDFD_NONBLOCK),
 * poll readiness when the process exits, waitid(P_PIDFD), pidfd_send_signal
 * (with and without a siginfo), pidfd_getfd, and the errors for bad ones. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"

#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif
#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_getfd
#define SYS_pidfd_getfd 438
#endif
#ifndef P_PIDFD
#define P_PIDFD 3
#endif
#define PIDFD_NONBLOCK O_NONBLOCK
#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x1000
#endif

static int pidfd_open(pid_t pid, unsigned flags)
{
	return (int)syscall(SYS_pidfd_open, pid, flags);
}

static int send_signal(int fd, int sig, siginfo_t *info)
{
	return (int)syscall(SYS_pidfd_send_signal, fd, sig, info, 0);
}

static short revents(int fd, int timeout_ms)
{
	struct pollfd p = { fd, POLLIN, 0 };
	return poll(&p, 1, timeout_ms) < 0 ? -1 : p.revents;
}

/* A child that waits for a byte on `in` (or EOF), then exits with `code`. */
static pid_t child_waiting(int in, int code)
{
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		char c;
		ssize_t r = read(in, &c, 1);
		(void)r;
		_exit(code);
	}
	return pid;
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	int go[2];
	check(pipe(go) == 0, "a pipe to release the children");

	pid_t pid = child_waiting(go[0], 7);
	int fd = pidfd_open(pid, 0);
	check(fd >= 0, "pidfd_open(child)");
	check((fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0, "a pidfd is close-on-exec");
	check(revents(fd, 0) == 0, "poll: not readable while the child runs");
	char c;
	check(fails_with(read(fd, &c, 1), EINVAL), "read(pidfd): EINVAL");
	int nb = pidfd_open(pid, PIDFD_NONBLOCK);
	siginfo_t si;
	memset(&si, 0, sizeof si);
	check(nb >= 0 && fails_with(waitid(P_PIDFD, nb, &si, WEXITED), EAGAIN), "waitid on a PIDFD_NONBLOCK pidfd of a running child: EAGAIN");
	check(write(go[1], "x", 1) == 1, "release the child");
	check(revents(fd, 10000) == POLLIN, "poll: POLLIN once it exited");
	memset(&si, 0, sizeof si);
	check(waitid(P_PIDFD, fd, &si, WEXITED) == 0, "waitid(P_PIDFD)");
	check(si.si_pid == pid && si.si_code == CLD_EXITED && si.si_status == 7, "it reports the child's exit 7");
	printf("poll after the child was reaped: %#x\n", (unsigned)revents(fd, 0));
	check(fails_with(send_signal(fd, SIGTERM, NULL), ESRCH), "pidfd_send_signal to a reaped child: ESRCH");
	check(fails_with(waitid(P_PIDFD, fd, &si, WEXITED), ECHILD), "waitid again: ECHILD");
	close(fd);
	close(nb);

	/* A signal through the pidfd, then one with a siginfo. */
	pid = child_waiting(go[0], 0);
	fd = pidfd_open(pid, 0);
	memset(&si, 0, sizeof si);
	si.si_signo = SIGUSR1;
	si.si_code = SI_QUEUE;
	check(fails_with(send_signal(fd, SIGTERM, &si), EINVAL), "a siginfo for another signal: EINVAL");
	si.si_code = SI_USER;
	check(fails_with(send_signal(fd, SIGUSR1, &si), EPERM), "SI_USER in a siginfo for another process: EPERM");
	check(send_signal(fd, 0, NULL) == 0, "signal 0: the child exists");
	check(send_signal(fd, SIGTERM, NULL) == 0, "pidfd_send_signal(SIGTERM)");
	memset(&si, 0, sizeof si);
	check(waitid(P_PIDFD, fd, &si, WEXITED) == 0 && si.si_code == CLD_KILLED && si.si_status == SIGTERM, "the child died of SIGTERM");
	close(fd);

	/* pidfd_getfd: a copy of the child's descriptor 42, the write end of a pipe. */
	int data[2];
	check(pipe(data) == 0, "a pipe for pidfd_getfd");
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		dup2(data[1], 42);
		close(data[0]);
		close(data[1]);
		char b;
		ssize_t r = read(go[0], &b, 1);
		(void)r;
		_exit(0);
	}
	close(data[1]);
	fd = pidfd_open(pid, 0);
	int got = -1;
	for (int i = 0; i < 200 && got < 0; i++) { /* until the child has made its descriptor 42 */
		got = (int)syscall(SYS_pidfd_getfd, fd, 42, 0);
		if (got < 0)
			usleep(10000);
	}
	check(got >= 0, "pidfd_getfd(child, 42)");
	check((fcntl(got, F_GETFD) & FD_CLOEXEC) != 0, "the copy is close-on-exec");
	check(write(got, "hi", 2) == 2, "writing to the copy");
	char buf[4] = "";
	check(read(data[0], buf, 2) == 2 && strcmp(buf, "hi") == 0, "reaches the pipe");
	check(fails_with(syscall(SYS_pidfd_getfd, fd, 42, 1), EINVAL), "pidfd_getfd with flags: EINVAL");
	check(fails_with(syscall(SYS_pidfd_getfd, fd, 999, 0), EBADF), "pidfd_getfd of a closed descriptor: EBADF");
	check(write(go[1], "x", 1) == 1, "release the child");
	check(waitpid(pid, NULL, 0) == pid, "and wait for it");
	close(got);
	close(fd);

	/* clone(CLONE_PIDFD): the pidfd comes back where the parent's tid would go. */
	int cfd = -1;
	fflush(stdout);
	long r = syscall(SYS_clone, CLONE_PIDFD | SIGCHLD, 0, &cfd, 0, 0);
	if (r == 0)
		_exit(3);
	check(r > 0 && cfd >= 0, "clone(CLONE_PIDFD) gives a pidfd");
	check((fcntl(cfd, F_GETFD) & FD_CLOEXEC) != 0, "close-on-exec too");
	memset(&si, 0, sizeof si);
	check(waitid(P_PIDFD, cfd, &si, WEXITED) == 0 && si.si_pid == r && si.si_status == 3, "waitid(P_PIDFD) on it");
	close(cfd);
	check(fails_with(syscall(SYS_clone, CLONE_PIDFD | CLONE_PARENT_SETTID | SIGCHLD, 0, &cfd, 0, 0), EINVAL),
	      "clone(CLONE_PIDFD | CLONE_PARENT_SETTID): EINVAL");

	check(fails_with(pidfd_open(999999, 0), ESRCH), "pidfd_open(no such pid): ESRCH");
	check(fails_with(pidfd_open(0, 0), EINVAL), "pidfd_open(0): EINVAL");
	check(fails_with(pidfd_open(getpid(), 1), EINVAL), "pidfd_open(unknown flag): EINVAL");
	check(fails_with(send_signal(0, SIGTERM, NULL), EBADF), "pidfd_send_signal on a descriptor that is no pidfd: EBADF");
	fd = pidfd_open(getpid(), 0);
	check(fd >= 0 && fails_with(syscall(SYS_pidfd_send_signal, fd, 0, NULL, 99), EINVAL), "pidfd_send_signal with flags: EINVAL");

	if (failures) {
		printf("pidfd: %d failures\n", failures);
		return 1;
	}
	printf("pidfd ok\n");
	return 0;
}
