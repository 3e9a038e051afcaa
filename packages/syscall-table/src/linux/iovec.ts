/** User I/O vectors (struct iovec[]), read as Linux's import_iovec reads them. */
import { E, errno, type Task } from '@nommu/kernel';

/** MAX_RW_COUNT: what one transfer moves at most (INT_MAX rounded down to a page). */
export const MAX_RW = 0x7ffff000;
/** UIO_MAXIOV: the most vectors one call takes. */
export const UIO_MAXIOV = 1024;
const SSIZE_MAX = 2n ** 63n - 1n;

/**
 * struct iovec[count] at `addr` as [base, len] pairs: EINVAL past UIO_MAXIOV
 * vectors (a negative count too: it is unsigned) or for a length negative as
 * ssize_t. With `cut`, the lengths past a total of MAX_RW are shortened, as
 * one transfer moves no more (process_vm_*'s remote vectors are not cut).
 */
export function readIovecs(task: Task, addr: number, count: number | bigint, cut = true): [number, number][] {
  const n = BigInt(count);
  if (n < 0n || n > BigInt(UIO_MAXIOV)) throw errno(E.EINVAL);
  const mem = task.kernel.mem;
  const out: [number, number][] = [];
  let total = 0;
  for (let i = 0; i < Number(n); i++) {
    const base = mem.ptr(addr + i * 16);
    const raw = mem.u64(addr + i * 16 + 8);
    if (raw > SSIZE_MAX) throw errno(E.EINVAL);
    let len = Number(raw);
    if (cut) {
      len = Math.min(len, MAX_RW - total);
      total += len;
    }
    out.push([base, len]);
  }
  return out;
}
