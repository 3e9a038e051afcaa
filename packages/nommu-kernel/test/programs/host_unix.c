/* host_unix <socket path> <regular file>: a guest client of a socket a host
 * process listens on. Sends a line, shuts down writing, prints what comes
 * back until the host closes; then a non-blocking connect (at once or
 * EINPROGRESS, then POLLOUT and SO_ERROR 0) sends a second line; and the refusals: a missing path
 * (ENOENT) and a regular file (ECONNREFUSED). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static int connect_to(const char *path, int flags)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	snprintf(a.sun_path, sizeof a.sun_path, "%s", path);
	int s = socket(AF_UNIX, SOCK_STREAM | flags, 0);
	if (connect(s, (struct sockaddr *)&a, sizeof a) != 0) {
		int e = errno;
		close(s);
		errno = e;
		return -1;
	}
	return s;
}

static void exchange(int s, const char *line)
{
	if (write(s, line, strlen(line)) != (ssize_t)strlen(line) || shutdown(s, SHUT_WR) != 0)
		printf("write failed: %s\n", strerror(errno));
	char buf[256];
	ssize_t n, total = 0;
	while ((n = read(s, buf + total, sizeof buf - 1 - total)) > 0)
		total += n;
	buf[total] = 0;
	printf("reply: %s", buf);
}

int main(int argc, char **argv)
{
	if (argc < 3)
		return 2;
	int s = connect_to(argv[1], 0);
	if (s < 0) {
		printf("connect: %s\n", strerror(errno));
		return 1;
	}
	struct sockaddr_un peer;
	socklen_t len = sizeof peer;
	if (getpeername(s, (struct sockaddr *)&peer, &len) == 0)
		printf("peer: %s\n", strcmp(peer.sun_path, argv[1]) == 0 ? "the path" : peer.sun_path);
	exchange(s, "hello host\n");
	close(s);

	/* Non-blocking: at once (as natively) or EINPROGRESS, then writable with SO_ERROR 0. */
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	snprintf(a.sun_path, sizeof a.sun_path, "%s", argv[1]);
	s = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
	int r = connect(s, (struct sockaddr *)&a, sizeof a);
	printf("non-blocking connect: %s\n", r == 0 || errno == EINPROGRESS ? "ok" : strerror(errno));
	struct pollfd p = {s, POLLOUT, 0};
	int err = -1;
	socklen_t el = sizeof err;
	poll(&p, 1, 5000);
	getsockopt(s, SOL_SOCKET, SO_ERROR, &err, &el);
	printf("POLLOUT %d, SO_ERROR %d\n", (p.revents & POLLOUT) != 0, err);
	fcntl(s, F_SETFL, 0);
	exchange(s, "second\n");
	close(s);
	printf("missing path: %s\n", connect_to("/nonexistent-nommu-socket", 0) < 0 ? strerror(errno) : "connected");
	printf("regular file: %s\n", connect_to(argv[2], 0) < 0 ? strerror(errno) : "connected");
	return 0;
}
