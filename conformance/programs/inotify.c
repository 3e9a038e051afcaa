/* inotify: inotify_init/inotify_init1 (IN_NONBLOCK, IN_CLOEXEC), the errors
 * of inotify_add_watch and inotify_rm_watch, watch descriptors (one per
 * inode, IN_MASK_ADD, IN_MASK_CREATE, IN_ONESHOT, IN_DONT_FOLLOW), the
 * events of file operations (create, open, access, modify, attrib, close,
 * moves with a shared cookie, delete, delete_self, move_self, ignored,
 * IN_ISDIR), struct inotify_event padding, a read too short for the next
 * event, FIONREAD, poll/select/epoll readiness, a blocking read woken by a
 * child, EINTR, merging of identical events and IN_Q_OVERFLOW. Watch
 * descriptors are printed as the names they were given, never as numbers.
 * Works in $NOMMU_TEST_TMPDIR (default /tmp). */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/select.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"

#ifndef IN_MASK_CREATE
#define IN_MASK_CREATE 0x10000000
#endif
#ifndef IN_EXCL_UNLINK
#define IN_EXCL_UNLINK 0x04000000
#endif

/* Names for watch descriptors, so the output never shows their numbers. */
static struct {
	int wd;
	const char *name;
} labels[64];
static int nlabels;

static int label(int wd, const char *name)
{
	if (wd >= 0 && nlabels < 64) {
		labels[nlabels].wd = wd;
		labels[nlabels].name = name;
		nlabels++;
	}
	return wd;
}

static const char *wd_name(int wd)
{
	if (wd == -1)
		return "(none)";
	for (int i = nlabels - 1; i >= 0; i--)
		if (labels[i].wd == wd)
			return labels[i].name;
	return "?";
}

static const char *mask_name(uint32_t m)
{
	static const struct {
		uint32_t bit;
		const char *name;
	} bits[] = {
		{ IN_ACCESS, "ACCESS" }, { IN_MODIFY, "MODIFY" }, { IN_ATTRIB, "ATTRIB" },
		{ IN_CLOSE_WRITE, "CLOSE_WRITE" }, { IN_CLOSE_NOWRITE, "CLOSE_NOWRITE" }, { IN_OPEN, "OPEN" },
		{ IN_MOVED_FROM, "MOVED_FROM" }, { IN_MOVED_TO, "MOVED_TO" }, { IN_CREATE, "CREATE" },
		{ IN_DELETE, "DELETE" }, { IN_DELETE_SELF, "DELETE_SELF" }, { IN_MOVE_SELF, "MOVE_SELF" },
		{ IN_UNMOUNT, "UNMOUNT" }, { IN_Q_OVERFLOW, "Q_OVERFLOW" }, { IN_IGNORED, "IGNORED" },
		{ IN_ISDIR, "ISDIR" },
	};
	static char buf[256];
	buf[0] = 0;
	for (size_t i = 0; i < sizeof bits / sizeof bits[0]; i++) {
		if (!(m & bits[i].bit))
			continue;
		if (buf[0])
			strcat(buf, "|");
		strcat(buf, bits[i].name);
		m &= ~bits[i].bit;
	}
	if (m)
		snprintf(buf + strlen(buf), sizeof buf - strlen(buf), "|0x%x", m);
	return buf;
}

static char evbuf[65536] __attribute__((aligned(8)));
/* The cookie of the last MOVED_FROM printed, to compare with its MOVED_TO. */
static uint32_t last_cookie;

static void print_events(const char *buf, ssize_t n)
{
	for (const char *p = buf; p < buf + n;) {
		const struct inotify_event *e = (const void *)p;
		printf("  %s %s", wd_name(e->wd), mask_name(e->mask));
		if (e->len)
			printf(" \"%s\"", e->name);
		if (e->mask & IN_MOVED_FROM) {
			printf(" cookie %s", e->cookie ? "set" : "zero");
			last_cookie = e->cookie;
		} else if (e->mask & IN_MOVED_TO) {
			printf(" cookie %s", e->cookie == last_cookie ? "same as MOVED_FROM" : "different");
		} else if (e->cookie) {
			printf(" cookie set");
		}
		printf("\n");
		p += sizeof *e + e->len;
	}
}

/* Reads and prints every queued event (the descriptor is non-blocking). */
static void drain(int fd, const char *what)
{
	printf("%s:\n", what);
	for (;;) {
		ssize_t n = read(fd, evbuf, sizeof evbuf);
		if (n <= 0) {
			if (!(n == -1 && errno == EAGAIN))
				printf("  read: %zd %s\n", n, errname(errno));
			break;
		}
		print_events(evbuf, n);
	}
}

