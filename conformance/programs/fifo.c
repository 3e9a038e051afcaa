/* FIFOs (named pipes) under $NOMMU_TEST_TMPDIR: mkfifo and mknod(S_IFIFO)
 * (stat, EEXIST), mknod of a regular file, the open rules (O_NONBLOCK reader
 * at once, O_NONBLOCK writer without reader ENXIO, blocking reader and writer
 * each waiting for the other across processes, O_RDWR never waiting), data
 * through the shared pipe, EOF and poll states, ESPIPE, a FIFO still working
 * after unlink, and the buffer dropped when the last end closes. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
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

static char path[512], path2[512], path3[512];

static void creation(void)
{
	umask(022);
	check(mkfifo(path, 0666) == 0, "mkfifo");
	struct stat st;
	check(stat(path, &st) == 0 && S_ISFIFO(st.st_mode), "stat: S_ISFIFO");
	printf("mode %o\n", st.st_mode & 07777);
	expect_err(mkfifo(path, 0600), EEXIST, "mkfifo again");
	check(mknod(path2, S_IFIFO | 0640, 0) == 0, "mknod S_IFIFO");
	check(stat(path2, &st) == 0 && S_ISFIFO(st.st_mode) && (st.st_mode & 07777) == 0640, "mknod's FIFO and mode");
	check(mknod(path3, S_IFREG | 0600, 0) == 0, "mknod S_IFREG");
	check(stat(path3, &st) == 0 && S_ISREG(st.st_mode) && st.st_size == 0, "an empty regular file");
	expect_err(mknod(path3, S_IFIFO | 0600, 0), EEXIST, "mknod over a file");
	expect_err(mknod(path3, 0170000 | 0600, 0), EINVAL, "mknod of an unknown type");
	unlink(path3);
	unlink(path2);
}

static void nonblocking(void)
{
	expect_err(open(path, O_WRONLY | O_NONBLOCK), ENXIO, "O_NONBLOCK writer without reader");
	int r = open(path, O_RDONLY | O_NONBLOCK);
	check(r >= 0, "O_NONBLOCK reader opens at once");
	char buf[64];
	check(read(r, buf, sizeof buf) == 0, "no writer yet: read gives EOF");
	int w = open(path, O_WRONLY | O_NONBLOCK);
	check(w >= 0, "O_NONBLOCK writer with a reader");
	printf("poll reader, empty: %#x\n", revents(r, POLLIN));
	expect_err(read(r, buf, sizeof buf), EAGAIN, "empty with a writer: EAGAIN");
	write(w, "hello", 5);
	printf("poll reader, data: %#x\n", revents(r, POLLIN));
	printf("poll writer: %#x\n", revents(w, POLLOUT));
	ssize_t n = read(r, buf, sizeof buf);
	check(n == 5 && memcmp(buf, "hello", 5) == 0, "data through the FIFO");
	expect_err(lseek(r, 0, SEEK_SET), ESPIPE, "lseek");
	struct stat st;
	check(fstat(r, &st) == 0 && S_ISFIFO(st.st_mode), "fstat: S_ISFIFO");
	close(w);
	printf("poll reader, writer gone: %#x\n", revents(r, POLLIN));
	close(r);
}

static void blocking(void)
{
	/* A writer waits for a reader that comes later. */
	pid_t pid = fork();
	if (pid == 0) {
		int w = open(path, O_WRONLY);
		write(w, "from the child", 14);
		close(w);
		_exit(0);
	}
	usleep(30 * 1000);
	int r = open(path, O_RDONLY);
	char buf[64];
	ssize_t got = 0, n;
	while ((n = read(r, buf + got, sizeof buf - got)) > 0)
		got += n;
	check(got == 14 && memcmp(buf, "from the child", 14) == 0, "writer waited for the reader, then EOF");
	close(r);
	waitpid(pid, NULL, 0);

	/* A reader waits for a writer that comes later. */
	pid = fork();
	if (pid == 0) {
		usleep(30 * 1000);
		int w = open(path, O_WRONLY);
		write(w, "late writer", 11);
		close(w);
		_exit(0);
	}
	r = open(path, O_RDONLY);
	got = 0;
	while ((n = read(r, buf + got, sizeof buf - got)) > 0)
		got += n;
	check(got == 11 && memcmp(buf, "late writer", 11) == 0, "reader waited for the writer");
	close(r);
	waitpid(pid, NULL, 0);
}

static void rdwr(void)
{
	int fd = open(path, O_RDWR);
	check(fd >= 0, "O_RDWR never waits");
	write(fd, "loop", 4);
	char buf[8];
	check(read(fd, buf, sizeof buf) == 4, "O_RDWR reads its own write");
	write(fd, "lost", 4);
	close(fd);
	fd = open(path, O_RDWR | O_NONBLOCK);
	expect_err(read(fd, buf, sizeof buf), EAGAIN, "the buffer went with the last close");

	unlink(path);
	write(fd, "after unlink", 12);
	check(read(fd, buf, 8) == 8, "an unlinked FIFO still carries data");
	close(fd);
}

int main(void)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	const char *dir = getenv("NOMMU_TEST_TMPDIR");
	if (!dir)
		dir = "/tmp";
	snprintf(path, sizeof path, "%s/fifo-a", dir);
	snprintf(path2, sizeof path2, "%s/fifo-b", dir);
	snprintf(path3, sizeof path3, "%s/regular", dir);
	creation();
	nonblocking();
	blocking();
	rdwr();
	if (failures) {
		printf("fifo: %d failures\n", failures);
		return 1;
	}
	printf("fifo ok\n");
	return 0;
}
