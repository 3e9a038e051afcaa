/**
 * Restartable sequences and the one CPU: a thread stopped inside a critical
 * section while another thread of its process ran must restart at the
 * section's abort handler, or per-CPU data (every thread's "CPU" is CPU 0)
 * is corrupted. The guest's main thread spins in a section that only an
 * abort can leave while a second thread keeps the CPU busy: the scheduler's
 * slices switch between them. (Not differential: natively two CPUs let both
 * run at once, and the spin would never end.)
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runGuest } from './support.js';

const SOURCE = String.raw`
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

struct rseq_area { uint32_t cpu_id_start, cpu_id; uint64_t rseq_cs; uint32_t flags, node_id, mm_cid; char pad[4]; } __attribute__((aligned(32)));
static __thread struct rseq_area area;
static volatile int aborted, started;

static void *busy(void *arg) {
  (void)arg;
  while (!started) ;
  struct timespec a, b;
  clock_gettime(CLOCK_MONOTONIC, &a);
  do clock_gettime(CLOCK_MONOTONIC, &b); while ((b.tv_sec - a.tv_sec) * 1000000000L + b.tv_nsec - a.tv_nsec < 40000000L);
  return 0;
}

int main(void) {
  if (syscall(334, &area, sizeof area, 0, 0x53053053) != 0) { puts("register failed"); return 1; }
  pthread_t t;
  pthread_create(&t, 0, busy, 0);
  started = 1;
  __asm__ volatile(
    ".pushsection __rseq_cs_test, \"aw\"\n.balign 32\n5:\n.long 0, 0\n.quad 1f, 2f - 1f, 4f\n.popsection\n"
    "leaq 5b(%%rip), %%rax\nmovq %%rax, %[cs]\n"
    "1:\njmp 1b\n2:\n.byte 0x0f, 0xb9, 0x3d\n.long 0x53053053\n4:\nmovl $1, %[ab]\n"
    : [cs] "=m"(area.rseq_cs), [ab] "=m"(aborted) : : "rax", "memory");
  pthread_join(t, 0);
  printf("aborted %d, rseq_cs %llu, cpu_id %u\n", aborted, (unsigned long long)area.rseq_cs, area.cpu_id);
  return 0;
}
`;

let root = '';
beforeAll(() => {
  root = fs.mkdtempSync(path.join(tmpdir(), 'nommu-rseq-'));
  fs.writeFileSync(path.join(root, 'rseq.c'), SOURCE);
  execFileSync('musl-gcc', ['-static', '-O1', '-o', path.join(root, 'rseq'), path.join(root, 'rseq.c')]);
});
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

describe('rseq on one CPU', () => {
  it('a thread stopped in a critical section while another thread ran goes on at the abort handler', async () => {
    const r = await runGuest({ path: '/rseq', argv: ['rseq'], cwd: '/' }, { root, timeoutMs: 10_000 });
    expect(r.timedOut).toBe(false);
    expect(r.stdout).toBe('aborted 1, rseq_cs 0, cpu_id 0\n');
    expect(r.status.code).toBe(0);
  });
});
