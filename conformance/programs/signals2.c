/* Signals, part two: the calls that are never restarted after a handler
 * (even with SA_RESTART) next to some that are; select and pselect6 that
 * wait before the descriptor becomes ready; a signal that arrives while a
 * woken wait is about to sleep again; handler frames that do not fit (stack
 * overflow through handlers, an overflowing alternate stack, rt_sigreturn
 * from unreadable memory) and a fault inside a handler; thread-directed
 * versus process-directed delivery, rt_tgsigqueueinfo; a handler that
 * changes the saved registers; ppoll and pselect6 with a signal mask;
 * sigaction(SIGSTOP), getitimer, kill(0, ...) and kill of a zombie.
 *
 * Everything that waits has a way out (a repeating timer whose fifth run
 * makes the call succeed), so a wrong answer prints instead of hanging.
 * Nothing printed depends on timing, pids or addresses. */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#include "check.h"
#include "sigcheck.h"

#define FUTEX_WAIT_PRIVATE 128
#define FUTEX_WAKE_PRIVATE 129

static void block(int sig, int how)
{
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, sig);
	sigprocmask(how, &s, NULL);
}

static int is_blocked(int sig)
{
	sigset_t cur;
	sigprocmask(SIG_SETMASK, NULL, &cur);
	return sigismember(&cur, sig) == 1;
}

static void no_core(void)
{
	struct rlimit rl = {0, 0};
	setrlimit(RLIMIT_CORE, &rl);
}

/* Describes a child's wait status without its pid. */
static const char *status_text(int st)
{
	static char buf[64];
	if (WIFEXITED(st))
		snprintf(buf, sizeof buf, "exited %d", WEXITSTATUS(st));
	else if (WIFSIGNALED(st))
		snprintf(buf, sizeof buf, "killed by %s", WTERMSIG(st) == SIGSEGV ? "SIGSEGV" : "another signal");
	else
		snprintf(buf, sizeof buf, "status %#x", st);
	return buf;
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* --- SIGALRM every 30 ms; its fifth run calls the way out -------------------- */

static volatile sig_atomic_t alrm_runs;
static void (*volatile alrm_way_out)(void);

static void alrm_handler(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)si;
	(void)uc;
	if (++alrm_runs == 5 && alrm_way_out) {
		int e = errno;
		alrm_way_out();
		errno = e;
	}
}

static void arm(void (*way_out)(void))
{
	alrm_runs = 0;
	alrm_way_out = way_out;
	struct itimerval it = {{0, 30000}, {0, 30000}};
	setitimer(ITIMER_REAL, &it, NULL);
}

static void disarm(void)
{
	struct itimerval it = {{0, 0}, {0, 0}};
	setitimer(ITIMER_REAL, &it, NULL);
	alrm_way_out = NULL;
}

static int way_out_fd = -1;
static void write_way_out(void)
{
	if (write(way_out_fd, "x", 1) != 1)
		alrm_runs = 1000;
}

static void report(const char *what, long r, int e)
{
	printf("%s: %ld %s, handler ran: %s\n", what, r, r < 0 ? errname(e) : "-", yesno(alrm_runs > 0));
}

