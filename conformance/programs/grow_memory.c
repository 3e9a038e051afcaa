/* Memory grown the way allocators grow it: the break moved a page at a time
 * up and back down (new memory reads as zeros, and so does memory given back
 * and taken again), a mapping grown a page at a time by mremap (each new page
 * zero, the old bytes kept), realloc of a large block, growth after the
 * mapping was shrunk or split, mremap's refusals, memory given back with
 * MADV_DONTNEED, and growth in a forked child while the parent keeps its own
 * bytes. Under nommu's native backend most of these calls are answered
 * without the kernel (MemoryOffload); the output must not show it. Exit 1 if
 * any check fails. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"

#define PAGE 4096ul

static uintptr_t raw_brk(uintptr_t to)
{
	return (uintptr_t)syscall(SYS_brk, to);
}

static int all_bytes(const unsigned char *p, size_t n, unsigned char v)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != v)
			return 0;
	return 1;
}

static unsigned char pattern(size_t i)
{
	return (unsigned char)(i * 13 + (i >> 12) + 1);
}

static int has_pattern(const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != pattern(i))
			return 0;
	return 1;
}

static void fill_pattern(unsigned char *p, size_t from, size_t to)
{
	for (size_t i = from; i < to; i++)
		p[i] = pattern(i);
}

/* The break, moved by raw brk calls; results kept until the break is back
 * where it was, so that no printf (malloc) runs while it is elsewhere. */
struct brk_results {
	int query_same, up_zero, up_kept, dontneed, down_ok, again_zero, tail_kept, below_start, past_end, restored;
};

static void break_moves(struct brk_results *r)
{
	uintptr_t start = raw_brk(0);
	r->query_same = raw_brk(0) == start;
	/* Up 64 pages, one at a time (page-aligned steps above an unaligned start). */
	uintptr_t top = (start + PAGE - 1) & ~(PAGE - 1);
	int ok = 1, zero = 1;
	for (int i = 1; i <= 64; i++) {
		uintptr_t want = top + i * PAGE;
		if (raw_brk(want) != want) {
			ok = 0;
			break;
		}
		unsigned char *page = (unsigned char *)(want - PAGE);
		if (!all_bytes(page, PAGE, 0))
			zero = 0;
		memset(page, 0xa5, PAGE);
	}
	r->up_zero = ok && zero;
	r->up_kept = ok && all_bytes((unsigned char *)top, 64 * PAGE, 0xa5);
	/* MADV_DONTNEED of a heap page: zeros there, the pages around it kept. */
	r->dontneed = ok && madvise((void *)(top + 2 * PAGE), PAGE, MADV_DONTNEED) == 0 &&
		      all_bytes((unsigned char *)(top + 2 * PAGE), PAGE, 0) &&
		      all_bytes((unsigned char *)top, 2 * PAGE, 0xa5) &&
		      all_bytes((unsigned char *)(top + 3 * PAGE), 61 * PAGE, 0xa5);
	if (ok)
		memset((void *)(top + 2 * PAGE), 0xa5, PAGE);
	/* Down by 40 pages and part of one, then up again: what was given back reads as zeros. */
	uintptr_t low = top + 24 * PAGE - 100;
	r->down_ok = raw_brk(low) == low && all_bytes((unsigned char *)top, 24 * PAGE - 100, 0xa5);
	r->again_zero = raw_brk(top + 64 * PAGE) == top + 64 * PAGE &&
			all_bytes((unsigned char *)top, 24 * PAGE - 100, 0xa5) &&
			all_bytes((unsigned char *)(top + 24 * PAGE), 40 * PAGE, 0);
	/* Only whole pages are given back: the rest of the last one keeps its bytes. */
	r->tail_kept = all_bytes((unsigned char *)low, 100, 0xa5);
	/* Below the start of the heap: refused, the break stays (brk answers it). */
	r->below_start = raw_brk(4096) == top + 64 * PAGE;
	/* Far past anything: refused, the break stays. */
	r->past_end = raw_brk(top + (1ul << 40)) == top + 64 * PAGE;
	r->restored = raw_brk(start) == start && raw_brk(0) == start;
}

