/* Scheduling policies, the persona and advice: sched_getscheduler /
 * sched_setscheduler (and SCHED_RESET_ON_FORK across fork), sched_getparam /
 * sched_setparam, the priority limits, sched_rr_get_interval, personality,
 * posix_fadvise, readahead, msync and membarrier, with the errors Linux gives
 * for bad arguments. (Real-time policies are left out: natively root gets
 * them, nommu answers EPERM.) */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/personality.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"

#ifndef SCHED_RESET_ON_FORK
#define SCHED_RESET_ON_FORK 0x40000000
#endif
#ifndef SCHED_BATCH
#define SCHED_BATCH 3
#endif
#ifndef SCHED_IDLE
#define SCHED_IDLE 5
#endif
/* linux/membarrier.h (musl-gcc has no kernel headers) */
enum {
	MEMBARRIER_CMD_QUERY = 0,
	MEMBARRIER_CMD_GLOBAL = 1,
	MEMBARRIER_CMD_GLOBAL_EXPEDITED = 2,
	MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED = 4,
	MEMBARRIER_CMD_PRIVATE_EXPEDITED = 8,
	MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED = 16,
	MEMBARRIER_CMD_PRIVATE_EXPEDITED_SYNC_CORE = 32,
	GET_REGISTRATIONS = 512,
};

/* musl's wrappers for these answer ENOSYS without asking the kernel (Linux's per-thread semantics are not POSIX's). */
#define getscheduler(pid) ((int)syscall(SYS_sched_getscheduler, (pid)))
#define setscheduler(pid, policy, sp) ((int)syscall(SYS_sched_setscheduler, (pid), (policy), (sp)))
#define getparam(pid, sp) ((int)syscall(SYS_sched_getparam, (pid), (sp)))
#define setparam(pid, sp) ((int)syscall(SYS_sched_setparam, (pid), (sp)))