static volatile uint32_t futex_word;
static void futex_way_out(void)
{
	futex_word = 1;
	syscall(SYS_futex, &futex_word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

static void usr2_way_out(void)
{
	raise(SIGUSR2);
}

static void test_never_restarted(void)
{
	install(SIGALRM, alrm_handler, SA_RESTART);
	int p[2];
	char c;
	long r;
	int e;

	/* poll, select and their variants on an empty pipe. */
	if (pipe(p)) {
		printf("FAIL pipe: %s\n", errname(errno));
		failures++;
		return;
	}
	way_out_fd = p[1];
	struct pollfd pfd = {p[0], POLLIN, 0};
	fd_set rs;

	arm(write_way_out);
	r = syscall(SYS_poll, &pfd, 1, -1);
	e = errno;
	disarm();
	report("poll without timeout, SA_RESTART", r, e);
	if (r > 0 && read(p[0], &c, 1) != 1)
		failures++;

	arm(write_way_out);
	r = syscall(SYS_poll, &pfd, 1, 10000);
	e = errno;
	disarm();
	report("poll with a 10 s timeout, SA_RESTART", r, e);
	if (r > 0 && read(p[0], &c, 1) != 1)
		failures++;

	arm(write_way_out);
	FD_ZERO(&rs);
	FD_SET(p[0], &rs);
	r = syscall(SYS_select, p[0] + 1, &rs, NULL, NULL, NULL);
	e = errno;
	disarm();
	report("select, SA_RESTART", r, e);
	if (r > 0 && read(p[0], &c, 1) != 1)
		failures++;

	arm(write_way_out);
	r = syscall(SYS_ppoll, &pfd, 1, NULL, NULL, 8);
	e = errno;
	disarm();
	report("ppoll, SA_RESTART", r, e);
	if (r > 0 && read(p[0], &c, 1) != 1)
		failures++;

	arm(write_way_out);
	FD_ZERO(&rs);
	FD_SET(p[0], &rs);
	r = syscall(SYS_pselect6, p[0] + 1, &rs, NULL, NULL, NULL, NULL);
	e = errno;
	disarm();
	report("pselect6, SA_RESTART", r, e);
	if (r > 0 && read(p[0], &c, 1) != 1)
		failures++;

	int ep = epoll_create1(0);
	struct epoll_event ev = {.events = EPOLLIN, .data.u64 = 7};
	epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev);
	arm(write_way_out);
	r = syscall(SYS_epoll_wait, ep, &ev, 1, -1);
	e = errno;
	disarm();
	report("epoll_wait, SA_RESTART", r, e);
	if (r > 0 && read(p[0], &c, 1) != 1)
		failures++;
	close(ep);

	/* A pipe read is restarted (the way out then gives it its byte). */
	arm(write_way_out);
	r = read(p[0], &c, 1);
	e = errno;
	disarm();
	report("pipe read, SA_RESTART (restarted)", r, e);
	close(p[0]);
	close(p[1]);

	/* Socket receives: never restarted with SO_RCVTIMEO, restarted without it. */
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv)) {
		printf("FAIL socketpair: %s\n", errname(errno));
		failures++;
		return;
	}
	way_out_fd = sv[1];
	arm(write_way_out);
	r = recv(sv[0], &c, 1, 0);
	e = errno;
	disarm();
	report("recv without SO_RCVTIMEO, SA_RESTART (restarted)", r, e);
	struct timeval tv = {10, 0};
	check(setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) == 0, "SO_RCVTIMEO set");
	arm(write_way_out);
	r = recv(sv[0], &c, 1, 0);
	e = errno;
	disarm();
	report("recv with SO_RCVTIMEO, SA_RESTART", r, e);
	if (r > 0 && read(sv[0], &c, 1) != 1)
		failures++;
	arm(write_way_out);
	r = read(sv[0], &c, 1);
	e = errno;
	disarm();
	report("read of a socket with SO_RCVTIMEO, SA_RESTART", r, e);
	close(sv[0]);
	close(sv[1]);

	/* Sleeps: EINTR with the time left. */
	arm(NULL);
	struct timespec req = {2, 0}, rem = {0, 0};
	r = nanosleep(&req, &rem);
	e = errno;
	disarm();
	report("nanosleep, SA_RESTART", r, e);
	printf("nanosleep left between 1 and 2 s: %s\n", yesno(rem.tv_sec == 1));
	arm(NULL);
	rem.tv_sec = rem.tv_nsec = 0;
	int err = clock_nanosleep(CLOCK_MONOTONIC, 0, &req, &rem);
	disarm();
	printf("clock_nanosleep, SA_RESTART: %s, handler ran: %s, time left: %s\n", err ? errname(err) : "0", yesno(alrm_runs > 0),
	       yesno(rem.tv_sec > 0 || rem.tv_nsec > 0));
	struct timespec until;
	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += 2;
	arm(NULL);
	err = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &until, NULL);
	disarm();
	printf("clock_nanosleep TIMER_ABSTIME, SA_RESTART: %s, handler ran: %s\n", err ? errname(err) : "0", yesno(alrm_runs > 0));

	/* futex: a timed wait is never restarted; an untimed one is, and then sees the new value. */
	futex_word = 0;
	struct timespec ft = {10, 0};
	arm(futex_way_out);
	r = syscall(SYS_futex, &futex_word, FUTEX_WAIT_PRIVATE, 0, &ft, NULL, 0);
	e = errno;
	disarm();
	report("futex wait with a timeout, SA_RESTART", r, e);
	futex_word = 0;
	arm(futex_way_out);
	r = syscall(SYS_futex, &futex_word, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0);
	e = errno;
	disarm();
	report("futex wait without timeout, SA_RESTART (restarted, then the word had changed)", r, e);

	/* sigtimedwait for a blocked signal, interrupted by another one. */
	block(SIGUSR2, SIG_BLOCK);
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR2);
	struct timespec wt = {10, 0};
	arm(usr2_way_out);
	r = syscall(SYS_rt_sigtimedwait, &set, NULL, &wt, 8); /* musl's sigtimedwait retries after EINTR */
	e = errno;
	disarm();
	report("sigtimedwait, SA_RESTART", r, e);
	struct timespec zero = {0, 0};
	while (sigtimedwait(&set, NULL, &zero) > 0)
		;
	block(SIGUSR2, SIG_UNBLOCK);

	/* wait4 is restarted: the way out lets the child go, and the restarted wait reaps it. */
	int go[2];
	if (pipe(go)) {
		failures++;
		return;
	}
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		close(go[1]);
		_exit(read(go[0], &c, 1) == 1 ? 5 : 6);
	}
	close(go[0]);
	way_out_fd = go[1];
	int st = 0;
	arm(write_way_out);
	r = waitpid(pid, &st, 0);
	e = errno;
	disarm();
	printf("waitpid, SA_RESTART (restarted): reaped the child: %s, %s, handler ran: %s\n", yesno(r == pid),
	       r == pid ? status_text(st) : errname(e), yesno(alrm_runs > 0));
	close(go[1]);
	signal(SIGALRM, SIG_DFL);
}

