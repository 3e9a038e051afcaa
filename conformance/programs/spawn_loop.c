/* Many short processes, one after another, for resource leaks.
 *
 *   spawn_loop [VFORKS [SPAWNS]]   (default 20 and 10)
 *
 * VFORKS times: a pipe, vfork, the child puts the pipe on its stdout and
 * execs this program as "child", which maps and touches 8 MiB, opens a file
 * and exits 7 without unmapping or closing anything; the parent reads the
 * child's byte and reaps it. Then SPAWNS times the same through posix_spawn.
 * The descriptors open before and after must be the same. The loops make no
 * allocation of their own, so a kernel can check that its RAM in use is the
 * same at the start of every round. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "errname.h"

#define CHILD_BYTES (8 << 20)

extern char **environ;

static int child(void)
{
	unsigned char *p = mmap(NULL, CHILD_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return 2;
	for (size_t i = 0; i < CHILD_BYTES; i += 4096)
		p[i] = (unsigned char)(i >> 12);
	for (size_t i = 0; i < CHILD_BYTES; i += 4096)
		if (p[i] != (unsigned char)(i >> 12))
			return 3;
	if (open("/dev/null", O_RDONLY) < 0)
		return 4;
	return write(1, "x", 1) == 1 ? 7 : 5;
}

/* Open descriptors, as a bit set of the first 64. */
static unsigned long long open_fds(void)
{
	unsigned long long set = 0;
	for (int fd = 0; fd < 64; fd++)
		if (fcntl(fd, F_GETFD) != -1)
			set |= 1ULL << fd;
	return set;
}

static int reap(pid_t pid, int rfd)
{
	char c = 0;
	ssize_t n = read(rfd, &c, 1);
	close(rfd);
	int st = -1;
	if (waitpid(pid, &st, 0) != pid)
		return 0;
	return n == 1 && c == 'x' && WIFEXITED(st) && WEXITSTATUS(st) == 7;
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "child") == 0)
		return child();
	int vforks = argc > 1 ? atoi(argv[1]) : 20;
	int spawns = argc > 2 ? atoi(argv[2]) : 10;
	static char self[4096];
	ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
	if (n <= 0) {
		printf("FAIL readlink /proc/self/exe: %s\n", errname(errno));
		return 1;
	}
	self[n] = '\0';
	char *child_argv[] = {self, "child", NULL};
	unsigned long long before = open_fds();
	int failures = 0;

	int ok = 0;
	for (int i = 0; i < vforks; i++) {
		int p[2];
		if (pipe(p) != 0)
			break;
		pid_t pid = vfork();
		if (pid == 0) {
			close(p[0]);
			if (dup2(p[1], 1) < 0)
				_exit(126);
			close(p[1]);
			execve(self, child_argv, environ);
			_exit(127);
		}
		close(p[1]);
		if (pid < 0) {
			close(p[0]);
			break;
		}
		ok += reap(pid, p[0]);
	}
	printf("vfork+execve: %d of %d children mapped 8 MiB, wrote and exited 7\n", ok, vforks);
	failures += ok != vforks;

	ok = 0;
	for (int i = 0; i < spawns; i++) {
		int p[2];
		if (pipe(p) != 0)
			break;
		posix_spawn_file_actions_t fa;
		posix_spawn_file_actions_init(&fa);
		posix_spawn_file_actions_addclose(&fa, p[0]);
		posix_spawn_file_actions_adddup2(&fa, p[1], 1);
		posix_spawn_file_actions_addclose(&fa, p[1]);
		pid_t pid;
		int rc = posix_spawn(&pid, self, &fa, NULL, child_argv, environ);
		posix_spawn_file_actions_destroy(&fa);
		close(p[1]);
		if (rc != 0) {
			close(p[0]);
			printf("FAIL posix_spawn: %s\n", errname(rc));
			break;
		}
		ok += reap(pid, p[0]);
	}
	printf("posix_spawn: %d of %d children mapped 8 MiB, wrote and exited 7\n", ok, spawns);
	failures += ok != spawns;

	unsigned long long after = open_fds();
	printf("descriptors after the loops: %s\n", after == before ? "the same as before" : "DIFFERENT");
	failures += after != before;
	if (failures) {
		printf("spawn_loop: %d failures\n", failures);
		return 1;
	}
	printf("spawn_loop ok\n");
	return 0;
}
