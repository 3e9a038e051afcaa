/* Signal delivery: siginfo contents for kill / raise / tgkill / sigqueue,
 * blocking and pending signals (coalescing of standard signals, queueing
 * and order of real-time ones), SA_RESTART versus EINTR, sigaltstack,
 * SA_NODEFER and sa_mask, SA_RESETHAND, synchronous faults (SIGSEGV,
 * SIGFPE, SIGILL, SIGTRAP) with their si_code / si_addr / saved RIP,
 * returning from a fault handler and leaving it with siglongjmp, signals to
 * a process group, sigsuspend, SIGCHLD and SIGPIPE.
 *
 * Handlers only record what they see; main prints. */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#include "check.h"
#include "sigcheck.h"

static const char *codename(int sig, int code)
{
	switch (code) {
	case SI_USER: return "SI_USER";
	case SI_KERNEL: return "SI_KERNEL";
	case SI_QUEUE: return "SI_QUEUE";
	case SI_TIMER: return "SI_TIMER";
	case SI_TKILL: return "SI_TKILL";
	}
	if (sig == SIGSEGV) {
		if (code == SEGV_MAPERR) return "SEGV_MAPERR";
		if (code == SEGV_ACCERR) return "SEGV_ACCERR";
	}
	if (sig == SIGFPE) {
		if (code == FPE_INTDIV) return "FPE_INTDIV";
		if (code == FPE_INTOVF) return "FPE_INTOVF";
	}
	if (sig == SIGILL) {
		if (code == ILL_ILLOPC) return "ILL_ILLOPC";
		if (code == ILL_ILLOPN) return "ILL_ILLOPN";
	}
	if (sig == SIGTRAP) {
		if (code == TRAP_BRKPT) return "TRAP_BRKPT";
		if (code == TRAP_TRACE) return "TRAP_TRACE";
	}
	if (sig == SIGCHLD) {
		if (code == CLD_EXITED) return "CLD_EXITED";
		if (code == CLD_KILLED) return "CLD_KILLED";
		if (code == CLD_DUMPED) return "CLD_DUMPED";
	}
	static char buf[32];
	snprintf(buf, sizeof buf, "code %d", code);
	return buf;
}

static void set_default(int sig)
{
	signal(sig, SIG_DFL);
}

static int is_blocked(int sig)
{
	sigset_t cur;
	sigprocmask(SIG_SETMASK, NULL, &cur);
	return sigismember(&cur, sig) == 1;
}

static void block(int sig, int how)
{
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, sig);
	sigprocmask(how, &s, NULL);
}

static void timer_ms(long first_ms, long interval_ms)
{
	struct itimerval it;
	it.it_value.tv_sec = first_ms / 1000;
	it.it_value.tv_usec = (first_ms % 1000) * 1000;
	it.it_interval.tv_sec = interval_ms / 1000;
	it.it_interval.tv_usec = (interval_ms % 1000) * 1000;
	setitimer(ITIMER_REAL, &it, NULL);
}

/* --- a recording handler -------------------------------------------------- */

static volatile sig_atomic_t rec_count;
static volatile int rec_signo, rec_code, rec_value, rec_has_uc;
static volatile pid_t rec_pid;
static volatile uid_t rec_uid;
static volatile int rec_order[8];

static void recorder(int sig, siginfo_t *si, void *uc)
{
	if (rec_count < 8)
		rec_order[rec_count] = sig;
	rec_count++;
	rec_signo = si->si_signo;
	rec_code = si->si_code;
	rec_pid = si->si_pid;
	rec_uid = si->si_uid;
	rec_value = si->si_value.sival_int;
	rec_has_uc = uc != NULL && sig == si->si_signo;
}

static void reset_rec(void)
{
	rec_count = 0;
	rec_signo = rec_code = rec_value = rec_has_uc = 0;
	rec_pid = 0;
	rec_uid = (uid_t)-1;
}

