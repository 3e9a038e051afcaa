/* Copies stdin to stdout with read/write in 4096-byte chunks and reports the
 * byte count on stderr. */
#include <errno.h>
#include <stdio.h>
#include <unistd.h>

#include "errname.h"

int main(void)
{
	char buf[4096];
	unsigned long long total = 0;
	for (;;) {
		ssize_t n = read(0, buf, sizeof buf);
		if (n == 0)
			break;
		if (n < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "stdin_cat: read: %s\n", errname(errno));
			return 1;
		}
		ssize_t off = 0;
		while (off < n) {
			ssize_t w = write(1, buf + off, (size_t)(n - off));
			if (w < 0) {
				if (errno == EINTR)
					continue;
				fprintf(stderr, "stdin_cat: write: %s\n", errname(errno));
				return 1;
			}
			off += w;
		}
		total += (unsigned long long)n;
	}
	fprintf(stderr, "stdin_cat: %llu bytes\n", total);
	return 0;
}