static void touch(const char *name)
{
	int f = open(name, O_WRONLY | O_CREAT, 0644);
	if (f >= 0)
		close(f);
}

static void write_file(const char *name, const char *data)
{
	int f = open(name, O_WRONLY);
	if (f < 0 || write(f, data, strlen(data)) != (ssize_t)strlen(data))
		printf("write_file %s failed\n", name);
	if (f >= 0)
		close(f);
}

static void errors(void)
{
	check(fails_with(inotify_init1(1), EINVAL), "inotify_init1(bad flag): EINVAL");
	int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	check(fd >= 0, "inotify_init1(IN_NONBLOCK|IN_CLOEXEC)");
	check(lseek(fd, 0, SEEK_END) == 0, "lseek of an inotify fd answers 0");
	check((fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0, "IN_CLOEXEC: close-on-exec");
	check(fcntl(fd, F_GETFL) == (O_RDONLY | O_NONBLOCK), "IN_NONBLOCK: F_GETFL is O_RDONLY|O_NONBLOCK");
	int plain = inotify_init();
	check(plain >= 0 && (fcntl(plain, F_GETFD) & FD_CLOEXEC) == 0 && (fcntl(plain, F_GETFL) & O_NONBLOCK) == 0,
	      "inotify_init: blocking, not close-on-exec");
	close(plain);

	check(fails_with(inotify_add_watch(fd, ".", 0), EINVAL), "add_watch(mask 0): EINVAL");
	check(fails_with(inotify_add_watch(fd, ".", IN_ACCESS | 0x00100000), EINVAL), "add_watch(unknown bit): EINVAL");
	check(fails_with(inotify_add_watch(999, ".", 0), EINVAL), "add_watch(bad fd, mask 0): the mask first, EINVAL");
	check(fails_with(inotify_add_watch(999, ".", IN_ACCESS), EBADF), "add_watch(bad fd): EBADF");
	check(fails_with(inotify_add_watch(1, ".", IN_ACCESS), EINVAL), "add_watch(not an inotify fd): EINVAL");
	check(fails_with(inotify_add_watch(fd, ".", IN_ACCESS | IN_MASK_ADD | IN_MASK_CREATE), EINVAL),
	      "add_watch(IN_MASK_ADD|IN_MASK_CREATE): EINVAL");
	check(fails_with(inotify_add_watch(fd, "missing", IN_ACCESS), ENOENT), "add_watch(missing name): ENOENT");
	check(fails_with(inotify_add_watch(fd, "", IN_ACCESS), ENOENT), "add_watch(\"\"): ENOENT");
	touch("plain");
	check(fails_with(inotify_add_watch(fd, "plain", IN_ACCESS | IN_ONLYDIR), ENOTDIR), "add_watch(file, IN_ONLYDIR): ENOTDIR");
	check(fails_with(inotify_add_watch(fd, "plain/x", IN_ACCESS), ENOTDIR), "add_watch(file/x): ENOTDIR");
	check(fails_with(inotify_rm_watch(fd, 12345), EINVAL), "rm_watch(unknown wd): EINVAL");
	check(fails_with(inotify_rm_watch(fd, -1), EINVAL), "rm_watch(-1): EINVAL");
	check(fails_with(inotify_rm_watch(1, 1), EINVAL), "rm_watch(not an inotify fd): EINVAL");
	check(fails_with(inotify_rm_watch(999, 1), EBADF), "rm_watch(bad fd): EBADF");
	char b[64];
	check(fails_with(read(fd, b, sizeof b), EAGAIN), "read of an empty non-blocking instance: EAGAIN");
	check(fails_with(read(fd, b, 0), EAGAIN), "read(0 bytes) of an empty instance: EAGAIN");
	check(fails_with(write(fd, b, 4), EBADF), "write: EBADF");
	int n = -1;
	check(ioctl(fd, FIONREAD, &n) == 0 && n == 0, "FIONREAD of an empty queue: 0");
	check(fails_with(ioctl(fd, TCGETS, b), ENOTTY), "TCGETS: ENOTTY");
	struct stat st;
	check(fstat(fd, &st) == 0 && (st.st_mode & 0777) == 0600, "fstat: an anonymous inode, mode 0600");
	char target[64], proc[64];
	snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
	ssize_t l = readlink(proc, target, sizeof target - 1);
	target[l > 0 ? l : 0] = 0;
	printf("/proc/self/fd link: %s\n", target);

	/* Watch descriptors: one per inode. */
	mkdir("wdir", 0755);
	int w1 = inotify_add_watch(fd, "wdir", IN_CREATE);
	check(w1 >= 1, "add_watch(dir): a watch descriptor >= 1");
	check(inotify_add_watch(fd, "wdir/.", IN_DELETE) == w1, "the same directory by another name: the same wd");
	check(fails_with(inotify_add_watch(fd, "wdir", IN_CREATE | IN_MASK_CREATE), EEXIST), "IN_MASK_CREATE on a watched inode: EEXIST");
	touch("wdir/f");
	link("wdir/f", "wdir/g");
	int wf = inotify_add_watch(fd, "wdir/f", IN_ATTRIB);
	check(wf > w1, "another inode: a new, larger wd");
	check(inotify_add_watch(fd, "wdir/g", IN_ATTRIB) == wf, "a hard link: the same wd");
	symlink("f", "wdir/sl");
	symlink("missing", "wdir/dangling");
	check(inotify_add_watch(fd, "wdir/sl", IN_ATTRIB) == wf, "a symlink is followed: the target's wd");
	int wl = inotify_add_watch(fd, "wdir/sl", IN_ATTRIB | IN_DONT_FOLLOW);
	check(wl > wf, "IN_DONT_FOLLOW: the symlink's own wd");
	check(fails_with(inotify_add_watch(fd, "wdir/dangling", IN_ATTRIB), ENOENT), "a dangling symlink followed: ENOENT");
	check(inotify_add_watch(fd, "wdir/dangling", IN_ATTRIB | IN_DONT_FOLLOW) > wl, "a dangling symlink with IN_DONT_FOLLOW: watched");
	check(fails_with(inotify_add_watch(fd, "wdir/sl", IN_ATTRIB | IN_DONT_FOLLOW | IN_ONLYDIR), ENOTDIR),
	      "IN_ONLYDIR|IN_DONT_FOLLOW on a symlink: ENOTDIR");
	check(inotify_add_watch(fd, "wdir", IN_ONESHOT) == w1, "a mask of flags only is accepted");
	check(inotify_add_watch(fd, "wdir", IN_ATTRIB | IN_EXCL_UNLINK) == w1, "IN_EXCL_UNLINK is accepted");
	check(inotify_rm_watch(fd, wf) == 0, "rm_watch");
	check(fails_with(inotify_rm_watch(fd, wf), EINVAL), "rm_watch of a removed wd: EINVAL");
	int again = inotify_add_watch(fd, "wdir/f", IN_ATTRIB);
	check(again != wf && again > wl, "a new watch after rm_watch: a wd not used before");
	unlink("wdir/f");
	unlink("wdir/g");
	unlink("wdir/sl");
	unlink("wdir/dangling");
	rmdir("wdir");
	unlink("plain");
	close(fd);
}

static void events(void)
{
	int fd = inotify_init1(IN_NONBLOCK);
	mkdir("d", 0755);
	label(inotify_add_watch(fd, "d", IN_ALL_EVENTS), "d");
	char b[64];

	int f = open("d/file", O_WRONLY | O_CREAT | O_EXCL, 0644);
	check(write(f, "one", 3) == 3, "write");
	check(write(f, "two", 3) == 3, "write again");
	check(write(f, "three", 5) == 5, "and again");
	close(f);
	drain(fd, "create, three writes (one MODIFY: identical events merge), close");

	f = open("d/file", O_RDONLY);
	check(read(f, b, 4) == 4, "read");
	check(read(f, b, sizeof b) == 7, "read the rest");
	check(read(f, b, sizeof b) == 0, "read at the end");
	close(f);
	drain(fd, "open, read, read, read at the end, close");

	f = open("d/file", O_RDWR);
	check(write(f, "x", 1) == 1 && pread(f, b, 1, 0) == 1 && pwrite(f, "y", 1, 5) == 1, "write, pread, pwrite");
	close(f);
	drain(fd, "write, read, write: no merging across another event");

	chmod("d/file", 0600);
	drain(fd, "chmod");
	chown("d/file", -1, -1);
	drain(fd, "chown(-1, -1): nothing changes, no event");
	utimensat(AT_FDCWD, "d/file", NULL, 0);
	drain(fd, "utimensat(NULL)");
	struct timespec ts[2] = { { 0, UTIME_OMIT }, { 1000, 0 } };
	utimensat(AT_FDCWD, "d/file", ts, 0);
	drain(fd, "utimensat(mtime only)");
	ts[0].tv_nsec = 0;
	ts[1].tv_nsec = UTIME_OMIT;
	utimensat(AT_FDCWD, "d/file", ts, 0);
	drain(fd, "utimensat(atime only)");
	check(truncate("d/file", 2) == 0, "truncate");
	drain(fd, "truncate");
	f = open("d/file", O_WRONLY);
	check(ftruncate(f, 1) == 0 && fchmod(f, 0644) == 0, "ftruncate, fchmod");
	close(f);
	drain(fd, "open, ftruncate, fchmod, close");

	check(mkdir("d/sub", 0755) == 0, "mkdir");
	check(link("d/file", "d/hard") == 0, "link");
	check(symlink("file", "d/sym") == 0, "symlink");
	check(mknod("d/node", S_IFREG | 0644, 0) == 0, "mknod");
	drain(fd, "mkdir, link, symlink, mknod");

	check(rename("d/file", "d/moved") == 0, "rename");
	check(rename("d/sub", "d/sub2") == 0, "rename a directory");
	check(rename("d/node", "d/hard") == 0, "rename over another name");
	drain(fd, "renames");

	DIR *dir = opendir("d");
	while (dir && readdir(dir))
		;
	if (dir)
		closedir(dir);
	drain(fd, "opendir, readdir, closedir");

	check(unlink("d/moved") == 0 && unlink("d/sym") == 0 && unlink("d/hard") == 0 && rmdir("d/sub2") == 0, "unlink, rmdir");
	drain(fd, "unlink x3, rmdir");

	/* Between two watched directories. */
	mkdir("d/a", 0755);
	mkdir("d/b", 0755);
	label(inotify_add_watch(fd, "d/a", IN_MOVE | IN_CREATE), "d/a");
	label(inotify_add_watch(fd, "d/b", IN_MOVE), "d/b");
	drain(fd, "two more directories");
	touch("d/a/x");
	check(rename("d/a/x", "d/b/y") == 0, "rename across directories");
	drain(fd, "create in d/a, move to d/b");
	unlink("d/b/y");
	rmdir("d/a");
	rmdir("d/b");
	drain(fd, "rmdir of watched directories");
	rmdir("d");
	drain(fd, "rmdir of the watched directory itself");
	close(fd);
}

static void self_watches(void)
{
	int fd = inotify_init1(IN_NONBLOCK);
	mkdir("s", 0755);
	touch("s/f");
	label(inotify_add_watch(fd, "s", IN_ALL_EVENTS), "s");
	label(inotify_add_watch(fd, "s/f", IN_ALL_EVENTS), "s/f");
	drain(fd, "watching s and s/f");
	write_file("s/f", "data");
	drain(fd, "write to s/f: the directory's event first, then the file's");
	chmod("s/f", 0600);
	drain(fd, "chmod s/f");
	check(rename("s/f", "s/g") == 0, "rename s/f");
	drain(fd, "rename s/f to s/g");
	write_file("s/g", "more");
	drain(fd, "the watch follows the inode");
	check(link("s/g", "s/h") == 0, "link");
	drain(fd, "link: the inode's link count changes");
	check(unlink("s/h") == 0, "unlink one of two names");
	drain(fd, "unlink of one name");
	check(unlink("s/g") == 0, "unlink the last name");
	drain(fd, "unlink of the last name");

	mkdir("s/sub", 0755);
	label(inotify_add_watch(fd, "s/sub", IN_ALL_EVENTS), "s/sub");
	drain(fd, "mkdir s/sub");
	chmod("s/sub", 0700);
	drain(fd, "chmod of a watched subdirectory");
	int d = open("s/sub", O_RDONLY | O_DIRECTORY);
	close(d);
	drain(fd, "open and close of the subdirectory");
	check(rename("s/sub", "s/sub2") == 0, "rename the subdirectory");
	drain(fd, "rename of the subdirectory");
	check(rmdir("s/sub2") == 0, "rmdir");
	drain(fd, "rmdir of the subdirectory");

	touch("s/u");
	int u = open("s/u", O_RDWR);
	label(inotify_add_watch(fd, "s/u", IN_ALL_EVENTS), "s/u");
	check(unlink("s/u") == 0, "unlink an open file");
	drain(fd, "unlink of the last name of an open file");
	check(write(u, "x", 1) == 1, "write to the unlinked file");
	drain(fd, "write to it: the directory still hears of it");
	close(u);
	drain(fd, "its last close: now it is gone");

	label(inotify_add_watch(fd, "s", IN_ALL_EVENTS | IN_EXCL_UNLINK), "s excl");
	touch("s/v");
	int v = open("s/v", O_RDWR);
	check(unlink("s/v") == 0, "unlink another open file");
	check(write(v, "x", 1) == 1, "write to it");
	close(v);
	drain(fd, "IN_EXCL_UNLINK: nothing after the unlink");
	label(inotify_add_watch(fd, "s", IN_ALL_EVENTS), "s");

	touch("s/t1");
	touch("s/t2");
	label(inotify_add_watch(fd, "s/t2", IN_ALL_EVENTS), "s/t2");
	drain(fd, "two files");
	check(rename("s/t1", "s/t2") == 0, "rename over a watched file");
	drain(fd, "rename over the watched s/t2");
	unlink("s/t2");
	rmdir("s");
	drain(fd, "cleanup");
	close(fd);
}

static void watch_masks(void)
{
	int fd = inotify_init1(IN_NONBLOCK);
	touch("m");
	int w = label(inotify_add_watch(fd, "m", IN_OPEN), "m");
	int f = open("m", O_RDONLY);
	close(f);
	drain(fd, "IN_OPEN only: open and close");
	check(inotify_add_watch(fd, "m", IN_CLOSE_NOWRITE | IN_MASK_ADD) == w, "IN_MASK_ADD: the same wd");
	f = open("m", O_RDONLY);
	close(f);
	drain(fd, "with IN_CLOSE_NOWRITE added");
	check(inotify_add_watch(fd, "m", IN_ATTRIB) == w, "a new mask replaces the old");
	f = open("m", O_RDONLY);
	close(f);
	chmod("m", 0600);
	drain(fd, "IN_ATTRIB only: open, close, chmod");
	check(inotify_rm_watch(fd, w) == 0, "rm_watch");
	chmod("m", 0644);
	drain(fd, "rm_watch, then chmod");

	int o = label(inotify_add_watch(fd, "m", IN_ATTRIB | IN_ONESHOT), "m oneshot");
	chmod("m", 0600);
	chmod("m", 0644);
	drain(fd, "IN_ONESHOT: two chmods");
	check(fails_with(inotify_rm_watch(fd, o), EINVAL), "a oneshot watch is gone after its event");
	unlink("m");
	drain(fd, "unlink");
	close(fd);
}

static void reading(void)
{
	int fd = inotify_init1(IN_NONBLOCK);
	mkdir("r", 0755);
	label(inotify_add_watch(fd, "r", IN_CREATE), "r");
	struct pollfd p = { fd, POLLIN | POLLOUT, 0 };
	check(poll(&p, 1, 0) == 0, "poll: nothing queued, not ready (never writable)");
	touch("r/a");
	touch("r/0123456789abcde");
	touch("r/0123456789abcdef");
	check(poll(&p, 1, 0) == 1 && p.revents == POLLIN, "poll: POLLIN once an event is queued");
	fd_set rs;
	FD_ZERO(&rs);
	FD_SET(fd, &rs);
	struct timeval tv = { 0, 0 };
	check(select(fd + 1, &rs, NULL, NULL, &tv) == 1 && FD_ISSET(fd, &rs), "select: readable");
	int ep = epoll_create1(0);
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = 7 }, out;
	check(epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) == 0, "epoll_ctl(ADD)");
	check(epoll_wait(ep, &out, 1, 0) == 1 && out.events == EPOLLIN && out.data.u32 == 7, "epoll: EPOLLIN");
	int n = -1;
	check(ioctl(fd, FIONREAD, &n) == 0, "FIONREAD");
	printf("FIONREAD: %d bytes for 3 events (names of 1, 15 and 16 bytes)\n", n);
	char small[64] __attribute__((aligned(8)));
	check(fails_with(read(fd, small, 16), EINVAL), "read of 16 bytes: EINVAL (the event takes 32)");
	check(fails_with(read(fd, small, 31), EINVAL), "read of 31 bytes: EINVAL");
	ssize_t r = read(fd, small, 40);
	check(r == 32, "read of 40 bytes: one event of 32");
	struct inotify_event *e = (void *)small;
	printf("first: len %u name \"%s\"\n", e->len, e->name);
	r = read(fd, evbuf, sizeof evbuf);
	check(r == 80, "the rest: 32 + 48 bytes");
	e = (void *)evbuf;
	printf("second: len %u name \"%s\"\n", e->len, e->name);
	e = (void *)(evbuf + sizeof *e + e->len);
	printf("third: len %u name \"%s\"\n", e->len, e->name);
	int zeros = 1;
	for (unsigned i = strlen(e->name); i < e->len; i++)
		zeros &= e->name[i] == 0;
	check(zeros, "the name is padded with NULs");
	check(epoll_wait(ep, &out, 1, 0) == 0, "epoll: not ready once read");
	close(ep);

	/* A read takes as many whole events as fit. */
	touch("r/b");
	touch("r/c");
	touch("r/d");
	r = read(fd, evbuf, 70);
	check(r == 64, "a 70-byte read: two events");
	r = read(fd, evbuf, sizeof evbuf);
	check(r == 32, "then the third");

	/* Merging: only with the last event still queued. */
	touch("r/e");
	drain(fd, "one create");
	label(inotify_add_watch(fd, "r/e", IN_ATTRIB | IN_MODIFY), "r/e");
	chmod("r/e", 0600);
	chmod("r/e", 0644);
	drain(fd, "two chmods: one event");
	chmod("r/e", 0600);
	drain(fd, "a chmod after the queue was read: queued again");
	write_file("r/e", "x");
	chmod("r/e", 0644);
	write_file("r/e", "y");
	drain(fd, "modify, attrib, modify");

	/* IN_Q_OVERFLOW past max_queued_events (16384). */
	int big = inotify_init1(IN_NONBLOCK);
	label(inotify_add_watch(big, "r/e", IN_OPEN | IN_CLOSE_NOWRITE), "r/e (big)");
	for (int i = 0; i < 8300; i++) {
		int f = open("r/e", O_RDONLY);
		close(f);
	}
	check(ioctl(big, FIONREAD, &n) == 0, "FIONREAD of a full queue");
	printf("FIONREAD: %d (16384 events of 16 bytes, and the overflow's)\n", n);
	long total = 0, overflows = 0, last_overflow = 0;
	for (;;) {
		ssize_t got = read(big, evbuf, sizeof evbuf);
		if (got <= 0)
			break;
		for (char *q = evbuf; q < evbuf + got;) {
			struct inotify_event *x = (void *)q;
			total++;
			last_overflow = x->mask == IN_Q_OVERFLOW && x->wd == -1;
			overflows += last_overflow;
			q += sizeof *x + x->len;
		}
	}
	printf("read %ld events, %ld overflow, the last %s\n", total, overflows, last_overflow ? "IN_Q_OVERFLOW" : "another");
	int f = open("r/e", O_RDONLY);
	close(f);
	drain(big, "after the queue was read: events again");
	close(big);

	unlink("r/a");
	unlink("r/0123456789abcde");
	unlink("r/0123456789abcdef");
	unlink("r/b");
	unlink("r/c");
	unlink("r/d");
	unlink("r/e");
	rmdir("r");
	close(fd);
}

