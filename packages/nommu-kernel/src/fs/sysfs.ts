import type { Process } from '../task/task.js';
import type { SyntheticFs, SyntheticNode } from './procfs.js';

/** A directory of the tree: its entries by name. */
interface Dir {
  readonly [name: string]: Dir | string;
}

/**
 * The tree: a string is a file's content. Only what libc and runtimes read
 * to count CPUs: glibc's get_nprocs reads .../cpu/online, get_nprocs_conf
 * .../cpu/possible (older ones list the cpuN directories).
 */
const TREE: Dir = {
  devices: {
    system: {
      cpu: {
        cpu0: {},
        kernel_max: '0\n',
        offline: '\n',
        online: '0\n',
        possible: '0\n',
        present: '0\n',
      },
    },
  },
};

const text = (s: string): Uint8Array => Buffer.from(s, 'utf8');

/**
 * /sys, made up by the kernel: the machine it describes has one CPU (the
 * kernel's), whatever the host has. The host's /sys is never shown (it
 * would describe the host's CPUs and devices).
 */
export class SysFs implements SyntheticFs {
  lookup(parts: readonly string[], _self: Process | null): SyntheticNode | null {
    let node: Dir | string = TREE;
    for (const name of parts) {
      if (typeof node === 'string' || !Object.hasOwn(node, name)) return null;
      node = node[name]!;
    }
    if (typeof node === 'string') {
      const content = text(node);
      return { kind: 'file', content: () => content };
    }
    const dir = node;
    return { kind: 'dir', entries: () => Object.keys(dir), mode: 0o755 };
  }
}
