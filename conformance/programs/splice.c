/* splice, tee and vmsplice: between a pipe and a file (offset pointers and
 * file positions), a socket and a pipe, two pipes; tee leaving the input in
 * place; vmsplice into and out of a pipe; EOF, SPLICE_F_NONBLOCK and
 * O_NONBLOCK pipes, waiting for data and for room, EINTR, EPIPE, and the
 * errors for bad arguments. Raw syscall() everywhere, so both libcs make the
 * same calls. Scratch files in $NOMMU_TEST_TMPDIR (default /tmp). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "expect.h"

#define NR_SPLICE 275
#define NR_TEE 276
#define NR_VMSPLICE 278

#define F_MOVE 0x1
#define F_NONBLOCK 0x2
#define F_MORE 0x4
#define F_GIFT 0x8

#define SRC_SIZE 100000

static char dir[512];
static unsigned char pattern[SRC_SIZE];

static long splice_(int in, int64_t *offin, int out, int64_t *offout, size_t len, unsigned flags)
{
	return syscall(NR_SPLICE, in, offin, out, offout, len, flags);
}

static long tee_(int in, int out, size_t len, unsigned flags)
{
	return syscall(NR_TEE, in, out, len, flags);
}

static long vmsplice_(int fd, const struct iovec *iov, unsigned long n, unsigned flags)
{
	return syscall(NR_VMSPLICE, fd, iov, n, flags);
}

static const char *path(const char *name)
{
	static char buf[4][600];
	static int n;
	char *p = buf[n++ % 4];
	snprintf(p, 600, "%s/%s", dir, name);
	return p;
}

static long pos(int fd)
{
	return (long)lseek(fd, 0, SEEK_CUR);
}

/* Bytes waiting in a pipe. */
static int queued(int fd)
{
	int n = -1;
	return ioctl(fd, FIONREAD, &n) == 0 ? n : -1;
}

