/* /dev as Linux has it: null (EOF, swallows writes), zero (zeros), full
 * (ENOSPC on write, zeros on read), random and urandom (full reads).
 * (/dev/stdin and friends are not compared here: the test harness's stdio
 * are sockets, which Linux refuses to reopen with ENXIO.) */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "check.h"

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

	if (failures) {
		printf("devices: %d failures\n", failures);
		return 1;
	}
	printf("devices ok\n");
	return 0;
}
