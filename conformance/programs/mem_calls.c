/* Memory queries and hints: mincore (resident pages of anonymous and file
 * mappings, its errors), mseal (6.10: what a sealed mapping refuses, across
 * fork), cachestat (6.5), process_madvise and process_mrelease on pidfds,
 * and syslog (klogctl) as root. Run as root; only facts
 * that hold on any host are printed (the host's kernel log and page cache
 * are its own). Only written anonymous pages are printed as resident:
 * whether an untouched one is depends on the CPU backend (see mincore). */
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
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "expect.h"

#define NR_pidfd_open 434
#define NR_process_madvise 440
#define NR_process_mrelease 448
#define NR_cachestat 451
#define NR_mseal 462

#ifndef MADV_COLD
#define MADV_COLD 20
#endif
#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT 21
#endif
#ifndef MADV_FREE
#define MADV_FREE 8
#endif
#ifndef P_PIDFD
#define P_PIDFD 3
#endif

#define PAGE 4096L

struct cachestat_range {
	uint64_t off, len;
};

struct cachestat {
	uint64_t nr_cache, nr_dirty, nr_writeback, nr_evicted, nr_recently_evicted;
};

static long mseal_(void *addr, size_t len, unsigned long flags)
{
	return syscall(NR_mseal, addr, len, flags);
}

static void print_vec(const char *what, const unsigned char *vec, int n)
{
	printf("%s: ", what);
	for (int i = 0; i < n; i++)
		putchar('0' + (vec[i] & 1));
	putchar('\n');
}

static char path[512];

static int make_file(size_t size)
{
	const char *dir = getenv("NOMMU_TEST_TMPDIR");
	snprintf(path, sizeof path, "%s/mem_calls.%d", dir ? dir : "/tmp", (int)getpid());
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	char *buf = malloc(size);
	memset(buf, 'x', size);
	if (write(fd, buf, size) != (ssize_t)size)
		check(0, "write the file");
	free(buf);
	fsync(fd);
	return fd;
}

