import type { UnixSocket } from './unix.js';

/** A host resource the kernel must let go of when it is done (a Node socket or server). */
export type HostHandle = { destroy(): void } | { close(): void };

/**
 * The kernel's network state: the AF_UNIX namespaces and the host sockets
 * that back AF_INET/AF_INET6 ones.
 *
 * A pathname AF_UNIX socket is bound in `boundPaths`, keyed by the host path
 * of its name, and bind() leaves an empty placeholder file there (Node cannot
 * create a socket inode without listening on it from the host): names, EADDRINUSE
 * and unlink behave as on Linux, and stat() of the name reports S_IFSOCK through
 * this table. When a stream socket listens, a Node server's socket takes the
 * placeholder's place, and host programs connect to it.
 */
export class NetStack {
  /** Abstract names (sun_path starting with NUL), keyed by their bytes in hex. */
  readonly abstractNames = new Map<string, UnixSocket>();
  /** Pathname sockets by host path, with the placeholder's inode (a new file there is another name). */
  readonly boundPaths = new Map<string, { sock: UnixSocket; ino: bigint }>();
  /** Host sockets that may still wake a guest task. */
  readonly #live = new Set<HostHandle>();
  /** Every host socket not yet closed, lingering ones included (closed on dispose). */
  readonly #all = new Set<HostHandle>();

  /**
   * @param hostRef called with +1 while a host socket may still wake a task
   * (the kernel does not call a wait for it a deadlock), -1 when it no longer can.
   */
  constructor(private readonly hostRef: (delta: 1 | -1) => void) {}

  /** A host socket a guest socket uses. */
  track(h: HostHandle): void {
    this.#all.add(h);
    if (this.#live.has(h)) return;
    this.#live.add(h);
    this.hostRef(1);
  }

  /** The guest let go of it, but it still finishes its work (a close flushing data). */
  linger(h: HostHandle): void {
    if (this.#live.delete(h)) this.hostRef(-1);
  }

  /** Closed on the host: nothing more to do with it. */
  forget(h: HostHandle): void {
    this.linger(h);
    this.#all.delete(h);
  }

  /** Is `hostPath` a bound socket's name (for stat)? */
  isSocketPath(hostPath: string, ino: bigint): boolean {
    return this.boundPaths.get(hostPath)?.ino === ino;
  }

  /** Closes every host socket (the kernel is being disposed). */
  dispose(): void {
    for (const h of [...this.#all]) {
      this.forget(h);
      if ('destroy' in h) h.destroy();
      else h.close();
    }
  }
}
