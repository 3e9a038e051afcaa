/* Descriptor flags and duplication: F_DUPFD/F_DUPFD_CLOEXEC, F_GETFD/F_SETFD,
 * FD_CLOEXEC across execve (the program re-executes itself as
 * `fcntl exec-check FD...` and reports which descriptors survived),
 * F_GETFL/F_SETFL with O_NONBLOCK and O_APPEND, dup/dup2/dup3 sharing the
 * offset, close_range and F_GETPIPE_SZ/F_SETPIPE_SZ. Scratch file in
 * $NOMMU_TEST_TMPDIR (default /tmp). Exit 1 if any check fails. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "expect.h"

/* The exec'd side: which of the named descriptors are open (the O_CLOEXEC
 * one is printed by position: its number is the lowest free fd). */
static int exec_check(int argc, char **argv)
{
	for (int i = 2; i < argc; i++) {
		int fd = atoi(argv[i]);
		int fl = fcntl(fd, F_GETFD);
		if (i == argc - 1)
			printf("after exec the O_CLOEXEC open: %s", fl < 0 ? errname(errno) : "open");
		else
			printf("after exec fd %d: %s", fd, fl < 0 ? errname(errno) : "open");
		if (fl >= 0)
			printf(" FD_CLOEXEC=%d", fl & FD_CLOEXEC);
		printf("\n");
	}
	return 0;
}

static void dupfd(void)
{
	check(dup2(0, 3) == 3 && dup2(0, 5) == 5 && dup2(0, 10) == 10, "occupy fds 3, 5 and 10");
	int fd = fcntl(0, F_DUPFD, 0);
	printf("F_DUPFD 0 -> %d\n", fd);
	close(fd);
	fd = fcntl(0, F_DUPFD, 5);
	printf("F_DUPFD 5 -> %d\n", fd);
	close(fd);
	fd = fcntl(0, F_DUPFD, 10);
	printf("F_DUPFD 10 -> %d\n", fd);
	close(fd);
	fd = fcntl(0, F_DUPFD_CLOEXEC, 4);
	printf("F_DUPFD_CLOEXEC 4 -> %d, FD_CLOEXEC=%d\n", fd, fcntl(fd, F_GETFD) & FD_CLOEXEC);
	close(fd);
	fd = fcntl(0, F_DUPFD, 4);
	printf("F_DUPFD 4 -> %d, FD_CLOEXEC=%d\n", fd, fcntl(fd, F_GETFD) & FD_CLOEXEC);
	close(fd);
	EXPECT_ERR(fcntl(0, F_DUPFD, -1), EINVAL, "F_DUPFD -1");
	EXPECT_ERR(fcntl(0, F_DUPFD, 1 << 30), EINVAL, "F_DUPFD 2^30");
	EXPECT_ERR(fcntl(99, F_DUPFD, 0), EBADF, "F_DUPFD of a closed fd");
	close(3);
	close(5);
	close(10);
}

static void fdflags(void)
{
	int fd = dup(1);
	printf("dup -> FD_CLOEXEC=%d\n", fcntl(fd, F_GETFD) & FD_CLOEXEC);
	check(fcntl(fd, F_SETFD, FD_CLOEXEC) == 0, "F_SETFD FD_CLOEXEC");
	printf("F_GETFD -> %d\n", fcntl(fd, F_GETFD));
	check(fcntl(fd, F_SETFD, 0) == 0, "F_SETFD 0");
	printf("F_GETFD -> %d\n", fcntl(fd, F_GETFD));
	int d = dup(fd);
	check(fcntl(fd, F_SETFD, FD_CLOEXEC) == 0 && fcntl(d, F_GETFD) == 0, "FD_CLOEXEC is per descriptor, not shared by dup");
	close(d);
	close(fd);
	EXPECT_ERR(fcntl(fd, F_GETFD), EBADF, "F_GETFD on a closed fd");
	EXPECT_ERR(fcntl(fd, F_SETFD, 0), EBADF, "F_SETFD on a closed fd");
}

