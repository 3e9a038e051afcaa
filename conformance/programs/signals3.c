/* Signals, part three: SIGBUS for the pages of a file mapping past the end
 * of the file (and zeros in the tail of the last partial page); the time
 * left written back by select, pselect6 and ppoll; SS_AUTODISARM;
 * SA_RESETHAND; sleeps across a stop and continue, and interrupted by a
 * handler (EINTR with the time left, SA_RESTART or not).
 *
 * Times are checked against ranges, never printed. select, pselect6 and
 * ppoll are called through syscall(2): the libcs hand the kernel a copy of
 * the caller's timeout. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/select.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#include "check.h"
#include "sigcheck.h"

#define FUTEX_WAIT_PRIVATE 128
/* Linux's value; glibc's headers do not have it. */
#define AUTODISARM ((int)(1U << 31))

static long long now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static long long ms(long long ns)
{
	return ns / 1000000;
}

/* A one-shot ITIMER_REAL: SIGALRM after `msec` ms. */
static void alarm_ms(long msec)
{
	struct itimerval it = {{0, 0}, {msec / 1000, (msec % 1000) * 1000}};
	setitimer(ITIMER_REAL, &it, NULL);
}

/* --- SIGBUS past the end of a mapped file ------------------------------------ */

static sigjmp_buf bus_jump;
static volatile int bus_signo, bus_code;
static void *volatile bus_addr;

static void on_bus(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	bus_signo = sig;
	bus_code = si->si_code;
	bus_addr = si->si_addr;
	siglongjmp(bus_jump, 1);
}

/* Touches *p (a read, or a write of 1); returns 1 if it raised a signal. */
static int touch(volatile char *p, int write)
{
	bus_signo = bus_code = 0;
	bus_addr = NULL;
	if (sigsetjmp(bus_jump, 1) == 0) {
		if (write)
			*p = 1;
		else
			(void)*p;
		return 0;
	}
	return 1;
}

static void expect_bus(volatile char *p, int write, const char *what)
{
	char line[160];
	int got = touch(p, write);
	snprintf(line, sizeof line, "%s: SIGBUS %s, BUS_ADRERR %s, si_addr is the byte %s", what,
		 yesno(got && bus_signo == SIGBUS), yesno(bus_code == BUS_ADRERR),
		 yesno(bus_addr == (void *)p));
	check(got && bus_signo == SIGBUS && bus_code == BUS_ADRERR && bus_addr == (void *)p, line);
}