static void test_siginfo(void)
{
	install(SIGUSR1, recorder, 0);

	reset_rec();
	kill(getpid(), SIGUSR1);
	printf("kill: ran %d, si_signo is SIGUSR1: %s, si_code %s, si_pid is getpid: %s, si_uid is getuid: %s, "
	       "ucontext: %s\n",
	       (int)rec_count, yesno(rec_signo == SIGUSR1), codename(SIGUSR1, rec_code), yesno(rec_pid == getpid()),
	       yesno(rec_uid == getuid()), yesno(rec_has_uc));

	reset_rec();
	raise(SIGUSR1);
	/* glibc raise() uses tgkill, musl's tkill; both give SI_TKILL. */
	printf("raise: ran %d, si_code %s, si_pid is getpid: %s\n", (int)rec_count, codename(SIGUSR1, rec_code),
	       yesno(rec_pid == getpid()));

	reset_rec();
	syscall(SYS_tgkill, getpid(), syscall(SYS_gettid), SIGUSR1);
	printf("tgkill: ran %d, si_code %s, si_pid is getpid: %s\n", (int)rec_count, codename(SIGUSR1, rec_code),
	       yesno(rec_pid == getpid()));

	reset_rec();
	union sigval v;
	v.sival_int = 77;
	sigqueue(getpid(), SIGUSR1, v);
	printf("sigqueue: ran %d, si_code %s, si_pid is getpid: %s, si_value %d\n", (int)rec_count,
	       codename(SIGUSR1, rec_code), yesno(rec_pid == getpid()), rec_value);

	errno = 0;
	int r = kill(getpid(), 0);
	printf("kill(self, 0): %d %s\n", r, errname(errno));
	errno = 0;
	r = kill(getpid(), 1000);
	printf("kill(self, 1000): %d %s\n", r, errname(errno));
	errno = 0;
	r = sigaction(SIGKILL, &(struct sigaction){.sa_handler = SIG_IGN}, NULL);
	printf("sigaction(SIGKILL): %d %s\n", r, errname(errno));
	set_default(SIGUSR1);
}

/* --- blocked, pending, unblocked --------------------------------------------- */

static void test_blocking(void)
{
	install(SIGUSR2, recorder, 0);
	reset_rec();
	block(SIGUSR2, SIG_BLOCK);
	raise(SIGUSR2);
	raise(SIGUSR2);
	sigset_t pend;
	sigpending(&pend);
	printf("blocked: ran %d, pending: %s\n", (int)rec_count, yesno(sigismember(&pend, SIGUSR2) == 1));
	block(SIGUSR2, SIG_UNBLOCK);
	printf("after unblock: ran %d (standard signals coalesce)\n", (int)rec_count);
	sigpending(&pend);
	check(sigismember(&pend, SIGUSR2) == 0, "nothing pending after unblock");

	/* Two pending standard signals unblocked at once: Linux sets up the frame
	 * of the lowest-numbered (SIGUSR1) first, then SIGUSR2's on top of it, so
	 * SIGUSR2's handler runs first. */
	install(SIGUSR1, recorder, 0);
	reset_rec();
	sigset_t both;
	sigemptyset(&both);
	sigaddset(&both, SIGUSR1);
	sigaddset(&both, SIGUSR2);
	sigprocmask(SIG_BLOCK, &both, NULL);
	raise(SIGUSR2);
	raise(SIGUSR1);
	sigprocmask(SIG_UNBLOCK, &both, NULL);
	printf("handler run order after unblocking SIGUSR1 and SIGUSR2 together: %s, %s\n",
	       rec_order[0] == SIGUSR1 ? "SIGUSR1" : rec_order[0] == SIGUSR2 ? "SIGUSR2" : "?",
	       rec_order[1] == SIGUSR1 ? "SIGUSR1" : rec_order[1] == SIGUSR2 ? "SIGUSR2" : "?");

	/* Real-time signals queue, in order, with their values. */
	install(SIGRTMIN, recorder, 0);
	reset_rec();
	block(SIGRTMIN, SIG_BLOCK);
	for (int i = 1; i <= 3; i++) {
		union sigval v;
		v.sival_int = i;
		sigqueue(getpid(), SIGRTMIN, v);
	}
	printf("rt blocked: ran %d\n", (int)rec_count);
	int vals[3] = {0, 0, 0};
	/* Collect the values one by one with sigwaitinfo, then deliver one more by unblocking. */
	sigset_t rt;
	sigemptyset(&rt);
	sigaddset(&rt, SIGRTMIN);
	for (int i = 0; i < 2; i++) {
		siginfo_t si;
		int s = sigwaitinfo(&rt, &si);
		vals[i] = s == SIGRTMIN ? si.si_value.sival_int : -1;
	}
	block(SIGRTMIN, SIG_UNBLOCK);
	vals[2] = rec_count == 1 ? rec_value : -1;
	printf("rt values in order: %d %d %d (handler ran %d, si_code %s)\n", vals[0], vals[1], vals[2], (int)rec_count,
	       codename(SIGRTMIN, rec_code));

	/* sigtimedwait with nothing pending times out. */
	struct timespec ts = {0, 10 * 1000000};
	errno = 0;
	block(SIGRTMIN, SIG_BLOCK);
	int r = sigtimedwait(&rt, NULL, &ts);
	printf("sigtimedwait on nothing: %d %s\n", r, errname(errno));
	block(SIGRTMIN, SIG_UNBLOCK);
	set_default(SIGRTMIN);
	set_default(SIGUSR1);
	set_default(SIGUSR2);
}

