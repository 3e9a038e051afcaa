/*
 * sieve [limit] [rounds]: sieve of Eratosthenes up to <limit> (default
 * 10000000), repeated <rounds> times (default 1). Prints the prime count.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv) {
  long limit = argc > 1 ? strtol(argv[1], NULL, 10) : 10000000;
  long rounds = argc > 2 ? strtol(argv[2], NULL, 10) : 1;
  if (limit < 2) limit = 2;
  unsigned char *composite = malloc((size_t)limit + 1);
  if (!composite) return 1;
  long count = 0;
  for (long r = 0; r < rounds; r++) {
    memset(composite, 0, (size_t)limit + 1);
    count = 0;
    for (long i = 2; i <= limit; i++) {
      if (composite[i]) continue;
      count++;
      for (long j = i * i; j <= limit; j += i) composite[j] = 1;
    }
  }
  printf("%ld primes <= %ld\n", count, limit);
  free(composite);
  return 0;
}
