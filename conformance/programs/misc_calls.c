/* Assorted calls: getdents (the old struct linux_dirent, d_type in the last
 * byte of a record) against getdents64, fchmodat2 (AT_SYMLINK_NOFOLLOW,
 * AT_EMPTY_PATH), sync_file_range's checks, kcmp (files, tables, memory,
 * fs, signal handlers, epoll targets; a thread, a CLONE_FILES child and a
 * forked child), and process_vm_readv/process_vm_writev (a child's memory,
 * holes and protections: short counts and EFAULT). Raw syscall() for all of
 * them, so every libc makes the same calls. Scratch files in
 * $NOMMU_TEST_TMPDIR (default /tmp). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "expect.h"

#define NR_GETDENTS 78
#define NR_GETDENTS64 217
#define NR_SYNC_FILE_RANGE 277
#define NR_PROCESS_VM_READV 310
#define NR_PROCESS_VM_WRITEV 311
#define NR_KCMP 312
#define NR_FCHMODAT2 452

#define KCMP_FILE 0
#define KCMP_VM 1
#define KCMP_FILES 2
#define KCMP_FS 3
#define KCMP_SIGHAND 4
#define KCMP_IO 5
#define KCMP_SYSVSEM 6
#define KCMP_EPOLL_TFD 7

#ifndef AT_EMPTY_PATH
#define AT_EMPTY_PATH 0x1000
#endif

static char dir[512];

static const char *path(const char *name)
{
	static char buf[4][600];
	static int n;
	char *p = buf[n++ % 4];
	snprintf(p, 600, "%s/%s", dir, name);
	return p;
}

/* ---- getdents ---- */

struct entry {
	char name[64];
	int type;
};

static int by_name(const void *a, const void *b)
{
	return strcmp(((const struct entry *)a)->name, ((const struct entry *)b)->name);
}

/* Reads the whole directory with getdents (old = 1) or getdents64 in calls of `bufsize` bytes. */
static int list(int old, int bufsize, struct entry *out, int max, int *calls, int *aligned)
{
	int fd = open(path("d"), O_RDONLY | O_DIRECTORY);
	char *buf = malloc((size_t)bufsize);
	int n = 0;
	*calls = 0;
	*aligned = 1;
	for (;;) {
		long r = syscall(old ? NR_GETDENTS : NR_GETDENTS64, fd, buf, bufsize);
		if (r <= 0)
			break;
		(*calls)++;
		for (long off = 0; off < r;) {
			char *rec = buf + off;
			unsigned short reclen;
			const char *name;
			int type;
			if (old) {
				memcpy(&reclen, rec + 16, 2);
				name = rec + 18;
				type = (unsigned char)rec[reclen - 1];
			} else {
				memcpy(&reclen, rec + 16, 2);
				name = rec + 19;
				type = (unsigned char)rec[18];
			}
			if (reclen % 8 != 0 || strnlen(name, reclen) >= reclen)
				*aligned = 0;
			if (n < max) {
				snprintf(out[n].name, sizeof out[n].name, "%s", name);
				out[n].type = type;
				n++;
			}
			off += reclen;
		}
	}
	free(buf);
	close(fd);
	qsort(out, (size_t)n, sizeof out[0], by_name);
	return n;
}

