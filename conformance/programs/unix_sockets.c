/* AF_UNIX sockets: socketpair of every type (stream, datagram, seqpacket),
 * message boundaries, MSG_PEEK / MSG_TRUNC / MSG_DONTWAIT / MSG_WAITALL,
 * O_NONBLOCK and EAGAIN, shutdown, EPIPE with and without SIGPIPE, close with
 * unread data (ECONNRESET), SCM_RIGHTS across fork (both ways), MSG_CTRUNC,
 * SCM_CREDENTIALS and SO_PEERCRED, a pathname listener with a forked client,
 * abstract names (stream and datagram with sender addresses), poll readiness,
 * and the SO_* basics. Prints nothing that depends on pids or timing.
 *
 * Needs NOMMU_TEST_TMPDIR: an empty directory for the pathname sockets. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "errname.h"

static int failures;
static volatile sig_atomic_t sigpipes;

static void check(int ok, const char *what)
{
	printf("%s %s\n", ok ? "ok" : "FAIL", what);
	if (!ok)
		failures++;
}

static void on_sigpipe(int sig)
{
	(void)sig;
	sigpipes++;
}

static int wait_exit(pid_t pid)
{
	int st;
	pid_t r;
	do
		r = waitpid(pid, &st, 0);
	while (r == -1 && errno == EINTR);
	if (r != pid || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}

static const char *type_name(int t)
{
	return t == SOCK_STREAM ? "SOCK_STREAM" : t == SOCK_DGRAM ? "SOCK_DGRAM" : t == SOCK_SEQPACKET ? "SOCK_SEQPACKET" : "?";
}

static void test_pair_basics(void)
{
	int types[] = {SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET};
	for (int i = 0; i < 3; i++) {
		int sv[2];
		if (socketpair(AF_UNIX, types[i], 0, sv) != 0) {
			printf("FAIL socketpair %s: %s\n", type_name(types[i]), errname(errno));
			failures++;
			continue;
		}
		struct stat st;
		fstat(sv[0], &st);
		int type = 0, domain = 0, err = -1;
		socklen_t len = sizeof type;
		getsockopt(sv[0], SOL_SOCKET, SO_TYPE, &type, &len);
		len = sizeof domain;
		getsockopt(sv[0], SOL_SOCKET, SO_DOMAIN, &domain, &len);
		len = sizeof err;
		getsockopt(sv[0], SOL_SOCKET, SO_ERROR, &err, &len);
		struct sockaddr_un sa;
		socklen_t salen = sizeof sa;
		memset(&sa, 0x55, sizeof sa);
		int g = getsockname(sv[0], (struct sockaddr *)&sa, &salen);
		socklen_t palen = sizeof sa;
		int p = getpeername(sv[1], (struct sockaddr *)&sa, &palen);
		printf("socketpair %s: S_ISSOCK %d, SO_TYPE %s, SO_DOMAIN %s, SO_ERROR %d, getsockname %d len %d family %d, getpeername %d len %d\n",
		       type_name(types[i]), S_ISSOCK(st.st_mode), type_name(type), domain == AF_UNIX ? "AF_UNIX" : "?", err, g,
		       (int)salen, sa.sun_family, p, (int)palen);
		int fl = fcntl(sv[0], F_GETFL);
		printf("  F_GETFL O_RDWR %d, O_NONBLOCK %d\n", (fl & O_ACCMODE) == O_RDWR, !!(fl & O_NONBLOCK));
		close(sv[0]);
		close(sv[1]);
	}
	int sv[2];
	int r = socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv);
	printf("socketpair(SOCK_NONBLOCK|SOCK_CLOEXEC): %d, O_NONBLOCK %d, FD_CLOEXEC %d\n", r, !!(fcntl(sv[0], F_GETFL) & O_NONBLOCK),
	       fcntl(sv[1], F_GETFD) & FD_CLOEXEC);
	close(sv[0]);
	close(sv[1]);
	errno = 0;
	r = socketpair(AF_INET, SOCK_STREAM, 0, sv);
	printf("socketpair(AF_INET): %d %s\n", r, errname(errno));
	errno = 0;
	r = socketpair(AF_UNIX, SOCK_STREAM, 99, sv);
	printf("socketpair(protocol 99): %d %s\n", r, errname(errno));
	errno = 0;
	r = socket(12345, SOCK_STREAM, 0);
	printf("socket(family 12345): %d %s\n", r, errname(errno));
	int pfd[2];
	pipe(pfd);
	errno = 0;
	r = (int)send(pfd[1], "x", 1, 0);
	printf("send on a pipe: %d %s\n", r, errname(errno));
	close(pfd[0]);
	close(pfd[1]);
}

static void test_stream(void)
{
	int sv[2];
	socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
	write(sv[0], "hello ", 6);
	send(sv[0], "world", 5, 0);
	int avail = -1;
	ioctl(sv[1], FIONREAD, &avail);
	char buf[64] = {0};
	ssize_t n = recv(sv[1], buf, sizeof buf, MSG_PEEK);
	printf("stream: FIONREAD %d, peek %d \"%.*s\"\n", avail, (int)n, (int)n, buf);
	n = read(sv[1], buf, 4);
	printf("stream: read 4 -> %d \"%.*s\"\n", (int)n, (int)n, buf);
	n = recv(sv[1], buf, sizeof buf, 0);
	printf("stream: rest %d \"%.*s\"\n", (int)n, (int)n, buf);
	errno = 0;
	n = recv(sv[1], buf, sizeof buf, MSG_DONTWAIT);
	printf("stream: empty MSG_DONTWAIT recv %d %s\n", (int)n, errname(errno));

	/* MSG_WAITALL: a child writes in three pieces. */
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		for (int i = 0; i < 3; i++) {
			usleep(20000);
			write(sv[0], "abcd", 4);
		}
		_exit(0);
	}
	n = recv(sv[1], buf, 12, MSG_WAITALL);
	printf("stream: MSG_WAITALL 12 -> %d \"%.*s\"\n", (int)n, (int)n, buf);
	wait_exit(pid);

	/* Non-blocking: fill it until EAGAIN, then poll sees no POLLOUT. */
	fcntl(sv[0], F_SETFL, O_NONBLOCK);
	static char block[4096];
	memset(block, 'z', sizeof block);
	long total = 0;
	int e = 0;
	for (int i = 0; i < 100000; i++) {
		n = write(sv[0], block, sizeof block);
		if (n < 0) {
			e = errno;
			break;
		}
		total += n;
	}
	struct pollfd pf = {sv[0], POLLOUT, 0};
	int pr = poll(&pf, 1, 0);
	printf("stream: filled (more than 64 KiB: %s), then %s; poll POLLOUT %d revents %#x\n", total > 65536 ? "yes" : "no",
	       errname(e), pr, pf.revents);
	long drained = 0;
	fcntl(sv[1], F_SETFL, O_NONBLOCK);
	static char big[65536];
	while ((n = read(sv[1], big, sizeof big)) > 0)
		drained += n;
	pf.revents = 0;
	pr = poll(&pf, 1, 0);
	printf("stream: drained all %s; poll POLLOUT %d revents %#x\n", drained == total ? "yes" : "no", pr, pf.revents);

	/* shutdown(SHUT_WR): the peer reads EOF; writing again is EPIPE and SIGPIPE. */
	shutdown(sv[0], SHUT_WR);
	n = read(sv[1], buf, sizeof buf);
	pf.fd = sv[1];
	pf.events = POLLIN | POLLRDHUP;
	pf.revents = 0;
	poll(&pf, 1, 0);
	printf("stream: after SHUT_WR the peer reads %d, revents POLLIN %d POLLRDHUP %d\n", (int)n, !!(pf.revents & POLLIN),
	       !!(pf.revents & POLLRDHUP));
	sigpipes = 0;
	errno = 0;
	n = write(sv[0], "x", 1);
	printf("stream: write after SHUT_WR %d %s, SIGPIPE %d\n", (int)n, errname(errno), (int)sigpipes);
	errno = 0;
	n = send(sv[0], "x", 1, MSG_NOSIGNAL);
	printf("stream: send(MSG_NOSIGNAL) after SHUT_WR %d %s, SIGPIPE %d\n", (int)n, errname(errno), (int)sigpipes);
	n = write(sv[1], "back", 4);
	n = read(sv[0], buf, sizeof buf);
	printf("stream: the other direction still works: %d\n", (int)n);
	close(sv[0]);
	close(sv[1]);

	/* The peer closes: EPIPE; it closes with unread data: ECONNRESET. */
	socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
	close(sv[1]);
	sigpipes = 0;
	errno = 0;
	n = write(sv[0], "x", 1);
	pf.fd = sv[0];
	pf.events = POLLIN | POLLOUT;
	pf.revents = 0;
	poll(&pf, 1, 0);
	printf("stream: write to a closed peer %d %s, SIGPIPE %d, revents POLLHUP %d\n", (int)n, errname(errno), (int)sigpipes,
	       !!(pf.revents & POLLHUP));
	n = read(sv[0], buf, sizeof buf);
	printf("stream: read from a closed peer %d\n", (int)n);
	close(sv[0]);
	socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
	write(sv[0], "unread", 6);
	close(sv[1]);
	errno = 0;
	n = read(sv[0], buf, sizeof buf);
	printf("stream: peer closed with unread data: read %d %s\n", (int)n, errname(errno));
	n = read(sv[0], buf, sizeof buf);
	printf("stream: then %d\n", (int)n);
	close(sv[0]);
}

