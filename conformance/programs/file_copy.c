/* In-kernel copies and anonymous files: sendfile (with and without an offset,
 * to a file, a pipe and a socket), copy_file_range (offset pointers, file
 * positions, EOF, overlap, EXDEV), fallocate (extend, KEEP_SIZE, punch a
 * hole), openat2 (struct open_how checks and the RESOLVE_* flags) and
 * memfd_create (flags, /proc/self/fd link, ftruncate, MAP_PRIVATE, seals).
 * Raw syscall() everywhere, so both libcs make the same calls. Scratch files
 * in $NOMMU_TEST_TMPDIR (default /tmp). Exit 1 if any check fails. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "expect.h"

#define NR_SENDFILE 40
#define NR_FALLOCATE 285
#define NR_MEMFD_CREATE 319
#define NR_COPY_FILE_RANGE 326
#define NR_OPENAT2 437

#ifndef F_ADD_SEALS
#define F_ADD_SEALS 1033
#define F_GET_SEALS 1034
#define F_SEAL_SEAL 0x1
#define F_SEAL_SHRINK 0x2
#define F_SEAL_GROW 0x4
#define F_SEAL_WRITE 0x8
#endif

#define RESOLVE_NO_XDEV 0x01
#define RESOLVE_NO_MAGICLINKS 0x02
#define RESOLVE_NO_SYMLINKS 0x04
#define RESOLVE_BENEATH 0x08
#define RESOLVE_IN_ROOT 0x10
#ifndef FALLOC_FL_KEEP_SIZE
#define FALLOC_FL_KEEP_SIZE 0x01
#define FALLOC_FL_PUNCH_HOLE 0x02
#endif
#ifndef MFD_CLOEXEC
#define MFD_CLOEXEC 0x1
#define MFD_ALLOW_SEALING 0x2
#endif

#define SRC_SIZE 100000

struct how {
	uint64_t flags, mode, resolve;
};

static char dir[512];
static unsigned char pattern[SRC_SIZE];

static long sendfile_(int out, int in, off_t *off, size_t count)
{
	return syscall(NR_SENDFILE, out, in, off, count);
}

static long cfr(int in, off_t *offin, int out, off_t *offout, size_t len, unsigned flags)
{
	return syscall(NR_COPY_FILE_RANGE, in, offin, out, offout, len, flags);
}

static long openat2_(int dfd, const char *path, uint64_t flags, uint64_t mode, uint64_t resolve)
{
	struct how h = { flags, mode, resolve };
	return syscall(NR_OPENAT2, dfd, path, &h, sizeof h);
}

static const char *path(const char *name)
{
	static char buf[4][600];
	static int n;
	char *p = buf[n++ % 4];
	snprintf(p, 600, "%s/%s", dir, name);
	return p;
}

static off_t pos(int fd)
{
	return lseek(fd, 0, SEEK_CUR);
}

static off_t size_of(int fd)
{
	struct stat st;
	return fstat(fd, &st) == 0 ? st.st_size : -1;
}

/* Does fd hold `want` at offset `at`? */
static int holds(int fd, off_t at, const unsigned char *want, size_t n)
{
	unsigned char *buf = malloc(n);
	int ok = pread(fd, buf, n, at) == (ssize_t)n && memcmp(buf, want, n) == 0;
	free(buf);
	return ok;
}

static int zeros_at(int fd, off_t at, size_t n)
{
	unsigned char *z = calloc(1, n);
	int ok = holds(fd, at, z, n);
	free(z);
	return ok;
}

