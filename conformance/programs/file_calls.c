/* File calls with fewer users: utime, utimes and futimesat; preadv2 and
 * pwritev2 with RWF_* flags; the raw setrlimit; the xattr calls' lookup
 * errors; fstatfs of pipes, sockets, event files and /dev; SO_LINGER;
 * O_TMPFILE (and naming it with linkat); SEEK_DATA/SEEK_HOLE on a file
 * without holes; statx against fstat; renameat2(RENAME_EXCHANGE). Raw
 * syscall() where the libcs differ. Scratch files in $NOMMU_TEST_TMPDIR
 * (default /tmp). */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/xattr.h>
#include <unistd.h>
#include <utime.h>

#include "expect.h"

#define NR_UTIME 132
#define NR_SETRLIMIT 160
#define NR_FUTIMESAT 261
#define NR_PREADV2 327
#define NR_PWRITEV2 328
#define NR_STATX 332
#define NR_RENAMEAT2 316

#ifndef RWF_HIPRI
#define RWF_HIPRI 0x1
#define RWF_DSYNC 0x2
#define RWF_SYNC 0x4
#define RWF_NOWAIT 0x8
#endif
#ifndef RWF_APPEND
#define RWF_APPEND 0x10
#endif
#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE 1
#define RENAME_EXCHANGE 2
#endif
#ifndef O_TMPFILE
#define O_TMPFILE (020000000 | O_DIRECTORY)
#endif

static char dir[512];

static const char *at(const char *name)
{
	static char buf[4][600];
	static int i;
	i = (i + 1) % 4;
	snprintf(buf[i], sizeof buf[i], "%s/%s", dir, name);
	return buf[i];
}

static int make(const char *name, const char *content)
{
	int fd = open(at(name), O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || write(fd, content, strlen(content)) != (ssize_t)strlen(content)) {
		printf("FAIL make %s: %s\n", name, errname(errno));
		failures++;
	}
	return fd;
}

static void show_times(const char *what, const char *name)
{
	struct stat st;
	if (stat(at(name), &st) != 0) {
		printf("FAIL stat %s\n", name);
		failures++;
		return;
	}
	printf("%s: atime %ld.%09ld mtime %ld.%09ld\n", what, (long)st.st_atim.tv_sec, st.st_atim.tv_nsec, (long)st.st_mtim.tv_sec,
	       st.st_mtim.tv_nsec);
}

static void times(void)
{
	close(make("t", "times"));
	struct utimbuf ub = { .actime = 1000000000, .modtime = 1100000000 };
	check(syscall(NR_UTIME, at("t"), &ub) == 0, "utime");
	show_times("after utime", "t");
	struct timeval tv[2] = { { 1200000000, 500000 }, { 1300000000, 250000 } };
	check(utimes(at("t"), tv) == 0, "utimes");
	show_times("after utimes", "t");
	int dfd = open(dir, O_RDONLY | O_DIRECTORY);
	tv[0].tv_sec = 1400000000;
	tv[1].tv_usec = 750000;
	check(syscall(NR_FUTIMESAT, dfd, "t", tv) == 0, "futimesat(dirfd, \"t\")");
	show_times("after futimesat", "t");
	int fd = open(at("t"), O_RDWR);
	tv[1].tv_sec = 1500000000;
	check(syscall(NR_FUTIMESAT, fd, NULL, tv) == 0, "futimesat(fd, NULL): the descriptor's file");
	show_times("after futimesat(fd, NULL)", "t");
	close(fd);
	struct timeval before;
	gettimeofday(&before, NULL);
	check(syscall(NR_UTIME, at("t"), NULL) == 0, "utime(NULL): now");
	struct stat st;
	stat(at("t"), &st);
	printf("utime(NULL) set the time to now: %s\n", st.st_mtim.tv_sec >= before.tv_sec - 1 && st.st_mtim.tv_sec <= before.tv_sec + 5 ? "yes" : "no");
	check(utimes(at("t"), NULL) == 0, "utimes(NULL)");
	tv[0].tv_usec = 1000000;
	EXPECT_ERR(utimes(at("t"), tv), EINVAL, "utimes with tv_usec 1000000");
	tv[0].tv_usec = -1;
	EXPECT_ERR(syscall(NR_FUTIMESAT, dfd, "t", tv), EINVAL, "futimesat with tv_usec -1");
	EXPECT_ERR(syscall(NR_UTIME, at("missing"), &ub), ENOENT, "utime of a missing file");
	EXPECT_ERR(syscall(NR_FUTIMESAT, dfd, "missing", NULL), ENOENT, "futimesat of a missing file");
	EXPECT_ERR(syscall(NR_FUTIMESAT, 999, "t", NULL), EBADF, "futimesat with a bad dirfd");
	close(dfd);
	unlink(at("t"));
}