/* What a forked child sees of `what`: its value as the child's exit status. */
static int in_child(int what)
{
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		int v = -1;
		if (what == 0)
			v = getscheduler(0);
		else if (what == 1)
			v = personality(0xffffffff) == ADDR_NO_RANDOMIZE;
		else if (what == 2)
			v = (int)syscall(SYS_membarrier, GET_REGISTRATIONS, 0, 0);
		_exit(v < 0 ? 255 : v == SCHED_RESET_ON_FORK ? 254 : v);
	}
	int st;
	waitpid(pid, &st, 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void policies(void)
{
	struct sched_param sp = { 0 };
	check(getscheduler(0) == SCHED_OTHER, "sched_getscheduler(0): SCHED_OTHER");
	check(getparam(0, &sp) == 0 && sp.sched_priority == 0, "sched_getparam(0): priority 0");
	printf("priority limits: OTHER %d..%d FIFO %d..%d RR %d..%d BATCH %d..%d IDLE %d..%d\n",
	       sched_get_priority_min(SCHED_OTHER), sched_get_priority_max(SCHED_OTHER),
	       sched_get_priority_min(SCHED_FIFO), sched_get_priority_max(SCHED_FIFO),
	       sched_get_priority_min(SCHED_RR), sched_get_priority_max(SCHED_RR),
	       sched_get_priority_min(SCHED_BATCH), sched_get_priority_max(SCHED_BATCH),
	       sched_get_priority_min(SCHED_IDLE), sched_get_priority_max(SCHED_IDLE));
	check(fails_with(sched_get_priority_max(-1), EINVAL) && fails_with(sched_get_priority_min(4), EINVAL),
	      "priority limits of unknown policies: EINVAL");

	check(setscheduler(0, SCHED_BATCH, &sp) == 0, "sched_setscheduler(SCHED_BATCH)");
	check(getscheduler(0) == SCHED_BATCH, "and it is reported");
	check(in_child(0) == SCHED_BATCH, "a forked child inherits SCHED_BATCH");
	check(setparam(0, &sp) == 0, "sched_setparam(priority 0)");
	sp.sched_priority = 1;
	check(fails_with(setparam(0, &sp), EINVAL), "sched_setparam(priority 1) under SCHED_BATCH: EINVAL");
	check(fails_with(setscheduler(0, SCHED_OTHER, &sp), EINVAL), "SCHED_OTHER with priority 1: EINVAL");
	sp.sched_priority = 0;
	check(fails_with(setscheduler(0, SCHED_FIFO, &sp), EINVAL), "SCHED_FIFO with priority 0: EINVAL");
	sp.sched_priority = 100;
	check(fails_with(setscheduler(0, SCHED_RR, &sp), EINVAL), "SCHED_RR with priority 100: EINVAL");
	sp.sched_priority = 0;
	check(fails_with(setscheduler(0, 4, &sp), EINVAL), "unknown policy 4: EINVAL");
	check(fails_with(syscall(SYS_sched_setscheduler, 0, SCHED_OTHER, NULL), EINVAL), "NULL param: EINVAL");
	check(fails_with(syscall(SYS_sched_getparam, 0, NULL), EINVAL), "sched_getparam(NULL): EINVAL");
	check(fails_with(getscheduler(-1), EINVAL), "sched_getscheduler(-1): EINVAL");
	check(fails_with(getscheduler(999999), ESRCH), "sched_getscheduler(no such pid): ESRCH");

	check(setscheduler(0, SCHED_OTHER | SCHED_RESET_ON_FORK, &sp) == 0, "SCHED_OTHER | SCHED_RESET_ON_FORK");
	check(getscheduler(0) == (SCHED_OTHER | SCHED_RESET_ON_FORK), "reported with the flag");
	check(in_child(0) == SCHED_OTHER, "a forked child starts without the flag");
	check(setscheduler(0, SCHED_OTHER, &sp) == 0 && getscheduler(0) == SCHED_OTHER, "back to plain SCHED_OTHER");

	struct timespec ts = { 7, 7 };
	check(sched_rr_get_interval(0, &ts) == 0 && ts.tv_sec == 0 && ts.tv_nsec >= 0 && ts.tv_nsec < 1000000000,
	      "sched_rr_get_interval(0): under a second");
	check(fails_with(sched_rr_get_interval(-1, &ts), EINVAL), "sched_rr_get_interval(-1): EINVAL");
}

static void persona(void)
{
	check(personality(0xffffffff) == PER_LINUX, "personality(query): PER_LINUX");
	check(personality(PER_LINUX | ADDR_NO_RANDOMIZE) == PER_LINUX, "set ADDR_NO_RANDOMIZE: the old persona back");
	check(personality(0xffffffff) == (PER_LINUX | ADDR_NO_RANDOMIZE), "the query shows it");
	check(in_child(1) == 1, "a forked child inherits it");
	check(personality(PER_LINUX) == (PER_LINUX | ADDR_NO_RANDOMIZE) && personality(0xffffffff) == PER_LINUX, "and it can be reset");
}

static void advice(void)
{
	char path[] = "/tmp/nommu-sched-policy-XXXXXX";
	int fd = mkstemp(path);
	check(fd >= 0 && write(fd, "some data\n", 10) == 10, "a scratch file");
	int p[2];
	check(pipe(p) == 0, "a pipe");
	check(posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL) == 0, "posix_fadvise(SEQUENTIAL) on a file");
	check(posix_fadvise(fd, 0, 4096, POSIX_FADV_DONTNEED) == 0, "posix_fadvise(DONTNEED) on a file");
	check(posix_fadvise(p[0], 0, 0, POSIX_FADV_NORMAL) == ESPIPE, "posix_fadvise on a pipe: ESPIPE");
	check(posix_fadvise(fd, 0, 0, 99) == EINVAL, "posix_fadvise(advice 99): EINVAL");
	check(posix_fadvise(fd, 0, -1, POSIX_FADV_NORMAL) == EINVAL, "posix_fadvise(negative length): EINVAL");
	check(posix_fadvise(999, 0, 0, POSIX_FADV_NORMAL) == EBADF, "posix_fadvise(bad fd): EBADF");
	check(readahead(fd, 0, 4096) == 0, "readahead on a file");
	check(fails_with(readahead(p[0], 0, 4096), EINVAL), "readahead on a pipe: EINVAL");
	check(fails_with(readahead(p[1], 0, 4096), EBADF), "readahead on a write-only end: EBADF");
	int dir = open("/tmp", O_RDONLY | O_DIRECTORY);
	check(fails_with(readahead(dir, 0, 4096), EINVAL), "readahead on a directory: EINVAL");
	close(dir);

	char *m = mmap(NULL, 3 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	check(m != MAP_FAILED, "three anonymous pages");
	m[0] = 1;
	check(msync(m, 3 * 4096, MS_SYNC) == 0, "msync(MS_SYNC)");
	check(msync(m, 100, MS_ASYNC | MS_INVALIDATE) == 0, "msync(MS_ASYNC | MS_INVALIDATE), a partial page");
	check(msync(m, 0, MS_SYNC) == 0, "msync of nothing");
	check(fails_with(msync(m + 1, 4096, MS_SYNC), EINVAL), "msync(unaligned): EINVAL");
	check(fails_with(msync(m, 4096, MS_SYNC | MS_ASYNC), EINVAL), "msync(MS_SYNC | MS_ASYNC): EINVAL");
	check(fails_with(msync(m, 4096, 8), EINVAL), "msync(unknown flag): EINVAL");
	check(munmap(m + 4096, 4096) == 0, "unmap the middle page");
	check(fails_with(msync(m, 3 * 4096, MS_SYNC), ENOMEM), "msync over the hole: ENOMEM");
	check(msync(m + 2 * 4096, 4096, MS_SYNC) == 0, "msync of the last page alone");
	char *f = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, fd, 0);
	check(f != MAP_FAILED && msync(f, 4096, MS_SYNC) == 0 && memcmp(f, "some data\n", 10) == 0, "msync of a file mapping");
	munmap(f, 4096);
	munmap(m, 4096);
	munmap(m + 2 * 4096, 4096);
	close(p[0]);
	close(p[1]);
	close(fd);
	unlink(path);
}