static void sendfile_tests(int src)
{
	int dst = open(path("sf_dst"), O_WRONLY | O_CREAT | O_TRUNC, 0600);
	long r = sendfile_(dst, src, NULL, 1000);
	printf("sendfile 1000 from the file offset: %ld, in pos %ld\n", r, (long)pos(src));
	off_t off = 5000;
	r = sendfile_(dst, src, &off, 70000);
	printf("sendfile 70000 at offset 5000: %ld, offset now %ld, in pos %ld\n", r, (long)off, (long)pos(src));
	off = SRC_SIZE;
	printf("sendfile at EOF: %ld\n", sendfile_(dst, src, &off, 100));
	off = SRC_SIZE - 10;
	r = sendfile_(dst, src, &off, 100);
	printf("sendfile across EOF: %ld, offset %ld\n", r, (long)off);
	printf("sendfile count 0: %ld\n", sendfile_(dst, src, NULL, 0));
	int back = open(path("sf_dst"), O_RDONLY);
	check(size_of(back) == 71010 && holds(back, 0, pattern, 1000) && holds(back, 1000, pattern + 5000, 70000) &&
		      holds(back, 71000, pattern + SRC_SIZE - 10, 10),
	      "sendfile output holds the three ranges");
	close(back);

	int big = open(path("sf_big"), O_WRONLY | O_CREAT | O_TRUNC, 0600);
	off = 0;
	printf("sendfile of a huge count: %ld\n", sendfile_(big, src, &off, (size_t)LONG_MAX));
	close(big);

	int p[2];
	check(pipe(p) == 0, "pipe");
	off = 300;
	printf("sendfile to a pipe: %ld\n", sendfile_(p[1], src, &off, 4000));
	unsigned char buf[4000];
	check(read(p[0], buf, sizeof buf) == 4000 && memcmp(buf, pattern + 300, 4000) == 0, "pipe reads the range");
	off = 0;
	printf("sendfile of the whole file to an empty pipe: %ld\n", sendfile_(p[1], src, &off, SRC_SIZE));
	fcntl(p[1], F_SETFL, O_NONBLOCK);
	EXPECT_ERR(sendfile_(p[1], src, &off, 10), EAGAIN, "sendfile to a full O_NONBLOCK pipe");
	fcntl(p[1], F_SETFL, 0);
	int sv[2];
	check(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0, "socketpair");
	off = 77;
	printf("sendfile to a socket: %ld\n", sendfile_(sv[0], src, &off, 500));
	check(read(sv[1], buf, 500) == 500 && memcmp(buf, pattern + 77, 500) == 0, "socket reads the range");

	off = 0;
	EXPECT_ERR(sendfile_(dst, 999, NULL, 10), EBADF, "sendfile from a closed fd");
	EXPECT_ERR(sendfile_(999, src, NULL, 10), EBADF, "sendfile to a closed fd");
	EXPECT_ERR(sendfile_(dst, dst, &off, 10), EBADF, "sendfile from a write-only fd");
	EXPECT_ERR(sendfile_(src, src, &off, 10), EBADF, "sendfile to a read-only fd");
	EXPECT_ERR(sendfile_(dst, p[0], &off, 10), ESPIPE, "sendfile from a pipe at an offset");
	off = -1;
	EXPECT_ERR(sendfile_(dst, src, &off, 10), EINVAL, "sendfile at offset -1");
	EXPECT_ERR(sendfile_(dst, src, (off_t *)8, 10), EFAULT, "sendfile with a bad offset pointer");
	int d = open(dir, O_RDONLY | O_DIRECTORY);
	off = 0;
	EXPECT_ERR(sendfile_(dst, d, &off, 10), EINVAL, "sendfile from a directory");
	int app = open(path("sf_dst"), O_WRONLY | O_APPEND);
	EXPECT_ERR(sendfile_(app, src, &off, 10), EINVAL, "sendfile to an O_APPEND file");
	close(app);
	close(d);
	close(p[0]);
	close(p[1]);
	close(sv[0]);
	close(sv[1]);
	close(dst);
}