static long pv2(int nr, int fd, struct iovec *v, int n, long pos, int flags)
{
	return syscall(nr, fd, v, n, pos, 0L, flags);
}

static void vectors2(void)
{
	int fd = make("v", "");
	char a[] = "hello ", b[] = "world";
	struct iovec w[2] = { { a, 6 }, { b, 5 } };
	printf("pwritev2 at 0, flags 0: %ld\n", pv2(NR_PWRITEV2, fd, w, 2, 0, 0));
	printf("file offset after it: %ld\n", (long)lseek(fd, 0, SEEK_CUR));
	printf("pwritev2 at -1 (the file offset), RWF_DSYNC: %ld\n", pv2(NR_PWRITEV2, fd, w, 1, -1, RWF_DSYNC));
	printf("file offset now: %ld\n", (long)lseek(fd, 0, SEEK_CUR));
	printf("pwritev2 at 0 with RWF_APPEND: %ld\n", pv2(NR_PWRITEV2, fd, w + 1, 1, 0, RWF_APPEND));
	printf("file offset still: %ld\n", (long)lseek(fd, 0, SEEK_CUR));
	printf("pwritev2 at -1 with RWF_APPEND|RWF_SYNC|RWF_HIPRI: %ld\n", pv2(NR_PWRITEV2, fd, w + 1, 1, -1, RWF_APPEND | RWF_SYNC | RWF_HIPRI));
	printf("file offset moved to the end: %ld\n", (long)lseek(fd, 0, SEEK_CUR));
	char r1[8], r2[32];
	memset(r1, 0, sizeof r1);
	memset(r2, 0, sizeof r2);
	struct iovec r[2] = { { r1, 3 }, { r2, sizeof r2 - 1 } };
	long n = pv2(NR_PREADV2, fd, r, 2, 0, 0);
	printf("preadv2 at 0: %ld \"%s|%s\"\n", n, r1, r2);
	lseek(fd, 6, SEEK_SET);
	memset(r1, 0, sizeof r1);
	memset(r2, 0, sizeof r2);
	n = pv2(NR_PREADV2, fd, r, 2, -1, RWF_HIPRI);
	printf("preadv2 at -1 from offset 6, RWF_HIPRI: %ld \"%s|%s\", offset now %ld\n", n, r1, r2, (long)lseek(fd, 0, SEEK_CUR));
	EXPECT_ERR(pv2(NR_PREADV2, fd, r, 2, 0, 0x40000000), EOPNOTSUPP, "preadv2 with an unknown flag");
	EXPECT_ERR(pv2(NR_PWRITEV2, fd, w, 2, 0, 0x40000000), EOPNOTSUPP, "pwritev2 with an unknown flag");
	EXPECT_ERR(pv2(NR_PREADV2, fd, r, 2, -2, 0), EINVAL, "preadv2 at -2");
	EXPECT_ERR(pv2(NR_PREADV2, 999, r, 2, 0, 0), EBADF, "preadv2 of a bad descriptor");
	close(fd);
	int p[2];
	if (pipe(p) == 0) {
		EXPECT_ERR(pv2(NR_PREADV2, p[0], r, 2, -1, RWF_NOWAIT), EAGAIN, "preadv2(RWF_NOWAIT) of an empty pipe");
		EXPECT_ERR(pv2(NR_PREADV2, p[0], r, 2, 0, 0), ESPIPE, "preadv2 of a pipe at an offset");
		printf("pwritev2 to a pipe at -1: %ld\n", pv2(NR_PWRITEV2, p[1], w, 2, -1, 0));
		memset(r1, 0, sizeof r1);
		memset(r2, 0, sizeof r2);
		n = pv2(NR_PREADV2, p[0], r, 2, -1, RWF_NOWAIT);
		printf("preadv2(RWF_NOWAIT) of it: %ld \"%s|%s\"\n", n, r1, r2);
		close(p[0]);
		close(p[1]);
	}
	unlink(at("v"));
}

