/* Mounts and the filesystem context of a process: mount(2) of a tmpfs (with
 * options, stacked, read-only, remounted), bind mounts (recursive or not,
 * remounted read-only per mount), a second view of /proc, propagation flags,
 * umount2 (EBUSY, MNT_DETACH, UMOUNT_NOFOLLOW) and /proc/self/mounts and
 * mountinfo listing them; chroot in a forked child ('..' at the root,
 * absolute symlinks, openat from outside, getcwd's "(unreachable)", /proc
 * links, exec and its interpreter inside); clone(CLONE_FS), clone with
 * CLONE_SIGHAND, CLONE_FILES, and unshare. Runs as root natively: everything
 * happens inside $NOMMU_TEST_TMPDIR, in a private mount namespace when the
 * kernel has them (not printed: nommu has none), and is unmounted on the way
 * out. Raw syscalls for getcwd (libcs refuse its "(unreachable)" answer). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"

#ifndef MNT_DETACH
#define MNT_DETACH 2
#endif
#ifndef UMOUNT_NOFOLLOW
#define UMOUNT_NOFOLLOW 8
#endif
#ifndef MNT_EXPIRE
#define MNT_EXPIRE 4
#endif
#define TMPFS_MAGIC 0x01021994

static char dir[2048];

static const char *at(const char *name)
{
	static char bufs[8][4096];
	static int n;
	char *b = bufs[n++ % 8];
	snprintf(b, sizeof bufs[0], "%s/%s", dir, name);
	return b;
}

static void expect_err(long r, int e, const char *what)
{
	char line[512];
	if (r == -1)
		snprintf(line, sizeof line, "%s: %s", what, errname(errno));
	else
		snprintf(line, sizeof line, "%s: succeeded (%ld)", what, r);
	printf("%s\n", line);
	if (!(r == -1 && errno == e)) {
		printf("FAIL expected %s\n", errname(e));
		failures++;
	}
}

static int put(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		return -1;
	ssize_t n = write(fd, text, strlen(text));
	close(fd);
	return n == (ssize_t)strlen(text) ? 0 : -1;
}

static int reads(const char *path, const char *text)
{
	char buf[256];
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n < 0)
		return 0;
	buf[n] = 0;
	return strcmp(buf, text) == 0;
}

static int exists(const char *path)
{
	struct stat st;
	return lstat(path, &st) == 0;
}

/* The line of /proc/self/mounts (or the file given) whose mount point is `target`:
 * its type and first option ("rw"/"ro") in `out`; 0 when absent. Counts matches. */
static int mount_line(const char *file, const char *target, char *type, char *opt)
{
	FILE *f = fopen(file, "r");
	if (!f)
		return -1;
	char line[4096], src[4096], mp[4096], ty[256], opts[1024];
	int found = 0;
	while (fgets(line, sizeof line, f)) {
		if (sscanf(line, "%4095s %4095s %255s %1023s", src, mp, ty, opts) != 4)
			continue;
		if (strcmp(mp, target) != 0)
			continue;
		found++;
		if (type)
			strcpy(type, ty);
		if (opt) {
			opts[2] = 0;
			strcpy(opt, opts);
		}
	}
	fclose(f);
	return found;
}

/* mountinfo: the fstype after " - " on the last line whose mount point is `target`, or "". */
static void mountinfo_type(const char *target, char *type)
{
	FILE *f = fopen("/proc/self/mountinfo", "r");
	type[0] = 0;
	if (!f)
		return;
	char line[8192];
	while (fgets(line, sizeof line, f)) {
		char root[4096], mp[4096];
		int id, parent;
		unsigned maj, min;
		if (sscanf(line, "%d %d %u:%u %4095s %4095s", &id, &parent, &maj, &min, root, mp) != 6)
			continue;
		if (strcmp(mp, target) != 0)
			continue;
		char *sep = strstr(line, " - ");
		if (sep)
			sscanf(sep + 3, "%255s", type);
	}
	fclose(f);
}

