/* grow_probe: grows a mapping from 1 to 300 pages a page at a time (mremap)
 * and the break by 200 pages a page at a time, then prints what the kernel's
 * map says: the /proc/self/maps line of the mapping and the break (what brk
 * answers for a request past the break's area, which only the kernel
 * answers). Output goes through write(), so no malloc moves the break
 * meanwhile. With MemoryOffload
 * the growth happens without the kernel: its map must follow all the same. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(void)
{
	char *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	for (size_t pages = 1; pages < 300; pages++) {
		char *q = mremap(p, pages * 4096, (pages + 1) * 4096, MREMAP_MAYMOVE);
		if (q == MAP_FAILED)
			return 2;
		p = q;
		p[pages * 4096] = 1;
	}
	uintptr_t start = (uintptr_t)syscall(SYS_brk, 0);
	uintptr_t top = (start + 4095) & ~(uintptr_t)4095;
	for (int i = 1; i <= 200; i++)
		if ((uintptr_t)syscall(SYS_brk, top + i * 4096) != top + i * 4096)
			return 3;
	char out[4096];
	int n = snprintf(out, sizeof out, "map %lx-%lx\nbreak %lx\nkernel-break %lx\n", (unsigned long)(uintptr_t)p,
			 (unsigned long)((uintptr_t)p + 300 * 4096), (unsigned long)(top + 200 * 4096),
			 (unsigned long)(uintptr_t)syscall(SYS_brk, (uintptr_t)1 << 46));
	write(1, out, (size_t)n);
	/* The kernel's line for the mapping. */
	int fd = open("/proc/self/maps", O_RDONLY);
	n = fd < 0 ? 0 : (int)read(fd, out, sizeof out - 1);
	out[n > 0 ? n : 0] = 0;
	for (char *line = strtok(out, "\n"); line; line = strtok(NULL, "\n"))
		if (strtoul(line, NULL, 16) == (uintptr_t)p)
			dprintf(1, "%s\n", line);
	return 0;
}
