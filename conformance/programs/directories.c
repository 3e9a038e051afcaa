/* Directories in $NOMMU_TEST_TMPDIR (default /tmp): mkdir/rmdir, getdents64
 * listings (sorted here), rename of files and directories, link counts,
 * chdir/fchdir/getcwd, the *at calls with dirfds, O_DIRECTORY,
 * symlink/readlink/lstat and utimensat. Paths are printed relative to the
 * scratch directory. Exit 1 if any check fails. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "expect.h"

static char root[4096];

static const char *at(const char *rel)
{
	static char bufs[4][4400];
	static int i;
	char *b = bufs[i++ & 3];
	snprintf(b, sizeof bufs[0], "%s/%s", root, rel);
	return b;
}

static int cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

struct linux_dirent64 {
	unsigned long long d_ino;
	long long d_off;
	unsigned short d_reclen;
	unsigned char d_type;
	char d_name[];
};

static const char *type_name(unsigned t)
{
	switch (t) {
	case DT_REG: return "reg";
	case DT_DIR: return "dir";
	case DT_LNK: return "lnk";
	case DT_FIFO: return "fifo";
	case DT_UNKNOWN: return "unknown";
	default: return "other";
	}
}

/* Lists a directory with raw getdents64 in small reads, sorted by name. */
static void list(const char *rel)
{
	int fd = open(at(rel), O_RDONLY | O_DIRECTORY);
	if (fd < 0) {
		printf("FAIL list %s -> %s\n", rel, errname(errno));
		failures++;
		return;
	}
	char *names[64];
	int n = 0;
	char buf[96]; /* small, so a listing takes several calls */
	long r;
	while ((r = syscall(SYS_getdents64, fd, buf, sizeof buf)) > 0) {
		for (long off = 0; off < r;) {
			struct linux_dirent64 *d = (struct linux_dirent64 *)(buf + off);
			if (n < 64) {
				char *s = malloc(300);
				snprintf(s, 300, "%s:%s", d->d_name, type_name(d->d_type));
				names[n++] = s;
			}
			off += d->d_reclen;
		}
	}
	if (r < 0) {
		printf("FAIL getdents64 %s -> %s\n", rel, errname(errno));
		failures++;
	}
	qsort(names, n, sizeof names[0], cmp);
	printf("list %s:", rel);
	for (int i = 0; i < n; i++) {
		printf(" %s", names[i]);
		free(names[i]);
	}
	printf("\n");
	close(fd);
}

static long nlink(const char *rel)
{
	struct stat st;
	if (lstat(at(rel), &st) != 0)
		return -1;
	return (long)st.st_nlink;
}

static void put(const char *rel, const char *text)
{
	int fd = open(at(rel), O_WRONLY | O_CREAT | O_TRUNC, 0644);
	check(fd >= 0 && write(fd, text, strlen(text)) == (ssize_t)strlen(text) && close(fd) == 0, rel);
}

static void mkdirs(void)
{
	check(mkdir(at("a"), 0755) == 0, "mkdir a");
	check(mkdir(at("a/b"), 0700) == 0, "mkdir a/b");
	check(mkdir(at("a/b/c"), 0750) == 0, "mkdir a/b/c");
	put("a/f1", "one\n");
	put("a/f2", "two\n");
	struct stat st;
	check(stat(at("a/b"), &st) == 0 && S_ISDIR(st.st_mode), "stat a/b is a directory");
	printf("a/b mode %04o\n", (unsigned)(st.st_mode & 07777));
	check(stat(at("a/b/c"), &st) == 0, "stat a/b/c");
	printf("a/b/c mode %04o\n", (unsigned)(st.st_mode & 07777));
	printf("nlink: a=%ld a/b=%ld a/b/c=%ld a/f1=%ld\n", nlink("a"), nlink("a/b"), nlink("a/b/c"),
	       nlink("a/f1"));
	list("a");
	list("a/b/c");
	EXPECT_ERR(rmdir(at("a")), ENOTEMPTY, "rmdir a non-empty directory");
	EXPECT_ERR(rmdir(at("a/b")), ENOTEMPTY, "rmdir a directory holding only a directory");
	EXPECT_ERR(rmdir(at("a/b/c/.")), EINVAL, "rmdir a path ending in .");
	EXPECT_ERR(rmdir(at("a/b/c/..")), ENOTEMPTY, "rmdir a path ending in ..");
	EXPECT_ERR(mkdir(at("a/b"), 0700), EEXIST, "mkdir an existing directory");

	/* many entries, so getdents64 needs many calls */
	check(mkdir(at("many"), 0755) == 0, "mkdir many");
	for (int i = 0; i < 40; i++) {
		char rel[64];
		snprintf(rel, sizeof rel, "many/entry-%02d-with-a-longish-name", i);
		int fd = open(at(rel), O_WRONLY | O_CREAT, 0644);
		if (fd >= 0)
			close(fd);
	}
	list("many");
	for (int i = 0; i < 40; i += 2) {
		char rel[64];
		snprintf(rel, sizeof rel, "many/entry-%02d-with-a-longish-name", i);
		unlink(at(rel));
	}
	list("many");
}

