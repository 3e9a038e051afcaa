/* Job control: SIGSTOP / SIGTSTP / SIGTTIN stop a whole thread group (its
 * threads stop writing to a pipe), SIGCONT resumes it and runs its handler;
 * waitpid with WUNTRACED / WCONTINUED and waitid with WSTOPPED / WCONTINUED /
 * WNOWAIT report each change once; SIGCHLD carries CLD_STOPPED /
 * CLD_CONTINUED / CLD_KILLED (none for stops with SA_NOCLDSTOP); a stop
 * signal discards a pending SIGCONT and SIGCONT discards pending stops;
 * SIGKILL ends a stopped child, a default SIGTERM waits for SIGCONT; the
 * terminal stop signals do nothing to an orphaned process group, and a group
 * an exit leaves orphaned with a stopped member gets SIGHUP and SIGCONT.
 *
 * Every child runs in its own process group, so the terminal stop signals
 * act on a group that is not orphaned. Children report through exit
 * statuses and pipes, never through stdout. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/* fork() into a new process group (set by both sides, so there is no race). */
static pid_t spawn(void (*body)(void))
{
	fflush(stdout);
	pid_t pid = fork();
	if (pid < 0) {
		printf("FAIL fork: %s\n", errname(errno));
		exit(1);
	}
	if (pid == 0) {
		setpgid(0, 0);
		body();
		_exit(0);
	}
	setpgid(pid, pid);
	return pid;
}

/* fork() for a child that starts a session of its own (a group leader could not). */
static pid_t spawn_session(void (*body)(void))
{
	fflush(stdout);
	pid_t pid = fork();
	if (pid < 0) {
		printf("FAIL fork: %s\n", errname(errno));
		exit(1);
	}
	if (pid == 0) {
		if (setsid() < 0)
			_exit(9);
		body();
		_exit(0);
	}
	return pid;
}

/* waitpid that retries EINTR; returns the pid or -1. */
static pid_t wait_for(pid_t pid, int *st, int options)
{
	pid_t r;
	do
		r = waitpid(pid, st, options);
	while (r == -1 && errno == EINTR);
	return r;
}

/* Prints what waitpid reported (st is read after the call: arguments have no order). */
static void describe(const char *what, pid_t got, pid_t pid, const int *stp)
{
	int st = *stp;
	char line[160];
	if (got != pid) {
		snprintf(line, sizeof line, "%s: waitpid answered %s", what, got == 0 ? "0" : got < 0 ? errname(errno) : "another pid");
		check(0, line);
		return;
	}
	if (WIFSTOPPED(st))
		snprintf(line, sizeof line, "%s: stopped by %d", what, WSTOPSIG(st));
	else if (WIFCONTINUED(st))
		snprintf(line, sizeof line, "%s: continued", what);
	else if (WIFSIGNALED(st))
		snprintf(line, sizeof line, "%s: killed by %d", what, WTERMSIG(st));
	else
		snprintf(line, sizeof line, "%s: exited %d", what, WEXITSTATUS(st));
	check(1, line);
}

/* ---- a two-thread child that keeps writing to a pipe ---- */

static int beat[2];

static void beat_loop(char c)
{
	for (;;) {
		if (write(beat[1], &c, 1) != 1)
			_exit(4);
		sleep_ms(2);
	}
}

static void *beat_thread(void *arg)
{
	(void)arg;
	beat_loop('b');
	return NULL;
}

static void beating_child(void)
{
	pthread_t t;
	close(beat[0]);
	if (pthread_create(&t, NULL, beat_thread, NULL) != 0)
		_exit(3);
	beat_loop('a');
}

/* Reads what the pipe holds now; returns a bit per thread heard (1: 'a', 2: 'b'). */
static int drain(void)
{
	char buf[512];
	int heard = 0;
	ssize_t n;
	while ((n = read(beat[0], buf, sizeof buf)) > 0)
		for (ssize_t i = 0; i < n; i++)
			heard |= buf[i] == 'a' ? 1 : buf[i] == 'b' ? 2 : 4;
	return heard;
}

/* Waits up to 10 s to hear from both threads. */
static int both_beat(void)
{
	int heard = 0;
	for (int i = 0; i < 1000 && heard != 3; i++) {
		heard |= drain();
		if (heard != 3)
			sleep_ms(10);
	}
	return heard == 3;
}

