/* execve and execveat: execveat relative to a directory descriptor, of an
 * open file (fexecve, AT_EMPTY_PATH, also an O_PATH descriptor), with
 * AT_SYMLINK_NOFOLLOW, of a #! script through a descriptor (ENOENT when the
 * descriptor is close-on-exec), AT_EXECFN as /dev/fd/N[/name], and the
 * errors. Then exec from a thread that is not the main one while other
 * threads live: they are gone, the exec'ing thread has the pid as its tid,
 * handled signals are back to SIG_DFL, ignored ones stay ignored, the blocked
 * mask is kept. Every exec happens in a child; children report through their
 * exit status.
 *
 * Child modes (argv[1]):
 *   exit N                 exit with status N
 *   execfn NAME            exit 0 if getauxval(AT_EXECFN) is NAME
 *   after-exec PID PPID    the checks after an exec from a thread (exit 0 or a bit mask)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "expect.h"

extern char **environ;

static char self[PATH_MAX];

#ifndef AT_EMPTY_PATH
#define AT_EMPTY_PATH 0x1000
#endif

static long execveat_(int dirfd, const char *path, char *const argv[], int flags)
{
	return syscall(SYS_execveat, dirfd, path, argv, environ, flags);
}

/* Waits for pid: its exit status, or -1 if it did not exit normally. */
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

/* ---- after an exec from a thread ---- */

static int count_tasks(void)
{
	char buf[4096];
	FILE *f = fopen("/proc/self/status", "r");
	int n = -1;
	if (!f)
		return -1;
	while (fgets(buf, sizeof buf, f))
		if (strncmp(buf, "Threads:", 8) == 0)
			n = atoi(buf + 8);
	fclose(f);
	return n;
}

static int after_exec(pid_t pid, pid_t ppid)
{
	int bad = 0;
	if (getpid() != pid)
		bad |= 1;
	if (syscall(SYS_gettid) != getpid())
		bad |= 2;
	if (getppid() != ppid)
		bad |= 4;
	struct sigaction sa;
	if (sigaction(SIGUSR1, NULL, &sa) != 0 || sa.sa_handler != SIG_DFL)
		bad |= 8;
	if (sigaction(SIGUSR2, NULL, &sa) != 0 || sa.sa_handler != SIG_IGN)
		bad |= 16;
	sigset_t mask;
	sigprocmask(SIG_SETMASK, NULL, &mask);
	if (!sigismember(&mask, SIGTERM) || sigismember(&mask, SIGINT))
		bad |= 32;
	if (count_tasks() != 1)
		bad |= 64;
	return bad;
}

/* ---- exec from a thread ---- */

static pid_t parent_pid;
static volatile int spin_stop;

static void on_usr1(int sig)
{
	(void)sig;
}

static void *spinner(void *arg)
{
	(void)arg;
	while (!spin_stop)
		;
	return NULL;
}

static void *sleeper(void *arg)
{
	(void)arg;
	for (;;)
		pause();
	return NULL;
}

static void *exec_thread(void *arg)
{
	(void)arg;
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	char pid[16], ppid[16];
	snprintf(pid, sizeof pid, "%d", (int)getpid());
	snprintf(ppid, sizeof ppid, "%d", (int)parent_pid);
	char *av[] = {self, "after-exec", pid, ppid, NULL};
	execve(self, av, environ);
	_exit(120);
}

/* In a child: a spinning thread, a sleeping one, and a third that execs while the main thread waits for it. */
static void exec_from_thread(int from_main)
{
	parent_pid = getppid();
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_usr1;
	sigaction(SIGUSR1, &sa, NULL);
	signal(SIGUSR2, SIG_IGN);
	pthread_t t1, t2, t3;
	if (pthread_create(&t1, NULL, spinner, NULL) || pthread_create(&t2, NULL, sleeper, NULL))
		_exit(121);
	if (from_main)
		exec_thread(NULL);
	if (pthread_create(&t3, NULL, exec_thread, NULL))
		_exit(122);
	pthread_join(t3, NULL);
	_exit(123);
}