static void test_dgram(int type)
{
	int sv[2];
	socketpair(AF_UNIX, type, 0, sv);
	const char *tn = type_name(type);
	send(sv[0], "one", 3, 0);
	send(sv[0], "second", 6, 0);
	send(sv[0], "", 0, 0);
	send(sv[0], "third!", 6, 0);
	int avail = -1;
	ioctl(sv[1], FIONREAD, &avail);
	char buf[64];
	ssize_t n = recv(sv[1], buf, sizeof buf, MSG_PEEK);
	printf("%s: FIONREAD %d, peek %d\n", tn, avail, (int)n);
	n = recv(sv[1], buf, sizeof buf, 0);
	printf("%s: recv %d \"%.*s\"\n", tn, (int)n, (int)n, buf);
	struct iovec iov = {buf, 3};
	struct msghdr mh = {0};
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	n = recvmsg(sv[1], &mh, 0);
	printf("%s: recvmsg into 3 bytes: %d \"%.*s\" MSG_TRUNC %d\n", tn, (int)n, (int)n, buf, !!(mh.msg_flags & MSG_TRUNC));
	n = recv(sv[1], buf, sizeof buf, 0);
	printf("%s: empty datagram %d\n", tn, (int)n);
	n = recv(sv[1], buf, 2, MSG_TRUNC);
	printf("%s: recv(MSG_TRUNC) into 2 bytes: %d\n", tn, (int)n);
	errno = 0;
	n = recv(sv[1], buf, sizeof buf, MSG_DONTWAIT);
	printf("%s: empty MSG_DONTWAIT %d %s\n", tn, (int)n, errname(errno));
	/* Two iovecs gather one message. */
	struct iovec out[2] = {{"ab", 2}, {"cde", 3}};
	struct msghdr om = {0};
	om.msg_iov = out;
	om.msg_iovlen = 2;
	n = sendmsg(sv[0], &om, 0);
	char b1[1], b2[10];
	struct iovec in[2] = {{b1, 1}, {b2, sizeof b2}};
	mh.msg_iov = in;
	mh.msg_iovlen = 2;
	ssize_t m = recvmsg(sv[1], &mh, 0);
	printf("%s: sendmsg of 2+3 -> %d, recvmsg into 1+10 -> %d \"%c%.*s\"\n", tn, (int)n, (int)m, b1[0], (int)(m - 1), b2);
	/* writev/readv: one datagram too. */
	n = writev(sv[0], out, 2);
	m = readv(sv[1], in, 2);
	ssize_t left = recv(sv[1], b2, sizeof b2, MSG_DONTWAIT);
	printf("%s: writev of 2+3 -> %d, readv into 1+10 -> %d, nothing left %d\n", tn, (int)n, (int)m, (int)left);
	close(sv[1]);
	errno = 0;
	sigpipes = 0;
	n = send(sv[0], "x", 1, 0);
	printf("%s: send to a closed peer %d %s, SIGPIPE %d\n", tn, (int)n, errname(errno), (int)sigpipes);
	if (type == SOCK_SEQPACKET) {
		n = recv(sv[0], buf, sizeof buf, 0);
		printf("%s: recv from a closed peer %d\n", tn, (int)n);
	}
	close(sv[0]);
}

