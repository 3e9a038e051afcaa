/* Pseudo-terminals: posix_openpt/grantpt/unlockpt/ptsname and the slave's
 * node in /dev/pts; the settings a fresh pty has; the line discipline as the
 * master sees it: canonical editing (erase, kill, word erase, EOF, EOL),
 * echo, ICRNL and ONLCR, raw mode and VMIN/VTIME; signal keys to the
 * foreground group of a session whose controlling terminal is the slave;
 * window size and SIGWINCH; FIONREAD, O_NONBLOCK, poll, tcflush; job
 * control of a background group; hang-ups from either end.
 *
 * The line discipline works asynchronously on Linux (a master's write
 * reaches the slave's queue, and its echo the master, a moment later), so
 * every read of a result waits with poll for what is expected. No pts
 * numbers, sizes or timings are printed. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "expect.h"

/* Shows bytes C-escaped, for FAIL lines. */
static const char *esc(const char *s, int n)
{
	static char out[1024];
	int o = 0;
	for (int i = 0; i < n && o < (int)sizeof out - 8; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c >= 0x20 && c < 0x7f && c != '\\')
			out[o++] = (char)c;
		else
			o += snprintf(out + o, sizeof out - o, "\\x%02x", c);
	}
	out[o] = 0;
	return out;
}

static long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/* Reads from fd until `want` bytes came or nothing more came for `ms`. */
static int collect(int fd, char *buf, int want, int ms)
{
	int got = 0;
	while (got < want) {
		struct pollfd p = { fd, POLLIN, 0 };
		int r = poll(&p, 1, ms);
		if (r <= 0 || !(p.revents & POLLIN))
			break;
		int n = read(fd, buf + got, want - got);
		if (n <= 0)
			break;
		got += n;
	}
	return got;
}

/* Reads exactly `expect` from fd (waiting for it) and checks that nothing else follows. */
static void expect_read(int fd, const char *expect, const char *what)
{
	char buf[512];
	int len = (int)strlen(expect);
	int got = collect(fd, buf, len, 2000);
	int extra = collect(fd, buf + got, (int)sizeof buf - got, 30);
	if (got == len && extra == 0 && memcmp(buf, expect, len) == 0) {
		printf("ok %s\n", what);
	} else {
		printf("FAIL %s: got \"%s\"", what, esc(buf, got + extra));
		printf(" want \"%s\"\n", esc(expect, len));
		failures++;
	}
}

/* One read(2) of the slave, after waiting until it is readable. */
static void expect_one_read(int fd, int size, const char *expect, const char *what)
{
	char buf[512];
	struct pollfd p = { fd, POLLIN, 0 };
	poll(&p, 1, 2000);
	int n = read(fd, buf, size);
	int len = (int)strlen(expect);
	if (n == len && memcmp(buf, expect, len) == 0) {
		printf("ok %s\n", what);
	} else {
		printf("FAIL %s: read %d \"%s\"", what, n, n > 0 ? esc(buf, n) : "");
		printf(" want \"%s\"\n", esc(expect, len));
		failures++;
	}
}

static void put(int fd, const char *s)
{
	if (write(fd, s, strlen(s)) != (ssize_t)strlen(s))
		printf("FAIL write \"%s\": %s\n", esc(s, (int)strlen(s)), errname(errno)), failures++;
}

/* Waits until fd polls with `events` (or 2 s). */
static int wait_for_events(int fd, short events)
{
	struct pollfd p = { fd, events, 0 };
	return poll(&p, 1, 2000) == 1 && (p.revents & events) != 0;
}

static short revents(int fd, short events)
{
	struct pollfd p = { fd, events, 0 };
	return poll(&p, 1, 0) == 1 ? p.revents : 0;
}

static int open_pair(int *slave)
{
	int m = posix_openpt(O_RDWR | O_NOCTTY);
	if (m < 0 || grantpt(m) != 0 || unlockpt(m) != 0) {
		printf("FAIL posix_openpt: %s\n", errname(errno));
		exit(1);
	}
	*slave = open(ptsname(m), O_RDWR | O_NOCTTY);
	if (*slave < 0) {
		printf("FAIL open slave: %s\n", errname(errno));
		exit(1);
	}
	return m;
}

