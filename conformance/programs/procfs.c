/* /proc as a program sees it: only facts that hold on any Linux (and must
 * under nommu): the per-process links, files and directories agree with
 * what the process knows of itself (pid, argv, environ, auxv, cwd,
 * descriptors, threads), and the global files have their format and agree
 * with the CPU (cpuinfo flags against CPUID). Never prints a number that
 * differs between runs. Exit status 1 if a check fails. */
#define _GNU_SOURCE
#include <cpuid.h>
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/syscall.h>
#include <unistd.h>

extern char **environ;
static int failures;

static void check(int ok, const char *what)
{
	printf("%s %s\n", ok ? "ok" : "FAIL", what);
	if (!ok) failures++;
}

/* The whole file, NUL-terminated; *len gets its size. */
static char *slurp(const char *path, size_t *len)
{
	int fd = open(path, O_RDONLY);
	if (fd < 0) return NULL;
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap + 1);
	for (;;) {
		ssize_t r = read(fd, buf + n, cap - n);
		if (r <= 0) break;
		n += r;
		if (n == cap) buf = realloc(buf, (cap *= 2) + 1);
	}
	close(fd);
	buf[n] = 0;
	if (len) *len = n;
	return buf;
}

static int link_is(const char *path, const char *want)
{
	char buf[PATH_MAX];
	ssize_t n = readlink(path, buf, sizeof buf - 1);
	if (n < 0) return 0;
	buf[n] = 0;
	return strcmp(buf, want) == 0;
}

static int count_entries(const char *dir, const char *only)
{
	DIR *d = opendir(dir);
	if (!d) return -1;
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.' && (!only || !strcmp(e->d_name, only))) n++;
	closedir(d);
	return n;
}

/* Field i (1-based) of /proc/<...>/stat, after the parenthesised comm. */
static long stat_field(const char *stat, int i, int *nfields)
{
	const char *p = strrchr(stat, ')');
	long v = 0;
	int f = 2;
	if (i == 1) v = atol(stat);
	while (p && *p) {
		while (*p && *p != ' ') p++;
		while (*p == ' ') p++;
		if (!*p || *p == '\n') break;
		f++;
		if (f == i) v = atol(p);
	}
	if (nfields) *nfields = f;
	return v;
}

