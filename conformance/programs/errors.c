/* The errno of common failures, printed by name: EBADF, ENOENT, EEXIST,
 * ENOTDIR, EISDIR, ENAMETOOLONG, EFAULT, EINVAL, ESPIPE and EMFILE. Scratch
 * files live in $NOMMU_TEST_TMPDIR (default /tmp). Exit 1 if any check fails.
 * Pointers into unmapped or read-only pages that are still guest RAM are left
 * out: nommu checks user copies against RAM bounds, not page permissions. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "expect.h"

/* r is the call's result, e the errno right after it. */
static char dir[4096], file[4200], sub[4300], newdir[4200], missing[4200];

static void ebadf(void)
{
	char buf[8];
	struct stat st;
	int fd = open(file, O_RDONLY);
	check(fd >= 0 && close(fd) == 0, "open and close a file");
	EXPECT_ERR(read(fd, buf, 1), EBADF, "read closed fd");
	EXPECT_ERR(write(fd, "x", 1), EBADF, "write closed fd");
	EXPECT_ERR(fstat(fd, &st), EBADF, "fstat closed fd");
	EXPECT_ERR(close(fd), EBADF, "close closed fd");
	EXPECT_ERR(read(-1, buf, 1), EBADF, "read fd -1");
	EXPECT_ERR(write(-5, "x", 1), EBADF, "write fd -5");
	EXPECT_ERR(fstat(-1, &st), EBADF, "fstat fd -1");
	EXPECT_ERR(close(-1), EBADF, "close fd -1");
	EXPECT_ERR(lseek(-1, 0, SEEK_SET), EBADF, "lseek fd -1");
	EXPECT_ERR(dup(-1), EBADF, "dup fd -1");
	EXPECT_ERR(fcntl(-1, F_GETFD), EBADF, "fcntl F_GETFD fd -1");
	EXPECT_ERR(syscall(SYS_read, 1000000, buf, 1), EBADF, "read fd 1000000");

	/* wrong access mode on a valid fd */
	fd = open(file, O_RDONLY);
	EXPECT_ERR(write(fd, "x", 1), EBADF, "write on an O_RDONLY fd");
	close(fd);
	fd = open(file, O_WRONLY);
	EXPECT_ERR(read(fd, buf, 1), EBADF, "read on an O_WRONLY fd");
	close(fd);
}

static void enoent_eexist(void)
{
	struct stat st;
	EXPECT_ERR(open(missing, O_RDONLY), ENOENT, "open missing file");
	EXPECT_ERR(stat(missing, &st), ENOENT, "stat missing file");
	EXPECT_ERR(unlink(missing), ENOENT, "unlink missing file");
	EXPECT_ERR(rmdir(missing), ENOENT, "rmdir missing directory");
	EXPECT_ERR(open("", O_RDONLY), ENOENT, "open empty path");
	EXPECT_ERR(stat("", &st), ENOENT, "stat empty path");
	char deep[4400];
	snprintf(deep, sizeof deep, "%s/x/y", missing);
	EXPECT_ERR(open(deep, O_RDWR | O_CREAT, 0600), ENOENT, "O_CREAT under a missing directory");
	EXPECT_ERR(mkdir(deep, 0700), ENOENT, "mkdir under a missing directory");

	EXPECT_ERR(open(file, O_RDWR | O_CREAT | O_EXCL, 0600), EEXIST, "O_CREAT|O_EXCL on existing file");
	EXPECT_ERR(open(dir, O_RDONLY | O_CREAT | O_EXCL, 0600), EEXIST, "O_CREAT|O_EXCL on existing directory");
	EXPECT_ERR(mkdir(file, 0700), EEXIST, "mkdir over a file");
	EXPECT_ERR(mkdir(dir, 0700), EEXIST, "mkdir over a directory");
	EXPECT_ERR(link(file, file), EEXIST, "link onto itself");
	EXPECT_ERR(symlink("anything", file), EEXIST, "symlink over a file");
}

static void enotdir_eisdir(void)
{
	struct stat st;
	char buf[8];
	EXPECT_ERR(open(sub, O_RDONLY), ENOTDIR, "open path through a file");
	EXPECT_ERR(stat(sub, &st), ENOTDIR, "stat path through a file");
	EXPECT_ERR(mkdir(sub, 0700), ENOTDIR, "mkdir path through a file");
	EXPECT_ERR(open(sub, O_WRONLY | O_CREAT, 0600), ENOTDIR, "O_CREAT path through a file");
	EXPECT_ERR(open(file, O_RDONLY | O_DIRECTORY), ENOTDIR, "O_DIRECTORY on a file");
	EXPECT_ERR(rmdir(file), ENOTDIR, "rmdir a file");
	EXPECT_ERR(chdir(file), ENOTDIR, "chdir to a file");
	char slash[4300];
	snprintf(slash, sizeof slash, "%s/", file);
	EXPECT_ERR(stat(slash, &st), ENOTDIR, "stat file with trailing slash");

	EXPECT_ERR(open(dir, O_WRONLY), EISDIR, "open directory O_WRONLY");
	EXPECT_ERR(open(dir, O_RDWR), EISDIR, "open directory O_RDWR");
	EXPECT_ERR(open(dir, O_WRONLY | O_CREAT, 0600), EISDIR, "open directory O_WRONLY|O_CREAT");
	EXPECT_ERR(unlink(newdir), EISDIR, "unlink a directory");
	int dfd = open(dir, O_RDONLY);
	check(dfd >= 0, "open directory O_RDONLY");
	EXPECT_ERR(read(dfd, buf, sizeof buf), EISDIR, "read on a directory fd");
	EXPECT_ERR(pread(dfd, buf, sizeof buf, 0), EISDIR, "pread on a directory fd");
	EXPECT_ERR(write(dfd, "x", 1), EBADF, "write on a directory fd");
	close(dfd);
}