/* Reads exactly n bytes (a pipe, a socket) and compares them. */
static int reads(int fd, const void *want, size_t n)
{
	unsigned char *buf = malloc(n + 1);
	size_t got = 0;
	while (got < n) {
		ssize_t r = read(fd, buf + got, n - got);
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	int ok = got == n && memcmp(buf, want, n) == 0;
	free(buf);
	return ok;
}

static void pipe_ok(int p[2], const char *what)
{
	check(pipe(p) == 0, what);
}

static void file_and_pipe(int src)
{
	int p[2];
	pipe_ok(p, "pipe for file tests");

	int64_t off = 1000;
	long r = splice_(src, &off, p[1], NULL, 5000, 0);
	printf("splice file at offset 1000 -> pipe, 5000: %ld, offset now %lld, file pos %ld\n", r, (long long)off, pos(src));
	check(reads(p[0], pattern + 1000, 5000), "the pipe holds the file's bytes 1000..6000");

	r = splice_(src, NULL, p[1], NULL, 300, F_MOVE | F_MORE);
	printf("splice from the file position, 300 (MOVE|MORE): %ld, file pos %ld\n", r, pos(src));
	check(reads(p[0], pattern, 300), "the pipe holds bytes 0..300");

	off = 0;
	r = splice_(src, &off, p[1], NULL, SRC_SIZE, 0);
	printf("splice the whole file into an empty pipe: %ld, queued %d\n", r, queued(p[0]));
	unsigned char *tmp = malloc(SRC_SIZE);
	check(read(p[0], tmp, SRC_SIZE) == r && memcmp(tmp, pattern, (size_t)r) == 0, "it is the start of the file");
	free(tmp);

	off = SRC_SIZE;
	printf("splice at EOF: %ld\n", splice_(src, &off, p[1], NULL, 100, 0));
	off = SRC_SIZE - 10;
	r = splice_(src, &off, p[1], NULL, 100, 0);
	printf("splice across EOF: %ld, offset %lld\n", r, (long long)off);
	check(reads(p[0], pattern + SRC_SIZE - 10, 10), "the last 10 bytes");

	/* Pipe to file, at an offset and at the file position. */
	int dst = open(path("dst"), O_RDWR | O_CREAT | O_TRUNC, 0600);
	check(write(p[1], pattern, 3000) == 3000, "3000 bytes into the pipe");
	off = 500;
	r = splice_(p[0], NULL, dst, &off, 10000, 0);
	printf("splice pipe -> file at offset 500, asking 10000: %ld, offset %lld, file pos %ld, queued %d\n", r, (long long)off, pos(dst), queued(p[0]));
	check(write(p[1], "tail", 4) == 4, "4 more bytes");
	r = splice_(p[0], NULL, dst, NULL, 2, 0);
	printf("splice 2 of them at the file position: %ld, file pos %ld, queued %d\n", r, pos(dst), queued(p[0]));
	struct stat st;
	fstat(dst, &st);
	printf("file size %lld\n", (long long)st.st_size);
	unsigned char back[3500];
	check(pread(dst, back, 3500, 0) == 3500 && memcmp(back, "ta", 2) == 0 && memcmp(back + 500, pattern, 3000) == 0,
	      "the file holds both splices");
	char rest[2];
	check(read(p[0], rest, 2) == 2 && memcmp(rest, "il", 2) == 0, "the rest stayed in the pipe");

	/* Errors. */
	off = -1;
	EXPECT_ERR(splice_(src, &off, p[1], NULL, 10, 0), EINVAL, "a negative input offset");
	EXPECT_ERR(splice_(p[0], &off, dst, NULL, 10, 0), ESPIPE, "an offset for the pipe end (input)");
	EXPECT_ERR(splice_(src, NULL, p[1], &off, 10, 0), ESPIPE, "an offset for the pipe end (output)");
	EXPECT_ERR(splice_(src, NULL, dst, NULL, 10, 0), EINVAL, "neither end a pipe");
	EXPECT_ERR(splice_(p[0], NULL, p[1], NULL, 10, 0), EINVAL, "a pipe into itself");
	EXPECT_ERR(splice_(p[1], NULL, dst, NULL, 10, 0), EBADF, "the write end as input");
	EXPECT_ERR(splice_(src, NULL, p[0], NULL, 10, 0), EBADF, "the read end as output");
	EXPECT_ERR(splice_(99, NULL, p[1], NULL, 10, 0), EBADF, "a closed input descriptor");
	EXPECT_ERR(splice_(src, NULL, 99, NULL, 10, 0), EBADF, "a closed output descriptor");
	EXPECT_ERR(splice_(src, NULL, p[1], NULL, 10, 0x10), EINVAL, "an unknown flag");
	printf("len 0 with bad descriptors: %ld\n", splice_(99, NULL, 98, NULL, 0, 0));
	EXPECT_ERR(splice_(src, NULL, p[1], NULL, (size_t)-1, 0), EINVAL, "a length negative as ssize_t (file -> pipe)");
	int app = open(path("app"), O_WRONLY | O_CREAT | O_APPEND, 0600);
	check(write(p[1], "x", 1) == 1, "a byte for O_APPEND");
	EXPECT_ERR(splice_(p[0], NULL, app, NULL, 1, 0), EINVAL, "an O_APPEND output");
	EXPECT_ERR(splice_(p[0], NULL, dst, (int64_t *)8, 1, 0), EFAULT, "a bad offset pointer");
	check(read(p[0], rest, 1) == 1, "drain the byte");
	close(app);

	/* Waiting for room: a full pipe, a child empties it a little later. */
	check(write(p[1], pattern, 65536) == 65536, "fill the pipe");
	off = 0;
	EXPECT_ERR(splice_(src, &off, p[1], NULL, 10, F_NONBLOCK), EAGAIN, "file -> full pipe, SPLICE_F_NONBLOCK");
	fcntl(p[1], F_SETFL, O_NONBLOCK);
	EXPECT_ERR(splice_(src, &off, p[1], NULL, 10, 0), EAGAIN, "file -> full O_NONBLOCK pipe");
	fcntl(p[1], F_SETFL, 0);
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		usleep(50000);
		_exit(reads(p[0], pattern, 65536) ? 0 : 1);
	}
	off = 0;
	r = splice_(src, &off, p[1], NULL, 1000, 0);
	int status;
	waitpid(pid, &status, 0);
	printf("file -> full pipe, waiting: %ld; the reader saw its data: %d\n", r, WIFEXITED(status) && WEXITSTATUS(status) == 0);
	check(reads(p[0], pattern, 1000), "then the spliced bytes");
	close(dst);
	close(p[0]);
	close(p[1]);
}

