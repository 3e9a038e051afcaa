/* O_PATH descriptors: a name held without opening the file. On a FIFO the
 * open returns at once (nothing waits for a writer); with O_NOFOLLOW a symlink
 * is itself the file (fstat, readlinkat(fd, "")); a directory serves as the
 * dirfd of *at() calls and for fchdir; fstat, fstatat(AT_EMPTY_PATH),
 * fstatfs, dup, F_GETFD/F_SETFD/F_GETFL, linkat/fchownat/utimensat with
 * AT_EMPTY_PATH and close work; read, write, lseek, getdents, mmap, flock,
 * ioctl, fchmod, ftruncate, fsync, F_SETFL answer EBADF; opening
 * /proc/self/fd/N of one opens the file for real. Raw syscall() where the
 * libcs differ. Scratch files in $NOMMU_TEST_TMPDIR (default /tmp). */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "expect.h"

#define NR_GETDENTS64 217
#define NR_UTIMENSAT 280

static char dir[512];

static const char *at(const char *name)
{
	static char buf[4][600];
	static int i;
	i = (i + 1) % 4;
	snprintf(buf[i], sizeof buf[i], "%s/%s", dir, name);
	return buf[i];
}

static const char *kind(mode_t m)
{
	return S_ISREG(m) ? "regular" : S_ISDIR(m) ? "directory" : S_ISLNK(m) ? "symlink" : S_ISFIFO(m) ? "fifo" : S_ISCHR(m) ? "chr" : "other";
}

static void regular(void)
{
	int fd = open(at("file"), O_PATH);
	check(fd >= 0, "O_PATH open of a regular file");
	struct stat st;
	check(fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size == 5, "fstat of it: the file (5 bytes)");
	printf("F_GETFL: %#o\n", fcntl(fd, F_GETFL));
	char c;
	EXPECT_ERR(read(fd, &c, 1), EBADF, "read");
	EXPECT_ERR(write(fd, "x", 1), EBADF, "write");
	EXPECT_ERR(pread(fd, &c, 1, 0), EBADF, "pread");
	EXPECT_ERR(lseek(fd, 0, SEEK_SET), EBADF, "lseek");
	EXPECT_ERR(fsync(fd), EBADF, "fsync");
	EXPECT_ERR(ftruncate(fd, 0), EBADF, "ftruncate");
	/* Raw calls: musl's fchmod and fchown fall back to /proc/self/fd/N (tested below), glibc's do not. */
	EXPECT_ERR(syscall(SYS_fchmod, fd, 0600), EBADF, "fchmod");
	EXPECT_ERR(flock(fd, LOCK_EX), EBADF, "flock");
	int n;
	EXPECT_ERR(ioctl(fd, FIONREAD, &n), EBADF, "ioctl(FIONREAD)");
	EXPECT_ERR(fcntl(fd, F_SETFL, O_NONBLOCK), EBADF, "F_SETFL");
	int ep = epoll_create1(0);
	struct epoll_event ev = { .events = EPOLLIN };
	EXPECT_ERR(epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev), EBADF, "epoll_ctl");
	close(ep);
	EXPECT_ERR(mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, fd, 0) == MAP_FAILED ? -1 : 0, EBADF, "mmap");
	check(fcntl(fd, F_SETFD, FD_CLOEXEC) == 0 && fcntl(fd, F_GETFD) == FD_CLOEXEC, "F_SETFD/F_GETFD");
	int d = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	check(d >= 0 && fstat(d, &st) == 0 && S_ISREG(st.st_mode) && close(d) == 0, "F_DUPFD_CLOEXEC, fstat of the copy");
	d = dup(fd);
	printf("dup keeps O_PATH: %s\n", d >= 0 && (fcntl(d, F_GETFL) & O_PATH) ? "yes" : "no");
	close(d);
	struct statfs sfs;
	check(fstatfs(fd, &sfs) == 0, "fstatfs");
	check(fstatat(fd, "", &st, AT_EMPTY_PATH) == 0 && S_ISREG(st.st_mode), "fstatat(fd, \"\", AT_EMPTY_PATH)");
	char buf[64];
	EXPECT_ERR(readlinkat(fd, "", buf, sizeof buf), ENOENT, "readlinkat(fd, \"\") of a regular file");
	EXPECT_ERR(syscall(NR_UTIMENSAT, fd, NULL, NULL, 0), EBADF, "utimensat(fd, NULL)");
	check(syscall(NR_UTIMENSAT, fd, "", NULL, AT_EMPTY_PATH) == 0, "utimensat(fd, \"\", AT_EMPTY_PATH)");
	check(fchownat(fd, "", -1, -1, AT_EMPTY_PATH) == 0, "fchownat(fd, \"\", AT_EMPTY_PATH)");
	EXPECT_ERR(syscall(SYS_fchown, fd, -1, -1), EBADF, "fchown");
	/* Only root may link a descriptor (CAP_DAC_READ_SEARCH): print what happened. */
	errno = 0;
	int r = linkat(fd, "", AT_FDCWD, at("hard"), AT_EMPTY_PATH);
	printf("linkat(fd, \"\", AT_EMPTY_PATH) as uid %d: %d %s\n", getuid() == 0 ? 0 : 1, r, r ? errname(errno) : "");
	if (r == 0)
		check(stat(at("file"), &st) == 0 && st.st_nlink == 2, "the file has two links");

	/* /proc/self/fd/N of an O_PATH descriptor leads to the file: chmod through it, and open it for real. */
	char proc[64];
	snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
	check(chmod(proc, 0640) == 0 && stat(at("file"), &st) == 0 && (st.st_mode & 07777) == 0640, "chmod of /proc/self/fd/N changes the file");
	check(truncate(proc, 5) == 0, "truncate of /proc/self/fd/N");
	int real = open(proc, O_RDONLY);
	memset(buf, 0, sizeof buf);
	check(real >= 0 && read(real, buf, sizeof buf) == 5 && memcmp(buf, "hello", 5) == 0, "open of /proc/self/fd/N reads the file");
	printf("that open is O_PATH: %s\n", real >= 0 && (fcntl(real, F_GETFL) & O_PATH) ? "yes" : "no");
	close(real);
	int path2 = open(proc, O_PATH);
	check(path2 >= 0 && fstat(path2, &st) == 0 && S_ISREG(st.st_mode), "O_PATH open of /proc/self/fd/N");
	close(path2);
	check(close(fd) == 0, "close");
	EXPECT_ERR(close(fd), EBADF, "close again");
	EXPECT_ERR(open(at("file"), O_PATH | O_DIRECTORY), ENOTDIR, "O_PATH|O_DIRECTORY of a file");
	EXPECT_ERR(open(at("missing"), O_PATH), ENOENT, "O_PATH of a missing name");
	EXPECT_ERR(open(at("missing"), O_PATH | O_CREAT, 0600), ENOENT, "O_PATH|O_CREAT creates nothing");
}

