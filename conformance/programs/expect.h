/* Shared by the conformance programs that check errno values: EXPECT_ERR(call,
 * ERRNO, "what") prints "ok what -> ERRNO" or a FAIL line and counts it. */
#ifndef NOMMU_CONFORMANCE_EXPECT_H
#define NOMMU_CONFORMANCE_EXPECT_H

#include "check.h"

/* A call that must fail with errno `want`. */
static void expect_err(long r, int e, int want, const char *what)
{
	if (r == -1 && e == want) {
		printf("ok %s -> %s\n", what, errname(e));
	} else {
		if (r == -1)
			printf("FAIL %s -> %s (want %s)\n", what, errname(e), errname(want));
		else
			printf("FAIL %s -> returned %ld (want %s)\n", what, r, errname(want));
		failures++;
	}
}

#define EXPECT_ERR(call, want, what)               \
	do {                                       \
		errno = 0;                         \
		long r_ = (long)(call);            \
		expect_err(r_, errno, want, what); \
	} while (0)

#endif

