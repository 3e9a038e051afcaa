/* Floating-point state across signal delivery: a long loop of double (SSE)
 * and long double (x87) accumulations is interrupted every millisecond by
 * an ITIMER_REAL SIGALRM whose handler does its own SSE and x87 work and
 * switches the rounding mode (x87 control word and MXCSR) without restoring
 * it. The kernel must save and restore the whole FP state around the
 * handler, so the interrupted run must give bit-identical results to a run
 * without the timer. Also: a handler starts with the default FP
 * environment whatever the interrupted code had set. */
#include <fenv.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#define ITERATIONS 2000000

static volatile double d_seed = 1.0000001;
static volatile long double ld_seed = 1.0000000001L;

static __attribute__((noinline)) void fp_loop(int iterations, double *dres, long double *ldres)
{
	double d = 0.0, x = d_seed;
	long double ld = 0.0L, y = ld_seed;
	for (int i = 0; i < iterations; i++) {
		x = x * 1.0000000003 + 1e-12;
		d += x / (double)(i + 1);
		y = y * 1.0000000007L - 1e-15L;
		ld += y / (long double)(i + 3);
	}
	*dres = d;
	*ldres = ld;
}

static volatile sig_atomic_t handler_runs;
static volatile int handler_entry_round = -1;
static volatile double handler_sink;
static volatile long double handler_ld_sink;

static void handler_fp_work(void)
{
	double a = 3.0;
	long double b = 7.0L;
	for (int k = 1; k < 200; k++) {
		a = a / 1.7 + 1.0 / k;
		b = b / 1.3L + 1.0L / k;
	}
	handler_sink += a;
	handler_ld_sink += b;
}

static void on_alarm(int sig)
{
	(void)sig;
	handler_runs++;
	/* Leave the rounding mode changed: sigreturn must restore the interrupted one. */
	fesetround(FE_UPWARD);
	handler_fp_work();
}

static void on_usr1(int sig)
{
	(void)sig;
	handler_entry_round = fegetround();
	fesetround(FE_TOWARDZERO);
	handler_fp_work();
}

static const char *round_name(int r)
{
	switch (r) {
	case FE_TONEAREST: return "FE_TONEAREST";
	case FE_UPWARD: return "FE_UPWARD";
	case FE_DOWNWARD: return "FE_DOWNWARD";
	case FE_TOWARDZERO: return "FE_TOWARDZERO";
	default: return "?";
	}
}

static void set_timer(long usec)
{
	struct itimerval it;
	it.it_interval.tv_sec = 0;
	it.it_interval.tv_usec = usec;
	it.it_value = it.it_interval;
	setitimer(ITIMER_REAL, &it, NULL);
}

int main(void)
{
	int failures = 0;
	setvbuf(stdout, NULL, _IOLBF, 0);

	double d_quiet, d_loud;
	long double ld_quiet, ld_loud;
	fp_loop(ITERATIONS, &d_quiet, &ld_quiet);

	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_alarm;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);

	/* Run with the timer until at least one handler has run (normally the first pass; on a
	 * loaded machine a pass can end before the first tick is delivered). */
	int passes = 0, all_same = 1;
	do {
		set_timer(1000);
		fp_loop(ITERATIONS, &d_loud, &ld_loud);
		set_timer(0);
		passes++;
		if (memcmp(&d_loud, &d_quiet, sizeof d_loud) != 0 || memcmp(&ld_loud, &ld_quiet, 10) != 0)
			all_same = 0;
	} while (handler_runs == 0 && passes < 200);

	printf("without timer: double %.17g long double %.21Lg\n", d_quiet, ld_quiet);
	printf("with timer:    double %.17g long double %.21Lg\n", d_loud, ld_loud);
	printf("same: %s\n", all_same ? "yes" : "no");
	printf("handler ran: %s\n", handler_runs > 0 ? "yes" : "no");
	printf("rounding mode after the handlers: %s\n", round_name(fegetround()));
	if (!all_same || handler_runs == 0 || fegetround() != FE_TONEAREST)
		failures++;

	/* A handler starts with the default rounding mode; the interrupted one is restored. */
	signal(SIGUSR1, on_usr1);
	fesetround(FE_DOWNWARD);
	raise(SIGUSR1);
	int after = fegetround();
	fesetround(FE_TONEAREST);
	printf("interrupted code had FE_DOWNWARD; handler saw %s; restored: %s\n", round_name(handler_entry_round),
	       round_name(after));
	if (after != FE_DOWNWARD)
		failures++;

	/* FP results computed under a non-default mode survive a handler too. */
	fesetround(FE_UPWARD);
	double u_quiet, u_loud;
	long double lu_quiet, lu_loud;
	fp_loop(ITERATIONS / 4, &u_quiet, &lu_quiet);
	handler_runs = 0;
	passes = 0;
	all_same = 1;
	do {
		set_timer(1000);
		fp_loop(ITERATIONS / 4, &u_loud, &lu_loud);
		set_timer(0);
		passes++;
		if (memcmp(&u_loud, &u_quiet, sizeof u_loud) != 0 || memcmp(&lu_loud, &lu_quiet, 10) != 0)
			all_same = 0;
	} while (handler_runs == 0 && passes < 200);
	fesetround(FE_TONEAREST);
	printf("FE_UPWARD loop: double %.17g long double %.21Lg\n", u_quiet, lu_quiet);
	printf("FE_UPWARD same with timer: %s, differs from nearest: %s\n", all_same ? "yes" : "no",
	       u_quiet != d_quiet ? "yes" : "no");
	if (!all_same)
		failures++;

	if (failures) {
		printf("fp_signals: %d failures\n", failures);
		return 1;
	}
	printf("fp_signals ok\n");
	return 0;
}
