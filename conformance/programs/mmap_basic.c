/* Anonymous mmap/munmap cycles, MAP_FIXED, mprotect, a MAP_PRIVATE mapping
 * of a file written first, mremap grow/shrink, and a few error cases.
 * The scratch file lives in $NOMMU_TEST_TMPDIR (default /tmp) and is removed
 * again. Exit 1 if any check fails. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"

#define PAGE 4096ul

static void expect_errno(long r, int want, const char *what)
{
	int e = errno;
	if (r == -1 && e == want)
		printf("ok %s -> %s\n", what, errname(e));
	else {
		printf("FAIL %s -> %ld %s (want %s)\n", what, r, r == -1 ? errname(e) : "", errname(want));
		failures++;
	}
}

static int all_bytes(const unsigned char *p, size_t n, unsigned char v)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != v)
			return 0;
	return 1;
}

static int aligned(const void *p)
{
	return ((uintptr_t)p & (PAGE - 1)) == 0;
}

static unsigned char file_byte(size_t i)
{
	return (unsigned char)(i * 7 + 3 + (i >> 12));
}

int main(void)
{
	/* 1. anonymous map / check zero / write / unmap cycles */
	int cycles_ok = 1;
	for (int round = 0; round < 64; round++) {
		size_t pages = 1 + (size_t)((round * 37) % 256);
		size_t len = pages * PAGE;
		unsigned char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED || !aligned(p)) {
			cycles_ok = 0;
			break;
		}
		for (size_t i = 0; i < len; i += PAGE / 2)
			if (p[i] != 0)
				cycles_ok = 0;
		if (p[len - 1] != 0)
			cycles_ok = 0;
		for (size_t i = 0; i < len; i += 64)
			p[i] = (unsigned char)(round + i);
		for (size_t i = 0; i < len; i += 64)
			if (p[i] != (unsigned char)(round + i))
				cycles_ok = 0;
		if (munmap(p, len) != 0)
			cycles_ok = 0;
	}
	check(cycles_ok, "64 anonymous mmap/munmap cycles (zeroed, writable)");

	/* 2. length that is not a page multiple: the whole last page is usable */
	{
		unsigned char *p = mmap(NULL, 5000, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		int ok = p != MAP_FAILED && aligned(p);
		if (ok) {
			p[4999] = 1;
			p[2 * PAGE - 1] = 2;
			ok = p[4999] == 1 && p[2 * PAGE - 1] == 2 && p[5000] == 0;
			ok = ok && munmap(p, 5000) == 0;
		}
		check(ok, "mmap of 5000 bytes rounds up to 2 pages");
	}

	/* 3. punch a hole with munmap, refill it with MAP_FIXED, replace a page */
	{
		unsigned char *p = mmap(NULL, 4 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		int ok = p != MAP_FAILED;
		if (ok) {
			for (int i = 0; i < 4; i++)
				memset(p + i * PAGE, 'A' + i, PAGE);
			ok = munmap(p + PAGE, PAGE) == 0;
			unsigned char *q = mmap(p + PAGE, PAGE, PROT_READ | PROT_WRITE,
						MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
			ok = ok && q == p + PAGE && all_bytes(q, PAGE, 0);
			unsigned char *r = mmap(p + 2 * PAGE, PAGE, PROT_READ | PROT_WRITE,
						MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
			ok = ok && r == p + 2 * PAGE && all_bytes(r, PAGE, 0);
			ok = ok && all_bytes(p, PAGE, 'A') && all_bytes(p + 3 * PAGE, PAGE, 'D');
			ok = ok && munmap(p, 4 * PAGE) == 0;
		}
		check(ok, "munmap hole + MAP_FIXED refill/replace");
	}

	/* 4. mprotect read-only and back */
	{
		unsigned char *p = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		int ok = p != MAP_FAILED;
		if (ok) {
			p[0] = 42;
			ok = mprotect(p, PAGE, PROT_READ) == 0 && *(volatile unsigned char *)p == 42;
			ok = ok && mprotect(p, PAGE, PROT_READ | PROT_WRITE) == 0;
			p[1] = 43;
			ok = ok && p[1] == 43 && munmap(p, 2 * PAGE) == 0;
		}
		check(ok, "mprotect PROT_READ and back to PROT_READ|PROT_WRITE");
	}

	/* 5. MAP_PRIVATE mapping of a file */
	const char *dir = getenv("NOMMU_TEST_TMPDIR");
	if (!dir || !*dir)
		dir = "/tmp";
	char path[4096];
	snprintf(path, sizeof path, "%s/nommu-mmap_basic-%ld.dat", dir, (long)getpid());
	const size_t fsize = 3 * PAGE + 100;
	{
		int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
		if (fd < 0) {
			printf("FAIL cannot create scratch file: %s\n", errname(errno));
			return 1;
		}
		unsigned char *buf = malloc(fsize);
		for (size_t i = 0; i < fsize; i++)
			buf[i] = file_byte(i);
		int ok = write(fd, buf, fsize) == (ssize_t)fsize;
		check(ok, "wrote scratch file");

		unsigned char *m = mmap(NULL, fsize, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
		ok = m != MAP_FAILED && aligned(m);
		check(ok, "mmap MAP_PRIVATE of the file");
		if (ok) {
			/* the mapping stays valid after close() and unlink() */
			close(fd);
			fd = -1;
			check(memcmp(m, buf, fsize) == 0, "file mapping has the file contents (after close)");
			check(all_bytes(m + fsize, 4 * PAGE - fsize, 0), "bytes past EOF in the last page are zero");
			for (size_t i = 0; i < fsize; i += 100)
				m[i] = 0xee;
			int rfd = open(path, O_RDONLY);
			unsigned char *back = malloc(fsize);
			ok = rfd >= 0 && pread(rfd, back, fsize, 0) == (ssize_t)fsize && memcmp(back, buf, fsize) == 0;
			check(ok, "private writes do not reach the file");
			int still = 1;
			for (size_t i = 0; i < fsize; i++)
				if (m[i] != (i % 100 == 0 ? 0xee : file_byte(i)))
					still = 0;
			check(still, "private writes are visible in the mapping");

			/* a mapping at a nonzero file offset */
			unsigned char *o = mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE, rfd, 2 * PAGE);
			check(o != MAP_FAILED && memcmp(o, buf + 2 * PAGE, PAGE) == 0,
			      "mmap at file offset 8192");
			if (o != MAP_FAILED)
				munmap(o, PAGE);
			if (rfd >= 0)
				close(rfd);
			free(back);
			check(unlink(path) == 0, "unlink while mapped");
			check(m[1] == file_byte(1) && m[fsize - 1] == file_byte(fsize - 1),
			      "mapping still readable after unlink");
			check(munmap(m, fsize) == 0, "munmap file mapping");
		} else {
			unlink(path);
		}
		if (fd >= 0)
			close(fd);
		free(buf);
	}

	/* 6. mremap grow (may move) and shrink */
	{
		unsigned char *p = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		int ok = p != MAP_FAILED;
		if (ok) {
			memset(p, 'X', PAGE);
			unsigned char *g = mremap(p, PAGE, 16 * PAGE, MREMAP_MAYMOVE);
			ok = g != MAP_FAILED && aligned(g);
			check(ok, "mremap grow 1 -> 16 pages");
			if (ok) {
				check(all_bytes(g, PAGE, 'X') && all_bytes(g + PAGE, 15 * PAGE, 0),
				      "grown mapping keeps old data, new part zeroed");
				memset(g + 15 * PAGE, 'Y', PAGE);
				unsigned char *s = mremap(g, 16 * PAGE, 2 * PAGE, 0);
				check(s == g, "mremap shrink 16 -> 2 pages in place");
				check(all_bytes(s, PAGE, 'X') && all_bytes(s + PAGE, PAGE, 0),
				      "shrunk mapping keeps data");
				/* grow a multi-page mapping with data in every page */
				for (int i = 0; i < 2; i++)
					memset(s + i * PAGE, 'a' + i, PAGE);
				unsigned char *t = mremap(s, 2 * PAGE, 300 * PAGE, MREMAP_MAYMOVE);
				check(t != MAP_FAILED && all_bytes(t, PAGE, 'a') && all_bytes(t + PAGE, PAGE, 'b') &&
				      t[299 * PAGE] == 0,
				      "mremap grow 2 -> 300 pages keeps every page");
				if (t != MAP_FAILED)
					munmap(t, 300 * PAGE);
			}
		} else {
			check(0, "mmap for mremap");
		}
	}

	/* 6b. two mappings grown a page at a time, in turn, with other mappings
	 * made in between (realloc of big buffers): some growths move a mapping */
	{
		unsigned char *m[2] = { MAP_FAILED, MAP_FAILED };
		size_t pages[2] = { 1, 1 };
		unsigned char *other[40];
		int ok = 1, others = 0;
		for (int k = 0; k < 2; k++) {
			m[k] = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
			ok = ok && m[k] != MAP_FAILED;
			if (ok)
				memset(m[k], 'a' + k, PAGE);
		}
		for (int i = 0; i < 320 && ok; i++) {
			for (int k = 0; k < 2 && ok; k++) {
				unsigned char *q = mremap(m[k], pages[k] * PAGE, (pages[k] + 1) * PAGE, MREMAP_MAYMOVE);
				ok = q != MAP_FAILED && aligned(q) && q[pages[k] * PAGE] == 0;
				if (ok) {
					memset(q + pages[k] * PAGE, 'a' + (int)((pages[k] + k) % 26), PAGE);
					m[k] = q;
					pages[k]++;
				}
			}
			if (ok && i % 8 == 0) {
				other[others] = mmap(NULL, 3 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
				ok = other[others] != MAP_FAILED;
				others += ok;
			}
		}
		for (int k = 0; k < 2 && ok; k++)
			for (size_t p = 0; p < pages[k]; p++)
				ok = ok && all_bytes(m[k] + p * PAGE, PAGE, 'a' + (int)((p + k) % 26));
		check(ok, "two mappings grown 320 times a page at a time, in turn, keep every page");
		for (int k = 0; k < 2; k++)
			if (m[k] != MAP_FAILED)
				munmap(m[k], pages[k] * PAGE);
		for (int j = 0; j < others; j++)
			munmap(other[j], 3 * PAGE);
	}

	/* 7. error cases */
	{
		errno = 0;
		void *r = mmap(NULL, 0, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		expect_errno(r == MAP_FAILED ? -1 : 0, EINVAL, "mmap length 0");
		errno = 0;
		r = mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE, -1, 0);
		expect_errno(r == MAP_FAILED ? -1 : 0, EBADF, "mmap file mapping of fd -1");
		unsigned char *p = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		errno = 0;
		expect_errno(munmap(p + 1, PAGE), EINVAL, "munmap unaligned address");
		errno = 0;
		expect_errno(mremap(p, PAGE, 2 * PAGE, 0x80000) == MAP_FAILED ? -1 : 0, EINVAL,
			     "mremap unknown flag");
		munmap(p, PAGE);
	}

	/* madvise: unknown advice is EINVAL; MADV_DONTFORK keeps a mapping from a forked child, MADV_DOFORK undoes it. */
	{
		unsigned char *p = mmap(NULL, 3 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		errno = 0;
		expect_errno(madvise(p, PAGE, 999), EINVAL, "madvise unknown advice");
		check(madvise(p + PAGE, PAGE, MADV_DONTFORK) == 0, "madvise MADV_DONTFORK on the middle page");
		for (int round = 0; round < 2; round++) {
			fflush(stdout);
			pid_t pid = fork();
			if (pid == 0) {
				/* In the child: is the middle page still mapped? mincore answers ENOMEM for an unmapped page. */
				unsigned char vec;
				int mapped = mincore(p + PAGE, PAGE, &vec) == 0 || errno != ENOMEM;
				int edges = mincore(p, PAGE, &vec) == 0 && mincore(p + 2 * PAGE, PAGE, &vec) == 0;
				_exit((mapped ? 1 : 0) | (edges ? 2 : 0));
			}
			int st = 0;
			waitpid(pid, &st, 0);
			if (round == 0) {
				check(WIFEXITED(st) && WEXITSTATUS(st) == 2, "a forked child lacks the DONTFORK page and has its neighbours");
				check(madvise(p + PAGE, PAGE, MADV_DOFORK) == 0, "madvise MADV_DOFORK");
			} else {
				check(WIFEXITED(st) && WEXITSTATUS(st) == 3, "after MADV_DOFORK the child has it again");
			}
		}
		munmap(p, 3 * PAGE);
	}

	printf("%s\n", failures ? "mmap_basic FAILED" : "mmap_basic ok");
	return failures ? 1 : 0;
}
