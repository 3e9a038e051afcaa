/* AF_INET / AF_INET6 sockets on loopback: a TCP echo server and a forked
 * client (IPv4 and IPv6), getsockname/getpeername agreeing on both ends,
 * half-close with shutdown(SHUT_WR), 1 MiB through TCP, non-blocking connect
 * (EINPROGRESS, poll, SO_ERROR), a refused connect, EADDRINUSE, accept4 flags,
 * EPIPE and SIGPIPE after the peer is gone, TCP and socket options, and UDP
 * (sendto/recvfrom with addresses, connected sends, MSG_PEEK, MSG_TRUNC,
 * EAGAIN). Ports are ephemeral and never printed.
 *
 * Other modes, for tests against the host:
 *   inet_sockets serve       echo one TCP connection on 127.0.0.1 (prints "port N" first)
 *   inet_sockets connect N   connect to 127.0.0.1:N, send a line, print the reply */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
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

static int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static ssize_t read_full(int fd, void *buf, size_t len)
{
	char *p = buf;
	size_t got = 0;
	while (got < len) {
		ssize_t n = read(fd, p + got, len - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

typedef union {
	struct sockaddr sa;
	struct sockaddr_in in;
	struct sockaddr_in6 in6;
	struct sockaddr_storage ss;
} addr_t;

static socklen_t loopback(int family, addr_t *a, int port)
{
	memset(a, 0, sizeof *a);
	if (family == AF_INET) {
		a->in.sin_family = AF_INET;
		a->in.sin_port = htons((uint16_t)port);
		a->in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		return sizeof a->in;
	}
	a->in6.sin6_family = AF_INET6;
	a->in6.sin6_port = htons((uint16_t)port);
	a->in6.sin6_addr = in6addr_loopback;
	return sizeof a->in6;
}

static int port_of(const addr_t *a)
{
	return ntohs(a->sa.sa_family == AF_INET ? a->in.sin_port : a->in6.sin6_port);
}

static int same_addr(const addr_t *x, const addr_t *y)
{
	if (x->sa.sa_family != y->sa.sa_family)
		return 0;
	if (x->sa.sa_family == AF_INET)
		return x->in.sin_port == y->in.sin_port && x->in.sin_addr.s_addr == y->in.sin_addr.s_addr;
	return x->in6.sin6_port == y->in6.sin6_port && memcmp(&x->in6.sin6_addr, &y->in6.sin6_addr, 16) == 0;
}

static const char *addr_text(const addr_t *a, char *buf, size_t len)
{
	const void *src = a->sa.sa_family == AF_INET ? (const void *)&a->in.sin_addr : (const void *)&a->in6.sin6_addr;
	return inet_ntop(a->sa.sa_family, src, buf, (socklen_t)len);
}

/* A listening TCP socket on loopback, ephemeral port; fills *a with its address. */
static int tcp_listener(int family, addr_t *a)
{
	int s = socket(family, SOCK_STREAM, 0);
	int one = 1;
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	socklen_t len = loopback(family, a, 0);
	if (bind(s, &a->sa, len) != 0 || listen(s, 8) != 0) {
		printf("FAIL listener: %s\n", errname(errno));
		failures++;
	}
	len = sizeof *a;
	getsockname(s, &a->sa, &len);
	return s;
}

static void test_tcp_echo(int family)
{
	const char *fam = family == AF_INET ? "IPv4" : "IPv6";
	addr_t srv;
	int ls = tcp_listener(family, &srv);
	char text[64];
	printf("%s listener on %s, ephemeral port %s\n", fam, addr_text(&srv, text, sizeof text), port_of(&srv) > 0 ? "yes" : "no");
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		close(ls);
		int c = socket(family, SOCK_STREAM, 0);
		addr_t to = srv;
		if (connect(c, &to.sa, family == AF_INET ? sizeof to.in : sizeof to.in6) != 0)
			_exit(1);
		addr_t peer;
		socklen_t plen = sizeof peer;
		getpeername(c, &peer.sa, &plen);
		if (!same_addr(&peer, &srv))
			_exit(2);
		const char *msgs[] = {"hello", "echo server", "bye"};
		for (int i = 0; i < 3; i++) {
			char buf[64];
			size_t n = strlen(msgs[i]);
			if (write_all(c, msgs[i], n) != 0 || read_full(c, buf, n) != (ssize_t)n || memcmp(buf, msgs[i], n) != 0)
				_exit(3);
		}
		/* Half-close: the server sees EOF, then sends a last word we still read. */
		shutdown(c, SHUT_WR);
		char buf[64];
		ssize_t n = read_full(c, buf, sizeof buf);
		if (n != 4 || memcmp(buf, "done", 4) != 0)
			_exit(4);
		_exit(0);
	}
	addr_t peer, mine;
	socklen_t plen = sizeof peer;
	int s = accept(ls, &peer.sa, &plen);
	socklen_t mlen = sizeof mine;
	getsockname(s, &mine.sa, &mlen);
	printf("%s accept: %s, peer family %s, peer address %s, local address is the listener's %s\n", fam, s >= 0 ? "ok" : errname(errno),
	       peer.sa.sa_family == family ? "ok" : "wrong", addr_text(&peer, text, sizeof text), same_addr(&mine, &srv) ? "yes" : "no");
	char buf[256];
	long echoed = 0;
	ssize_t n;
	while ((n = read(s, buf, sizeof buf)) > 0) {
		write_all(s, buf, (size_t)n);
		echoed += n;
	}
	printf("%s server echoed %ld bytes, then EOF (%d)\n", fam, echoed, (int)n);
	write_all(s, "done", 4);
	close(s);
	check(wait_exit(pid) == 0, family == AF_INET ? "IPv4 client: echoes, peer name, half-close" : "IPv6 client: echoes, peer name, half-close");
	close(ls);
}

static uint32_t checksum(const uint8_t *p, size_t n)
{
	uint32_t a = 1, b = 0;
	for (size_t i = 0; i < n; i++) {
		a = (a + p[i]) % 65521;
		b = (b + a) % 65521;
	}
	return (b << 16) | a;
}

#define BULK (1u << 20)

static void test_tcp_bulk(void)
{
	addr_t srv;
	int ls = tcp_listener(AF_INET, &srv);
	uint8_t *data = malloc(BULK);
	uint32_t x = 7;
	for (size_t i = 0; i < BULK; i++) {
		x = x * 1103515245u + 12345u;
		data[i] = (uint8_t)(x >> 16);
	}
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		int c = socket(AF_INET, SOCK_STREAM, 0);
		if (connect(c, &srv.sa, sizeof srv.in) != 0)
			_exit(1);
		for (size_t off = 0; off < BULK;) {
			size_t len = 1000 + off % 7000;
			if (len > BULK - off)
				len = BULK - off;
			if (write_all(c, data + off, len) != 0)
				_exit(2);
			off += len;
		}
		close(c);
		_exit(0);
	}
	int s = accept(ls, NULL, NULL);
	uint8_t *back = malloc(BULK + 1);
	ssize_t n = read_full(s, back, BULK + 1);
	printf("TCP bulk: received %ld bytes, checksum matches %s\n", (long)n,
	       n == (ssize_t)BULK && checksum(back, BULK) == checksum(data, BULK) ? "yes" : "no");
	check(wait_exit(pid) == 0, "bulk sender finished");
	close(s);
	close(ls);
	free(data);
	free(back);
}

static void test_tcp_nonblocking(void)
{
	addr_t srv;
	int ls = tcp_listener(AF_INET, &srv);
	fcntl(ls, F_SETFL, O_NONBLOCK);
	errno = 0;
	int r = accept(ls, NULL, NULL);
	printf("accept on an idle non-blocking listener: %d %s\n", r, errname(errno));
	int c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	errno = 0;
	r = connect(c, &srv.sa, sizeof srv.in);
	int e = errno;
	struct pollfd pf = {c, POLLOUT, 0};
	int pr = poll(&pf, 1, 5000);
	int err = -1;
	socklen_t len = sizeof err;
	getsockopt(c, SOL_SOCKET, SO_ERROR, &err, &len);
	printf("non-blocking connect: %d %s; poll %d POLLOUT %d; SO_ERROR %d\n", r, r == 0 ? "(done at once)" : errname(e), pr,
	       !!(pf.revents & POLLOUT), err);
	errno = 0;
	r = connect(c, &srv.sa, sizeof srv.in);
	printf("connect once more: %d %s\n", r, errname(errno));
	struct pollfd lp = {ls, POLLIN, 0};
	pr = poll(&lp, 1, 5000);
	int s = accept4(ls, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	printf("listener poll %d POLLIN %d; accept4: %s, O_NONBLOCK %d, FD_CLOEXEC %d\n", pr, !!(lp.revents & POLLIN),
	       s >= 0 ? "ok" : errname(errno), !!(fcntl(s, F_GETFL) & O_NONBLOCK), fcntl(s, F_GETFD) & FD_CLOEXEC);
	char buf[16];
	errno = 0;
	ssize_t n = read(s, buf, sizeof buf);
	printf("read on an empty non-blocking connection: %d %s\n", (int)n, errname(errno));
	send(c, "ping", 4, 0);
	pf.fd = s;
	pf.events = POLLIN;
	pf.revents = 0;
	pr = poll(&pf, 1, 5000);
	n = recv(s, buf, sizeof buf, MSG_PEEK);
	ssize_t m = recv(s, buf, sizeof buf, 0);
	printf("poll %d POLLIN %d; MSG_PEEK %d, recv %d \"%.*s\"\n", pr, !!(pf.revents & POLLIN), (int)n, (int)m, (int)m, buf);

	/* The peer goes: EOF, then writes fail with EPIPE and SIGPIPE. */
	close(c);
	fcntl(s, F_SETFL, 0);
	n = read(s, buf, sizeof buf);
	printf("read after the peer closed: %d\n", (int)n);
	sigpipes = 0;
	int first = (int)write(s, "x", 1);
	int e2 = 0;
	for (int i = 0; i < 200 && e2 == 0; i++) {
		usleep(10000);
		if (send(s, "x", 1, MSG_NOSIGNAL) < 0)
			e2 = errno;
	}
	int got_sig_before = sigpipes;
	errno = 0;
	n = write(s, "x", 1);
	e = errno;
	printf("write to a closed peer: first %d; later MSG_NOSIGNAL %s (SIGPIPE %d)", first, errname(e2), got_sig_before);
	printf("; then write %d %s, SIGPIPE %d\n", (int)n, errname(e), (int)sigpipes);
	close(s);

	/* A refused connection, blocking and not. */
	addr_t dead;
	int tmp = tcp_listener(AF_INET, &dead);
	close(tmp);
	int d = socket(AF_INET, SOCK_STREAM, 0);
	errno = 0;
	r = connect(d, &dead.sa, sizeof dead.in);
	printf("connect to a closed port: %d %s\n", r, errname(errno));
	close(d);
	d = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	errno = 0;
	r = connect(d, &dead.sa, sizeof dead.in);
	e = errno;
	pf.fd = d;
	pf.events = POLLOUT;
	pf.revents = 0;
	pr = poll(&pf, 1, 5000);
	len = sizeof err;
	getsockopt(d, SOL_SOCKET, SO_ERROR, &err, &len);
	int err2 = -1;
	getsockopt(d, SOL_SOCKET, SO_ERROR, &err2, &len);
	printf("non-blocking connect to a closed port: %d %s", r, errname(e));
	printf("; poll %d POLLOUT %d POLLERR %d; SO_ERROR %s then %d\n", pr, !!(pf.revents & POLLOUT), !!(pf.revents & POLLERR),
	       errname(err), err2);
	close(d);

	/* Port 0 is nobody's. */
	addr_t zero;
	d = socket(AF_INET, SOCK_STREAM, 0);
	errno = 0;
	r = connect(d, &zero.sa, loopback(AF_INET, &zero, 0));
	printf("connect to port 0: %d %s\n", r, errname(errno));
	close(d);

	/* The same port twice. */
	int b = socket(AF_INET, SOCK_STREAM, 0);
	errno = 0;
	r = bind(b, &srv.sa, sizeof srv.in);
	printf("bind to a port someone listens on: %d %s\n", r, errname(errno));
	close(b);
	close(ls);
}

static void test_tcp_options(void)
{
	int s = socket(AF_INET, SOCK_STREAM, 0);
	int v = -1, one = 1;
	socklen_t len = sizeof v;
	getsockopt(s, IPPROTO_TCP, TCP_NODELAY, &v, &len);
	printf("TCP_NODELAY initially %d", v);
	setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	len = sizeof v;
	getsockopt(s, IPPROTO_TCP, TCP_NODELAY, &v, &len);
	printf(", after setting %d\n", v);
	setsockopt(s, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
	len = sizeof v;
	getsockopt(s, SOL_SOCKET, SO_KEEPALIVE, &v, &len);
	printf("SO_KEEPALIVE %d\n", v);
	int idle = 30;
	setsockopt(s, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle);
	len = sizeof v;
	getsockopt(s, IPPROTO_TCP, TCP_KEEPIDLE, &v, &len);
	printf("TCP_KEEPIDLE %d\n", v);
	int type = 0, proto = 0, domain = 0;
	len = sizeof type;
	getsockopt(s, SOL_SOCKET, SO_TYPE, &type, &len);
	len = sizeof proto;
	getsockopt(s, SOL_SOCKET, SO_PROTOCOL, &proto, &len);
	len = sizeof domain;
	getsockopt(s, SOL_SOCKET, SO_DOMAIN, &domain, &len);
	printf("SO_TYPE %d SO_PROTOCOL %d SO_DOMAIN %d\n", type, proto, domain);
	v = 65536;
	setsockopt(s, SOL_SOCKET, SO_RCVBUF, &v, sizeof v);
	len = sizeof v;
	getsockopt(s, SOL_SOCKET, SO_RCVBUF, &v, &len);
	printf("SO_RCVBUF 65536 -> %d\n", v);
	int ttl = 33;
	setsockopt(s, IPPROTO_IP, IP_TTL, &ttl, sizeof ttl);
	len = sizeof v;
	getsockopt(s, IPPROTO_IP, IP_TTL, &v, &len);
	printf("IP_TTL %d\n", v);
	errno = 0;
	int r = setsockopt(s, IPPROTO_TCP, 12345, &one, sizeof one);
	printf("unknown TCP option: %d %s\n", r, errname(errno));
	addr_t a;
	len = sizeof a;
	getsockname(s, &a.sa, &len);
	char text[64];
	printf("getsockname before bind: family %d, %s port %d, len %d\n", a.sa.sa_family, addr_text(&a, text, sizeof text), port_of(&a),
	       (int)len);
	errno = 0;
	r = getpeername(s, &a.sa, &len);
	printf("getpeername before connect: %d %s\n", r, errname(errno));
	errno = 0;
	char c;
	r = (int)recv(s, &c, 1, 0);
	printf("recv before connect: %d %s\n", r, errname(errno));
	errno = 0;
	r = shutdown(s, SHUT_RDWR);
	printf("shutdown before connect: %d %s\n", r, errname(errno));
	struct sockaddr_in6 wrong = {.sin6_family = AF_INET6};
	errno = 0;
	r = bind(s, (struct sockaddr *)&wrong, sizeof wrong);
	printf("bind an IPv4 socket to an IPv6 address: %d %s\n", r, errname(errno));
	errno = 0;
	r = bind(s, (struct sockaddr *)&a.in, 4);
	printf("bind with a short address: %d %s\n", r, errname(errno));
	close(s);
	errno = 0;
	r = socket(AF_INET, SOCK_STREAM, IPPROTO_UDP);
	printf("socket(AF_INET, SOCK_STREAM, IPPROTO_UDP): %d %s\n", r, errname(errno));
}

static void test_udp(int family)
{
	const char *fam = family == AF_INET ? "IPv4" : "IPv6";
	addr_t a, b;
	int sa = socket(family, SOCK_DGRAM, 0);
	int sb = socket(family, SOCK_DGRAM, 0);
	socklen_t len = loopback(family, &a, 0);
	bind(sa, &a.sa, len);
	len = loopback(family, &b, 0);
	bind(sb, &b.sa, len);
	len = sizeof a;
	getsockname(sa, &a.sa, &len);
	len = sizeof b;
	getsockname(sb, &b.sa, &len);
	int type = 0;
	len = sizeof type;
	getsockopt(sa, SOL_SOCKET, SO_TYPE, &type, &len);
	ssize_t n = sendto(sa, "first datagram", 14, 0, &b.sa, family == AF_INET ? sizeof b.in : sizeof b.in6);
	sendto(sa, "2nd", 3, 0, &b.sa, family == AF_INET ? sizeof b.in : sizeof b.in6);
	struct pollfd pf = {sb, POLLIN, 0};
	int pr = poll(&pf, 1, 5000);
	char buf[64];
	addr_t from;
	socklen_t flen = sizeof from;
	ssize_t p = recvfrom(sb, buf, sizeof buf, MSG_PEEK, &from.sa, &flen);
	flen = sizeof from;
	ssize_t m = recvfrom(sb, buf, 5, 0, &from.sa, &flen);
	printf("%s UDP: SO_TYPE %d, sendto %d, poll %d, peek %d, recvfrom into 5 bytes %d \"%.*s\", from the sender %s\n", fam, type,
	       (int)n, pr, (int)p, (int)m, (int)m, buf, same_addr(&from, &a) ? "yes" : "no");
	struct iovec iov = {buf, 2};
	struct msghdr mh = {0};
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	pf.revents = 0;
	poll(&pf, 1, 5000);
	m = recvmsg(sb, &mh, 0);
	printf("%s UDP: recvmsg into 2 bytes %d, MSG_TRUNC %d\n", fam, (int)m, !!(mh.msg_flags & MSG_TRUNC));
	errno = 0;
	m = recv(sb, buf, sizeof buf, MSG_DONTWAIT);
	printf("%s UDP: empty MSG_DONTWAIT %d %s\n", fam, (int)m, errname(errno));
	/* Connected: send() without an address; getpeername. */
	connect(sb, &a.sa, family == AF_INET ? sizeof a.in : sizeof a.in6);
	addr_t peer;
	socklen_t plen = sizeof peer;
	int g = getpeername(sb, &peer.sa, &plen);
	n = send(sb, "reply", 5, 0);
	pf.fd = sa;
	pf.revents = 0;
	poll(&pf, 1, 5000);
	flen = sizeof from;
	m = recvfrom(sa, buf, sizeof buf, 0, &from.sa, &flen);
	printf("%s UDP: connected getpeername %d matches %s; send %d; received %d from it %s\n", fam, g, same_addr(&peer, &a) ? "yes" : "no",
	       (int)n, (int)m, same_addr(&from, &b) ? "yes" : "no");
	errno = 0;
	int u = socket(family, SOCK_DGRAM, 0);
	n = send(u, "x", 1, 0);
	printf("%s UDP: send without a destination: %d %s\n", fam, (int)n, errname(errno));
	/* An unbound socket gets a port when it sends. */
	n = sendto(u, "auto", 4, 0, &a.sa, family == AF_INET ? sizeof a.in : sizeof a.in6);
	addr_t ua;
	len = sizeof ua;
	getsockname(u, &ua.sa, &len);
	pf.revents = 0;
	poll(&pf, 1, 5000);
	flen = sizeof from;
	m = recvfrom(sa, buf, sizeof buf, 0, &from.sa, &flen);
	printf("%s UDP: unbound sendto %d, now has a port %s, received %d from that port %s\n", fam, (int)n, port_of(&ua) > 0 ? "yes" : "no",
	       (int)m, port_of(&from) == port_of(&ua) ? "yes" : "no");
	close(u);
	close(sa);
	close(sb);
}

/* Host-test modes. */
static int serve(void)
{
	addr_t a;
	int ls = tcp_listener(AF_INET, &a);
	printf("port %d\n", port_of(&a));
	fflush(stdout);
	int s = accept(ls, NULL, NULL);
	if (s < 0)
		return 1;
	char buf[512];
	ssize_t n;
	long total = 0;
	while ((n = read(s, buf, sizeof buf)) > 0) {
		write_all(s, buf, (size_t)n);
		total += n;
	}
	printf("echoed %ld bytes\n", total);
	close(s);
	close(ls);
	return 0;
}

static int client(int port)
{
	addr_t a;
	socklen_t len = loopback(AF_INET, &a, port);
	int c = socket(AF_INET, SOCK_STREAM, 0);
	if (connect(c, &a.sa, len) != 0) {
		printf("connect: %s\n", errname(errno));
		return 1;
	}
	const char *line = "hello from the guest\n";
	write_all(c, line, strlen(line));
	shutdown(c, SHUT_WR);
	char buf[512];
	ssize_t n = read_full(c, buf, sizeof buf - 1);
	printf("reply: %.*s", n > 0 ? (int)n : 0, buf);
	close(c);
	return 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGPIPE, on_sigpipe);
	if (argc == 2 && strcmp(argv[1], "serve") == 0)
		return serve();
	if (argc == 3 && strcmp(argv[1], "connect") == 0)
		return client(atoi(argv[2]));
	test_tcp_echo(AF_INET);
	test_tcp_echo(AF_INET6);
	test_tcp_bulk();
	test_tcp_nonblocking();
	test_tcp_options();
	test_udp(AF_INET);
	test_udp(AF_INET6);
	if (failures) {
		printf("inet_sockets: %d failures\n", failures);
		return 1;
	}
	printf("inet_sockets ok\n");
	return 0;
}