static void symlinks(void)
{
	int fd = open(at("link"), O_PATH | O_NOFOLLOW);
	check(fd >= 0, "O_PATH|O_NOFOLLOW of a symlink gives a descriptor");
	struct stat st;
	if (fstat(fd, &st) == 0)
		printf("fstat: %s, size %ld\n", kind(st.st_mode), (long)st.st_size);
	char buf[64];
	ssize_t n = readlinkat(fd, "", buf, sizeof buf);
	printf("readlinkat(fd, \"\"): %zd \"%.*s\"\n", n, n > 0 ? (int)n : 0, buf);
	check(fstatat(fd, "", &st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode), "fstatat(fd, \"\", AT_EMPTY_PATH): the link");
	char proc[64], target[600];
	snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
	n = readlink(proc, target, sizeof target);
	printf("/proc/self/fd/N names the link: %s\n", n > 0 && (size_t)n == strlen(at("link")) && memcmp(target, at("link"), n) == 0 ? "yes" : "no");
	EXPECT_ERR(open(proc, O_RDONLY), ELOOP, "open of /proc/self/fd/N of a symlink");
	close(fd);
	EXPECT_ERR(open(at("link"), O_PATH), ENOENT, "O_PATH following a dangling symlink");
	EXPECT_ERR(open(at("link"), O_RDONLY | O_NOFOLLOW), ELOOP, "O_NOFOLLOW without O_PATH");
	fd = open(at("dirlink"), O_PATH);
	check(fd >= 0 && fstat(fd, &st) == 0 && S_ISDIR(st.st_mode), "O_PATH following a symlink to a directory");
	close(fd);
}

