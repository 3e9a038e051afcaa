/* Pipes: pipe2 flags (O_CLOEXEC, O_NONBLOCK) as seen through F_GETFD /
 * F_GETFL and across execve, EAGAIN on an empty non-blocking read and on a
 * full pipe, the pipe's capacity, partial non-blocking writes, PIPE_BUF
 * atomicity with two concurrent writers (write and a two-vector writev),
 * writev as one transfer (all or nothing up to PIPE_BUF, else what fits), a
 * blocking write larger than the pipe waiting until all is written, a signal
 * ending a blocked write with the count written so far (EINTR if none), EOF
 * once every writer has closed, and a 1 MiB round trip parent -> child ->
 * parent through two pipes.
 *
 * Child mode: "checkfds A B" exits with bit 0 set if fd A is open and bit 1
 * set if fd B is open. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"

extern char **environ;

static const char *accmode(int fl)
{
	switch (fl & O_ACCMODE) {
	case O_RDONLY: return "O_RDONLY";
	case O_WRONLY: return "O_WRONLY";
	case O_RDWR: return "O_RDWR";
	default: return "?";
	}
}

static int wait_exit(pid_t pid)
{
	int st;
	pid_t r;
	do
		r = waitpid(pid, &st, 0);
	while (r == -1 && errno == EINTR);
	if (r != pid || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}

static int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Reads until EOF or len bytes; returns the count, or -1. */
static ssize_t read_full(int fd, void *buf, size_t len)
{
	char *p = buf;
	size_t got = 0;
	while (got < len) {
		ssize_t n = read(fd, p + got, len - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

static uint32_t rng_state;
static uint8_t rng_byte(void)
{
	rng_state = rng_state * 1103515245u + 12345u;
	return (uint8_t)(rng_state >> 16);
}

static uint32_t checksum(const uint8_t *p, size_t n)
{
	uint32_t a = 1, b = 0;
	for (size_t i = 0; i < n; i++) {
		a = (a + p[i]) % 65521;
		b = (b + a) % 65521;
	}
	return (b << 16) | a;
}

static void test_flags(const char *self)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC | O_NONBLOCK) != 0) {
		printf("FAIL pipe2: %s\n", errname(errno));
		failures++;
		return;
	}
	int fd0 = fcntl(p[0], F_GETFD), fd1 = fcntl(p[1], F_GETFD);
	int fl0 = fcntl(p[0], F_GETFL), fl1 = fcntl(p[1], F_GETFL);
	printf("pipe2(O_CLOEXEC|O_NONBLOCK): FD_CLOEXEC %d %d, read end %s%s, write end %s%s\n", fd0 & FD_CLOEXEC,
	       fd1 & FD_CLOEXEC, accmode(fl0), fl0 & O_NONBLOCK ? "|O_NONBLOCK" : "", accmode(fl1),
	       fl1 & O_NONBLOCK ? "|O_NONBLOCK" : "");

	char c;
	errno = 0;
	ssize_t n = read(p[0], &c, 1);
	printf("read on empty non-blocking pipe: %d %s\n", (int)n, errname(errno));

	/* Fill it with PIPE_BUF-sized writes. */
	static char block[PIPE_BUF];
	memset(block, 'f', sizeof block);
	long total = 0;
	int e = 0;
	for (int i = 0; i < 1000; i++) {
		errno = 0;
		n = write(p[1], block, sizeof block);
		if (n < 0) {
			e = errno;
			break;
		}
		total += n;
	}
	printf("PIPE_BUF %d; filled with %ld bytes, then %s\n", PIPE_BUF, total, errname(e));
	int sz = fcntl(p[0], F_GETPIPE_SZ);
	printf("F_GETPIPE_SZ: %d, capacity matches: %s\n", sz, sz == total ? "yes" : "no");
	if (sz != total)
		failures++;

	/* A 1-byte write into a full pipe also fails. */
	errno = 0;
	n = write(p[1], "z", 1);
	printf("1-byte write into a full pipe: %d %s\n", (int)n, errname(errno));

	/* Free one page; a non-blocking write of twice that is partial. */
	n = read(p[0], block, sizeof block);
	printf("read %d from the full pipe\n", (int)n);
	static char two[2 * PIPE_BUF];
	memset(two, 'g', sizeof two);
	errno = 0;
	n = write(p[1], two, sizeof two);
	printf("non-blocking write of %d with %d free: %d %s\n", (int)sizeof two, PIPE_BUF, (int)n, errname(errno));

	/* Drain and check the contents. */
	long drained = 0, fs = 0, gs = 0;
	for (;;) {
		n = read(p[0], two, sizeof two);
		if (n <= 0)
			break;
		for (ssize_t i = 0; i < n; i++) {
			fs += two[i] == 'f';
			gs += two[i] == 'g';
		}
		drained += n;
	}
	printf("drained %ld bytes: %ld 'f' and %ld 'g'\n", drained, fs, gs);
	check(drained == total && gs == PIPE_BUF, "drained exactly what was written");

	/* Clear O_NONBLOCK with F_SETFL; F_SETFL cannot change the access mode. */
	fcntl(p[0], F_SETFL, O_RDWR);
	fl0 = fcntl(p[0], F_GETFL);
	printf("after F_SETFL(O_RDWR): read end %s%s\n", accmode(fl0), fl0 & O_NONBLOCK ? "|O_NONBLOCK" : "");
	fcntl(p[0], F_SETFD, 0);
	printf("after F_SETFD(0): FD_CLOEXEC %d\n", fcntl(p[0], F_GETFD) & FD_CLOEXEC);

	/* Across execve: p[0] (no longer close-on-exec) survives, p[1] does not. */
	char a[16], b[16];
	snprintf(a, sizeof a, "%d", p[0]);
	snprintf(b, sizeof b, "%d", p[1]);
	char *av[] = {(char *)self, "checkfds", a, b, NULL};
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		execve(self, av, environ);
		_exit(127);
	}
	int s = wait_exit(pid);
	printf("after execve: fd without FD_CLOEXEC open: %s, fd with FD_CLOEXEC open: %s\n", s >= 0 && (s & 1) ? "yes" : "no",
	       s >= 0 && (s & 2) ? "yes" : "no");
	check(s == 1, "close-on-exec applied by execve");
	close(p[0]);
	close(p[1]);

	/* Plain pipe(): no flags. */
	if (pipe(p) == 0) {
		printf("pipe(): FD_CLOEXEC %d %d, O_NONBLOCK %d %d\n", fcntl(p[0], F_GETFD) & FD_CLOEXEC,
		       fcntl(p[1], F_GETFD) & FD_CLOEXEC, !!(fcntl(p[0], F_GETFL) & O_NONBLOCK),
		       !!(fcntl(p[1], F_GETFL) & O_NONBLOCK));
		/* Wrong direction. */
		errno = 0;
		n = write(p[0], "x", 1);
		printf("write to the read end: %d %s\n", (int)n, errname(errno));
		errno = 0;
		n = read(p[1], &c, 1);
		printf("read from the write end: %d %s\n", (int)n, errname(errno));
		errno = 0;
		off_t o = lseek(p[0], 0, SEEK_CUR);
		printf("lseek on a pipe: %d %s\n", (int)o, errname(errno));
		close(p[0]);
		close(p[1]);
	}
	errno = 0;
	int r = pipe2(p, 0x40000000);
	printf("pipe2 with a bad flag: %d %s\n", r, errname(errno));
}

