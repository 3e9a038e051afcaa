/* POSIX message queues: mq_open's names, flags and attributes, priorities,
 * O_NONBLOCK, blocking send and receive woken by a forked child, absolute
 * timeouts, EINTR and SA_RESTART, mq_notify (SIGEV_SIGNAL, SIGEV_NONE, EBUSY,
 * deregistration), poll and epoll readiness, mq_getsetattr, the read() status
 * line, dup/fork/unlink lifetimes, and the errors. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <mqueue.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

static char names[8][64];

static const char *qname(int i)
{
	return names[i];
}

static void report(const char *what, long r)
{
	printf("%s: %s\n", what, r == -1 ? errname(errno) : "ok");
}

/* The raw syscall, which takes the name without libc's leading slash. */
static long raw_open(const char *name, int oflag, int mode, struct mq_attr *attr)
{
	return syscall(SYS_mq_open, name, oflag, mode, attr);
}

static mqd_t open_attr(const char *name, int oflag, long maxmsg, long msgsize)
{
	struct mq_attr a;
	memset(&a, 0, sizeof a);
	a.mq_maxmsg = maxmsg;
	a.mq_msgsize = msgsize;
	return mq_open(name, oflag | O_CREAT, 0600, &a);
}

static struct timespec in_ms(long ms)
{
	struct timespec t;
	clock_gettime(CLOCK_REALTIME, &t);
	t.tv_sec += ms / 1000;
	t.tv_nsec += (ms % 1000) * 1000000L;
	if (t.tv_nsec >= 1000000000L) {
		t.tv_sec++;
		t.tv_nsec -= 1000000000L;
	}
	return t;
}

static long elapsed_ms(const struct timespec *since)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - since->tv_sec) * 1000 + (now.tv_nsec - since->tv_nsec) / 1000000;
}

static short revents(int fd, short events, int timeout_ms)
{
	struct pollfd p = { fd, events, 0 };
	return poll(&p, 1, timeout_ms) < 0 ? -1 : p.revents;
}

static long curmsgs(mqd_t q)
{
	struct mq_attr a;
	return mq_getattr(q, &a) == 0 ? a.mq_curmsgs : -1;
}

/* The queue's read() line with NOTIFY_PID shown as self, other or 0. */
static void print_line(mqd_t q, const char *what)
{
	char buf[128];
	lseek(q, 0, SEEK_SET);
	ssize_t n = read(q, buf, sizeof buf - 1);
	if (n < 0) {
		printf("%s: read %s\n", what, errname(errno));
		return;
	}
	buf[n] = 0;
	char *pid = strstr(buf, "NOTIFY_PID:");
	if (!pid) {
		printf("%s: no NOTIFY_PID in [%s]\n", what, buf);
		return;
	}
	long p = strtol(pid + 11, NULL, 10);
	*pid = 0;
	printf("%s: [%sNOTIFY_PID:%s] len %zd\n", what, buf, p == 0 ? "0" : p == getpid() ? "self" : "other", n);
}

/* A child that waits `delay_ms`, then runs `fn`, then exits 0. */
static pid_t child_after(int delay_ms, void (*fn)(mqd_t), mqd_t q)
{
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		usleep(delay_ms * 1000);
		fn(q);
		_exit(0);
	}
	return pid;
}