static void links(void)
{
	check(link(at("a/f1"), at("a/f1-link")) == 0, "link a/f1 a/f1-link");
	printf("nlink: a/f1=%ld a/f1-link=%ld\n", nlink("a/f1"), nlink("a/f1-link"));
	struct stat s1, s2;
	check(stat(at("a/f1"), &s1) == 0 && stat(at("a/f1-link"), &s2) == 0 && s1.st_ino == s2.st_ino,
	      "hard links share the inode");
	check(unlink(at("a/f1-link")) == 0, "unlink a/f1-link");
	printf("nlink: a/f1=%ld\n", nlink("a/f1"));
	EXPECT_ERR(link(at("a/b"), at("a/b-link")), EPERM, "link a directory");

	check(symlink("f2", at("a/sym")) == 0, "symlink f2 a/sym");
	check(symlink("missing-target", at("a/dangling")) == 0, "symlink to a missing target");
	check(symlink("b/c", at("a/dirsym")) == 0, "symlink b/c a/dirsym");
	char buf[256];
	ssize_t n = readlink(at("a/sym"), buf, sizeof buf);
	printf("readlink a/sym -> %.*s (%zd)\n", n > 0 ? (int)n : 0, buf, n);
	n = readlink(at("a/sym"), buf, 1);
	printf("readlink a/sym into 1 byte -> %.*s (%zd)\n", n > 0 ? (int)n : 0, buf, n);
	struct stat st;
	check(lstat(at("a/sym"), &st) == 0 && S_ISLNK(st.st_mode) && st.st_size == 2, "lstat a/sym: link of size 2");
	check(stat(at("a/sym"), &st) == 0 && S_ISREG(st.st_mode) && st.st_size == 4, "stat a/sym: the file f2");
	check(stat(at("a/dirsym"), &st) == 0 && S_ISDIR(st.st_mode), "stat a/dirsym: a directory");
	EXPECT_ERR(stat(at("a/dangling"), &st), ENOENT, "stat a dangling symlink");
	check(lstat(at("a/dangling"), &st) == 0 && S_ISLNK(st.st_mode), "lstat a dangling symlink");
	EXPECT_ERR(readlink(at("a/f2"), buf, sizeof buf), EINVAL, "readlink a regular file");
	EXPECT_ERR(open(at("a/sym"), O_RDONLY | O_NOFOLLOW), ELOOP, "O_NOFOLLOW on a symlink");
	int fd = open(at("a/sym"), O_RDONLY);
	n = fd >= 0 ? read(fd, buf, sizeof buf) : -1;
	check(n == 4 && memcmp(buf, "two\n", 4) == 0, "read through a/sym");
	if (fd >= 0)
		close(fd);
	list("a");
	check(unlink(at("a/dangling")) == 0, "unlink the dangling symlink");
	check(lstat(at("a/f2"), &st) == 0, "a/f2 outlives its symlink's siblings");
}