/* --- select and pselect6 that wait, then see the descriptor ready ----------------- */

/* A child that writes one byte to fd after `ms` milliseconds. */
static pid_t write_later(int fd, long ms)
{
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		sleep_ms(ms);
		_exit(write(fd, "y", 1) == 1 ? 0 : 1);
	}
	return pid;
}

static void test_select_waits(void)
{
	int p[2];
	if (pipe(p)) {
		failures++;
		return;
	}
	char c;
	fd_set rs;
	int st;

	pid_t pid = write_later(p[1], 50);
	FD_ZERO(&rs);
	FD_SET(p[0], &rs);
	struct timeval tv = {5, 0};
	long r = syscall(SYS_select, p[0] + 1, &rs, NULL, NULL, &tv);
	printf("select that waits for a pipe: %ld, fd in the set: %s\n", r, yesno(FD_ISSET(p[0], &rs)));
	if (r > 0 && read(p[0], &c, 1) != 1)
		failures++;
	waitpid(pid, &st, 0);

	pid = write_later(p[1], 50);
	FD_ZERO(&rs);
	FD_SET(p[0], &rs);
	struct timespec ts = {5, 0};
	r = syscall(SYS_pselect6, p[0] + 1, &rs, NULL, NULL, &ts, NULL);
	printf("pselect6 that waits for a pipe: %ld, fd in the set: %s\n", r, yesno(FD_ISSET(p[0], &rs)));
	if (r > 0 && read(p[0], &c, 1) != 1)
		failures++;
	waitpid(pid, &st, 0);

	/* Several descriptors, one becomes ready: only it is reported. */
	int q[2];
	if (pipe(q)) {
		failures++;
		return;
	}
	pid = write_later(q[1], 50);
	FD_ZERO(&rs);
	FD_SET(p[0], &rs);
	FD_SET(q[0], &rs);
	int n = (p[0] > q[0] ? p[0] : q[0]) + 1;
	tv.tv_sec = 5;
	tv.tv_usec = 0;
	r = syscall(SYS_select, n, &rs, NULL, NULL, &tv);
	printf("select on two pipes, the second written later: %ld, first set: %s, second set: %s\n", r,
	       yesno(FD_ISSET(p[0], &rs)), yesno(FD_ISSET(q[0], &rs)));
	waitpid(pid, &st, 0);

	/* A timeout still reports empty sets. */
	FD_ZERO(&rs);
	FD_SET(p[0], &rs);
	tv.tv_sec = 0;
	tv.tv_usec = 20000;
	r = syscall(SYS_select, p[0] + 1, &rs, NULL, NULL, &tv);
	printf("select that times out: %ld, fd in the set: %s\n", r, yesno(FD_ISSET(p[0], &rs)));
	close(p[0]);
	close(p[1]);
	close(q[0]);
	close(q[1]);
}

