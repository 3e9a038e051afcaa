/* /proc/self/maps in Linux's format: every line parses as
 * "start-end perms offset major:minor inode", names start in column 73,
 * unnamed lines end with a space, lines are sorted and do not overlap; and
 * the right line names each thing: the program's code and data (its path),
 * [stack], [vdso], [heap] once brk grew, an anonymous mapping (no name), a
 * file mapping (its path), and printf (some file). Nothing printed depends
 * on addresses, device numbers or inodes. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "errname.h"

struct line {
	unsigned long start, end;
	char perms[5];
	char name[512];
};

static struct line lines[512];
static int nlines;
static int failures;
static int data_word = 1;

static void check(int ok, const char *what)
{
	printf("%s %s\n", ok ? "ok" : "FAIL", what);
	if (!ok)
		failures++;
}

static int read_maps(void)
{
	static char buf[1 << 16];
	int fd = open("/proc/self/maps", O_RDONLY);
	if (fd < 0) {
		printf("FAIL open /proc/self/maps: %s\n", errname(errno));
		return 0;
	}
	size_t len = 0;
	ssize_t n;
	while ((n = read(fd, buf + len, sizeof buf - 1 - len)) > 0)
		len += (size_t)n;
	close(fd);
	buf[len] = '\0';
	nlines = 0;
	int format_ok = 1;
	for (char *l = buf, *nl; *l && nlines < 512; l = nl + 1) {
		nl = strchr(l, '\n');
		if (!nl) {
			format_ok = 0;
			break;
		}
		*nl = '\0';
		struct line *x = &lines[nlines++];
		unsigned long off, inode;
		unsigned maj, min;
		int end = 0;
		if (sscanf(l, "%lx-%lx %4s %lx %x:%x %lu%n", &x->start, &x->end, x->perms, &off, &maj, &min, &inode, &end) != 7) {
			format_ok = 0;
			continue;
		}
		int perms_ok = strlen(x->perms) == 4 && strchr("r-", x->perms[0]) && strchr("w-", x->perms[1]) &&
			       strchr("x-", x->perms[2]) && strchr("ps", x->perms[3]);
		size_t ll = strlen(l);
		x->name[0] = '\0';
		if ((size_t)end + 1 == ll && l[end] == ' ') {
			/* unnamed: "... inode " */
		} else if (ll > 73 && l[72] == ' ' && l[73] != ' ') {
			for (int i = end; i < 73; i++)
				if (l[i] != ' ')
					format_ok = 0;
			snprintf(x->name, sizeof x->name, "%s", l + 73);
		} else {
			format_ok = 0;
		}
		if (!perms_ok || x->start >= x->end || x->start % 4096 || x->end % 4096)
			format_ok = 0;
		if (nlines > 1 && lines[nlines - 2].end > x->start)
			format_ok = 0;
	}
	check(format_ok && nlines > 0, "every line in Linux's format, sorted, not overlapping");
	return 1;
}

static const struct line *find(const void *p)
{
	unsigned long a = (unsigned long)p;
	for (int i = 0; i < nlines; i++)
		if (lines[i].start <= a && a < lines[i].end)
			return &lines[i];
	return NULL;
}

static void show(const char *what, const void *p, const char *self)
{
	const struct line *l = find(p);
	if (!l) {
		printf("%s: no line\n", what);
		failures++;
		return;
	}
	const char *name = l->name[0] == '\0' ? "(anonymous)" : strcmp(l->name, self) == 0 ? "(the program)" : l->name[0] == '/' ? "(another file)" : l->name;
	printf("%s: %.3s %s\n", what, l->perms, name);
}

int main(void)
{
	static char self[4096];
	ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
	if (n <= 0) {
		printf("FAIL readlink: %s\n", errname(errno));
		return 1;
	}
	self[n] = '\0';

	unsigned long brk0 = (unsigned long)syscall(SYS_brk, 0);
	unsigned long brk1 = (unsigned long)syscall(SYS_brk, brk0 + 65536);
	void *anon = mmap(NULL, 65536, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int fd = open(self, O_RDONLY);
	void *file = fd >= 0 ? mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, fd, 0) : MAP_FAILED;
	if (anon == MAP_FAILED || file == MAP_FAILED) {
		printf("FAIL mmap: %s\n", errname(errno));
		return 1;
	}
	int local = 0;
	if (!read_maps())
		return 1;

	show("main", (const void *)main, self);
	show("a global", &data_word, self);
	show("a local", &local, self);
	show("the vDSO", (const void *)getauxval(AT_SYSINFO_EHDR), self);
	if (brk1 == brk0 + 65536)
		show("brk area", (const void *)brk0, self);
	else
		printf("brk did not grow\n");
	show("anonymous mmap", anon, self);
	show("mmap of the program file", file, self);
	const struct line *pf = find((const void *)printf);
	printf("printf: in a file mapping: %s\n", pf && pf->name[0] == '/' ? "yes" : "no");
	const struct line *fl = find(file);
	printf("the file mapping covers exactly 4096 bytes: %s\n", fl && fl->end - fl->start == 4096 ? "yes" : "no");
	munmap(file, 4096);
	munmap(anon, 65536);
	close(fd);
	read_maps();
	printf("after munmap, the anonymous mapping is gone: %s\n", find(anon) && find(anon)->name[0] == '\0' && find(anon)->start == (unsigned long)anon ? "no" : "yes");
	if (failures) {
		printf("proc_maps: %d failures\n", failures);
		return 1;
	}
	printf("proc_maps ok\n");
	return 0;
}