/* How many lines of /proc/self/mounts have `target` as mount point, and the last one's type (with_type) and rw/ro. */
static void show_mount_as(const char *label, const char *target, int with_type)
{
	char type[256] = "", opt[16] = "";
	int n = mount_line("/proc/self/mounts", target, type, opt);
	if (n <= 0)
		printf("%s in /proc/self/mounts: %d\n", label, n);
	else
		printf("%s in /proc/self/mounts: %d %s%s%s\n", label, n, with_type ? type : "", with_type ? " " : "", opt);
}

static void show_mount(const char *label, const char *target)
{
	show_mount_as(label, target, 1);
}

static long raw_getcwd(char *buf, size_t size)
{
	return syscall(SYS_getcwd, buf, size);
}

/* Every mount this program may make, deepest first: unmounted whatever happened. */
static void cleanup(void)
{
	const char *targets[] = { "a/proc", "b/sub", "a/sub", "b", "t", "t", "t", "p", NULL };
	for (int i = 0; targets[i]; i++)
		umount2(at(targets[i]), MNT_DETACH);
	rmdir(at("a/proc"));
}

static void errors(void)
{
	expect_err(mount("none", at("missing"), "tmpfs", 0, NULL), ENOENT, "mount tmpfs on a missing directory");
	expect_err(mount("none", at("t"), "nosuchfs", 0, NULL), ENODEV, "mount of an unknown type");
	expect_err(mount("none", at("a/file"), "tmpfs", 0, NULL), ENOTDIR, "mount tmpfs on a file");
	expect_err(mount("none", at("t"), "tmpfs", 0, "nosuchoption=1"), EINVAL, "tmpfs with an unknown option");
	expect_err(mount(NULL, at("t"), NULL, MS_REMOUNT | MS_RDONLY, NULL), EINVAL, "remount of a directory that is no mount point");
	expect_err(mount(NULL, at("t"), NULL, MS_PRIVATE, NULL), EINVAL, "MS_PRIVATE on a directory that is no mount point");
	expect_err(mount(at("missing"), at("b"), NULL, MS_BIND, NULL), ENOENT, "bind of a missing source");
	expect_err(mount(at("a/file"), at("b"), NULL, MS_BIND, NULL), ENOTDIR, "bind of a file onto a directory");
	expect_err(umount2(at("a"), 0), EINVAL, "umount2 of a directory that is no mount point");
	expect_err(umount2(at("missing"), 0), ENOENT, "umount2 of a missing name");
	expect_err(umount2(at("t"), 0x100), EINVAL, "umount2 with an unknown flag");
	expect_err(umount2(at("t"), MNT_EXPIRE | MNT_DETACH), EINVAL, "umount2 MNT_EXPIRE|MNT_DETACH");
	expect_err(chroot(at("missing")), ENOENT, "chroot to a missing directory");
	expect_err(chroot(at("a/file")), ENOTDIR, "chroot to a file");
	expect_err(syscall(SYS_unshare, 0x1), EINVAL, "unshare with an unknown flag");
}

