/* Advisory locks between processes, on a file under $NOMMU_TEST_TMPDIR.
 * flock: per open file description (two opens conflict, a dup shares),
 * LOCK_NB's EWOULDBLOCK, conversion, a blocking LOCK_EX released by the
 * holder's exit. fcntl record locks: F_GETLK's report, F_SETLK's EAGAIN,
 * ranges (split by an unlock), EBADF for a lock the access mode does not
 * allow, any close dropping a process's locks, F_SETLKW waiting. OFD locks:
 * per description, l_pid -1, EINVAL for a non-zero l_pid. The child reports
 * through its exit status; nothing printed depends on pids. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include "errname.h"

static int failures;
static char path[512];

static void check(int ok, const char *what)
{
	printf("%s %s\n", ok ? "ok" : "FAIL", what);
	if (!ok)
		failures++;
}

static void expect_err(long r, int want, const char *what)
{
	char buf[160];
	snprintf(buf, sizeof buf, "%s: %ld %s", what, r, r < 0 ? errname(errno) : "");
	check(r == -1 && errno == want, buf);
}

/* Runs f in a child and returns its exit code. */
static int in_child(int (*f)(void))
{
	pid_t pid = fork();
	if (pid == 0)
		_exit(f());
	int st;
	waitpid(pid, &st, 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 255;
}

static int child_flock_nb(void)
{
	int fd = open(path, O_RDWR);
	int ex = flock(fd, LOCK_EX | LOCK_NB) == -1 && errno == EWOULDBLOCK;
	int sh = flock(fd, LOCK_SH | LOCK_NB) == 0;
	return ex | sh << 1;
}

static int child_flock_sh(void)
{
	int fd = open(path, O_RDWR);
	return flock(fd, LOCK_SH | LOCK_NB) == 0 ? 0 : 1;
}

static void flocks(void)
{
	int a = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	int b = open(path, O_RDWR);
	expect_err(flock(a, 0), EINVAL, "flock with no operation");
	expect_err(flock(999, LOCK_SH), EBADF, "flock of a closed fd");
	check(flock(a, LOCK_SH) == 0, "LOCK_SH");
	check(in_child(child_flock_nb) == 3, "other process: LOCK_EX|LOCK_NB EWOULDBLOCK, LOCK_SH fine");
	check(flock(a, LOCK_EX) == 0, "convert to LOCK_EX");
	expect_err(flock(b, LOCK_SH | LOCK_NB), EWOULDBLOCK, "a second open description conflicts");
	check(in_child(child_flock_sh) == 1, "other process: LOCK_SH|LOCK_NB refused");
	int c = dup(a);
	check(flock(c, LOCK_UN) == 0, "LOCK_UN through a dup");
	check(flock(b, LOCK_EX | LOCK_NB) == 0, "the dup's unlock released the description's lock");
	close(b); /* the last descriptor of b's description: its lock goes */
	check(flock(a, LOCK_EX | LOCK_NB) == 0, "closing the holder released its lock");
	flock(a, LOCK_UN);

	/* A blocking LOCK_EX waits until the holder exits. */
	int p[2];
	pipe(p);
	pid_t pid = fork();
	if (pid == 0) {
		int fd = open(path, O_RDWR);
		flock(fd, LOCK_EX);
		write(p[1], "x", 1);
		usleep(50 * 1000);
		_exit(0);
	}
	char ch;
	read(p[0], &ch, 1);
	expect_err(flock(a, LOCK_EX | LOCK_NB), EWOULDBLOCK, "the child holds LOCK_EX");
	check(flock(a, LOCK_EX) == 0, "blocking LOCK_EX got it once the child exited");
	waitpid(pid, NULL, 0);
	flock(a, LOCK_UN);
	close(a);
	close(c);
	close(p[0]);
	close(p[1]);
}

static int setlk(int fd, int cmd, short type, off_t start, off_t len)
{
	struct flock fl = { .l_type = type, .l_whence = SEEK_SET, .l_start = start, .l_len = len };
	return fcntl(fd, cmd, &fl);
}

static int child_records(void)
{
	int fd = open(path, O_RDWR);
	int bits = 0;
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 7, .l_len = 1 };
	fcntl(fd, F_GETLK, &fl);
	if (fl.l_type == F_WRLCK && fl.l_start == 6 && fl.l_len == 4 && fl.l_pid == getppid())
		bits |= 1;
	if (setlk(fd, F_SETLK, F_RDLCK, 7, 1) == -1 && errno == EAGAIN)
		bits |= 2;
	if (setlk(fd, F_SETLK, F_WRLCK, 20, 10) == 0)
		bits |= 4;
	/* Readers share: the parent's read lock on [40, 50) lets us read-lock it too. */
	if (setlk(fd, F_SETLK, F_RDLCK, 45, 1) == 0)
		bits |= 8;
	if (setlk(fd, F_SETLK, F_WRLCK, 45, 1) == -1 && errno == EAGAIN)
		bits |= 16;
	/* The parent unlocked [4, 6): bytes 4 and 5 are free, 3 and 6 are not. */
	if (setlk(fd, F_SETLK, F_WRLCK, 4, 2) == 0 && setlk(fd, F_SETLK, F_WRLCK, 3, 1) == -1)
		bits |= 32;
	return bits;
}

