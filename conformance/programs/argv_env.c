/* Prints argc, the arguments, and the NOMMU_TEST_* environment variables in
 * name order. argv[0] is printed as its basename only, because the path of
 * the executable differs between build variants. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern char **environ;

static const char PREFIX[] = "NOMMU_TEST_";

static int cmp_env(const void *a, const void *b)
{
	const char *x = *(const char *const *)a, *y = *(const char *const *)b;
	/* Compare names only (up to '='), then the whole string. */
	size_t nx = strcspn(x, "="), ny = strcspn(y, "=");
	size_t n = nx < ny ? nx : ny;
	int c = memcmp(x, y, n);
	if (c != 0)
		return c;
	if (nx != ny)
		return nx < ny ? -1 : 1;
	return strcmp(x, y);
}

int main(int argc, char **argv)
{
	printf("argc=%d\n", argc);
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		if (i == 0) {
			const char *slash = strrchr(a, '/');
			if (slash)
				a = slash + 1;
			printf("argv[0] basename=[%s]\n", a);
		} else {
			printf("argv[%d]=[%s]\n", i, a);
		}
	}
	if (argv[argc] != NULL) {
		printf("argv[argc] is not NULL\n");
		return 1;
	}

	size_t n = 0;
	for (char **e = environ; *e; e++)
		if (strncmp(*e, PREFIX, sizeof PREFIX - 1) == 0)
			n++;
	const char **list = calloc(n + 1, sizeof *list);
	if (!list)
		return 1;
	size_t k = 0;
	for (char **e = environ; *e; e++)
		if (strncmp(*e, PREFIX, sizeof PREFIX - 1) == 0)
			list[k++] = *e;
	qsort(list, n, sizeof *list, cmp_env);
	printf("NOMMU_TEST_ vars=%zu\n", n);
	for (size_t i = 0; i < n; i++)
		printf("env %s\n", list[i]);

	/* getenv must agree with environ. */
	for (size_t i = 0; i < n; i++) {
		size_t nl = strcspn(list[i], "=");
		char name[256];
		if (nl >= sizeof name)
			continue;
		memcpy(name, list[i], nl);
		name[nl] = 0;
		const char *v = getenv(name);
		if (!v || strcmp(v, list[i] + nl + (list[i][nl] == '=')) != 0) {
			printf("getenv(%s) disagrees with environ\n", name);
			return 1;
		}
	}
	free(list);
	return 0;
}
