/*
 * Hostile filesystem calls from inside a nommu root (test/mounts.test.ts).
 * Every line is "<what>: ok <first bytes>" or "<what>: errno N"; the test
 * checks that nothing outside the root (and its mounts) is ever read, and
 * that a directory outside it is never changed.
 *
 *   jail read    reads through '..', symlinks, /proc links, dirfds, a mount's '..'
 *   jail write   creates, renames, links, removes, truncates, chmods, utimes
 *   jail race    a thread swaps a directory and a climbing symlink while another opens through it
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

static void report(const char *what, int rc, const char *data)
{
	if (rc < 0)
		printf("%s: errno %d\n", what, errno);
	else
		printf("%s: ok %s\n", what, data ? data : "");
}

/* Opens and reads the first bytes of a file, relative to dirfd. */
static void readat(int dirfd, const char *what, const char *path, int flags)
{
	char buf[64] = {0};
	int fd = openat(dirfd, path, O_RDONLY | flags);
	if (fd < 0) {
		report(what, -1, NULL);
		return;
	}
	ssize_t n = read(fd, buf, sizeof buf - 1);
	if (n < 0) {
		struct stat st;
		/* a directory: report its size and inode so a listing could be compared */
		if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) snprintf(buf, sizeof buf, "dir");
		else buf[0] = 0;
	} else {
		buf[n] = 0;
		char *nl = strchr(buf, '\n');
		if (nl) *nl = 0;
	}
	close(fd);
	report(what, 0, buf);
}

static void reads(void)
{
	static const char *paths[] = {
		"../../../../secret", "/../../secret", "/../canary/keep", "../canary/keep",
		"link_to_root/../secret", "up/secret", "up/canary/keep", "abs_secret", "abs_canary/keep",
		"/proc/self/root/../secret", "/proc/self/root/../canary/keep", "/proc/1/root/../../secret",
		"/proc/self/cwd/../../../secret", "/proc/self/exe/../../../secret",
		"/mnt/../secret", "/mnt/../../secret", "/mnt/../../../bind_sentinel", "/mnt/up/bind_sentinel",
		"/mnt/abs/bind_sentinel", "/mnt/../mnt/../../bind_sentinel", "/tmp/../../secret",
		"loop_a", "self_loop", "self_loop/x",
		"file", "/mnt/inside", "/proc/self/root/file", "up/file",
	};
	for (size_t i = 0; i < sizeof paths / sizeof *paths; i++) readat(AT_FDCWD, paths[i], paths[i], 0);

	/* dirfds: every directory's '..' chain */
	static const char *dirs[] = {"/", "/dir", "/dir/sub", "/mnt", "/tmp", "/proc/self/root", "/proc/self/cwd"};
	for (size_t i = 0; i < sizeof dirs / sizeof *dirs; i++) {
		int d = open(dirs[i], O_RDONLY | O_DIRECTORY);
		char what[128];
		if (d < 0) {
			snprintf(what, sizeof what, "open %s", dirs[i]);
			report(what, -1, NULL);
			continue;
		}
		snprintf(what, sizeof what, "openat(%s, ../../../../secret)", dirs[i]);
		readat(d, what, "../../../../secret", 0);
		snprintf(what, sizeof what, "openat(%s, ../../bind_sentinel)", dirs[i]);
		readat(d, what, "../../bind_sentinel", 0);
		snprintf(what, sizeof what, "openat(%s, abs_secret)", dirs[i]);
		readat(d, what, "/abs_secret", 0);
		close(d);
	}

	/* O_NOFOLLOW on symlinks that point out: ELOOP, never the target */
	readat(AT_FDCWD, "O_NOFOLLOW abs_secret", "abs_secret", O_NOFOLLOW);
	readat(AT_FDCWD, "O_NOFOLLOW link_to_root", "link_to_root", O_NOFOLLOW);
	readat(AT_FDCWD, "O_NOFOLLOW /mnt/abs", "/mnt/abs", O_NOFOLLOW);

	/* cd up past the top, by name and by descriptor, then look around */
	for (int i = 0; i < 8; i++) chdir("..");
	readat(AT_FDCWD, "after cd ..: secret", "secret", 0);
	readat(AT_FDCWD, "after cd ..: canary/keep", "canary/keep", 0);
	int m = open("/mnt", O_RDONLY | O_DIRECTORY);
	if (m >= 0 && fchdir(m) == 0) {
		for (int i = 0; i < 8; i++) chdir("..");
		readat(AT_FDCWD, "after fchdir /mnt, cd ..: bind_sentinel", "bind_sentinel", 0);
		readat(AT_FDCWD, "after fchdir /mnt, cd ..: secret", "secret", 0);
	}
	char cwd[4096];
	report("getcwd", getcwd(cwd, sizeof cwd) ? 0 : -1, cwd);
	chdir("/dir");
	for (int i = 0; i < 4; i++) {
		char p[256];
		snprintf(p, sizeof p, "/proc/self/cwd/%.*s../secret", i * 3, "../../../../");
		readat(AT_FDCWD, p, p, 0);
	}
	readat(AT_FDCWD, "readlink check", "/proc/self/root/../../../../bind_sentinel", 0);
	char link[256] = {0};
	ssize_t n = readlink("/proc/self/root", link, sizeof link - 1);
	report("readlink /proc/self/root", n < 0 ? -1 : 0, link);
}

