/* unix_server <path> <count>: listens on a pathname AF_UNIX socket and
 * serves <count> connections one after the other: reads until the client
 * shuts down writing, answers the bytes reversed, closes. Prints what each
 * client sent. A host process may be the client. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc < 3)
		return 2;
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	snprintf(a.sun_path, sizeof a.sun_path, "%s", argv[1]);
	unlink(argv[1]);
	int l = socket(AF_UNIX, SOCK_STREAM, 0);
	if (bind(l, (struct sockaddr *)&a, sizeof a) != 0 || listen(l, 4) != 0) {
		perror("bind/listen");
		return 1;
	}
	for (int i = 0; i < atoi(argv[2]); i++) {
		int c = accept(l, NULL, NULL);
		if (c < 0) {
			perror("accept");
			return 1;
		}
		char buf[4096];
		ssize_t n, total = 0;
		while ((n = read(c, buf + total, sizeof buf - total)) > 0)
			total += n;
		printf("got %zd bytes: %.*s\n", total, (int)total, buf);
		fflush(stdout);
		for (ssize_t j = 0; j < total / 2; j++) {
			char t = buf[j];
			buf[j] = buf[total - 1 - j];
			buf[total - 1 - j] = t;
		}
		if (write(c, buf, total) != total)
			perror("write");
		close(c);
	}
	close(l);
	return 0;
}
