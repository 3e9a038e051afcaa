/* Thread-local storage set up by the program's own libc (arch_prctl /
 * FS base): initialised and zero-initialised __thread variables, their
 * values after modification, and the x86-64 TLS ABI invariants that
 * %fs:0 holds the thread pointer itself and static TLS lies below it. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

__thread int t_init = 42;
__thread long t_zero;
__thread char t_str[32] = "tls string";
__thread double t_dbl = 2.5;
static __thread unsigned char t_big[8192] __attribute__((aligned(64)));
static __thread int t_aligned __attribute__((aligned(64))) = 7;

static void *fs0(void)
{
	void *p;
	__asm__("mov %%fs:0, %0" : "=r"(p));
	return p;
}

/* Keep the compiler from constant-folding TLS accesses. */
static void touch(void *p)
{
	__asm__ volatile("" : : "r"(p) : "memory");
}

int main(void)
{
	int failures = 0;
	touch(&t_init);
	touch(&t_zero);
	touch(t_str);
	touch(&t_dbl);
	touch(t_big);
	printf("initial: t_init=%d t_zero=%ld t_str=\"%s\" t_dbl=%.2f t_aligned=%d\n", t_init, t_zero,
	       t_str, t_dbl, t_aligned);
	int big_zero = 1;
	for (size_t i = 0; i < sizeof t_big; i++)
		if (t_big[i])
			big_zero = 0;
	printf("t_big zeroed: %s\n", big_zero ? "yes" : "no");
	failures += !big_zero;
	printf("t_aligned 64-byte aligned: %s\n", ((uintptr_t)&t_aligned & 63) == 0 ? "yes" : "no");
	printf("t_big 64-byte aligned: %s\n", ((uintptr_t)t_big & 63) == 0 ? "yes" : "no");

	t_init += 58;
	t_zero = -1234567890123l;
	strcpy(t_str, "modified");
	t_dbl *= 4;
	t_aligned++;
	memset(t_big, 0x5a, sizeof t_big);
	touch(&t_init);
	touch(&t_zero);
	touch(t_str);
	touch(&t_dbl);
	touch(t_big);
	unsigned sum = 0;
	for (size_t i = 0; i < sizeof t_big; i++)
		sum += t_big[i];
	printf("modified: t_init=%d t_zero=%ld t_str=\"%s\" t_dbl=%.2f t_aligned=%d t_big sum=%u\n", t_init,
	       t_zero, t_str, t_dbl, t_aligned, sum);

	void *tp = fs0();
	int self_ok = tp != NULL && tp == (void *)pthread_self();
	printf("%%fs:0 is the thread pointer (== pthread_self()): %s\n", self_ok ? "yes" : "no");
	failures += !self_ok;
	uintptr_t a = (uintptr_t)&t_init, t = (uintptr_t)tp;
	int below = a < t && t - a < (1u << 20);
	printf("static TLS lies just below the thread pointer: %s\n", below ? "yes" : "no");
	failures += !below;
	return failures ? 1 : 0;
}
