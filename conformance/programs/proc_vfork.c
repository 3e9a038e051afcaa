/* Process creation without fork: vfork + execve (of /bin/true and of this
 * program itself, found through argv[0]), waitpid on several children and
 * on a chain of nested children, posix_spawn / posix_spawnp of /bin/echo
 * with its stdout redirected into a pipe, posix_spawn of a missing file,
 * and 50 sequential spawn/wait rounds that must not leak descriptors.
 *
 * Child modes (argv[1]):
 *   exit N    exit with status N at once
 *   chain N   N == 0: exit 0; else vfork+exec "chain N-1", wait for it and
 *             exit with its status + 1
 */
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "errname.h"

extern char **environ;

static int failures;
static const char *self;

static void check(int ok, const char *what)
{
	printf("%s %s\n", ok ? "ok" : "FAIL", what);
	if (!ok)
		failures++;
}

static int count_fds(void)
{
	int n = 0;
	for (int fd = 0; fd < 64; fd++)
		if (fcntl(fd, F_GETFD) != -1)
			n++;
	return n;
}

/* vfork, then execve path with argv; returns the child's pid (or -1). If
 * the exec fails the child exits with 127. */
static pid_t vfork_exec(const char *path, char *const argv[])
{
	pid_t pid = vfork();
	if (pid == 0) {
		execve(path, argv, environ);
		_exit(127);
	}
	return pid;
}

/* Waits for pid; returns its exit status, or -1 (and a diagnostic) if it
 * did not exit normally. */
static int wait_status(pid_t pid)
{
	int st;
	pid_t r;
	do
		r = waitpid(pid, &st, 0);
	while (r == -1 && errno == EINTR);
	if (r != pid) {
		printf("waitpid(%s) failed: %s\n", pid > 0 ? "child" : "bad pid", errname(errno));
		return -1;
	}
	if (!WIFEXITED(st)) {
		printf("child did not exit normally (signaled=%d)\n", WIFSIGNALED(st));
		return -1;
	}
	return WEXITSTATUS(st);
}

static int child_chain(int n)
{
	if (n <= 0)
		return 0;
	char num[16];
	snprintf(num, sizeof num, "%d", n - 1);
	char *argv[] = {(char *)self, "chain", num, NULL};
	pid_t pid = vfork_exec(self, argv);
	if (pid < 0)
		return 100;
	int s = wait_status(pid);
	if (s < 0)
		return 101;
	return s + 1;
}

