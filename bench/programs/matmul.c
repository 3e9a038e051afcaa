/*
 * matmul [n] [rounds]: n x n double matrix multiply C = A * B (default
 * n = 200), repeated <rounds> times (default 1). Prints a checksum of C.
 */
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
  int n = argc > 1 ? atoi(argv[1]) : 200;
  int rounds = argc > 2 ? atoi(argv[2]) : 1;
  if (n < 1) n = 1;
  double *a = malloc(sizeof(double) * n * n);
  double *b = malloc(sizeof(double) * n * n);
  double *c = malloc(sizeof(double) * n * n);
  if (!a || !b || !c) return 1;
  for (int i = 0; i < n; i++)
    for (int j = 0; j < n; j++) {
      a[i * n + j] = (double)((i * 7 + j * 3) % 17) / 16.0;
      b[i * n + j] = (double)((i * 5 + j * 11) % 13) / 12.0;
    }
  double sum = 0;
  for (int r = 0; r < rounds; r++) {
    for (int i = 0; i < n; i++)
      for (int j = 0; j < n; j++) {
        double s = 0;
        for (int k = 0; k < n; k++) s += a[i * n + k] * b[k * n + j];
        c[i * n + j] = s + r;
      }
    for (int i = 0; i < n * n; i++) sum += c[i];
  }
  printf("checksum %.6f\n", sum);
  free(a);
  free(b);
  free(c);
  return 0;
}