static void copy_file_range_tests(int src)
{
	int dst = open(path("cfr_dst"), O_RDWR | O_CREAT | O_TRUNC, 0600);
	lseek(src, 123, SEEK_SET);
	off_t in = 10, out = 0;
	long r = cfr(src, &in, dst, &out, 5000, 0);
	printf("copy_file_range 5000 at offsets: %ld, offsets %ld %ld, positions %ld %ld\n", r,
	       (long)in, (long)out, (long)pos(src), (long)pos(dst));
	lseek(src, 20000, SEEK_SET);
	lseek(dst, 5000, SEEK_SET);
	r = cfr(src, NULL, dst, NULL, 3000, 0);
	printf("copy_file_range 3000 at the file positions: %ld, positions %ld %ld\n", r,
	       (long)pos(src), (long)pos(dst));
	in = SRC_SIZE;
	printf("copy_file_range at EOF: %ld\n", cfr(src, &in, dst, NULL, 100, 0));
	in = SRC_SIZE - 1000;
	out = 8000;
	r = cfr(src, &in, dst, &out, 5000, 0);
	printf("copy_file_range across EOF: %ld, offsets %ld %ld\n", r, (long)in, (long)out);
	check(size_of(dst) == 9000 && holds(dst, 0, pattern + 10, 5000) && holds(dst, 5000, pattern + 20000, 3000) &&
		      holds(dst, 8000, pattern + SRC_SIZE - 1000, 1000),
	      "copy_file_range output holds the three ranges");
	in = 0;
	out = 9000;
	printf("copy_file_range within one file, adjacent: %ld\n", cfr(dst, &in, dst, &out, 100, 0));
	check(holds(dst, 9000, pattern + 10, 100), "the copy within the file");
	in = 0;
	out = 50;
	EXPECT_ERR(cfr(dst, &in, dst, &out, 100, 0), EINVAL, "copy_file_range of overlapping ranges");
	in = 0;
	EXPECT_ERR(cfr(src, &in, dst, NULL, 10, 1), EINVAL, "copy_file_range with flags 1");
	EXPECT_ERR(cfr(999, NULL, dst, NULL, 10, 0), EBADF, "copy_file_range from a closed fd");
	int wo = open(path("cfr_dst"), O_WRONLY);
	int app = open(path("cfr_dst"), O_WRONLY | O_APPEND);
	EXPECT_ERR(cfr(wo, &in, dst, NULL, 10, 0), EBADF, "copy_file_range from a write-only fd");
	EXPECT_ERR(cfr(src, &in, src, NULL, 10, 0), EBADF, "copy_file_range to a read-only fd");
	EXPECT_ERR(cfr(src, &in, app, NULL, 10, 0), EBADF, "copy_file_range to an O_APPEND fd");
	int p[2];
	check(pipe(p) == 0, "pipe");
	EXPECT_ERR(cfr(p[0], NULL, dst, NULL, 10, 0), EINVAL, "copy_file_range from a pipe");
	int d = open(dir, O_RDONLY | O_DIRECTORY);
	EXPECT_ERR(cfr(d, &in, dst, NULL, 10, 0), EISDIR, "copy_file_range from a directory");
	int proc = open("/proc/self/status", O_RDONLY);
	EXPECT_ERR(cfr(proc, NULL, dst, NULL, 10, 0), EXDEV, "copy_file_range from /proc");
	in = -5;
	EXPECT_ERR(cfr(src, &in, dst, NULL, 10, 0), EOVERFLOW, "copy_file_range of 10 at offset -5");
	EXPECT_ERR(cfr(src, &in, dst, NULL, 2, 0), EINVAL, "copy_file_range of 2 at offset -5");
	close(proc);
	close(d);
	close(p[0]);
	close(p[1]);
	close(wo);
	close(app);
	close(dst);
}