static void getdents_tests(void)
{
	mkdir(path("d"), 0755);
	const char *files[] = { "a", "bb", "ccc", "a-name-of-twenty-one", "x1234567" };
	for (unsigned i = 0; i < sizeof files / sizeof files[0]; i++) {
		char p[600];
		snprintf(p, sizeof p, "%s/d/%s", dir, files[i]);
		close(open(p, O_WRONLY | O_CREAT, 0644));
	}
	char p[600];
	snprintf(p, sizeof p, "%s/d/sub", dir);
	mkdir(p, 0755);
	snprintf(p, sizeof p, "%s/d/link", dir);
	check(symlink("a", p) == 0, "symlink in the directory");
	snprintf(p, sizeof p, "%s/d/fifo", dir);
	check(mkfifo(p, 0644) == 0, "fifo in the directory");

	struct entry old[32], new[32];
	int calls, aligned, calls64, aligned64;
	int n = list(1, 4096, old, 32, &calls, &aligned);
	int n64 = list(0, 4096, new, 32, &calls64, &aligned64);
	printf("getdents: %d entries in %d call(s), records aligned with a NUL-terminated name: %d\n", n, calls, aligned);
	for (int i = 0; i < n; i++)
		printf("  %s type %d\n", old[i].name, old[i].type);
	int same = n == n64;
	for (int i = 0; same && i < n; i++)
		same = strcmp(old[i].name, new[i].name) == 0 && old[i].type == new[i].type;
	check(same && aligned64, "getdents64 lists the same names and types");
	n = list(1, 40, old, 32, &calls, &aligned);
	printf("getdents with a 40-byte buffer: %d entries, more than one call: %d\n", n, calls > 1);

	int fd = open(path("d"), O_RDONLY | O_DIRECTORY);
	char small[16];
	EXPECT_ERR(syscall(NR_GETDENTS, fd, small, sizeof small), EINVAL, "getdents with a buffer too small for one record");
	close(fd);
	int f = open(path("d/a"), O_RDONLY);
	char buf[256];
	EXPECT_ERR(syscall(NR_GETDENTS, f, buf, sizeof buf), ENOTDIR, "getdents on a regular file");
	close(f);
	EXPECT_ERR(syscall(NR_GETDENTS, 99, buf, sizeof buf), EBADF, "getdents on a closed descriptor");
}

/* ---- fchmodat2 ---- */

static int mode_of(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0 ? (int)(st.st_mode & 07777) : -1;
}

static void fchmodat2_tests(void)
{
	const char *file = path("modefile");
	close(open(file, O_WRONLY | O_CREAT | O_TRUNC, 0600));
	symlink("modefile", path("modelink"));
	int dfd = open(dir, O_RDONLY | O_DIRECTORY);
	long r = syscall(NR_FCHMODAT2, dfd, "modefile", 0640, 0);
	printf("fchmodat2(dirfd, name, 0640, 0): %ld, mode %o\n", r, mode_of(file));
	r = syscall(NR_FCHMODAT2, dfd, "modelink", 0604, 0);
	printf("through the symlink: %ld, target mode %o\n", r, mode_of(file));
	EXPECT_ERR(syscall(NR_FCHMODAT2, dfd, "modelink", 0600, AT_SYMLINK_NOFOLLOW), EOPNOTSUPP, "AT_SYMLINK_NOFOLLOW on a symlink");
	r = syscall(NR_FCHMODAT2, dfd, "modefile", 0620, AT_SYMLINK_NOFOLLOW);
	printf("AT_SYMLINK_NOFOLLOW on a regular file: %ld, mode %o\n", r, mode_of(file));
	int fd = open(file, O_RDONLY);
	r = syscall(NR_FCHMODAT2, fd, "", 0400, AT_EMPTY_PATH);
	printf("AT_EMPTY_PATH on an open file: %ld, mode %o\n", r, mode_of(file));
	close(fd);
	fd = open(file, O_PATH);
	r = syscall(NR_FCHMODAT2, fd, "", 0644, AT_EMPTY_PATH);
	printf("AT_EMPTY_PATH on an O_PATH descriptor: %ld, mode %o\n", r, mode_of(file));
	close(fd);
	fd = open(path("modelink"), O_PATH | O_NOFOLLOW);
	EXPECT_ERR(syscall(NR_FCHMODAT2, fd, "", 0644, AT_EMPTY_PATH), EOPNOTSUPP, "AT_EMPTY_PATH on an O_PATH symlink");
	close(fd);
	EXPECT_ERR(syscall(NR_FCHMODAT2, dfd, "", 0644, 0), ENOENT, "an empty name without AT_EMPTY_PATH");
	EXPECT_ERR(syscall(NR_FCHMODAT2, dfd, "modefile", 0644, 0x2), EINVAL, "an unknown flag");
	EXPECT_ERR(syscall(NR_FCHMODAT2, dfd, "missing", 0644, 0), ENOENT, "a missing name");
	EXPECT_ERR(syscall(NR_FCHMODAT2, 99, "modefile", 0644, 0), EBADF, "a closed dirfd");
	printf("mode after the failures: %o\n", mode_of(file));
	close(dfd);
}