static void tmpfs(void)
{
	struct stat st, parent;
	stat(dir, &parent);
	check(mount("none", at("t"), "tmpfs", 0, "size=1m,mode=0750") == 0, "mount -t tmpfs -o size=1m,mode=0750");
	check(stat(at("t"), &st) == 0 && (st.st_mode & 07777) == 0750 && S_ISDIR(st.st_mode), "the tmpfs root has mode 0750");
	check(st.st_dev != parent.st_dev, "the tmpfs has its own st_dev");
	struct statfs sf;
	check(statfs(at("t"), &sf) == 0 && sf.f_type == TMPFS_MAGIC, "statfs: TMPFS_MAGIC");
	show_mount("the tmpfs", at("t"));
	char type[256];
	mountinfo_type(at("t"), type);
	printf("the tmpfs in /proc/self/mountinfo: %s\n", type);
	check(put(at("t/one"), "one\n") == 0 && reads(at("t/one"), "one\n"), "a file written in the tmpfs reads back");
	expect_err(rename(at("t/one"), at("one")), EXDEV, "rename out of the tmpfs");
	expect_err(rmdir(at("t")), EBUSY, "rmdir of the mount point");

	/* Busy: an open file, a working directory. */
	int fd = open(at("t/one"), O_RDONLY);
	expect_err(umount2(at("t"), 0), EBUSY, "umount2 with a file open on it");
	close(fd);
	int here = open(".", O_RDONLY | O_DIRECTORY);
	check(chdir(at("t")) == 0, "chdir into the tmpfs");
	expect_err(umount2(at("t"), 0), EBUSY, "umount2 of the working directory's mount");
	check(fchdir(here) == 0, "back to the first working directory");
	close(here);

	/* Read-only, then writable again. */
	check(mount(NULL, at("t"), NULL, MS_REMOUNT | MS_RDONLY, NULL) == 0, "mount -o remount,ro");
	show_mount("the tmpfs remounted", at("t"));
	expect_err(open(at("t/two"), O_WRONLY | O_CREAT, 0644), EROFS, "create in a read-only tmpfs");
	expect_err(mkdir(at("t/d"), 0755), EROFS, "mkdir in a read-only tmpfs");
	expect_err(unlink(at("t/one")), EROFS, "unlink in a read-only tmpfs");
	expect_err(open(at("t/one"), O_WRONLY), EROFS, "open for writing in a read-only tmpfs");
	check(reads(at("t/one"), "one\n"), "read-only: still readable");
	check(mount(NULL, at("t"), NULL, MS_REMOUNT, NULL) == 0, "mount -o remount,rw");
	check(put(at("t/two"), "two\n") == 0, "writable again");

	/* Propagation types: one each is fine, two at once are not. */
	check(mount(NULL, at("t"), NULL, MS_SHARED, NULL) == 0, "MS_SHARED");
	check(mount(NULL, at("t"), NULL, MS_SLAVE, NULL) == 0, "MS_SLAVE");
	check(mount(NULL, at("t"), NULL, MS_PRIVATE | MS_REC, NULL) == 0, "MS_PRIVATE|MS_REC");
	expect_err(mount(NULL, at("t"), NULL, MS_PRIVATE | MS_SHARED, NULL), EINVAL, "MS_PRIVATE|MS_SHARED");

	/* Stacked: a second tmpfs hides the first until it goes. */
	check(mount("none", at("t"), "tmpfs", 0, NULL) == 0, "a second tmpfs on the same point");
	check(!exists(at("t/one")), "the first one's files are hidden");
	check(stat(at("t"), &st) == 0 && (st.st_mode & 07777) == 01777, "the second tmpfs root has mode 1777");
	printf("mounts on the point: %d\n", mount_line("/proc/self/mounts", at("t"), NULL, NULL));
	check(umount2(at("t"), 0) == 0, "umount2 of the second");
	check(reads(at("t/one"), "one\n"), "the first one's files are back");

	/* A read-only mount from the start. */
	check(mount("none", at("t"), "tmpfs", MS_RDONLY, NULL) == 0, "mount -t tmpfs -o ro");
	show_mount("the read-only tmpfs", at("t"));
	expect_err(open(at("t/x"), O_WRONLY | O_CREAT, 0644), EROFS, "create in it");
	check(umount2(at("t"), 0) == 0, "umount2 of it");

	/* Through a symlink: followed unless UMOUNT_NOFOLLOW. */
	check(symlink(at("t"), at("tlink")) == 0, "a symlink to the mount point");
	expect_err(umount2(at("tlink"), UMOUNT_NOFOLLOW), EINVAL, "umount2 UMOUNT_NOFOLLOW of the symlink");
	fd = open(at("t/one"), O_RDONLY);
	check(umount2(at("tlink"), MNT_DETACH) == 0, "umount2 MNT_DETACH through the symlink, a file open");
	char buf[16] = "";
	check(read(fd, buf, sizeof buf) == 4 && memcmp(buf, "one\n", 4) == 0, "the open file still reads");
	close(fd);
	check(!exists(at("t/one")), "the name is gone");
	show_mount("the unmounted tmpfs", at("t"));
	unlink(at("tlink"));
}

