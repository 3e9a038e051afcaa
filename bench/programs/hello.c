/* hello: the static "hello world" used for start-up time and by lat's exec benchmarks. */
#include <unistd.h>

int main(void) {
  static const char msg[] = "hello, world\n";
  return write(1, msg, sizeof msg - 1) == (long)(sizeof msg - 1) ? 0 : 1;
}