/* --- SA_RESTART versus EINTR ------------------------------------------------- */

static volatile sig_atomic_t alrm_count;
static int alrm_write_fd = -1;
static void alrm_handler(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)si;
	(void)uc;
	alrm_count++;
	if (alrm_count == 3 && alrm_write_fd >= 0) {
		int e = errno;
		if (write(alrm_write_fd, "x", 1) != 1)
			alrm_count = 1000;
		errno = e;
	}
}

static void test_restart(void)
{
	int p[2];
	if (pipe(p)) {
		printf("FAIL pipe: %s\n", errname(errno));
		failures++;
		return;
	}
	char c;

	/* Without SA_RESTART: the blocked read fails with EINTR. */
	install(SIGALRM, alrm_handler, 0);
	alrm_count = 0;
	alrm_write_fd = -1;
	timer_ms(50, 50);
	errno = 0;
	ssize_t n = read(p[0], &c, 1);
	int e = errno;
	timer_ms(0, 0);
	printf("read without SA_RESTART: %d %s, handler ran: %s\n", (int)n, errname(e), yesno(alrm_count > 0));

	/* With SA_RESTART: the read is restarted until the third handler run writes a byte. */
	install(SIGALRM, alrm_handler, SA_RESTART);
	alrm_count = 0;
	alrm_write_fd = p[1];
	timer_ms(20, 20);
	errno = 0;
	n = read(p[0], &c, 1);
	e = errno;
	timer_ms(0, 0);
	alrm_write_fd = -1;
	printf("read with SA_RESTART: %d %s, byte '%c', handler ran at least 3 times: %s\n", (int)n, errname(e),
	       n == 1 ? c : '?', yesno(alrm_count >= 3 && alrm_count < 1000));

	/* nanosleep is not restarted even with SA_RESTART; it reports the time left. */
	alrm_count = 0;
	timer_ms(30, 0);
	struct timespec req = {10, 0}, rem = {0, 0};
	errno = 0;
	int r = nanosleep(&req, &rem);
	e = errno;
	printf("nanosleep with SA_RESTART handler: %d %s, remaining between 5 and 10 s: %s\n", r, errname(e),
	       yesno(rem.tv_sec >= 5 && rem.tv_sec < 10));

	/* pause() returns after a handler ran. */
	alrm_count = 0;
	timer_ms(10, 0);
	errno = 0;
	r = pause();
	e = errno;
	printf("pause: %d %s, handler ran %d\n", r, errname(e), (int)alrm_count);
	close(p[0]);
	close(p[1]);
	set_default(SIGALRM);
}

/* --- sigaltstack -------------------------------------------------------------- */

#define ALT_SIZE (64 * 1024)
static char altstack_mem[ALT_SIZE] __attribute__((aligned(16)));
static volatile int alt_in_range, alt_onstack_flag, alt_ran;

static void alt_handler(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)si;
	(void)uc;
	volatile char local;
	uintptr_t a = (uintptr_t)&local, lo = (uintptr_t)altstack_mem;
	alt_in_range = a >= lo && a < lo + ALT_SIZE;
	stack_t cur;
	sigaltstack(NULL, &cur);
	alt_onstack_flag = (cur.ss_flags & SS_ONSTACK) != 0;
	alt_ran++;
}

static void overflow_handler(int sig, siginfo_t *si, void *uc)
{
	(void)si;
	(void)uc;
	volatile char local;
	uintptr_t a = (uintptr_t)&local, lo = (uintptr_t)altstack_mem;
	_exit(sig == SIGSEGV && a >= lo && a < lo + ALT_SIZE ? 33 : 34);
}