static void set_lflag(int s, tcflag_t on, tcflag_t off)
{
	struct termios t;
	tcgetattr(s, &t);
	t.c_lflag = (t.c_lflag | on) & ~off;
	tcsetattr(s, TCSANOW, &t);
}

static void test_open(void)
{
	int m = posix_openpt(O_RDWR | O_NOCTTY);
	check(m >= 0, "posix_openpt");
	check(isatty(m), "master isatty");
	check(grantpt(m) == 0, "grantpt");
	char *name = ptsname(m);
	check(name != NULL && strncmp(name, "/dev/pts/", 9) == 0, "ptsname is /dev/pts/N");
	char path[64];
	snprintf(path, sizeof path, "%s", name ? name : "");
	unsigned ptn = ~0u;
	check(ioctl(m, TIOCGPTN, &ptn) == 0 && ptn == (unsigned)atoi(path + 9), "TIOCGPTN matches ptsname");
	int lock = 0;
	check(ioctl(m, TIOCGPTLCK, &lock) == 0 && lock == 1, "a new master is locked");
	EXPECT_ERR(open(path, O_RDWR | O_NOCTTY), EIO, "open locked slave");
	check(unlockpt(m) == 0, "unlockpt");
	check(ioctl(m, TIOCGPTLCK, &lock) == 0 && lock == 0, "unlocked");
	char buf[64];
	check(ptsname_r(m, buf, sizeof buf) == 0 && strcmp(buf, path) == 0, "ptsname_r");

	struct stat st;
	check(stat(path, &st) == 0 && S_ISCHR(st.st_mode) && major(st.st_rdev) == 136 && minor(st.st_rdev) == ptn,
	      "slave node is char 136:N");
	check(st.st_uid == getuid(), "slave node owned by the opener");
	check(stat("/dev/ptmx", &st) == 0 && S_ISCHR(st.st_mode) && st.st_rdev == makedev(5, 2), "/dev/ptmx is char 5:2");
	check(stat("/dev/pts/ptmx", &st) == 0 && S_ISCHR(st.st_mode) && st.st_rdev == makedev(5, 2), "/dev/pts/ptmx is char 5:2");
	check(fstat(m, &st) == 0 && S_ISCHR(st.st_mode) && st.st_rdev == makedev(5, 2), "fstat of the master is 5:2");

	int s = open(path, O_RDWR | O_NOCTTY);
	check(s >= 0, "open slave");
	check(isatty(s), "slave isatty");
	struct stat a, b;
	check(fstat(s, &a) == 0 && stat(path, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino && a.st_rdev == b.st_rdev,
	      "fstat of the slave is its node");
	char *tn = ttyname(s);
	check(tn != NULL && strcmp(tn, path) == 0, "ttyname of the slave");
	char link[64] = "";
	snprintf(buf, sizeof buf, "/proc/self/fd/%d", s);
	ssize_t ln = readlink(buf, link, sizeof link - 1);
	check(ln > 0 && strcmp(link, path) == 0, "/proc/self/fd link of the slave");

	int found = 0, ptmx = 0;
	DIR *d = opendir("/dev/pts");
	struct dirent *e;
	while (d && (e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, path + 9) == 0)
			found = 1;
		if (strcmp(e->d_name, "ptmx") == 0)
			ptmx = 1;
	}
	if (d)
		closedir(d);
	check(found && ptmx, "/dev/pts lists ptmx and the slave");
	struct statfs sfs;
	check(statfs("/dev/pts", &sfs) == 0 && sfs.f_type == 0x1cd1, "statfs /dev/pts: devpts");
	check(fstatfs(s, &sfs) == 0 && sfs.f_type == 0x1cd1, "fstatfs of the slave: devpts");
	int mounted = 0;
	FILE *mf = fopen("/proc/self/mounts", "r");
	char mline[512];
	while (mf && fgets(mline, sizeof mline, mf))
		if (strstr(mline, " /dev/pts devpts "))
			mounted = 1;
	if (mf)
		fclose(mf);
	check(mounted, "/proc/self/mounts has devpts on /dev/pts");

	int peer = ioctl(m, TIOCGPTPEER, O_RDWR | O_NOCTTY);
	check(peer >= 0 && fstat(peer, &a) == 0 && minor(a.st_rdev) == ptn, "TIOCGPTPEER opens the slave");
	close(peer);
	EXPECT_ERR(open("/dev/pts/99999", O_RDWR | O_NOCTTY), ENOENT, "open a pts that is not there");
	EXPECT_ERR(ioctl(s, TIOCGPTN, &ptn), ENOTTY, "TIOCGPTN on the slave");

	close(s);
	close(m);
	check(stat(path, &st) == -1 && errno == ENOENT, "the slave node goes with the master");
}