static pid_t start_beating(void)
{
	if (pipe(beat)) {
		printf("FAIL pipe: %s\n", errname(errno));
		exit(1);
	}
	pid_t pid = spawn(beating_child);
	close(beat[1]);
	fcntl(beat[0], F_SETFL, O_NONBLOCK);
	return pid;
}

static void test_stop_continue_kill(void)
{
	pid_t pid = start_beating();
	int st = 0;
	check(both_beat(), "both threads of the child run");

	kill(pid, SIGSTOP);
	describe("SIGSTOP, waitpid WUNTRACED", wait_for(pid, &st, WUNTRACED), pid, &st);
	drain();
	sleep_ms(60);
	check(drain() == 0, "no thread of the stopped child runs");
	check(wait_for(pid, &st, WUNTRACED | WNOHANG) == 0, "a stop is reported once");
	check(wait_for(pid, &st, WNOHANG) == 0, "waitpid without WUNTRACED does not see a stop");

	kill(pid, SIGCONT);
	describe("SIGCONT, waitpid WCONTINUED", wait_for(pid, &st, WCONTINUED), pid, &st);
	check(wait_for(pid, &st, WCONTINUED | WNOHANG) == 0, "a continue is reported once");
	check(both_beat(), "both threads run again after SIGCONT");

	kill(pid, SIGSTOP);
	describe("stopped again", wait_for(pid, &st, WUNTRACED), pid, &st);
	kill(pid, SIGKILL);
	describe("SIGKILL of the stopped child", wait_for(pid, &st, WUNTRACED), pid, &st);
	close(beat[0]);
}

static void test_term_while_stopped(void)
{
	pid_t pid = start_beating();
	int st = 0;
	both_beat();
	kill(pid, SIGSTOP);
	describe("stopped", wait_for(pid, &st, WUNTRACED), pid, &st);
	kill(pid, SIGTERM);
	sleep_ms(50);
	check(wait_for(pid, &st, WNOHANG) == 0, "a stopped child keeps a default SIGTERM pending");
	kill(pid, SIGCONT);
	describe("SIGTERM acts after SIGCONT", wait_for(pid, &st, 0), pid, &st);
	close(beat[0]);
}

/* ---- SIGCHLD with CLD_* codes ---- */

static void idle_child(void)
{
	for (;;)
		pause();
}

static const char *cld(int code)
{
	switch (code) {
	case CLD_EXITED: return "CLD_EXITED";
	case CLD_KILLED: return "CLD_KILLED";
	case CLD_DUMPED: return "CLD_DUMPED";
	case CLD_STOPPED: return "CLD_STOPPED";
	case CLD_CONTINUED: return "CLD_CONTINUED";
	}
	return "?";
}

static void expect_sigchld(const char *what, pid_t pid)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	struct timespec ts = { 10, 0 };
	siginfo_t si;
	memset(&si, 0, sizeof si);
	int r = sigtimedwait(&set, &si, &ts);
	printf("%s: %s %s status %d pid %s uid %s\n", what, r == SIGCHLD ? "SIGCHLD" : r < 0 ? errname(errno) : "other",
	       cld(si.si_code), si.si_status, si.si_pid == pid ? "child" : "other", si.si_uid == getuid() ? "ours" : "other");
}

static void nop_handler(int sig)
{
	(void)sig;
}

static void test_sigchld_codes(void)
{
	sigset_t chld, old;
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	sigprocmask(SIG_BLOCK, &chld, &old);
	int st = 0;

	pid_t pid = spawn(idle_child);
	kill(pid, SIGSTOP);
	describe("idle child stopped", wait_for(pid, &st, WUNTRACED), pid, &st);
	expect_sigchld("after SIGSTOP", pid);
	kill(pid, SIGCONT);
	expect_sigchld("after SIGCONT", pid);
	describe("idle child continued", wait_for(pid, &st, WCONTINUED), pid, &st);
	kill(pid, SIGKILL);
	describe("idle child killed", wait_for(pid, &st, 0), pid, &st);
	expect_sigchld("after SIGKILL", pid);

	/* SA_NOCLDSTOP: no SIGCHLD for stops and continues, one for the death. */
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = nop_handler;
	sa.sa_flags = SA_NOCLDSTOP;
	sigaction(SIGCHLD, &sa, NULL);
	pid = spawn(idle_child);
	kill(pid, SIGSTOP);
	describe("SA_NOCLDSTOP: stopped", wait_for(pid, &st, WUNTRACED), pid, &st);
	kill(pid, SIGCONT);
	describe("SA_NOCLDSTOP: continued", wait_for(pid, &st, WCONTINUED), pid, &st);
	sleep_ms(50);
	sigset_t pending;
	sigpending(&pending);
	check(!sigismember(&pending, SIGCHLD), "SA_NOCLDSTOP: no SIGCHLD for stop and continue");
	kill(pid, SIGKILL);
	describe("SA_NOCLDSTOP: killed", wait_for(pid, &st, 0), pid, &st);
	expect_sigchld("SA_NOCLDSTOP: after SIGKILL", pid);

	sa.sa_handler = SIG_DFL;
	sa.sa_flags = 0;
	sigaction(SIGCHLD, &sa, NULL);
	sigprocmask(SIG_SETMASK, &old, NULL);
}