static void barriers(void)
{
	long q = syscall(SYS_membarrier, MEMBARRIER_CMD_QUERY, 0, 0);
	printf("membarrier(QUERY) & 0x27f: %#lx\n", q & 0x27f);
	check(syscall(SYS_membarrier, MEMBARRIER_CMD_GLOBAL, 0, 0) == 0, "membarrier(GLOBAL)");
	check(fails_with(syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0), EPERM),
	      "PRIVATE_EXPEDITED before registering: EPERM");
	check(syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0) == 0, "REGISTER_PRIVATE_EXPEDITED");
	check(syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0) == 0, "PRIVATE_EXPEDITED once registered");
	check(fails_with(syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED_SYNC_CORE, 0, 0), EPERM),
	      "PRIVATE_EXPEDITED_SYNC_CORE needs its own registration: EPERM");
	check(syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED, 0, 0) == 0, "REGISTER_GLOBAL_EXPEDITED");
	check(syscall(SYS_membarrier, MEMBARRIER_CMD_GLOBAL_EXPEDITED, 0, 0) == 0, "GLOBAL_EXPEDITED");
	printf("membarrier(GET_REGISTRATIONS): %ld\n", syscall(SYS_membarrier, GET_REGISTRATIONS, 0, 0));
	printf("in a forked child: %d\n", in_child(2));
	check(fails_with(syscall(SYS_membarrier, MEMBARRIER_CMD_GLOBAL, 1, 0), EINVAL), "membarrier(flags 1): EINVAL");
	check(fails_with(syscall(SYS_membarrier, 1 << 20, 0, 0), EINVAL), "membarrier(unknown command): EINVAL");
}

struct sched_attr_v1 {
	uint32_t size, policy;
	uint64_t flags;
	int32_t nice;
	uint32_t priority;
	uint64_t runtime, deadline, period;
	uint32_t util_min, util_max;
};
#ifndef SYS_sched_setattr
#define SYS_sched_setattr 314
#define SYS_sched_getattr 315
#endif
#define SCHED_FLAG_RESET_ON_FORK 1
#define SCHED_FLAG_KEEP_POLICY 8
#define SCHED_FLAG_KEEP_PARAMS 16

