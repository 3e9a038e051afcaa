import type { Task } from '../task/task.js';

/**
 * The tasks parked until something about one object changes (a pipe gained
 * data, a counter moved, a signal arrived): Linux's wait_queue_head. A task
 * joins with `add` before it blocks; `wake` makes every waiter runnable (its
 * syscall runs again and looks). A woken task leaves every queue it had joined
 * (the kernel's wakeUp does that), so a stale registration never wakes it
 * later in some other wait.
 */
export class WaitQueue {
  /** Bumped at every wake: edge-triggered epoll reports a file once per change. */
  seq = 0;
  readonly #tasks = new Set<Task>();

  constructor(
    /** Woken from Node's event loop (host input, host timers) rather than by another guest task. */
    readonly host = false,
  ) {}

  add(task: Task): void {
    if (this.#tasks.has(task)) return;
    this.#tasks.add(task);
    task.waitQueues.push(this);
  }

  /** Called by the kernel when `task` wakes for any reason. */
  remove(task: Task): void {
    this.#tasks.delete(task);
  }

  get waiters(): number {
    return this.#tasks.size;
  }

  /** Something changed: every waiter runs its syscall again. */
  wake(): void {
    this.seq++;
    if (this.#tasks.size === 0) return;
    const tasks = [...this.#tasks];
    this.#tasks.clear();
    for (const t of tasks) t.kernel.wakeUp(t, false);
  }
}
