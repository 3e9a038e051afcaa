/*
 * timeit: runs a program and reports how long it took, seen from inside the
 * runner (for nommu: without Node's and nommu's own start-up).
 *
 *   timeit <program> [args...]
 *
 * vfork + execvp(<program>) + waitpid between two
 * clock_gettime(CLOCK_MONOTONIC) calls; the program's stdin, stdout and stderr
 * are timeit's own. Then prints "timeit: <nanoseconds> ns" as the last line on
 * stderr and exits with the program's status (128 + signal number if it was
 * killed). Built as a static PIE (bench/out/timeit-pie) so that it does not
 * share 0x400000 with the static programs it runs.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: timeit <program> [args...]\n");
    return 2;
  }
  double t0 = now_ns();
  pid_t pid = vfork();
  if (pid < 0) {
    fprintf(stderr, "timeit: vfork: %s\n", strerror(errno));
    return 126;
  }
  if (pid == 0) {
    execvp(argv[1], argv + 1);
    _exit(127);
  }
  int st;
  if (waitpid(pid, &st, 0) != pid) {
    fprintf(stderr, "timeit: waitpid: %s\n", strerror(errno));
    return 126;
  }
  double t1 = now_ns();
  fprintf(stderr, "timeit: %.0f ns\n", t1 - t0);
  return WIFSIGNALED(st) ? 128 + WTERMSIG(st) : WEXITSTATUS(st);
}
