/* Deterministic pseudo-random malloc/realloc/free of many sizes (1 byte to
 * several MB), with content checks, plus one allocation larger than 64 MB
 * touched every 4 KiB and a calloc zero check. Output is a summary that
 * depends only on the PRNG, never on addresses. Exit 1 on any corruption. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SLOTS 512
#define OPS 10000

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rng(void)
{
	/* xorshift64* */
	uint64_t x = rng_state;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	rng_state = x;
	return x * 0x2545f4914f6cdd1dull;
}

struct slot {
	unsigned char *p;
	size_t n;
	unsigned char tag;
};

static struct slot slots[SLOTS];
static uint64_t checksum;
static int corrupt;

static size_t pick_size(void)
{
	uint64_t r = rng() % 1000;
	if (r < 750)
		return 1 + rng() % 256;                       /* small */
	if (r < 960)
		return 257 + rng() % (16 * 1024);             /* medium */
	if (r < 998)
		return 64 * 1024 + rng() % (256 * 1024);      /* large: around the mmap threshold */
	return 1024 * 1024 + rng() % (5 * 1024 * 1024); /* several MB */
}

/* Verify the first n bytes of p equal tag: the head, the tail, and one byte
 * in every 4 KiB in between (full scans would be slow under emulation). */
static void verify(const unsigned char *p, size_t n, unsigned char tag, const char *when)
{
	size_t head = n < 64 ? n : 64;
	for (size_t i = 0; i < head; i++)
		if (p[i] != tag)
			goto bad;
	for (size_t i = n > 64 ? n - 64 : 0; i < n; i++)
		if (p[i] != tag)
			goto bad;
	for (size_t i = 4095; i < n; i += 4096)
		if (p[i] != tag)
			goto bad;
	checksum = checksum * 31 + tag + n;
	return;
bad:
	if (!corrupt)
		printf("corruption detected on %s (size %zu)\n", when, n);
	corrupt = 1;
}

int main(void)
{
	unsigned long mallocs = 0, reallocs = 0, frees = 0, failed = 0;
	unsigned long long bytes = 0;
	size_t peak_single = 0;

	for (int op = 0; op < OPS; op++) {
		struct slot *s = &slots[rng() % SLOTS];
		uint64_t kind = rng() % 3;
		if (!s->p) {
			size_t n = pick_size();
			s->p = malloc(n);
			if (!s->p) {
				failed++;
				continue;
			}
			s->n = n;
			s->tag = (unsigned char)(rng() | 1);
			memset(s->p, s->tag, n);
			mallocs++;
			bytes += n;
			if (n > peak_single)
				peak_single = n;
		} else if (kind == 0) {
			verify(s->p, s->n, s->tag, "free");
			free(s->p);
			s->p = NULL;
			frees++;
		} else {
			size_t n = pick_size();
			unsigned char *q = realloc(s->p, n);
			if (!q) {
				failed++;
				continue;
			}
			size_t keep = n < s->n ? n : s->n;
			verify(q, keep, s->tag, "realloc");
			if (n > s->n)
				memset(q + s->n, s->tag, n - s->n);
			s->p = q;
			s->n = n;
			reallocs++;
			bytes += n;
			if (n > peak_single)
				peak_single = n;
		}
	}
	for (int i = 0; i < SLOTS; i++) {
		if (slots[i].p) {
			verify(slots[i].p, slots[i].n, slots[i].tag, "final free");
			free(slots[i].p);
			frees++;
		}
	}
	printf("ops=%d malloc=%lu realloc=%lu free=%lu failed=%lu\n",
	       OPS, mallocs, reallocs, frees, failed);
	printf("bytes requested=%llu largest=%zu\n", bytes, peak_single);
	printf("checksum=%016llx\n", (unsigned long long)checksum);

	/* calloc must return zeroed memory, also when it reuses freed memory. */
	int calloc_ok = 1;
	for (int round = 0; round < 4; round++) {
		size_t n = (size_t)(round + 1) * 300000;
		unsigned char *d = malloc(n);
		if (!d) {
			calloc_ok = 0;
			break;
		}
		memset(d, 0xa5, n);
		__asm__ volatile("" : : "r"(d) : "memory"); /* keep the stores */
		free(d);
		unsigned char *z = calloc(n, 1);
		if (!z) {
			calloc_ok = 0;
			break;
		}
		for (size_t i = 0; i < n; i += 997)
			if (z[i])
				calloc_ok = 0;
		if (z[n - 1])
			calloc_ok = 0;
		free(z);
	}
	printf("calloc zeroed: %s\n", calloc_ok ? "yes" : "no");

	/* One allocation larger than 64 MB, touched every 4 KiB. */
	const size_t big = 80u * 1024 * 1024 + 12345;
	unsigned char *b = malloc(big);
	if (!b) {
		printf("big malloc of %zu bytes failed\n", big);
		return 1;
	}
	unsigned long pages = 0;
	for (size_t i = 0; i < big; i += 4096, pages++)
		b[i] = (unsigned char)(i >> 12);
	b[big - 1] = 0x5a;
	uint64_t sum = 0;
	for (size_t i = 0; i < big; i += 4096)
		sum += b[i];
	sum += b[big - 1];
	free(b);
	printf("big alloc=%zu pages touched=%lu sum=%llu\n", big, pages, (unsigned long long)sum);

	int ok = !corrupt && !failed && calloc_ok;
	printf("%s\n", ok ? "malloc_stress ok" : "malloc_stress FAILED");
	return ok ? 0 : 1;
}