static volatile int recurse_limit = 1 << 30;
static int recurse(int n)
{
	volatile char pad[1024];
	pad[0] = (char)n;
	pad[1023] = (char)n;
	if (n >= recurse_limit)
		return 0;
	return recurse(n + 1) + pad[0] + pad[1023];
}

static void test_altstack(void)
{
	stack_t ss;
	ss.ss_sp = altstack_mem;
	ss.ss_size = ALT_SIZE;
	ss.ss_flags = 0;
	check(sigaltstack(&ss, NULL) == 0, "sigaltstack installed");
	install(SIGUSR1, alt_handler, SA_ONSTACK);
	alt_ran = 0;
	raise(SIGUSR1);
	printf("SA_ONSTACK handler: ran %d, on the alternate stack: %s, SS_ONSTACK inside: %s\n", alt_ran,
	       yesno(alt_in_range), yesno(alt_onstack_flag));
	stack_t cur;
	sigaltstack(NULL, &cur);
	printf("outside the handler: SS_ONSTACK %s, SS_DISABLE %s, size %zu, sp matches %s\n",
	       yesno(cur.ss_flags & SS_ONSTACK), yesno(cur.ss_flags & SS_DISABLE), cur.ss_size,
	       yesno(cur.ss_sp == altstack_mem));

	/* Without SA_ONSTACK the handler runs on the normal stack. */
	install(SIGUSR1, alt_handler, 0);
	alt_ran = 0;
	raise(SIGUSR1);
	printf("handler without SA_ONSTACK on the alternate stack: %s\n", yesno(alt_in_range));
	set_default(SIGUSR1);

	/* Too small an alternate stack. */
	stack_t small = {.ss_sp = altstack_mem, .ss_size = 512, .ss_flags = 0};
	errno = 0;
	int r = sigaltstack(&small, NULL);
	printf("sigaltstack with 512 bytes: %d %s\n", r, errname(errno));

	/* Stack overflow caught on the alternate stack (in a child, with a 1 MiB stack limit). */
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		struct rlimit rl;
		getrlimit(RLIMIT_STACK, &rl);
		rl.rlim_cur = 1 << 20;
		setrlimit(RLIMIT_STACK, &rl);
		rl.rlim_cur = rl.rlim_max = 0;
		setrlimit(RLIMIT_CORE, &rl);
		install(SIGSEGV, overflow_handler, SA_ONSTACK);
		_exit(recurse(0) == 12345 ? 35 : 36);
	}
	int st = 0;
	waitpid(pid, &st, 0);
	printf("stack overflow caught on the alternate stack: %s\n", yesno(WIFEXITED(st) && WEXITSTATUS(st) == 33));
	if (!(WIFEXITED(st) && WEXITSTATUS(st) == 33))
		failures++;

	ss.ss_flags = SS_DISABLE;
	sigaltstack(&ss, NULL);
	sigaltstack(NULL, &cur);
	printf("after disabling: SS_DISABLE %s\n", yesno(cur.ss_flags & SS_DISABLE));
}

/* --- SA_NODEFER, sa_mask --------------------------------------------------------- */

static volatile int nd_depth, nd_max, nd_calls, nd_self_blocked, nd_usr2_blocked;

static void nodefer_handler(int sig, siginfo_t *si, void *uc)
{
	(void)si;
	(void)uc;
	nd_depth++;
	nd_calls++;
	if (nd_depth > nd_max)
		nd_max = nd_depth;
	if (nd_calls == 1) {
		nd_self_blocked = is_blocked(sig);
		nd_usr2_blocked = is_blocked(SIGUSR2);
	}
	if (nd_calls < 3)
		raise(sig);
	nd_depth--;
}

static void test_nodefer(void)
{
	sigset_t m;
	sigemptyset(&m);
	sigaddset(&m, SIGUSR2);
	for (int nodefer = 1; nodefer >= 0; nodefer--) {
		install_masked(SIGUSR1, nodefer_handler, nodefer ? SA_NODEFER : 0, &m);
		nd_depth = nd_max = nd_calls = 0;
		raise(SIGUSR1);
		printf("%s: calls %d, max nesting %d, signal blocked inside: %s, sa_mask SIGUSR2 blocked inside: %s\n",
		       nodefer ? "SA_NODEFER" : "default", nd_calls, nd_max, yesno(nd_self_blocked), yesno(nd_usr2_blocked));
	}
	check(!is_blocked(SIGUSR1) && !is_blocked(SIGUSR2), "mask restored after handlers");
	set_default(SIGUSR1);
}