static void limits(void)
{
	struct rlimit old, rl;
	getrlimit(RLIMIT_NOFILE, &old);
	rl.rlim_cur = 77;
	rl.rlim_max = old.rlim_max;
	check(syscall(NR_SETRLIMIT, RLIMIT_NOFILE, &rl) == 0, "setrlimit (raw) of RLIMIT_NOFILE");
	struct rlimit now;
	getrlimit(RLIMIT_NOFILE, &now);
	printf("RLIMIT_NOFILE soft now %ld, hard unchanged: %s\n", (long)now.rlim_cur, now.rlim_max == old.rlim_max ? "yes" : "no");
	rl.rlim_cur = old.rlim_max;
	rl.rlim_max = 10;
	EXPECT_ERR(syscall(NR_SETRLIMIT, RLIMIT_NOFILE, &rl), EINVAL, "setrlimit with soft above hard");
	EXPECT_ERR(syscall(NR_SETRLIMIT, 999, &old), EINVAL, "setrlimit of an unknown resource");
	check(syscall(NR_SETRLIMIT, RLIMIT_NOFILE, &old) == 0, "setrlimit back");
}

static void xattrs(void)
{
	close(make("x", "x"));
	char buf[64];
	EXPECT_ERR(getxattr(at("missing"), "user.a", buf, sizeof buf), ENOENT, "getxattr of a missing file");
	EXPECT_ERR(lgetxattr(at("missing"), "user.a", buf, sizeof buf), ENOENT, "lgetxattr of a missing file");
	EXPECT_ERR(setxattr(at("missing"), "user.a", "v", 1, 0), ENOENT, "setxattr of a missing file");
	EXPECT_ERR(lsetxattr(at("missing"), "user.a", "v", 1, 0), ENOENT, "lsetxattr of a missing file");
	EXPECT_ERR(listxattr(at("missing"), buf, sizeof buf), ENOENT, "listxattr of a missing file");
	EXPECT_ERR(llistxattr(at("missing"), buf, sizeof buf), ENOENT, "llistxattr of a missing file");
	EXPECT_ERR(removexattr(at("missing"), "user.a"), ENOENT, "removexattr of a missing file");
	EXPECT_ERR(lremovexattr(at("missing"), "user.a"), ENOENT, "lremovexattr of a missing file");
	EXPECT_ERR(getxattr(at("x/under"), "user.a", buf, sizeof buf), ENOTDIR, "getxattr through a file");
	EXPECT_ERR(fgetxattr(999, "user.a", buf, sizeof buf), EBADF, "fgetxattr of a bad descriptor");
	EXPECT_ERR(flistxattr(999, buf, sizeof buf), EBADF, "flistxattr of a bad descriptor");
	EXPECT_ERR(fsetxattr(999, "user.a", "v", 1, 0), EBADF, "fsetxattr of a bad descriptor");
	EXPECT_ERR(fremovexattr(999, "user.a"), EBADF, "fremovexattr of a bad descriptor");
	unlink(at("x"));
}