/* ---- waitid ---- */

static void show_waitid(const char *what, int r, const siginfo_t *si, pid_t pid)
{
	if (r != 0) {
		printf("%s: waitid %s\n", what, errname(errno));
		failures++;
		return;
	}
	if (si->si_pid == 0) {
		printf("%s: nothing (signo %d)\n", what, si->si_signo);
		return;
	}
	printf("%s: signo %d code %s status %d pid %s uid %s\n", what, si->si_signo, cld(si->si_code), si->si_status,
	       si->si_pid == pid ? "child" : "other", si->si_uid == getuid() ? "ours" : "other");
}

static int waitid_retry(idtype_t type, id_t id, siginfo_t *si, int options)
{
	int r;
	memset(si, 0, sizeof *si);
	do
		r = waitid(type, id, si, options);
	while (r == -1 && errno == EINTR);
	return r;
}

static void test_waitid(void)
{
	siginfo_t si;
	pid_t pid = spawn(idle_child);
	kill(pid, SIGTSTP);
	show_waitid("WSTOPPED|WNOWAIT", waitid_retry(P_PID, pid, &si, WSTOPPED | WNOWAIT), &si, pid);
	show_waitid("WSTOPPED again", waitid_retry(P_PID, pid, &si, WSTOPPED), &si, pid);
	show_waitid("WSTOPPED|WNOHANG, already collected", waitid_retry(P_PID, pid, &si, WSTOPPED | WNOHANG), &si, pid);
	show_waitid("WEXITED|WNOHANG while stopped", waitid_retry(P_PGID, pid, &si, WEXITED | WNOHANG), &si, pid);
	kill(pid, SIGCONT);
	show_waitid("WCONTINUED", waitid_retry(P_ALL, 0, &si, WCONTINUED), &si, pid);
	kill(pid, SIGTERM);
	show_waitid("WEXITED after SIGTERM", waitid_retry(P_PID, pid, &si, WEXITED), &si, pid);
	errno = 0;
	check(waitid(P_PID, pid, &si, WEXITED | WNOHANG) == -1 && errno == ECHILD, "the child is gone");
}

/* ---- a child that stops itself ---- */

static void self_stopping_child(void)
{
	raise(SIGTSTP);
	raise(SIGTTIN);
	raise(SIGTTOU);
	_exit(7);
}

static void test_raise(void)
{
	int st = 0;
	pid_t pid = spawn(self_stopping_child);
	describe("raise(SIGTSTP)", wait_for(pid, &st, WUNTRACED), pid, &st);
	kill(pid, SIGCONT);
	describe("raise(SIGTTIN)", wait_for(pid, &st, WUNTRACED), pid, &st);
	kill(pid, SIGCONT);
	describe("raise(SIGTTOU)", wait_for(pid, &st, WUNTRACED), pid, &st);
	kill(pid, SIGCONT);
	describe("after the last SIGCONT", wait_for(pid, &st, WUNTRACED), pid, &st);
}

/* ---- SIGCONT's handler runs after the continue ---- */

static volatile sig_atomic_t got_cont;

static void cont_handler(int sig)
{
	(void)sig;
	got_cont = 1;
}

static void cont_child(void)
{
	while (!got_cont)
		pause();
	_exit(5);
}

static void test_cont_handler(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = cont_handler;
	sigaction(SIGCONT, &sa, NULL);
	int st = 0;
	pid_t pid = spawn(cont_child);
	sa.sa_handler = SIG_DFL;
	sigaction(SIGCONT, &sa, NULL);
	kill(pid, SIGSTOP);
	describe("handler child stopped", wait_for(pid, &st, WUNTRACED), pid, &st);
	kill(pid, SIGCONT);
	describe("handler child after SIGCONT", wait_for(pid, &st, 0), pid, &st);
}

/* ---- pending stop and continue signals discard each other ---- */

