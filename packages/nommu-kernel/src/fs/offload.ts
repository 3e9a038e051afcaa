import type { FileOffload } from '@nommu/x86-cpu';
import { filesGeneration, type FdTable } from './file.js';

/**
 * Keeps a CPU backend's offload table (FileOffload) equal to the running
 * task's descriptors: looked at before each run, rewritten only when the task
 * has another table or a table or a file's flags changed since.
 */
export class OffloadTable {
  #files: FdTable | null = null;
  #generation = -1;

  constructor(readonly io: FileOffload) {}

  /** Before a run of a task with descriptor table `files`; `allowed` false (a tracer or hooks listen) turns offloading off. */
  publish(files: FdTable, allowed: boolean): void {
    const io = this.io;
    if (!allowed) {
      if (io.enabled) io.enabled = false;
      this.#files = null;
      return;
    }
    if (files === this.#files && filesGeneration() === this.#generation) return;
    for (let fd = 0; fd < io.fds; fd++) io.setEntry(fd, files.peek(fd)?.offloadSlot(io) ?? -1);
    this.#files = files;
    this.#generation = filesGeneration();
    io.enabled = true;
  }
}