static void renames(void)
{
	struct stat st;
	check(rename(at("a/f1"), at("a/f1-renamed")) == 0, "rename a file");
	EXPECT_ERR(stat(at("a/f1"), &st), ENOENT, "the old name is gone");
	put("a/victim", "victim\n");
	check(rename(at("a/f1-renamed"), at("a/victim")) == 0, "rename a file over an existing file");
	char buf[16];
	int fd = open(at("a/victim"), O_RDONLY);
	ssize_t n = fd >= 0 ? read(fd, buf, sizeof buf) : -1;
	check(n == 4 && memcmp(buf, "one\n", 4) == 0, "the target now holds the renamed file");
	if (fd >= 0)
		close(fd);
	check(rename(at("a/victim"), at("a/victim")) == 0, "rename a file onto itself");

	check(mkdir(at("d1"), 0755) == 0 && mkdir(at("d1/inner"), 0755) == 0, "mkdir d1 d1/inner");
	check(mkdir(at("empty"), 0755) == 0, "mkdir empty");
	printf("nlink before: root=%ld d1=%ld\n", nlink("."), nlink("d1"));
	check(rename(at("d1"), at("empty")) == 0, "rename a directory over an empty directory");
	check(stat(at("empty/inner"), &st) == 0 && S_ISDIR(st.st_mode), "its subdirectory came along");
	printf("nlink after: root=%ld empty=%ld\n", nlink("."), nlink("empty"));
	check(rename(at("empty/inner"), at("a/moved")) == 0, "move a directory to another parent");
	printf("nlink after move: empty=%ld a=%ld\n", nlink("empty"), nlink("a"));
	EXPECT_ERR(rename(at("a"), at("a/b/c/inside")), EINVAL, "rename a directory into its own subdirectory");
	EXPECT_ERR(rename(at("empty"), at("a")), ENOTEMPTY, "rename over a non-empty directory");
	EXPECT_ERR(rename(at("a/f2"), at("a/b")), EISDIR, "rename a file over a directory");
	EXPECT_ERR(rename(at("a/b"), at("a/f2")), ENOTDIR, "rename a directory over a file");
	EXPECT_ERR(rename(at("a/nothing"), at("a/x")), ENOENT, "rename a missing file");
	EXPECT_ERR(rename(at("a/f2"), at("a/nothing/x")), ENOENT, "rename into a missing directory");
	/* RENAME_NOREPLACE is 1; this musl has no renameat2() wrapper */
	EXPECT_ERR(syscall(SYS_renameat2, AT_FDCWD, at("a/f2"), AT_FDCWD, at("a/sym"), 1), EEXIST,
		   "renameat2 RENAME_NOREPLACE onto an existing name");
	list("a");
	list("empty");
}

static void cwd(void)
{
	char start[4096], buf[4096];
	check(getcwd(start, sizeof start) != NULL, "getcwd");
	check(chdir(root) == 0, "chdir to the scratch directory");
	char real[4096];
	check(realpath(root, real) != NULL, "realpath of the scratch directory");
	check(getcwd(buf, sizeof buf) != NULL && strcmp(buf, real) == 0, "getcwd is the scratch directory");
	check(chdir("a/b") == 0, "chdir a/b (relative)");
	check(getcwd(buf, sizeof buf) != NULL && strcmp(buf + strlen(real), "/a/b") == 0, "getcwd ends in /a/b");
	check(chdir("..") == 0 && getcwd(buf, sizeof buf) != NULL && strcmp(buf + strlen(real), "/a") == 0,
	      "chdir .. gives /a");
	struct stat st;
	check(stat("f2", &st) == 0, "relative stat after chdir");
	int dfd = open("b/c", O_RDONLY | O_DIRECTORY);
	check(dfd >= 0, "open b/c O_DIRECTORY");
	check(chdir("/") == 0 && fchdir(dfd) == 0, "fchdir to b/c");
	check(getcwd(buf, sizeof buf) != NULL && strcmp(buf + strlen(real), "/a/b/c") == 0, "getcwd ends in /a/b/c");
	EXPECT_ERR(syscall(SYS_getcwd, buf, 3), ERANGE, "getcwd into 3 bytes");
	close(dfd);
	int ffd = open(at("a/f2"), O_RDONLY);
	EXPECT_ERR(fchdir(ffd), ENOTDIR, "fchdir to a file");
	close(ffd);
	EXPECT_ERR(fchdir(-1), EBADF, "fchdir -1");
	EXPECT_ERR(chdir(at("a/nothing")), ENOENT, "chdir to a missing directory");
	check(chdir(start) == 0, "chdir back");
}