static void pipes_and_tee(void)
{
	int a[2], b[2];
	pipe_ok(a, "pipe a");
	pipe_ok(b, "pipe b");
	check(write(a[1], pattern, 100) == 100, "100 bytes into a");
	long r = splice_(a[0], NULL, b[1], NULL, 60, 0);
	printf("splice pipe -> pipe, 60: %ld, a has %d, b has %d\n", r, queued(a[0]), queued(b[0]));
	check(reads(b[0], pattern, 60), "b holds the first 60");

	r = tee_(a[0], b[1], 1000, 0);
	printf("tee of the remaining 40: %ld, a has %d, b has %d\n", r, queued(a[0]), queued(b[0]));
	r = tee_(a[0], b[1], 15, 0);
	printf("tee of 15: %ld, b has %d\n", r, queued(b[0]));
	check(reads(b[0], pattern + 60, 40) && reads(b[0], pattern + 60, 15), "b holds the copies");
	check(reads(a[0], pattern + 60, 40), "a still holds its 40");

	EXPECT_ERR(tee_(a[0], b[1], 10, F_NONBLOCK), EAGAIN, "tee from an empty pipe, SPLICE_F_NONBLOCK");
	EXPECT_ERR(splice_(a[0], NULL, b[1], NULL, 10, F_NONBLOCK), EAGAIN, "splice from an empty pipe, SPLICE_F_NONBLOCK");
	fcntl(a[0], F_SETFL, O_NONBLOCK);
	EXPECT_ERR(tee_(a[0], b[1], 10, 0), EAGAIN, "tee from an empty O_NONBLOCK pipe");
	EXPECT_ERR(splice_(a[0], NULL, b[1], NULL, 10, 0), EAGAIN, "splice from an empty O_NONBLOCK pipe");
	fcntl(a[0], F_SETFL, 0);
	int f = open(path("teefile"), O_RDWR | O_CREAT | O_TRUNC, 0600);
	EXPECT_ERR(tee_(a[0], f, 10, 0), EINVAL, "tee to a file");
	EXPECT_ERR(tee_(a[0], a[1], 10, 0), EINVAL, "tee into the same pipe");
	EXPECT_ERR(tee_(a[1], b[1], 10, 0), EBADF, "tee from a write end");
	EXPECT_ERR(tee_(a[0], b[1], 10, 0x20), EINVAL, "tee with an unknown flag");
	printf("tee of 0 bytes: %ld\n", tee_(a[0], b[1], 0, 0));
	close(f);

	/* A full output pipe. */
	check(write(b[1], pattern, 65536) == 65536, "fill b");
	check(write(a[1], "abc", 3) == 3, "3 bytes into a");
	EXPECT_ERR(splice_(a[0], NULL, b[1], NULL, 3, F_NONBLOCK), EAGAIN, "splice into a full pipe, SPLICE_F_NONBLOCK");
	EXPECT_ERR(tee_(a[0], b[1], 3, F_NONBLOCK), EAGAIN, "tee into a full pipe, SPLICE_F_NONBLOCK");
	check(reads(b[0], pattern, 65536), "empty b");

	/* Waiting for data: a child writes a little later. */
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		usleep(50000);
		_exit(write(a[1], "late", 4) == 4 ? 0 : 1);
	}
	char tmp[3];
	check(read(a[0], tmp, 3) == 3 && memcmp(tmp, "abc", 3) == 0, "drain a");
	r = splice_(a[0], NULL, b[1], NULL, 100, 0);
	printf("splice from an empty pipe, waiting for the child: %ld\n", r);
	waitpid(pid, NULL, 0);
	check(reads(b[0], "late", 4), "b holds what the child wrote");

	/* EOF: no writer left. */
	close(a[1]);
	printf("splice pipe -> pipe at EOF: %ld\n", splice_(a[0], NULL, b[1], NULL, 10, 0));
	printf("tee at EOF: %ld\n", tee_(a[0], b[1], 10, 0));
	int dst = open(path("eof"), O_WRONLY | O_CREAT | O_TRUNC, 0600);
	printf("splice pipe -> file at EOF: %ld\n", splice_(a[0], NULL, dst, NULL, 10, 0));
	close(dst);
	close(a[0]);

	/* No reader left: EPIPE (SIGPIPE ignored). */
	signal(SIGPIPE, SIG_IGN);
	pipe_ok(a, "pipe a again");
	check(write(a[1], "q", 1) == 1, "a byte in a");
	close(b[0]);
	EXPECT_ERR(splice_(a[0], NULL, b[1], NULL, 1, 0), EPIPE, "splice into a pipe without readers");
	EXPECT_ERR(tee_(a[0], b[1], 1, 0), EPIPE, "tee into a pipe without readers");
	int src = open(path("src"), O_RDONLY);
	EXPECT_ERR(splice_(src, NULL, b[1], NULL, 1, 0), EPIPE, "file -> pipe without readers");
	struct iovec iov = { "v", 1 };
	EXPECT_ERR(vmsplice_(b[1], &iov, 1, 0), EPIPE, "vmsplice into a pipe without readers");
	signal(SIGPIPE, SIG_DFL);
	close(src);
	close(a[0]);
	close(a[1]);
	close(b[1]);
}