/* ---- sync_file_range ---- */

static long sfr(int fd, int64_t off, int64_t n, unsigned flags)
{
	return syscall(NR_SYNC_FILE_RANGE, fd, off, n, flags);
}

static void sync_file_range_tests(void)
{
	int fd = open(path("syncfile"), O_RDWR | O_CREAT | O_TRUNC, 0600);
	check(write(fd, "data", 4) == 4, "write something to sync");
	printf("sync_file_range WRITE: %ld\n", sfr(fd, 0, 4, 2));
	printf("sync_file_range WAIT_BEFORE|WRITE|WAIT_AFTER, whole file: %ld\n", sfr(fd, 0, 0, 7));
	printf("sync_file_range flags 0: %ld\n", sfr(fd, 100, 10, 0));
	EXPECT_ERR(sfr(fd, 0, 4, 8), EINVAL, "an unknown flag");
	EXPECT_ERR(sfr(fd, -1, 4, 2), EINVAL, "a negative offset");
	EXPECT_ERR(sfr(fd, 0, -4, 2), EINVAL, "a negative length");
	EXPECT_ERR(sfr(fd, INT64_MAX, 2, 2), EINVAL, "an end past LLONG_MAX");
	int p[2];
	check(pipe(p) == 0, "pipe");
	EXPECT_ERR(sfr(p[0], 0, 4, 2), ESPIPE, "a pipe");
	EXPECT_ERR(sfr(99, 0, 4, 2), EBADF, "a closed descriptor");
	int op = open(path("syncfile"), O_PATH);
	EXPECT_ERR(sfr(op, 0, 4, 2), EBADF, "an O_PATH descriptor");
	int d = open(dir, O_RDONLY | O_DIRECTORY);
	printf("sync_file_range on a directory: %ld\n", sfr(d, 0, 0, 2));
	close(d);
	close(op);
	close(p[0]);
	close(p[1]);
	close(fd);
}

/* ---- kcmp ---- */

static long kcmp(pid_t a, pid_t b, int type, unsigned long i1, unsigned long i2)
{
	return syscall(NR_KCMP, a, b, type, i1, i2);
}

/* "same", or "different" when the two orders agree (1 one way, 2 the other). */
static const char *cmp(pid_t a, pid_t b, int type, unsigned long i1, unsigned long i2)
{
	long x = kcmp(a, b, type, i1, i2), y = kcmp(b, a, type, i2, i1);
	if (x == 0 && y == 0)
		return "same";
	if ((x == 1 && y == 2) || (x == 2 && y == 1))
		return "different";
	static char bad[64];
	snprintf(bad, sizeof bad, "inconsistent (%ld, %ld, errno %s)", x, y, errname(errno));
	return bad;
}

static volatile pid_t thread_tid;
static int thread_go[2];

static void *thread_main(void *arg)
{
	(void)arg;
	thread_tid = (pid_t)syscall(SYS_gettid);
	char c;
	ssize_t r = read(thread_go[0], &c, 1);
	(void)r;
	return NULL;
}

/* A child that waits for a byte on `in`, then exits. */
static pid_t waiting_child(int in, long flags)
{
	fflush(stdout);
	pid_t pid = (pid_t)syscall(SYS_clone, flags | SIGCHLD, 0, 0, 0, 0);
	if (pid == 0) {
		char c;
		ssize_t r = read(in, &c, 1);
		(void)r;
		_exit(0);
	}
	return pid;
}