static void fallocate_tests(void)
{
	int fd = open(path("falloc"), O_RDWR | O_CREAT | O_TRUNC, 0600);
	long r;
	unsigned char a[100];
	memset(a, 'A', sizeof a);
	check(write(fd, a, sizeof a) == 100, "write 100 bytes");
	r = syscall(NR_FALLOCATE, fd, 0, 0L, 50L);
	printf("fallocate inside the file: %ld, size %ld\n", r, (long)size_of(fd));
	r = syscall(NR_FALLOCATE, fd, 0, 50L, 150L);
	printf("fallocate past the end: %ld, size %ld\n", r, (long)size_of(fd));
	check(holds(fd, 0, a, 100) && zeros_at(fd, 100, 100), "data kept, the extension reads zeros");
	r = syscall(NR_FALLOCATE, fd, FALLOC_FL_KEEP_SIZE, 0L, 4096L);
	printf("fallocate KEEP_SIZE: %ld, size %ld\n", r, (long)size_of(fd));
	r = syscall(NR_FALLOCATE, fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 10L, 20L);
	printf("punch a hole: %ld, size %ld\n", r, (long)size_of(fd));
	check(holds(fd, 0, a, 10) && zeros_at(fd, 10, 20) && holds(fd, 30, a, 70), "the hole reads zeros, the rest is kept");
	r = syscall(NR_FALLOCATE, fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 150L, 1000L);
	printf("punch past the end: %ld, size %ld\n", r, (long)size_of(fd));
	EXPECT_ERR(syscall(NR_FALLOCATE, fd, FALLOC_FL_PUNCH_HOLE, 0L, 10L), EOPNOTSUPP, "PUNCH_HOLE without KEEP_SIZE");
	EXPECT_ERR(syscall(NR_FALLOCATE, fd, 0x80, 0L, 10L), EOPNOTSUPP, "an unknown mode");
	EXPECT_ERR(syscall(NR_FALLOCATE, fd, 0, 0L, 0L), EINVAL, "length 0");
	EXPECT_ERR(syscall(NR_FALLOCATE, fd, 0, -1L, 10L), EINVAL, "offset -1");
	EXPECT_ERR(syscall(NR_FALLOCATE, fd, 0, LONG_MAX - 10, 100L), EFBIG, "an end past the largest offset");
	EXPECT_ERR(syscall(NR_FALLOCATE, 999, 0, 0L, 10L), EBADF, "a closed fd");
	int ro = open(path("falloc"), O_RDONLY);
	EXPECT_ERR(syscall(NR_FALLOCATE, ro, 0, 0L, 10L), EBADF, "a read-only fd");
	int p[2];
	check(pipe(p) == 0, "pipe");
	EXPECT_ERR(syscall(NR_FALLOCATE, p[1], 0, 0L, 10L), ESPIPE, "a pipe");
	int sv[2];
	check(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0, "socketpair");
	EXPECT_ERR(syscall(NR_FALLOCATE, sv[0], 0, 0L, 10L), ENODEV, "a socket");
	int null = open("/dev/null", O_WRONLY);
	EXPECT_ERR(syscall(NR_FALLOCATE, null, 0, 0L, 10L), ENODEV, "/dev/null");
	close(null);
	close(sv[0]);
	close(sv[1]);
	close(p[0]);
	close(p[1]);
	close(ro);
	close(fd);
}

/* Opens with openat2 and prints what it reads (or the errno). */
static void try_open(int dfd, const char *name, uint64_t resolve, const char *what)
{
	long fd = openat2_(dfd, name, O_RDONLY, 0, resolve);
	if (fd < 0) {
		printf("openat2 %s: %s\n", what, errname(errno));
		return;
	}
	char buf[64] = { 0 };
	ssize_t n = read((int)fd, buf, sizeof buf - 1);
	printf("openat2 %s: reads \"%.*s\"\n", what, n > 0 ? (int)strcspn(buf, "\n") : 0, buf);
	close((int)fd);
}