static void writes(void)
{
	struct timeval tv[2] = {{1, 0}, {1, 0}};
	int fd;
#define TRY(what, call) report(what, (call), NULL)
	TRY("creat ../canary/new", (fd = open("../canary/new", O_WRONLY | O_CREAT, 0644)) < 0 ? -1 : (close(fd), 0));
	TRY("creat /proc/self/root/../canary/new", (fd = open("/proc/self/root/../canary/new", O_WRONLY | O_CREAT, 0644)) < 0 ? -1 : (close(fd), 0));
	TRY("creat abs_canary/new", (fd = open("abs_canary/new", O_WRONLY | O_CREAT, 0644)) < 0 ? -1 : (close(fd), 0));
	TRY("creat up/canary/new", (fd = open("up/canary/new", O_WRONLY | O_CREAT, 0644)) < 0 ? -1 : (close(fd), 0));
	TRY("creat /mnt/../../canary/new", (fd = open("/mnt/../../canary/new", O_WRONLY | O_CREAT, 0644)) < 0 ? -1 : (close(fd), 0));
	TRY("trunc abs_canary/keep", (fd = open("abs_canary/keep", O_WRONLY | O_TRUNC)) < 0 ? -1 : (close(fd), 0));
	TRY("append ../../canary/keep", (fd = open("../../canary/keep", O_WRONLY | O_APPEND)) < 0 ? -1 : (write(fd, "x", 1), close(fd), 0));
	TRY("mkdir ../canary/d", mkdir("../canary/d", 0755));
	TRY("mkdir up/canary/d", mkdir("up/canary/d", 0755));
	TRY("rmdir up/canary/sub", rmdir("up/canary/sub"));
	TRY("unlink up/canary/keep", unlink("up/canary/keep"));
	TRY("unlink abs_canary/keep", unlink("abs_canary/keep"));
	TRY("rename up/canary/keep", rename("up/canary/keep", "stolen"));
	TRY("rename file to up/canary/file", rename("file2", "up/canary/planted"));
	TRY("link up/canary/keep", link("up/canary/keep", "hard"));
	TRY("symlink in up/canary", symlink("/", "up/canary/sl"));
	TRY("truncate abs_canary/keep", truncate("abs_canary/keep", 0));
	TRY("chmod abs_canary/keep", chmod("abs_canary/keep", 0777));
	TRY("chmod abs_canary", chmod("abs_canary", 0777));
	TRY("utimes abs_canary/keep", utimes("abs_canary/keep", tv));
	TRY("utimes up/canary", utimes("up/canary", tv));
	TRY("mkfifo up/canary/fifo", mkfifo("up/canary/fifo", 0644));
	TRY("rename /mnt/inside -> /", rename("/mnt/inside", "/inside"));
	TRY("link /mnt/inside -> /", link("/mnt/inside", "/inside"));
	TRY("rename /tmp -> /tmp2", rename("/tmp", "/tmp2"));
	TRY("rmdir /mnt", rmdir("/mnt"));
}

static volatile int stop;

static void *swapper(void *arg)
{
	(void)arg;
	while (!stop) {
		rename("/race/a", "/race/real");
		rename("/race/evil", "/race/a");
		rename("/race/a", "/race/evil");
		rename("/race/real", "/race/a");
	}
	return NULL;
}

static void race(void)
{
	mkdir("/race", 0755);
	mkdir("/race/a", 0755);
	FILE *f = fopen("/race/a/file", "w");
	if (f) {
		fputs("race file\n", f);
		fclose(f);
	}
	symlink("../../../../../../..", "/race/evil");
	pthread_t t;
	pthread_create(&t, NULL, swapper, NULL);
	int found = 0, attempts = 0;
	for (int i = 0; i < 3000; i++) {
		static const char *paths[] = {"/race/a/secret", "/race/a/canary/keep", "/race/a/../secret", "/race/a/file"};
		for (int j = 0; j < 4; j++) {
			char buf[64] = {0};
			int fd = open(paths[j], O_RDONLY);
			attempts++;
			if (fd < 0) continue;
			ssize_t n = read(fd, buf, sizeof buf - 1);
			close(fd);
			if (n > 0 && j < 3) printf("race read %s: %s", paths[j], buf);
			if (n > 0 && j == 3) found++;
		}
		if (i % 100 == 0) sched_yield();
	}
	stop = 1;
	pthread_join(t, NULL);
	printf("race: %d attempts, inside file read %s\n", attempts, found ? "yes" : "no");
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	const char *mode = argc > 1 ? argv[1] : "read";
	if (chdir("/dir/sub") != 0) perror("chdir");
	if (!strcmp(mode, "read")) reads();
	else if (!strcmp(mode, "write")) writes();
	else if (!strcmp(mode, "race")) race();
	return 0;
}
