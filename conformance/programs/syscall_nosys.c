/* Raw syscalls (inline asm, no libc) with numbers that do not exist must
 * return -ENOSYS. */
#include <errno.h>
#include <stdio.h>

#include "errname.h"

static long raw_syscall0(long nr)
{
	long ret;
	__asm__ volatile("syscall" : "=a"(ret) : "0"(nr) : "rcx", "r11", "memory");
	return ret;
}

int main(void)
{
	static const long nrs[] = { 1000, -1 };
	int failures = 0;
	for (unsigned i = 0; i < sizeof nrs / sizeof nrs[0]; i++) {
		long r = raw_syscall0(nrs[i]);
		if (r < 0 && r > -4096)
			printf("%ld: %s\n", nrs[i], errname((int)-r));
		else
			printf("%ld: returned %ld\n", nrs[i], r);
		if (r != -ENOSYS)
			failures++;
	}
	return failures ? 1 : 0;
}
