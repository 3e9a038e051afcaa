/* Memory locking (mlock, mlock2, munlock, mlockall, munlockall, MAP_LOCKED)
 * as VmLck reports it, with Linux's errors, fork dropping the locks; and
 * capabilities: capget's version probe, root's sets, and capset's checks.
 * Run as root: the raw sets differ between hosts, so only facts about them
 * are printed. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"

#ifndef SYS_mlock2
#define SYS_mlock2 325
#endif
#ifndef MCL_ONFAULT
#define MCL_ONFAULT 4
#endif
#ifndef MAP_LOCKED
#define MAP_LOCKED 0x2000
#endif

#define PAGE 4096L
#define V1 0x19980330u
#define V3 0x20080522u

struct cap_header {
	uint32_t version;
	int pid;
};

struct cap_data {
	uint32_t effective, permitted, inheritable;
};

/* /proc/self/status read with open/read into a static buffer: no malloc, so
 * no mapping of its own (which MCL_FUTURE would lock) muddles the counts. */
static char status_buf[8192];

static const char *status_line(const char *key)
{
	int fd = open("/proc/self/status", O_RDONLY);
	ssize_t n = 0, r;
	size_t len = strlen(key);
	if (fd < 0)
		return NULL;
	while ((r = read(fd, status_buf + n, sizeof status_buf - 1 - n)) > 0)
		n += r;
	close(fd);
	status_buf[n] = 0;
	for (char *p = status_buf; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (strncmp(p, key, len) == 0 && p[len] == ':')
			return p + len + 1;
	return NULL;
}

/* A line of /proc/self/status as a number ("VmLck:  8 kB" -> 8), or -1. */
static long status_kb(const char *key)
{
	const char *v = status_line(key);
	return v ? strtol(v, NULL, 10) : -1;
}

static int has_status_line(const char *key)
{
	return status_line(key) != NULL;
}

static void test_mlock(void)
{
	long base = status_kb("VmLck");
	check(base == 0, "nothing is locked at start");
	char *p = mmap(NULL, 4 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	check(p != MAP_FAILED, "mmap 4 pages");
	check(mlock(p + 10, 1) == 0, "mlock one byte locks its page");
	check(status_kb("VmLck") == 4, "VmLck is 4 kB");
	check(mlock(p + PAGE - 1, 2) == 0, "mlock two bytes across a page boundary");
	check(status_kb("VmLck") == 8, "VmLck is 8 kB: the first page counted once");
	check(mlock(p, 0) == 0, "mlock of length 0 succeeds");
	check(munlock(p, PAGE) == 0, "munlock the first page");
	check(status_kb("VmLck") == 4, "VmLck is 4 kB after munlock");
	check(syscall(SYS_mlock2, p + 2 * PAGE, PAGE, 1) == 0, "mlock2 MLOCK_ONFAULT");
	check(status_kb("VmLck") == 8, "VmLck is 8 kB after mlock2");
	check(fails_with(syscall(SYS_mlock2, p, PAGE, 2), EINVAL), "mlock2 with an unknown flag: EINVAL");
	p[PAGE] = 7;
	check(p[PAGE] == 7, "a locked page stays writable");

	pid_t pid = fork();
	if (pid == 0)
		_exit(status_kb("VmLck") == 0 ? 0 : 1);
	int st;
	waitpid(pid, &st, 0);
	check(WIFEXITED(st) && WEXITSTATUS(st) == 0, "a forked child inherits no locks");

	check(munmap(p, 4 * PAGE) == 0, "munmap the locked pages");
	check(status_kb("VmLck") == 0, "unmapping drops the locks");
	check(fails_with(mlock(p, PAGE), ENOMEM), "mlock of unmapped memory: ENOMEM");
	check(fails_with(munlock(p, PAGE), ENOMEM), "munlock of unmapped memory: ENOMEM");

	char *q = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_LOCKED, -1, 0);
	check(q != MAP_FAILED, "mmap MAP_LOCKED");
	check(status_kb("VmLck") == 8, "MAP_LOCKED pages count in VmLck");
	munmap(q, 2 * PAGE);

	check(fails_with(mlockall(0), EINVAL), "mlockall(0): EINVAL");
	check(fails_with(mlockall(MCL_ONFAULT), EINVAL), "mlockall(MCL_ONFAULT) alone: EINVAL");
	check(fails_with(mlockall(8), EINVAL), "mlockall with an unknown flag: EINVAL");
	check(mlockall(MCL_FUTURE) == 0, "mlockall(MCL_FUTURE)");
	check(status_kb("VmLck") == 0, "MCL_FUTURE locks nothing mapped already");
	q = mmap(NULL, 3 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	check(q != MAP_FAILED && status_kb("VmLck") == 12, "a mapping made after MCL_FUTURE is locked");
	munmap(q, 3 * PAGE);
	check(mlockall(MCL_CURRENT | MCL_FUTURE) == 0, "mlockall(MCL_CURRENT | MCL_FUTURE)");
	check(status_kb("VmLck") > 0, "MCL_CURRENT locks what is mapped");
	check(munlockall() == 0, "munlockall");
	check(status_kb("VmLck") == 0, "nothing is locked after munlockall");
	q = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	check(status_kb("VmLck") == 0, "munlockall ends MCL_FUTURE");
	munmap(q, PAGE);
}

static void test_caps(void)
{
	struct cap_header h = {0x12345678, 0};
	struct cap_data d[2];
	check(syscall(SYS_capget, &h, NULL) == 0, "capget with an unknown version and no data: the probe succeeds");
	check(h.version == V3, "the probe answers version 3");
	h.version = 0x12345678;
	check(fails_with(syscall(SYS_capget, &h, d), EINVAL), "capget with an unknown version: EINVAL");
	check(h.version == V3, "and writes the preferred version");

	h.version = V3;
	h.pid = 0;
	memset(d, 0xff, sizeof d);
	check(syscall(SYS_capget, &h, d) == 0, "capget version 3");
	int root = geteuid() == 0;
	check((d[0].effective & 1) == (uint32_t)root, "CAP_CHOWN is effective for root");
	check(d[0].effective == d[0].permitted && d[1].effective == d[1].permitted, "effective equals permitted");
	check(d[0].inheritable == 0 && d[1].inheritable == 0, "nothing is inheritable");
	check(d[1].permitted >> 9 == 0, "no capability above CAP_CHECKPOINT_RESTORE (40)");

	struct cap_data one = {0};
	h.version = V1;
	check(syscall(SYS_capget, &h, &one) == 0 && one.effective == d[0].effective, "capget version 1 gives the low words");

	h.version = V3;
	h.pid = getpid();
	struct cap_data mine[2];
	check(syscall(SYS_capget, &h, mine) == 0 && memcmp(mine, d, sizeof d) == 0, "capget of its own pid");
	h.pid = -1;
	check(fails_with(syscall(SYS_capget, &h, mine), EINVAL), "capget of pid -1: EINVAL");
	h.pid = 0x3ffffff0;
	check(fails_with(syscall(SYS_capget, &h, mine), ESRCH), "capget of no such pid: ESRCH");

	h.pid = 0;
	check(syscall(SYS_capset, &h, d) == 0, "capset of the sets it has");
	pid_t child = fork();
	if (child == 0) {
		pause();
		_exit(0);
	}
	h.pid = child;
	check(fails_with(syscall(SYS_capset, &h, d), EPERM), "capset of another process: EPERM");
	h.pid = child;
	struct cap_data theirs[2];
	check(syscall(SYS_capget, &h, theirs) == 0 && memcmp(theirs, d, sizeof d) == 0, "capget of a child: the same sets");
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	h.pid = 0;
	struct cap_data wider[2];
	memcpy(wider, d, sizeof d);
	wider[0].permitted &= ~1u;
	check(fails_with(syscall(SYS_capset, &h, wider), EPERM), "capset of an effective set wider than permitted: EPERM");
	memcpy(wider, d, sizeof d);
	wider[1].effective |= 1u << 20;
	wider[1].permitted |= 1u << 20;
	check(syscall(SYS_capset, &h, wider) == 0, "capset ignores bits above the last capability");
	h.version = 0x1;
	check(fails_with(syscall(SYS_capset, &h, d), EINVAL), "capset with an unknown version: EINVAL");

	check(has_status_line("CapEff") && has_status_line("CapPrm") && has_status_line("CapBnd"), "/proc/self/status has the Cap lines");
}

int main(void)
{
	test_mlock();
	test_caps();
	printf("%d failures\n", failures);
	return failures != 0;
}