static int reaped_ok(pid_t pid)
{
	int st;
	return waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

static void send_hello(mqd_t q)
{
	if (mq_send(q, "hello", 5, 7) != 0)
		_exit(1);
}

static void take_one(mqd_t q)
{
	char buf[64];
	if (mq_receive(q, buf, sizeof buf, NULL) < 0)
		_exit(1);
}

/* Waits until process `pid` sleeps (state S in /proc/PID/stat), then a little more. */
static void until_sleeping(pid_t pid)
{
	char path[64], buf[256];
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	for (int i = 0; i < 500; i++) {
		FILE *f = fopen(path, "r");
		if (f) {
			size_t n = fread(buf, 1, sizeof buf - 1, f);
			fclose(f);
			buf[n] = 0;
			char *close = strrchr(buf, ')');
			if (close && close[1] == ' ' && close[2] == 'S')
				break;
		}
		usleep(2000);
	}
	usleep(20000);
}

static volatile sig_atomic_t alarms;
static void on_alarm(int sig)
{
	(void)sig;
	alarms++;
}

static void arm_timer(int ms)
{
	struct itimerval it = { { 0, 0 }, { ms / 1000, (ms % 1000) * 1000 } };
	setitimer(ITIMER_REAL, &it, NULL);
}

static void names_and_errors(void)
{
	char buf[8192];
	struct mq_attr a;

	check(fails_with(mq_open(qname(0), O_RDWR), ENOENT), "mq_open of a queue that does not exist: ENOENT");
	report("raw mq_open(\"\")", raw_open("", O_RDWR | O_CREAT, 0600, NULL));
	report("raw mq_open(\".\")", raw_open(".", O_RDWR | O_CREAT, 0600, NULL));
	report("raw mq_open(\"..\")", raw_open("..", O_RDWR | O_CREAT, 0600, NULL));
	report("raw mq_open(\"a/b\")", raw_open("a/b", O_RDWR | O_CREAT, 0600, NULL));
	memset(buf, 'n', 256);
	buf[256] = 0;
	report("raw mq_open(256 bytes)", raw_open(buf, O_RDWR | O_CREAT, 0600, NULL));
	report("raw mq_open(NULL)", raw_open(NULL, O_RDWR, 0, NULL));
	report("raw mq_unlink(\"\")", syscall(SYS_mq_unlink, ""));
	report("raw mq_unlink(\"a/b\")", syscall(SYS_mq_unlink, "a/b"));
	check(fails_with(mq_unlink(qname(0)), ENOENT), "mq_unlink of a queue that does not exist: ENOENT");

	report("attr maxmsg 0", open_attr(qname(0), O_RDWR, 0, 16));
	report("attr msgsize 0", open_attr(qname(0), O_RDWR, 4, 0));
	report("attr maxmsg -1", open_attr(qname(0), O_RDWR, -1, 16));
	report("attr maxmsg 100000", open_attr(qname(0), O_RDWR, 100000, 16));
	report("attr msgsize 32 MiB", open_attr(qname(0), O_RDWR, 1, 32 << 20));
	check(fails_with(mq_open(qname(0), O_RDWR), ENOENT), "no queue was left behind by the failures");
	report("raw mq_open with an unreadable attr", raw_open(qname(0) + 1, O_RDWR | O_CREAT, 0600, (struct mq_attr *)8));

	/* RLIMIT_MSGQUEUE 0: no queue can be made (in a child, whose limit goes with it). */
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		struct rlimit rl = { 0, 0 };
		setrlimit(RLIMIT_MSGQUEUE, &rl);
		mqd_t q = mq_open(qname(0), O_RDWR | O_CREAT, 0600, NULL);
		_exit(q == (mqd_t)-1 && errno == EMFILE ? 0 : 1);
	}
	check(reaped_ok(pid), "RLIMIT_MSGQUEUE 0: mq_open(O_CREAT) fails with EMFILE");

	mqd_t q = mq_open(qname(0), O_RDWR | O_CREAT | O_EXCL, 0600, NULL);
	check(q != (mqd_t)-1, "mq_open(O_CREAT|O_EXCL) with the default attributes");
	check(fails_with(mq_open(qname(0), O_RDWR | O_CREAT | O_EXCL, 0600, NULL), EEXIST), "O_CREAT|O_EXCL again: EEXIST");
	report("open with O_ACCMODE 3", mq_open(qname(0), O_WRONLY | O_RDWR));
	check(mq_getattr(q, &a) == 0, "mq_getattr");
	printf("defaults: flags %ld maxmsg %ld msgsize %ld curmsgs %ld\n", a.mq_flags, a.mq_maxmsg, a.mq_msgsize, a.mq_curmsgs);
	check((fcntl(q, F_GETFD) & FD_CLOEXEC) != 0, "a queue descriptor is close-on-exec");
	printf("F_GETFL access mode: %d\n", fcntl(q, F_GETFL) & O_ACCMODE);
	char link[64], target[128];
	snprintf(link, sizeof link, "/proc/self/fd/%d", q);
	ssize_t len = readlink(link, target, sizeof target - 1);
	target[len < 0 ? 0 : len] = 0;
	check(len > 0 && strcmp(target, qname(0)) == 0, "/proc/self/fd shows the queue's name with its slash");

	mqd_t ro = mq_open(qname(0), O_RDONLY);
	mqd_t wo = mq_open(qname(0), O_WRONLY);
	check(ro != (mqd_t)-1 && wo != (mqd_t)-1, "opening it again read-only and write-only");
	check(fails_with(mq_send(ro, "x", 1, 0), EBADF), "mq_send on a read-only descriptor: EBADF");
	check(fails_with(mq_receive(wo, buf, sizeof buf, NULL), EBADF), "mq_receive on a write-only descriptor: EBADF");
	check(fails_with(read(wo, buf, 10), EBADF), "read() of a write-only descriptor: EBADF");
	report("write() to a queue", write(wo, "x", 1));
	report("write() to a read-only queue", write(ro, "x", 1));
	check(fails_with(mq_send(q, buf, 8193, 0), EMSGSIZE), "a message longer than mq_msgsize: EMSGSIZE");
	check(fails_with(mq_receive(q, buf, 8191, NULL), EMSGSIZE), "a buffer shorter than mq_msgsize: EMSGSIZE");
	check(fails_with(mq_send(q, "x", 1, 32768), EINVAL), "priority 32768 (MQ_PRIO_MAX): EINVAL");
	check(mq_send(q, "x", 1, 32767) == 0, "priority 32767 is fine");
	unsigned prio = 0;
	check(mq_receive(q, buf, sizeof buf, &prio) == 1 && prio == 32767, "and comes back with it");
	check(mq_send(q, "", 0, 0) == 0, "an empty message");
	check(mq_receive(q, buf, sizeof buf, NULL) == 0, "receives as 0 bytes");
	check(fails_with(mq_send(q, (const char *)8, 4, 0), EFAULT), "mq_send from a bad buffer: EFAULT");
	check(curmsgs(q) == 0, "which queued nothing");
	int p[2];
	check(pipe(p) == 0, "a pipe");
	check(fails_with(mq_send(p[1], "x", 1, 0), EBADF), "mq_send on a pipe: EBADF");
	check(fails_with(mq_getattr(p[0], &a), EBADF), "mq_getattr on a pipe: EBADF");
	check(fails_with(mq_send(999, "x", 1, 0), EBADF), "mq_send on a closed descriptor: EBADF");
	memset(&a, 0, sizeof a);
	a.mq_flags = O_NONBLOCK | 1;
	check(fails_with(mq_setattr(q, &a, NULL), EINVAL), "mq_setattr with flags other than O_NONBLOCK: EINVAL");

	/* Bad notifications. */
	struct sigevent sev;
	memset(&sev, 0, sizeof sev);
	sev.sigev_notify = 99;
	check(fails_with(mq_notify(q, &sev), EINVAL), "mq_notify with an unknown sigev_notify: EINVAL");
	sev.sigev_notify = SIGEV_SIGNAL;
	sev.sigev_signo = 65;
	check(fails_with(mq_notify(q, &sev), EINVAL), "mq_notify with signal 65: EINVAL");
	char cookie[32] = "";
	sev.sigev_notify = SIGEV_THREAD;
	sev.sigev_value.sival_ptr = cookie;
	sev.sigev_signo = p[0];
	report("raw mq_notify(SIGEV_THREAD) on a pipe", syscall(SYS_mq_notify, q, &sev));
	int sv[2];
	check(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0, "a socketpair");
	sev.sigev_signo = sv[0];
	report("raw mq_notify(SIGEV_THREAD) on a unix socket", syscall(SYS_mq_notify, q, &sev));
	sev.sigev_signo = 999;
	report("raw mq_notify(SIGEV_THREAD) on a closed descriptor", syscall(SYS_mq_notify, q, &sev));
	close(sv[0]);
	close(sv[1]);
	close(p[0]);
	close(p[1]);

	/* fstat: a regular file of the mode asked for, less the umask. */
	struct stat st;
	check(fstat(q, &st) == 0, "fstat");
	printf("fstat: regular %d mode %o size %lld nlink %ld\n", S_ISREG(st.st_mode), (unsigned)(st.st_mode & 07777), (long long)st.st_size, (long)st.st_nlink);
	mode_t old = umask(027);
	mqd_t m = mq_open(qname(1), O_RDWR | O_CREAT, 0666, NULL);
	umask(old);
	check(m != (mqd_t)-1 && fstat(m, &st) == 0, "a queue made with mode 0666 under umask 027");
	printf("its mode: %o\n", (unsigned)(st.st_mode & 07777));
	check(mq_unlink(qname(1)) == 0, "mq_unlink");
	check(fstat(m, &st) == 0, "fstat after mq_unlink");
	printf("nlink after unlink: %ld\n", (long)st.st_nlink);
	check(fails_with(mq_open(qname(1), O_RDWR), ENOENT), "the name is gone");
	check(mq_send(m, "still", 5, 0) == 0 && mq_receive(m, buf, sizeof buf, NULL) == 5, "the queue still works while open");
	m = mq_open(qname(1), O_RDWR | O_CREAT | O_EXCL, 0600, NULL);
	check(m != (mqd_t)-1 && curmsgs(m) == 0, "the name can be made again, a new queue");
	mq_close(m);
	check(mq_unlink(qname(1)) == 0, "and unlinked again");

	/* Timeouts. */
	struct timespec bad = { 0, 1000000000L };
	check(fails_with(mq_timedreceive(q, buf, sizeof buf, NULL, &bad), EINVAL), "mq_timedreceive on an empty queue with tv_nsec 1e9: EINVAL");
	check(mq_send(q, "m", 1, 0) == 0, "a message");
	report("mq_timedreceive with a message and tv_nsec 1e9", mq_timedreceive(q, buf, sizeof buf, NULL, &bad));
	report("mq_timedsend with room and tv_nsec -1", mq_timedsend(q, "m", 1, 0, &(struct timespec){ 0, -1 }));
	while (curmsgs(q) > 0)
		mq_receive(q, buf, sizeof buf, NULL);
	struct timespec past = { 1, 0 };
	check(fails_with(mq_timedreceive(q, buf, sizeof buf, NULL, &past), ETIMEDOUT), "a timeout in the past on an empty queue: ETIMEDOUT");
	check(mq_timedsend(q, "m", 1, 0, &past) == 0, "a timeout in the past does not matter when there is room");
	check(mq_timedreceive(q, buf, sizeof buf, NULL, &past) == 1, "nor when there is a message");
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	struct timespec soon = in_ms(100);
	check(fails_with(mq_timedreceive(q, buf, sizeof buf, NULL, &soon), ETIMEDOUT), "mq_timedreceive on an empty queue: ETIMEDOUT");
	long ms = elapsed_ms(&t0);
	check(ms >= 90, "after waiting for the timeout");
	mq_close(ro);
	mq_close(wo);
	mq_close(q);
	check(mq_unlink(qname(0)) == 0, "mq_unlink the first queue");
}

