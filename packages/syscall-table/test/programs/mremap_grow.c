/* Grows mappings with mremap(MREMAP_MAYMOVE) one page at a time, as realloc
 * grows a big buffer, with other mappings made in between, and checks that
 * every byte survives. Prints how many times each kind of growth moved its
 * mapping: without an MMU a move copies the bytes, so it must be rare.
 * With the argument "addresses" it also grows a MAP_NORESERVE mapping, first,
 * and prints where mappings ended (for the kernel's prefault checks).
 * Exit 1 if any byte is lost. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#define PAGE 4096ul

static int lost;

static unsigned char pattern(int map, size_t page)
{
	return (unsigned char)(map * 31 + page * 7 + 1);
}

/* Grows *p (of *pages pages) by one page, filling the new page; counts a move. */
static void grow(unsigned char **p, size_t *pages, int map, int *moves)
{
	unsigned char *q = mremap(*p, *pages * PAGE, (*pages + 1) * PAGE, MREMAP_MAYMOVE);
	if (q == MAP_FAILED) {
		printf("mremap to %zu pages failed\n", *pages + 1);
		lost++;
		return;
	}
	if (q != *p)
		++*moves;
	memset(q + *pages * PAGE, pattern(map, *pages), PAGE);
	*p = q;
	++*pages;
}

static void verify(const unsigned char *p, size_t pages, int map)
{
	for (size_t i = 0; i < pages; i++)
		for (size_t j = 0; j < PAGE; j += 512)
			if (p[i * PAGE + j] != pattern(map, i)) {
				lost++;
				return;
			}
}

static unsigned char *map_pages(size_t pages, int flags)
{
	return mmap(NULL, pages * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | flags, -1, 0);
}

static unsigned char *first_pages(size_t pages, int map)
{
	unsigned char *p = map_pages(pages, 0);
	for (size_t i = 0; i < pages; i++)
		memset(p + i * PAGE, pattern(map, i), PAGE);
	return p;
}

int main(int argc, char **argv)
{
	int addresses = argc > 1 && strcmp(argv[1], "addresses") == 0;

	/* First, before any other mapping can have been where it ends. */
	if (addresses) {
		size_t lazy_pages = 1;
		unsigned char *lazy = map_pages(lazy_pages, MAP_NORESERVE);
		memset(lazy, pattern(5, 0), PAGE);
		int lazy_moves = 0;
		for (int i = 0; i < 15; i++)
			grow(&lazy, &lazy_pages, 5, &lazy_moves);
		verify(lazy, lazy_pages, 5);
		printf("noreserve: %#lx %zu\n", (unsigned long)(uintptr_t)lazy, lazy_pages * PAGE);
	}

	/* One buffer from 11 to 2059 pages, a 33-page mapping made every 4 steps (glibc's malloc does such). */
	size_t pages = 11;
	unsigned char *one = first_pages(pages, 0);
	int one_moves = 0;
	for (int i = 0; i < 2048; i++) {
		grow(&one, &pages, 0, &one_moves);
		if (i % 4 == 0)
			map_pages(33, 0)[0] = 1;
	}
	verify(one, pages, 0);
	printf("one buffer grown 2048 times: %d moves\n", one_moves);
	if (addresses)
		printf("one: %#lx %zu\n", (unsigned long)(uintptr_t)one, pages * PAGE);

	/* Four buffers grown in turn, 512 times each. */
	unsigned char *four[4];
	size_t four_pages[4];
	int four_moves = 0;
	for (int m = 0; m < 4; m++) {
		four_pages[m] = 1;
		four[m] = first_pages(1, m + 1);
	}
	for (int i = 0; i < 512; i++)
		for (int m = 0; m < 4; m++)
			grow(&four[m], &four_pages[m], m + 1, &four_moves);
	for (int m = 0; m < 4; m++)
		verify(four[m], four_pages[m], m + 1);
	printf("four buffers grown 512 times each, in turn: %d moves\n", four_moves);

	printf("%s\n", lost ? "bytes lost" : "every byte kept");
	return lost ? 1 : 0;
}