static void binds(void)
{
	struct stat sa, sb, fa, fb;
	check(mount(at("a"), at("b"), NULL, MS_BIND, NULL) == 0, "bind a onto b");
	check(reads(at("b/file"), "hello\n"), "b/file reads a's file");
	check(stat(at("a"), &sa) == 0 && stat(at("b"), &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino, "b is a: same st_dev and st_ino");
	check(stat(at("a/file"), &fa) == 0 && stat(at("b/file"), &fb) == 0 && fa.st_ino == fb.st_ino, "the same file");
	check(put(at("b/new"), "new\n") == 0 && reads(at("a/new"), "new\n"), "a file made through b is in a");
	/* (Its type is the scratch directory's filesystem's: the host's, not compared.) */
	show_mount_as("the bind mount", at("b"), 0);
	expect_err(rmdir(at("b")), EBUSY, "rmdir of the bind mount point");

	check(mount(NULL, at("b"), NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL) == 0, "mount -o remount,bind,ro");
	show_mount_as("the bind mount remounted", at("b"), 0);
	expect_err(open(at("b/file"), O_WRONLY), EROFS, "write through the read-only bind");
	expect_err(unlink(at("b/new")), EROFS, "unlink through it");
	expect_err(rename(at("b/new"), at("b/new2")), EROFS, "rename through it");
	int fd = open(at("a/file"), O_WRONLY | O_APPEND);
	check(fd >= 0, "a itself stays writable");
	close(fd);
	check(umount2(at("b"), 0) == 0, "umount2 of the bind mount");
	check(!exists(at("b/file")), "b is empty again");
	unlink(at("a/new"));

	/* Recursive or not: a tmpfs below a. */
	check(mount("none", at("a/sub"), "tmpfs", 0, NULL) == 0, "a tmpfs on a/sub");
	check(put(at("a/sub/x"), "x\n") == 0, "a file in it");
	check(mount(at("a"), at("b"), NULL, MS_BIND, NULL) == 0, "bind a onto b (not recursive)");
	check(!exists(at("b/sub/x")), "the tmpfs below is not there");
	check(umount2(at("b"), 0) == 0, "umount2 b");
	check(mount(at("a"), at("b"), NULL, MS_BIND | MS_REC, NULL) == 0, "bind a onto b with MS_REC");
	check(reads(at("b/sub/x"), "x\n"), "the tmpfs below comes along");
	struct stat s1, s2;
	check(stat(at("a/sub"), &s1) == 0 && stat(at("b/sub"), &s2) == 0 && s1.st_dev == s2.st_dev, "the same tmpfs: same st_dev");
	show_mount("the recursive copy", at("b/sub"));
	expect_err(umount2(at("b"), 0), EBUSY, "umount2 b with a mount on it");
	check(umount2(at("b"), MNT_DETACH) == 0, "umount2 MNT_DETACH takes both");
	check(!exists(at("b/sub")), "b is empty again");
	show_mount("b/sub after it", at("b/sub"));
	check(umount2(at("a/sub"), 0) == 0, "umount2 a/sub");
}

static void procview(void)
{
	char buf[64], want[64];
	check(mount("proc", at("p"), "proc", 0, NULL) == 0, "mount -t proc on p");
	ssize_t n = readlink(at("p/self"), buf, sizeof buf - 1);
	snprintf(want, sizeof want, "%d", getpid());
	check(n > 0 && (buf[n] = 0, strcmp(buf, want) == 0), "p/self names this process");
	check(exists(at("p/self/status")), "p/self/status is there");
	show_mount("the proc view", at("p"));
	check(umount2(at("p"), 0) == 0, "umount2 p");
	check(!exists(at("p/self")), "p is empty again");
}

static int check_cwd(const char *label, const char *expect)
{
	char buf[4096];
	long n = raw_getcwd(buf, sizeof buf);
	int ok = n > 0 && strcmp(buf, expect) == 0;
	if (!ok)
		printf("  getcwd: %s\n", n > 0 ? buf : errname(errno));
	check(ok, label);
	return ok;
}

/* The program run in the chroot: where it is, as it sees itself. */
static int inside(void)
{
	char buf[4096];
	long n = raw_getcwd(buf, sizeof buf);
	printf("inside: getcwd %s\n", n > 0 ? buf : errname(errno));
	ssize_t m = readlink("/proc/self/exe", buf, sizeof buf - 1);
	printf("inside: /proc/self/exe %s\n", m > 0 ? (buf[m] = 0, buf) : errname(errno));
	m = readlink("/proc/self/root", buf, sizeof buf - 1);
	printf("inside: /proc/self/root %s\n", m > 0 ? (buf[m] = 0, buf) : errname(errno));
	printf("inside: /file %s\n", reads("/file", "hello\n") ? "reads hello" : "not found");
	return 0;
}

static void chrooted_child(void)
{
	char unreachable[4200], parent[4096];
	int out = open(dir, O_RDONLY | O_DIRECTORY);
	check(chdir(dir) == 0, "chdir to the scratch directory");
	check(chroot(at("a")) == 0, "chroot a");
	snprintf(unreachable, sizeof unreachable, "(unreachable)%s", dir);
	check_cwd("getcwd outside the root: (unreachable) and the path", unreachable);
	check(reads("/file", "hello\n"), "/file is a/file");
	check(reads("a/file", "hello\n"), "a relative name from outside still works");
	int fd = openat(out, "/file", O_RDONLY);
	check(fd >= 0, "openat(outside dirfd, \"/file\") starts at the new root");
	close(fd);
	check(chdir("..") == 0, "chdir .. from outside the root climbs on");
	snprintf(parent, sizeof parent, "%s", dir);
	*strrchr(parent, '/') = 0;
	snprintf(unreachable, sizeof unreachable, "(unreachable)%s", parent[0] ? parent : "/");
	check_cwd("getcwd: the parent, still unreachable", unreachable);
	check(chdir("/") == 0, "chdir /");
	check_cwd("getcwd: /", "/");
	struct stat r, up;
	check(stat("/", &r) == 0 && stat("/..", &up) == 0 && r.st_ino == up.st_ino && r.st_dev == up.st_dev, "/.. is /");
	check(reads("../../../file", "hello\n"), "../../../file is /file");
	check(reads("/abs", "hello\n"), "an absolute symlink resolves in the new root");
	check(reads("/dotdot/file", "hello\n"), "a symlink to ../.. stops at the root");
	check(!exists("/proc/self"), "no /proc in the new root");
	check(mkdir("/proc", 0755) == 0 || errno == EEXIST, "mkdir /proc");
	check(mount("proc", "/proc", "proc", 0, NULL) == 0, "mount proc on /proc inside");
	char buf[4096];
	ssize_t n = readlink("/proc/self/root", buf, sizeof buf - 1);
	printf("/proc/self/root: %s\n", n > 0 ? (buf[n] = 0, buf) : errname(errno));
	n = readlink("/proc/self/cwd", buf, sizeof buf - 1);
	printf("/proc/self/cwd: %s\n", n > 0 ? (buf[n] = 0, buf) : errname(errno));
	printf("mounts seen inside: %d\n", mount_line("/proc/self/mounts", "/proc", NULL, NULL));
	char type[256];
	mountinfo_type("/proc", type);
	printf("mountinfo inside: /proc %s\n", type);

	/* Inherited by fork, kept across exec: the program itself, copied in (a dynamic one finds no interpreter). */
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		char *argv[] = { "prog", "inside", NULL };
		execv("/prog", argv);
		printf("exec in the chroot: %s\n", errname(errno));
		fflush(stdout);
		_exit(0);
	}
	int status;
	check(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0, "the program in the chroot ran or was refused");
	check(umount2("/proc", 0) == 0, "umount2 /proc inside");
	rmdir("/proc");
	fflush(stdout);
	_exit(failures ? 1 : 0);
}