/* A mapping grown a page at a time, as glibc's realloc grows a large block. */
static void grow_by_pages(void)
{
	size_t pages = 1;
	unsigned char *p = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		check(0, "mmap for growth");
		return;
	}
	fill_pattern(p, 0, PAGE);
	int kept = 1, zero = 1, ok = 1;
	for (; pages < 600; pages++) {
		unsigned char *q = mremap(p, pages * PAGE, (pages + 1) * PAGE, MREMAP_MAYMOVE);
		if (q == MAP_FAILED) {
			ok = 0;
			break;
		}
		p = q;
		if (!all_bytes(p + pages * PAGE, PAGE, 0))
			zero = 0;
		if (!has_pattern(p, pages * PAGE))
			kept = 0;
		fill_pattern(p, pages * PAGE, (pages + 1) * PAGE);
	}
	check(ok, "mremap grows a mapping 1 -> 600 pages, a page at a time");
	check(zero, "each new page reads as zeros");
	check(kept && has_pattern(p, pages * PAGE), "every old byte is kept");
	/* Unaligned lengths are rounded up to pages. */
	unsigned char *q = mremap(p, pages * PAGE - 5, pages * PAGE + 10, MREMAP_MAYMOVE);
	check(q != MAP_FAILED && has_pattern(q, pages * PAGE) && all_bytes(q + pages * PAGE, PAGE, 0),
	      "unaligned lengths grow by a whole page");
	if (q != MAP_FAILED) {
		p = q;
		pages++;
	}
	/* Shrunk by 100 pages, then grown by 200: the 100 taken back read as zeros. */
	q = mremap(p, pages * PAGE, (pages - 100) * PAGE, 0);
	check(q == p, "mremap shrinks by 100 pages in place");
	q = mremap(p, (pages - 100) * PAGE, (pages + 100) * PAGE, MREMAP_MAYMOVE);
	check(q != MAP_FAILED && has_pattern(q, (pages - 100) * PAGE) && all_bytes(q + (pages - 100) * PAGE, 200 * PAGE, 0),
	      "grown again by 200 pages: kept bytes, then zeros");
	if (q != MAP_FAILED) {
		p = q;
		pages += 100;
	}
	/* Split by munmap of a middle page: the front part grows (moving or not) and keeps its bytes. */
	check(munmap(p + 10 * PAGE, PAGE) == 0, "munmap a middle page");
	q = mremap(p, 10 * PAGE, 20 * PAGE, MREMAP_MAYMOVE);
	check(q != MAP_FAILED && has_pattern(q, 10 * PAGE), "the front part grows and keeps its bytes");
	if (q != MAP_FAILED && q != p)
		munmap(q, 20 * PAGE);
	else if (q != MAP_FAILED)
		p = q;
	/* Refusals: an old length past the mapping, flags it does not know, a misaligned address. */
	unsigned char *r = mremap(p + 11 * PAGE, (pages - 11) * PAGE + PAGE, (pages - 11) * PAGE + 2 * PAGE, MREMAP_MAYMOVE);
	check(r == MAP_FAILED && errno == EFAULT, "old length past the end of the mapping: EFAULT");
	r = mremap(p + 11 * PAGE, PAGE, 2 * PAGE, 0x40);
	check(r == MAP_FAILED && errno == EINVAL, "unknown flag: EINVAL");
	r = mremap(p + 11 * PAGE + 1, PAGE, 2 * PAGE, MREMAP_MAYMOVE);
	check(r == MAP_FAILED && errno == EINVAL, "misaligned address: EINVAL");
	r = mremap(p + 11 * PAGE, 0, 2 * PAGE, MREMAP_MAYMOVE);
	check(r == MAP_FAILED && errno == EINVAL, "old length 0 of private memory: EINVAL");
	munmap(p, pages * PAGE);
}

