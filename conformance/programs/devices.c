/* /dev as Linux has it: null (EOF, swallows writes), zero (zeros), full
 * (ENOSPC on write, zeros on read), random and urandom (full reads), and the
 * standard streams by name: /dev/stdin, /dev/stdout, /dev/stderr, /dev/fd/N
 * and /proc/self/fd/N open the file behind the descriptor (reads stdin: give
 * it input). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "errname.h"

static int failures;

static void check(int ok, const char *what)
{
	printf("%s %s\n", ok ? "ok" : "FAIL", what);
	if (!ok)
		failures++;
}

int main(void)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	char buf[64];
	int fd = open("/dev/null", O_RDWR);
	struct stat st;
	fstat(fd, &st);
	printf("/dev/null: chr %d rdev %u:%u\n", S_ISCHR(st.st_mode), major(st.st_rdev), minor(st.st_rdev));
	check(read(fd, buf, sizeof buf) == 0, "/dev/null reads EOF");
	check(write(fd, "abc", 3) == 3, "/dev/null takes writes");
	close(fd);

	fd = open("/dev/zero", O_RDWR);
	memset(buf, 1, sizeof buf);
	check(read(fd, buf, sizeof buf) == sizeof buf && buf[0] == 0 && buf[63] == 0, "/dev/zero reads zeros");
	check(write(fd, "abc", 3) == 3, "/dev/zero takes writes");
	close(fd);

	fd = open("/dev/full", O_RDWR);
	ssize_t n = write(fd, "abc", 3);
	printf("/dev/full write: %zd %s\n", n, n < 0 ? errname(errno) : "");
	memset(buf, 1, sizeof buf);
	check(read(fd, buf, sizeof buf) == sizeof buf && buf[10] == 0, "/dev/full reads zeros");
	close(fd);

	const char *rnd[] = { "/dev/random", "/dev/urandom" };
	for (int i = 0; i < 2; i++) {
		fd = open(rnd[i], O_RDONLY);
		char what[64];
		snprintf(what, sizeof what, "%s gives 32 bytes", rnd[i]);
		check(read(fd, buf, 32) == 32, what);
		close(fd);
	}

	fd = open("/dev/stdin", O_RDONLY);
	check(fd >= 0, "open /dev/stdin");
	n = read(fd, buf, sizeof buf - 1);
	buf[n > 0 ? n : 0] = 0;
	printf("read through /dev/stdin: %s", buf);
	close(fd);

	const char *outs[] = { "/dev/stdout", "/dev/fd/1", "/proc/self/fd/1" };
	for (int i = 0; i < 3; i++) {
		fd = open(outs[i], O_WRONLY);
		dprintf(fd, "written through %s\n", outs[i]);
		close(fd);
	}
	fd = open("/dev/stderr", O_WRONLY);
	check(fd >= 0, "open /dev/stderr");
	close(fd);

	if (failures) {
		printf("devices: %d failures\n", failures);
		return 1;
	}
	printf("devices ok\n");
	return 0;
}