static void exec_survivors(const char *self)
{
	/* 20 and 22 stay open across exec; 21 (F_SETFD), 23 (dup3 O_CLOEXEC),
	 * 24 (F_DUPFD_CLOEXEC) and the O_CLOEXEC open close. */
	check(dup2(1, 20) == 20 && dup2(1, 21) == 21 && fcntl(21, F_SETFD, FD_CLOEXEC) == 0, "fds 20, 21 (cloexec)");
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	check(fd >= 0 && dup2(fd, 22) == 22 && fcntl(22, F_GETFD) == 0, "dup2 clears FD_CLOEXEC on the copy: fd 22");
	check(dup3(fd, 23, O_CLOEXEC) == 23, "fd 23 dup3 O_CLOEXEC");
	check(fcntl(1, F_DUPFD_CLOEXEC, 24) == 24, "fd 24 F_DUPFD_CLOEXEC");
	char opened[16];
	snprintf(opened, sizeof opened, "%d", fd);
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		char *argv[] = {(char *)self, "exec-check", "20", "21", "22", "23", "24", opened, NULL};
		char *envp[] = {NULL};
		execve(self, argv, envp);
		printf("execve failed: %s\n", errname(errno));
		_exit(127);
	}
	int status = 0;
	check(pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0,
	      "the re-executed program exited 0");
	for (int i = 20; i <= 24; i++)
		close(i);
	close(fd);
}

static void flflags(void)
{
	int p[2];
	check(pipe(p) == 0, "pipe");
	int fl = fcntl(p[0], F_GETFL);
	printf("pipe read end F_GETFL: accmode=%d nonblock=%d\n", fl & O_ACCMODE, !!(fl & O_NONBLOCK));
	fl = fcntl(p[1], F_GETFL);
	printf("pipe write end F_GETFL: accmode=%d nonblock=%d\n", fl & O_ACCMODE, !!(fl & O_NONBLOCK));
	check(fcntl(p[0], F_SETFL, O_NONBLOCK) == 0, "F_SETFL O_NONBLOCK on the read end");
	fl = fcntl(p[0], F_GETFL);
	printf("after F_SETFL: accmode=%d nonblock=%d\n", fl & O_ACCMODE, !!(fl & O_NONBLOCK));
	char c;
	EXPECT_ERR(read(p[0], &c, 1), EAGAIN, "read an empty O_NONBLOCK pipe");
	int d = dup(p[0]);
	printf("dup shares O_NONBLOCK: %d\n", !!(fcntl(d, F_GETFL) & O_NONBLOCK));
	check(fcntl(d, F_SETFL, 0) == 0 && !(fcntl(p[0], F_GETFL) & O_NONBLOCK), "clearing it through the dup clears it for both");
	close(d);
	/* fill the pipe without blocking */
	check(fcntl(p[1], F_SETFL, O_NONBLOCK) == 0, "F_SETFL O_NONBLOCK on the write end");
	int size = fcntl(p[1], F_GETPIPE_SZ);
	printf("F_GETPIPE_SZ -> %d\n", size);
	static char buf[1 << 16];
	long total = 0;
	ssize_t n;
	while ((n = write(p[1], buf, sizeof buf)) > 0)
		total += n;
	int e = errno;
	printf("wrote %ld bytes before %s\n", total, errname(e));
	check(fcntl(p[1], F_SETPIPE_SZ, 1 << 20) >= (1 << 20), "F_SETPIPE_SZ 1 MiB");
	printf("F_GETPIPE_SZ -> %d\n", fcntl(p[1], F_GETPIPE_SZ));
	EXPECT_ERR(fcntl(p[1], F_SETPIPE_SZ, 4096), EBUSY, "F_SETPIPE_SZ below the bytes it holds");
	close(p[0]);
	close(p[1]);
	int nul = open("/dev/null", O_RDONLY);
	EXPECT_ERR(fcntl(nul, F_GETPIPE_SZ), EBADF, "F_GETPIPE_SZ on /dev/null");
	close(nul);
}