static int send_fds(int sock, const int *fds, int nfds, const char *data)
{
	char cbuf[CMSG_SPACE(sizeof(int) * 4)];
	memset(cbuf, 0, sizeof cbuf);
	struct iovec iov = {(void *)data, strlen(data)};
	struct msghdr mh = {0};
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = cbuf;
	mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
	struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
	memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
	return (int)sendmsg(sock, &mh, 0);
}

/* Receives data and up to 4 descriptors; returns the data length. */
static int recv_fds(int sock, int *fds, int *nfds, char *data, size_t len, size_t clen, int flags, int *msg_flags)
{
	char cbuf[CMSG_SPACE(sizeof(int) * 4)];
	struct iovec iov = {data, len};
	struct msghdr mh = {0};
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = cbuf;
	mh.msg_controllen = clen;
	int n = (int)recvmsg(sock, &mh, flags);
	*nfds = 0;
	*msg_flags = mh.msg_flags;
	if (n < 0)
		return n;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
			int k = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
			memcpy(fds + *nfds, CMSG_DATA(c), sizeof(int) * k);
			*nfds += k;
		}
	}
	return n;
}

static void test_scm_rights(void)
{
	int sv[2];
	socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
	int p[2];
	pipe(p);
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		/* Child: receives a pipe's write end, writes through it; sends its own pipe's read end back. */
		close(sv[0]);
		close(p[0]);
		close(p[1]);
		int fds[4], nfds, fl;
		char data[16];
		int n = recv_fds(sv[1], fds, &nfds, data, sizeof data, CMSG_SPACE(sizeof(int) * 4), MSG_CMSG_CLOEXEC, &fl);
		int bad = 0;
		if (n != 4 || memcmp(data, "pipe", 4) != 0 || nfds != 1)
			bad |= 1;
		if (nfds == 1 && !(fcntl(fds[0], F_GETFD) & FD_CLOEXEC))
			bad |= 2;
		if (nfds == 1 && write(fds[0], "via passed fd", 13) != 13)
			bad |= 4;
		int q[2];
		pipe(q);
		write(q[1], "from child", 10);
		close(q[1]);
		if (send_fds(sv[1], &q[0], 1, "back") != 4)
			bad |= 8;
		close(q[0]);
		_exit(bad);
	}
	close(sv[1]);
	int r = send_fds(sv[0], &p[1], 1, "pipe");
	close(p[1]);
	char buf[32] = {0};
	ssize_t n = read(p[0], buf, sizeof buf);
	printf("SCM_RIGHTS: sent the write end (%d); the child wrote \"%.*s\" through it\n", r, (int)n, buf);
	int fds[4], nfds, fl;
	char data[16];
	int m = recv_fds(sv[0], fds, &nfds, data, sizeof data, CMSG_SPACE(sizeof(int) * 4), 0, &fl);
	n = nfds == 1 ? read(fds[0], buf, sizeof buf) : -1;
	printf("SCM_RIGHTS: the child sent %d bytes and %d descriptor; it reads \"%.*s\", FD_CLOEXEC %d\n", m, nfds, n > 0 ? (int)n : 0,
	       buf, nfds == 1 ? fcntl(fds[0], F_GETFD) & FD_CLOEXEC : -1);
	if (nfds == 1)
		close(fds[0]);
	check(wait_exit(pid) == 0, "child saw the descriptor, close-on-exec, and could write through it");
	close(p[0]);

	/* Several descriptors; a control buffer too small for them: MSG_CTRUNC. */
	int three[3];
	for (int i = 0; i < 3; i++)
		three[i] = dup(1);
	send_fds(sv[0], three, 3, "3fds");
	int s2[2];
	socketpair(AF_UNIX, SOCK_DGRAM, 0, s2);
	send_fds(s2[0], three, 3, "3fds");
	for (int i = 0; i < 3; i++)
		close(three[i]);
	m = recv_fds(s2[1], fds, &nfds, data, sizeof data, CMSG_SPACE(sizeof(int) * 1), 0, &fl);
	printf("SCM_RIGHTS: 3 descriptors into room for 1: %d bytes, %d received, MSG_CTRUNC %d\n", m, nfds, !!(fl & MSG_CTRUNC));
	for (int i = 0; i < nfds; i++)
		close(fds[i]);
	/* Peeking installs copies; the real receive gets them again. */
	send_fds(s2[0], three + 0, 0, "nofd");
	m = recv_fds(s2[1], fds, &nfds, data, sizeof data, CMSG_SPACE(sizeof(int) * 4), 0, &fl);
	printf("SCM_RIGHTS: an empty SCM_RIGHTS (cmsg_len header only): %d bytes, %d descriptors\n", m, nfds);
	int one = dup(1);
	send_fds(s2[0], &one, 1, "peek");
	close(one);
	int pk = recv_fds(s2[1], fds, &nfds, data, sizeof data, CMSG_SPACE(sizeof(int) * 4), MSG_PEEK, &fl);
	int pn = nfds;
	for (int i = 0; i < nfds; i++)
		close(fds[i]);
	m = recv_fds(s2[1], fds, &nfds, data, sizeof data, CMSG_SPACE(sizeof(int) * 4), 0, &fl);
	printf("SCM_RIGHTS: MSG_PEEK %d bytes %d descriptor, then recv %d bytes %d descriptor\n", pk, pn, m, nfds);
	for (int i = 0; i < nfds; i++)
		close(fds[i]);
	/* A bad descriptor in SCM_RIGHTS. */
	int badfd = 999;
	errno = 0;
	r = send_fds(s2[0], &badfd, 1, "bad");
	printf("SCM_RIGHTS with a closed descriptor: %d %s\n", r, errname(errno));
	close(s2[0]);
	close(s2[1]);
	close(sv[0]);
	/* Stream: bytes sent after a message with descriptors are not merged into its read. */
	socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
	one = dup(1);
	send_fds(sv[0], &one, 1, "fd1");
	close(one);
	write(sv[0], "more", 4);
	m = recv_fds(sv[1], fds, &nfds, data, sizeof data, CMSG_SPACE(sizeof(int) * 4), 0, &fl);
	printf("SCM_RIGHTS on a stream: %d bytes \"%.*s\", %d descriptor\n", m, m > 0 ? m : 0, data, nfds);
	for (int i = 0; i < nfds; i++)
		close(fds[i]);
	m = (int)read(sv[1], data, sizeof data);
	printf("SCM_RIGHTS on a stream: then %d bytes \"%.*s\"\n", m, m > 0 ? m : 0, data);
	close(sv[0]);
	close(sv[1]);
}