static void kcmp_tests(void)
{
	pid_t me = getpid();
	int fd = open(path("modefile"), O_RDONLY);
	int dup_fd = dup(fd);
	int other = open(path("modefile"), O_RDONLY);
	printf("KCMP_FILE fd vs its dup: %s\n", cmp(me, me, KCMP_FILE, (unsigned long)fd, (unsigned long)dup_fd));
	printf("KCMP_FILE fd vs another open of the file: %s\n", cmp(me, me, KCMP_FILE, (unsigned long)fd, (unsigned long)other));
	printf("KCMP_VM self: %s\n", cmp(me, me, KCMP_VM, 0, 0));
	printf("KCMP_IO self: %s\n", cmp(me, me, KCMP_IO, 0, 0));
	EXPECT_ERR(kcmp(me, me, KCMP_FILE, (unsigned long)fd, 99), EBADF, "KCMP_FILE with a closed descriptor");
	EXPECT_ERR(kcmp(me, me, 99, 0, 0), EINVAL, "an unknown type");
	EXPECT_ERR(kcmp(-1, me, KCMP_VM, 0, 0), ESRCH, "pid -1");
	EXPECT_ERR(kcmp(me, 0, KCMP_VM, 0, 0), ESRCH, "pid 0");

	int go[2];
	check(pipe(go) == 0, "a pipe to release the children");
	pid_t child = waiting_child(go[0], 0);
	printf("forked child: KCMP_FILE of an inherited fd: %s\n", cmp(me, child, KCMP_FILE, (unsigned long)fd, (unsigned long)fd));
	printf("forked child: KCMP_VM %s, KCMP_FILES %s, KCMP_FS %s, KCMP_SIGHAND %s, KCMP_SYSVSEM %s\n",
	       cmp(me, child, KCMP_VM, 0, 0), cmp(me, child, KCMP_FILES, 0, 0), cmp(me, child, KCMP_FS, 0, 0),
	       cmp(me, child, KCMP_SIGHAND, 0, 0), cmp(me, child, KCMP_SYSVSEM, 0, 0));
	pid_t shared = waiting_child(go[0], CLONE_FILES);
	printf("CLONE_FILES child: KCMP_FILES %s, KCMP_VM %s\n", cmp(me, shared, KCMP_FILES, 0, 0), cmp(me, shared, KCMP_VM, 0, 0));

	check(pipe(thread_go) == 0, "a pipe for the thread");
	pthread_t th;
	check(pthread_create(&th, NULL, thread_main, NULL) == 0, "pthread_create");
	while (thread_tid == 0)
		sched_yield();
	printf("thread: KCMP_VM %s, KCMP_FILES %s, KCMP_FS %s, KCMP_SIGHAND %s\n", cmp(me, thread_tid, KCMP_VM, 0, 0),
	       cmp(me, thread_tid, KCMP_FILES, 0, 0), cmp(me, thread_tid, KCMP_FS, 0, 0), cmp(me, thread_tid, KCMP_SIGHAND, 0, 0));
	check(write(thread_go[1], "x", 1) == 1, "release the thread");
	pthread_join(th, NULL);

	/* Epoll targets: the file watched as descriptor `fd` in an epoll set. */
	int ep = epoll_create1(0);
	int ep_p[2];
	check(pipe(ep_p) == 0, "a pipe to watch");
	struct epoll_event ev = { .events = EPOLLIN };
	check(epoll_ctl(ep, EPOLL_CTL_ADD, ep_p[0], &ev) == 0, "watch the pipe in an epoll set");
	struct { uint32_t efd, tfd, toff; } slot = { (uint32_t)ep, (uint32_t)ep_p[0], 0 };
	printf("KCMP_EPOLL_TFD: the watched file vs its descriptor: %ld\n", kcmp(me, me, KCMP_EPOLL_TFD, (unsigned long)ep_p[0], (unsigned long)&slot));
	long x = kcmp(me, me, KCMP_EPOLL_TFD, (unsigned long)other, (unsigned long)&slot);
	printf("KCMP_EPOLL_TFD: vs another file: %s\n", x == 1 || x == 2 ? "different" : "wrong");
	slot.tfd = (uint32_t)other;
	EXPECT_ERR(kcmp(me, me, KCMP_EPOLL_TFD, (unsigned long)fd, (unsigned long)&slot), ENOENT, "KCMP_EPOLL_TFD for an unwatched descriptor");
	slot.efd = (uint32_t)fd;
	EXPECT_ERR(kcmp(me, me, KCMP_EPOLL_TFD, (unsigned long)fd, (unsigned long)&slot), EINVAL, "KCMP_EPOLL_TFD with a non-epoll efd");
	close(ep_p[0]);
	close(ep_p[1]);
	close(ep);

	check(write(go[1], "xx", 2) == 2, "release the children");
	waitpid(child, NULL, 0);
	waitpid(shared, NULL, 0);
	EXPECT_ERR(kcmp(me, child, KCMP_VM, 0, 0), ESRCH, "a reaped child");
	close(go[0]);
	close(go[1]);
	close(fd);
	close(dup_fd);
	close(other);
}