static int to_child[2], to_parent[2];

static void report_pending(void)
{
	sigset_t p;
	sigpending(&p);
	char c = (char)((sigismember(&p, SIGTSTP) ? 1 : 0) | (sigismember(&p, SIGCONT) ? 2 : 0) | (sigismember(&p, SIGTTOU) ? 4 : 0));
	if (write(to_parent[1], &c, 1) != 1)
		_exit(2);
}

static void blocking_child(void)
{
	char c;
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTSTP);
	sigaddset(&set, SIGCONT);
	sigaddset(&set, SIGTTOU);
	sigprocmask(SIG_BLOCK, &set, NULL);
	close(to_child[1]);
	close(to_parent[0]);
	report_pending();
	while (read(to_child[0], &c, 1) == 1)
		report_pending();
	_exit(0);
}

static int ask_pending(void)
{
	char c = 0;
	if (write(to_child[1], "?", 1) != 1 || read(to_parent[0], &c, 1) != 1)
		return -1;
	return c;
}

static void test_discard(void)
{
	if (pipe(to_child) || pipe(to_parent)) {
		printf("FAIL pipe: %s\n", errname(errno));
		failures++;
		return;
	}
	int st = 0;
	pid_t pid = spawn(blocking_child);
	char c;
	check(read(to_parent[0], &c, 1) == 1 && c == 0, "nothing pending at first");
	kill(pid, SIGTSTP);
	printf("blocked SIGTSTP sent: pending mask %d\n", ask_pending());
	kill(pid, SIGCONT);
	printf("then SIGCONT: pending mask %d\n", ask_pending());
	kill(pid, SIGTTOU);
	printf("then SIGTTOU: pending mask %d\n", ask_pending());
	close(to_child[1]);
	describe("blocking child", wait_for(pid, &st, WUNTRACED), pid, &st);
	close(to_child[0]);
	close(to_parent[0]);
	close(to_parent[1]);
}

/* ---- orphaned process groups ---- */

/* In a new session the child's group is orphaned (its parent is in another session): SIGTSTP does nothing. */
static void orphan_tstp_child(void)
{
	raise(SIGTSTP);
	raise(SIGTTOU);
	_exit(6);
}

static int hup_pipe[2];
static volatile sig_atomic_t got_hup;

static void note_signal(int sig)
{
	char c = sig == SIGHUP ? 'H' : 'C';
	if (sig == SIGHUP)
		got_hup = 1;
	if (write(hup_pipe[1], &c, 1) != 1)
		_exit(2);
}

/* Stops in a group of its own, inside the session its parent leads. */
static void stopped_grandchild(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = note_signal;
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGCONT, &sa, NULL);
	raise(SIGTSTP);
	while (!got_hup)
		pause();
	_exit(0);
}

/* A session leader whose stopped child's group becomes orphaned when it exits. */
static void session_leader(void)
{
	pid_t gc = spawn(stopped_grandchild);
	int st = 0;
	pid_t r = wait_for(gc, &st, WUNTRACED);
	_exit(r == gc && WIFSTOPPED(st) && WSTOPSIG(st) == SIGTSTP ? 0 : 1);
}

static void test_orphaned(void)
{
	int st = 0;
	pid_t pid = spawn_session(orphan_tstp_child);
	describe("SIGTSTP and SIGTTOU in an orphaned group", wait_for(pid, &st, WUNTRACED), pid, &st);

	if (pipe(hup_pipe)) {
		printf("FAIL pipe: %s\n", errname(errno));
		failures++;
		return;
	}
	pid = spawn_session(session_leader);
	describe("the session leader saw its child stop, and exited", wait_for(pid, &st, 0), pid, &st);
	close(hup_pipe[1]);
	char buf[8];
	int hup = 0, cont = 0;
	ssize_t n;
	while ((n = read(hup_pipe[0], buf, sizeof buf)) > 0)
		for (ssize_t i = 0; i < n; i++) {
			hup += buf[i] == 'H';
			cont += buf[i] == 'C';
		}
	printf("the stopped group left orphaned got SIGHUP %d, SIGCONT %d\n", hup, cont);
	close(hup_pipe[0]);
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	alarm(60);
	test_stop_continue_kill();
	test_term_while_stopped();
	test_sigchld_codes();
	test_waitid();
	test_raise();
	test_cont_handler();
	test_discard();
	test_orphaned();
	if (failures) {
		printf("job_control: %d failures\n", failures);
		return 1;
	}
	printf("job_control ok\n");
	return 0;
}