static void sigbus_tests(void)
{
	const char *dir = getenv("NOMMU_TEST_TMPDIR");
	char path[512];
	snprintf(path, sizeof path, "%s/signals3.data", dir ? dir : "/tmp");
	long page = sysconf(_SC_PAGESIZE);
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	check(fd >= 0, "data file created");
	if (fd < 0)
		return;
	/* One page and 100 bytes of 'x'. */
	char *buf = malloc(page + 100);
	memset(buf, 'x', page + 100);
	check(write(fd, buf, page + 100) == page + 100, "data file written");
	free(buf);
	install(SIGBUS, on_bus, 0);
	install(SIGSEGV, on_bus, 0);

	volatile char *p = mmap(NULL, 4 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	check(p != MAP_FAILED, "mmap of four pages over a file of one page and 100 bytes");
	if (p == MAP_FAILED)
		return;
	check(p[0] == 'x' && p[page + 99] == 'x', "the file's bytes are there");
	int zeros = 1;
	for (long i = page + 100; i < 2 * page; i++)
		zeros &= p[i] == 0;
	check(zeros, "the tail of the last partial page reads zeros");
	check(!touch(p + page + 200, 1) && p[page + 200] == 1, "the tail of the last partial page is writable");
	expect_bus(p + 2 * page + 16, 0, "read of the first page past the end");
	expect_bus(p + 3 * page + page - 1, 1, "write to the last page past the end");
	check(mprotect((void *)p, 4 * page, PROT_READ | PROT_WRITE) == 0, "mprotect of the whole mapping");
	expect_bus(p + 2 * page, 0, "read past the end after mprotect");
	check(!touch(p + page + 300, 1), "the partial page stays writable after mprotect");
	check(mprotect((void *)(p + 2 * page), page, PROT_NONE) == 0, "mprotect PROT_NONE of a page past the end");
	check(touch(p + 2 * page + 4, 0) && bus_signo == SIGSEGV && bus_code == SEGV_ACCERR,
	      "a read of it is SIGSEGV (SEGV_ACCERR): the protection is checked first");
	check(mprotect((void *)(p + 3 * page), page, PROT_READ) == 0, "mprotect PROT_READ of the last page");
	check(touch(p + 3 * page + 4, 1) && bus_signo == SIGSEGV && bus_code == SEGV_ACCERR,
	      "a write to it is SIGSEGV (SEGV_ACCERR)");
	expect_bus(p + 3 * page + 8, 0, "a read of it is SIGBUS");
	munmap((void *)p, 4 * page);

	volatile char *s = mmap(NULL, 3 * page, PROT_READ, MAP_SHARED, fd, 0);
	check(s != MAP_FAILED, "MAP_SHARED read-only mapping of three pages");
	if (s != MAP_FAILED) {
		check(s[page + 99] == 'x' && s[page + 100] == 0, "MAP_SHARED: the bytes, then zeros");
		expect_bus(s + 2 * page + 8, 0, "MAP_SHARED: read past the end");
		munmap((void *)s, 3 * page);
	}

	/* An offset into the file: the first page of the mapping is the file's second. */
	volatile char *o = mmap(NULL, 2 * page, PROT_READ, MAP_PRIVATE, fd, page);
	check(o != MAP_FAILED, "mmap at offset one page");
	if (o != MAP_FAILED) {
		check(o[99] == 'x' && o[100] == 0, "offset mapping: the bytes, then zeros");
		expect_bus(o + page, 0, "offset mapping: read past the end");
		munmap((void *)o, 2 * page);
	}

	check(ftruncate(fd, 0) == 0, "file truncated to nothing");
	volatile char *e = mmap(NULL, page, PROT_READ, MAP_PRIVATE, fd, 0);
	check(e != MAP_FAILED, "mmap of an empty file");
	if (e != MAP_FAILED) {
		expect_bus(e + 5, 0, "empty file: read of its first page");
		munmap((void *)e, page);
	}
	close(fd);
	unlink(path);
	signal(SIGBUS, SIG_DFL);
	signal(SIGSEGV, SIG_DFL);
}

/* --- time left written back by select, pselect6, ppoll ----------------------- */

static volatile int alarms;
static void on_alarm(int sig, siginfo_t *si, void *uc)
{
	(void)sig, (void)si, (void)uc;
	alarms++;
}

static long long tv_ns(struct timeval tv)
{
	return tv.tv_sec * 1000000000LL + tv.tv_usec * 1000LL;
}

static long long ts_ns(struct timespec ts)
{
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void line_range(const char *what, long long left_ns, long long lo_ms, long long hi_ms)
{
	char line[160];
	snprintf(line, sizeof line, "%s: time left in [%lld, %lld] ms", what, lo_ms, hi_ms);
	check(ms(left_ns) >= lo_ms && ms(left_ns) <= hi_ms, line);
	if (!(ms(left_ns) >= lo_ms && ms(left_ns) <= hi_ms))
		printf("  (left %lld ms)\n", ms(left_ns));
}

static void timeout_tests(void)
{
	int fds[2];
	check(pipe(fds) == 0, "pipe");
	install(SIGALRM, on_alarm, 0);
	fd_set set;

	/* Interrupted by a handler after ~100 ms of 1 s: EINTR, and about 900 ms left. */
	struct timeval tv = {1, 0};
	FD_ZERO(&set);
	FD_SET(fds[0], &set);
	alarm_ms(100);
	long r = syscall(SYS_select, fds[0] + 1, &set, NULL, NULL, &tv);
	check(r == -1 && errno == EINTR, "select interrupted by a handler: EINTR");
	line_range("select interrupted", tv_ns(tv), 500, 950);

	struct timespec ts = {1, 0};
	FD_ZERO(&set);
	FD_SET(fds[0], &set);
	alarm_ms(100);
	r = syscall(SYS_pselect6, fds[0] + 1, &set, NULL, NULL, &ts, NULL);
	check(r == -1 && errno == EINTR, "pselect6 interrupted by a handler: EINTR");
	line_range("pselect6 interrupted", ts_ns(ts), 500, 950);

	struct pollfd pfd = {fds[0], POLLIN, 0};
	ts = (struct timespec){1, 0};
	alarm_ms(100);
	r = syscall(SYS_ppoll, &pfd, 1, &ts, NULL, 8);
	check(r == -1 && errno == EINTR, "ppoll interrupted by a handler: EINTR");
	line_range("ppoll interrupted", ts_ns(ts), 500, 950);

	/* Timed out: nothing left. */
	tv = (struct timeval){0, 50000};
	FD_ZERO(&set);
	FD_SET(fds[0], &set);
	r = syscall(SYS_select, fds[0] + 1, &set, NULL, NULL, &tv);
	check(r == 0 && tv.tv_sec == 0 && tv.tv_usec == 0, "select timed out: 0, and the timeval is zero");
	ts = (struct timespec){0, 50000000};
	FD_ZERO(&set);
	FD_SET(fds[0], &set);
	r = syscall(SYS_pselect6, fds[0] + 1, &set, NULL, NULL, &ts, NULL);
	check(r == 0 && ts.tv_sec == 0 && ts.tv_nsec == 0, "pselect6 timed out: 0, and the timespec is zero");
	ts = (struct timespec){0, 50000000};
	r = syscall(SYS_ppoll, &pfd, 1, &ts, NULL, 8);
	check(r == 0 && ts.tv_sec == 0 && ts.tv_nsec == 0, "ppoll timed out: 0, and the timespec is zero");

	/* Ready at once: almost all of it left. */
	check(write(fds[1], "x", 1) == 1, "pipe made readable");
	tv = (struct timeval){2, 0};
	FD_ZERO(&set);
	FD_SET(fds[0], &set);
	r = syscall(SYS_select, fds[0] + 1, &set, NULL, NULL, &tv);
	check(r == 1, "select on a readable pipe: 1");
	line_range("select ready at once", tv_ns(tv), 1500, 2000);
	ts = (struct timespec){2, 0};
	FD_ZERO(&set);
	FD_SET(fds[0], &set);
	r = syscall(SYS_pselect6, fds[0] + 1, &set, NULL, NULL, &ts, NULL);
	check(r == 1, "pselect6 on a readable pipe: 1");
	line_range("pselect6 ready at once", ts_ns(ts), 1500, 2000);
	ts = (struct timespec){2, 0};
	r = syscall(SYS_ppoll, &pfd, 1, &ts, NULL, 8);
	check(r == 1, "ppoll on a readable pipe: 1");
	line_range("ppoll ready at once", ts_ns(ts), 1500, 2000);
	close(fds[0]);
	close(fds[1]);
}

/* --- SS_AUTODISARM ---------------------------------------------------------- */

static char *alt_base;
static size_t alt_size;
static volatile int ad_inside_flags = -1, ad_inside_size_zero, ad_on_alt, ad_uc_flags, ad_nested_ok;
static volatile uintptr_t ad_local;

static int on_alt_stack(const void *p)
{
	return (const char *)p >= alt_base && (const char *)p < alt_base + alt_size;
}

static void on_nested(int sig, siginfo_t *si, void *uc)
{
	(void)sig, (void)si, (void)uc;
	volatile char here;
	/* The alternate stack is disarmed: this frame goes below the first handler's, not on top of it. */
	ad_nested_ok = on_alt_stack((const void *)&here) && (uintptr_t)&here < ad_local;
}

static void on_autodisarm(int sig, siginfo_t *si, void *ucv)
{
	(void)sig, (void)si;
	ucontext_t *uc = ucv;
	volatile char here;
	stack_t cur;
	ad_local = (uintptr_t)&here;
	ad_on_alt = on_alt_stack((const void *)&here);
	sigaltstack(NULL, &cur);
	ad_inside_flags = cur.ss_flags;
	ad_inside_size_zero = cur.ss_size == 0 && cur.ss_sp == NULL;
	ad_uc_flags = uc->uc_stack.ss_flags;
	raise(SIGUSR2);
}

static void autodisarm_tests(void)
{
	alt_size = 256 * 1024;
	alt_base = malloc(alt_size);
	stack_t ss = {.ss_sp = alt_base, .ss_flags = AUTODISARM, .ss_size = alt_size};
	check(sigaltstack(&ss, NULL) == 0, "sigaltstack with SS_AUTODISARM");
	stack_t cur;
	sigaltstack(NULL, &cur);
	check(cur.ss_flags == AUTODISARM && cur.ss_sp == alt_base && cur.ss_size == alt_size,
	      "query before: SS_AUTODISARM, the stack and its size");
	install(SIGUSR1, on_autodisarm, SA_ONSTACK);
	install(SIGUSR2, on_nested, SA_ONSTACK);
	raise(SIGUSR1);
	check(ad_on_alt, "the handler ran on the alternate stack");
	check(ad_inside_flags == SS_DISABLE && ad_inside_size_zero, "query inside the handler: SS_DISABLE, no stack");
	check(ad_uc_flags == AUTODISARM, "uc_stack keeps the armed stack's flags (SS_AUTODISARM)");
	check(ad_nested_ok, "a nested SA_ONSTACK handler runs below the first one");
	sigaltstack(NULL, &cur);
	check(cur.ss_flags == AUTODISARM && cur.ss_sp == alt_base && cur.ss_size == alt_size,
	      "query after the handler returned: armed again (sigreturn restores uc_stack)");
	ad_on_alt = 0;
	raise(SIGUSR1);
	check(ad_on_alt, "a second signal runs on the alternate stack again");
	ss.ss_flags = SS_DISABLE;
	check(sigaltstack(&ss, NULL) == 0, "alternate stack disabled");
	signal(SIGUSR1, SIG_DFL);
	signal(SIGUSR2, SIG_DFL);
	free(alt_base);
}

/* --- SA_RESETHAND ----------------------------------------------------------- */

static volatile int rh_ran, rh_dfl_inside, rh_blocked_inside, rh_flags_kept;

static void on_resethand(int sig, siginfo_t *si, void *uc)
{
	(void)si, (void)uc;
	struct sigaction q;
	sigset_t m;
	rh_ran++;
	sigaction(sig, NULL, &q);
	rh_dfl_inside = q.sa_handler == SIG_DFL;
	rh_flags_kept = (q.sa_flags & SA_RESETHAND) != 0;
	sigprocmask(SIG_SETMASK, NULL, &m);
	rh_blocked_inside = sigismember(&m, sig);
}

static void resethand_tests(void)
{
	install(SIGUSR1, on_resethand, SA_RESETHAND);
	raise(SIGUSR1);
	check(rh_ran == 1, "SA_RESETHAND handler ran");
	check(rh_dfl_inside, "inside it, sigaction reports SIG_DFL");
	printf("inside it, SA_RESETHAND still in sa_flags: %s\n", yesno(rh_flags_kept));
	printf("inside it, the signal is blocked (no SA_NODEFER): %s\n", yesno(rh_blocked_inside));
	install(SIGUSR1, on_resethand, SA_RESETHAND | SA_NODEFER);
	raise(SIGUSR1);
	check(rh_ran == 2 && rh_dfl_inside && !rh_blocked_inside, "SA_RESETHAND | SA_NODEFER: SIG_DFL inside, not blocked");
	struct sigaction q;
	sigaction(SIGUSR1, NULL, &q);
	check(q.sa_handler == SIG_DFL, "after the handler: still SIG_DFL");

	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		install(SIGUSR1, on_resethand, SA_RESETHAND);
		raise(SIGUSR1);
		raise(SIGUSR1);
		_exit(rh_ran == 1 ? 0 : 1);
	}
	int st = 0;
	waitpid(pid, &st, 0);
	check(WIFSIGNALED(st) && WTERMSIG(st) == SIGUSR1, "the second signal takes the default action (killed by SIGUSR1)");
}

/* --- sleeps across stop and continue; interrupted sleeps -------------------- */

enum { SLEEP_MS = 400 };

/* In a child that the parent stops for ~100 ms: each sleep lasts its whole time and succeeds. */
static int sleeper(int which)
{
	long long t0 = now_ns();
	int ok;
	if (which == 0) {
		struct timespec req = {0, SLEEP_MS * 1000000L}, rem = {9, 9};
		ok = nanosleep(&req, &rem) == 0;
	} else if (which == 1) {
		struct timespec req = {0, SLEEP_MS * 1000000L};
		ok = clock_nanosleep(CLOCK_MONOTONIC, 0, &req, NULL) == 0;
	} else if (which == 3) {
		int fds[2];
		if (pipe(fds) != 0)
			return 1;
		struct pollfd pfd = {fds[0], POLLIN, 0};
		ok = poll(&pfd, 1, SLEEP_MS) == 0;
		close(fds[0]);
		close(fds[1]);
	} else {
		int word = 0;
		struct timespec req = {0, SLEEP_MS * 1000000L};
		ok = syscall(SYS_futex, &word, FUTEX_WAIT_PRIVATE, 0, &req, NULL, 0) == -1 && errno == ETIMEDOUT;
	}
	long long took = ms(now_ns() - t0);
	return ok && took >= SLEEP_MS - 1 ? 0 : 1;
}

static void stop_continue(int which, const char *what)
{
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0)
		_exit(sleeper(which));
	struct timespec d = {0, 50 * 1000000L};
	nanosleep(&d, NULL);
	kill(pid, SIGSTOP);
	int st = 0;
	pid_t w = waitpid(pid, &st, WUNTRACED);
	int stopped = w == pid && WIFSTOPPED(st);
	d.tv_nsec = 100 * 1000000L;
	nanosleep(&d, NULL);
	kill(pid, SIGCONT);
	waitpid(pid, &st, 0);
	char line[160];
	snprintf(line, sizeof line, "%s: stopped %s, then slept its whole time and succeeded %s", what, yesno(stopped),
		 yesno(WIFEXITED(st) && WEXITSTATUS(st) == 0));
	check(stopped && WIFEXITED(st) && WEXITSTATUS(st) == 0, line);
}