static void priorities_and_nonblock(void)
{
	char buf[64];
	unsigned prio;
	mqd_t q = open_attr(qname(2), O_RDWR | O_NONBLOCK, 8, 16);
	check(q != (mqd_t)-1, "a queue of 8 messages of 16 bytes, O_NONBLOCK");
	struct mq_attr a;
	mq_getattr(q, &a);
	printf("attr: flags %s maxmsg %ld msgsize %ld\n", a.mq_flags == O_NONBLOCK ? "O_NONBLOCK" : "0", a.mq_maxmsg, a.mq_msgsize);
	check(fails_with(mq_receive(q, buf, sizeof buf, NULL), EAGAIN), "mq_receive on an empty O_NONBLOCK queue: EAGAIN");
	printf("poll when empty: %#x\n", (unsigned)revents(q, POLLIN | POLLOUT, 0));
	const char *msgs[] = { "low", "high", "mid", "high2", "zero", "mid2" };
	unsigned prios[] = { 1, 5, 3, 5, 0, 3 };
	for (int i = 0; i < 6; i++)
		mq_send(q, msgs[i], strlen(msgs[i]), prios[i]);
	printf("curmsgs: %ld\n", curmsgs(q));
	printf("poll with messages: %#x\n", (unsigned)revents(q, POLLIN | POLLOUT, 0));
	print_line(q, "status line");
	char line[128];
	lseek(q, 0, SEEK_SET);
	ssize_t n1 = read(q, line, 10);
	ssize_t n2 = read(q, line, sizeof line);
	ssize_t n3 = read(q, line, sizeof line);
	printf("reads in pieces: %zd, then the rest, then %zd (total %zd)\n", n1, n3, n1 + n2);
	printf("lseek SEEK_END: %ld\n", (long)lseek(q, 0, SEEK_END));
	printf("order:");
	for (int i = 0; i < 6; i++) {
		ssize_t n = mq_receive(q, buf, sizeof buf, &prio);
		if (n < 0) {
			printf(" %s", errname(errno));
			continue;
		}
		buf[n] = 0;
		printf(" %s/%u", buf, prio);
	}
	printf("\n");
	for (int i = 0; i < 8; i++)
		mq_send(q, "f", 1, 0);
	check(fails_with(mq_send(q, "f", 1, 0), EAGAIN), "mq_send on a full O_NONBLOCK queue: EAGAIN");
	printf("poll when full: %#x\n", (unsigned)revents(q, POLLIN | POLLOUT, 0));

	/* mq_setattr turns O_NONBLOCK off for this description (dup shares it), and mq_getattr sees it. */
	struct mq_attr na, oa;
	memset(&na, 0, sizeof na);
	na.mq_maxmsg = 99; /* ignored */
	mqd_t d = dup(q);
	check(mq_setattr(q, &na, &oa) == 0, "mq_setattr(flags 0)");
	printf("old attr: flags %s maxmsg %ld msgsize %ld curmsgs %ld\n", oa.mq_flags == O_NONBLOCK ? "O_NONBLOCK" : "0", oa.mq_maxmsg, oa.mq_msgsize, oa.mq_curmsgs);
	mq_getattr(d, &a);
	printf("through the dup: flags %ld maxmsg %ld, F_GETFL O_NONBLOCK %d\n", a.mq_flags, a.mq_maxmsg, (fcntl(d, F_GETFL) & O_NONBLOCK) != 0);
	struct timespec soon = in_ms(50);
	check(fails_with(mq_timedsend(d, "f", 1, 0, &soon), ETIMEDOUT), "now a full queue blocks: mq_timedsend times out");
	check(fcntl(q, F_SETFL, O_NONBLOCK) == 0 && mq_getattr(d, &a) == 0 && a.mq_flags == O_NONBLOCK, "fcntl(F_SETFL, O_NONBLOCK) shows in mq_getattr");
	check(fails_with(mq_send(d, "f", 1, 0), EAGAIN), "and mq_send is EAGAIN again");
	mq_close(q);
	check(curmsgs(d) == 8, "the dup still holds the queue after the original closes");
	mq_close(d);
	check(mq_unlink(qname(2)) == 0, "mq_unlink");
}