static int copy_self(const char *to)
{
	int in = open("/proc/self/exe", O_RDONLY);
	int out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0755);
	char buf[65536];
	ssize_t n;
	int ok = in >= 0 && out >= 0;
	while (ok && (n = read(in, buf, sizeof buf)) > 0)
		ok = write(out, buf, n) == n;
	close(in);
	close(out);
	return ok ? 0 : -1;
}

static void chroots(void)
{
	check(symlink("/file", at("a/abs")) == 0, "a/abs -> /file");
	check(symlink("../..", at("a/dotdot")) == 0, "a/dotdot -> ../..");
	check(copy_self(at("a/prog")) == 0, "the program copied into a");
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0)
		chrooted_child();
	int status;
	check(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0, "the chrooted child passed");
	umount2(at("a/proc"), MNT_DETACH);
	rmdir(at("a/proc"));
	check(reads(at("a/file"), "hello\n"), "this process keeps its root");
}

static int sighand_fn(void *arg)
{
	(void)arg;
	struct sigaction sa = { 0 };
	sa.sa_handler = SIG_IGN;
	sigaction(SIGUSR1, &sa, NULL);
	return 0;
}

static void shared(void)
{
	char cwd[4096];
	long n = raw_getcwd(cwd, sizeof cwd);
	check(n > 0, "getcwd");
	mode_t old = umask(022);

	/* Without CLONE_FS: a copy. */
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		int r = chdir(at("a"));
		umask(077);
		_exit(r == 0 ? 0 : 1);
	}
	int status;
	waitpid(pid, &status, 0);
	check_cwd("fork: the child's chdir is its own", cwd);
	check(umask(022) == 022, "fork: the child's umask is its own");

	/* CLONE_FS: one working directory and umask for both. */
	pid = (pid_t)syscall(SYS_clone, CLONE_FS | SIGCHLD, 0, 0, 0, 0);
	if (pid == 0) {
		int r = chdir(at("a"));
		umask(077);
		_exit(r == 0 ? 0 : 1);
	}
	check(pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0, "clone(CLONE_FS) child");
	check_cwd("clone(CLONE_FS): the child's chdir is seen", at("a"));
	check(umask(022) == 077, "clone(CLONE_FS): the child's umask is seen");
	check(chdir(cwd) == 0, "back");

	/* unshare(CLONE_FS) in a CLONE_FS child: its own again. */
	pid = (pid_t)syscall(SYS_clone, CLONE_FS | SIGCHLD, 0, 0, 0, 0);
	if (pid == 0) {
		if (unshare(CLONE_FS) != 0)
			_exit(2);
		_exit(chdir(at("a")) == 0 ? 0 : 1);
	}
	check(pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0, "unshare(CLONE_FS) in a CLONE_FS child");
	check_cwd("unshare(CLONE_FS): the child's chdir is not seen", cwd);

	/* chroot through CLONE_FS: in a child, so this process keeps its root. */
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		pid_t g = (pid_t)syscall(SYS_clone, CLONE_FS | SIGCHLD, 0, 0, 0, 0);
		if (g == 0)
			_exit(chroot(at("a")) == 0 ? 0 : 1);
		int st;
		waitpid(g, &st, 0);
		_exit(WIFEXITED(st) && WEXITSTATUS(st) == 0 && reads("/file", "hello\n") ? 0 : 1);
	}
	check(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0, "clone(CLONE_FS): a chroot in the child is the parent's too");

	/* CLONE_FILES, and unshare(CLONE_FILES). */
	pid = (pid_t)syscall(SYS_clone, CLONE_FILES | SIGCHLD, 0, 0, 0, 0);
	if (pid == 0) {
		int fd = open(at("a/file"), O_RDONLY);
		_exit(fd);
	}
	waitpid(pid, &status, 0);
	int fd = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
	check(fd > 2 && fcntl(fd, F_GETFD) >= 0 && reads(at("a/file"), "hello\n"), "clone(CLONE_FILES): the child's open is seen");
	if (fd > 2)
		close(fd);
	pid = (pid_t)syscall(SYS_clone, CLONE_FILES | SIGCHLD, 0, 0, 0, 0);
	if (pid == 0) {
		if (unshare(CLONE_FILES) != 0)
			_exit(255);
		_exit(open(at("a/file"), O_RDONLY));
	}
	waitpid(pid, &status, 0);
	fd = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
	check(fd > 2 && fd != 255, "unshare(CLONE_FILES) child opened a file");
	expect_err(fcntl(fd, F_GETFD), EBADF, "after unshare(CLONE_FILES) the child's open is its own");

	/* CLONE_SIGHAND (with CLONE_VM): one table of signal actions. */
	static char stack[65536] __attribute__((aligned(16)));
	struct sigaction sa = { 0 }, seen;
	sa.sa_handler = SIG_DFL;
	sigaction(SIGUSR1, &sa, NULL);
	pid = clone(sighand_fn, stack + sizeof stack, CLONE_VM | CLONE_SIGHAND | SIGCHLD, NULL);
	check(pid > 0 && waitpid(pid, &status, 0) == pid, "clone(CLONE_VM|CLONE_SIGHAND) child");
	check(sigaction(SIGUSR1, NULL, &seen) == 0 && seen.sa_handler == SIG_IGN, "clone(CLONE_SIGHAND): the child's sigaction is seen");
	sigaction(SIGUSR1, &sa, NULL);

	/* unshare with nothing to unshare. */
	check(unshare(0) == 0, "unshare(0)");
	check(unshare(CLONE_FILES | CLONE_FS) == 0, "unshare(CLONE_FILES|CLONE_FS) alone");
	check(unshare(CLONE_SYSVSEM) == 0, "unshare(CLONE_SYSVSEM)");
	check(unshare(CLONE_THREAD) == 0, "unshare(CLONE_THREAD) single-threaded");
	check(unshare(CLONE_VM | CLONE_SIGHAND) == 0, "unshare(CLONE_VM|CLONE_SIGHAND) single-threaded");
	umask(old);
}