static void test_credentials(void)
{
	int sv[2];
	socketpair(AF_UNIX, SOCK_DGRAM, 0, sv);
	struct ucred uc;
	socklen_t len = sizeof uc;
	getsockopt(sv[0], SOL_SOCKET, SO_PEERCRED, &uc, &len);
	printf("SO_PEERCRED on a socketpair: len %d, pid is mine %s, uid %s, gid %s\n", (int)len, uc.pid == getpid() ? "yes" : "no",
	       uc.uid == getuid() ? "mine" : "other", uc.gid == getgid() ? "mine" : "other");
	int on = 1;
	setsockopt(sv[1], SOL_SOCKET, SO_PASSCRED, &on, sizeof on);
	int v = 0;
	len = sizeof v;
	getsockopt(sv[1], SOL_SOCKET, SO_PASSCRED, &v, &len);
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		send(sv[0], "cred", 4, 0);
		/* Stated credentials: the sender's own. */
		char cbuf[CMSG_SPACE(sizeof(struct ucred))];
		memset(cbuf, 0, sizeof cbuf);
		struct iovec iov = {"mine", 4};
		struct msghdr mh = {0};
		mh.msg_iov = &iov;
		mh.msg_iovlen = 1;
		mh.msg_control = cbuf;
		mh.msg_controllen = sizeof cbuf;
		struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_CREDENTIALS;
		c->cmsg_len = CMSG_LEN(sizeof(struct ucred));
		struct ucred me = {getpid(), getuid(), getgid()};
		memcpy(CMSG_DATA(c), &me, sizeof me);
		_exit(sendmsg(sv[0], &mh, 0) == 4 ? 0 : 1);
	}
	int st = wait_exit(pid);
	for (int k = 0; k < 2; k++) {
		char data[8], cbuf[CMSG_SPACE(sizeof(struct ucred))];
		struct iovec iov = {data, sizeof data};
		struct msghdr mh = {0};
		mh.msg_iov = &iov;
		mh.msg_iovlen = 1;
		mh.msg_control = cbuf;
		mh.msg_controllen = sizeof cbuf;
		int n = (int)recvmsg(sv[1], &mh, 0);
		struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
		int got = c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS;
		struct ucred rc = {0, 0, 0};
		if (got)
			memcpy(&rc, CMSG_DATA(c), sizeof rc);
		printf("SCM_CREDENTIALS (SO_PASSCRED %d): %d bytes \"%.*s\", credentials %s, pid is the child's %s, uid %s, gid %s\n", v, n,
		       n > 0 ? n : 0, data, got ? "yes" : "no", rc.pid == pid ? "yes" : "no", rc.uid == getuid() ? "mine" : "other",
		       rc.gid == getgid() ? "mine" : "other");
	}
	check(st == 0, "child sent its stated credentials");
	close(sv[0]);
	close(sv[1]);
}

