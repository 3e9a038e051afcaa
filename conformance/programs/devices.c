/* /dev as Linux has it: null (EOF, swallows writes), zero (zeros), full
 * (ENOSPC on write, zeros on read), random and urandom (full reads); their
 * device numbers and modes, lseek answering 0, pread anywhere, mmap of
 * /dev/zero (anonymous memory) and of /dev/null (ENODEV), epoll refusing
 * them, the fd/stdin/stdout/stderr symlinks, and /dev/stdin and /dev/fd/N
 * opening the file behind the descriptor anew. (The harness's own stdio
 * are sockets, which Linux refuses to reopen with ENXIO: a file is put on
 * fd 0 first.) */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "expect.h"

/* Type, device numbers and permission bits of each memory device. */
static void numbers(void)
{
	const char *devs[] = { "/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom" };
	for (int i = 0; i < 5; i++) {
		struct stat st;
		if (stat(devs[i], &st) != 0) {
			printf("FAIL stat %s: %s\n", devs[i], errname(errno));
			failures++;
			continue;
		}
		printf("%s: chr %d rdev %u:%u mode %o uid %d\n", devs[i], S_ISCHR(st.st_mode), major(st.st_rdev), minor(st.st_rdev),
		       st.st_mode & 07777, (int)st.st_uid);
	}
	struct stat st;
	if (stat("/dev/tty", &st) == 0)
		printf("/dev/tty: chr %d rdev %u:%u mode %o\n", S_ISCHR(st.st_mode), major(st.st_rdev), minor(st.st_rdev), st.st_mode & 07777);
	if (lstat("/dev", &st) == 0)
		printf("/dev: directory %d\n", S_ISDIR(st.st_mode));
	const char *links[] = { "/dev/fd", "/dev/stdin", "/dev/stdout", "/dev/stderr" };
	for (int i = 0; i < 4; i++) {
		char buf[64];
		ssize_t n = readlink(links[i], buf, sizeof buf);
		printf("%s -> %.*s\n", links[i], n > 0 ? (int)n : 0, buf);
	}
	EXPECT_ERR(open("/dev/nommu-no-such-device", O_RDONLY), ENOENT, "a missing device");
	EXPECT_ERR(open("/dev/null", O_WRONLY | O_CREAT | O_EXCL, 0600), EEXIST, "O_CREAT|O_EXCL of /dev/null");
	EXPECT_ERR(open("/dev/null", O_RDONLY | O_DIRECTORY), ENOTDIR, "O_DIRECTORY of /dev/null");
	int fd = open("/dev/null", O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0600);
	check(fd >= 0 && write(fd, "x", 1) == 1, "O_CREAT|O_TRUNC|O_APPEND of /dev/null opens it");
	struct statfs sfs;
	if (fd >= 0 && fstatfs(fd, &sfs) == 0)
		printf("fstatfs(/dev/null): f_type %#lx\n", (unsigned long)sfs.f_type);
	close(fd);
}

/* Offsets mean nothing to the memory devices. */
static void offsets(void)
{
	int fd = open("/dev/zero", O_RDWR);
	printf("lseek(/dev/zero, 100, SEEK_SET): %ld\n", (long)lseek(fd, 100, SEEK_SET));
	printf("lseek(/dev/zero, 5, SEEK_CUR): %ld\n", (long)lseek(fd, 5, SEEK_CUR));
	printf("lseek(/dev/zero, 0, SEEK_END): %ld\n", (long)lseek(fd, 0, SEEK_END));
	char buf[16];
	memset(buf, 1, sizeof buf);
	check(pread(fd, buf, sizeof buf, 12345) == sizeof buf && buf[0] == 0 && buf[15] == 0, "pread of /dev/zero at 12345");
	check(pwrite(fd, "abc", 3, 999) == 3, "pwrite to /dev/zero");
	close(fd);
	fd = open("/dev/null", O_RDWR);
	printf("lseek(/dev/null, 100, SEEK_SET): %ld\n", (long)lseek(fd, 100, SEEK_SET));
	check(pread(fd, buf, sizeof buf, 10) == 0, "pread of /dev/null: EOF");
	int ep = epoll_create1(0);
	struct epoll_event ev = { .events = EPOLLIN };
	EXPECT_ERR(epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev), EPERM, "epoll_ctl of /dev/null");
	close(ep);
	EXPECT_ERR(mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, fd, 0) == MAP_FAILED ? -1 : 0, ENODEV, "mmap of /dev/null");
	close(fd);
	fd = open("/dev/zero", O_RDWR);
	char *p = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	check(p != MAP_FAILED && p[0] == 0 && p[8191] == 0, "mmap(MAP_PRIVATE) of /dev/zero: zeros");
	if (p != MAP_FAILED) {
		p[100] = 7;
		check(p[100] == 7, "and writable");
		munmap(p, 8192);
	}
	p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	check(p != MAP_FAILED && p[4095] == 0, "mmap(MAP_SHARED) of /dev/zero: zeros");
	if (p != MAP_FAILED)
		munmap(p, 4096);
	close(fd);
}