static void fs_types(void)
{
	struct statfs s;
	int p[2], sv[2];
	if (pipe(p) == 0 && fstatfs(p[0], &s) == 0)
		printf("fstatfs of a pipe: %#lx\n", (unsigned long)s.f_type);
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0 && fstatfs(sv[0], &s) == 0)
		printf("fstatfs of a socket: %#lx\n", (unsigned long)s.f_type);
	int e = eventfd(0, 0);
	if (e >= 0 && fstatfs(e, &s) == 0)
		printf("fstatfs of an eventfd: %#lx\n", (unsigned long)s.f_type);
	int z = open("/dev/zero", O_RDONLY);
	if (z >= 0 && fstatfs(z, &s) == 0)
		printf("fstatfs of /dev/zero: %#lx\n", (unsigned long)s.f_type);
	if (statfs("/dev/zero", &s) == 0)
		printf("statfs of /dev/zero: %#lx\n", (unsigned long)s.f_type);
	close(p[0]);
	close(p[1]);
	close(sv[0]);
	close(e);
	close(z);

	/* SO_LINGER: kept and read back; turning it off keeps the seconds. */
	struct linger l;
	socklen_t len = sizeof l;
	check(getsockopt(sv[1], SOL_SOCKET, SO_LINGER, &l, &len) == 0 && len == sizeof l, "getsockopt(SO_LINGER)");
	printf("SO_LINGER at first: %d %d\n", l.l_onoff, l.l_linger);
	l.l_onoff = 1;
	l.l_linger = 5;
	check(setsockopt(sv[1], SOL_SOCKET, SO_LINGER, &l, sizeof l) == 0, "setsockopt(SO_LINGER, {1, 5})");
	getsockopt(sv[1], SOL_SOCKET, SO_LINGER, &l, &len);
	printf("SO_LINGER after {1, 5}: %d %d\n", l.l_onoff, l.l_linger);
	l.l_onoff = 0;
	l.l_linger = 9;
	setsockopt(sv[1], SOL_SOCKET, SO_LINGER, &l, sizeof l);
	getsockopt(sv[1], SOL_SOCKET, SO_LINGER, &l, &len);
	printf("SO_LINGER after {0, 9}: %d %d\n", l.l_onoff, l.l_linger);
	EXPECT_ERR(setsockopt(sv[1], SOL_SOCKET, SO_LINGER, &l, 4), EINVAL, "setsockopt(SO_LINGER) with 4 bytes");
	close(sv[1]);
}

static int listed(const char *name)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int found = 0;
	while (d && (e = readdir(d)))
		found |= strcmp(e->d_name, name) == 0 || e->d_name[0] == '#';
	if (d)
		closedir(d);
	return found;
}

static void tmpfiles(void)
{
	int fd = open(dir, O_TMPFILE | O_RDWR, 0600);
	if (fd < 0 && errno == EOPNOTSUPP) {
		printf("O_TMPFILE: EOPNOTSUPP here\n");
		return;
	}
	check(fd >= 0, "O_TMPFILE|O_RDWR in a directory");
	struct stat st;
	check(write(fd, "unnamed", 7) == 7 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_nlink == 0 && st.st_size == 7,
	      "a regular file with no link, 7 bytes written");
	printf("mode %o, listed in the directory: %s\n", st.st_mode & 07777, listed("") ? "yes" : "no");
	char proc[64];
	snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
	check(linkat(AT_FDCWD, proc, AT_FDCWD, at("named"), AT_SYMLINK_FOLLOW) == 0, "linkat of /proc/self/fd/N names it");
	char buf[16] = { 0 };
	int again = open(at("named"), O_RDONLY);
	check(again >= 0 && read(again, buf, sizeof buf) == 7 && strcmp(buf, "unnamed") == 0, "the name reads what was written");
	check(fstat(fd, &st) == 0 && st.st_nlink == 1, "one link now");
	close(again);
	EXPECT_ERR(linkat(AT_FDCWD, proc, AT_FDCWD, at("named"), AT_SYMLINK_FOLLOW), EEXIST, "linkat onto an existing name");
	close(fd);
	fd = open(dir, O_TMPFILE | O_WRONLY | O_EXCL, 0600);
	snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
	EXPECT_ERR(linkat(AT_FDCWD, proc, AT_FDCWD, at("excl"), AT_SYMLINK_FOLLOW), ENOENT, "linkat of an O_TMPFILE|O_EXCL file");
	close(fd);
	fd = open(dir, O_TMPFILE | O_WRONLY, 0600);
	errno = 0;
	int r = linkat(fd, "", AT_FDCWD, at("empty-path"), AT_EMPTY_PATH);
	printf("linkat(fd, \"\", AT_EMPTY_PATH) as uid %d: %d %s\n", getuid() == 0 ? 0 : 1, r, r ? errname(errno) : "");
	close(fd);
	EXPECT_ERR(open(dir, O_TMPFILE | O_RDONLY, 0600), EINVAL, "O_TMPFILE|O_RDONLY");
	EXPECT_ERR(open(dir, O_TMPFILE | O_RDWR | O_CREAT, 0600), EINVAL, "O_TMPFILE|O_CREAT");
	EXPECT_ERR(open(at("named"), O_TMPFILE | O_RDWR, 0600), ENOTDIR, "O_TMPFILE of a file");
	EXPECT_ERR(open(at("nodir"), O_TMPFILE | O_RDWR, 0600), ENOENT, "O_TMPFILE of a missing directory");
	printf("listed after: named %s\n", listed("named") ? "yes" : "no");
	unlink(at("named"));
	unlink(at("empty-path"));
}

