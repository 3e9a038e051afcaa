import { E, errno, type Task } from '@nommu/kernel';

/** A struct timespec in guest memory, as nanoseconds; EINVAL for a negative or unnormalised one. */
export function readTimespec(task: Task, addr: number): bigint {
  const mem = task.kernel.mem;
  const sec = mem.i64(addr);
  const nsec = mem.i64(addr + 8);
  if (sec < 0n || nsec < 0n || nsec >= 1_000_000_000n) throw errno(E.EINVAL);
  return sec * 1_000_000_000n + nsec;
}

/** The same for an optional pointer: NULL means no timeout (null). */
export function readTimeout(task: Task, addr: number): bigint | null {
  return addr === 0 ? null : readTimespec(task, addr);
}