static void enametoolong(void)
{
	struct stat st;
	char name[4200];
	/* one component longer than NAME_MAX (255) */
	int n = snprintf(name, sizeof name, "%s/", dir);
	memset(name + n, 'a', 300);
	name[n + 300] = 0;
	EXPECT_ERR(open(name, O_RDONLY), ENAMETOOLONG, "open with a 300-byte component");
	EXPECT_ERR(open(name, O_WRONLY | O_CREAT, 0600), ENAMETOOLONG, "create with a 300-byte component");
	EXPECT_ERR(mkdir(name, 0700), ENAMETOOLONG, "mkdir with a 300-byte component");
	EXPECT_ERR(stat(name, &st), ENAMETOOLONG, "stat with a 300-byte component");
	/* a whole path of PATH_MAX (4096) bytes or more */
	static char huge[8192];
	for (int i = 0; i < 8000; i += 2) {
		huge[i] = 'b';
		huge[i + 1] = '/';
	}
	huge[8000] = 0;
	EXPECT_ERR(open(huge, O_RDONLY), ENAMETOOLONG, "open an 8000-byte path");
	EXPECT_ERR(stat(huge, &st), ENAMETOOLONG, "stat an 8000-byte path");
	EXPECT_ERR(chdir(huge), ENAMETOOLONG, "chdir to an 8000-byte path");
}

static void efault(void)
{
	void *volatile bad = (void *)1;
	struct stat st;
	int fd = open(file, O_RDWR);
	check(fd >= 0 && write(fd, "0123456789abcdef", 16) == 16 && lseek(fd, 0, SEEK_SET) == 0,
	      "fill the file with 16 bytes");
	EXPECT_ERR(read(fd, bad, 16), EFAULT, "read into (void*)1");
	EXPECT_ERR(write(fd, bad, 16), EFAULT, "write from (void*)1");
	EXPECT_ERR(pread(fd, bad, 16, 0), EFAULT, "pread into (void*)1");
	EXPECT_ERR(pwrite(fd, bad, 16, 0), EFAULT, "pwrite from (void*)1");
	/* No bytes to move: no address is looked at (Node's writeSync of an empty buffer passes NULL). */
	check(read(fd, NULL, 0) == 0 && write(fd, NULL, 0) == 0 && pread(fd, bad, 0, 0) == 0 && pwrite(fd, NULL, 0, 0) == 0,
	      "read, write, pread, pwrite of 0 bytes at NULL or (void*)1: 0");
	int p[2];
	check(pipe(p) == 0 && write(p[1], NULL, 0) == 0 && close(p[1]) == 0 && read(p[0], NULL, 0) == 0 && close(p[0]) == 0,
	      "write and read of 0 bytes at NULL on a pipe: 0");
	EXPECT_ERR(syscall(SYS_fstat, fd, bad), EFAULT, "fstat into (void*)1");
	EXPECT_ERR(syscall(SYS_stat, file, bad), EFAULT, "stat into (void*)1");
	EXPECT_ERR(syscall(SYS_stat, bad, &st), EFAULT, "stat path (void*)1");
	EXPECT_ERR(syscall(SYS_open, bad, O_RDONLY), EFAULT, "open path (void*)1");
	EXPECT_ERR(syscall(SYS_mkdir, bad, 0700), EFAULT, "mkdir path (void*)1");
	EXPECT_ERR(syscall(SYS_unlink, bad), EFAULT, "unlink path (void*)1");
	EXPECT_ERR(syscall(SYS_pipe, bad), EFAULT, "pipe into (void*)1");

	close(fd);
}