/* The ioctls every descriptor answers: FIOCLEX, FIONCLEX, FIONBIO, FIOASYNC; FIONREAD of a regular file. */
static void generic_ioctls(const char *path)
{
	int p[2];
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	check(fd >= 0 && pipe(p) == 0 && write(fd, "0123456789", 10) == 10, "a file of 10 bytes and a pipe");
	int fds[] = {fd, p[0], p[1]};
	const char *names[] = {"file", "pipe read end", "pipe write end"};
	for (int i = 0; i < 3; i++) {
		int on = 1, off = 0;
		char what[128];
		int ok = ioctl(fds[i], FIOCLEX) == 0 && fcntl(fds[i], F_GETFD) == FD_CLOEXEC && ioctl(fds[i], FIONCLEX) == 0 &&
			 fcntl(fds[i], F_GETFD) == 0;
		snprintf(what, sizeof what, "FIOCLEX and FIONCLEX on a %s", names[i]);
		check(ok, what);
		ok = ioctl(fds[i], FIONBIO, &on) == 0 && (fcntl(fds[i], F_GETFL) & O_NONBLOCK) && ioctl(fds[i], FIONBIO, &off) == 0 &&
		     !(fcntl(fds[i], F_GETFL) & O_NONBLOCK);
		snprintf(what, sizeof what, "FIONBIO on and off on a %s", names[i]);
		check(ok, what);
		if (i == 0) {
			EXPECT_ERR(ioctl(fds[i], FIOASYNC, &on), ENOTTY, "FIOASYNC on a regular file (no fasync)");
			check(ioctl(fds[i], FIOASYNC, &off) == 0, "FIOASYNC off on a regular file: no change, 0");
			continue;
		}
		ok = ioctl(fds[i], FIOASYNC, &on) == 0 && (fcntl(fds[i], F_GETFL) & O_ASYNC) && ioctl(fds[i], FIOASYNC, &off) == 0 &&
		     !(fcntl(fds[i], F_GETFL) & O_ASYNC);
		snprintf(what, sizeof what, "FIOASYNC on and off on a %s", names[i]);
		check(ok, what);
	}
	int n = -1;
	check(lseek(fd, 3, SEEK_SET) == 3 && ioctl(fd, FIONREAD, &n) == 0, "FIONREAD on a file at offset 3");
	printf("FIONREAD on the file: %d\n", n);
	check(write(p[1], "abc", 3) == 3 && ioctl(p[0], FIONREAD, &n) == 0, "FIONREAD on a pipe with 3 bytes");
	printf("FIONREAD on the pipe: %d\n", n);
	close(p[0]);
	close(p[1]);
	close(fd);
	unlink(path);
}