/* writev on a non-blocking pipe is one write: at most PIPE_BUF bytes go in whole or not at all, more take what fits. */
static void test_writev(void)
{
	int p[2];
	if (pipe2(p, O_NONBLOCK) != 0) {
		printf("FAIL pipe2: %s\n", errname(errno));
		failures++;
		return;
	}
	static char block[PIPE_BUF];
	memset(block, 'w', sizeof block);
	while (write(p[1], block, sizeof block) > 0)
		;
	/* A little room at the tail only: a 120-byte writev in two vectors must not go in half. */
	char small[100];
	ssize_t n = read(p[0], small, sizeof small);
	struct iovec v[3] = { { block, 60 }, { block, 60 }, { block, 0 } };
	errno = 0;
	n = writev(p[1], v, 2);
	printf("writev of 2 x 60 bytes into a full pipe (100 bytes read): %d %s\n", (int)n, n < 0 ? errname(errno) : "");
	/* One page free: a writev of 3 x 2000 bytes takes the page, as one write would. */
	n = read(p[0], block, PIPE_BUF - sizeof small);
	v[0].iov_len = v[1].iov_len = v[2].iov_len = 2000;
	errno = 0;
	n = writev(p[1], v, 3);
	printf("non-blocking writev of 3 x 2000 bytes with one page free: %d %s\n", (int)n, n < 0 ? errname(errno) : "");
	close(p[0]);
	close(p[1]);
}