static void test_defaults(void)
{
	int s, m = open_pair(&s);
	struct termios t, tm;
	check(tcgetattr(s, &t) == 0, "tcgetattr slave");
	printf("iflag %#o oflag %#o cflag %#o lflag %#o\n", (unsigned)t.c_iflag, (unsigned)t.c_oflag, (unsigned)t.c_cflag,
	       (unsigned)t.c_lflag);
	printf("cc intr %d quit %d erase %d kill %d eof %d time %d min %d start %d stop %d susp %d eol %d reprint %d "
	       "discard %d werase %d lnext %d eol2 %d\n",
	       t.c_cc[VINTR], t.c_cc[VQUIT], t.c_cc[VERASE], t.c_cc[VKILL], t.c_cc[VEOF], t.c_cc[VTIME], t.c_cc[VMIN],
	       t.c_cc[VSTART], t.c_cc[VSTOP], t.c_cc[VSUSP], t.c_cc[VEOL], t.c_cc[VREPRINT], t.c_cc[VDISCARD],
	       t.c_cc[VWERASE], t.c_cc[VLNEXT], t.c_cc[VEOL2]);
	check(cfgetospeed(&t) == B38400, "speed 38400");
	/* Field by field: glibc's struct termios has padding that tcgetattr leaves as it was. */
	check(tcgetattr(m, &tm) == 0 && t.c_iflag == tm.c_iflag && t.c_oflag == tm.c_oflag && t.c_cflag == tm.c_cflag &&
	      t.c_lflag == tm.c_lflag && memcmp(t.c_cc, tm.c_cc, 17) == 0, "the master shows the slave's settings");
	struct winsize ws = { 1, 1, 1, 1 };
	check(ioctl(s, TIOCGWINSZ, &ws) == 0 && ws.ws_row == 0 && ws.ws_col == 0, "a new pty is 0x0");
	/* Settings made on the master are the slave's. */
	tm.c_lflag &= ~ECHO;
	tcsetattr(m, TCSANOW, &tm);
	check(tcgetattr(s, &t) == 0 && !(t.c_lflag & ECHO), "tcsetattr on the master sets the slave");
	int n = -1;
	check(ioctl(s, TIOCOUTQ, &n) == 0 && n == 0, "TIOCOUTQ 0");
	EXPECT_ERR(tcgetpgrp(s), ENOTTY, "tcgetpgrp of a terminal that is not ours");
	close(s);
	close(m);
}