static void seeks(void)
{
	int fd = make("s", "");
	static char data[10000];
	memset(data, 'd', sizeof data);
	if (write(fd, data, sizeof data) != sizeof data)
		printf("FAIL write\n");
	printf("SEEK_DATA 0: %ld\n", (long)lseek(fd, 0, SEEK_DATA));
	printf("SEEK_DATA 5000: %ld\n", (long)lseek(fd, 5000, SEEK_DATA));
	printf("SEEK_HOLE 0: %ld\n", (long)lseek(fd, 0, SEEK_HOLE));
	printf("SEEK_HOLE 9999: %ld\n", (long)lseek(fd, 9999, SEEK_HOLE));
	EXPECT_ERR(lseek(fd, 10000, SEEK_DATA), ENXIO, "SEEK_DATA at the end");
	EXPECT_ERR(lseek(fd, 10000, SEEK_HOLE), ENXIO, "SEEK_HOLE at the end");
	EXPECT_ERR(lseek(fd, -1, SEEK_DATA), ENXIO, "SEEK_DATA at -1");
	close(fd);
	fd = make("empty", "");
	EXPECT_ERR(lseek(fd, 0, SEEK_DATA), ENXIO, "SEEK_DATA of an empty file");
	close(fd);
	unlink(at("s"));
	unlink(at("empty"));
}

/* struct statx, by offset (older libcs have no statx()). */
struct sx {
	uint32_t mask, blksize;
	uint64_t attributes;
	uint32_t nlink, uid, gid;
	uint16_t mode, pad0;
	uint64_t ino, size, blocks, attributes_mask;
	struct { int64_t sec; uint32_t nsec; int32_t pad; } atime, btime, ctime, mtime;
	uint32_t rdev_major, rdev_minor, dev_major, dev_minor;
	uint64_t spare[14];
};

static void compare_statx(const char *what, int dirfd, const char *name, int flags)
{
	struct sx x;
	struct stat st;
	memset(&x, 0xff, sizeof x);
	long r = syscall(NR_STATX, dirfd, name, flags, 0x7ff, &x);
	int s = fstatat(dirfd, name, &st, flags);
	int same = r == 0 && s == 0 && (x.mask & 0x7ff) == 0x7ff && x.ino == st.st_ino && x.mode == st.st_mode && x.nlink == st.st_nlink &&
		   x.uid == st.st_uid && x.gid == st.st_gid && x.size == (uint64_t)st.st_size && x.blocks == (uint64_t)st.st_blocks &&
		   x.blksize == st.st_blksize && x.mtime.sec == st.st_mtim.tv_sec && x.mtime.nsec == st.st_mtim.tv_nsec &&
		   x.ctime.sec == st.st_ctim.tv_sec && x.atime.sec == st.st_atim.tv_sec && makedev(x.dev_major, x.dev_minor) == st.st_dev &&
		   makedev(x.rdev_major, x.rdev_minor) == st.st_rdev;
	printf("statx and fstatat agree on %s: %s\n", what, same ? "yes" : "no");
	if (!same)
		failures++;
}

