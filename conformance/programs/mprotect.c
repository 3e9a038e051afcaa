/*
 * Page protections as guest code sees them: writes to read-only memory,
 * reads of PROT_NONE memory and execution of memory without PROT_EXEC give
 * SIGSEGV with SEGV_ACCERR and the exact si_addr; mprotect back and the
 * access works; a handler that fixes the protection and returns makes the
 * CPU retry; freed memory is fully usable by its next owner; protections are
 * per process across fork; text and read-only data of the program itself
 * cannot be written. Addresses are printed relative to their mapping.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

static sigjmp_buf env;
static volatile int f_sig, f_code, f_count;
static void *volatile f_addr;

static void on_fault(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	f_sig = sig;
	f_code = si->si_code;
	f_addr = si->si_addr;
	f_count++;
	siglongjmp(env, 1);
}

static void install(void (*fn)(int, siginfo_t *, void *))
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = fn;
	sa.sa_flags = SA_SIGINFO | SA_NODEFER;
	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGBUS, &sa, NULL);
}

static const char *code_name(void)
{
	if (f_sig == 0) return "no fault";
	if (f_sig != SIGSEGV) return "not SIGSEGV";
	return f_code == SEGV_ACCERR ? "SIGSEGV SEGV_ACCERR" : f_code == SEGV_MAPERR ? "SIGSEGV SEGV_MAPERR" : "SIGSEGV other code";
}

static void report(const char *what, const void *base)
{
	if (f_sig == 0)
		printf("%s: no fault\n", what);
	else
		printf("%s: %s at base%+ld\n", what, code_name(), (long)((const char *)f_addr - (const char *)base));
}

#define TRY(what, base, stmt)                                                                                          \
	do {                                                                                                           \
		f_sig = 0;                                                                                             \
		if (sigsetjmp(env, 1) == 0) {                                                                          \
			stmt;                                                                                          \
		}                                                                                                      \
		report(what, base);                                                                                    \
	} while (0)

/* mov eax, 42; ret */
static const unsigned char RET42[] = { 0xb8, 0x2a, 0x00, 0x00, 0x00, 0xc3 };
typedef int (*fn_t)(void);
static volatile int result;

static char *volatile fix_page;
static volatile int fix_prot;
static void fixing_handler(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	f_count++;
	f_code = si->si_code;
	f_addr = si->si_addr;
	mprotect(fix_page, 4096, fix_prot);
}

static const char rodata_string[] = "read-only";