static void on_alarm(int sig)
{
	(void)sig;
}

static void interrupted(void)
{
	int a[2];
	pipe_ok(a, "pipe for EINTR");
	int dst = open(path("intr"), O_WRONLY | O_CREAT | O_TRUNC, 0600);
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_alarm; /* no SA_RESTART */
	sigaction(SIGALRM, &sa, NULL);
	struct itimerval it = { { 0, 0 }, { 0, 50000 } };
	setitimer(ITIMER_REAL, &it, NULL);
	EXPECT_ERR(splice_(a[0], NULL, dst, NULL, 10, 0), EINTR, "splice waiting on an empty pipe, then a signal");
	setitimer(ITIMER_REAL, &it, NULL);
	struct iovec iov = { malloc(10), 10 };
	EXPECT_ERR(vmsplice_(a[0], &iov, 1, 0), EINTR, "vmsplice waiting on an empty pipe, then a signal");
	free(iov.iov_base);
	close(dst);
	close(a[0]);
	close(a[1]);
}

static void vmsplice_tests(void)
{
	int p[2];
	pipe_ok(p, "pipe for vmsplice");
	struct iovec in[3] = { { "abc", 3 }, { NULL, 0 }, { "defg", 4 } };
	long r = vmsplice_(p[1], in, 3, 0);
	printf("vmsplice 2 vectors into a pipe: %ld, queued %d\n", r, queued(p[0]));
	check(reads(p[0], "abcdefg", 7), "the reader sees them in order");

	check(write(p[1], "xyz123", 6) == 6, "6 bytes in");
	char b1[4], b2[10];
	struct iovec out[2] = { { b1, 4 }, { b2, 10 } };
	r = vmsplice_(p[0], out, 1, 0);
	printf("vmsplice 4 out of the pipe: %ld, queued %d, got %.4s\n", r, queued(p[0]), b1);
	r = vmsplice_(p[0], out, 2, F_GIFT);
	printf("vmsplice the rest into 2 vectors: %ld, got %.2s\n", r, b1);
	EXPECT_ERR(vmsplice_(p[0], out, 2, F_NONBLOCK), EAGAIN, "vmsplice out of an empty pipe, SPLICE_F_NONBLOCK");
	printf("vmsplice of no vectors: %ld\n", vmsplice_(p[0], out, 0, 0));

	/* Page-aligned: Linux gives each page of the buffer a slot of the pipe's 16. */
	unsigned char *big = mmap(NULL, 73728, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	memcpy(big, pattern, 70000);
	struct iovec bigv = { big, 70000 };
	r = vmsplice_(p[1], &bigv, 1, 0);
	printf("vmsplice 70000 into an empty pipe: %ld\n", r);
	EXPECT_ERR(vmsplice_(p[1], &bigv, 1, F_NONBLOCK), EAGAIN, "vmsplice into a full pipe, SPLICE_F_NONBLOCK");
	check(reads(p[0], pattern, (size_t)r), "the reader gets the bytes");
	munmap(big, 73728);

	int f = open(path("vmfile"), O_RDWR | O_CREAT | O_TRUNC, 0600);
	EXPECT_ERR(vmsplice_(f, in, 1, 0), EBADF, "vmsplice on a regular file");
	EXPECT_ERR(vmsplice_(99, in, 1, 0), EBADF, "vmsplice on a closed descriptor");
	EXPECT_ERR(vmsplice_(p[1], in, 1, 0x40), EINVAL, "vmsplice with an unknown flag");
	EXPECT_ERR(vmsplice_(p[1], in, 1025, 0), EINVAL, "vmsplice with 1025 vectors");
	close(f);

	/* EOF through vmsplice. */
	close(p[1]);
	printf("vmsplice out of a pipe at EOF: %ld\n", vmsplice_(p[0], out, 2, 0));
	close(p[0]);
}

static void sockets(void)
{
	int sv[2], p[2];
	check(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0, "socketpair");
	pipe_ok(p, "pipe for sockets");
	check(write(sv[0], "sockdata", 8) == 8, "8 bytes into the socket");
	long r = splice_(sv[1], NULL, p[1], NULL, 100, 0);
	printf("splice socket -> pipe: %ld\n", r);
	r = splice_(p[0], NULL, sv[1], NULL, 100, 0);
	printf("splice pipe -> socket: %ld\n", r);
	check(reads(sv[0], "sockdata", 8), "the data came back through the socket");
	EXPECT_ERR(splice_(sv[1], NULL, p[1], NULL, 100, F_NONBLOCK), EAGAIN, "socket without data -> pipe, SPLICE_F_NONBLOCK");
	int64_t off = 0;
	check(write(p[1], "z", 1) == 1, "a byte for the socket");
	EXPECT_ERR(splice_(p[0], NULL, sv[1], &off, 1, 0), EINVAL, "an offset for a socket");
	EXPECT_ERR(splice_(sv[1], &off, p[1], NULL, 1, 0), EINVAL, "an input offset for a socket");
	close(sv[0]);
	printf("splice socket -> pipe after the peer closed: %ld\n", splice_(sv[1], NULL, p[1], NULL, 100, 0));
	close(sv[1]);
	close(p[0]);
	close(p[1]);
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	const char *tmp = getenv("NOMMU_TEST_TMPDIR");
	snprintf(dir, sizeof dir, "%s", tmp && *tmp ? tmp : "/tmp");
	for (int i = 0; i < SRC_SIZE; i++)
		pattern[i] = (unsigned char)(i * 7 + i / 251);
	int src = open(path("src"), O_RDWR | O_CREAT | O_TRUNC, 0600);
	check(write(src, pattern, SRC_SIZE) == SRC_SIZE, "write the source file");
	lseek(src, 0, SEEK_SET);

	file_and_pipe(src);
	pipes_and_tee();
	interrupted();
	vmsplice_tests();
	sockets();
	close(src);
	return failures ? 1 : 0;
}