/* ---- process_vm_readv / process_vm_writev ---- */

static char remote_buf[64];

static long vmread(pid_t pid, struct iovec *l, unsigned long ln, struct iovec *r, unsigned long rn, unsigned long flags)
{
	return syscall(NR_PROCESS_VM_READV, pid, l, ln, r, rn, flags);
}

static long vmwrite(pid_t pid, struct iovec *l, unsigned long ln, struct iovec *r, unsigned long rn, unsigned long flags)
{
	return syscall(NR_PROCESS_VM_WRITEV, pid, l, ln, r, rn, flags);
}

/* Protection keys: the calls a program makes whether or not the CPU has keys to hand out. */
static void pkey_tests(void)
{
	EXPECT_ERR(syscall(SYS_pkey_alloc, 1, 0), EINVAL, "pkey_alloc with a flag");
	EXPECT_ERR(syscall(SYS_pkey_alloc, 0, 4), EINVAL, "pkey_alloc with an unknown access right");
	EXPECT_ERR(syscall(SYS_pkey_free, 15), EINVAL, "pkey_free of a key never allocated");
	char *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	check(p != MAP_FAILED && syscall(SYS_pkey_mprotect, p, 4096, PROT_READ, -1) == 0,
	      "pkey_mprotect with key -1 is mprotect");
	EXPECT_ERR(syscall(SYS_pkey_mprotect, p, 4096, PROT_READ, 14), EINVAL, "pkey_mprotect with a key never allocated");
	munmap(p, 4096);
}