static void test_pathname(const char *dir)
{
	char path[200];
	snprintf(path, sizeof path, "%s/listener.sock", dir);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	strcpy(sa.sun_path, path);
	socklen_t salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(path) + 1);
	int ls = socket(AF_UNIX, SOCK_STREAM, 0);
	int r = bind(ls, (struct sockaddr *)&sa, salen);
	struct stat st;
	int sr = stat(path, &st);
	printf("bind to a path: %d; it exists %s, S_ISSOCK %d\n", r, sr == 0 ? "yes" : "no", sr == 0 && S_ISSOCK(st.st_mode));
	int again = socket(AF_UNIX, SOCK_STREAM, 0);
	errno = 0;
	r = bind(again, (struct sockaddr *)&sa, salen);
	printf("bind to the same path again: %d %s\n", r, errname(errno));
	errno = 0;
	r = connect(again, (struct sockaddr *)&sa, salen);
	printf("connect before listen: %d %s\n", r, errname(errno));
	close(again);
	errno = 0;
	r = bind(ls, (struct sockaddr *)&sa, salen);
	printf("bind a bound socket: %d %s\n", r, errname(errno));
	r = listen(ls, 4);
	int acc = -1;
	socklen_t len = sizeof acc;
	getsockopt(ls, SOL_SOCKET, SO_ACCEPTCONN, &acc, &len);
	struct sockaddr_un got;
	socklen_t glen = sizeof got;
	getsockname(ls, (struct sockaddr *)&got, &glen);
	printf("listen: %d, SO_ACCEPTCONN %d, getsockname len is offsetof+strlen+1 %s, path matches %s\n", r, acc,
	       glen == salen ? "yes" : "no", strcmp(got.sun_path, path) == 0 ? "yes" : "no");
	/* Nothing to accept yet. */
	fcntl(ls, F_SETFL, O_NONBLOCK);
	errno = 0;
	r = accept(ls, NULL, NULL);
	printf("accept with nothing pending (non-blocking): %d %s\n", r, errname(errno));
	fcntl(ls, F_SETFL, 0);
	struct pollfd pf = {ls, POLLIN, 0};
	printf("poll on the idle listener: %d\n", poll(&pf, 1, 0));

	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		int c = socket(AF_UNIX, SOCK_STREAM, 0);
		if (connect(c, (struct sockaddr *)&sa, salen) != 0)
			_exit(1);
		struct sockaddr_un peer;
		socklen_t plen = sizeof peer;
		if (getpeername(c, (struct sockaddr *)&peer, &plen) != 0 || strcmp(peer.sun_path, path) != 0)
			_exit(2);
		struct ucred uc;
		socklen_t ulen = sizeof uc;
		getsockopt(c, SOL_SOCKET, SO_PEERCRED, &uc, &ulen);
		if (uc.pid != getppid())
			_exit(3);
		if (write(c, "from the client", 15) != 15)
			_exit(4);
		char buf[32];
		ssize_t n = read(c, buf, sizeof buf);
		if (n != 5 || memcmp(buf, "reply", 5) != 0)
			_exit(5);
		/* The server closed: EOF. */
		if (read(c, buf, sizeof buf) != 0)
			_exit(6);
		_exit(0);
	}
	pf.revents = 0;
	int pr = poll(&pf, 1, 5000);
	printf("poll on the listener after a connect: %d revents POLLIN %d\n", pr, !!(pf.revents & POLLIN));
	struct sockaddr_un peer;
	socklen_t plen = sizeof peer;
	memset(&peer, 0x55, sizeof peer);
	int s = accept4(ls, (struct sockaddr *)&peer, &plen, SOCK_CLOEXEC);
	printf("accept4(SOCK_CLOEXEC): %s, FD_CLOEXEC %d, the unbound client's address len %d\n", s >= 0 ? "ok" : errname(errno),
	       fcntl(s, F_GETFD) & FD_CLOEXEC, (int)plen);
	struct ucred uc;
	len = sizeof uc;
	getsockopt(s, SOL_SOCKET, SO_PEERCRED, &uc, &len);
	char buf[32];
	ssize_t n = read(s, buf, sizeof buf);
	printf("server read %d \"%.*s\", SO_PEERCRED pid is the child's %s\n", (int)n, (int)n, buf, uc.pid == pid ? "yes" : "no");
	write(s, "reply", 5);
	close(s);
	check(wait_exit(pid) == 0, "client connected, saw the server's name and credentials, and got the reply");
	close(ls);
	/* The name outlives the socket: bind again fails; after unlink it works. */
	int ls2 = socket(AF_UNIX, SOCK_STREAM, 0);
	errno = 0;
	r = bind(ls2, (struct sockaddr *)&sa, salen);
	printf("bind after the first socket closed: %d %s\n", r, errname(errno));
	int c = socket(AF_UNIX, SOCK_STREAM, 0);
	errno = 0;
	r = connect(c, (struct sockaddr *)&sa, salen);
	printf("connect to a name nobody listens on: %d %s\n", r, errname(errno));
	unlink(path);
	errno = 0;
	r = connect(c, (struct sockaddr *)&sa, salen);
	printf("connect after unlink: %d %s\n", r, errname(errno));
	r = bind(ls2, (struct sockaddr *)&sa, salen);
	printf("bind after unlink: %d\n", r);
	close(c);
	close(ls2);
	unlink(path);
}