int main(void)
{
	long pg = sysconf(_SC_PAGESIZE);
	install(on_fault);
	char *p = mmap(NULL, (size_t)pg * 3, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	volatile char *v = p;

	/* Data: write, then read-only, then none, then back. */
	v[10] = 5;
	printf("rw write and read: %d\n", v[10]);
	printf("mprotect PROT_READ: %d\n", mprotect(p, (size_t)pg, PROT_READ));
	printf("read after PROT_READ: %d\n", v[10]);
	TRY("write to PROT_READ", p, v[123] = 1);
	TRY("write to PROT_READ, second page boundary", p, v[pg - 1] = 1);
	TRY("write to the rw page after it", p, v[pg + 7] = 3);
	printf("mprotect PROT_NONE: %d\n", mprotect(p, (size_t)pg, PROT_NONE));
	TRY("read of PROT_NONE after reads", p, result = v[200]);
	TRY("write to PROT_NONE", p, v[300] = 1);
	printf("mprotect PROT_READ|PROT_WRITE: %d\n", mprotect(p, (size_t)pg, PROT_READ | PROT_WRITE));
	TRY("write after mprotect back", p, v[123] = 9);
	printf("values: %d %d\n", v[10], v[123]);

	/* A range across two pages. */
	mprotect(p, (size_t)pg * 2, PROT_READ);
	TRY("write to the second of two PROT_READ pages", p, v[pg + 8] = 1);
	mprotect(p, (size_t)pg * 2, PROT_READ | PROT_WRITE);
	TRY("write to it after PROT_WRITE is back", p, v[pg + 8] = 1);

	/* Code: not executable without PROT_EXEC. */
	char *c = p + 2 * pg;
	memcpy(c, RET42, sizeof RET42);
	TRY("call into rw- memory", c, result = ((fn_t)(uintptr_t)c)());
	printf("mprotect PROT_READ|PROT_EXEC: %d\n", mprotect(c, (size_t)pg, PROT_READ | PROT_EXEC));
	f_sig = 0;
	if (sigsetjmp(env, 1) == 0) {
		result = ((fn_t)(uintptr_t)c)();
		printf("call into r-x memory returned %d\n", result);
	} else {
		report("call into r-x memory", c);
	}
	TRY("write into r-x memory", c, c[100] = 0);
	printf("mprotect PROT_READ|PROT_WRITE: %d\n", mprotect(c, (size_t)pg, PROT_READ | PROT_WRITE));
	TRY("call after PROT_EXEC was taken away", c, result = ((fn_t)(uintptr_t)c)());
	mprotect(c, (size_t)pg, PROT_NONE);
	TRY("call into PROT_NONE", c, result = ((fn_t)(uintptr_t)c)());

	/* A handler that fixes the protection and returns: the access is retried. */
	{
		install(fixing_handler);
		fix_page = p;
		fix_prot = PROT_READ | PROT_WRITE;
		mprotect(p, (size_t)pg, PROT_READ);
		f_count = 0;
		v[77] = 42;
		printf("write retried: handler ran %d (%s at base%+ld), value %d\n", f_count,
		       f_code == SEGV_ACCERR ? "SEGV_ACCERR" : "other", (long)((char *)f_addr - p), v[77]);
		fix_page = c;
		fix_prot = PROT_READ | PROT_EXEC;
		f_count = 0;
		result = ((fn_t)(uintptr_t)c)();
		printf("call retried: handler ran %d (%s at base%+ld), returned %d\n", f_count,
		       f_code == SEGV_ACCERR ? "SEGV_ACCERR" : "other", (long)((char *)f_addr - c), result);
		install(on_fault);
	}

	/* Freed memory goes to its next owner fully usable. */
	mprotect(p, (size_t)pg * 3, PROT_NONE);
	munmap(p, (size_t)pg * 3);
	{
		size_t n = 1 << 20;
		char *q = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		f_sig = 0;
		if (sigsetjmp(env, 1) == 0) {
			memset(q, 7, n);
			printf("fresh mapping after munmap of PROT_NONE memory: writable, byte %d\n", q[n - 1]);
		} else {
			report("fresh mapping after munmap of PROT_NONE memory", q);
		}
		munmap(q, n);
		char *m = malloc(n);
		f_sig = 0;
		if (sigsetjmp(env, 1) == 0) {
			memset(m, 1, n);
			printf("malloc after munmap: writable\n");
		} else {
			printf("malloc after munmap: %s\n", code_name());
		}
		free(m);
	}

	/* mremap keeps the protection; growing gives the new part the same. */
	{
		char *r = mmap(NULL, (size_t)pg, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		char *r2 = mremap(r, (size_t)pg, (size_t)pg * 4, MREMAP_MAYMOVE);
		volatile char *rv = r2;
		TRY("write to a grown PROT_READ mapping, first page", r2, rv[5] = 1);
		TRY("write to a grown PROT_READ mapping, last page", r2, rv[3 * pg + 5] = 1);
		munmap(r2, (size_t)pg * 4);
	}

	/* Protections are per process: a forked child changes its own copy only. */
	{
		char *s = mmap(NULL, (size_t)pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		volatile char *sv = s;
		sv[0] = 11;
		mprotect(s, (size_t)pg, PROT_READ);
		int to_child[2], to_parent[2];
		if (pipe(to_child) != 0 || pipe(to_parent) != 0) return 1;
		fflush(stdout);
		pid_t pid = fork();
		if (pid == 0) {
			char b;
			TRY("child: write to the inherited PROT_READ page", s, sv[1] = 1);
			mprotect(s, (size_t)pg, PROT_READ | PROT_WRITE);
			TRY("child: write after its own mprotect", s, sv[0] = 22);
			fflush(stdout);
			if (write(to_parent[1], "x", 1) != 1 || read(to_child[0], &b, 1) != 1) _exit(1);
			TRY("child: write again after the parent ran", s, sv[0] = 33);
			printf("child: value %d\n", sv[0]);
			fflush(stdout);
			_exit(0);
		}
		char b;
		if (read(to_parent[0], &b, 1) != 1) return 1;
		TRY("parent: write while the child has it writable", s, sv[2] = 1);
		if (write(to_child[1], "x", 1) != 1) return 1;
		int status = 0;
		waitpid(pid, &status, 0);
		TRY("parent: write after the child exited", s, sv[3] = 1);
		printf("parent: value %d, child exit %d\n", sv[0], WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	}

	/* The program's own read-only data and text. */
	TRY("write to a string in .rodata", rodata_string, *(volatile char *)rodata_string = 'R');
	TRY("write to main's code", (void *)main, *(volatile char *)(uintptr_t)main = 0);

	printf("mprotect ok\n");
	return 0;
}
