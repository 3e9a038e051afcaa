/* File offsets as read, write and their vectored and positioned forms move
 * them, mixed with calls that only the kernel answers (lseek, dup, fork,
 * fcntl F_SETFL O_APPEND, dup2 over an open descriptor, ftruncate): on the
 * native backend the first kind may be answered by the runner itself, and
 * both must see one offset. Errors (EFAULT, EBADF, EINVAL) and many small
 * vectors, to a file and to stdout. Scratch files in $NOMMU_TEST_TMPDIR
 * (default /tmp). Exit 1 if any check fails. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "expect.h"

#define SIZE 65536

static unsigned char pattern[SIZE];
static unsigned char buf[SIZE];

static long here(int fd)
{
	return (long)lseek(fd, 0, SEEK_CUR);
}

static void at(int fd, long want, const char *what)
{
	long got = here(fd);
	char line[160];
	snprintf(line, sizeof line, "%s: offset %ld (want %ld)", what, got, want);
	check(got == want, line);
}

int main(void)
{
	const char *tmp = getenv("NOMMU_TEST_TMPDIR");
	char path[512], other[512];
	snprintf(path, sizeof path, "%s/offsets.dat", tmp && *tmp ? tmp : "/tmp");
	snprintf(other, sizeof other, "%s/offsets.other", tmp && *tmp ? tmp : "/tmp");
	for (int i = 0; i < SIZE; i++)
		pattern[i] = (unsigned char)(i * 7 + i / 251);

	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	check(fd >= 0, "open a scratch file");
	int whole = 1;
	for (int off = 0; off < SIZE; off += 4096)
		whole &= write(fd, pattern + off, 4096) == 4096;
	check(whole, "16 writes of 4 KiB");
	at(fd, SIZE, "after the writes");

	check(lseek(fd, 0, SEEK_SET) == 0, "lseek to 0");
	check(read(fd, buf, 1000) == 1000 && memcmp(buf, pattern, 1000) == 0, "read 1000 bytes");
	at(fd, 1000, "after read");
	check(read(fd, buf, 3000) == 3000 && memcmp(buf, pattern + 1000, 3000) == 0, "read 3000 more");
	at(fd, 4000, "after a second read");

	check(pread(fd, buf, 100, 50000) == 100 && memcmp(buf, pattern + 50000, 100) == 0, "pread at 50000");
	at(fd, 4000, "pread leaves it");
	check(pwrite(fd, "xyz", 3, 60000) == 3, "pwrite at 60000");
	at(fd, 4000, "pwrite leaves it");
	check(pread(fd, buf, 3, 60000) == 3 && memcmp(buf, "xyz", 3) == 0, "pread sees the pwrite");
	memcpy(pattern + 60000, "xyz", 3);

	unsigned char a[10], b[20];
	struct iovec iov[3] = { { a, sizeof a }, { NULL, 0 }, { b, sizeof b } };
	check(readv(fd, iov, 3) == 30 && memcmp(a, pattern + 4000, 10) == 0 && memcmp(b, pattern + 4010, 20) == 0,
	      "readv of 10 + 0 + 20 bytes");
	at(fd, 4030, "after readv");
	unsigned char ones[20];
	struct iovec many[20];
	for (int i = 0; i < 20; i++)
		many[i] = (struct iovec){ ones + i, 1 };
	check(readv(fd, many, 20) == 20 && memcmp(ones, pattern + 4030, 20) == 0, "readv of 20 single bytes");
	at(fd, 4050, "after 20 vectors");

	int twin = dup(fd);
	check(twin >= 0, "dup");
	check(read(twin, buf, 100) == 100 && memcmp(buf, pattern + 4050, 100) == 0, "read through the dup");
	at(fd, 4150, "the dup moved the shared offset");
	close(twin);

	fflush(stdout);
	pid_t child = fork();
	if (child == 0) {
		int ok = read(fd, buf, 500) == 500 && memcmp(buf, pattern + 4150, 500) == 0;
		_exit(ok ? 0 : 1);
	}
	int st = -1;
	waitpid(child, &st, 0);
	check(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the child reads the inherited descriptor");
	at(fd, 4650, "the child moved the shared offset");

	check(fcntl(fd, F_SETFL, O_APPEND) == 0, "F_SETFL O_APPEND");
	check(write(fd, "tail", 4) == 4, "write with O_APPEND");
	at(fd, SIZE + 4, "an O_APPEND write ends at the end");
	check(fcntl(fd, F_SETFL, 0) == 0, "F_SETFL 0");
	check(lseek(fd, 0, SEEK_SET) == 0 && write(fd, "HEAD", 4) == 4, "write at 0 without O_APPEND");
	at(fd, 4, "after it");
	check(pread(fd, buf, 4, 0) == 4 && memcmp(buf, "HEAD", 4) == 0, "the file starts with it");
	check(pread(fd, buf, 4, SIZE) == 4 && memcmp(buf, "tail", 4) == 0, "and ends with the appended bytes");

	check(lseek(fd, 0, SEEK_END) == SIZE + 4 && read(fd, buf, 100) == 0, "read at the end of the file: 0");
	check(ftruncate(fd, 1000) == 0, "ftruncate to 1000");
	at(fd, SIZE + 4, "ftruncate leaves the offset");
	check(read(fd, buf, 100) == 0, "read past the end: 0");
	check(lseek(fd, 990, SEEK_SET) == 990 && read(fd, buf, 100) == 10, "read across the new end: 10");

	check(lseek(fd, 0, SEEK_SET) == 0, "back to 0");
	EXPECT_ERR(syscall(SYS_read, fd, NULL, 10), EFAULT, "read into NULL");
	EXPECT_ERR(syscall(SYS_write, fd, NULL, 10), EFAULT, "write from NULL");
	EXPECT_ERR(pread(fd, buf, 10, -1), EINVAL, "pread at -1");
	at(fd, 0, "failed calls leave it");

	int ro = open(path, O_RDONLY);
	int wo = open(path, O_WRONLY);
	EXPECT_ERR(write(ro, "x", 1), EBADF, "write to a read-only descriptor");
	EXPECT_ERR(read(wo, buf, 1), EBADF, "read from a write-only descriptor");
	close(wo);

	int o = open(other, O_RDWR | O_CREAT | O_TRUNC, 0644);
	check(o >= 0 && write(o, "other file", 10) == 10 && lseek(o, 0, SEEK_SET) == 0, "a second file");
	check(dup2(o, ro) == ro, "dup2 it over the read-only descriptor");
	check(read(ro, buf, 5) == 5 && memcmp(buf, "other", 5) == 0, "reads now come from the second file");
	at(o, 5, "whose offset moved");
	close(o);
	close(ro);
	close(fd);
	EXPECT_ERR(read(fd, buf, 1), EBADF, "read from a closed descriptor");

	struct iovec out[24];
	static const char *words[24] = { "w", "r", "i", "t", "e", "v", " ", "o", "f", " ", "2", "4", " ",
					 "p", "i", "e", "c", "e", "s", ":", " ", "o", "k", "\n" };
	fflush(stdout);
	for (int i = 0; i < 24; i++)
		out[i] = (struct iovec){ (void *)words[i], 1 };
	check(writev(1, out, 24) == 24, "writev of 24 vectors to stdout");
	check(writev(1, out + 20, 4) == 4, "writev of 4 vectors to stdout");

	unlink(path);
	unlink(other);
	printf("%d failures\n", failures);
	return failures ? 1 : 0;
}