static socklen_t abstract_addr(struct sockaddr_un *sa, const char *tag)
{
	memset(sa, 0, sizeof *sa);
	sa->sun_family = AF_UNIX;
	int n = snprintf(sa->sun_path + 1, sizeof sa->sun_path - 1, "nommu-test-%d-%s", (int)getpid(), tag);
	return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n);
}

static void test_abstract(void)
{
	struct sockaddr_un sa, got;
	socklen_t salen = abstract_addr(&sa, "stream");
	int ls = socket(AF_UNIX, SOCK_SEQPACKET, 0);
	int r = bind(ls, (struct sockaddr *)&sa, salen);
	listen(ls, 1);
	socklen_t glen = sizeof got;
	getsockname(ls, (struct sockaddr *)&got, &glen);
	printf("abstract bind: %d, getsockname len matches %s, name matches %s\n", r, glen == salen ? "yes" : "no",
	       memcmp(&got, &sa, salen) == 0 ? "yes" : "no");
	int dup_ = socket(AF_UNIX, SOCK_SEQPACKET, 0);
	errno = 0;
	r = bind(dup_, (struct sockaddr *)&sa, salen);
	printf("abstract bind of a taken name: %d %s\n", r, errname(errno));
	int c = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK, 0);
	r = connect(c, (struct sockaddr *)&sa, salen);
	printf("non-blocking connect to an abstract listener: %d\n", r);
	errno = 0;
	r = connect(c, (struct sockaddr *)&sa, salen);
	printf("connect again: %d %s\n", r, errname(errno));
	int s = accept(ls, NULL, NULL);
	send(c, "packet one", 10, 0);
	send(c, "two", 3, 0);
	char buf[32];
	ssize_t n1 = recv(s, buf, sizeof buf, 0);
	ssize_t n2 = recv(s, buf, sizeof buf, 0);
	printf("seqpacket over an abstract name: %d then %d\n", (int)n1, (int)n2);
	errno = 0;
	r = connect(dup_, (struct sockaddr *)&sa, salen);
	printf("a second client connects: %d\n", r);
	int wrong = socket(AF_UNIX, SOCK_STREAM, 0);
	errno = 0;
	r = connect(wrong, (struct sockaddr *)&sa, salen);
	printf("stream connect to a seqpacket listener: %d %s\n", r, errname(errno));
	close(wrong);
	close(dup_);
	close(s);
	close(c);
	close(ls);
	/* The name is free again once its socket is closed. */
	int again = socket(AF_UNIX, SOCK_DGRAM, 0);
	r = bind(again, (struct sockaddr *)&sa, salen);
	printf("abstract name reused after close: %d\n", r);
	/* Datagrams with the sender's address. */
	struct sockaddr_un from_sa;
	socklen_t from_len = abstract_addr(&from_sa, "sender");
	int snd = socket(AF_UNIX, SOCK_DGRAM, 0);
	bind(snd, (struct sockaddr *)&from_sa, from_len);
	r = (int)sendto(snd, "dgram", 5, 0, (struct sockaddr *)&sa, salen);
	struct sockaddr_un src;
	socklen_t srclen = sizeof src;
	n1 = recvfrom(again, buf, sizeof buf, 0, (struct sockaddr *)&src, &srclen);
	printf("sendto an abstract name: %d; recvfrom %d, sender address matches %s\n", r, (int)n1,
	       srclen == from_len && memcmp(&src, &from_sa, from_len) == 0 ? "yes" : "no");
	/* An unbound sender: only the family. */
	int anon = socket(AF_UNIX, SOCK_DGRAM, 0);
	sendto(anon, "anon", 4, 0, (struct sockaddr *)&sa, salen);
	srclen = sizeof src;
	n1 = recvfrom(again, buf, sizeof buf, 0, (struct sockaddr *)&src, &srclen);
	printf("from an unbound sender: %d bytes, address len %d\n", (int)n1, (int)srclen);
	/* connect() on a datagram socket sets the default destination; send without one fails. */
	errno = 0;
	r = (int)send(anon, "x", 1, 0);
	printf("send on an unconnected datagram socket: %d %s\n", r, errname(errno));
	connect(anon, (struct sockaddr *)&sa, salen);
	r = (int)send(anon, "connected", 9, 0);
	n1 = recv(again, buf, sizeof buf, 0);
	printf("after connect: send %d, received %d\n", r, (int)n1);
	struct sockaddr_un none = {.sun_family = AF_UNIX};
	strcpy(none.sun_path + 1, "nommu-no-such-name");
	errno = 0;
	r = (int)sendto(snd, "x", 1, 0, (struct sockaddr *)&none, (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 19));
	printf("sendto a name nobody has: %d %s\n", r, errname(errno));
	/* Autobind: bind with only the family. */
	int ab = socket(AF_UNIX, SOCK_DGRAM, 0);
	struct sockaddr_un fam = {.sun_family = AF_UNIX};
	r = bind(ab, (struct sockaddr *)&fam, sizeof(sa_family_t));
	glen = sizeof got;
	getsockname(ab, (struct sockaddr *)&got, &glen);
	printf("autobind: %d, name len %d, abstract %s\n", r, (int)glen, got.sun_path[0] == 0 ? "yes" : "no");
	close(ab);
	close(anon);
	close(snd);
	close(again);
}