static void on_alarm(int sig)
{
	(void)sig;
}

static void blocking(void)
{
	int fd = inotify_init();
	touch("w");
	label(inotify_add_watch(fd, "w", IN_MODIFY | IN_CLOSE_WRITE | IN_OPEN), "w");
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		usleep(100000);
		write_file("w", "from the child");
		_exit(0);
	}
	char *p = evbuf;
	ssize_t r = read(fd, p, sizeof evbuf);
	check(r > 0, "a blocking read woken by the child's open");
	int status;
	waitpid(pid, &status, 0);
	check(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the child exited");
	fcntl(fd, F_SETFL, O_NONBLOCK);
	ssize_t more = read(fd, p + r, sizeof evbuf - r);
	if (more > 0)
		r += more;
	printf("events of the child's open, write and close:\n");
	print_events(evbuf, r);

	fcntl(fd, F_SETFL, 0);
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_alarm;
	sigaction(SIGALRM, &sa, NULL);
	struct itimerval it = { { 0, 0 }, { 0, 100000 } };
	setitimer(ITIMER_REAL, &it, NULL);
	check(fails_with(read(fd, evbuf, sizeof evbuf), EINTR), "a blocking read interrupted by a signal: EINTR");
	unlink("w");
	close(fd);
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	const char *tmp = getenv("NOMMU_TEST_TMPDIR");
	if (chdir(tmp && *tmp ? tmp : "/tmp") != 0) {
		printf("FAIL chdir to the scratch directory\n");
		return 1;
	}
	errors();
	events();
	self_watches();
	watch_masks();
	reading();
	blocking();
	return failures != 0;
}