static void atcalls(void)
{
	int dfd = open(at("a"), O_RDONLY | O_DIRECTORY);
	check(dfd >= 0, "open a O_DIRECTORY");
	check(mkdirat(dfd, "at-dir", 0700) == 0, "mkdirat a/at-dir");
	int fd = openat(dfd, "at-dir/at-file", O_WRONLY | O_CREAT | O_EXCL, 0600);
	check(fd >= 0 && write(fd, "at\n", 3) == 3 && close(fd) == 0, "openat a/at-dir/at-file");
	struct stat st;
	check(fstatat(dfd, "at-dir/at-file", &st, 0) == 0 && st.st_size == 3 && (st.st_mode & 0777) == 0600,
	      "fstatat the new file: size 3, mode 0600");
	check(fstatat(dfd, "sym", &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode), "fstatat AT_SYMLINK_NOFOLLOW");
	check(fstatat(dfd, "", &st, AT_EMPTY_PATH) == 0 && S_ISDIR(st.st_mode), "fstatat AT_EMPTY_PATH on the dirfd");
	check(fstatat(dfd, at("a/f2"), &st, 0) == 0, "fstatat ignores the dirfd for an absolute path");
	check(faccessat(dfd, "at-dir/at-file", R_OK | W_OK, 0) == 0, "faccessat");
	check(symlinkat("at-file", dfd, "at-dir/at-sym") == 0, "symlinkat");
	char buf[64];
	ssize_t n = readlinkat(dfd, "at-dir/at-sym", buf, sizeof buf);
	printf("readlinkat -> %.*s\n", n > 0 ? (int)n : 0, buf);
	check(linkat(dfd, "at-dir/at-file", dfd, "at-hard", 0) == 0, "linkat");
	check(renameat(dfd, "at-hard", dfd, "at-dir/at-hard") == 0, "renameat");
	list("a/at-dir");
	EXPECT_ERR(unlinkat(dfd, "at-dir", 0), EISDIR, "unlinkat a directory without AT_REMOVEDIR");
	EXPECT_ERR(unlinkat(dfd, "at-dir", AT_REMOVEDIR), ENOTEMPTY, "unlinkat AT_REMOVEDIR non-empty");
	EXPECT_ERR(unlinkat(dfd, "f2", AT_REMOVEDIR), ENOTDIR, "unlinkat AT_REMOVEDIR a file");
	check(unlinkat(dfd, "at-dir/at-file", 0) == 0 && unlinkat(dfd, "at-dir/at-sym", 0) == 0 &&
		      unlinkat(dfd, "at-dir/at-hard", 0) == 0,
	      "unlinkat the files");
	check(unlinkat(dfd, "at-dir", AT_REMOVEDIR) == 0, "unlinkat AT_REMOVEDIR the empty directory");
	int ffd = openat(dfd, "f2", O_RDONLY);
	EXPECT_ERR(openat(ffd, "x", O_RDONLY), ENOTDIR, "openat relative to a file fd");
	check(openat(ffd, at("a/f2"), O_RDONLY) >= 0, "openat with an absolute path ignores a file fd");
	close(ffd);
	EXPECT_ERR(openat(-1, "x", O_RDONLY), EBADF, "openat relative to fd -1");
	EXPECT_ERR(mkdirat(12345, "x", 0700), EBADF, "mkdirat relative to a closed fd");
	EXPECT_ERR(open(at("a/f2"), O_RDONLY | O_DIRECTORY), ENOTDIR, "O_DIRECTORY on a file");
	EXPECT_ERR(open(at("a/dirsym"), O_RDONLY | O_DIRECTORY | O_NOFOLLOW), ENOTDIR, "O_DIRECTORY|O_NOFOLLOW on a symlink");
	fd = open(at("a/dirsym"), O_RDONLY | O_DIRECTORY);
	check(fd >= 0, "O_DIRECTORY through a symlink to a directory");
	close(fd);
	close(dfd);
}