/* --- SA_RESETHAND ------------------------------------------------------------------ */

static volatile int rh_ran;
static void resethand_handler(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)si;
	(void)uc;
	rh_ran++;
}

static void test_resethand(void)
{
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		install(SIGUSR1, resethand_handler, SA_RESETHAND);
		raise(SIGUSR1);
		struct sigaction old;
		sigaction(SIGUSR1, NULL, &old);
		if (rh_ran != 1)
			_exit(1);
		if (old.sa_handler != SIG_DFL)
			_exit(2);
		raise(SIGUSR1);
		_exit(3);
	}
	int st = 0;
	waitpid(pid, &st, 0);
	printf("SA_RESETHAND: second raise killed the child: %s, by SIGUSR1: %s, exit status if not: %d\n",
	       yesno(WIFSIGNALED(st)), yesno(WIFSIGNALED(st) && WTERMSIG(st) == SIGUSR1),
	       WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	if (!(WIFSIGNALED(st) && WTERMSIG(st) == SIGUSR1))
		failures++;
}

/* --- synchronous faults --------------------------------------------------------- */

static sigjmp_buf fault_env;
static volatile int f_sig, f_code;
static void *volatile f_addr;
static volatile uintptr_t f_rip;
static volatile int f_count;

static void fault_handler(int sig, siginfo_t *si, void *ucv)
{
	ucontext_t *uc = ucv;
	f_sig = sig;
	f_code = si->si_code;
	f_addr = si->si_addr;
	f_rip = (uintptr_t)uc->uc_mcontext.gregs[REG_RIP];
	f_count++;
	siglongjmp(fault_env, 1);
}

static void *volatile ill_addr, *volatile fpe_addr, *volatile trap_after;

static void do_ud2(void)
{
	__asm__ volatile("leaq 1f(%%rip), %%rax\n\t"
	                 "movq %%rax, %0\n"
	                 "1:\tud2"
	                 : "=m"(ill_addr)
	                 :
	                 : "rax", "memory");
}

static void do_idiv(int d)
{
	__asm__ volatile("leaq 1f(%%rip), %%rax\n\t"
	                 "movq %%rax, %0\n\t"
	                 "movl $1, %%eax\n\t"
	                 "cltd\n"
	                 "1:\tidivl %1"
	                 : "=m"(fpe_addr)
	                 : "r"(d)
	                 : "rax", "rdx", "cc", "memory");
}

static void do_int3(void)
{
	__asm__ volatile("int3\n"
	                 "1:\tleaq 1b(%%rip), %%rax\n\t"
	                 "movq %%rax, %0"
	                 : "=m"(trap_after)
	                 :
	                 : "rax", "memory");
}

static volatile int trap_returns;
static volatile uintptr_t trap_rip;
static void trap_return_handler(int sig, siginfo_t *si, void *ucv)
{
	(void)sig;
	(void)si;
	ucontext_t *uc = ucv;
	trap_rip = (uintptr_t)uc->uc_mcontext.gregs[REG_RIP];
	trap_returns++;
}

static char *volatile fix_page;
static volatile int fix_count;
static void fix_handler(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	fix_count++;
	if ((char *)si->si_addr >= fix_page && (char *)si->si_addr < fix_page + 4096)
		mprotect(fix_page, 4096, PROT_READ | PROT_WRITE);
}

