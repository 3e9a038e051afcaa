/* Shared by the signal conformance programs: handler installation with the
 * failure counted, and yes/no answers. Include after check.h. */
#ifndef NOMMU_CONFORMANCE_SIGCHECK_H
#define NOMMU_CONFORMANCE_SIGCHECK_H

#include <signal.h>
#include <string.h>

#include "check.h"

__attribute__((unused)) static const char *yesno(int b)
{
	return b ? "yes" : "no";
}

/* An SA_SIGINFO handler with `flags` and `mask` (NULL: empty) for `sig`. */
__attribute__((unused)) static void install_masked(int sig, void (*fn)(int, siginfo_t *, void *), int flags, const sigset_t *mask)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = fn;
	sa.sa_flags = SA_SIGINFO | flags;
	if (mask)
		sa.sa_mask = *mask;
	else
		sigemptyset(&sa.sa_mask);
	if (sigaction(sig, &sa, NULL) != 0) {
		printf("FAIL sigaction(%d): %s\n", sig, errname(errno));
		failures++;
	}
}

__attribute__((unused)) static void install(int sig, void (*fn)(int, siginfo_t *, void *), int flags)
{
	install_masked(sig, fn, flags, NULL);
}

#endif