static void test_canonical(void)
{
	int s, m = open_pair(&s);
	put(m, "abc\x7f" "d\n");
	expect_read(m, "abc\b \bd\r\n", "echo of an erase");
	expect_one_read(s, 100, "abd\n", "erase edits the line");

	put(m, "xyz\x15ok\n");
	expect_read(m, "xyz\b \b\b \b\b \bok\r\n", "echo of a kill (ECHOKE)");
	expect_one_read(s, 100, "ok\n", "kill drops the line");

	put(m, "foo bar\x17" "baz\n");
	expect_read(m, "foo bar\b \b\b \b\b \bbaz\r\n", "echo of a word erase");
	expect_one_read(s, 100, "foo baz\n", "word erase");

	put(m, "one\ntwo\n");
	expect_read(m, "one\r\ntwo\r\n", "echo of two lines");
	expect_one_read(s, 100, "one\n", "a read takes one line");
	expect_one_read(s, 2, "tw", "a short read takes part of a line");
	expect_one_read(s, 100, "o\n", "and the next read the rest");

	put(m, "abc\x04");
	expect_read(m, "abc", "EOF is not echoed");
	expect_one_read(s, 100, "abc", "EOF ends a line without a newline");
	put(m, "\x04");
	expect_one_read(s, 100, "", "EOF at the start of a line reads 0");

	put(m, "cr\r");
	expect_read(m, "cr\r\n", "echo of CR");
	expect_one_read(s, 100, "cr\n", "ICRNL");

	put(m, "\x01\x7f" "x\n");
	expect_read(m, "^A\b \b\b \bx\r\n", "ECHOCTL shows ^A, erase takes both columns");
	expect_one_read(s, 100, "x\n", "control character erased");

	struct termios t;
	tcgetattr(s, &t);
	t.c_cc[VEOL] = ';';
	tcsetattr(s, TCSANOW, &t);
	put(m, "a;b\n");
	expect_read(m, "a;b\r\n", "echo with EOL");
	expect_one_read(s, 100, "a;", "VEOL ends a line");
	expect_one_read(s, 100, "b\n", "the line after EOL");

	set_lflag(s, ECHONL, ECHO);
	put(m, "secret\n");
	expect_read(m, "\r\n", "ECHO off, ECHONL on: only the newline echoes");
	expect_one_read(s, 100, "secret\n", "line read without echo");
	set_lflag(s, 0, ECHONL);
	put(m, "quiet\n");
	expect_read(m, "", "ECHO off: nothing echoes");
	expect_one_read(s, 100, "quiet\n", "quiet line");

	int n = -1;
	put(m, "part");
	sleep_ms(50);
	check(ioctl(s, FIONREAD, &n) == 0 && n == 0, "FIONREAD counts no partial line");
	check(!(revents(s, POLLIN) & POLLIN), "a partial line is not readable");
	put(m, "\n");
	check(wait_for_events(s, POLLIN), "a whole line is readable");
	check(ioctl(s, FIONREAD, &n) == 0 && n == 5, "FIONREAD counts the line");
	check(tcflush(s, TCIFLUSH) == 0, "tcflush TCIFLUSH");
	check(ioctl(s, FIONREAD, &n) == 0 && n == 0, "flushed input");
	int fl = fcntl(s, F_GETFL);
	fcntl(s, F_SETFL, fl | O_NONBLOCK);
	char c;
	EXPECT_ERR(read(s, &c, 1), EAGAIN, "non-blocking read of an empty slave");
	fcntl(s, F_SETFL, fl);

	put(s, "out\nput\n");
	expect_read(m, "out\r\nput\r\n", "ONLCR on slave output");
	check(wait_for_events(m, POLLOUT), "master writable");
	struct termios raw;
	tcgetattr(s, &raw);
	raw.c_oflag &= ~OPOST;
	tcsetattr(s, TCSANOW, &raw);
	put(s, "a\nb\n");
	expect_read(m, "a\nb\n", "no output processing without OPOST");
	check(tcdrain(s) == 0, "tcdrain");
	check(tcsendbreak(s, 0) == 0, "tcsendbreak");
	close(s);
	close(m);
}