static void exec_with_threads(int from_main, const char *what)
{
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0)
		exec_from_thread(from_main);
	int s = wait_exit(pid);
	printf("%s %s: the new image checked itself (status %d)\n", s == 0 ? "ok" : "FAIL", what, s);
	if (s != 0)
		failures++;
}

/* ---- execveat ---- */

/* Forks; the child runs fn(arg) (an exec) and exits 127 if it returns. Returns the child's exit status. */
static int in_child(void (*fn)(void *), void *arg)
{
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		fn(arg);
		_exit(127);
	}
	return wait_exit(pid);
}

struct at_call {
	int fd;
	const char *path;
	int flags;
	char *argv[5];
};

static void do_execveat(void *p)
{
	struct at_call *c = p;
	execveat_(c->fd, c->path, c->argv, c->flags);
}

static void do_fexecve(void *p)
{
	struct at_call *c = p;
	fexecve(c->fd, c->argv, environ);
}

static void status_is(int got, int want, const char *what)
{
	printf("%s %s (status %d)\n", got == want ? "ok" : "FAIL", what, got);
	if (got != want)
		failures++;
}

static int write_file(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
	if (fd < 0)
		return -1;
	ssize_t n = write(fd, text, strlen(text));
	close(fd);
	return n == (ssize_t)strlen(text) ? 0 : -1;
}