/* A sleep in a second thread while the main thread takes a signal sent to the process: the sleep is not cut short. */
static volatile int usr1_thread_is_main;
static pthread_t main_thread;

static void on_usr1_where(int sig, siginfo_t *si, void *uc)
{
	(void)sig, (void)si, (void)uc;
	usr1_thread_is_main = pthread_equal(pthread_self(), main_thread);
}

static void *thread_sleeper(void *arg)
{
	return (void *)(intptr_t)sleeper((int)(intptr_t)arg);
}

static void other_thread(int which, const char *what)
{
	pthread_t t;
	main_thread = pthread_self();
	usr1_thread_is_main = 0;
	install(SIGUSR1, on_usr1_where, 0);
	pthread_create(&t, NULL, thread_sleeper, (void *)(intptr_t)which);
	struct timespec d = {0, 50 * 1000000L};
	nanosleep(&d, NULL);
	kill(getpid(), SIGUSR1);
	void *res;
	pthread_join(t, &res);
	char line[160];
	snprintf(line, sizeof line, "%s: the main thread took the signal %s, the sleep lasted its whole time %s", what,
		 yesno(usr1_thread_is_main), yesno(res == NULL));
	check(usr1_thread_is_main && res == NULL, line);
	signal(SIGUSR1, SIG_DFL);
}