static void test_raw(void)
{
	int s, m = open_pair(&s);
	struct termios t;
	tcgetattr(s, &t);
	cfmakeraw(&t);
	tcsetattr(s, TCSANOW, &t);
	put(m, "q\r\x03");
	check(wait_for_events(s, POLLIN), "raw input readable");
	int n = -1;
	check(ioctl(s, FIONREAD, &n) == 0 && n == 3, "FIONREAD in raw mode");
	expect_one_read(s, 1, "q", "raw: one byte at a time");
	expect_one_read(s, 100, "\r\x03", "raw: no ICRNL, no signal");
	expect_read(m, "", "raw: no echo");

	t.c_cc[VMIN] = 0;
	t.c_cc[VTIME] = 0;
	tcsetattr(s, TCSANOW, &t);
	char buf[16];
	check(read(s, buf, sizeof buf) == 0, "VMIN 0 VTIME 0: read returns 0 at once");
	t.c_cc[VTIME] = 2;
	tcsetattr(s, TCSANOW, &t);
	long t0 = now_ms();
	n = read(s, buf, sizeof buf);
	long dt = now_ms() - t0;
	check(n == 0 && dt >= 150 && dt < 1500, "VMIN 0 VTIME 2: read times out with 0");

	t.c_cc[VMIN] = 3;
	t.c_cc[VTIME] = 0;
	tcsetattr(s, TCSANOW, &t);
	put(m, "ab");
	sleep_ms(50);
	check(!(revents(s, POLLIN) & POLLIN), "VMIN 3: 2 bytes are not readable");
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		sleep_ms(100);
		put(m, "cd");
		_exit(0);
	}
	n = read(s, buf, sizeof buf);
	check(n >= 3 && memcmp(buf, "abc", 3) == 0, "VMIN 3: a read waits for 3 bytes");
	waitpid(pid, NULL, 0);
	if (n == 3)
		expect_one_read(s, 10, "d", "the byte after");

	t.c_cc[VMIN] = 5;
	t.c_cc[VTIME] = 1;
	tcsetattr(s, TCSANOW, &t);
	put(m, "xy");
	wait_for_events(s, POLLIN);
	n = read(s, buf, sizeof buf);
	check(n == 2 && memcmp(buf, "xy", 2) == 0, "VMIN 5 VTIME 1: the inter-byte timer ends the read");

	/* Non-blocking both ends, and a full buffer. */
	t.c_cc[VMIN] = 1;
	t.c_cc[VTIME] = 0;
	tcsetattr(s, TCSANOW, &t);
	fcntl(m, F_SETFL, O_NONBLOCK);
	EXPECT_ERR(read(m, buf, sizeof buf), EAGAIN, "non-blocking read of an empty master");
	fcntl(s, F_SETFL, O_NONBLOCK);
	static char big[4096];
	memset(big, 'z', sizeof big);
	long total = 0;
	int r;
	for (int i = 0; i < 1000 && (r = write(s, big, sizeof big)) > 0; i++)
		total += r;
	check(r == -1 && errno == EAGAIN && total > 0, "slave writes fill the buffer, then EAGAIN");
	long drained = 0;
	for (;;) {
		static char sink[8192];
		int k = read(m, sink, sizeof sink);
		if (k > 0) {
			drained += k;
			continue;
		}
		if (drained >= total)
			break;
		struct pollfd p = { m, POLLIN, 0 };
		if (poll(&p, 1, 2000) != 1)
			break;
	}
	check(drained == total, "the master reads every byte");
	check(wait_for_events(s, POLLOUT), "slave writable again");
	fcntl(s, F_SETFL, 0);
	fcntl(m, F_SETFL, 0);

	/* A blocking writer waits for room. */
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		static char chunk[100000];
		memset(chunk, 'w', sizeof chunk);
		_exit(write(s, chunk, sizeof chunk) == sizeof chunk ? 0 : 1);
	}
	drained = 0;
	while (drained < 100000) {
		static char sink[8192];
		int k = read(m, sink, sizeof sink);
		if (k <= 0)
			break;
		drained += k;
	}
	int st;
	waitpid(pid, &st, 0);
	check(drained == 100000 && WIFEXITED(st) && WEXITSTATUS(st) == 0, "a blocking write of 100000 bytes goes through");

	/* Master writes fill the slave's input. */
	fcntl(m, F_SETFL, O_NONBLOCK);
	total = 0;
	for (int i = 0; i < 1000 && (r = write(m, big, sizeof big)) > 0; i++)
		total += r;
	check(r == -1 && errno == EAGAIN && total > 0, "master writes fill the slave's input, then EAGAIN");
	fcntl(m, F_SETFL, 0);
	tcflush(s, TCIFLUSH);
	close(s);
	close(m);
}