static void einval_espipe(void)
{
	int fd = open(file, O_RDWR);
	check(fd >= 0, "reopen the file");
	EXPECT_ERR(lseek(fd, 0, 99), EINVAL, "lseek whence 99");
	EXPECT_ERR(lseek(fd, -1, SEEK_SET), EINVAL, "lseek to -1");
	EXPECT_ERR(lseek(fd, -100, SEEK_CUR), EINVAL, "lseek before the start with SEEK_CUR");
	EXPECT_ERR(fcntl(fd, 9999), EINVAL, "fcntl command 9999");
	EXPECT_ERR(dup3(fd, fd, 0), EINVAL, "dup3 onto itself");
	/* musl's dup3() drops flags other than O_CLOEXEC before the kernel sees them */
	EXPECT_ERR(syscall(SYS_dup3, fd, 100, 0x4), EINVAL, "dup3 with flag 0x4");
	int p[2];
	EXPECT_ERR(pipe2(p, 0x4), EINVAL, "pipe2 with flag 0x4");
	EXPECT_ERR(access(file, 0x10), EINVAL, "access mode 0x10");
	EXPECT_ERR(pread(fd, p, 1, -1), EINVAL, "pread at offset -1");
	EXPECT_ERR(mmap(NULL, 0, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), EINVAL, "mmap length 0");
	EXPECT_ERR(mmap(NULL, 4096, PROT_READ, MAP_ANONYMOUS, -1, 0), EINVAL,
		   "mmap neither MAP_PRIVATE nor MAP_SHARED");
	EXPECT_ERR(munmap((void *)0x1001, 4096), EINVAL, "munmap unaligned address");
	close(fd);

	check(pipe(p) == 0, "pipe");
	EXPECT_ERR(lseek(p[0], 0, SEEK_CUR), ESPIPE, "lseek on a pipe read end");
	EXPECT_ERR(lseek(p[1], 0, SEEK_SET), ESPIPE, "lseek on a pipe write end");
	char c;
	EXPECT_ERR(pread(p[0], &c, 1, 0), ESPIPE, "pread on a pipe");
	EXPECT_ERR(pwrite(p[1], "x", 1, 0), ESPIPE, "pwrite on a pipe");
	close(p[0]);
	close(p[1]);
}

static void emfile(void)
{
	struct rlimit rl;
	check(getrlimit(RLIMIT_NOFILE, &rl) == 0, "getrlimit NOFILE");
	rl.rlim_cur = 16;
	check(setrlimit(RLIMIT_NOFILE, &rl) == 0, "lower the NOFILE soft limit to 16");
	/* fds fill from the lowest free one, so the last success is 15 */
	int last = -1, fd;
	while ((fd = dup(0)) >= 0)
		last = fd;
	int e = errno;
	printf("%s last dup before failure is fd %d -> %s\n", last == 15 && e == EMFILE ? "ok" : "FAIL",
	       last, errname(e));
	if (last != 15 || e != EMFILE)
		failures++;
	EXPECT_ERR(open(file, O_RDONLY), EMFILE, "open at the limit");
	int p[2];
	EXPECT_ERR(pipe(p), EMFILE, "pipe at the limit");
	EXPECT_ERR(fcntl(0, F_DUPFD, 0), EMFILE, "F_DUPFD at the limit");
	EXPECT_ERR(dup2(0, 16), EBADF, "dup2 to fd 16 (the limit)");
	EXPECT_ERR(fcntl(0, F_DUPFD, 16), EINVAL, "F_DUPFD from 16 (the limit)");
	check(close(15) == 0, "close fd 15");
	/* pipe needs two fds, so with only one free it still fails */
	EXPECT_ERR(pipe(p), EMFILE, "pipe with one free fd");
	fd = open(file, O_RDONLY);
	check(fd == 15, "open takes the freed fd 15");
	for (int i = 3; i < 16; i++)
		close(i);
}

/* Descriptors a test runner may leak into the native run would shift the fd numbers printed here. */
static void close_inherited(void)
{
	for (int fd = 3; fd < 1024; fd++)
		close(fd);
}

int main(void)
{
	close_inherited();
	const char *base = getenv("NOMMU_TEST_TMPDIR");
	if (!base || !*base)
		base = "/tmp";
	snprintf(dir, sizeof dir, "%s/nommu-errors-%ld", base, (long)getpid());
	snprintf(file, sizeof file, "%s/file", dir);
	snprintf(sub, sizeof sub, "%s/sub", file);
	snprintf(newdir, sizeof newdir, "%s/dir", dir);
	snprintf(missing, sizeof missing, "%s/missing", dir);

	umask(022);
	if (mkdir(dir, 0700) != 0 || mkdir(newdir, 0700) != 0) {
		printf("FAIL create scratch directory -> %s\n", errname(errno));
		return 1;
	}
	int fd = open(file, O_RDWR | O_CREAT | O_EXCL, 0644);
	check(fd >= 0 && close(fd) == 0, "create the scratch file");

	ebadf();
	enoent_eexist();
	enotdir_eisdir();
	enametoolong();
	efault();
	einval_espipe();
	emfile();

	check(unlink(file) == 0 && rmdir(newdir) == 0 && rmdir(dir) == 0, "clean up");
	printf("%s\n", failures ? "errors FAILED" : "errors ok");
	return failures ? 1 : 0;
}
