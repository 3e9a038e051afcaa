/* Writes one line to stdout and one to stderr, then exits with the status
 * given as argv[1] (default 0). */
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
	long code = 0;
	if (argc > 1) {
		char *end;
		code = strtol(argv[1], &end, 10);
		if (*argv[1] == 0 || *end != 0) {
			fprintf(stderr, "exit_code: bad status '%s'\n", argv[1]);
			return 2;
		}
	}
	printf("exit_code: exiting with %ld\n", code);
	fprintf(stderr, "exit_code: this goes to stderr\n");
	/* exit() must flush stdout even though it is a pipe (fully buffered). */
	exit((int)code);
}