static void process_vm_tests(void)
{
	pid_t me = getpid();
	long pg = sysconf(_SC_PAGESIZE);
	/* Three pages, the middle one unmapped; the last read-only. */
	char *m = mmap(NULL, (size_t)pg * 3, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	memset(m, 'm', (size_t)pg * 3);
	munmap(m + pg, (size_t)pg);
	mprotect(m + 2 * pg, (size_t)pg, PROT_READ);
	strcpy(remote_buf, "parent data");

	int to_child[2], from_child[2];
	check(pipe(to_child) == 0 && pipe(from_child) == 0, "pipes to the child");
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		strcpy(remote_buf, "the child's own data");
		if (write(from_child[1], "r", 1) != 1)
			_exit(3);
		char c;
		if (read(to_child[0], &c, 1) != 1)
			_exit(2);
		/* Report what the parent wrote into our memory. */
		ssize_t w = write(from_child[1], remote_buf, sizeof remote_buf);
		_exit(w == (ssize_t)sizeof remote_buf ? 0 : 1);
	}
	char c;
	check(read(from_child[0], &c, 1) == 1, "the child is ready");

	char a[8] = "", b[32] = "";
	struct iovec local[2] = { { a, 4 }, { b, sizeof b } };
	struct iovec remote[1] = { { remote_buf, 21 } };
	long r = vmread(pid, local, 2, remote, 1, 0);
	printf("process_vm_readv of the child's buffer into 2 vectors: %ld, \"%.4s\" + \"%s\"\n", r, a, b);
	printf("our own buffer still: \"%s\"\n", remote_buf);

	char msg[] = "written by the parent";
	struct iovec lw[1] = { { msg, sizeof msg } };
	struct iovec rw[2] = { { remote_buf, 10 }, { remote_buf + 10, sizeof msg - 10 } };
	r = vmwrite(pid, lw, 1, rw, 2, 0);
	printf("process_vm_writev into the child, 2 remote vectors: %ld\n", r);
	check(write(to_child[1], "g", 1) == 1, "let the child report");
	char seen[64];
	ssize_t got = 0;
	while (got < (ssize_t)sizeof seen) {
		ssize_t n = read(from_child[0], seen + got, sizeof seen - (size_t)got);
		if (n <= 0)
			break;
		got += n;
	}
	int status;
	waitpid(pid, &status, 0);
	printf("the child saw \"%s\", exit %d\n", got == 64 ? seen : "?", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	printf("our own buffer still: \"%s\"\n", remote_buf);

	/* Holes and protections, on ourselves. */
	char big[256];
	struct iovec l1[1] = { { big, sizeof big } };
	struct iovec r1[1] = { { m + pg - 100, 200 } };
	printf("readv across the end of a mapping: %ld\n", vmread(me, l1, 1, r1, 1, 0));
	struct iovec r2[1] = { { m + pg, 10 } };
	EXPECT_ERR(vmread(me, l1, 1, r2, 1, 0), EFAULT, "readv from a hole");
	struct iovec r3[2] = { { m, 30 }, { m + pg + 5, 10 } };
	printf("readv whose second remote vector is a hole: %ld\n", vmread(me, l1, 1, r3, 2, 0));
	struct iovec r4[1] = { { m + 2 * pg, 10 } };
	printf("readv from a read-only page: %ld\n", vmread(me, l1, 1, r4, 1, 0));
	EXPECT_ERR(vmwrite(me, l1, 1, r4, 1, 0), EFAULT, "writev to a read-only page");
	struct iovec l2[2] = { { m + pg - 50, 50 }, { m + pg, 50 } };
	struct iovec r5[1] = { { big, 100 } };
	printf("readv into a local vector that is a hole after 50 bytes: %ld\n", vmread(me, l2, 2, r5, 1, 0));
	printf("writev from the same local vectors: %ld\n", vmwrite(me, l2, 2, r5, 1, 0));

	/* Argument checks. */
	EXPECT_ERR(vmread(me, l1, 1, r1, 1, 1), EINVAL, "flags 1");
	EXPECT_ERR(vmread(me, l1, 1025, r1, 1, 0), EINVAL, "1025 local vectors");
	EXPECT_ERR(vmread(me, l1, 1, r1, 1025, 0), EINVAL, "1025 remote vectors");
	EXPECT_ERR(vmread(-1, l1, 1, r1, 1, 0), ESRCH, "pid -1");
	EXPECT_ERR(vmread(pid, l1, 1, r1, 1, 0), ESRCH, "a reaped child");
	printf("no local bytes, a bad pid: %ld\n", vmread(-1, l1, 0, r1, 1, 0));
	struct iovec none[1] = { { NULL, 0 } };
	printf("no remote bytes, a bad pid: %ld\n", vmread(-1, l1, 1, none, 1, 0));
	munmap(m, (size_t)pg);
	munmap(m + 2 * pg, (size_t)pg);
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	const char *tmp = getenv("NOMMU_TEST_TMPDIR");
	snprintf(dir, sizeof dir, "%s", tmp && *tmp ? tmp : "/tmp");
	getdents_tests();
	fchmodat2_tests();
	sync_file_range_tests();
	kcmp_tests();
	process_vm_tests();
	pkey_tests();
	return failures ? 1 : 0;
}
