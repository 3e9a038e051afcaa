import { E, SyscallTable } from '@nommu/kernel';
import { SYSCALLS, syscallByName } from '../table/index.js';
import { decodeCall } from '../strace/index.js';
import type { Family, HandlerDef } from './define.js';
import { epollFamily } from './epoll.js';
import { fdEvents } from './fd_events.js';
import { fileData } from './file_data.js';
import { files } from './files.js';
import { fsOps } from './fs_ops.js';
import { lockFamily } from './locks.js';
import { memfdFamily } from './memfd.js';
import { memory } from './memory.js';
import { miscFamily } from './misc.js';
import { mqueueFamily } from './mqueue.js';
import { pollFamily } from './poll.js';
import { pidfdFamily } from './pidfd.js';
import { policyFamily } from './policy.js';
import { posixTimers } from './posix_timers.js';
import { processFamily } from './process.js';
import { readWrite } from './read_write.js';
import { signalFamily } from './signal.js';
import { socketFamily } from './socket.js';
import { sysvIpcFamily } from './sysv_ipc.js';
import { spliceFamily } from './splice.js';
import { tasks } from './tasks.js';
import { timeFamily } from './time.js';
import { capabilityFamily } from './capability.js';
import { mlockFamily } from './mlock.js';
import { rseqFamily } from './rseq.js';
import { inotifyFamily } from './inotify.js';
import { mountsFamily } from './mounts.js';
import { futex2Family } from './futex2.js';
import { memCallsFamily } from './mem_calls.js';
import { syslogFamily } from './syslog.js';

/** Every family file; adding a syscall is one entry in one of them. */
const FAMILIES: readonly Family[] = [readWrite, files, fsOps, memory, pollFamily, processFamily, tasks, timeFamily, signalFamily, posixTimers, epollFamily, fdEvents, socketFamily, lockFamily, fileData, memfdFamily, policyFamily, pidfdFamily, spliceFamily, miscFamily, capabilityFamily, mlockFamily, mqueueFamily, sysvIpcFamily, inotifyFamily, mountsFamily, futex2Family, memCallsFamily, syslogFamily, rseqFamily];

const NOT_YET: HandlerDef = { handler: null, level: 'unimplemented', note: 'not implemented yet', errno: E.ENOSYS };

function definitions(): Map<string, HandlerDef> {
  const defs = new Map<string, HandlerDef>();
  for (const family of FAMILIES) {
    for (const [name, def] of Object.entries(family)) {
      if (defs.has(name)) throw new Error(`syscall ${name} is defined by two families`);
      if (!syscallByName(name)) throw new Error(`family defines ${name}, which is not an x86-64 syscall`);
      defs.set(name, def);
    }
  }
  return defs;
}

/** A dispatch table with every x86-64 syscall: handlers where we have them, -ENOSYS elsewhere. */
export function createLinuxSyscallTable(): SyscallTable {
  const table = new SyscallTable();
  const defs = definitions();
  for (const sc of SYSCALLS) {
    const def = defs.get(sc.name) ?? NOT_YET;
    table.register({ nr: sc.nr, name: sc.name, handler: def.handler, level: def.level, note: def.note, errno: def.errno });
  }
  table.decoder = decodeCall;
  return table;
}

export interface SupportRow {
  nr: number;
  name: string;
  level: HandlerDef['level'];
  note: string;
}

/** The support table `nommu syscalls` prints. */
export function supportTable(): SupportRow[] {
  const defs = definitions();
  return SYSCALLS.map((sc) => {
    const def = defs.get(sc.name) ?? NOT_YET;
    return { nr: sc.nr, name: sc.name, level: def.level, note: def.note };
  });
}

export { partial, supported, unimplemented } from './define.js';
export type { Family, HandlerDef } from './define.js';
export { StraceTracer } from './tracer.js';
export { formatSupportTable } from './support.js';
export type { SupportFormat } from './support.js';
export type { StraceOptions } from './tracer.js';