static void openat2_tests(void)
{
	check(mkdir(path("o2"), 0755) == 0 && mkdir(path("o2/sub"), 0755) == 0, "mkdir o2/sub");
	int f = open(path("o2/sub/file"), O_WRONLY | O_CREAT | O_TRUNC, 0644);
	check(write(f, "hello\n", 6) == 6, "write o2/sub/file");
	close(f);
	check(symlink("sub/file", path("o2/link_rel")) == 0 && symlink("/sub/file", path("o2/link_abs")) == 0 &&
		      symlink("..", path("o2/up")) == 0,
	      "symlinks");
	int dfd = open(path("o2"), O_RDONLY | O_DIRECTORY);
	try_open(dfd, "sub/file", 0, "sub/file");
	try_open(dfd, "link_rel", 0, "link_rel");
	try_open(dfd, "link_abs", 0, "link_abs");

	struct { struct how h; uint64_t extra; } big = { { O_RDONLY, 0, 0 }, 0 };
	long fd = syscall(NR_OPENAT2, dfd, "sub/file", &big, sizeof big);
	printf("openat2 with a larger zero-padded struct: %s\n", fd >= 0 ? "opened" : errname(errno));
	close((int)fd);
	big.extra = 1;
	EXPECT_ERR(syscall(NR_OPENAT2, dfd, "sub/file", &big, sizeof big), E2BIG, "openat2 with non-zero bytes past open_how");
	EXPECT_ERR(syscall(NR_OPENAT2, dfd, "sub/file", &big, 23), EINVAL, "openat2 with size 23");
	EXPECT_ERR(syscall(NR_OPENAT2, dfd, "sub/file", &big, 8192), E2BIG, "openat2 with size 8192");
	EXPECT_ERR(syscall(NR_OPENAT2, dfd, "sub/file", NULL, 24), EFAULT, "openat2 with a NULL open_how");
	EXPECT_ERR(openat2_(dfd, "sub/file", 1ULL << 40, 0, 0), EINVAL, "openat2 with flag bit 40");
	EXPECT_ERR(openat2_(dfd, "sub/file", O_RDONLY, 0644, 0), EINVAL, "openat2 with a mode but no O_CREAT");
	EXPECT_ERR(openat2_(dfd, "new", O_CREAT | O_WRONLY, 0x10000, 0), EINVAL, "openat2 with mode 0x10000");
	EXPECT_ERR(openat2_(dfd, "sub/file", O_RDONLY, 0, 0x40), EINVAL, "openat2 with resolve bit 0x40");
	EXPECT_ERR(openat2_(dfd, "sub/file", O_RDONLY, 0, RESOLVE_BENEATH | RESOLVE_IN_ROOT), EINVAL, "openat2 BENEATH|IN_ROOT");
	fd = openat2_(dfd, "new", O_CREAT | O_WRONLY | O_CLOEXEC, 0640, 0);
	struct stat st;
	check(fd >= 0 && fstat((int)fd, &st) == 0, "openat2 O_CREAT");
	printf("created mode %o, FD_CLOEXEC %d\n", (unsigned)(st.st_mode & 0777), fcntl((int)fd, F_GETFD) & FD_CLOEXEC);
	close((int)fd);

	try_open(dfd, "link_rel", RESOLVE_NO_SYMLINKS, "link_rel NO_SYMLINKS");
	try_open(dfd, "sub/file", RESOLVE_NO_SYMLINKS, "sub/file NO_SYMLINKS");
	try_open(dfd, "up/o2/sub/file", RESOLVE_NO_SYMLINKS, "up/o2/sub/file NO_SYMLINKS");
	try_open(dfd, "sub/../sub/file", RESOLVE_BENEATH, "sub/../sub/file BENEATH");
	try_open(dfd, "link_rel", RESOLVE_BENEATH, "link_rel BENEATH");
	try_open(dfd, "link_abs", RESOLVE_BENEATH, "link_abs BENEATH");
	try_open(dfd, "/sub/file", RESOLVE_BENEATH, "/sub/file BENEATH");
	try_open(dfd, "../o2/sub/file", RESOLVE_BENEATH, "../o2/sub/file BENEATH");
	try_open(dfd, "up/o2/sub/file", RESOLVE_BENEATH, "up/o2/sub/file BENEATH");
	try_open(dfd, "link_abs", RESOLVE_IN_ROOT, "link_abs IN_ROOT");
	try_open(dfd, "/sub/file", RESOLVE_IN_ROOT, "/sub/file IN_ROOT");
	try_open(dfd, "../../sub/file", RESOLVE_IN_ROOT, "../../sub/file IN_ROOT");
	try_open(dfd, "up/sub/file", RESOLVE_IN_ROOT, "up/sub/file IN_ROOT");
	try_open(dfd, "sub/file", RESOLVE_NO_XDEV, "sub/file NO_XDEV");
	try_open(AT_FDCWD, "/proc/self/comm", RESOLVE_NO_XDEV, "/proc/self/comm NO_XDEV");
	try_open(AT_FDCWD, "/proc/self/comm", RESOLVE_NO_MAGICLINKS, "/proc/self/comm NO_MAGICLINKS");
	try_open(AT_FDCWD, "/proc/self/comm", RESOLVE_NO_SYMLINKS, "/proc/self/comm NO_SYMLINKS");
	int file = openat(dfd, "sub/file", O_RDONLY);
	char magic[64];
	snprintf(magic, sizeof magic, "/proc/self/fd/%d", file);
	try_open(AT_FDCWD, magic, 0, "/proc/self/fd/N");
	try_open(AT_FDCWD, magic, RESOLVE_NO_MAGICLINKS, "/proc/self/fd/N NO_MAGICLINKS");
	try_open(AT_FDCWD, "/proc/self/exe", RESOLVE_NO_MAGICLINKS, "/proc/self/exe NO_MAGICLINKS");
	close(file);
	close(dfd);
}

