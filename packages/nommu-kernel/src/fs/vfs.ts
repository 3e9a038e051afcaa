import * as fs from 'node:fs';
import * as path from 'node:path';
import { E, errno, hostErrno } from '../errno.js';
import type { Process } from '../task/task.js';
import type { ProcFs, SyntheticNode } from './procfs.js';

const MAX_SYMLINKS = 40;
const PATH_MAX = 4096;

export interface Resolved {
  /** Canonical guest path (no '.', '..' or symlinks except possibly the last component). */
  guest: string;
  /** The host path it names, always inside the root ('' for synthetic files, which no host call finds). */
  host: string;
  /** Set when the path lies in a synthetic filesystem (/proc). */
  node?: SyntheticNode;
}

/**
 * Guest paths to host paths, resolved by the kernel itself one component at
 * a time: '..' stops at the guest root and every symlink target is read and
 * resolved inside the root, so no path the guest writes names a host file
 * outside it.
 */
export class Vfs {
  readonly root: string;
  readonly readOnly: boolean;
  /** Mounted at /proc; the host's /proc is never reachable. */
  procfs: ProcFs | null = null;

  constructor(opts: { root?: string; readOnly?: boolean } = {}) {
    this.root = fs.realpathSync(opts.root ?? '/');
    this.readOnly = opts.readOnly ?? false;
  }

  hostPath(parts: readonly string[]): string {
    return parts.length === 0 ? this.root : path.join(this.root, ...parts);
  }

  /**
   * Resolves `p` relative to the guest directory `cwd`. With follow=false a
   * final symlink is not followed (lstat, readlink, O_NOFOLLOW, unlink).
   */
  resolve(cwd: string, p: string, follow = true, self: Process | null = null): Resolved {
    if (p.length === 0) throw errno(E.ENOENT);
    if (Buffer.byteLength(p) >= PATH_MAX) throw errno(E.ENAMETOOLONG);
    const stack: string[] = p.startsWith('/') ? [] : splitPath(cwd);
    let pending = splitPath(p);
    const trailingSlash = p.endsWith('/');
    let links = 0;
    while (pending.length > 0) {
      const name = pending[0]!;
      pending = pending.slice(1);
      if (name === '.') continue;
      if (name === '..') {
        stack.pop();
        continue;
      }
      if (Buffer.byteLength(name) > 255) throw errno(E.ENAMETOOLONG);
      stack.push(name);
      const last = pending.length === 0;
      if (stack[0] === 'proc' && this.procfs) {
        const node = this.procfs.lookup(stack.slice(1), self);
        if (!node) throw errno(E.ENOENT);
        if (node.kind === 'symlink' && node.file && last && follow) return { guest: '/' + stack.join('/'), host: '', node };
        if (node.kind === 'symlink' && (!last || follow || trailingSlash)) {
          if (++links > MAX_SYMLINKS) throw errno(E.ELOOP);
          stack.pop();
          if (node.target.startsWith('/')) stack.length = 0;
          pending = [...splitPath(node.target), ...pending];
          continue;
        }
        if (!last && node.kind !== 'dir') throw errno(E.ENOTDIR);
        if (last) return { guest: '/' + stack.join('/'), host: '', node };
        continue;
      }
      if (last && !follow && !trailingSlash) break;
      let st: fs.Stats;
      try {
        st = fs.lstatSync(this.hostPath(stack));
      } catch (err) {
        const e = hostErrno(err);
        if (e.errno === E.ENOENT && last) break;
        throw e;
      }
      if (st.isSymbolicLink()) {
        if (++links > MAX_SYMLINKS) throw errno(E.ELOOP);
        const target = fs.readlinkSync(this.hostPath(stack));
        stack.pop();
        if (target.startsWith('/')) stack.length = 0;
        pending = [...splitPath(target), ...pending];
        continue;
      }
      // A trailing slash, like any non-final component, must name a directory.
      if ((!last || trailingSlash) && !st.isDirectory()) throw errno(E.ENOTDIR);
    }
    const guest = '/' + stack.join('/');
    return { guest, host: this.hostPath(stack) };
  }
}

export function splitPath(p: string): string[] {
  return p.split('/').filter((c) => c.length > 0);
}