/* A blocking write of more than the pipe holds waits for the reader and writes it all. */
static void test_big_write(void)
{
	int p[2];
	if (pipe(p) != 0) {
		printf("FAIL pipe: %s\n", errname(errno));
		failures++;
		return;
	}
	static char big[200000];
	for (size_t i = 0; i < sizeof big; i++)
		big[i] = (char)(i * 7);
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		close(p[1]);
		static char in[200001];
		ssize_t got = read_full(p[0], in, sizeof in);
		_exit(got == (ssize_t)sizeof big && memcmp(in, big, sizeof big) == 0 ? 0 : 1);
	}
	close(p[0]);
	ssize_t n = write(p[1], big, sizeof big);
	printf("blocking write of %d bytes into a %d-byte pipe: %d\n", (int)sizeof big, fcntl(p[1], F_GETPIPE_SZ), (int)n);
	struct iovec v[2] = { { big, 100000 }, { big + 100000, 100000 } };
	close(p[1]);
	printf("the reader got all of it: %s\n", wait_exit(pid) == 0 ? "yes" : "no");
	/* The same through writev. */
	if (pipe(p) != 0)
		return;
	pid = fork();
	if (pid == 0) {
		close(p[1]);
		static char in[200001];
		ssize_t got = read_full(p[0], in, sizeof in);
		_exit(got == (ssize_t)sizeof big && memcmp(in, big, sizeof big) == 0 ? 0 : 1);
	}
	close(p[0]);
	n = writev(p[1], v, 2);
	close(p[1]);
	printf("blocking writev of 2 x 100000 bytes: %d, the reader got all of it: %s\n", (int)n, wait_exit(pid) == 0 ? "yes" : "no");
}

static void on_alarm(int sig)
{
	(void)sig;
}

/* A signal ends a blocked write: with the count written so far, or EINTR when nothing was (no SA_RESTART). */
static void test_interrupted(void)
{
	int p[2];
	if (pipe(p) != 0)
		return;
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_alarm;
	sigaction(SIGALRM, &sa, NULL);
	struct itimerval it = { { 0, 0 }, { 0, 100000 } };
	static char big[100000];
	setitimer(ITIMER_REAL, &it, NULL);
	errno = 0;
	ssize_t n = write(p[1], big, sizeof big);
	printf("blocking write of %d bytes nobody reads, interrupted: %d %s\n", (int)sizeof big, (int)n, n < 0 ? errname(errno) : "");
	setitimer(ITIMER_REAL, &it, NULL);
	errno = 0;
	n = write(p[1], "x", 1);
	printf("1-byte write into the full pipe, interrupted: %d %s\n", (int)n, n < 0 ? errname(errno) : "");
	signal(SIGALRM, SIG_DFL);
	close(p[0]);
	close(p[1]);
}

#define WRITES_PER_WRITER 64

static void test_atomic(int vectored)
{
	/* Fewer messages through writev: the point is the same, and each one costs context switches. */
	const int per_writer = vectored ? WRITES_PER_WRITER / 4 : WRITES_PER_WRITER;
	int p[2];
	if (pipe(p) != 0) {
		printf("FAIL pipe: %s\n", errname(errno));
		failures++;
		return;
	}
	pid_t w[2];
	fflush(stdout);
	for (int k = 0; k < 2; k++) {
		w[k] = fork();
		if (w[k] == 0) {
			close(p[0]);
			char buf[PIPE_BUF];
			for (int i = 0; i < per_writer; i++) {
				/* Each message: its writer's letter, then its index, filling PIPE_BUF bytes. */
				memset(buf, k ? 'B' : 'A', sizeof buf);
				buf[1] = (char)i;
				buf[sizeof buf - 1] = (char)i;
				/* Vectored: the message in two halves, still one atomic write. */
				struct iovec v[2] = { { buf, sizeof buf / 2 }, { buf + sizeof buf / 2, sizeof buf / 2 } };
				if ((vectored ? writev(p[1], v, 2) : write(p[1], buf, sizeof buf)) != (ssize_t)sizeof buf)
					_exit(1);
			}
			_exit(0);
		}
	}
	close(p[1]);
	size_t want = 2u * per_writer * PIPE_BUF;
	char *all = malloc(want + 1);
	ssize_t got = read_full(p[0], all, want + 1);
	char c;
	ssize_t eof = read(p[0], &c, 1);
	close(p[0]);
	int s0 = wait_exit(w[0]), s1 = wait_exit(w[1]);
	int uniform = 1, next[2] = {0, 0};
	int counts[2] = {0, 0};
	for (size_t off = 0; got == (ssize_t)want && off < want; off += PIPE_BUF) {
		char l = all[off];
		int k = l == 'B';
		if (l != 'A' && l != 'B') {
			uniform = 0;
			break;
		}
		counts[k]++;
		if (all[off + 1] != (char)next[k] || all[off + PIPE_BUF - 1] != (char)next[k])
			uniform = 0;
		next[k]++;
		for (size_t i = 2; i < PIPE_BUF - 1; i++)
			if (all[off + i] != l) {
				uniform = 0;
				break;
			}
	}
	free(all);
	printf("two writers of %d x %d bytes%s: read %ld, writers exited %d %d\n", per_writer, PIPE_BUF,
	       vectored ? " in 2-vector writevs" : "", (long)got, s0, s1);
	printf("messages intact and in order per writer: %s (A %d, B %d)\n", uniform ? "yes" : "no", counts[0], counts[1]);
	printf("read after all writers closed: %d (EOF)\n", (int)eof);
	if (!uniform || got != (ssize_t)want || eof != 0 || s0 || s1)
		failures++;
}