static void fifo(void)
{
	/* Nobody will ever open the other end: a real open would wait forever. */
	int fd = open(at("fifo"), O_PATH);
	check(fd >= 0, "O_PATH of a FIFO returns at once");
	struct stat st;
	check(fstat(fd, &st) == 0 && S_ISFIFO(st.st_mode), "fstat: a FIFO");
	char c;
	EXPECT_ERR(read(fd, &c, 1), EBADF, "read of the FIFO's O_PATH descriptor");
	close(fd);
	fd = open(at("fifo"), O_PATH | O_NOFOLLOW | O_CLOEXEC);
	check(fd >= 0 && fcntl(fd, F_GETFD) == FD_CLOEXEC, "O_PATH|O_CLOEXEC: close-on-exec set");
	printf("F_GETFL of O_PATH|O_NOFOLLOW|O_CLOEXEC: %#o\n", fcntl(fd, F_GETFL));
	close(fd);
	fd = open("/dev/null", O_PATH);
	check(fd >= 0 && fstat(fd, &st) == 0 && S_ISCHR(st.st_mode) && major(st.st_rdev) == 1 && minor(st.st_rdev) == 3, "O_PATH of /dev/null: the device, not opened");
	EXPECT_ERR(write(fd, "x", 1), EBADF, "write to it");
	close(fd);
}

static void directories(void)
{
	int dfd = open(dir, O_PATH | O_DIRECTORY);
	check(dfd >= 0, "O_PATH|O_DIRECTORY of a directory");
	int fd = openat(dfd, "made", O_CREAT | O_WRONLY | O_TRUNC, 0644);
	check(fd >= 0 && write(fd, "abc", 3) == 3 && close(fd) == 0, "openat(dirfd, \"made\", O_CREAT)");
	struct stat st;
	check(fstatat(dfd, "made", &st, 0) == 0 && st.st_size == 3, "fstatat(dirfd, \"made\")");
	check(mkdirat(dfd, "sub", 0755) == 0, "mkdirat(dirfd, \"sub\")");
	check(renameat(dfd, "made", dfd, "sub/moved") == 0, "renameat(dirfd, ..., dirfd, ...)");
	check(unlinkat(dfd, "sub/moved", 0) == 0 && unlinkat(dfd, "sub", AT_REMOVEDIR) == 0, "unlinkat(dirfd, ...)");
	int sub = openat(dfd, ".", O_PATH);
	check(sub >= 0 && fstat(sub, &st) == 0 && S_ISDIR(st.st_mode), "openat(dirfd, \".\", O_PATH)");
	close(sub);
	char buf[4096];
	EXPECT_ERR(syscall(NR_GETDENTS64, dfd, buf, sizeof buf), EBADF, "getdents64 of an O_PATH directory");
	char old[600];
	if (!getcwd(old, sizeof old))
		strcpy(old, "/");
	check(fchdir(dfd) == 0, "fchdir to it");
	char cwd[600];
	printf("getcwd is the directory: %s\n", getcwd(cwd, sizeof cwd) && strcmp(cwd, dir) == 0 ? "yes" : "no");
	check(access("file", F_OK) == 0, "relative names now start there");
	if (chdir(old) != 0)
		printf("FAIL chdir back\n");
	int file = open(at("file"), O_PATH);
	EXPECT_ERR(openat(file, "x", O_RDONLY), ENOTDIR, "openat relative to an O_PATH file");
	EXPECT_ERR(fchdir(file), ENOTDIR, "fchdir to an O_PATH file");
	close(file);
	close(dfd);
}

int main(void)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	const char *tmp = getenv("NOMMU_TEST_TMPDIR");
	snprintf(dir, sizeof dir, "%s/opath.%d", tmp && *tmp ? tmp : "/tmp", (int)getpid());
	if (mkdir(dir, 0755) != 0) {
		printf("FAIL mkdir %s: %s\n", dir, errname(errno));
		return 1;
	}
	/* The name the program prints is the same natively and under nommu. */
	int fd = open(at("file"), O_CREAT | O_WRONLY | O_TRUNC, 0644);
	if (fd < 0 || write(fd, "hello", 5) != 5 || close(fd) != 0 || symlink("nowhere", at("link")) != 0 ||
	    symlink(".", at("dirlink")) != 0 || mkfifo(at("fifo"), 0600) != 0) {
		printf("FAIL setting up: %s\n", errname(errno));
		return 1;
	}
	regular();
	symlinks();
	fifo();
	directories();
	unlink(at("file"));
	unlink(at("hard"));
	unlink(at("link"));
	unlink(at("dirlink"));
	unlink(at("fifo"));
	rmdir(dir);
	if (failures) {
		printf("opath: %d failures\n", failures);
		return 1;
	}
	printf("opath ok\n");
	return 0;
}