/* --- a signal that comes while a woken wait goes back to sleep ---------------------- */

static volatile sig_atomic_t chld_runs;
static void chld_handler(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)si;
	(void)uc;
	chld_runs++;
}

static void test_signal_on_reblock(void)
{
	/* SA_NOCLDWAIT: the first child is reaped at its exit, which wakes the
	 * parent's wait; the second child still runs, so the wait would sleep
	 * again, but the SIGCHLD that came with the exit interrupts it. */
	install(SIGCHLD, chld_handler, SA_NOCLDWAIT);
	chld_runs = 0;
	int hold[2];
	if (pipe(hold)) {
		failures++;
		return;
	}
	fflush(stdout);
	pid_t second = fork();
	if (second == 0) {
		char c;
		close(hold[1]);
		_exit(read(hold[0], &c, 1) == 0 ? 0 : 1);
	}
	close(hold[0]);
	pid_t first = fork();
	if (first == 0) {
		sleep_ms(100);
		_exit(0);
	}
	errno = 0;
	pid_t r = wait(NULL);
	int e = errno;
	printf("wait with SA_NOCLDWAIT, first of two children exits: %d %s, SIGCHLD handler ran: %s\n", (int)r,
	       errname(e), yesno(chld_runs > 0));
	close(hold[1]);
	do {
		errno = 0;
		r = wait(NULL);
	} while (r < 0 && errno == EINTR);
	printf("wait after the second child exits: %d %s\n", (int)r, errname(errno));
	signal(SIGCHLD, SIG_DFL);
}

/* --- frames that do not fit ------------------------------------------------------------ */

static volatile int *volatile null_ptr;
static volatile int *frames; /* MAP_SHARED: the parent reads the count */

static void refault_handler(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)si;
	(void)uc;
	(*frames)++;
	*null_ptr = 1;
}

#define ALT_SIZE (64 * 1024)

/* 42 for the SIGSEGV the kernel raises when a frame does not fit (SI_KERNEL), not a fault's. */
static void exit42_handler(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	_exit(sig != SIGSEGV ? 43 : si->si_code == SI_KERNEL ? 42 : 44);
}

static void report_child(const char *what, pid_t pid, int want_frames)
{
	int st = 0;
	waitpid(pid, &st, 0);
	printf("%s: %s", what, status_text(st));
	if (want_frames)
		printf(", more than 10 handler frames first: %s", yesno(*frames > 10));
	printf("\n");
	if (!(WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV))
		failures++;
}