#define ROUND_TRIP (1u << 20)

static void test_round_trip(void)
{
	int down[2], up[2];
	if (pipe(down) || pipe(up)) {
		printf("FAIL pipe: %s\n", errname(errno));
		failures++;
		return;
	}
	uint8_t *data = malloc(ROUND_TRIP), *back = malloc(ROUND_TRIP);
	rng_state = 12345;
	for (size_t i = 0; i < ROUND_TRIP; i++)
		data[i] = rng_byte();
	uint32_t sum = checksum(data, ROUND_TRIP);
	printf("1 MiB of data, checksum %08x\n", (unsigned)sum);

	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		close(down[1]);
		close(up[0]);
		/* Read everything, check it, send it back transformed. */
		uint8_t *buf = malloc(ROUND_TRIP);
		ssize_t n = read_full(down[0], buf, ROUND_TRIP);
		char c;
		int bad = 0;
		if (n != (ssize_t)ROUND_TRIP)
			bad |= 1;
		if (read(down[0], &c, 1) != 0)
			bad |= 2;
		if (checksum(buf, ROUND_TRIP) != sum)
			bad |= 4;
		for (size_t i = 0; i < ROUND_TRIP; i++)
			buf[i] ^= 0x5a;
		/* Odd-sized writes. */
		for (size_t off = 0; off < ROUND_TRIP;) {
			size_t len = 777 + off % 5000;
			if (len > ROUND_TRIP - off)
				len = ROUND_TRIP - off;
			if (write_all(up[1], buf + off, len) != 0) {
				bad |= 8;
				break;
			}
			off += len;
		}
		_exit(bad);
	}
	close(down[0]);
	close(up[1]);
	/* Odd-sized writes the other way. */
	int wbad = 0;
	for (size_t off = 0; off < ROUND_TRIP;) {
		size_t len = 100 + (off * 7) % 9000;
		if (len > ROUND_TRIP - off)
			len = ROUND_TRIP - off;
		if (write_all(down[1], data + off, len) != 0) {
			wbad = 1;
			break;
		}
		off += len;
	}
	close(down[1]);
	ssize_t n = read_full(up[0], back, ROUND_TRIP);
	char c;
	ssize_t eof = read(up[0], &c, 1);
	close(up[0]);
	int s = wait_exit(pid);
	for (size_t i = 0; i < ROUND_TRIP; i++)
		back[i] ^= 0x5a;
	int same = n == (ssize_t)ROUND_TRIP && memcmp(back, data, ROUND_TRIP) == 0;
	printf("round trip: wrote all %s, read back %ld, EOF %d, child status %d, checksum back %08x, identical: %s\n",
	       wbad ? "no" : "yes", (long)n, (int)eof, s, (unsigned)checksum(back, ROUND_TRIP), same ? "yes" : "no");
	if (!same || wbad || s != 0 || eof != 0)
		failures++;
	free(data);
	free(back);
}

int main(int argc, char **argv)
{
	if (argc == 4 && strcmp(argv[1], "checkfds") == 0) {
		int a = atoi(argv[2]), b = atoi(argv[3]);
		_exit((fcntl(a, F_GETFD) != -1 ? 1 : 0) | (fcntl(b, F_GETFD) != -1 ? 2 : 0));
	}
	if (argc != 1) {
		fprintf(stderr, "pipes: bad arguments\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	test_flags(argv[0]);
	test_atomic(0);
	test_atomic(1);
	test_writev();
	test_big_write();
	test_interrupted();
	test_round_trip();
	if (failures) {
		printf("pipes: %d failures\n", failures);
		return 1;
	}
	printf("pipes ok\n");
	return 0;
}