static void appendflag(const char *path)
{
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	check(fd >= 0 && write(fd, "0123456789", 10) == 10, "write 10 bytes");
	int fl = fcntl(fd, F_GETFL);
	printf("file F_GETFL: accmode=%d append=%d\n", fl & O_ACCMODE, !!(fl & O_APPEND));
	check(fcntl(fd, F_SETFL, fl | O_APPEND) == 0 && (fcntl(fd, F_GETFL) & O_APPEND), "F_SETFL O_APPEND, F_GETFL shows it");
	check(lseek(fd, 0, SEEK_SET) == 0 && write(fd, "ab", 2) == 2, "write at offset 0 with O_APPEND");
	printf("offset after append write: %ld\n", (long)lseek(fd, 0, SEEK_CUR));
	check(fcntl(fd, F_SETFL, O_RDONLY) == 0, "F_SETFL cannot change the access mode");
	fl = fcntl(fd, F_GETFL);
	printf("file F_GETFL: accmode=%d append=%d\n", fl & O_ACCMODE, !!(fl & O_APPEND));
	check(lseek(fd, 0, SEEK_SET) == 0 && write(fd, "XY", 2) == 2, "write at offset 0 without O_APPEND");
	char buf[32];
	ssize_t n = pread(fd, buf, sizeof buf, 0);
	printf("contents: %.*s\n", n > 0 ? (int)n : 0, buf);

	/* dup, dup2 and dup3 share the open file description's offset */
	int d1 = dup(fd);
	int d2 = dup2(fd, 30);
	int d3 = dup3(fd, 31, O_CLOEXEC);
	check(lseek(fd, 3, SEEK_SET) == 3, "lseek to 3");
	printf("offsets: dup=%ld dup2=%ld dup3=%ld\n", (long)lseek(d1, 0, SEEK_CUR), (long)lseek(d2, 0, SEEK_CUR),
	       (long)lseek(d3, 0, SEEK_CUR));
	check(read(d3, buf, 2) == 2 && lseek(d1, 0, SEEK_CUR) == 5, "a read through one moves them all");
	printf("FD_CLOEXEC: dup=%d dup2=%d dup3=%d\n", fcntl(d1, F_GETFD), fcntl(d2, F_GETFD), fcntl(d3, F_GETFD));
	int other = open(path, O_RDONLY);
	printf("a second open has its own offset: %ld\n", (long)lseek(other, 0, SEEK_CUR));
	check(dup2(d2, d2) == d2, "dup2 onto itself is a no-op");
	EXPECT_ERR(dup2(99, 40), EBADF, "dup2 from a closed fd");
	EXPECT_ERR(dup3(d2, d2, 0), EINVAL, "dup3 onto itself");
	check(dup2(other, d2) == d2 && lseek(d2, 0, SEEK_CUR) == 0, "dup2 over an open fd replaces it");
	close(other);
	close(d1);
	close(d2);
	close(d3);
	close(fd);
	unlink(path);
}

static void closerange(void)
{
	for (int fd = 40; fd < 50; fd++)
		dup2(1, fd);
	check(syscall(SYS_close_range, 42, 44, 0) == 0, "close_range 42..44");
	check(syscall(SYS_close_range, 46, 47, 4 /* CLOSE_RANGE_CLOEXEC */) == 0, "close_range 46..47 CLOSE_RANGE_CLOEXEC");
	printf("fds 40..49:");
	for (int fd = 40; fd < 50; fd++) {
		int fl = fcntl(fd, F_GETFD);
		printf(" %s", fl < 0 ? "-" : fl ? "c" : "o");
	}
	printf("\n");
	EXPECT_ERR(syscall(SYS_close_range, 45, 44, 0), EINVAL, "close_range with first > last");
	EXPECT_ERR(syscall(SYS_close_range, 45, 50, 0x80), EINVAL, "close_range unknown flag");
	check(syscall(SYS_close_range, 40, ~0U, 0) == 0, "close_range 40..~0");
	printf("fds 40..49:");
	for (int fd = 40; fd < 50; fd++)
		printf(" %s", fcntl(fd, F_GETFD) < 0 ? "-" : "o");
	printf("\n");
}

/* Descriptors a test runner may leak into the native run would shift the fd numbers printed here. */
static void close_inherited(void)
{
	for (int fd = 3; fd < 1024; fd++)
		close(fd);
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "exec-check") == 0)
		return exec_check(argc, argv);
	close_inherited();
	const char *base = getenv("NOMMU_TEST_TMPDIR");
	if (!base || !*base)
		base = "/tmp";
	char path[4200];
	snprintf(path, sizeof path, "%s/nommu-fcntl-%ld.dat", base, (long)getpid());

	dupfd();
	fdflags();
	exec_survivors(argv[0]);
	flflags();
	appendflag(path);
	generic_ioctls(path);
	closerange();
	printf("%s\n", failures ? "fcntl FAILED" : "fcntl ok");
	return failures ? 1 : 0;
}