static void per_process(int argc, char **argv)
{
	char buf[PATH_MAX], want[PATH_MAX];
	snprintf(want, sizeof want, "%d", getpid());
	check(link_is("/proc/self", want), "/proc/self is a link to the pid");
	snprintf(want, sizeof want, "%d/task/%ld", getpid(), syscall(SYS_gettid));
	check(link_is("/proc/thread-self", want), "/proc/thread-self is pid/task/tid");
	check(realpath(argv[0], buf) && link_is("/proc/self/exe", buf), "/proc/self/exe is the program");
	check(getcwd(buf, sizeof buf) && link_is("/proc/self/cwd", buf), "/proc/self/cwd is the working directory");
	check(link_is("/proc/self/root", "/"), "/proc/self/root is /");
	check(chdir("/proc/self/cwd") == 0 && getcwd(want, sizeof want) && strcmp(want, buf) == 0, "chdir /proc/self/cwd stays put");

	size_t len, off = 0;
	char *cmd = slurp("/proc/self/cmdline", &len);
	int same = cmd != NULL;
	for (int i = 0; same && i < argc; i++) {
		same = off < len && strcmp(cmd + off, argv[i]) == 0;
		off += strlen(argv[i]) + 1;
	}
	check(same && off == len, "/proc/self/cmdline is argv");
	char *env = slurp("/proc/self/environ", &len);
	off = 0;
	same = env != NULL;
	for (char **e = environ; same && *e; e++) {
		same = off < len && strcmp(env + off, *e) == 0;
		off += strlen(*e) + 1;
	}
	check(same && off == len, "/proc/self/environ is the environment");

	unsigned long *auxv = (unsigned long *)slurp("/proc/self/auxv", &len);
	int entries = 0, agree = auxv != NULL && len % 16 == 0;
	/* glibc's getauxval(AT_HWCAP/AT_HWCAP2) answers its own rewritten copy: those two are not compared. */
	for (size_t i = 0; agree && i + 1 < len / 8 && auxv[i]; i += 2, entries++)
		agree = auxv[i] == AT_HWCAP || auxv[i] == AT_HWCAP2 || getauxval(auxv[i]) == auxv[i + 1];
	check(agree && entries > 10 && auxv[len / 8 - 2] == 0, "/proc/self/auxv agrees with getauxval and ends with AT_NULL");

	char *stat = slurp("/proc/self/stat", NULL);
	int nfields = 0;
	check(stat && stat_field(stat, 1, &nfields) == getpid(), "/proc/self/stat: pid");
	check(nfields == 52, "/proc/self/stat: 52 fields");
	check(stat && strstr(stat, "(procfs) R ") != NULL, "/proc/self/stat: (comm) R");
	check(stat_field(stat, 4, NULL) == getppid() && stat_field(stat, 5, NULL) == getpgrp() && stat_field(stat, 6, NULL) == getsid(0),
	      "/proc/self/stat: ppid, pgrp, session");
	check(stat_field(stat, 20, NULL) == 1, "/proc/self/stat: one thread");
	char *uptime = slurp("/proc/uptime", NULL);
	check(uptime && stat_field(stat, 22, NULL) <= (long)(atof(uptime) * 100) + 100, "/proc/self/stat: started after boot");
	check(stat_field(stat, 23, NULL) > 0, "/proc/self/stat: vsize"); /* rss may read 0: Linux counts it lazily */

	char *status = slurp("/proc/self/status", NULL);
	snprintf(want, sizeof want, "\nPid:\t%d\n", getpid());
	check(status && strncmp(status, "Name:\tprocfs\n", 13) == 0 && strstr(status, want), "/proc/self/status: Name and Pid");
	snprintf(want, sizeof want, "\nPPid:\t%d\n", getppid());
	check(status && strstr(status, want) && strstr(status, "\nThreads:\t1\n"), "/proc/self/status: PPid and Threads");
	snprintf(want, sizeof want, "\nUid:\t%d\t%d\t", getuid(), geteuid());
	check(status && strstr(status, want) && strstr(status, "\nVmRSS:"), "/proc/self/status: Uid and VmRSS");
	check(strcmp(slurp("/proc/self/comm", NULL), "procfs\n") == 0, "/proc/self/comm");

	char *maps = slurp("/proc/self/maps", NULL);
	check(maps && strstr(maps, "[stack]\n") && strstr(maps, "[vdso]\n"), "/proc/self/maps has [stack] and [vdso]");
	check(maps && strstr(maps, " r-xp ") != NULL, "/proc/self/maps has an executable mapping");

	int fd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
	char name[64], data[8];
	snprintf(name, sizeof name, "/proc/self/fd/%d", fd);
	snprintf(want, sizeof want, "/proc/%d/cmdline", getpid());
	check(link_is(name, want), "/proc/self/fd/N names the open file");
	check(read(fd, data, 3) == 3, "read 3 bytes");
	snprintf(name, sizeof name, "/proc/self/fdinfo/%d", fd);
	char *info = slurp(name, NULL);
	check(info && strncmp(info, "pos:\t3\nflags:\t0", 15) == 0, "/proc/self/fdinfo/N: pos and flags");
	check(info && (strtol(strstr(info, "flags:") + 7, NULL, 8) & 02000000) != 0, "/proc/self/fdinfo/N: O_CLOEXEC");
	snprintf(name, sizeof name, "%d", fd);
	check(count_entries("/proc/self/fd", name) == 1 && count_entries("/proc/self/fd", "0") == 1, "/proc/self/fd lists the descriptors");
	close(fd);
	snprintf(name, sizeof name, "/proc/self/fd/%d", fd);
	check(access(name, F_OK) != 0, "a closed descriptor leaves /proc/self/fd");
	snprintf(name, sizeof name, "/proc/%d/status", getpid());
	check(access(name, R_OK) == 0 && access("/proc/self/task", X_OK) == 0, "/proc/<pid> and /proc/self/task exist");
}

static int pipefd[2];
static int thread_self_ok;

static void *thread(void *arg)
{
	char want[64], c;
	snprintf(want, sizeof want, "%d/task/%ld", getpid(), syscall(SYS_gettid));
	thread_self_ok = link_is("/proc/thread-self", want);
	return read(pipefd[0], &c, 1) == 1 ? NULL : arg;
}

static void threads(void)
{
	pthread_t t;
	if (pipe(pipefd) != 0 || pthread_create(&t, NULL, thread, NULL) != 0) {
		check(0, "thread");
		return;
	}
	for (int i = 0; i < 200 && count_entries("/proc/self/task", NULL) < 2; i++) usleep(1000);
	check(count_entries("/proc/self/task", NULL) == 2, "/proc/self/task lists two threads");
	char path[64];
	snprintf(path, sizeof path, "/proc/self/task/%d/stat", getpid());
	char *s = slurp(path, NULL);
	int n = 0;
	check(s && stat_field(s, 1, &n) == getpid() && n == 52 && stat_field(s, 20, NULL) == 2, "/proc/self/task/<pid>/stat: the main thread, of two");
	check(strstr(slurp("/proc/self/status", NULL), "\nThreads:\t2\n") != NULL, "/proc/self/status: Threads 2");
	if (write(pipefd[1], "x", 1) != 1) check(0, "write");
	pthread_join(t, NULL);
	check(thread_self_ok, "in a thread, /proc/thread-self is pid/task/tid");
}