static void test_frames_that_do_not_fit(void)
{
	frames = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (frames == MAP_FAILED) {
		failures++;
		return;
	}

	/* SA_NODEFER handler that faults again: frames pile up until the stack ends. */
	*frames = 0;
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		no_core();
		struct rlimit rl;
		getrlimit(RLIMIT_STACK, &rl);
		rl.rlim_cur = 1 << 20;
		setrlimit(RLIMIT_STACK, &rl);
		install(SIGSEGV, refault_handler, SA_NODEFER);
		*null_ptr = 1;
		_exit(3);
	}
	report_child("SA_NODEFER SIGSEGV handler faulting again on the normal stack", pid, 1);

	/* The same on an alternate stack with writable memory below it: the frame must not leave it. */
	*frames = 0;
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		no_core();
		char *area = mmap(NULL, 2 * ALT_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (area == MAP_FAILED)
			_exit(4);
		stack_t ss = {.ss_sp = area + ALT_SIZE, .ss_size = ALT_SIZE, .ss_flags = 0};
		if (sigaltstack(&ss, NULL))
			_exit(5);
		install(SIGSEGV, refault_handler, SA_NODEFER | SA_ONSTACK);
		*null_ptr = 1;
		_exit(3);
	}
	report_child("SA_NODEFER SIGSEGV handler faulting again on an alternate stack", pid, 1);

	/* Fault inside a handler without SA_NODEFER: SIGSEGV is blocked there, so it kills. */
	*frames = 0;
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		no_core();
		install(SIGSEGV, refault_handler, 0);
		*null_ptr = 1;
		_exit(3);
	}
	report_child("SIGSEGV handler faulting again without SA_NODEFER", pid, 0);
	printf("that handler ran once: %s\n", yesno(*frames == 1));

	/* A SIGUSR1 handler that faults while SIGSEGV has no handler. */
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		no_core();
		install(SIGUSR1, refault_handler, 0);
		raise(SIGUSR1);
		_exit(3);
	}
	report_child("SIGUSR1 handler that faults", pid, 0);

	/* A SIGUSR1 frame that does not fit raises SIGSEGV, which a handler on the alternate stack catches. */
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		no_core();
		char *area = mmap(NULL, ALT_SIZE + 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (area == MAP_FAILED)
			_exit(4);
		stack_t ss = {.ss_sp = area + 4096, .ss_size = ALT_SIZE, .ss_flags = 0};
		if (sigaltstack(&ss, NULL))
			_exit(5);
		mprotect(area, 4096, PROT_NONE);
		install(SIGSEGV, exit42_handler, SA_ONSTACK);
		install(SIGUSR1, refault_handler, 0);
		long me = getpid();
		/* kill(getpid(), SIGUSR1) with rsp in the PROT_NONE page: the SIGUSR1 frame cannot be written. */
		__asm__ volatile("movq %0, %%rsp\n\t"
		                 "movl $62, %%eax\n\t"
		                 "movq %1, %%rdi\n\t"
		                 "movl $10, %%esi\n\t"
		                 "syscall\n\t"
		                 "ud2"
		                 :
		                 : "r"(area + 2048), "r"(me)
		                 : "rax", "rdi", "rsi", "rcx", "r11", "memory");
		_exit(3);
	}
	{
		int st = 0;
		waitpid(pid, &st, 0);
		printf("SIGUSR1 frame that does not fit, SIGSEGV handler on the alternate stack: %s\n", status_text(st));
		if (!(WIFEXITED(st) && WEXITSTATUS(st) == 42))
			failures++;
	}

	/* rt_sigreturn with the frame in a PROT_NONE page: it may not be read. */
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		no_core();
		uint64_t *page = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (page == MAP_FAILED)
			_exit(4);
		/* A frame that would be usable if it were read: rip = _exit's address with rdi 9. */
		uint64_t *uc = page + 8;
		uc[(40 + 64) / 8] = 9;                        /* rdi */
		uc[(40 + 120) / 8] = (uint64_t)(page + 1000); /* rsp */
		uc[(40 + 128) / 8] = (uint64_t)_exit;         /* rip */
		uc[(40 + 136) / 8] = 0x202;                   /* eflags */
		uc[(40 + 144) / 8] = 0x2b000000000033ULL;     /* cs, ss */
		mprotect(page, 4096, PROT_NONE);
		__asm__ volatile("movq %0, %%rsp\n\t"
		                 "movl $15, %%eax\n\t"
		                 "syscall"
		                 :
		                 : "r"(uc)
		                 : "rax", "memory");
		_exit(3);
	}
	report_child("rt_sigreturn with its frame in a PROT_NONE page", pid, 0);
	munmap((void *)frames, 4096);
}

/* --- where signals go among threads ---------------------------------------------------- */

static volatile pid_t where_tid;
static volatile int where_runs, where_code, where_value;

static void where_handler(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	where_tid = (pid_t)syscall(SYS_gettid);
	where_code = si->si_code;
	where_value = si->si_value.sival_int;
	where_runs++;
}

static sem_t th_ready, th_quit;
static volatile pid_t th_tid;

static void *th_main(void *arg)
{
	(void)arg;
	th_tid = (pid_t)syscall(SYS_gettid);
	block(SIGUSR1, SIG_UNBLOCK);
	sem_post(&th_ready);
	while (sem_wait(&th_quit) != 0 && errno == EINTR)
		;
	return NULL;
}

