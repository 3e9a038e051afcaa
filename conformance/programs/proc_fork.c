/* fork() with private (copy-on-write) memory: parent and child both modify
 * a global, a heap buffer and a stack variable and each must see only its
 * own values; a grandchild (nested fork); exit statuses through
 * WEXITSTATUS; a child killed by SIGSEGV; reaping with a WNOHANG loop;
 * getppid() in a child; children of clone() whose exit signal is not SIGCHLD
 * (SIGUSR1, or none), which only __WALL / __WCLONE wait for; orphans
 * re-parented to the nearest subreaper (PR_SET_CHILD_SUBREAPER), else to the
 * first process. Children report through exit statuses and pipes, never
 * through stdout. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
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

/* clone() without CLONE_VM, as fork, but with `exit_signal` for the parent; the child exits with `code`. */
static pid_t clone_child(int exit_signal, int code)
{
	fflush(stdout);
	long r = syscall(SYS_clone, (unsigned long)exit_signal, 0L, 0L, 0L, 0L);
	if (r == 0)
		_exit(code);
	return (pid_t)r;
}

/* Waits until pid has exited, without reaping it (waitid WNOWAIT, __WALL). */
static int wait_gone(pid_t pid)
{
	siginfo_t si;
	int r;
	do
		r = waitid(P_PID, (id_t)pid, &si, WEXITED | WNOWAIT | __WALL);
	while (r == -1 && errno == EINTR);
	return r;
}