static int child_after_close(void)
{
	int fd = open(path, O_RDWR);
	return setlk(fd, F_SETLK, F_WRLCK, 0, 0) == 0 ? 0 : 1;
}

static void records(void)
{
	int fd = open(path, O_RDWR);
	int ro = open(path, O_RDONLY);
	expect_err(setlk(ro, F_SETLK, F_WRLCK, 0, 1), EBADF, "F_WRLCK on a read-only fd");
	expect_err(setlk(fd, F_SETLK, 7, 0, 1), EINVAL, "F_SETLK with a bad l_type");
	expect_err(setlk(fd, F_SETLK, F_WRLCK, -5, 1), EINVAL, "F_SETLK before the start of the file");
	check(setlk(fd, F_SETLK, F_WRLCK, 0, 10) == 0, "F_WRLCK on [0, 10)");
	check(setlk(fd, F_SETLK, F_RDLCK, 40, 10) == 0, "F_RDLCK on [40, 50)");
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0 };
	fcntl(fd, F_GETLK, &fl);
	check(fl.l_type == F_UNLCK, "F_GETLK: a process never conflicts with itself");
	check(setlk(fd, F_SETLK, F_UNLCK, 4, 2) == 0, "unlock [4, 6) splits the lock");
	int bits = in_child(child_records);
	check(bits & 1, "child F_GETLK reports the parent's lock");
	check(bits & 2, "child F_SETLK on it: EAGAIN");
	check(bits & 4, "child locks a free range");
	check(bits & 8, "read locks share");
	check(bits & 16, "a write lock over a read lock: EAGAIN");
	check(bits & 32, "the unlocked hole is free, its edges are not");
	close(ro); /* any close of the file drops the process's record locks */
	check(in_child(child_after_close) == 0, "closing another fd of the file released the locks");

	/* F_SETLKW waits for the holder to go. */
	int p[2];
	pipe(p);
	pid_t pid = fork();
	if (pid == 0) {
		int cfd = open(path, O_RDWR);
		setlk(cfd, F_SETLK, F_WRLCK, 0, 0);
		write(p[1], "x", 1);
		usleep(50 * 1000);
		_exit(0);
	}
	char ch;
	read(p[0], &ch, 1);
	expect_err(setlk(fd, F_SETLK, F_WRLCK, 100, 1), EAGAIN, "the child holds the whole file");
	check(setlk(fd, F_SETLKW, F_WRLCK, 100, 1) == 0, "F_SETLKW got it after the child exited");
	waitpid(pid, NULL, 0);
	close(fd);
	close(p[0]);
	close(p[1]);
}

static void ofd(void)
{
	int a = open(path, O_RDWR);
	int b = open(path, O_RDWR);
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 10, .l_pid = 1 };
	expect_err(fcntl(a, F_OFD_SETLK, &fl), EINVAL, "F_OFD_SETLK with l_pid set");
	check(setlk(a, F_OFD_SETLK, F_WRLCK, 0, 10) == 0, "F_OFD_SETLK");
	expect_err(setlk(b, F_OFD_SETLK, F_WRLCK, 5, 1), EAGAIN, "another description conflicts, same process");
	struct flock q = { .l_type = F_RDLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 1 };
	fcntl(b, F_OFD_GETLK, &q);
	printf("F_OFD_GETLK: type %d start %ld len %ld pid %d\n", q.l_type, (long)q.l_start, (long)q.l_len, q.l_pid);
	int c = open(path, O_RDONLY);
	close(c); /* closing some other fd leaves OFD locks alone */
	expect_err(setlk(b, F_OFD_SETLK, F_WRLCK, 5, 1), EAGAIN, "OFD locks survive another close");
	close(a);
	check(setlk(b, F_OFD_SETLK, F_WRLCK, 5, 1) == 0, "closing the description released it");
	close(b);
}

int main(void)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	const char *dir = getenv("NOMMU_TEST_TMPDIR");
	snprintf(path, sizeof path, "%s/lockfile", dir ? dir : "/tmp");
	flocks();
	records();
	ofd();
	if (failures) {
		printf("locks: %d failures\n", failures);
		return 1;
	}
	printf("locks ok\n");
	return 0;
}