static void sleep_tests(void)
{
	other_thread(0, "nanosleep in a thread, signal to the process");
	other_thread(2, "futex wait in a thread, signal to the process");
	other_thread(3, "poll in a thread, signal to the process");

	stop_continue(0, "nanosleep across SIGSTOP/SIGCONT");
	stop_continue(1, "clock_nanosleep across SIGSTOP/SIGCONT");
	stop_continue(2, "futex wait with a timeout across SIGSTOP/SIGCONT");

	install(SIGALRM, on_alarm, 0);
	struct timespec req = {1, 0}, rem = {0, 0};
	alarm_ms(100);
	int r = nanosleep(&req, &rem);
	check(r == -1 && errno == EINTR, "nanosleep interrupted by a handler: EINTR");
	line_range("nanosleep rem", ts_ns(rem), 500, 950);

	install(SIGALRM, on_alarm, SA_RESTART);
	rem = (struct timespec){0, 0};
	alarm_ms(100);
	r = nanosleep(&req, &rem);
	check(r == -1 && errno == EINTR, "nanosleep interrupted by an SA_RESTART handler: EINTR all the same");
	line_range("nanosleep rem (SA_RESTART)", ts_ns(rem), 500, 950);

	rem = (struct timespec){0, 0};
	alarm_ms(100);
	r = clock_nanosleep(CLOCK_MONOTONIC, 0, &req, &rem);
	check(r == EINTR, "clock_nanosleep interrupted by a handler: EINTR");
	line_range("clock_nanosleep rem", ts_ns(rem), 500, 950);

	struct timespec until;
	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += 1;
	rem = (struct timespec){7, 7};
	alarm_ms(100);
	r = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &until, &rem);
	check(r == EINTR && rem.tv_sec == 7 && rem.tv_nsec == 7, "absolute clock_nanosleep interrupted: EINTR, rem untouched");

	int word = 0;
	struct timespec to = {1, 0};
	alarm_ms(100);
	long fr = syscall(SYS_futex, &word, FUTEX_WAIT_PRIVATE, 0, &to, NULL, 0);
	check(fr == -1 && errno == EINTR, "futex wait with a timeout, SA_RESTART handler: EINTR");
	signal(SIGALRM, SIG_DFL);
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	sigbus_tests();
	timeout_tests();
	autodisarm_tests();
	resethand_tests();
	sleep_tests();
	printf("%s\n", failures ? "some checks failed" : "all checks passed");
	return failures ? 1 : 0;
}