static int setattr(pid_t pid, struct sched_attr_v1 *a, unsigned flags)
{
	return (int)syscall(SYS_sched_setattr, pid, a, flags);
}

static int getattr(pid_t pid, struct sched_attr_v1 *a, unsigned size)
{
	memset(a, 0x5a, sizeof *a);
	return (int)syscall(SYS_sched_getattr, pid, a, size, 0);
}

static void attrs(void)
{
	struct sched_attr_v1 a;
	check(getattr(0, &a, sizeof a) == 0, "sched_getattr");
	check(a.size == 56 && a.policy == SCHED_OTHER && a.flags == 0 && a.nice == 0 && a.priority == 0,
	      "sched_getattr: size 56, SCHED_OTHER, no flags, nice 0");
	check(getattr(0, &a, 48) == 0 && a.size == 48 && a.util_min == 0x5a5a5a5a, "sched_getattr with the version 0 size writes 48 bytes");
	check(fails_with(getattr(0, &a, 47), EINVAL), "sched_getattr with a size below 48: EINVAL");
	check(fails_with(syscall(SYS_sched_getattr, 0, &a, sizeof a, 1), EINVAL), "sched_getattr with flags: EINVAL");
	check(fails_with(getattr(-1, &a, sizeof a), EINVAL), "sched_getattr of pid -1: EINVAL");
	check(fails_with(getattr(0x3ffffff0, &a, sizeof a), ESRCH), "sched_getattr of no such pid: ESRCH");

	memset(&a, 0, sizeof a);
	a.size = sizeof a;
	a.policy = SCHED_BATCH;
	a.nice = 5;
	check(setattr(0, &a, 0) == 0, "sched_setattr SCHED_BATCH nice 5");
	check(getscheduler(0) == SCHED_BATCH && getpriority(PRIO_PROCESS, 0) == 5, "policy and nice are what sched_setattr set");
	check(getattr(0, &a, sizeof a) == 0 && a.policy == SCHED_BATCH && a.nice == 5, "sched_getattr reports them");

	memset(&a, 0, sizeof a);
	a.size = 48;
	a.policy = SCHED_OTHER;
	a.nice = 3;
	a.flags = SCHED_FLAG_KEEP_POLICY;
	check(setattr(0, &a, 0) == 0, "sched_setattr SCHED_FLAG_KEEP_POLICY with nice 3");
	check(getscheduler(0) == SCHED_BATCH && getpriority(PRIO_PROCESS, 0) == 3, "the policy is kept, the nice value changes");
	a.nice = -30;
	a.flags = SCHED_FLAG_KEEP_PARAMS;
	a.policy = SCHED_OTHER;
	check(setattr(0, &a, 0) == 0 && getscheduler(0) == SCHED_BATCH && getpriority(PRIO_PROCESS, 0) == 3,
	      "SCHED_FLAG_KEEP_PARAMS keeps the policy and the nice value");
	a.flags = SCHED_FLAG_KEEP_PARAMS | SCHED_FLAG_RESET_ON_FORK;
	check(setattr(0, &a, 0) == 0 && getscheduler(0) == (SCHED_BATCH | SCHED_RESET_ON_FORK), "but not the reset-on-fork bit");
	a.flags = SCHED_FLAG_RESET_ON_FORK;
	a.nice = 0;
	check(setattr(0, &a, 0) == 0 && getscheduler(0) == (SCHED_OTHER | SCHED_RESET_ON_FORK), "SCHED_FLAG_RESET_ON_FORK is the policy's reset bit");
	check(getattr(0, &a, sizeof a) == 0 && a.flags == SCHED_FLAG_RESET_ON_FORK && a.policy == SCHED_OTHER, "sched_getattr reports it as a flag");

	a.flags = 0;
	a.size = 0;
	check(setattr(0, &a, 0) == 0, "sched_setattr with size 0 means version 0");
	a.size = 40;
	check(fails_with(setattr(0, &a, 0), E2BIG) && a.size == 56, "sched_setattr with a short size: E2BIG and the size written back");
	struct {
		struct sched_attr_v1 a;
		uint64_t more;
	} big = {{0}, 1};
	big.a.size = sizeof big;
	check(fails_with(setattr(0, &big.a, 0), E2BIG), "sched_setattr with nonzero bytes past the known struct: E2BIG");
	big.more = 0;
	check(setattr(0, &big.a, 0) == 0, "and zero bytes there are fine");
	memset(&a, 0, sizeof a);
	a.size = sizeof a;
	a.policy = 77;
	check(fails_with(setattr(0, &a, 0), EINVAL), "sched_setattr of an unknown policy: EINVAL");
	a.policy = SCHED_OTHER;
	a.priority = 1;
	check(fails_with(setattr(0, &a, 0), EINVAL), "sched_setattr SCHED_OTHER with a priority: EINVAL");
	a.priority = 0;
	a.flags = 0x1000;
	check(fails_with(setattr(0, &a, 0), EINVAL), "sched_setattr with an unknown flag: EINVAL");
	a.flags = 0;
	check(fails_with(setattr(0, &a, 1), EINVAL), "sched_setattr with flags: EINVAL");
	check(fails_with(setattr(0, NULL, 0), EINVAL), "sched_setattr with no struct: EINVAL");
}