static void blocking(void)
{
	char buf[64];
	unsigned prio = 0;
	mqd_t q = open_attr(qname(3), O_RDWR, 2, 16);
	check(q != (mqd_t)-1, "a blocking queue of 2 messages");

	pid_t pid = child_after(50, send_hello, q);
	ssize_t n = mq_receive(q, buf, sizeof buf, &prio);
	check(n == 5 && memcmp(buf, "hello", 5) == 0 && prio == 7, "mq_receive blocks until a forked child sends");
	check(reaped_ok(pid), "the child sent through the inherited descriptor");

	struct timespec later = in_ms(10000);
	pid = child_after(50, send_hello, q);
	n = mq_timedreceive(q, buf, sizeof buf, &prio, &later);
	check(n == 5 && prio == 7, "mq_timedreceive with a far timeout gets the child's message");
	reaped_ok(pid);

	mq_send(q, "one", 3, 1);
	mq_send(q, "two", 3, 2);
	pid = child_after(50, take_one, q);
	check(mq_send(q, "three", 5, 3) == 0, "mq_send on a full queue blocks until the child receives");
	check(reaped_ok(pid), "the child received");
	printf("left:");
	while (curmsgs(q) > 0) {
		n = mq_receive(q, buf, sizeof buf, &prio);
		buf[n < 0 ? 0 : n] = 0;
		printf(" %s/%u", buf, prio);
	}
	printf("\n");

	/* poll and epoll wake when a message comes. */
	pid = child_after(50, send_hello, q);
	printf("poll woken by the child's send: %#x\n", (unsigned)revents(q, POLLIN, 10000));
	reaped_ok(pid);
	mq_receive(q, buf, sizeof buf, NULL);
	int ep = epoll_create1(0);
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = 42 };
	check(epoll_ctl(ep, EPOLL_CTL_ADD, q, &ev) == 0, "epoll_ctl(ADD) a queue");
	check(epoll_wait(ep, &ev, 1, 0) == 0, "epoll: nothing ready on an empty queue");
	pid = child_after(50, send_hello, q);
	memset(&ev, 0, sizeof ev);
	int r = epoll_wait(ep, &ev, 1, 10000);
	check(r == 1 && ev.events == EPOLLIN && ev.data.u32 == 42, "epoll_wait woken by the child's send: EPOLLIN");
	reaped_ok(pid);
	mq_receive(q, buf, sizeof buf, NULL);
	close(ep);

	/* A signal: EINTR without SA_RESTART; with it the call goes on until its timeout. */
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_alarm;
	sigaction(SIGALRM, &sa, NULL);
	alarms = 0;
	arm_timer(50);
	check(fails_with(mq_receive(q, buf, sizeof buf, NULL), EINTR) && alarms == 1, "a handled signal interrupts mq_receive: EINTR");
	mq_send(q, "a", 1, 0);
	mq_send(q, "b", 1, 0);
	alarms = 0;
	arm_timer(50);
	check(fails_with(mq_send(q, "c", 1, 0), EINTR) && alarms == 1, "and a blocked mq_send: EINTR");
	sa.sa_flags = SA_RESTART;
	sigaction(SIGALRM, &sa, NULL);
	alarms = 0;
	arm_timer(50);
	struct timespec until = in_ms(300);
	check(fails_with(mq_timedsend(q, "c", 1, 0, &until), ETIMEDOUT) && alarms == 1, "with SA_RESTART the send restarts and times out");
	check(curmsgs(q) == 2, "nothing more was queued");
	signal(SIGALRM, SIG_DFL);
	mq_close(q);
	check(mq_unlink(qname(3)) == 0, "mq_unlink");
}

