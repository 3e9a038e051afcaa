// SPDX-License-Identifier: GPL-2.0
/*
 * vDSO time functions. The kernel keeps a clock record in the vvar page: the
 * TSC value at the last update and the matching CLOCK_MONOTONIC and
 * CLOCK_REALTIME values, plus a multiplier turning TSC ticks into nanoseconds.
 * The kernel writes it only while no guest code runs, but a reader can be
 * preempted halfway and resume after a refresh: `seq` changes with every
 * refresh, and a reader that saw it change reads again.
 */
#include <stdint.h>

struct timespec64 { int64_t tv_sec; int64_t tv_nsec; };
struct timeval64 { int64_t tv_sec; int64_t tv_usec; };

struct vdso_clock {
	uint64_t tsc_base;
	uint64_t mult;		/* ns per tick, scaled by 2^shift */
	uint32_t shift;
	uint32_t enabled;	/* 0: every call goes to the kernel */
	int64_t mono_ns;	/* CLOCK_MONOTONIC at tsc_base */
	int64_t real_ns;	/* CLOCK_REALTIME at tsc_base */
	int64_t boot_ns;	/* CLOCK_BOOTTIME at tsc_base */
	uint64_t seq;		/* bumped by every refresh */
};

__attribute__((section(".vvar"), used, visibility("hidden")))
struct vdso_clock vdso_clock;

#define CLOCK_REALTIME		0
#define CLOCK_MONOTONIC		1
#define CLOCK_MONOTONIC_RAW	4
#define CLOCK_REALTIME_COARSE	5
#define CLOCK_MONOTONIC_COARSE	6
#define CLOCK_BOOTTIME		7
#define NR_clock_gettime	228
#define NR_gettimeofday		96
#define NR_getcpu		309

static inline long sys2(long nr, long a, long b)
{
	long ret;
	__asm__ volatile("syscall" : "=a"(ret) : "a"(nr), "D"(a), "S"(b) : "rcx", "r11", "memory");
	return ret;
}

static inline long sys3(long nr, long a, long b, long c)
{
	long ret;
	__asm__ volatile("syscall" : "=a"(ret) : "a"(nr), "D"(a), "S"(b), "d"(c) : "rcx", "r11", "memory");
	return ret;
}

static inline int64_t elapsed_ns(const volatile struct vdso_clock *c)
{
	uint32_t lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	uint64_t now = ((uint64_t)hi << 32) | lo;
	uint64_t delta = now > c->tsc_base ? now - c->tsc_base : 0;
	return (int64_t)(((unsigned __int128)delta * c->mult) >> c->shift);
}

static inline int read_clock(int clk, int64_t *ns)
{
	const volatile struct vdso_clock *c = &vdso_clock;
	uint64_t seq;
	int64_t base;
	if (!c->enabled)
		return 0;
	do {
		seq = c->seq;
		switch (clk) {
		case CLOCK_REALTIME:
		case CLOCK_REALTIME_COARSE:
			base = c->real_ns;
			break;
		case CLOCK_MONOTONIC:
		case CLOCK_MONOTONIC_RAW:
		case CLOCK_MONOTONIC_COARSE:
			base = c->mono_ns;
			break;
		case CLOCK_BOOTTIME:
			base = c->boot_ns;
			break;
		default:
			return 0;
		}
		*ns = base + elapsed_ns(c);
	} while (seq != c->seq);
	return 1;
}

int __vdso_clock_gettime(int clk, struct timespec64 *ts)
{
	int64_t ns;
	if (!read_clock(clk, &ns))
		return (int)sys2(NR_clock_gettime, clk, (long)ts);
	ts->tv_sec = ns / 1000000000;
	ts->tv_nsec = ns % 1000000000;
	return 0;
}

int __vdso_gettimeofday(struct timeval64 *tv, void *tz)
{
	int64_t ns;
	if (!read_clock(CLOCK_REALTIME, &ns))
		return (int)sys2(NR_gettimeofday, (long)tv, (long)tz);
	if (tv) {
		tv->tv_sec = ns / 1000000000;
		tv->tv_usec = (ns % 1000000000) / 1000;
	}
	if (tz)
		return (int)sys2(NR_gettimeofday, 0, (long)tz);
	return 0;
}

long __vdso_time(long *t)
{
	int64_t ns;
	struct timespec64 ts;
	long sec;
	if (read_clock(CLOCK_REALTIME, &ns)) {
		sec = ns / 1000000000;
	} else {
		sys2(NR_clock_gettime, CLOCK_REALTIME, (long)&ts);
		sec = ts.tv_sec;
	}
	if (t)
		*t = sec;
	return sec;
}

long __vdso_getcpu(unsigned *cpu, unsigned *node, void *unused)
{
	return sys3(NR_getcpu, (long)cpu, (long)node, (long)unused);
}

int clock_gettime(int, struct timespec64 *) __attribute__((weak, alias("__vdso_clock_gettime")));
int gettimeofday(struct timeval64 *, void *) __attribute__((weak, alias("__vdso_gettimeofday")));
long time(long *) __attribute__((weak, alias("__vdso_time")));
long getcpu(unsigned *, unsigned *, void *) __attribute__((weak, alias("__vdso_getcpu")));