static void test_options(void)
{
	int s = socket(AF_UNIX, SOCK_STREAM, 0);
	int v = 65536;
	setsockopt(s, SOL_SOCKET, SO_SNDBUF, &v, sizeof v);
	socklen_t len = sizeof v;
	getsockopt(s, SOL_SOCKET, SO_SNDBUF, &v, &len);
	int rv = 3000;
	setsockopt(s, SOL_SOCKET, SO_RCVBUF, &rv, sizeof rv);
	len = sizeof rv;
	getsockopt(s, SOL_SOCKET, SO_RCVBUF, &rv, &len);
	printf("SO_SNDBUF 65536 -> %d, SO_RCVBUF 3000 -> %d\n", v, rv);
	int one = 1, ra = -1;
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	len = sizeof ra;
	getsockopt(s, SOL_SOCKET, SO_REUSEADDR, &ra, &len);
	printf("SO_REUSEADDR: %d\n", ra);
	errno = 0;
	int r = setsockopt(s, SOL_SOCKET, SO_SNDBUF, &one, 2);
	printf("setsockopt with a short value: %d %s\n", r, errname(errno));
	errno = 0;
	r = getsockopt(s, SOL_SOCKET, 9999, &v, &len);
	printf("getsockopt of an unknown option: %d %s\n", r, errname(errno));
	char small[2];
	len = sizeof small;
	r = getsockopt(s, SOL_SOCKET, SO_TYPE, small, &len);
	printf("getsockopt into 2 bytes: %d len %d\n", r, (int)len);
	close(s);
	int sv[2];
	socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
	struct timeval tv = {0, 50000};
	setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	struct timeval back;
	len = sizeof back;
	getsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &back, &len);
	char c;
	errno = 0;
	ssize_t n = read(sv[0], &c, 1);
	/* Linux rounds the timeout up to its clock tick: only its range is portable. */
	printf("SO_RCVTIMEO 50 ms reads back as 50-60 ms: %s; read on an empty socket %d %s\n",
	       back.tv_sec == 0 && back.tv_usec >= 50000 && back.tv_usec <= 60000 ? "yes" : "no", (int)n, errname(errno));
	errno = 0;
	r = listen(sv[0], 1);
	printf("listen on a connected socket: %d %s\n", r, errname(errno));
	errno = 0;
	r = shutdown(sv[0], 7);
	printf("shutdown(7): %d %s\n", r, errname(errno));
	close(sv[0]);
	close(sv[1]);
	int d = socket(AF_UNIX, SOCK_DGRAM, 0);
	errno = 0;
	r = listen(d, 1);
	printf("listen on a datagram socket: %d %s\n", r, errname(errno));
	close(d);
	int u = socket(AF_UNIX, SOCK_STREAM, 0);
	errno = 0;
	r = listen(u, 1);
	printf("listen on an unbound stream socket: %d %s\n", r, errname(errno));
	errno = 0;
	n = read(u, &c, 1);
	printf("read on an unconnected stream socket: %d %s\n", (int)n, errname(errno));
	errno = 0;
	n = write(u, &c, 1);
	printf("write on an unconnected stream socket: %d %s\n", (int)n, errname(errno));
	errno = 0;
	r = getpeername(u, (struct sockaddr *)&tv, &len);
	printf("getpeername on an unconnected socket: %d %s\n", r, errname(errno));
	close(u);
}