#ifndef SYS_ioprio_set
#define SYS_ioprio_set 251
#define SYS_ioprio_get 252
#endif
#define IOPRIO_WHO_PROCESS 1
#define IOPRIO_WHO_PGRP 2
#define IOPRIO(cls, level) ((cls) << 13 | (level))

static void ioprios(void)
{
	check(syscall(SYS_ioprio_set, IOPRIO_WHO_PROCESS, 0, IOPRIO(2, 3)) == 0, "ioprio_set best-effort level 3");
	check(syscall(SYS_ioprio_get, IOPRIO_WHO_PROCESS, 0) == IOPRIO(2, 3), "ioprio_get answers it");
	check(syscall(SYS_ioprio_get, IOPRIO_WHO_PROCESS, getpid()) == IOPRIO(2, 3), "ioprio_get by pid");
	check(syscall(SYS_ioprio_get, IOPRIO_WHO_PGRP, 0) == IOPRIO(2, 3), "ioprio_get of the process group");
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0)
		_exit(syscall(SYS_ioprio_get, IOPRIO_WHO_PROCESS, 0) == IOPRIO(2, 3) ? 0 : 1);
	int st;
	waitpid(pid, &st, 0);
	check(WIFEXITED(st) && WEXITSTATUS(st) == 0, "a forked child inherits its I/O priority");
	check(syscall(SYS_ioprio_set, IOPRIO_WHO_PROCESS, 0, IOPRIO(3, 0)) == 0 &&
	      syscall(SYS_ioprio_get, IOPRIO_WHO_PROCESS, 0) == IOPRIO(3, 0), "ioprio_set idle");
	check(syscall(SYS_ioprio_set, IOPRIO_WHO_PROCESS, 0, IOPRIO(0, 0)) == 0, "ioprio_set none");
	check(syscall(SYS_ioprio_get, IOPRIO_WHO_PROCESS, 0) == 0, "and ioprio_get answers class none");
	check(fails_with(syscall(SYS_ioprio_set, IOPRIO_WHO_PROCESS, 0, IOPRIO(0, 1)), EINVAL), "ioprio_set none with a level: EINVAL");
	check(fails_with(syscall(SYS_ioprio_set, IOPRIO_WHO_PROCESS, 0, IOPRIO(5, 0)), EINVAL), "ioprio_set of an unknown class: EINVAL");
	check(fails_with(syscall(SYS_ioprio_set, 9, 0, IOPRIO(2, 0)), EINVAL), "ioprio_set with an unknown which: EINVAL");
	check(fails_with(syscall(SYS_ioprio_get, IOPRIO_WHO_PROCESS, 0x3ffffff0), ESRCH), "ioprio_get of no such pid: ESRCH");
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	policies();
	persona();
	advice();
	barriers();
	attrs();
	ioprios();
	if (failures) {
		printf("sched_policy: %d failures\n", failures);
		return 1;
	}
	printf("sched_policy ok\n");
	return 0;
}