/* Waits (up to 5 s) for the handler to have run `n` times. */
static int wait_runs(int n)
{
	for (int i = 0; i < 5000 && where_runs < n; i++)
		sleep_ms(1);
	return where_runs == n;
}

static void test_threads(void)
{
	install(SIGUSR1, where_handler, SA_RESTART);
	pid_t me = (pid_t)syscall(SYS_gettid);
	block(SIGUSR1, SIG_BLOCK);
	sem_init(&th_ready, 0, 0);
	sem_init(&th_quit, 0, 0);
	pthread_t th;
	if (pthread_create(&th, NULL, th_main, NULL)) {
		failures++;
		return;
	}
	while (sem_wait(&th_ready) != 0)
		;

	/* Process-directed, the main thread blocking it: the other thread takes it. */
	where_runs = 0;
	kill(getpid(), SIGUSR1);
	int ok = wait_runs(1);
	printf("kill with the main thread blocking SIGUSR1: ran once: %s, in the other thread: %s\n", yesno(ok),
	       yesno(where_tid == th_tid));

	/* Thread-directed to the main thread, which blocks it: it waits there. */
	where_runs = 0;
	syscall(SYS_tgkill, getpid(), me, SIGUSR1);
	sleep_ms(50);
	sigset_t pend;
	sigpending(&pend);
	printf("tgkill to the main thread blocking SIGUSR1: taken by the other thread: %s, pending: %s\n",
	       yesno(where_runs != 0), yesno(sigismember(&pend, SIGUSR1) == 1));
	block(SIGUSR1, SIG_UNBLOCK);
	printf("after unblocking: ran %d, in the main thread: %s\n", where_runs, yesno(where_tid == me));
	block(SIGUSR1, SIG_BLOCK);

	/* Thread-directed to the other thread. */
	where_runs = 0;
	syscall(SYS_tgkill, getpid(), th_tid, SIGUSR1);
	ok = wait_runs(1);
	printf("tgkill to the other thread: ran once: %s, there: %s, si_code SI_TKILL: %s\n", yesno(ok),
	       yesno(where_tid == th_tid), yesno(where_code == SI_TKILL));

	/* rt_tgsigqueueinfo: the value reaches the chosen thread. */
	where_runs = 0;
	siginfo_t si;
	memset(&si, 0, sizeof si);
	si.si_signo = SIGUSR1;
	si.si_code = SI_QUEUE;
	si.si_pid = getpid();
	si.si_uid = getuid();
	si.si_value.sival_int = 1234;
	long r = syscall(SYS_rt_tgsigqueueinfo, getpid(), th_tid, SIGUSR1, &si);
	ok = wait_runs(1);
	printf("rt_tgsigqueueinfo to the other thread: %ld, ran once: %s, there: %s, si_code SI_QUEUE: %s, value %d\n", r,
	       yesno(ok), yesno(where_tid == th_tid), yesno(where_code == SI_QUEUE), where_value);

	sem_post(&th_quit);
	pthread_join(th, NULL);
	block(SIGUSR1, SIG_UNBLOCK);
	signal(SIGUSR1, SIG_DFL);
}

/* --- a handler that changes the saved registers ------------------------------------------ */

static volatile int skip_runs;
static void skip_handler(int sig, siginfo_t *si, void *ucv)
{
	(void)sig;
	(void)si;
	ucontext_t *uc = ucv;
	uc->uc_mcontext.gregs[REG_RIP] += 2; /* over the ud2 */
	uc->uc_mcontext.gregs[REG_RBX] = 4242;
	skip_runs++;
}

static void test_mcontext(void)
{
	install(SIGILL, skip_handler, 0);
	skip_runs = 0;
	long v = 0;
	__asm__ volatile("xorl %%ebx, %%ebx\n\t"
	                 "ud2\n\t"
	                 "movq %%rbx, %0"
	                 : "=m"(v)
	                 :
	                 : "rbx", "memory");
	printf("handler moved rip over a ud2 and set rbx: handler ran %d, rbx %ld\n", skip_runs, v);
	signal(SIGILL, SIG_DFL);
}

/* --- ppoll and pselect6 with a mask that lets a signal in --------------------------------- */