static void global(void)
{
	char *mounts = slurp("/proc/mounts", NULL);
	check(mounts && strstr(mounts, "proc /proc proc rw"), "/proc/mounts lists /proc");
	int root = 0;
	for (char *l = mounts; l && *l; l = strchr(l, '\n') + 1) {
		char src[256], dir[256];
		if (sscanf(l, "%255s %255s", src, dir) == 2 && !strcmp(dir, "/")) root = 1;
		if (!strchr(l, '\n')) break;
	}
	check(root, "/proc/mounts lists /");
	char *fss = slurp("/proc/filesystems", NULL);
	check(fss && strstr(fss, "nodev\tproc\n") && strstr(fss, "nodev\ttmpfs\n"), "/proc/filesystems has proc and tmpfs");
	double a, b, c;
	int running, total, last;
	char *load = slurp("/proc/loadavg", NULL);
	check(load && sscanf(load, "%lf %lf %lf %d/%d %d", &a, &b, &c, &running, &total, &last) == 6 && running >= 1 && total >= running,
	      "/proc/loadavg: three loads, running/total, last pid");
	char *up = slurp("/proc/uptime", NULL);
	check(up && sscanf(up, "%lf %lf", &a, &b) == 2 && a > 0, "/proc/uptime: two numbers");
	char *mem = slurp("/proc/meminfo", NULL);
	long total_kb = 0, free_kb = 0;
	check(mem && sscanf(mem, "MemTotal: %ld kB\nMemFree: %ld kB", &total_kb, &free_kb) == 2 && total_kb > free_kb && free_kb > 0,
	      "/proc/meminfo: MemTotal > MemFree > 0");
	check(mem && strstr(mem, "\nMemAvailable:") && strstr(mem, "\nSwapTotal:"), "/proc/meminfo: MemAvailable, SwapTotal");

	/* Each flag in /proc/cpuinfo exactly when CPUID (as this program runs it) reports it. */
	char *cpu = slurp("/proc/cpuinfo", NULL);
	check(cpu && strncmp(cpu, "processor\t: 0\n", 14) == 0, "/proc/cpuinfo starts with processor 0");
	char *flags = cpu ? strstr(cpu, "\nflags\t\t: ") : NULL;
	char line[4096] = " ";
	if (flags) sscanf(flags + 10, "%4000[^\n]", line + 1);
	strcat(line, " ");
	static unsigned int l1[4], l7[4], e1[4];
	__get_cpuid(1, &l1[0], &l1[1], &l1[2], &l1[3]);
	__get_cpuid_count(7, 0, &l7[0], &l7[1], &l7[2], &l7[3]);
	__get_cpuid(0x80000001, &e1[0], &e1[1], &e1[2], &e1[3]);
	static const struct {
		const char *name;
		unsigned int *reg;
		int bit;
	} bits[] = {
		{"fpu", &l1[3], 0}, {"tsc", &l1[3], 4}, {"cx8", &l1[3], 8}, {"cmov", &l1[3], 15}, {"mmx", &l1[3], 23},
		{"fxsr", &l1[3], 24}, {"sse", &l1[3], 25}, {"sse2", &l1[3], 26}, {"pni", &l1[2], 0}, {"pclmulqdq", &l1[2], 1},
		{"ssse3", &l1[2], 9}, {"fma", &l1[2], 12}, {"cx16", &l1[2], 13}, {"sse4_1", &l1[2], 19}, {"sse4_2", &l1[2], 20},
		{"movbe", &l1[2], 22}, {"popcnt", &l1[2], 23}, {"aes", &l1[2], 25}, {"avx", &l1[2], 28}, {"f16c", &l1[2], 29},
		{"rdrand", &l1[2], 30}, {"bmi1", &l7[1], 3}, {"avx2", &l7[1], 5}, {"bmi2", &l7[1], 8}, {"erms", &l7[1], 9},
		{"lahf_lm", &e1[2], 0}, {"abm", &e1[2], 5}, {"syscall", &e1[3], 11}, {"rdtscp", &e1[3], 27}, {"lm", &e1[3], 29},
	};
	int consistent = 1;
	for (size_t i = 0; i < sizeof bits / sizeof *bits; i++) {
		char word[32];
		snprintf(word, sizeof word, " %s ", bits[i].name);
		int listed = strstr(line, word) != NULL, has = (*bits[i].reg >> bits[i].bit) & 1;
		if (listed != has) {
			printf("cpuinfo flag %s: listed %d, cpuid %d\n", bits[i].name, listed, has);
			consistent = 0;
		}
	}
	check(flags && consistent, "/proc/cpuinfo flags agree with CPUID");
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	per_process(argc, argv);
	threads();
	global();
	return failures ? 1 : 0;
}
