/* fork() with private (copy-on-write) memory: parent and child both modify
 * a global, a heap buffer and a stack variable and each must see only its
 * own values; a grandchild (nested fork); exit statuses through
 * WEXITSTATUS; a child killed by SIGSEGV; reaping with a WNOHANG loop;
 * getppid() in a child. Children report through exit statuses and pipes,
 * never through stdout. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

int global_counter = 1000;
static char global_buf[8192] = "parent data";

/* Returns the exit status of pid, or -1 if it did not exit normally. */
static int wait_exit(pid_t pid)
{
	int st;
	pid_t r;
	do
		r = waitpid(pid, &st, 0);
	while (r == -1 && errno == EINTR);
	if (r != pid)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static unsigned sum_bytes(const unsigned char *p, size_t n)
{
	unsigned s = 0;
	for (size_t i = 0; i < n; i++)
		s = s * 31 + p[i];
	return s;
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);

	/* Private memory. */
	{
		size_t heap_len = 1 << 20;
		unsigned char *heap = malloc(heap_len);
		volatile long stack_var = 77;
		memset(heap, 0xab, heap_len);
		unsigned heap_sum0 = sum_bytes(heap, heap_len);
		int to_child[2], to_parent[2];
		if (pipe(to_child) || pipe(to_parent)) {
			printf("FAIL pipe: %s\n", errname(errno));
			return 1;
		}
		fflush(stdout);
		pid_t pid = fork();
		if (pid < 0) {
			printf("FAIL fork: %s\n", errname(errno));
			return 1;
		}
		if (pid == 0) {
			close(to_child[1]);
			close(to_parent[0]);
			int bad = 0;
			/* The child writes its own values ... */
			global_counter = 2000;
			strcpy(global_buf, "child data");
			memset(heap, 0xcd, heap_len);
			stack_var = 88;
			/* ... tells the parent, then waits for the parent's writes. */
			char c = 'c';
			if (write(to_parent[1], &c, 1) != 1)
				bad |= 1;
			if (read(to_child[0], &c, 1) != 1)
				bad |= 1;
			if (global_counter != 2000)
				bad |= 2;
			if (strcmp(global_buf, "child data") != 0)
				bad |= 4;
			for (size_t i = 0; i < heap_len; i++)
				if (heap[i] != 0xcd) {
					bad |= 8;
					break;
				}
			if (stack_var != 88)
				bad |= 16;
			_exit(bad);
		}
		close(to_child[0]);
		close(to_parent[1]);
		char c;
		check(read(to_parent[0], &c, 1) == 1, "child wrote its values");
		int ok_g = global_counter == 1000, ok_b = strcmp(global_buf, "parent data") == 0,
		    ok_h = sum_bytes(heap, heap_len) == heap_sum0, ok_s = stack_var == 77;
		check(ok_g, "parent global unchanged by child");
		check(ok_b, "parent static buffer unchanged by child");
		check(ok_h, "parent heap unchanged by child");
		check(ok_s, "parent stack variable unchanged by child");
		global_counter = 3000;
		strcpy(global_buf, "parent again");
		memset(heap, 0xef, heap_len);
		stack_var = 99;
		c = 'p';
		check(write(to_child[1], &c, 1) == 1, "parent wrote its values");
		int s = wait_exit(pid);
		printf("%s child saw only its own values (status %d)\n", s == 0 ? "ok" : "FAIL", s);
		if (s != 0)
			failures++;
		check(global_counter == 3000 && strcmp(global_buf, "parent again") == 0 && heap[12345] == 0xef &&
		          stack_var == 99,
		      "parent sees its own new values");
		close(to_child[1]);
		close(to_parent[0]);
		free(heap);
	}

	/* Nested fork: the grandchild's status goes through the child. */
	{
		fflush(stdout);
		pid_t pid = fork();
		if (pid == 0) {
			pid_t me = getpid();
			pid_t g = fork();
			if (g == 0) {
				global_counter = 5;
				_exit(getppid() == me ? 21 : 1);
			}
			int gs = wait_exit(g);
			_exit(gs == 21 && global_counter == 3000 ? 42 : 2);
		}
		int s = wait_exit(pid);
		printf("nested fork: child exit status %d\n", s);
		if (s != 42)
			failures++;
	}

	/* WEXITSTATUS for a range of codes. */
	{
		static const int codes[] = {0, 1, 7, 100, 255};
		for (unsigned i = 0; i < sizeof codes / sizeof codes[0]; i++) {
			fflush(stdout);
			pid_t pid = fork();
			if (pid == 0)
				_exit(codes[i]);
			int st = 0;
			pid_t r = waitpid(pid, &st, 0);
			printf("exit(%d): WIFEXITED=%d WEXITSTATUS=%d WIFSIGNALED=%d\n", codes[i], r == pid && WIFEXITED(st),
			       WEXITSTATUS(st), WIFSIGNALED(st));
			if (r != pid || !WIFEXITED(st) || WEXITSTATUS(st) != codes[i])
				failures++;
		}
	}

	/* A child killed by SIGSEGV (write through NULL). */
	{
		fflush(stdout);
		pid_t pid = fork();
		if (pid == 0) {
			struct rlimit rl = {0, 0};
			setrlimit(RLIMIT_CORE, &rl); /* no core file */
			volatile int *volatile np = NULL;
			*np = 1;
			_exit(0);
		}
		int st = 0;
		pid_t r = waitpid(pid, &st, 0);
		int sig = r == pid && WIFSIGNALED(st), segv = sig && WTERMSIG(st) == SIGSEGV;
		printf("NULL write: WIFSIGNALED=%d WTERMSIG==SIGSEGV=%d WIFEXITED=%d\n", sig, segv, WIFEXITED(st));
		if (!segv)
			failures++;
	}

	/* A child killed by SIGKILL from the parent. */
	{
		int p[2];
		if (pipe(p)) {
			printf("FAIL pipe: %s\n", errname(errno));
			return 1;
		}
		fflush(stdout);
		pid_t pid = fork();
		if (pid == 0) {
			close(p[0]);
			if (write(p[1], "r", 1) != 1)
				_exit(3);
			for (;;)
				pause();
		}
		close(p[1]);
		char c;
		check(read(p[0], &c, 1) == 1, "pausing child is ready");
		close(p[0]);
		check(kill(pid, SIGKILL) == 0, "kill(child, SIGKILL)");
		int st = 0;
		pid_t r = waitpid(pid, &st, 0);
		printf("SIGKILL: WIFSIGNALED=%d WTERMSIG==SIGKILL=%d\n", r == pid && WIFSIGNALED(st),
		       r == pid && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
		if (!(r == pid && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL))
			failures++;
	}

	/* Reap any child with a WNOHANG loop. */
	{
		pid_t pids[4];
		fflush(stdout);
		for (int i = 0; i < 4; i++) {
			pids[i] = fork();
			if (pids[i] == 0) {
				/* Some work, so that the parent polls at least once in practice. */
				volatile unsigned x = 0;
				for (unsigned k = 0; k < 100000u * (unsigned)(i + 1); k++)
					x += k;
				_exit(10 + i);
			}
		}
		int reaped = 0, sum = 0, unknown = 0, polls = 0;
		while (reaped < 4 && polls < 100000) {
			int st;
			pid_t r = waitpid(-1, &st, WNOHANG);
			if (r == 0) {
				struct timespec ts = {0, 200000};
				nanosleep(&ts, NULL);
				polls++;
				continue;
			}
			if (r < 0) {
				printf("FAIL waitpid(-1, WNOHANG): %s\n", errname(errno));
				failures++;
				break;
			}
			int known = 0;
			for (int i = 0; i < 4; i++)
				if (pids[i] == r)
					known = 1;
			unknown += !known;
			if (WIFEXITED(st))
				sum += WEXITSTATUS(st);
			reaped++;
		}
		printf("WNOHANG loop: reaped %d, unknown pids %d, sum of statuses %d\n", reaped, unknown, sum);
		if (reaped != 4 || unknown || sum != 10 + 11 + 12 + 13)
			failures++;
		errno = 0;
		pid_t r = waitpid(-1, NULL, WNOHANG);
		printf("WNOHANG with no children: %d %s\n", (int)r, errname(errno));
		if (r != -1 || errno != ECHILD)
			failures++;
	}

	/* getppid() in the child is the parent's getpid(). */
	{
		pid_t me = getpid();
		fflush(stdout);
		pid_t pid = fork();
		if (pid == 0)
			_exit(getppid() == me ? 0 : 1);
		printf("child's getppid equals parent's getpid: %s\n", wait_exit(pid) == 0 ? "yes" : "no");
		check(pid != me && pid > 0, "fork returned a new pid to the parent");
	}

	/* stdio buffers are duplicated by fork: flushed output is not repeated,
	 * unflushed child output goes out once on the child's exit(). */
	{
		int p[2];
		if (pipe(p)) {
			printf("FAIL pipe: %s\n", errname(errno));
			return 1;
		}
		fflush(stdout);
		pid_t pid = fork();
		if (pid == 0) {
			close(p[0]);
			FILE *f = fdopen(p[1], "w");
			fprintf(f, "from child ");
			exit(0); /* exit() flushes f */
		}
		close(p[1]);
		char buf[64] = {0};
		size_t len = 0;
		ssize_t n;
		while ((n = read(p[0], buf + len, sizeof buf - 1 - len)) > 0)
			len += (size_t)n;
		close(p[0]);
		wait_exit(pid);
		printf("child's stdio through exit(): \"%s\"\n", buf);
		if (strcmp(buf, "from child ") != 0)
			failures++;
	}

	if (failures) {
		printf("proc_fork: %d failures\n", failures);
		return 1;
	}
	printf("proc_fork ok\n");
	return 0;
}