static void register_in_child(mqd_t q)
{
	struct sigevent sev;
	memset(&sev, 0, sizeof sev);
	sev.sigev_notify = SIGEV_SIGNAL;
	sev.sigev_signo = SIGUSR2;
	_exit(fails_with(mq_notify(q, &sev), EBUSY) ? 0 : 1);
}

static void register_and_exit(mqd_t q)
{
	struct sigevent sev;
	memset(&sev, 0, sizeof sev);
	sev.sigev_notify = SIGEV_NONE;
	_exit(mq_notify(q, &sev) == 0 ? 0 : 1);
}

static void notification(void)
{
	char buf[64];
	sigset_t usr1;
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	sigprocmask(SIG_BLOCK, &usr1, NULL);
	struct timespec zero = { 0, 0 };
	siginfo_t si;

	mqd_t q = open_attr(qname(4), O_RDWR, 4, 16);
	check(q != (mqd_t)-1, "a queue for notifications");
	print_line(q, "unregistered");
	struct sigevent sev;
	memset(&sev, 0, sizeof sev);
	sev.sigev_notify = SIGEV_SIGNAL;
	sev.sigev_signo = SIGUSR1;
	sev.sigev_value.sival_int = 4242;
	check(mq_notify(q, &sev) == 0, "mq_notify(SIGEV_SIGNAL, SIGUSR1)");
	print_line(q, "registered");
	check(fails_with(mq_notify(q, &sev), EBUSY), "a second registration: EBUSY");
	pid_t pid = child_after(0, register_in_child, q);
	check(reaped_ok(pid), "another process registering: EBUSY");

	pid = child_after(0, send_hello, q);
	reaped_ok(pid);
	memset(&si, 0, sizeof si);
	int sig = sigtimedwait(&usr1, &si, &(struct timespec){ 10, 0 });
	check(sig == SIGUSR1, "a message into the empty queue sends SIGUSR1");
	printf("siginfo: code %s value %d pid %s\n", si.si_code == SI_MESGQ ? "SI_MESGQ" : "other", si.si_value.sival_int, si.si_pid == pid ? "the sender" : "other");
	print_line(q, "after the notification");
	mq_send(q, "x", 1, 0);
	check(sigtimedwait(&usr1, &si, &zero) == -1, "and only once: the registration is gone");

	check(mq_notify(q, &sev) == 0, "registering again with a message queued");
	mq_send(q, "y", 1, 0);
	check(sigtimedwait(&usr1, &si, &zero) == -1, "a message into a non-empty queue notifies nobody");
	print_line(q, "still registered");
	while (curmsgs(q) > 0)
		mq_receive(q, buf, sizeof buf, NULL);

	/* A receiver waiting takes the message; the registration stays. */
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		ssize_t n = mq_receive(q, buf, sizeof buf, NULL);
		_exit(n == 5 ? 0 : 1);
	}
	until_sleeping(pid);
	mq_send(q, "hello", 5, 0);
	check(reaped_ok(pid), "the waiting child received the message");
	check(sigtimedwait(&usr1, &si, &zero) == -1, "with a receiver waiting, no notification");
	print_line(q, "registration kept");
	check(curmsgs(q) == 0, "the queue is empty");

	check(mq_notify(q, NULL) == 0, "mq_notify(NULL) deregisters");
	print_line(q, "deregistered");
	check(mq_notify(q, NULL) == 0, "mq_notify(NULL) when not registered: 0");
	mq_send(q, "z", 1, 0);
	check(sigtimedwait(&usr1, &si, &zero) == -1, "no signal after deregistering");
	mq_receive(q, buf, sizeof buf, NULL);

	sev.sigev_notify = SIGEV_NONE;
	check(mq_notify(q, &sev) == 0, "mq_notify(SIGEV_NONE)");
	print_line(q, "SIGEV_NONE");
	mq_send(q, "z", 1, 0);
	print_line(q, "after a message");
	mq_receive(q, buf, sizeof buf, NULL);

	sev.sigev_notify = SIGEV_SIGNAL;
	sev.sigev_signo = 0;
	check(mq_notify(q, &sev) == 0, "mq_notify with signal 0");
	print_line(q, "signal 0");
	mq_send(q, "z", 1, 0);
	print_line(q, "signal 0 after a message");
	mq_receive(q, buf, sizeof buf, NULL);

	pid = child_after(0, register_and_exit, q);
	check(reaped_ok(pid), "a child registers and exits");
	print_line(q, "after the child exited");
	sev.sigev_signo = SIGUSR1;
	check(mq_notify(q, &sev) == 0, "its registration went with it");
	mq_notify(q, NULL);
	mq_close(q);
	check(mq_unlink(qname(4)) == 0, "mq_unlink");
	sigprocmask(SIG_UNBLOCK, &usr1, NULL);
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	umask(022);
	for (int i = 0; i < 8; i++) {
		snprintf(names[i], sizeof names[i], "/nommu-conf-mq-%d-%d", (int)getpid(), i);
		mq_unlink(names[i]);
	}
	names_and_errors();
	priorities_and_nonblock();
	blocking();
	notification();
	for (int i = 0; i < 8; i++)
		mq_unlink(names[i]);
	printf("failures: %d\n", failures);
	return failures != 0;
}
