/* Resource limits: getrlimit/setrlimit/prlimit64 round trips for NOFILE,
 * STACK, AS, CORE and NPROC (only values this program sets are printed),
 * inheritance across fork, NOFILE enforced (EMFILE), and the errors Linux
 * gives even to root: soft above hard (EINVAL), NOFILE above fs.nr_open
 * (EPERM), an unknown resource (EINVAL), another process's limits (ESRCH).
 * Exit 1 if any check fails. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "expect.h"

struct k_rlimit {
	unsigned long long cur, max;
};

static void show(const char *name, int res)
{
	struct rlimit rl;
	if (getrlimit(res, &rl) != 0) {
		printf("FAIL getrlimit %s -> %s\n", name, errname(errno));
		failures++;
		return;
	}
	printf("%s: soft=", name);
	if (rl.rlim_cur == RLIM_INFINITY)
		printf("unlimited");
	else
		printf("%llu", (unsigned long long)rl.rlim_cur);
	printf(" hard=");
	if (rl.rlim_max == RLIM_INFINITY)
		printf("unlimited\n");
	else
		printf("%llu\n", (unsigned long long)rl.rlim_max);
}

/* Sets [soft, hard] with setrlimit and reads it back. */
static void set(const char *name, int res, rlim_t soft, rlim_t hard)
{
	struct rlimit rl = {soft, hard};
	char what[64];
	snprintf(what, sizeof what, "setrlimit %s", name);
	check(setrlimit(res, &rl) == 0, what);
	show(name, res);
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
	set("NOFILE", RLIMIT_NOFILE, 64, 256);
	set("STACK", RLIMIT_STACK, 4 << 20, RLIM_INFINITY);
	set("AS", RLIMIT_AS, RLIM_INFINITY, RLIM_INFINITY);
	set("CORE", RLIMIT_CORE, 0, 1 << 20);
	set("CORE", RLIMIT_CORE, 1 << 20, 1 << 20);
	set("NPROC", RLIMIT_NPROC, 1000, 2000);

	/* prlimit64 swaps in a new value and hands back the old one */
	struct k_rlimit nw = {32, 200}, old = {0, 0};
	check(syscall(SYS_prlimit64, 0, RLIMIT_NOFILE, &nw, &old) == 0, "prlimit64 NOFILE 32/200");
	printf("prlimit64 old NOFILE: %llu/%llu\n", old.cur, old.max);
	check(syscall(SYS_prlimit64, getpid(), RLIMIT_NOFILE, NULL, &old) == 0, "prlimit64 own pid, read only");
	printf("prlimit64 NOFILE: %llu/%llu\n", old.cur, old.max);
	show("NOFILE", RLIMIT_NOFILE);

	/* the errors Linux gives root as well as anyone */
	struct rlimit bad = {100, 50};
	EXPECT_ERR(setrlimit(RLIMIT_NOFILE, &bad), EINVAL, "setrlimit soft above hard");
	struct rlimit huge = {1024, (rlim_t)1 << 40};
	EXPECT_ERR(setrlimit(RLIMIT_NOFILE, &huge), EPERM, "setrlimit NOFILE hard above fs.nr_open");
	struct k_rlimit k;
	EXPECT_ERR(syscall(SYS_prlimit64, 0, 99, NULL, &k), EINVAL, "prlimit64 resource 99");
	EXPECT_ERR(syscall(SYS_getrlimit, 99, &k), EINVAL, "getrlimit resource 99");
	EXPECT_ERR(syscall(SYS_prlimit64, 0x3fffffff, RLIMIT_NOFILE, NULL, &k), ESRCH, "prlimit64 of a missing pid");
	EXPECT_ERR(syscall(SYS_getrlimit, RLIMIT_NOFILE, (void *)1), EFAULT, "getrlimit into (void*)1");
	show("NOFILE", RLIMIT_NOFILE);

	/* a lowered hard limit can be raised again only by root: as root it can */
	set("CORE", RLIMIT_CORE, 0, 0);
	struct rlimit up = {0, 4096};
	check(setrlimit(RLIMIT_CORE, &up) == 0 || errno == EPERM, "raising CORE's hard limit: allowed for root, EPERM otherwise");

	/* children inherit the limits; their changes stay theirs */
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		show("child NOFILE", RLIMIT_NOFILE);
		show("child STACK", RLIMIT_STACK);
		struct rlimit rl = {8, 200};
		setrlimit(RLIMIT_NOFILE, &rl);
		show("child NOFILE after its setrlimit", RLIMIT_NOFILE);
		fflush(stdout);
		_exit(0);
	}
	int status;
	check(waitpid(pid, &status, 0) == pid && WIFEXITED(status), "child exited");
	show("parent NOFILE after the child's setrlimit", RLIMIT_NOFILE);

	/* NOFILE is enforced at the soft limit */
	struct rlimit rl = {10, 200};
	check(setrlimit(RLIMIT_NOFILE, &rl) == 0, "setrlimit NOFILE 10");
	int last = -1, fd;
	while ((fd = open("/dev/null", O_RDONLY)) >= 0)
		last = fd;
	int e = errno;
	printf("last open before failure: fd %d -> %s\n", last, errname(e));
	rl.rlim_cur = 12;
	check(setrlimit(RLIMIT_NOFILE, &rl) == 0, "raise NOFILE to 12");
	printf("open after raising: fd %d\n", open("/dev/null", O_RDONLY));
	rl.rlim_cur = 4;
	check(setrlimit(RLIMIT_NOFILE, &rl) == 0, "lower NOFILE to 4 below open fds");
	printf("fd 9 is still open: %s\n", fcntl(9, F_GETFD) >= 0 ? "yes" : "no");
	EXPECT_ERR(open("/dev/null", O_RDONLY), EMFILE, "open above the lowered limit");
	EXPECT_ERR(dup2(0, 5), EBADF, "dup2 to fd 5 with NOFILE 4");

	printf("%s\n", failures ? "limits FAILED" : "limits ok");
	return failures ? 1 : 0;
}