/* Memory given back with MADV_DONTNEED: private anonymous pages read as zeros, shared ones keep their bytes. */
static void given_back(void)
{
	unsigned char *p = mmap(NULL, 8 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	unsigned char *s = mmap(NULL, 4 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED || s == MAP_FAILED) {
		check(0, "mmap for MADV_DONTNEED");
		return;
	}
	memset(p, 0x11, 8 * PAGE);
	check(madvise(p + 2 * PAGE, 5 * PAGE, MADV_DONTNEED) == 0 && all_bytes(p + 2 * PAGE, 5 * PAGE, 0) &&
		      all_bytes(p, 2 * PAGE, 0x11) && all_bytes(p + 7 * PAGE, PAGE, 0x11),
	      "MADV_DONTNEED of 5 private anonymous pages: zeros there, the rest kept");
	p[3 * PAGE] = 7;
	check(p[3 * PAGE] == 7 && p[3 * PAGE + 1] == 0, "the pages can be written again");
	memset(s, 0x22, 4 * PAGE);
	check(madvise(s + PAGE, 2 * PAGE, MADV_DONTNEED) == 0 && all_bytes(s, 4 * PAGE, 0x22),
	      "MADV_DONTNEED of shared anonymous pages: their bytes stay");
	munmap(p, 8 * PAGE);
	munmap(s, 4 * PAGE);
}

/* realloc of a large block in small steps: what sort and friends do. */
static void realloc_steps(void)
{
	size_t n = 200 * 1024;
	unsigned char *b = malloc(n);
	if (!b) {
		check(0, "malloc 200 KiB");
		return;
	}
	fill_pattern(b, 0, n);
	int ok = 1;
	for (; n < 6 * 1024 * 1024; n += 512) {
		unsigned char *c = realloc(b, n + 512);
		if (!c) {
			ok = 0;
			break;
		}
		b = c;
		if (b[n - 1] != pattern(n - 1) || b[0] != pattern(0))
			ok = 0;
		fill_pattern(b, n, n + 512);
	}
	check(ok && has_pattern(b, n), "realloc grows a block 200 KiB -> 6 MiB by 512 bytes, keeping it");
	free(b);
}

/* A forked child grows a mapping it shares a past with; the parent keeps its bytes and grows its own. */
static void grow_after_fork(void)
{
	size_t pages = 8;
	unsigned char *p = mmap(NULL, pages * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		check(0, "mmap before fork");
		return;
	}
	/* Grown once first, so that the mapping is one mremap grew. */
	unsigned char *q = mremap(p, pages * PAGE, (pages + 1) * PAGE, MREMAP_MAYMOVE);
	if (q != MAP_FAILED) {
		p = q;
		pages++;
	}
	fill_pattern(p, 0, pages * PAGE);
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		int ok = 1;
		for (size_t k = pages; k < pages + 64; k++) {
			unsigned char *c = mremap(p, k * PAGE, (k + 1) * PAGE, MREMAP_MAYMOVE);
			if (c == MAP_FAILED) {
				ok = 0;
				break;
			}
			p = c;
			ok &= all_bytes(p + k * PAGE, PAGE, 0);
			memset(p, 0x5a, (k + 1) * PAGE);
		}
		_exit(ok ? 0 : 1);
	}
	int st = 0;
	waitpid(pid, &st, 0);
	check(WIFEXITED(st) && WEXITSTATUS(st) == 0, "a forked child grows the mapping 64 pages, zeros each time");
	check(has_pattern(p, pages * PAGE), "the parent's bytes are its own");
	q = mremap(p, pages * PAGE, (pages + 64) * PAGE, MREMAP_MAYMOVE);
	check(q != MAP_FAILED && has_pattern(q, pages * PAGE) && all_bytes(q + pages * PAGE, 64 * PAGE, 0),
	      "then the parent grows it 64 pages: its bytes, then zeros");
	if (q != MAP_FAILED)
		munmap(q, (pages + 64) * PAGE);
}

int main(void)
{
	struct brk_results b;
	break_moves(&b);
	check(b.query_same, "brk(0) answers the break twice alike");
	check(b.up_zero, "the break moves up 64 pages one at a time, each reading as zeros");
	check(b.up_kept, "the bytes written there stay");
	check(b.dontneed, "MADV_DONTNEED of a heap page: it reads as zeros, its neighbours keep their bytes");
	check(b.down_ok, "the break moves down 40 pages and a bit, keeping what is below");
	check(b.again_zero, "moved up again: the pages given back read as zeros");
	check(b.tail_kept, "the bytes past the lowered break on its last page are kept");
	check(b.below_start, "a break below the heap's start is refused (the break stays)");
	check(b.past_end, "a break 1 TiB up is refused (the break stays)");
	check(b.restored, "the break goes back where it started");
	grow_by_pages();
	given_back();
	realloc_steps();
	grow_after_fork();
	return failures ? 1 : 0;
}