static void test_poll(void)
{
	int s, m = open_pair(&s);
	check(revents(m, POLLIN | POLLOUT) == POLLOUT, "idle master: POLLOUT only");
	check(revents(s, POLLIN | POLLOUT) == POLLOUT, "idle slave: POLLOUT only");
	put(s, "hi");
	check(wait_for_events(m, POLLIN), "master readable after a slave write");
	int n = -1;
	check(ioctl(m, FIONREAD, &n) == 0 && n == 2, "FIONREAD on the master");
	fd_set rd;
	FD_ZERO(&rd);
	FD_SET(m, &rd);
	struct timeval tv = { 0, 0 };
	check(select(m + 1, &rd, NULL, NULL, &tv) == 1 && FD_ISSET(m, &rd), "select: master readable");
	expect_read(m, "hi", "master reads it");
	put(m, "line\n");
	check(wait_for_events(s, POLLIN), "slave readable after a line");
	expect_read(m, "line\r\n", "its echo");
	close(s);
	close(m);
}

static volatile sig_atomic_t got_int, got_quit, got_tstp, got_winch, got_hup, got_ttin, got_ttou;
static void on_signal(int sig)
{
	if (sig == SIGINT) got_int++;
	if (sig == SIGQUIT) got_quit++;
	if (sig == SIGTSTP) got_tstp++;
	if (sig == SIGWINCH) got_winch++;
	if (sig == SIGHUP) got_hup++;
	if (sig == SIGTTIN) got_ttin++;
	if (sig == SIGTTOU) got_ttou++;
}

static void catch(int sig)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigaction(sig, &sa, NULL);
}

/* Waits up to 2 s for a counter to move. */
static int await(volatile sig_atomic_t *what)
{
	for (int i = 0; i < 400 && !*what; i++)
		sleep_ms(5);
	return *what != 0;
}

/* Child side of the session tests: reports each step as one byte on `out`. */
static void report(int out, int ok)
{
	char c = ok ? 'y' : 'n';
	if (write(out, &c, 1) != 1)
		_exit(3);
}

/* One byte from the parent's pipe (a signal may interrupt the wait). */
static int next_step(int in)
{
	char c;
	int r;
	while ((r = read(in, &c, 1)) == -1 && errno == EINTR)
		;
	return r == 1;
}