static void test_execveat(void)
{
	char dir[PATH_MAX], base[NAME_MAX + 1];
	strcpy(dir, self);
	char *slash = strrchr(dir, '/');
	strcpy(base, slash + 1);
	*slash = 0;

	/* An absolute path, dirfd ignored. */
	struct at_call c = {AT_FDCWD, self, 0, {self, "exit", "11", NULL}};
	status_is(in_child(do_execveat, &c), 11, "execveat(AT_FDCWD, absolute path) runs it");
	c.fd = 12345;
	status_is(in_child(do_execveat, &c), 11, "execveat(bad fd, absolute path) ignores the descriptor");

	/* A name relative to a directory descriptor: AT_EXECFN is /dev/fd/N/name. */
	int dirfd = open(dir, O_RDONLY | O_DIRECTORY);
	check(dirfd >= 0, "open the program's directory");
	char execfn[PATH_MAX + 32];
	snprintf(execfn, sizeof execfn, "/dev/fd/%d/%s", dirfd, base);
	struct at_call r = {dirfd, base, 0, {self, "execfn", execfn, NULL}};
	status_is(in_child(do_execveat, &r), 0, "execveat(dirfd, relative name) runs it, AT_EXECFN /dev/fd/N/name");
	r.flags = AT_SYMLINK_NOFOLLOW;
	r.argv[1] = "exit";
	r.argv[2] = "12";
	status_is(in_child(do_execveat, &r), 12, "execveat(dirfd, name, AT_SYMLINK_NOFOLLOW) of a regular file runs it");

	/* fexecve and AT_EMPTY_PATH: the open file itself, even close-on-exec; AT_EXECFN is /dev/fd/N. */
	int fd = open(self, O_RDONLY | O_CLOEXEC);
	check(fd >= 0, "open the program, O_CLOEXEC");
	struct at_call f = {fd, "", 0, {self, "exit", "13", NULL}};
	status_is(in_child(do_fexecve, &f), 13, "fexecve of a close-on-exec descriptor runs it");
	snprintf(execfn, sizeof execfn, "/dev/fd/%d", fd);
	struct at_call e = {fd, "", AT_EMPTY_PATH, {self, "execfn", execfn, NULL}};
	status_is(in_child(do_execveat, &e), 0, "execveat(fd, \"\", AT_EMPTY_PATH) runs it, AT_EXECFN /dev/fd/N");
	int pfd = open(self, O_PATH);
	struct at_call p = {pfd, "", AT_EMPTY_PATH, {self, "exit", "14", NULL}};
	status_is(in_child(do_execveat, &p), 14, "execveat of an O_PATH descriptor runs it");
	close(pfd);

	/* A symlink to the program, and a script, in a fresh directory. */
	char tmp[] = "/tmp/nommu-exec-XXXXXX";
	check(mkdtemp(tmp) != NULL, "mkdtemp");
	char link[PATH_MAX + 32], script[PATH_MAX + 32], plain[PATH_MAX + 32];
	snprintf(link, sizeof link, "%s/link", tmp);
	snprintf(script, sizeof script, "%s/script", tmp);
	snprintf(plain, sizeof plain, "%s/plain", tmp);
	check(symlink(self, link) == 0, "symlink to the program");
	check(write_file(script, "#!/bin/sh\nexit 15\n", 0755) == 0, "a #! script");
	check(write_file(plain, "not a program\n", 0644) == 0, "a file without execute permission");
	struct at_call l = {AT_FDCWD, link, 0, {self, "exit", "16", NULL}};
	status_is(in_child(do_execveat, &l), 16, "execveat of a symlink follows it");
	char *av[] = {self, "exit", "1", NULL};
	EXPECT_ERR(execveat_(AT_FDCWD, link, av, AT_SYMLINK_NOFOLLOW), ELOOP, "execveat(symlink, AT_SYMLINK_NOFOLLOW)");
	int tmpfd = open(tmp, O_RDONLY | O_DIRECTORY);
	EXPECT_ERR(execveat_(tmpfd, "link", av, AT_SYMLINK_NOFOLLOW), ELOOP, "execveat(dirfd, symlink, AT_SYMLINK_NOFOLLOW)");

	int sfd = open(script, O_RDONLY);
	struct at_call s = {sfd, "", AT_EMPTY_PATH, {"script", NULL}};
	status_is(in_child(do_execveat, &s), 15, "execveat of a #! script's descriptor runs it");
	close(sfd);
	sfd = open(script, O_RDONLY | O_CLOEXEC);
	char *sav[] = {"script", NULL};
	EXPECT_ERR(execveat_(sfd, "", sav, AT_EMPTY_PATH), ENOENT, "execveat of a #! script's close-on-exec descriptor");
	close(sfd);

	/* Errors, all before anything is replaced. */
	EXPECT_ERR(execveat_(dirfd, base, av, 0x1), EINVAL, "execveat with an unknown flag");
	EXPECT_ERR(execveat_(fd, "", av, 0), ENOENT, "execveat(fd, \"\") without AT_EMPTY_PATH");
	EXPECT_ERR(execveat_(12345, base, av, 0), EBADF, "execveat(bad fd, relative name)");
	EXPECT_ERR(execveat_(fd, base, av, 0), ENOTDIR, "execveat(regular file's fd, relative name)");
	EXPECT_ERR(execveat_(dirfd, "", av, AT_EMPTY_PATH), EACCES, "execveat(directory fd, \"\", AT_EMPTY_PATH)");
	int plainfd = open(plain, O_RDONLY);
	EXPECT_ERR(execveat_(plainfd, "", av, AT_EMPTY_PATH), EACCES, "execveat of a file without execute permission");
	EXPECT_ERR(execveat_(tmpfd, "missing", av, 0), ENOENT, "execveat(dirfd, missing name)");
	close(plainfd);
	close(tmpfd);
	close(fd);
	close(dirfd);
	unlink(link);
	unlink(script);
	unlink(plain);
	rmdir(tmp);
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "exit") == 0)
		_exit(atoi(argv[2]));
	if (argc == 3 && strcmp(argv[1], "execfn") == 0) {
		const char *fn = (const char *)getauxval(AT_EXECFN);
		_exit(fn && strcmp(fn, argv[2]) == 0 ? 0 : 1);
	}
	if (argc == 4 && strcmp(argv[1], "after-exec") == 0)
		_exit(after_exec(atoi(argv[2]), atoi(argv[3])));
	if (argc != 1) {
		fprintf(stderr, "exec: bad arguments\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
	if (n <= 0) {
		printf("FAIL readlink /proc/self/exe: %s\n", errname(errno));
		return 1;
	}
	self[n] = 0;

	test_execveat();
	exec_with_threads(0, "exec from a second thread while two others live");
	exec_with_threads(1, "exec from the main thread while two others live");

	if (failures) {
		printf("exec: %d failures\n", failures);
		return 1;
	}
	printf("exec ok\n");
	return 0;
}