static void test_faults(void)
{
	long pagesz = sysconf(_SC_PAGESIZE);
	install(SIGSEGV, fault_handler, 0);
	install(SIGBUS, fault_handler, 0);
	install(SIGFPE, fault_handler, 0);
	install(SIGILL, fault_handler, 0);
	install(SIGTRAP, fault_handler, 0);

	/* Read from an unmapped low address. */
	{
		volatile int *volatile p = (volatile int *)(uintptr_t)0x18;
		f_count = 0;
		if (sigsetjmp(fault_env, 1) == 0) {
			int v = *p;
			printf("FAIL read of 0x18 gave %d\n", v);
			failures++;
		}
		printf("read 0x18: %s, %s, si_addr == 0x18: %s, SIGSEGV unblocked after siglongjmp: %s\n",
		       f_sig == SIGSEGV ? "SIGSEGV" : "other", codename(f_sig, f_code), yesno(f_addr == (void *)p),
		       yesno(!is_blocked(SIGSEGV)));
	}

	/* Write into a PROT_NONE page, PROT_READ page; address in the middle. */
	char *page = mmap(NULL, (size_t)pagesz * 2, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (page == MAP_FAILED) {
		printf("FAIL mmap: %s\n", errname(errno));
		failures++;
		return;
	}
	mprotect(page + pagesz, (size_t)pagesz, PROT_READ);
	for (volatile int i = 0; i < 2; i++) {
		volatile char *volatile target = page + i * pagesz + 100;
		f_count = 0;
		f_sig = 0;
		if (sigsetjmp(fault_env, 1) == 0) {
			*target = 1;
			printf("FAIL write to %s page succeeded\n", i ? "PROT_READ" : "PROT_NONE");
			failures++;
		}
		printf("write to %s page: %s, %s, si_addr exact: %s\n", i ? "PROT_READ" : "PROT_NONE",
		       f_sig == SIGSEGV ? "SIGSEGV" : "other", codename(f_sig, f_code), yesno(f_addr == (void *)target));
	}
	/* Read from PROT_NONE. */
	{
		volatile char *volatile target = page + 4000;
		f_sig = 0;
		if (sigsetjmp(fault_env, 1) == 0) {
			char v = *target;
			printf("FAIL read of PROT_NONE gave %d\n", v);
			failures++;
		}
		printf("read from PROT_NONE page: %s, %s, si_addr exact: %s\n", f_sig == SIGSEGV ? "SIGSEGV" : "other",
		       codename(f_sig, f_code), yesno(f_addr == (void *)target));
	}

	/* sigsetjmp without saving the mask: SIGSEGV stays blocked after siglongjmp. */
	{
		volatile int *volatile p = (volatile int *)(uintptr_t)0x18;
		if (sigsetjmp(fault_env, 0) == 0)
			(void)*p;
		printf("siglongjmp without saved mask: SIGSEGV still blocked: %s\n", yesno(is_blocked(SIGSEGV)));
		block(SIGSEGV, SIG_UNBLOCK);
	}

	/* Integer division by zero, from C and from a located idiv. */
	{
		volatile int a = 7, b = 0;
		f_sig = 0;
		if (sigsetjmp(fault_env, 1) == 0) {
			volatile int q = a / b;
			printf("FAIL 7/0 = %d\n", q);
			failures++;
		}
		printf("7 / 0: %s, %s\n", f_sig == SIGFPE ? "SIGFPE" : "other", codename(f_sig, f_code));
		f_sig = 0;
		if (sigsetjmp(fault_env, 1) == 0)
			do_idiv(0);
		printf("idiv by 0: %s, %s, si_addr is the idiv: %s, RIP is the idiv: %s\n",
		       f_sig == SIGFPE ? "SIGFPE" : "other", codename(f_sig, f_code), yesno(f_addr == fpe_addr),
		       yesno(f_rip == (uintptr_t)fpe_addr));
		volatile int m = INT_MIN, n1 = -1;
		f_sig = 0;
		if (sigsetjmp(fault_env, 1) == 0) {
			volatile int q = m / n1;
			printf("FAIL INT_MIN/-1 = %d\n", q);
			failures++;
		}
		printf("INT_MIN / -1: %s, %s\n", f_sig == SIGFPE ? "SIGFPE" : "other", codename(f_sig, f_code));
	}

	/* ud2 and __builtin_trap. */
	{
		f_sig = 0;
		if (sigsetjmp(fault_env, 1) == 0)
			do_ud2();
		printf("ud2: %s, %s, si_addr is the ud2: %s, RIP is the ud2: %s\n", f_sig == SIGILL ? "SIGILL" : "other",
		       codename(f_sig, f_code), yesno(f_addr == ill_addr), yesno(f_rip == (uintptr_t)ill_addr));
		f_sig = 0;
		if (sigsetjmp(fault_env, 1) == 0)
			__builtin_trap();
		printf("__builtin_trap: %s, %s\n", f_sig == SIGILL ? "SIGILL" : "other", codename(f_sig, f_code));
	}

	/* int3: caught with siglongjmp, then returned from. */
	{
		f_sig = 0;
		if (sigsetjmp(fault_env, 1) == 0)
			__asm__ volatile("int3");
		printf("int3: %s, %s\n", f_sig == SIGTRAP ? "SIGTRAP" : "other", codename(f_sig, f_code));
		install(SIGTRAP, trap_return_handler, 0);
		trap_returns = 0;
		trap_after = NULL;
		do_int3();
		printf("int3 with a returning handler: handler ran %d, execution continued: %s, saved RIP is after "
		       "the int3: %s\n",
		       trap_returns, yesno(trap_after != NULL), yesno(trap_rip == (uintptr_t)trap_after));
	}

	/* Return from a SIGSEGV handler that fixed the protection: the write is retried. */
	{
		install(SIGSEGV, fix_handler, 0);
		fix_page = page;
		mprotect(page, (size_t)pagesz, PROT_NONE);
		fix_count = 0;
		volatile char *volatile t = page + 8;
		*t = 42;
		printf("write retried after the handler fixed the page: handler ran %d, value %d\n", fix_count, page[8]);
	}
	munmap(page, (size_t)pagesz * 2);
	set_default(SIGSEGV);
	set_default(SIGBUS);
	set_default(SIGFPE);
	set_default(SIGILL);
	set_default(SIGTRAP);
}

/* --- process groups, sigsuspend, SIGCHLD ------------------------------------------ */

static volatile int pg_code;
static void pg_handler(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	pg_code = si->si_code;
}

static void test_pgrp(void)
{
	int sync[2];
	if (pipe(sync)) {
		printf("FAIL pipe: %s\n", errname(errno));
		failures++;
		return;
	}
	block(SIGUSR1, SIG_BLOCK);
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		close(sync[0]);
		install(SIGUSR1, pg_handler, 0);
		if (setpgid(0, 0) != 0)
			_exit(1);
		if (write(sync[1], "r", 1) != 1)
			_exit(2);
		sigset_t none;
		sigemptyset(&none);
		pg_code = -1;
		sigsuspend(&none);
		_exit(pg_code == SI_USER ? 42 : 3);
	}
	block(SIGUSR1, SIG_UNBLOCK);
	close(sync[1]);
	char c;
	check(read(sync[0], &c, 1) == 1, "child in its own process group is ready");
	close(sync[0]);
	printf("child's pgid is its pid: %s, differs from ours: %s\n", yesno(getpgid(pid) == pid),
	       yesno(getpgid(pid) != getpgrp()));
	check(kill(-pid, SIGUSR1) == 0, "kill(-pgid, SIGUSR1)");
	int st = 0;
	waitpid(pid, &st, 0);
	printf("process group signal: child exit status %d\n", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	if (!(WIFEXITED(st) && WEXITSTATUS(st) == 42))
		failures++;
	errno = 0;
	int r = kill(-pid, SIGUSR1);
	printf("kill of the vanished group: %d %s\n", r, errname(errno));
}

static void test_sigsuspend(void)
{
	install(SIGUSR2, recorder, 0);
	reset_rec();
	block(SIGUSR2, SIG_BLOCK);
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0)
		_exit(kill(getppid(), SIGUSR2) == 0 ? 0 : 1);
	sigset_t wait_mask;
	sigprocmask(SIG_SETMASK, NULL, &wait_mask);
	sigdelset(&wait_mask, SIGUSR2);
	int r = 0, e = 0;
	while (rec_count == 0) {
		errno = 0;
		r = sigsuspend(&wait_mask);
		e = errno;
	}
	printf("sigsuspend: %d %s, handler ran %d, si_pid is the child: %s, si_code %s, SIGUSR2 blocked again: %s\n", r,
	       errname(e), (int)rec_count, yesno(rec_pid == pid), codename(SIGUSR2, rec_code), yesno(is_blocked(SIGUSR2)));
	int st;
	waitpid(pid, &st, 0);
	block(SIGUSR2, SIG_UNBLOCK);
	set_default(SIGUSR2);
}

