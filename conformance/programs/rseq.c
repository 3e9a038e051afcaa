/* Restartable sequences: rseq registration and its errors (EBUSY, EPERM,
 * EINVAL), unregistration, a critical section that a signal sends to its
 * abort handler, and what fork, threads and exec do with a registration.
 * Run with glibc's own registration off (GLIBC_TUNABLES=glibc.pthread.rseq=0)
 * so both libcs leave rseq to the program. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"

#ifndef SYS_rseq
#define SYS_rseq 334
#endif
#define SIG 0x53053053
#define UNREGISTER 1

struct rseq_area {
	uint32_t cpu_id_start;
	uint32_t cpu_id;
	uint64_t rseq_cs;
	uint32_t flags;
	uint32_t node_id;
	uint32_t mm_cid;
	char pad[4];
} __attribute__((aligned(32)));

static __thread struct rseq_area area = {0, 0xffffffff, 0, 0, 0, 0, {0}};
static struct rseq_area other;

static long sys_rseq(void *p, uint32_t len, int flags, uint32_t sig)
{
	return syscall(SYS_rseq, p, len, flags, sig);
}

static volatile int aborted;

static void on_alarm(int sig)
{
	(void)sig;
}

/* Spins inside a critical section until the kernel sends it to the abort handler. */
static void spin_in_section(void)
{
	__asm__ volatile(
		".pushsection __rseq_cs_test, \"aw\"\n"
		".balign 32\n"
		"5:\n"
		".long 0, 0\n"
		".quad 1f, 2f - 1f, 4f\n"
		".popsection\n"
		"leaq 5b(%%rip), %%rax\n"
		"movq %%rax, %[cs]\n"
		"1:\n"
		"jmp 1b\n"
		"2:\n"
		".byte 0x0f, 0xb9, 0x3d\n"
		".long 0x53053053\n"
		"4:\n"
		"movl $1, %[ab]\n"
		: [cs] "=m"(area.rseq_cs), [ab] "=m"(aborted)
		:
		: "rax", "memory");
}

static void *thread_main(void *arg)
{
	(void)arg;
	long r = sys_rseq(&area, sizeof area, 0, SIG);
	return (void *)(r == 0 && sys_rseq(&area, sizeof area, UNREGISTER, SIG) == 0 ? (intptr_t)1 : (intptr_t)0);
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "after-exec") == 0) {
		long r = sys_rseq(&area, sizeof area, 0, SIG);
		printf("after exec: register %s\n", r == 0 ? "works" : errname(errno));
		return 0;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	check(fails_with(sys_rseq((char *)&area + 8, sizeof area, 0, SIG), EINVAL), "register an unaligned struct: EINVAL");
	check(fails_with(sys_rseq(&area, 16, 0, SIG), EINVAL), "register with a short length: EINVAL");
	check(fails_with(sys_rseq(&area, sizeof area, 2, SIG), EINVAL), "register with an unknown flag: EINVAL");
	check(fails_with(sys_rseq(&area, sizeof area, UNREGISTER, SIG), EINVAL), "unregister with nothing registered: EINVAL");
	check(sys_rseq(&area, sizeof area, 0, SIG) == 0, "register");
	check(area.cpu_id < 1024 && area.cpu_id_start == area.cpu_id, "cpu_id and cpu_id_start name a CPU");
	check(fails_with(sys_rseq(&area, sizeof area, 0, SIG), EBUSY), "register again: EBUSY");
	check(fails_with(sys_rseq(&area, sizeof area, 0, SIG + 1), EPERM), "register again with another signature: EPERM");
	check(fails_with(sys_rseq(&other, sizeof other, 0, SIG), EINVAL), "register another struct: EINVAL");
	check(fails_with(sys_rseq(&area, sizeof area, UNREGISTER, SIG + 1), EPERM), "unregister with another signature: EPERM");
	check(fails_with(sys_rseq(&area, 64, UNREGISTER, SIG), EINVAL), "unregister with another length: EINVAL");

	/* A signal in the critical section: the handler returns to the abort handler, which ends the loop. */
	signal(SIGALRM, on_alarm);
	struct itimerval it = {{0, 0}, {0, 20000}};
	setitimer(ITIMER_REAL, &it, NULL);
	spin_in_section();
	check(aborted == 1, "a signal in a critical section sends it to its abort handler");
	check(area.rseq_cs == 0, "and clears rseq_cs");

	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0)
		_exit(fails_with(sys_rseq(&area, sizeof area, 0, SIG), EBUSY) ? 0 : 1);
	int st;
	waitpid(pid, &st, 0);
	check(WIFEXITED(st) && WEXITSTATUS(st) == 0, "a forked child keeps the registration");

	pthread_t t;
	void *ok = NULL;
	pthread_create(&t, NULL, thread_main, NULL);
	pthread_join(t, &ok);
	check(ok == (void *)1, "a new thread starts with none and registers its own");

	check(sys_rseq(&area, sizeof area, UNREGISTER, SIG) == 0, "unregister");
	check(sys_rseq(&area, sizeof area, 0, SIG) == 0, "register once more");
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		execl(argv[0], argv[0], "after-exec", (char *)NULL);
		_exit(127);
	}
	waitpid(pid, &st, 0);
	check(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the exec'd program ran");
	printf("%d failures\n", failures);
	return failures != 0;
}