static void memfd_tests(int src)
{
	int fd = (int)syscall(NR_MEMFD_CREATE, "test", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	long r;
	check(fd >= 0, "memfd_create");
	printf("memfd FD_CLOEXEC %d, access mode O_RDWR %d\n", fcntl(fd, F_GETFD) & FD_CLOEXEC, (fcntl(fd, F_GETFL) & O_ACCMODE) == O_RDWR);
	char link[64], target[256] = { 0 };
	snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
	printf("readlink: %.*s\n", (int)readlink(link, target, sizeof target - 1), target);
	check(write(fd, "hello memfd", 11) == 11, "write to the memfd");
	check(ftruncate(fd, 8192) == 0, "ftruncate to 8192");
	printf("size %ld, pos %ld\n", (long)size_of(fd), (long)pos(fd));
	char *m = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	check(m != MAP_FAILED && memcmp(m, "hello memfd", 11) == 0 && m[8191] == 0, "MAP_PRIVATE sees the data");
	m[0] = 'J';
	check(holds(fd, 0, (const unsigned char *)"hello", 5), "a private write stays in the mapping");
	munmap(m, 8192);
	int again = open(link, O_RDWR);
	check(again >= 0 && holds(again, 0, (const unsigned char *)"hello memfd", 11), "open of /proc/self/fd/N reads the memfd");
	close(again);
	off_t off = 0;
	check(lseek(fd, 0, SEEK_SET) == 0 && sendfile_(fd, src, &off, 3000) == 3000 && holds(fd, 0, pattern, 3000), "sendfile into the memfd");
	r = syscall(NR_FALLOCATE, fd, 0, 0L, 20000L);
	printf("fallocate the memfd: %ld, size %ld\n", r, (long)size_of(fd));

	printf("F_GET_SEALS: %d\n", fcntl(fd, F_GET_SEALS));
	printf("F_ADD_SEALS SHRINK: %d\n", fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK));
	EXPECT_ERR(ftruncate(fd, 4096), EPERM, "shrink a SHRINK-sealed memfd");
	r = ftruncate(fd, 24576);
	printf("grow it: %ld, size %ld\n", r, (long)size_of(fd));
	printf("F_ADD_SEALS GROW: %d\n", fcntl(fd, F_ADD_SEALS, F_SEAL_GROW));
	EXPECT_ERR(pwrite(fd, "x", 1, 24576), EPERM, "write past the end of a GROW-sealed memfd");
	EXPECT_ERR(ftruncate(fd, 30000), EPERM, "grow a GROW-sealed memfd");
	EXPECT_ERR(syscall(NR_FALLOCATE, fd, 0, 0L, 30000L), EPERM, "fallocate past the end of a GROW-sealed memfd");
	printf("write inside: %ld\n", (long)pwrite(fd, "x", 1, 100));
	printf("F_ADD_SEALS WRITE: %d\n", fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE));
	EXPECT_ERR(pwrite(fd, "x", 1, 100), EPERM, "write to a WRITE-sealed memfd");
	EXPECT_ERR(syscall(NR_FALLOCATE, fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0L, 10L), EPERM, "punch a WRITE-sealed memfd");
	r = fcntl(fd, F_ADD_SEALS, F_SEAL_SEAL);
	printf("F_ADD_SEALS SEAL: %ld, seals now %#x\n", r, fcntl(fd, F_GET_SEALS));
	EXPECT_ERR(fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK), EPERM, "add a seal after F_SEAL_SEAL");
	int sealed = open(link, O_RDWR);
	printf("reopened through /proc: seals %#x\n", fcntl(sealed, F_GET_SEALS));
	EXPECT_ERR(pwrite(sealed, "x", 1, 0), EPERM, "write to the sealed memfd reopened through /proc");
	close(sealed);
	close(fd);

	fd = (int)syscall(NR_MEMFD_CREATE, "plain", 0);
	printf("memfd without sealing: FD_CLOEXEC %d, seals %#x\n", fcntl(fd, F_GETFD) & FD_CLOEXEC, fcntl(fd, F_GET_SEALS));
	EXPECT_ERR(fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE), EPERM, "seal a memfd made without MFD_ALLOW_SEALING");
	close(fd);
	EXPECT_ERR(fcntl(src, F_GET_SEALS), EINVAL, "F_GET_SEALS of a regular file");
	EXPECT_ERR(fcntl(src, F_ADD_SEALS, F_SEAL_WRITE), EPERM, "F_ADD_SEALS on a read-only regular file");
	int rw = open(path("src"), O_RDWR);
	EXPECT_ERR(fcntl(rw, F_ADD_SEALS, F_SEAL_WRITE), EINVAL, "F_ADD_SEALS on a writable regular file");
	close(rw);
	EXPECT_ERR(syscall(NR_MEMFD_CREATE, "x", 0x100), EINVAL, "memfd_create flag 0x100");
	EXPECT_ERR(syscall(NR_MEMFD_CREATE, NULL, 0), EFAULT, "memfd_create with a NULL name");
	char name[251];
	memset(name, 'n', 250);
	name[250] = 0;
	EXPECT_ERR(syscall(NR_MEMFD_CREATE, name, 0), EINVAL, "memfd_create with a 250-byte name");
	name[249] = 0;
	fd = (int)syscall(NR_MEMFD_CREATE, name, 0);
	check(fd >= 0, "memfd_create with a 249-byte name");
	close(fd);
}

