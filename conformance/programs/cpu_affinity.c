/* CPUs as a program sees them: sched_getaffinity/sched_setaffinity (libc's
 * and raw, with their errors), getcpu/sched_getcpu, sysconf's processor
 * counts and /sys/devices/system/cpu/{online,possible}. The host has its own
 * number of CPUs and nommu one, so nothing here prints a count or a CPU
 * number: only whether the views agree with one another. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "expect.h"

/* The number of CPUs a list like "0-3,5\n" names, or -1 if it is unreadable. */
static int count_list(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	char buf[256];
	int n = 0;
	if (!fgets(buf, sizeof buf, f)) {
		fclose(f);
		return -1;
	}
	fclose(f);
	for (char *p = buf; *p && *p != '\n';) {
		char *end;
		long a = strtol(p, &end, 10), b = a;
		if (end == p)
			return -1;
		if (*end == '-')
			b = strtol(end + 1, &end, 10);
		n += (int)(b - a + 1);
		p = *end == ',' ? end + 1 : end;
	}
	return n;
}

static void *idle_thread(void *arg)
{
	return arg;
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	long onln = sysconf(_SC_NPROCESSORS_ONLN), conf = sysconf(_SC_NPROCESSORS_CONF);
	check(onln >= 1 && conf >= onln, "sysconf: at least one processor online, no more online than configured");

	cpu_set_t set;
	CPU_ZERO(&set);
	check(sched_getaffinity(0, sizeof set, &set) == 0, "sched_getaffinity(0)");
	int count = CPU_COUNT(&set), first = -1;
	for (int i = 0; i < CPU_SETSIZE && first < 0; i++)
		if (CPU_ISSET(i, &set))
			first = i;
	check(count == onln, "the affinity mask has as many CPUs as sysconf(_SC_NPROCESSORS_ONLN)");
	check(count_list("/sys/devices/system/cpu/online") == onln, "/sys/devices/system/cpu/online lists as many");
	check(count_list("/sys/devices/system/cpu/possible") >= onln, "/sys/devices/system/cpu/possible lists at least as many");

	int cpu = sched_getcpu();
	check(cpu >= 0 && cpu < onln && CPU_ISSET(cpu, &set), "sched_getcpu() is a CPU of the mask");
	unsigned c = 9999, node = 9999;
	check(syscall(SYS_getcpu, &c, &node, NULL) == 0 && (int)c < onln && node < 64, "getcpu(&cpu, &node) fills both");
	check(syscall(SYS_getcpu, NULL, NULL, NULL) == 0, "getcpu(NULL, NULL) succeeds");

	/* The raw call returns the bytes it wrote: a whole number of longs. */
	unsigned char raw[128];
	long r = syscall(SYS_sched_getaffinity, 0, 8, raw);
	check(r == 8, "raw sched_getaffinity(len 8) returns 8");
	r = syscall(SYS_sched_getaffinity, 0, sizeof raw, raw);
	check(r >= 8 && r <= (long)sizeof raw && r % 8 == 0, "raw sched_getaffinity(len 128) returns a multiple of 8");
	EXPECT_ERR(syscall(SYS_sched_getaffinity, 0, 4, raw), EINVAL, "sched_getaffinity, len 4 (not a multiple of sizeof(long))");
	EXPECT_ERR(syscall(SYS_sched_getaffinity, 0, 0, raw), EINVAL, "sched_getaffinity, len 0");
	EXPECT_ERR(syscall(SYS_sched_getaffinity, 0, 8, (void *)8), EFAULT, "sched_getaffinity to a bad address");
	EXPECT_ERR(syscall(SYS_sched_getaffinity, 0x3ffffff0, 8, raw), ESRCH, "sched_getaffinity of a missing pid");

	/* Another thread, by its tid. */
	pthread_t t;
	cpu_set_t tset;
	CPU_ZERO(&tset);
	check(pthread_create(&t, NULL, idle_thread, NULL) == 0 && pthread_getaffinity_np(t, sizeof tset, &tset) == 0 &&
	          CPU_EQUAL(&tset, &set),
	      "a new thread has the same mask");
	pthread_join(t, NULL);

	/* Setting: the same mask, an empty one, one with only a CPU that does not exist. */
	check(sched_setaffinity(0, sizeof set, &set) == 0, "sched_setaffinity with the mask it has");
	cpu_set_t none;
	CPU_ZERO(&none);
	EXPECT_ERR(sched_setaffinity(0, sizeof none, &none), EINVAL, "sched_setaffinity with an empty mask");
	cpu_set_t far;
	CPU_ZERO(&far);
	CPU_SET(CPU_SETSIZE - 1, &far);
	EXPECT_ERR(sched_setaffinity(0, sizeof far, &far), EINVAL, "sched_setaffinity with only CPU 1023");
	EXPECT_ERR(syscall(SYS_sched_setaffinity, 0, 8, (void *)8), EFAULT, "sched_setaffinity from a bad address");
	EXPECT_ERR(syscall(SYS_sched_setaffinity, 0x3ffffff0, sizeof set, &set), ESRCH, "sched_setaffinity of a missing pid");

	/* Pinned to one CPU: it runs there, and the mask says so. */
	cpu_set_t one;
	CPU_ZERO(&one);
	CPU_SET(first, &one);
	check(sched_setaffinity(0, sizeof one, &one) == 0, "sched_setaffinity to the first CPU of the mask");
	check(sched_getcpu() == first, "then sched_getcpu() is that CPU");
	CPU_ZERO(&set);
	check(sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) == 1 && CPU_ISSET(first, &set),
	      "and sched_getaffinity has that CPU only");

	if (failures) {
		printf("cpu_affinity: %d failures\n", failures);
		return 1;
	}
	printf("cpu_affinity ok\n");
	return 0;
}