static void session_child(const char *path, int m, int out, int in)
{
	close(m);
	catch(SIGINT);
	catch(SIGQUIT);
	catch(SIGTSTP);
	catch(SIGWINCH);
	catch(SIGHUP);
	if (setsid() < 0)
		_exit(9);
	int s = open(path, O_RDWR);
	report(out, s >= 0);
	report(out, tcgetsid(s) == getpid() && tcgetpgrp(s) == getpid());
	int t = open("/dev/tty", O_RDWR);
	report(out, t >= 0 && isatty(t));
	close(t);
	char stat[512] = "";
	int f = open("/proc/self/stat", O_RDONLY);
	int n = f >= 0 ? read(f, stat, sizeof stat - 1) : -1;
	close(f);
	int tty_nr = -1;
	char *p = n > 0 ? strrchr(stat, ')') : NULL;
	struct stat st;
	fstat(s, &st);
	report(out, p && sscanf(p + 2, "%*c %*d %*d %*d %d", &tty_nr) == 1 && (dev_t)tty_nr == st.st_rdev);
	if (!next_step(in)) /* the parent typed ^C after "junk" */
		_exit(4);
	report(out, await(&got_int));
	char buf[64];
	int r = read(s, buf, sizeof buf); /* "after\n": the junk was flushed */
	report(out, r == 6 && memcmp(buf, "after\n", 6) == 0);
	report(out, next_step(in) && await(&got_quit));
	report(out, next_step(in) && await(&got_tstp));
	report(out, next_step(in) && await(&got_winch));
	struct winsize ws;
	report(out, ioctl(s, TIOCGWINSZ, &ws) == 0 && ws.ws_row == 24 && ws.ws_col == 80);
	report(out, next_step(in) && got_winch == 1); /* the same size again: no signal */

	/* A background group: SIGTTIN for reads, SIGTTOU for settings and TOSTOP writes. */
	int sync[2];
	if (pipe(sync) < 0)
		_exit(5);
	pid_t bg = fork();
	if (bg == 0) {
		setpgid(0, 0);
		catch(SIGTTIN);
		catch(SIGTTOU);
		char x;
		errno = 0;
		int rr = read(s, &x, 1);
		int ok = rr == -1 && errno == EINTR && got_ttin == 1;
		struct termios tt;
		tcgetattr(s, &tt);
		errno = 0;
		ok = ok && tcsetattr(s, TCSANOW, &tt) == -1 && errno == EINTR && got_ttou == 1;
		ok = ok && write(s, "bg\n", 3) == 3; /* no TOSTOP: goes through */
		signal(SIGTTOU, SIG_IGN);
		ok = ok && tcsetattr(s, TCSANOW, &tt) == 0;
		signal(SIGTTIN, SIG_IGN);
		errno = 0;
		ok = ok && read(s, &x, 1) == -1 && errno == EIO;
		_exit(ok ? 0 : 1);
	}
	setpgid(bg, bg);
	int bst;
	waitpid(bg, &bst, 0);
	report(out, WIFEXITED(bst) && WEXITSTATUS(bst) == 0);
	report(out, next_step(in) && await(&got_hup)); /* the master went */
	errno = 0;
	report(out, read(s, buf, sizeof buf) == 0);
	errno = 0;
	report(out, write(s, "x", 1) == -1 && errno == EIO);
	_exit(0);
}

static void test_session(void)
{
	int m = posix_openpt(O_RDWR | O_NOCTTY);
	grantpt(m);
	unlockpt(m);
	char path[64];
	snprintf(path, sizeof path, "%s", ptsname(m));
	int up[2], down[2];
	if (pipe(up) < 0 || pipe(down) < 0)
		exit(1);
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		close(up[0]);
		close(down[1]);
		session_child(path, m, up[1], down[0]);
	}
	close(up[1]);
	close(down[0]);
	const char *steps[] = {
		"session leader opens the slave",      "it is the controlling terminal",
		"/dev/tty opens it",                   "/proc/self/stat tty_nr",
		"^C raises SIGINT",                    "^C flushed the input",
		"^\\ raises SIGQUIT",                  "^Z raises SIGTSTP",
		"TIOCSWINSZ on the master: SIGWINCH",  "TIOCGWINSZ on the slave",
		"the same size: no SIGWINCH",          "background group: SIGTTIN, SIGTTOU, EIO",
		"closing the master: SIGHUP",          "hung-up slave reads 0",
		"hung-up slave writes EIO",
	};
	char c;
	int step = 0;
	for (; step < 4; step++)
		check(read(up[0], &c, 1) == 1 && c == 'y', steps[step]);
	int fg = -1;
	check(ioctl(m, TIOCGPGRP, &fg) == 0 && fg == pid, "TIOCGPGRP on the master: the foreground group");
	put(m, "junk");
	expect_read(m, "junk", "echo of a partial line");
	put(m, "\x03");
	expect_read(m, "^C", "echo of ^C");
	put(down[1], "g");
	check(read(up[0], &c, 1) == 1 && c == 'y', steps[step++]);
	put(m, "after\n");
	check(read(up[0], &c, 1) == 1 && c == 'y', steps[step++]);
	expect_read(m, "after\r\n", "echo after ^C");
	/* Each echo is read before the next signal key: a signal key flushes the output not read yet (no NOFLSH). */
	put(m, "\x1c");
	expect_read(m, "^\\", "echo of ^\\");
	put(down[1], "g");
	check(read(up[0], &c, 1) == 1 && c == 'y', steps[step++]);
	put(m, "\x1a");
	expect_read(m, "^Z", "echo of ^Z");
	put(down[1], "g");
	check(read(up[0], &c, 1) == 1 && c == 'y', steps[step++]);
	struct winsize ws = { 24, 80, 0, 0 };
	ioctl(m, TIOCSWINSZ, &ws);
	put(down[1], "g");
	check(read(up[0], &c, 1) == 1 && c == 'y', steps[step++]);
	check(read(up[0], &c, 1) == 1 && c == 'y', steps[step++]);
	ioctl(m, TIOCSWINSZ, &ws);
	sleep_ms(50);
	put(down[1], "g");
	check(read(up[0], &c, 1) == 1 && c == 'y', steps[step++]);
	check(read(up[0], &c, 1) == 1 && c == 'y', steps[step++]);
	expect_read(m, "bg\r\n", "a background write without TOSTOP");
	close(m);
	put(down[1], "g");
	for (; step < (int)(sizeof steps / sizeof *steps); step++)
		check(read(up[0], &c, 1) == 1 && c == 'y', steps[step]);
	int st;
	waitpid(pid, &st, 0);
	check(WIFEXITED(st) && WEXITSTATUS(st) == 0, "session child exits 0");
	close(up[0]);
	close(down[1]);
}