static volatile int chld_count, chld_code, chld_status;
static volatile pid_t chld_pid;
static void chld_handler(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	chld_count++;
	chld_code = si->si_code;
	chld_status = si->si_status;
	chld_pid = si->si_pid;
}

static void test_sigchld(void)
{
	install(SIGCHLD, chld_handler, SA_RESTART);
	block(SIGCHLD, SIG_BLOCK);
	chld_count = 0;
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0)
		_exit(7);
	sigset_t wait_mask;
	sigprocmask(SIG_SETMASK, NULL, &wait_mask);
	sigdelset(&wait_mask, SIGCHLD);
	while (chld_count == 0)
		sigsuspend(&wait_mask);
	printf("SIGCHLD: handler ran %d, %s, si_status %d, si_pid is the child: %s\n", chld_count,
	       codename(SIGCHLD, chld_code), chld_status, yesno(chld_pid == pid));
	int st = 0;
	pid_t r = waitpid(pid, &st, 0);
	printf("child reaped after SIGCHLD: %s, status %d\n", yesno(r == pid), WEXITSTATUS(st));

	/* A child killed by a signal: CLD_KILLED with the signal number. */
	chld_count = 0;
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		for (;;)
			pause();
	}
	kill(pid, SIGTERM);
	while (chld_count == 0)
		sigsuspend(&wait_mask);
	printf("SIGCHLD for a killed child: %s, si_status is SIGTERM: %s\n", codename(SIGCHLD, chld_code),
	       yesno(chld_status == SIGTERM));
	waitpid(pid, &st, 0);
	block(SIGCHLD, SIG_UNBLOCK);
	set_default(SIGCHLD);
}

