/* Shared by the conformance programs: "ok WHAT" / "FAIL WHAT" lines, a failure
 * count for the exit status, and errno checks printed with symbolic names. */
#ifndef NOMMU_CONFORMANCE_CHECK_H
#define NOMMU_CONFORMANCE_CHECK_H

#include <errno.h>
#include <stdio.h>

#include "errname.h"

static int failures;

__attribute__((unused)) static void check(int ok, const char *what)
{
	printf("%s %s\n", ok ? "ok" : "FAIL", what);
	if (!ok)
		failures++;
}

/* Did the call fail with errno `e`? */
__attribute__((unused)) static int fails_with(long r, int e)
{
	return r == -1 && errno == e;
}

#endif
