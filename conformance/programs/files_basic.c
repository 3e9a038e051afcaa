/* open/write/read/lseek/pread/pwrite/fstat/close/unlink on a scratch file in
 * $NOMMU_TEST_TMPDIR (default /tmp), and the errno of common failures,
 * printed by name. Exit 1 if any check fails. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "expect.h"

/* r is the call's result, e the errno right after it. */
int main(void)
{
	const char *dir = getenv("NOMMU_TEST_TMPDIR");
	if (!dir || !*dir)
		dir = "/tmp";
	char path[4096], missing[4096], sub[4200];
	long pid = (long)getpid();
	snprintf(path, sizeof path, "%s/nommu-files_basic-%ld.dat", dir, pid);
	snprintf(missing, sizeof missing, "%s/nommu-files_basic-%ld.missing", dir, pid);
	snprintf(sub, sizeof sub, "%s/sub", path);

	umask(022);
	int fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0666);
	if (fd < 0) {
		printf("FAIL create scratch file -> %s\n", errname(errno));
		return 1;
	}
	check(fd >= 0, "open O_RDWR|O_CREAT|O_EXCL");

	static const char text[] = "0123456789abcdefghijklmnopqrstuvwxyz\n";
	const size_t tlen = sizeof text - 1;
	check(write(fd, text, tlen) == (ssize_t)tlen, "write 37 bytes");
	check(lseek(fd, 0, SEEK_CUR) == (off_t)tlen, "lseek SEEK_CUR == 37 after write");

	char buf[128];
	check(read(fd, buf, sizeof buf) == 0, "read at EOF returns 0");
	check(lseek(fd, 10, SEEK_SET) == 10, "lseek SEEK_SET 10");
	ssize_t n = read(fd, buf, 5);
	check(n == 5 && memcmp(buf, "abcde", 5) == 0, "read 5 bytes at offset 10 -> abcde");
	check(lseek(fd, -7, SEEK_END) == (off_t)tlen - 7, "lseek SEEK_END -7");
	n = read(fd, buf, sizeof buf);
	check(n == 7 && memcmp(buf, "uvwxyz\n", 7) == 0, "read tail -> uvwxyz\\n");

	n = pread(fd, buf, 4, 3);
	check(n == 4 && memcmp(buf, "3456", 4) == 0, "pread 4 bytes at offset 3 -> 3456");
	check(lseek(fd, 0, SEEK_CUR) == (off_t)tlen, "pread does not move the offset");
	check(pwrite(fd, "XY", 2, 0) == 2, "pwrite 2 bytes at offset 0");
	check(lseek(fd, 0, SEEK_CUR) == (off_t)tlen, "pwrite does not move the offset");

	/* Write past EOF leaves a hole that reads as zeros. */
	check(pwrite(fd, "END", 3, 100) == 3, "pwrite at offset 100 (past EOF)");
	n = pread(fd, buf, sizeof buf, 0);
	int hole_zero = n == 103;
	for (ssize_t i = (ssize_t)tlen; i < 100 && hole_zero; i++)
		hole_zero = buf[i] == 0;
	check(hole_zero && memcmp(buf, "XY23", 4) == 0 && memcmp(buf + 100, "END", 3) == 0,
	      "file reads back XY23..., zero hole, END");

	struct stat st;
	check(fstat(fd, &st) == 0, "fstat");
	printf("size=%lld regular=%s mode=%04o nlink=%lu\n", (long long)st.st_size,
	       S_ISREG(st.st_mode) ? "yes" : "no", (unsigned)(st.st_mode & 07777),
	       (unsigned long)st.st_nlink);
	struct stat st2;
	check(stat(path, &st2) == 0 && st2.st_ino == st.st_ino && st2.st_dev == st.st_dev,
	      "stat agrees with fstat");

	check(ftruncate(fd, 10) == 0 && fstat(fd, &st) == 0 && st.st_size == 10, "ftruncate to 10");
	/* O_APPEND writes go to the end regardless of the offset */
	int afd = open(path, O_WRONLY | O_APPEND);
	check(afd >= 0 && lseek(afd, 0, SEEK_SET) == 0 && write(afd, "++", 2) == 2,
	      "O_APPEND write");
	n = pread(fd, buf, sizeof buf, 0);
	check(n == 12 && memcmp(buf, "XY23456789++", 12) == 0, "append landed at the end");
	if (afd >= 0)
		close(afd);

	int dfd = dup(fd);
	check(dfd >= 0 && lseek(fd, 4, SEEK_SET) == 4 && lseek(dfd, 0, SEEK_CUR) == 4,
	      "dup shares the file offset");
	if (dfd >= 0)
		close(dfd);

	check(close(fd) == 0, "close");

	/* error cases */
	EXPECT_ERR(open(missing, O_RDONLY), ENOENT, "open missing file");
	EXPECT_ERR(read(-1, buf, 1), EBADF, "read fd -1");
	EXPECT_ERR(read(fd, buf, 1), EBADF, "read closed fd");
	EXPECT_ERR(close(fd), EBADF, "close closed fd");
	EXPECT_ERR(open(path, O_RDWR | O_CREAT | O_EXCL, 0600), EEXIST, "O_CREAT|O_EXCL on existing file");
	EXPECT_ERR(open(sub, O_RDONLY), ENOTDIR, "open path through a regular file");
	EXPECT_ERR(open(dir, O_WRONLY), EISDIR, "open directory O_WRONLY");

	fd = open(path, O_RDWR);
	check(fd >= 0, "reopen");
	void *volatile bad = (void *)1;
	EXPECT_ERR(read(fd, bad, 16), EFAULT, "read into (void*)1");
	EXPECT_ERR(write(fd, bad, 16), EFAULT, "write from (void*)1");
	EXPECT_ERR(lseek(fd, 0, 99), EINVAL, "lseek whence 99");
	EXPECT_ERR(lseek(fd, -1, SEEK_SET), EINVAL, "lseek to -1");
	int pfd[2];
	if (pipe(pfd) == 0) {
		EXPECT_ERR(lseek(pfd[0], 0, SEEK_CUR), ESPIPE, "lseek on a pipe");
		close(pfd[0]);
		close(pfd[1]);
	}
	close(fd);

	check(unlink(path) == 0, "unlink");
	EXPECT_ERR(unlink(path), ENOENT, "unlink again");
	EXPECT_ERR(stat(path, &st), ENOENT, "stat after unlink");

	printf("%s\n", failures ? "files_basic FAILED" : "files_basic ok");
	return failures ? 1 : 0;
}