static volatile int rec_runs, rec_sig;
static void recorder(int sig, siginfo_t *si, void *uc)
{
	(void)si;
	(void)uc;
	rec_sig = sig;
	rec_runs++;
}

struct sigset_arg {
	const sigset_t *ss;
	size_t len;
};

static void test_wait_masks(void)
{
	int p[2];
	if (pipe(p)) {
		failures++;
		return;
	}
	struct pollfd pfd = {p[0], POLLIN, 0};
	fd_set rs;
	install(SIGUSR1, recorder, 0);
	install(SIGALRM, recorder, SA_RESTART);
	sigset_t open;

	for (int pselect = 0; pselect < 2; pselect++) {
		const char *name = pselect ? "pselect6" : "ppoll";
		/* Pending before the call. */
		block(SIGUSR1, SIG_BLOCK);
		raise(SIGUSR1);
		sigprocmask(SIG_SETMASK, NULL, &open);
		sigdelset(&open, SIGUSR1);
		rec_runs = 0;
		errno = 0;
		long r;
		struct timespec ts = {5, 0};
		struct sigset_arg arg = {&open, 8};
		FD_ZERO(&rs);
		FD_SET(p[0], &rs);
		if (pselect)
			r = syscall(SYS_pselect6, p[0] + 1, &rs, NULL, NULL, &ts, &arg);
		else
			r = syscall(SYS_ppoll, &pfd, 1, &ts, &open, 8);
		int e = errno;
		printf("%s with a mask unblocking a pending SIGUSR1: %ld %s, handler ran %d, SIGUSR1 blocked after: %s\n",
		       name, r, errname(e), rec_runs, yesno(is_blocked(SIGUSR1)));
		block(SIGUSR1, SIG_UNBLOCK);

		/* Arriving while the call waits. */
		block(SIGALRM, SIG_BLOCK);
		sigprocmask(SIG_SETMASK, NULL, &open);
		sigdelset(&open, SIGALRM);
		rec_runs = 0;
		struct itimerval it = {{0, 0}, {0, 30000}};
		setitimer(ITIMER_REAL, &it, NULL);
		errno = 0;
		FD_ZERO(&rs);
		FD_SET(p[0], &rs);
		if (pselect)
			r = syscall(SYS_pselect6, p[0] + 1, &rs, NULL, NULL, &ts, &arg);
		else
			r = syscall(SYS_ppoll, &pfd, 1, &ts, &open, 8);
		e = errno;
		printf("%s with a mask unblocking SIGALRM that comes while it waits: %ld %s, handler ran %d, "
		       "SIGALRM blocked after: %s\n",
		       name, r, errname(e), rec_runs, yesno(is_blocked(SIGALRM)));
		block(SIGALRM, SIG_UNBLOCK);
	}
	signal(SIGUSR1, SIG_DFL);
	signal(SIGALRM, SIG_DFL);

	/* A pending signal the mask lets in but that is ignored runs no handler: ppoll restarts and times out. */
	block(SIGUSR2, SIG_BLOCK);
	signal(SIGUSR2, SIG_IGN);
	raise(SIGUSR2); /* blocked, so queued although ignored */
	sigprocmask(SIG_SETMASK, NULL, &open);
	sigdelset(&open, SIGUSR2);
	struct timespec ts = {0, 100000000};
	errno = 0;
	long r = syscall(SYS_ppoll, &pfd, 1, &ts, &open, 8);
	int e = errno;
	sigset_t pend;
	sigpending(&pend);
	printf("ppoll with a mask unblocking a pending ignored SIGUSR2: %ld %s, SIGUSR2 blocked after: %s, still pending: %s\n",
	       r, errname(e), yesno(is_blocked(SIGUSR2)), yesno(sigismember(&pend, SIGUSR2) == 1));
	block(SIGUSR2, SIG_UNBLOCK);
	signal(SIGUSR2, SIG_DFL);
	close(p[0]);
	close(p[1]);
}

/* --- sigaction(SIGSTOP), getitimer, kill(0), kill of a zombie -------------------------------- */

