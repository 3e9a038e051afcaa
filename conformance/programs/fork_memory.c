/* fork() and memory nobody had written yet: fresh anonymous pages, a large
 * untouched bss array, the stack below the parent's frames and memory from
 * brk. After the fork each side writes pages the other never wrote and must
 * go on seeing zeros in the other's; an mprotect of a fresh page in the child
 * is the child's alone; a child that writes and exits at once leaves nothing
 * behind; a grandchild's writes reach neither its parent nor the first
 * process. Children report through exit statuses, never through stdout. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"

#define PAGE 4096
#define HEAP_PAGES 64

static unsigned char bss[1 << 20];

static int all_zero(const volatile unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != 0)
			return 0;
	return 1;
}

/* Uses `depth` pages of stack below the caller, each filled with `v`; returns their sum. */
static __attribute__((noinline)) unsigned long deep(int depth, unsigned char v)
{
	volatile unsigned char frame[PAGE];
	memset((unsigned char *)frame, v, sizeof frame);
	unsigned long sum = frame[0] + frame[PAGE - 1];
	if (depth > 1)
		sum += deep(depth - 1, v);
	return sum;
}

/* The exit status of pid, or -1 when it did not exit normally. */
static int wait_exit(pid_t pid)
{
	int st;
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}

static void say(int fd, char c)
{
	if (write(fd, &c, 1) != 1)
		_exit(90);
}

static char hear(int fd)
{
	char c = 0;
	if (read(fd, &c, 1) != 1)
		_exit(91);
	return c;
}

int main(void)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	unsigned char *heap = mmap(NULL, HEAP_PAGES * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (heap == MAP_FAILED) {
		printf("mmap: %s\n", errname(errno));
		return 1;
	}
	heap[0] = 1; /* the only heap page written before the fork */
	bss[0] = 2;
	unsigned char *brk0 = (unsigned char *)syscall(SYS_brk, 0);
	int to_child[2], to_parent[2];
	if (pipe(to_child) != 0 || pipe(to_parent) != 0)
		return 1;

	pid_t pid = fork();
	if (pid == 0) {
		int bad = 0;
		if (heap[0] != 1 || bss[0] != 2)
			bad |= 1; /* the parent's bytes */
		if (!all_zero(heap + PAGE, (HEAP_PAGES - 1) * PAGE) || !all_zero(bss + 1, sizeof bss - 1))
			bad |= 2; /* zeros where the parent wrote nothing */
		memset(heap + 8 * PAGE, 0x5a, 3 * PAGE);
		memset(bss + 100000, 0x33, 5000);
		if (deep(16, 0x44) != 16ul * 2 * 0x44)
			bad |= 4;
		unsigned char *grown = (unsigned char *)syscall(SYS_brk, brk0 + 16 * PAGE);
		if (grown == brk0 + 16 * PAGE)
			memset(brk0, 0x66, 16 * PAGE);
		say(to_parent[1], 'w'); /* written */
		hear(to_child[0]);      /* the parent wrote its own pages */
		if (!all_zero(heap + 20 * PAGE, PAGE) || bss[500000] != 0)
			bad |= 8; /* the parent's writes after the fork are not ours */
		if (heap[8 * PAGE] != 0x5a || bss[100000] != 0x33)
			bad |= 16; /* ours are still there */
		if (mprotect(heap + 30 * PAGE, PAGE, PROT_READ) != 0)
			bad |= 32;
		say(to_parent[1], 'p');
		hear(to_child[0]); /* the parent wrote into that page */
		if (heap[30 * PAGE] != 0)
			bad |= 64;
		_exit(bad);
	}
	check(pid > 0, "fork");
	check(hear(to_parent[0]) == 'w', "the child wrote fresh pages");
	check(all_zero(heap + 8 * PAGE, 3 * PAGE), "the child's writes to fresh heap pages are not the parent's");
	check(all_zero(bss + 100000, 5000), "nor its writes to the untouched bss");
	check(deep(16, 0x11) == 16ul * 2 * 0x11, "the stack below the parent's frames is its own");
	memset(heap + 20 * PAGE, 0x77, PAGE);
	bss[500000] = 9;
	say(to_child[1], 'g');
	check(hear(to_parent[0]) == 'p', "the child made a fresh page read-only");
	heap[30 * PAGE] = 0x11; /* would fault if the child's protection were the parent's */
	check(heap[30 * PAGE] == 0x11, "the parent writes the page the child made read-only");
	say(to_child[1], 'g');
	int st = wait_exit(pid);
	check(st == 0, "the child saw its own memory and the parent's bytes from before the fork only");
	if (st != 0)
		printf("child status %d\n", st);
	unsigned char *grown = (unsigned char *)syscall(SYS_brk, brk0 + 16 * PAGE);
	check(grown == brk0 + 16 * PAGE && all_zero(brk0, 16 * PAGE), "brk memory the child wrote is zero for the parent");

	/* A child that writes fresh pages and exits before anyone else runs. */
	pid = fork();
	if (pid == 0) {
		memset(heap + 40 * PAGE, 0x99, 8 * PAGE);
		memset(bss + 700000, 0x98, 3 * PAGE);
		_exit(0);
	}
	check(wait_exit(pid) == 0, "a child wrote and exited");
	check(all_zero(heap + 40 * PAGE, 8 * PAGE) && all_zero(bss + 700000, 3 * PAGE), "what it wrote is gone with it");

	/* A grandchild: three holders of the same fresh pages. */
	pid = fork();
	if (pid == 0) {
		pid_t g = fork();
		if (g == 0) {
			memset(heap + 50 * PAGE, 0x55, PAGE);
			_exit(heap[0] == 1 && heap[20 * PAGE] == 0x77 ? 0 : 1);
		}
		int gs = wait_exit(g);
		_exit(gs == 0 && all_zero(heap + 50 * PAGE, PAGE) ? 0 : 1);
	}
	check(wait_exit(pid) == 0, "a grandchild sees the bytes from before its fork, and its writes stay its own");
	check(all_zero(heap + 50 * PAGE, PAGE), "the first process does not see the grandchild's writes");
	check(heap[0] == 1 && heap[8 * PAGE] == 0 && heap[20 * PAGE] == 0x77 && bss[500000] == 9, "the parent's own bytes are intact");

	if (failures) {
		printf("fork_memory: %d failures\n", failures);
		return 1;
	}
	printf("fork_memory ok\n");
	return 0;
}