static void statxes(void)
{
	close(make("sx", "statx me"));
	compare_statx("a file", AT_FDCWD, at("sx"), 0);
	compare_statx("a directory", AT_FDCWD, dir, 0);
	compare_statx("/dev/null", AT_FDCWD, "/dev/null", 0);
	symlink("sx", at("sxl"));
	compare_statx("a symlink (AT_SYMLINK_NOFOLLOW)", AT_FDCWD, at("sxl"), AT_SYMLINK_NOFOLLOW);
	int p[2];
	if (pipe(p) == 0) {
		compare_statx("a pipe (AT_EMPTY_PATH)", p[0], "", AT_EMPTY_PATH);
		close(p[0]);
		close(p[1]);
	}
	struct sx x;
	EXPECT_ERR(syscall(NR_STATX, AT_FDCWD, at("missing"), 0, 0x7ff, &x), ENOENT, "statx of a missing file");
	unlink(at("sxl"));
	unlink(at("sx"));
}

static void show(const char *name)
{
	char buf[32] = { 0 };
	struct stat st;
	if (lstat(at(name), &st) != 0) {
		printf("  %s: missing\n", name);
		return;
	}
	if (S_ISDIR(st.st_mode)) {
		printf("  %s: a directory\n", name);
		return;
	}
	int fd = open(at(name), O_RDONLY);
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	printf("  %s: \"%.*s\"\n", name, n > 0 ? (int)n : 0, buf);
}

static void exchanges(void)
{
	close(make("a", "first"));
	close(make("b", "second"));
	check(syscall(NR_RENAMEAT2, AT_FDCWD, at("a"), AT_FDCWD, at("b"), RENAME_EXCHANGE) == 0, "renameat2(RENAME_EXCHANGE) of two files");
	show("a");
	show("b");
	mkdir(at("d"), 0755);
	check(syscall(NR_RENAMEAT2, AT_FDCWD, at("a"), AT_FDCWD, at("d"), RENAME_EXCHANGE) == 0, "RENAME_EXCHANGE of a file and a directory");
	show("a");
	show("d");
	EXPECT_ERR(syscall(NR_RENAMEAT2, AT_FDCWD, at("b"), AT_FDCWD, at("missing"), RENAME_EXCHANGE), ENOENT, "RENAME_EXCHANGE with a missing name");
	EXPECT_ERR(syscall(NR_RENAMEAT2, AT_FDCWD, at("b"), AT_FDCWD, at("d"), RENAME_EXCHANGE | RENAME_NOREPLACE), EINVAL,
		   "RENAME_EXCHANGE|RENAME_NOREPLACE");
	EXPECT_ERR(syscall(NR_RENAMEAT2, AT_FDCWD, at("b"), AT_FDCWD, at("d"), RENAME_NOREPLACE), EEXIST, "RENAME_NOREPLACE onto a name");
	int dfd = open(dir, O_RDONLY | O_DIRECTORY);
	check(syscall(NR_RENAMEAT2, dfd, "b", dfd, "d", RENAME_EXCHANGE) == 0, "RENAME_EXCHANGE relative to a dirfd");
	close(dfd);
	show("b");
	show("d");
	unlink(at("b"));
	rmdir(at("a"));
	unlink(at("d"));
}

int main(void)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	const char *tmp = getenv("NOMMU_TEST_TMPDIR");
	snprintf(dir, sizeof dir, "%s/calls.%d", tmp && *tmp ? tmp : "/tmp", (int)getpid());
	if (mkdir(dir, 0755) != 0) {
		printf("FAIL mkdir %s: %s\n", dir, errname(errno));
		return 1;
	}
	times();
	vectors2();
	limits();
	xattrs();
	fs_types();
	tmpfiles();
	seeks();
	statxes();
	exchanges();
	rmdir(dir);
	if (failures) {
		printf("file_calls: %d failures\n", failures);
		return 1;
	}
	printf("file_calls ok\n");
	return 0;
}