static void test_misc(void)
{
	struct sigaction sa, old;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = SIG_IGN;
	errno = 0;
	int r = sigaction(SIGSTOP, &sa, NULL);
	printf("sigaction(SIGSTOP, SIG_IGN): %d %s\n", r, errname(errno));
	errno = 0;
	r = sigaction(SIGSTOP, NULL, &old);
	printf("sigaction(SIGSTOP) query: %d, SIG_DFL: %s\n", r, yesno(old.sa_handler == SIG_DFL));

	struct itimerval it = {{2, 500000}, {10, 0}}, got;
	setitimer(ITIMER_REAL, &it, NULL);
	getitimer(ITIMER_REAL, &got);
	printf("getitimer after setitimer(10 s, interval 2.5 s): interval %ld.%06ld, value in (9 s, 10 s]: %s\n",
	       (long)got.it_interval.tv_sec, (long)got.it_interval.tv_usec,
	       yesno(got.it_value.tv_sec == 9 || (got.it_value.tv_sec == 10 && got.it_value.tv_usec == 0)));
	struct itimerval off = {{0, 0}, {0, 0}};
	setitimer(ITIMER_REAL, &off, &got);
	printf("setitimer(0) returned the old interval %ld.%06ld\n", (long)got.it_interval.tv_sec,
	       (long)got.it_interval.tv_usec);
	getitimer(ITIMER_REAL, &got);
	printf("getitimer after disarming: %ld.%06ld %ld.%06ld\n", (long)got.it_interval.tv_sec,
	       (long)got.it_interval.tv_usec, (long)got.it_value.tv_sec, (long)got.it_value.tv_usec);

	/* kill(0, ...) in a child that leads its own group: it reaches the child and its own child. */
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		if (setpgid(0, 0) != 0)
			_exit(10);
		install(SIGUSR1, recorder, 0);
		block(SIGUSR1, SIG_BLOCK);
		rec_runs = 0;
		pid_t g = fork();
		if (g == 0) {
			sigset_t none;
			sigemptyset(&none);
			sigsuspend(&none);
			_exit(rec_runs == 1 ? 42 : 11);
		}
		if (kill(0, SIGUSR1) != 0)
			_exit(12);
		block(SIGUSR1, SIG_UNBLOCK);
		int st = 0;
		waitpid(g, &st, 0);
		if (rec_runs != 1)
			_exit(13);
		_exit(WIFEXITED(st) ? WEXITSTATUS(st) : 14);
	}
	int st = 0;
	waitpid(pid, &st, 0);
	printf("kill(0, SIGUSR1) reached the caller and the rest of its group: %s\n", status_text(st));

	/* A zombie still has its pid: kill answers 0 (the signal goes nowhere). */
	fflush(stdout);
	pid = fork();
	if (pid == 0)
		_exit(6);
	siginfo_t si;
	memset(&si, 0, sizeof si);
	waitid(P_PID, (id_t)pid, &si, WEXITED | WNOWAIT);
	errno = 0;
	r = kill(pid, 0);
	printf("kill(zombie, 0): %d %s\n", r, errname(errno));
	errno = 0;
	r = kill(pid, SIGKILL);
	printf("kill(zombie, SIGKILL): %d %s\n", r, errname(errno));
	waitpid(pid, &st, 0);
	printf("the zombie's status afterwards: %s\n", status_text(st));
}

/* With arguments, only the named parts run (for debugging one of them). */
static int argc_;
static char **argv_;
static int wanted(const char *name)
{
	if (argc_ < 2)
		return 1;
	for (int i = 1; i < argc_; i++)
		if (strcmp(argv_[i], name) == 0)
			return 1;
	return 0;
}

int main(int argc, char **argv)
{
	argc_ = argc;
	argv_ = argv;
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (wanted("restart"))
		test_never_restarted();
	if (wanted("select"))
		test_select_waits();
	if (wanted("reblock"))
		test_signal_on_reblock();
	if (wanted("frames"))
		test_frames_that_do_not_fit();
	if (wanted("mcontext"))
		test_mcontext();
	if (wanted("masks"))
		test_wait_masks();
	if (wanted("misc"))
		test_misc();
	/* Last: a thread's stack stays mapped after it ends, and would make every later fork copy it. */
	if (wanted("threads"))
		test_threads();
	if (failures) {
		printf("signals2: %d failures\n", failures);
		return 1;
	}
	printf("signals2 ok\n");
	return 0;
}