/* --- SIGPIPE -------------------------------------------------------------------------- */

static volatile int pipe_sigs;
static void pipe_handler(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)si;
	(void)uc;
	pipe_sigs++;
}

static void test_sigpipe(void)
{
	int p[2];
	/* Ignored: EPIPE. */
	signal(SIGPIPE, SIG_IGN);
	if (pipe(p)) {
		printf("FAIL pipe: %s\n", errname(errno));
		failures++;
		return;
	}
	close(p[0]);
	errno = 0;
	ssize_t n = write(p[1], "x", 1);
	printf("write to a closed pipe, SIGPIPE ignored: %d %s\n", (int)n, errname(errno));
	close(p[1]);

	/* Caught: the handler runs and write still fails with EPIPE. */
	install(SIGPIPE, pipe_handler, 0);
	pipe_sigs = 0;
	if (pipe(p)) {
		failures++;
		return;
	}
	close(p[0]);
	errno = 0;
	n = write(p[1], "x", 1);
	printf("write to a closed pipe, SIGPIPE caught: %d %s, handler ran %d\n", (int)n, errname(errno), pipe_sigs);
	close(p[1]);

	/* Default action, in a child: killed by SIGPIPE. */
	set_default(SIGPIPE);
	if (pipe(p)) {
		failures++;
		return;
	}
	/* The read end is closed before the fork, so no process holds it. */
	close(p[0]);
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		ssize_t w = write(p[1], "x", 1);
		_exit(w == 1 ? 10 : 11);
	}
	close(p[1]);
	int st = 0;
	waitpid(pid, &st, 0);
	printf("default SIGPIPE: child WIFSIGNALED %s, WTERMSIG is SIGPIPE: %s\n", yesno(WIFSIGNALED(st)),
	       yesno(WIFSIGNALED(st) && WTERMSIG(st) == SIGPIPE));
	if (!(WIFSIGNALED(st) && WTERMSIG(st) == SIGPIPE))
		failures++;
}

/* --- ignored and default-ignored signals ------------------------------------------- */

static void test_ignore(void)
{
	signal(SIGUSR1, SIG_IGN);
	raise(SIGUSR1);
	check(1, "ignored SIGUSR1 did not kill us");
	set_default(SIGUSR1);
	/* SIGURG and SIGWINCH are ignored by default. */
	raise(SIGURG);
	raise(SIGWINCH);
	check(1, "default-ignored SIGURG and SIGWINCH did not kill us");
	/* A blocked signal stays pending even though it is ignored (Linux
	 * discards ignored signals only when they are not blocked). */
	signal(SIGUSR2, SIG_IGN);
	block(SIGUSR2, SIG_BLOCK);
	raise(SIGUSR2);
	sigset_t pend;
	sigpending(&pend);
	printf("blocked ignored signal pending: %s\n", yesno(sigismember(&pend, SIGUSR2) == 1));
	block(SIGUSR2, SIG_UNBLOCK);
	set_default(SIGUSR2);
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	test_siginfo();
	test_blocking();
	test_restart();
	test_altstack();
	test_nodefer();
	test_resethand();
	test_faults();
	test_pgrp();
	test_sigsuspend();
	test_sigchld();
	test_sigpipe();
	test_ignore();
	if (failures) {
		printf("signals: %d failures\n", failures);
		return 1;
	}
	printf("signals ok\n");
	return 0;
}