static void *sleeper(void *arg)
{
	char c;
	ssize_t r = read(*(int *)arg, &c, 1);
	(void)r;
	return NULL;
}

static void threaded(void)
{
	int p[2];
	pthread_t th;
	check(pipe(p) == 0, "a pipe");
	check(pthread_create(&th, NULL, sleeper, &p[0]) == 0, "a second thread");
	expect_err(unshare(CLONE_THREAD), EINVAL, "unshare(CLONE_THREAD) with two threads");
	expect_err(unshare(CLONE_SIGHAND), EINVAL, "unshare(CLONE_SIGHAND) with two threads");
	expect_err(unshare(CLONE_VM), EINVAL, "unshare(CLONE_VM) with two threads");
	check(write(p[1], "x", 1) == 1, "release the thread");
	pthread_join(th, NULL);
	close(p[0]);
	close(p[1]);
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc > 1 && strcmp(argv[1], "inside") == 0)
		return inside();
	const char *tmp = getenv("NOMMU_TEST_TMPDIR");
	static char real[4096];
	if (!realpath(tmp && *tmp ? tmp : "/tmp", real) || strlen(real) >= sizeof dir) {
		printf("FAIL realpath of the scratch directory\n");
		return 1;
	}
	memcpy(dir, real, strlen(real) + 1);
	/* Natively: a mount namespace of our own, nothing propagating to the host's (nommu has none: EINVAL, not printed). */
	if (syscall(SYS_unshare, CLONE_NEWNS) == 0)
		mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL);
	check(mkdir(at("a"), 0755) == 0 && mkdir(at("a/sub"), 0755) == 0 && mkdir(at("b"), 0755) == 0 && mkdir(at("t"), 0755) == 0 &&
		      mkdir(at("p"), 0755) == 0 && put(at("a/file"), "hello\n") == 0,
	      "the scratch tree");

	errors();
	tmpfs();
	cleanup();
	binds();
	cleanup();
	procview();
	cleanup();
	chroots();
	cleanup();
	shared();
	threaded();
	cleanup();
	return failures ? 1 : 0;
}