/* Bad pointers and lengths: errors, never a crash. */
static void test_hostile(void)
{
	int sv[2];
	socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
	void *bad = (void *)1;
	socklen_t len = sizeof(struct sockaddr_un);
	int v = 1;
	errno = 0;
	int r = bind(sv[0], bad, 16);
	printf("bind(bad address): %d %s\n", r, errname(errno));
	errno = 0;
	r = getsockname(sv[0], bad, &len);
	printf("getsockname(bad address): %d %s\n", r, errname(errno));
	errno = 0;
	r = (int)sendto(sv[0], bad, 10, 0, NULL, 0);
	printf("send(bad buffer): %d %s\n", r, errname(errno));
	/* (A bad msghdr itself would fault in musl's wrapper, which copies it.) */
	send(sv[0], "y", 1, 0);
	struct msghdr mh = {0};
	mh.msg_iov = bad;
	mh.msg_iovlen = 1;
	errno = 0;
	r = (int)recvmsg(sv[1], &mh, 0);
	printf("recvmsg(bad iovec): %d %s\n", r, errname(errno));
	errno = 0;
	r = getsockopt(sv[0], SOL_SOCKET, SO_TYPE, bad, &len);
	printf("getsockopt(bad value): %d %s\n", r, errname(errno));
	errno = 0;
	r = getsockopt(sv[0], SOL_SOCKET, SO_TYPE, &v, bad);
	printf("getsockopt(bad length): %d %s\n", r, errname(errno));
	errno = 0;
	r = setsockopt(sv[0], SOL_SOCKET, SO_RCVBUF, &v, (socklen_t)-1);
	printf("setsockopt(length -1): %d %s\n", r, errname(errno));
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	errno = 0;
	r = connect(sv[0], (struct sockaddr *)&sa, 1000);
	printf("connect(length 1000): %d %s\n", r, errname(errno));
	errno = 0;
	r = socket(AF_UNIX, SOCK_STREAM | 0x1000, 0);
	printf("socket(unknown type flag): %d %s\n", r, errname(errno));
	close(sv[0]);
	close(sv[1]);
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	const char *dir = getenv("NOMMU_TEST_TMPDIR");
	if (!dir) {
		fprintf(stderr, "unix_sockets: NOMMU_TEST_TMPDIR not set\n");
		return 2;
	}
	signal(SIGPIPE, on_sigpipe);
	test_pair_basics();
	test_stream();
	test_dgram(SOCK_DGRAM);
	test_dgram(SOCK_SEQPACKET);
	test_scm_rights();
	test_credentials();
	test_pathname(dir);
	test_abstract();
	test_options();
	test_hostile();
	if (failures) {
		printf("unix_sockets: %d failures\n", failures);
		return 1;
	}
	printf("unix_sockets ok\n");
	return 0;
}