static void test_sctty(void)
{
	int s, m = open_pair(&s);
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		setsid();
		signal(SIGHUP, SIG_IGN); /* TIOCNOTTY of a session leader hangs up its foreground group: itself */
		if (tcgetsid(s) != -1)
			_exit(1);
		if (ioctl(s, TIOCSCTTY, 0) != 0 || tcgetsid(s) != getpid())
			_exit(2);
		if (ioctl(s, TIOCNOTTY) != 0 || tcgetsid(s) != -1)
			_exit(3);
		_exit(0);
	}
	int st;
	waitpid(pid, &st, 0);
	check(WIFEXITED(st) && WEXITSTATUS(st) == 0, "TIOCSCTTY and TIOCNOTTY on a slave");
	close(s);
	close(m);
}

static void test_hangup(void)
{
	/* The slave goes: the master reads what is left, then EIO. */
	int s, m = open_pair(&s);
	set_lflag(s, 0, ECHO);
	put(s, "bye\n");
	wait_for_events(m, POLLIN);
	close(s);
	sleep_ms(50);
	check((revents(m, POLLIN | POLLOUT) & (POLLIN | POLLHUP)) == (POLLIN | POLLHUP), "slave closed: master POLLIN|POLLHUP");
	char buf[64];
	int n = read(m, buf, sizeof buf);
	check(n == 5 && memcmp(buf, "bye\r\n", 5) == 0, "master reads what the slave wrote");
	EXPECT_ERR(read(m, buf, sizeof buf), EIO, "then a master read");
	check(write(m, "kept\n", 5) == 5, "a master write still goes in");
	s = open(ptsname(m), O_RDWR | O_NOCTTY);
	check(s >= 0, "the slave reopens");
	check(revents(m, POLLIN | POLLOUT) == POLLOUT, "reopened: master POLLOUT only");
	expect_one_read(s, 100, "kept\n", "the reopened slave reads what came meanwhile");
	close(s);
	close(m);

	/* The master goes: the slave is hung up. */
	m = open_pair(&s);
	put(m, "left\n");
	wait_for_events(s, POLLIN);
	close(m);
	short ev = revents(s, POLLIN | POLLOUT);
	check((ev & (POLLIN | POLLHUP)) == (POLLIN | POLLHUP), "master closed: slave POLLIN|POLLHUP");
	check(read(s, buf, sizeof buf) == 0, "hung-up slave reads 0");
	EXPECT_ERR(write(s, "x", 1), EIO, "hung-up slave write");
	struct termios t;
	EXPECT_ERR(tcgetattr(s, &t), EIO, "hung-up slave tcgetattr");
	close(s);
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	test_open();
	test_defaults();
	test_canonical();
	test_raw();
	test_poll();
	test_session();
	test_sctty();
	test_hangup();
	printf("%s\n", failures ? "FAILED" : "all ok");
	return failures != 0;
}