/* waitpid, again after EINTR: "pid status" or "-1 ERRNO" as a string for the report. */
static const char *waited(pid_t pid, int options, pid_t want_pid, int want_status)
{
	static char buf[64];
	int st = 0;
	pid_t r;
	do
		r = waitpid(pid, &st, options);
	while (r == -1 && errno == EINTR);
	if (r == -1)
		snprintf(buf, sizeof buf, "%s", errname(errno));
	else
		snprintf(buf, sizeof buf, "%s, status %d", r == want_pid ? "the child" : "another pid",
		         WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	if (!(want_pid == -1 ? r == -1 && errno == ECHILD : r == want_pid && WIFEXITED(st) && WEXITSTATUS(st) == want_status))
		failures++;
	return buf;
}

static volatile sig_atomic_t usr1_seen;

static void on_usr1(int sig)
{
	(void)sig;
	usr1_seen++;
}

/* Polls getppid() until it is no longer `old` (5 s at most); returns the new one. */
static pid_t ppid_change(pid_t old)
{
	for (int i = 0; i < 5000 && getppid() == old; i++) {
		struct timespec ts = {0, 1000000};
		nanosleep(&ts, NULL);
	}
	return getppid();
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

	/* Children of clone() with another exit signal than SIGCHLD: only __WALL and __WCLONE wait for them. */
	{
		struct sigaction sa;
		memset(&sa, 0, sizeof sa);
		sa.sa_handler = on_usr1;
		sigaction(SIGUSR1, &sa, NULL);
		pid_t c = clone_child(SIGUSR1, 21);
		check(c > 0 && wait_gone(c) == 0, "clone(SIGUSR1) child exited");
		printf("waitpid(-1, WNOHANG) with only that child: %s\n", waited(-1, WNOHANG, -1, 0));
		printf("waitpid(child, 0): %s\n", waited(c, 0, -1, 0));
		printf("waitpid(-1, __WCLONE): %s\n", waited(-1, __WCLONE, c, 21));
		check(usr1_seen == 1, "the parent got SIGUSR1, not SIGCHLD, at its exit");

		c = clone_child(0, 22);
		check(c > 0 && wait_gone(c) == 0, "clone(exit signal 0) child exited");
		printf("waitpid(-1, WNOHANG): %s\n", waited(-1, WNOHANG, -1, 0));
		printf("waitpid(-1, __WALL): %s\n", waited(-1, __WALL, c, 22));

		pid_t f = fork();
		if (f == 0)
			_exit(23);
		check(f > 0 && wait_gone(f) == 0, "forked child exited");
		printf("waitpid(-1, __WCLONE | WNOHANG) with only a forked child: %s\n", waited(-1, __WCLONE | WNOHANG, -1, 0));
		printf("waitpid(-1, __WALL): %s\n", waited(-1, __WALL, f, 23));

		/* Both kinds: plain waits see the forked one only, __WCLONE the other only. */
		c = clone_child(0, 24);
		check(c > 0 && wait_gone(c) == 0, "clone(exit signal 0) child exited");
		fflush(stdout);
		f = fork();
		if (f == 0)
			_exit(25);
		printf("waitpid(-1, 0) with a clone child and a forked one: %s\n", waited(-1, 0, f, 25));
		printf("then waitpid(-1, WNOHANG): %s\n", waited(-1, WNOHANG, -1, 0));
		siginfo_t si;
		memset(&si, 0, sizeof si);
		int r = waitid(P_ALL, 0, &si, WEXITED | __WCLONE);
		check(r == 0 && si.si_pid == c && si.si_code == CLD_EXITED && si.si_status == 24, "waitid(P_ALL, WEXITED | __WCLONE) reaps the clone child");
		printf("no children left: %s\n", waited(-1, __WALL | WNOHANG, -1, 0));
		signal(SIGUSR1, SIG_DFL);
	}

	/* Orphans: to the nearest living subreaper above them, else to the first process. This process is a
	 * subreaper, so that natively too they come back to it, not to the host's init or another subreaper;
	 * under nommu it is the first process as well. */
	{
		int on = -1;
		check(prctl(PR_GET_CHILD_SUBREAPER, &on) == 0 && on == 0, "PR_GET_CHILD_SUBREAPER: not a subreaper at first");
		check(prctl(PR_SET_CHILD_SUBREAPER, 1) == 0, "PR_SET_CHILD_SUBREAPER");
		check(prctl(PR_GET_CHILD_SUBREAPER, &on) == 0 && on == 1, "PR_GET_CHILD_SUBREAPER: now one");
		pid_t top = getpid();
		int report[2], go[2];
		if (pipe(report) || pipe(go)) {
			printf("FAIL pipe: %s\n", errname(errno));
			return 1;
		}
		fflush(stdout);
		pid_t s = fork();
		if (s == 0) {
			/* S, a subreaper too: its child A forks B and exits. */
			int sub = -1;
			prctl(PR_GET_CHILD_SUBREAPER, &sub);
			prctl(PR_SET_CHILD_SUBREAPER, 1);
			pid_t me = getpid();
			pid_t a = fork();
			if (a == 0) {
				/* A's pid from A itself: B's getppid() may already be S if A exits first. */
				pid_t apid = getpid();
				if (fork() == 0) {
					/* B: first orphaned by A (to S), then by S (to the top). */
					char c = ppid_change(apid) == me ? 'S' : 'x';
					if (write(report[1], &c, 1) != 1 || write(go[1], &c, 1) != 1)
						_exit(1);
					c = ppid_change(me) == top ? 'T' : 'y';
					_exit(write(report[1], &c, 1) == 1 ? 0 : 1);
				}
				_exit(0);
			}
			waitpid(a, NULL, 0);
			char c;
			if (read(go[0], &c, 1) != 1)
				_exit(2);
			_exit(sub == 0 ? 0 : 3); /* the flag is not inherited */
		}
		close(report[1]);
		close(go[0]);
		close(go[1]);
		int st = 0;
		check(waitpid(s, &st, 0) == s && WIFEXITED(st) && WEXITSTATUS(st) == 0, "a forked child is not a subreaper");
		char got[3] = {0};
		ssize_t n = 0, k;
		while (n < 2 && (k = read(report[0], got + n, (size_t)(2 - n))) > 0)
			n += k;
		close(report[0]);
		check(n >= 1 && got[0] == 'S', "an orphan's parent is then the subreaper above it");
		check(n == 2 && got[1] == 'T', "when that one exits, the subreaper above it (here the first process)");
		check(wait(&st) > 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0, "the adopted orphan is waited for by its new parent");
		errno = 0;
		check(waitpid(-1, NULL, WNOHANG) == -1 && errno == ECHILD, "no children left");
	}

	/* A zombie is still there until it is reaped: the calls that name it by pid find it. */
	{
		pid_t z = fork();
		if (z == 0)
			_exit(9);
		siginfo_t si;
		memset(&si, 0, sizeof si);
		check(waitid(P_PID, z, &si, WEXITED | WNOWAIT) == 0 && si.si_pid == z, "waitid WNOWAIT sees the child exit and leaves it");
		check(kill(z, 0) == 0, "kill(zombie, 0) finds it");
		check(kill(z, SIGTERM) == 0, "a signal to a zombie is accepted (and lost)");
		check(syscall(SYS_tgkill, z, z, 0) == 0, "tgkill of the zombie leader finds it");
		check(syscall(SYS_sched_getscheduler, z) == 0, "sched_getscheduler of a zombie: SCHED_OTHER");
		errno = 0;
		check(getpriority(PRIO_PROCESS, z) == 0 && errno == 0, "getpriority of a zombie");
		int st = 0;
		check(waitpid(z, &st, 0) == z && WIFEXITED(st) && WEXITSTATUS(st) == 9, "then it is reaped with its status");
		errno = 0;
		check(kill(z, 0) == -1 && errno == ESRCH, "after that kill answers ESRCH");
		errno = 0;
		check(syscall(SYS_sched_getscheduler, z) == -1 && errno == ESRCH, "and sched_getscheduler ESRCH");
	}

	if (failures) {
		printf("proc_fork: %d failures\n", failures);
		return 1;
	}
	printf("proc_fork ok\n");
	return 0;
}