/* /dev/stdin and /dev/fd/N: a new open of the file on that descriptor. */
static void reopen(void)
{
	const char *tmp = getenv("NOMMU_TEST_TMPDIR");
	char name[512];
	snprintf(name, sizeof name, "%s/devices.%d", tmp && *tmp ? tmp : "/tmp", (int)getpid());
	int fd = open(name, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || write(fd, "stdin file\n", 11) != 11) {
		printf("FAIL scratch file: %s\n", errname(errno));
		failures++;
		return;
	}
	char path[64], buf[32];
	snprintf(path, sizeof path, "/dev/fd/%d", fd);
	int again = open(path, O_RDONLY);
	memset(buf, 0, sizeof buf);
	/* Our offset is at the end; the new description starts at 0. */
	check(again >= 0 && read(again, buf, sizeof buf) == 11 && strcmp(buf, "stdin file\n") == 0, "/dev/fd/N opens the file anew, from offset 0");
	printf("offsets apart: %ld %ld\n", (long)lseek(fd, 0, SEEK_CUR), (long)lseek(again, 0, SEEK_CUR));
	close(again);
	int saved = dup(0);
	lseek(fd, 0, SEEK_SET);
	dup2(fd, 0);
	int in = open("/dev/stdin", O_RDONLY);
	memset(buf, 0, sizeof buf);
	check(in >= 0 && read(in, buf, 5) == 5 && memcmp(buf, "stdin", 5) == 0, "/dev/stdin opens the file on fd 0");
	struct stat a, b;
	check(fstat(in, &a) == 0 && fstat(0, &b) == 0 && a.st_ino == b.st_ino, "the same inode");
	EXPECT_ERR(open("/dev/fd/999", O_RDONLY), ENOENT, "/dev/fd/N of a closed descriptor");
	close(in);
	dup2(saved, 0);
	close(saved);
	close(fd);
	unlink(name);
}

int main(void)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	numbers();
	offsets();
	reopen();
	char buf[64];
	int fd = open("/dev/null", O_RDWR);
	struct stat st;
	fstat(fd, &st);
	printf("/dev/null: chr %d rdev %u:%u\n", S_ISCHR(st.st_mode), major(st.st_rdev), minor(st.st_rdev));
	check(read(fd, buf, sizeof buf) == 0, "/dev/null reads EOF");
	check(write(fd, "abc", 3) == 3, "/dev/null takes writes");
	close(fd);

	fd = open("/dev/zero", O_RDWR);
	memset(buf, 1, sizeof buf);
	check(read(fd, buf, sizeof buf) == sizeof buf && buf[0] == 0 && buf[63] == 0, "/dev/zero reads zeros");
	check(write(fd, "abc", 3) == 3, "/dev/zero takes writes");
	close(fd);

	fd = open("/dev/full", O_RDWR);
	ssize_t n = write(fd, "abc", 3);
	printf("/dev/full write: %zd %s\n", n, n < 0 ? errname(errno) : "");
	memset(buf, 1, sizeof buf);
	check(read(fd, buf, sizeof buf) == sizeof buf && buf[10] == 0, "/dev/full reads zeros");
	close(fd);

	const char *rnd[] = { "/dev/random", "/dev/urandom" };
	for (int i = 0; i < 2; i++) {
		fd = open(rnd[i], O_RDONLY);
		char what[64];
		snprintf(what, sizeof what, "%s gives 32 bytes", rnd[i]);
		check(read(fd, buf, 32) == 32, what);
		close(fd);
	}

	if (failures) {
		printf("devices: %d failures\n", failures);
		return 1;
	}
	printf("devices ok\n");
	return 0;
}
