/*
 * sysfuzz: hostile arguments for every syscall. Each trial forks a child
 * that opens a few kinds of files, then makes one syscall with arguments
 * drawn from a seeded generator (zero, -1, small numbers, huge sizes,
 * pointers into its own buffer, into unmapped memory, at a path string) and
 * exits. The parent kills a child that is still running after 200 ms. Run
 * only under nommu, inside a scratch root: natively these calls would do
 * what they say to the machine.
 *
 *   sysfuzz <seed> <trials>
 *
 * Prints "trials N, exits E, signals S, killed K" and exits 0.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static uint64_t state;

static uint64_t next(void)
{
	/* xorshift64* */
	state ^= state >> 12;
	state ^= state << 25;
	state ^= state >> 27;
	return state * 0x2545F4914F6CDD1DULL;
}

static char buf[3 * 4096] __attribute__((aligned(4096)));
static const char path[] = "fuzz-file";

static long arg(void)
{
	switch (next() % 12) {
	case 0: return 0;
	case 1: return -1;
	case 2: return (long)(next() % 16);
	case 3: return (long)(next() % 4096);
	case 4: return (long)(buf + next() % 4096);
	case 5: return (long)buf;
	case 6: return (long)path;
	case 7: return 1L << (20 + next() % 40);
	case 8: return (long)0x7fffffff;
	case 9: return (long)(next() | 0x8000000000000000ULL);
	case 10: return (long)(next() & 0xfffffffff000ULL); /* a page somewhere, most likely unmapped */
	default: return (long)next();
	}
}

/* Calls that would leave the child (fork, exec), reach other processes, or end the run. */
static int skipped(long nr)
{
	switch (nr) {
	case SYS_clone: case SYS_fork: case SYS_vfork: case SYS_execve: case SYS_execveat: case 435 /* clone3 */:
	case SYS_exit: case SYS_exit_group: case SYS_kill: case SYS_tkill: case SYS_tgkill:
	case SYS_rt_sigqueueinfo: case SYS_rt_tgsigqueueinfo: case 424 /* pidfd_send_signal */:
	case SYS_setpriority: /* PRIO_USER would renice the parent too */
		return 1;
	default:
		return 0;
	}
}

static void child(long nr)
{
	int devnull = open("/dev/null", O_RDWR);
	dup2(devnull, 0);
	dup2(devnull, 1);
	dup2(devnull, 2);
	int fd = open(path, O_RDWR | O_CREAT, 0644);
	if (fd >= 0 && write(fd, "0123456789", 10) < 0)
		_exit(98);
	int p[2], sv[2];
	if (pipe(p) != 0 || socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
		_exit(99);
	eventfd(1, 0);
	epoll_create1(0);
	for (size_t i = 0; i < sizeof buf; i += 8)
		*(uint64_t *)(buf + i) = next();
	long a[6];
	for (int i = 0; i < 6; i++)
		a[i] = arg();
	syscall(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
	_exit(0);
}

int main(int argc, char **argv)
{
	state = argc > 1 ? strtoull(argv[1], NULL, 0) : 1;
	if (state == 0)
		state = 1;
	long trials = argc > 2 ? strtol(argv[2], NULL, 0) : 1000;
	long exits = 0, signals = 0, killed = 0;
	for (long t = 0; t < trials; t++) {
		long nr;
		do
			nr = (long)(next() % 2 ? next() % 335 : 424 + next() % 40);
		while (skipped(nr));
		uint64_t seed = next();
		fflush(stdout);
		pid_t pid = fork();
		if (pid < 0) {
			printf("fork failed at trial %ld\n", t);
			return 1;
		}
		if (pid == 0) {
			state = seed ? seed : 1;
			child(nr);
		}
		int st = 0, waited = 0;
		for (int i = 0; i < 40 && !(waited = waitpid(pid, &st, WNOHANG) == pid); i++) {
			struct timespec ts = { 0, 5 * 1000 * 1000 };
			nanosleep(&ts, NULL);
		}
		if (!waited) {
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			killed++;
		} else if (WIFSIGNALED(st)) {
			signals++;
		} else {
			exits++;
		}
	}
	unlink(path);
	printf("trials %ld, exits %ld, signals %ld, killed %ld\n", trials, exits, signals, killed);
	return 0;
}