static void times(void)
{
	/* Fractions exact in binary: nommu sets times through Node, in seconds as a double. */
	const struct timespec ts[2] = {{1000000000, 500000000}, {1234567890, 250000000}};
	check(utimensat(AT_FDCWD, at("a/f2"), ts, 0) == 0, "utimensat fixed times");
	struct stat st;
	check(stat(at("a/f2"), &st) == 0, "stat a/f2");
	printf("atime %lld.%09ld mtime %lld.%09ld\n", (long long)st.st_atim.tv_sec, st.st_atim.tv_nsec,
	       (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
	const struct timespec omit[2] = {{0, UTIME_OMIT}, {42, 0}};
	check(utimensat(AT_FDCWD, at("a/f2"), omit, 0) == 0 && stat(at("a/f2"), &st) == 0, "utimensat UTIME_OMIT atime");
	printf("atime %lld.%09ld mtime %lld.%09ld\n", (long long)st.st_atim.tv_sec, st.st_atim.tv_nsec,
	       (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
	const struct timespec lts[2] = {{7, 0}, {8, 0}};
	check(utimensat(AT_FDCWD, at("a/sym"), lts, AT_SYMLINK_NOFOLLOW) == 0, "utimensat AT_SYMLINK_NOFOLLOW");
	struct stat lst;
	check(lstat(at("a/sym"), &lst) == 0 && stat(at("a/sym"), &st) == 0, "lstat and stat a/sym");
	printf("link mtime %lld, target mtime %lld\n", (long long)lst.st_mtim.tv_sec, (long long)st.st_mtim.tv_sec);
	int fd = open(at("a/f2"), O_RDONLY);
	const struct timespec fts[2] = {{5, 500000000}, {6, 0}};
	check(fd >= 0 && futimens(fd, fts) == 0 && fstat(fd, &st) == 0, "futimens");
	printf("atime %lld.%09ld mtime %lld.%09ld\n", (long long)st.st_atim.tv_sec, st.st_atim.tv_nsec,
	       (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
	close(fd);
	const struct timespec bad[2] = {{0, 1000000000}, {0, 0}};
	EXPECT_ERR(utimensat(AT_FDCWD, at("a/f2"), bad, 0), EINVAL, "utimensat tv_nsec 1e9");
	EXPECT_ERR(utimensat(AT_FDCWD, at("a/nothing"), ts, 0), ENOENT, "utimensat a missing file");
}

static void cleanup(void)
{
	const char *files[] = {"a/sym", "a/dirsym", "a/f2", "a/victim", NULL};
	for (int i = 0; files[i]; i++)
		check(unlink(at(files[i])) == 0, files[i]);
	const char *dirs[] = {"a/moved", "a/b/c", "a/b", "a", "empty", NULL};
	for (int i = 0; dirs[i]; i++)
		check(rmdir(at(dirs[i])) == 0, dirs[i]);
	for (int i = 1; i < 40; i += 2) {
		char rel[64];
		snprintf(rel, sizeof rel, "many/entry-%02d-with-a-longish-name", i);
		unlink(at(rel));
	}
	check(rmdir(at("many")) == 0, "many");
	list(".");
	check(rmdir(root) == 0, "rmdir the scratch directory");
}

int main(void)
{
	const char *base = getenv("NOMMU_TEST_TMPDIR");
	if (!base || !*base)
		base = "/tmp";
	snprintf(root, sizeof root, "%s/nommu-directories-%ld", base, (long)getpid());
	umask(022);
	if (mkdir(root, 0755) != 0) {
		printf("FAIL create scratch directory -> %s\n", errname(errno));
		return 1;
	}
	mkdirs();
	links();
	renames();
	cwd();
	atcalls();
	times();
	cleanup();
	printf("%s\n", failures ? "directories FAILED" : "directories ok");
	return failures ? 1 : 0;
}