static void mincore_calls(void)
{
	unsigned char vec[8];
	char *p = mmap(NULL, 4 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	p[0] = 1;
	p[2 * PAGE] = 1;
	memset(vec, 9, sizeof vec);
	check(mincore(p, 4 * PAGE, vec) == 0, "mincore of 4 anonymous pages");
	/* Untouched pages read 0 on Linux; here only where the backend holds no host memory for them
	 * (RAM a previous mapping used may still be backed), so only the written ones are printed. */
	printf("  written pages 0 and 2: %d%d, bytes above 1: %d\n", vec[0] & 1, vec[2] & 1, (vec[0] | vec[1] | vec[2] | vec[3]) > 1);
	check(mincore(p, 3 * PAGE + 1, vec) == 0, "mincore of a length that is not a page multiple");
	check(mincore(p, 0, vec) == 0, "mincore of length 0");
	EXPECT_ERR(mincore(p + 1, PAGE, vec), EINVAL, "mincore unaligned address");
	EXPECT_ERR(mincore(p, PAGE, (unsigned char *)8), EFAULT, "mincore bad vector");
	EXPECT_ERR(mincore((void *)0x7ffffffff000ul, 2 * PAGE, vec), ENOMEM, "mincore past user addresses");
	munmap(p + 3 * PAGE, PAGE);
	memset(vec, 9, sizeof vec);
	EXPECT_ERR(mincore(p, 4 * PAGE, vec), ENOMEM, "mincore over an unmapped page");
	printf("  the bytes before the hole: written pages %d%d, page 1 set %d\n", vec[0] & 1, vec[2] & 1, vec[1] != 9);
	check(vec[3] == 9, "  and none for the hole");
	EXPECT_ERR(mincore(p + 3 * PAGE, PAGE, (unsigned char *)8), ENOMEM, "mincore of a hole with a bad vector");
	munmap(p, 3 * PAGE);

	int fd = make_file(2 * PAGE + 100);
	char *f = mmap(NULL, 4 * PAGE, PROT_READ, MAP_PRIVATE, fd, 0);
	check(f != MAP_FAILED, "mmap 4 pages of a file of 2 pages and 100 bytes");
	check(mincore(f, 4 * PAGE, vec) == 0, "mincore of the file mapping");
	print_vec("  pages in the page cache", vec, 4);
	munmap(f, 4 * PAGE);
	close(fd);
	unlink(path);
}

static void mseal_calls(void)
{
	char *p = mmap(NULL, 3 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	EXPECT_ERR(mseal_(p, PAGE, 1), EINVAL, "mseal flags 1");
	EXPECT_ERR(mseal_(p + 1, PAGE, 0), EINVAL, "mseal unaligned");
	EXPECT_ERR(mseal_(p, (size_t)-1, 0), EINVAL, "mseal length that wraps");
	check(mseal_(p, 0, 0) == 0, "mseal length 0");
	char *q = mmap(NULL, 3 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	munmap(q + PAGE, PAGE);
	EXPECT_ERR(mseal_(q, 3 * PAGE, 0), ENOMEM, "mseal over a hole");
	check(munmap(q, 3 * PAGE) == 0, "nothing was sealed: munmap");

	check(mseal_(p + PAGE, 100, 0) == 0, "mseal the middle page (length rounded up)");
	check(mseal_(p + PAGE, PAGE, 0) == 0, "mseal it again");
	EXPECT_ERR(munmap(p, 3 * PAGE), EPERM, "munmap over it");
	EXPECT_ERR(munmap(p + PAGE, PAGE), EPERM, "munmap of it");
	EXPECT_ERR(mprotect(p + PAGE, PAGE, PROT_READ), EPERM, "mprotect PROT_READ");
	EXPECT_ERR(mprotect(p, 2 * PAGE, PROT_READ | PROT_WRITE), EPERM, "mprotect with the same protection, over it");
	EXPECT_ERR((long)(intptr_t)mremap(p + PAGE, PAGE, 2 * PAGE, MREMAP_MAYMOVE), EPERM, "mremap to grow it");
	EXPECT_ERR((long)(intptr_t)mremap(p + PAGE, PAGE, PAGE / 2, 0), EPERM, "mremap to shrink it");
	EXPECT_ERR((long)(intptr_t)mmap(p + PAGE, PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0), EPERM,
		   "mmap MAP_FIXED over it");
	p[PAGE] = 42;
	check(madvise(p + PAGE, PAGE, MADV_DONTNEED) == 0, "madvise MADV_DONTNEED of writable sealed memory");
	check(madvise(p + PAGE, PAGE, MADV_WILLNEED) == 0, "madvise MADV_WILLNEED");
	check(munmap(p, PAGE) == 0, "munmap of the unsealed page before it");
	check(mprotect(p + 2 * PAGE, PAGE, PROT_READ) == 0, "mprotect of the unsealed page after it");
	p[PAGE] = 7;
	check(p[PAGE] == 7, "the sealed page is still writable");

	pid_t pid = fork();
	if (pid == 0)
		_exit(munmap(p + PAGE, PAGE) == -1 && errno == EPERM ? 0 : 1);
	int st;
	waitpid(pid, &st, 0);
	check(WIFEXITED(st) && WEXITSTATUS(st) == 0, "a forked child's copy is sealed too");

	char *ro = mmap(NULL, 2 * PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	check(mseal_(ro, 2 * PAGE, 0) == 0, "mseal read-only anonymous memory");
	EXPECT_ERR(madvise(ro, PAGE, MADV_DONTNEED), EPERM, "madvise MADV_DONTNEED of it");
	EXPECT_ERR(madvise(ro, 2 * PAGE, MADV_FREE), EPERM, "madvise MADV_FREE of it");
	check(madvise(ro, PAGE, MADV_WILLNEED) == 0, "madvise MADV_WILLNEED of it");

	/* The heap: a break that would unmap sealed pages stays where it is. */
	uintptr_t cur = (uintptr_t)syscall(SYS_brk, 0);
	uintptr_t top = ((cur + PAGE - 1) & ~(uintptr_t)(PAGE - 1)) + 2 * PAGE;
	check((uintptr_t)syscall(SYS_brk, top) == top, "brk up by two pages");
	check(mseal_((void *)(top - PAGE), PAGE, 0) == 0, "mseal the heap's last page");
	check((uintptr_t)syscall(SYS_brk, top - 2 * PAGE) == top, "brk below it fails: the break stays");
	check((uintptr_t)syscall(SYS_brk, top + PAGE) == top + PAGE, "brk up again works");
}

static void cachestat_calls(void)
{
	struct cachestat_range range = {0, 0};
	struct cachestat cs;
	int fd = make_file(2 * PAGE + 100);
	memset(&cs, 0xff, sizeof cs);
	check(syscall(NR_cachestat, fd, &range, &cs, 0) == 0, "cachestat of a file of 3 pages");
	printf("  nr_cache %llu, writeback %llu, evicted %llu, recently evicted %llu, dirty <= cache %d\n", (unsigned long long)cs.nr_cache,
	       (unsigned long long)cs.nr_writeback, (unsigned long long)cs.nr_evicted, (unsigned long long)cs.nr_recently_evicted, cs.nr_dirty <= cs.nr_cache);
	static const struct cachestat_range ranges[] = {{PAGE, PAGE}, {2 * PAGE, 0}, {PAGE - 1, 2}, {PAGE + 5, 1}, {3 * PAGE, 0}, {100 * PAGE, 5 * PAGE}, {0, 1}};
	for (unsigned i = 0; i < sizeof ranges / sizeof ranges[0]; i++) {
		if (syscall(NR_cachestat, fd, &ranges[i], &cs, 0) == 0)
			printf("  range off %llu len %llu: nr_cache %llu\n", (unsigned long long)ranges[i].off, (unsigned long long)ranges[i].len, (unsigned long long)cs.nr_cache);
		else
			printf("  range off %llu len %llu: %s\n", (unsigned long long)ranges[i].off, (unsigned long long)ranges[i].len, errname(errno));
	}
	EXPECT_ERR(syscall(NR_cachestat, fd, &range, &cs, 1), EINVAL, "cachestat flags 1");
	EXPECT_ERR(syscall(NR_cachestat, 999, &range, &cs, 0), EBADF, "cachestat bad fd");
	EXPECT_ERR(syscall(NR_cachestat, fd, (void *)8, &cs, 0), EFAULT, "cachestat bad range pointer");
	EXPECT_ERR(syscall(NR_cachestat, fd, &range, (void *)8, 0), EFAULT, "cachestat bad result pointer");
	int opath = open(path, O_PATH);
	EXPECT_ERR(syscall(NR_cachestat, opath, &range, &cs, 0), EBADF, "cachestat of an O_PATH descriptor");
	close(opath);
	int pfd[2];
	pipe(pfd);
	memset(&cs, 0xff, sizeof cs);
	check(syscall(NR_cachestat, pfd[0], &range, &cs, 0) == 0 && cs.nr_cache == 0 && cs.nr_dirty == 0, "cachestat of a pipe: no pages");
	close(pfd[0]);
	close(pfd[1]);
	close(fd);
	unlink(path);
}

static int pidfd_open(pid_t pid)
{
	return (int)syscall(NR_pidfd_open, pid, 0);
}

static long pmadvise(int pidfd, struct iovec *iov, size_t n, int advice, unsigned flags)
{
	return syscall(NR_process_madvise, pidfd, iov, n, advice, flags);
}

static void process_calls(void)
{
	char *buf = mmap(NULL, 4 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	memset(buf, 1, 4 * PAGE);
	struct iovec iov[2] = {{buf, 2 * PAGE}, {buf + 3 * PAGE, 100}};
	int self = pidfd_open(getpid());
	printf("process_madvise MADV_COLD on itself: %ld\n", pmadvise(self, iov, 2, MADV_COLD, 0));
	printf("process_madvise MADV_WILLNEED on itself: %ld\n", pmadvise(self, iov, 2, MADV_WILLNEED, 0));
	printf("process_madvise MADV_PAGEOUT on itself: %ld\n", pmadvise(self, iov, 2, MADV_PAGEOUT, 0));
	printf("process_madvise of no ranges: %ld\n", pmadvise(self, iov, 0, MADV_COLD, 0));
	EXPECT_ERR(pmadvise(self, iov, 2, MADV_COLD, 1), EINVAL, "process_madvise flags 1");
	EXPECT_ERR(pmadvise(999, iov, 2, MADV_COLD, 0), EBADF, "process_madvise bad fd");
	EXPECT_ERR(pmadvise(1, iov, 2, MADV_COLD, 0), EBADF, "process_madvise of a descriptor that is not a pidfd");
	EXPECT_ERR(pmadvise(self, iov, 1025, MADV_COLD, 0), EINVAL, "process_madvise vlen 1025");
	EXPECT_ERR(pmadvise(self, (struct iovec *)8, 1, MADV_COLD, 0), EFAULT, "process_madvise bad iovec");
	struct iovec bad[2] = {{buf, PAGE}, {buf + 1, PAGE}};
	printf("process_madvise with an unaligned second range: %ld\n", pmadvise(self, bad, 2, MADV_COLD, 0));
	EXPECT_ERR(pmadvise(self, bad + 1, 1, MADV_COLD, 0), EINVAL, "process_madvise of an unaligned range");
	munmap(buf + 3 * PAGE, PAGE);
	EXPECT_ERR(pmadvise(self, iov + 1, 1, MADV_COLD, 0), ENOMEM, "process_madvise of an unmapped range");
	mlock(buf, PAGE);
	EXPECT_ERR(pmadvise(self, iov, 1, MADV_COLD, 0), EINVAL, "process_madvise MADV_COLD of locked memory");
	munlock(buf, PAGE);

	int pfd[2];
	pipe(pfd);
	pid_t pid = fork();
	if (pid == 0) {
		char c;
		close(pfd[1]);
		read(pfd[0], &c, 1);
		_exit(0);
	}
	close(pfd[0]);
	int child = pidfd_open(pid);
	printf("process_madvise MADV_COLD on a child: %ld\n", pmadvise(child, iov, 1, MADV_COLD, 0));
	printf("process_madvise MADV_WILLNEED on a child: %ld\n", pmadvise(child, iov, 1, MADV_WILLNEED, 0));
	EXPECT_ERR(pmadvise(child, iov, 1, MADV_DONTNEED, 0), EINVAL, "process_madvise MADV_DONTNEED on a child");
	EXPECT_ERR(syscall(NR_process_mrelease, child, 1), EINVAL, "process_mrelease flags 1");
	EXPECT_ERR(syscall(NR_process_mrelease, 999, 0), EBADF, "process_mrelease bad fd");
	EXPECT_ERR(syscall(NR_process_mrelease, child, 0), EINVAL, "process_mrelease of a live process");
	kill(pid, SIGKILL);
	long r = syscall(NR_process_mrelease, child, 0);
	check(r == 0 || fails_with(r, ESRCH), "process_mrelease just after SIGKILL: 0 (dying) or ESRCH (gone)");
	siginfo_t si;
	waitid(P_PIDFD, child, &si, WEXITED | WNOWAIT);
	EXPECT_ERR(syscall(NR_process_mrelease, child, 0), ESRCH, "process_mrelease of a zombie");
	EXPECT_ERR(pmadvise(child, iov, 1, MADV_COLD, 0), ESRCH, "process_madvise of a zombie");
	waitpid(pid, NULL, 0);
	EXPECT_ERR(pmadvise(child, iov, 1, MADV_COLD, 0), ESRCH, "process_madvise of a reaped process");
	EXPECT_ERR(syscall(NR_process_mrelease, child, 0), ESRCH, "process_mrelease of a reaped process");
	close(pfd[1]);
	close(child);
	close(self);
}

static void syslog_calls(void)
{
	static char buf[1 << 16];
	long size = syscall(SYS_syslog, 10, NULL, 0);
	check(size > 0, "syslog SIZE_BUFFER is positive");
	long n = syscall(SYS_syslog, 3, buf, (int)sizeof buf);
	check(n > 0 && n <= (long)sizeof buf && buf[0] == '<' && buf[n - 1] == '\n', "syslog READ_ALL: lines with their <level>");
	check(syscall(SYS_syslog, 3, buf, 0) == 0, "syslog READ_ALL of 0 bytes");
	EXPECT_ERR(syscall(SYS_syslog, 3, NULL, 10), EINVAL, "syslog READ_ALL to NULL");
	EXPECT_ERR(syscall(SYS_syslog, 3, buf, -1), EINVAL, "syslog READ_ALL of -1 bytes");
	EXPECT_ERR(syscall(SYS_syslog, 3, (char *)8, 4096), EFAULT, "syslog READ_ALL to a bad pointer");
	EXPECT_ERR(syscall(SYS_syslog, 2, NULL, 10), EINVAL, "syslog READ to NULL");
	check(syscall(SYS_syslog, 2, buf, 0) == 0, "syslog READ of 0 bytes");
	check(syscall(SYS_syslog, 9, NULL, 0) >= 0, "syslog SIZE_UNREAD");
	check(syscall(SYS_syslog, 1, NULL, 0) == 0 && syscall(SYS_syslog, 0, NULL, 0) == 0, "syslog OPEN and CLOSE");
	EXPECT_ERR(syscall(SYS_syslog, 8, NULL, 0), EINVAL, "syslog CONSOLE_LEVEL 0");
	EXPECT_ERR(syscall(SYS_syslog, 8, NULL, 9), EINVAL, "syslog CONSOLE_LEVEL 9");
	EXPECT_ERR(syscall(SYS_syslog, 11, NULL, 0), EINVAL, "syslog type 11");
	EXPECT_ERR(syscall(SYS_syslog, -1, NULL, 0), EINVAL, "syslog type -1");

}

int main(void)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	mincore_calls();
	mseal_calls();
	cachestat_calls();
	process_calls();
	syslog_calls();
	printf("%s\n", failures ? "SOME FAILED" : "all ok");
	return failures != 0;
}