int main(void)
{
	const char *base = getenv("NOMMU_TEST_TMPDIR");
	snprintf(dir, sizeof dir, "%s/file_copy.%d", base && *base ? base : "/tmp", (int)getpid());
	if (mkdir(dir, 0755) != 0) {
		perror("mkdir");
		return 1;
	}
	umask(022);
	for (int i = 0; i < SRC_SIZE; i++)
		pattern[i] = (unsigned char)(i * 7 % 251);
	int w = open(path("src"), O_WRONLY | O_CREAT | O_TRUNC, 0644);
	check(write(w, pattern, SRC_SIZE) == SRC_SIZE, "write the source file");
	close(w);
	int src = open(path("src"), O_RDONLY);

	sendfile_tests(src);
	copy_file_range_tests(src);
	fallocate_tests();
	openat2_tests();
	memfd_tests(src);
	close(src);

	const char *names[] = { "src", "sf_dst", "sf_big", "cfr_dst", "falloc", "o2/new", "o2/link_rel", "o2/link_abs", "o2/up", "o2/sub/file" };
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		unlink(path(names[i]));
	rmdir(path("o2/sub"));
	rmdir(path("o2"));
	rmdir(dir);
	printf("%s\n", failures ? "FAILED" : "done");
	return failures ? 1 : 0;
}