int main(int argc, char **argv)
{
	self = argv[0];
	if (argc == 3 && strcmp(argv[1], "exit") == 0)
		_exit(atoi(argv[2]));
	if (argc == 3 && strcmp(argv[1], "chain") == 0)
		return child_chain(atoi(argv[2]));
	if (argc != 1) {
		fprintf(stderr, "proc_vfork: bad arguments\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);

	int fds_at_start = count_fds();

	/* vfork + execve of /bin/true. */
	{
		char *av[] = {"true", NULL};
		pid_t pid = vfork_exec("/bin/true", av);
		check(pid > 0, "vfork returned a child pid");
		check(wait_status(pid) == 0, "vfork+execve /bin/true exited 0");
	}

	/* vfork + _exit without exec: the parent resumes after the child exits. */
	{
		pid_t pid = vfork();
		if (pid == 0)
			_exit(3);
		check(wait_status(pid) == 3, "vfork child _exit(3) seen as status 3");
	}

	/* vfork + execve of a missing file: the child's exit(127). */
	{
		char *av[] = {"nope", NULL};
		pid_t pid = vfork_exec("/nonexistent/nommu-test", av);
		check(wait_status(pid) == 127, "vfork+execve of a missing file: child exits 127");
	}

	/* Six children of this very program, exit codes 0..5, reaped by pid in
	 * reverse order. */
	{
		pid_t pids[6];
		for (int i = 0; i < 6; i++) {
			char num[4];
			snprintf(num, sizeof num, "%d", i);
			char *av[] = {(char *)self, "exit", num, NULL};
			pids[i] = vfork_exec(self, av);
		}
		for (int i = 5; i >= 0; i--) {
			int s = wait_status(pids[i]);
			printf("%s child %d exited with %d\n", s == i ? "ok" : "FAIL", i, s);
			if (s != i)
				failures++;
		}
		errno = 0;
		check(waitpid(-1, NULL, WNOHANG) == -1 && errno == ECHILD, "no children left: ECHILD");
	}

	/* A chain of 5 nested vfork+exec levels: each exits with its child's status + 1. */
	for (int depth = 0; depth <= 5; depth++) {
		char num[4];
		snprintf(num, sizeof num, "%d", depth);
		char *av[] = {(char *)self, "chain", num, NULL};
		pid_t pid = vfork_exec(self, av);
		int s = wait_status(pid);
		printf("%s chain of depth %d exited with %d\n", s == depth ? "ok" : "FAIL", depth, s);
		if (s != depth)
			failures++;
	}

	/* posix_spawn of /bin/echo with stdout into a pipe. */
	for (int use_p = 0; use_p < 2; use_p++) {
		int p[2];
		if (pipe(p) != 0) {
			printf("FAIL pipe: %s\n", errname(errno));
			return 1;
		}
		posix_spawn_file_actions_t fa;
		posix_spawn_file_actions_init(&fa);
		posix_spawn_file_actions_adddup2(&fa, p[1], 1);
		posix_spawn_file_actions_addclose(&fa, p[0]);
		posix_spawn_file_actions_addclose(&fa, p[1]);
		char *av[] = {"echo", "hello", "from", use_p ? "posix_spawnp" : "posix_spawn", NULL};
		pid_t pid = -1;
		int rc = use_p ? posix_spawnp(&pid, "echo", &fa, NULL, av, environ)
		               : posix_spawn(&pid, "/bin/echo", &fa, NULL, av, environ);
		posix_spawn_file_actions_destroy(&fa);
		close(p[1]);
		printf("%s %s returned %s\n", rc == 0 ? "ok" : "FAIL", use_p ? "posix_spawnp" : "posix_spawn", errname(rc));
		if (rc != 0)
			failures++;
		char buf[256];
		size_t len = 0;
		for (;;) {
			ssize_t n = read(p[0], buf + len, sizeof buf - 1 - len);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				break;
			len += (size_t)n;
		}
		buf[len] = 0;
		close(p[0]);
		printf("echo wrote: %s", buf);
		check(rc == 0 && wait_status(pid) == 0, "echo exited 0");
	}

	/* posix_spawn of a missing file reports ENOENT to the caller. */
	{
		char *av[] = {"nope", NULL};
		pid_t pid = -1;
		int rc = posix_spawn(&pid, "/nonexistent/nommu-test", NULL, NULL, av, environ);
		printf("posix_spawn of a missing file: %s\n", errname(rc));
		if (rc == 0)
			wait_status(pid);
		else
			check(waitpid(-1, NULL, WNOHANG) == -1 && errno == ECHILD, "failed posix_spawn left no child");
	}

	/* 50 sequential spawn/wait rounds, alternating vfork+execve and
	 * posix_spawn of this program; descriptors must not leak. */
	{
		int before = count_fds(), bad = 0;
		for (int i = 0; i < 50; i++) {
			char num[4];
			snprintf(num, sizeof num, "%d", i % 7);
			char *av[] = {(char *)self, "exit", num, NULL};
			pid_t pid = -1;
			if (i % 2 == 0) {
				pid = vfork_exec(self, av);
			} else if (posix_spawn(&pid, self, NULL, NULL, av, environ) != 0) {
				pid = -1;
			}
			if (pid < 0 || wait_status(pid) != i % 7)
				bad++;
		}
		int after = count_fds();
		printf("%s 50 spawn/wait rounds, %d bad\n", bad == 0 ? "ok" : "FAIL", bad);
		if (bad)
			failures++;
		check(after == before, "no descriptor leaked by 50 spawns");
	}

	check(count_fds() == fds_at_start, "descriptor count unchanged overall");
	if (failures) {
		printf("proc_vfork: %d failures\n", failures);
		return 1;
	}
	printf("proc_vfork ok\n");
	return 0;
}
