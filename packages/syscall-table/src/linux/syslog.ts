/**
 * syslog(2) (klogctl, what dmesg reads): the kernel's log ring buffer. The
 * kernel logs one boot line; nothing else writes to it. Access is as with
 * dmesg_restrict=1: every action needs CAP_SYSLOG (EPERM without).
 */
import { capable, E, errno, PerKernel, type Kernel, type SyscallArgs, type SyscallResult, type Task } from '@nommu/kernel';
import { partial, type Family } from './define.js';

const CAP_SYSLOG = 34;

const SYSLOG_ACTION_CLOSE = 0;
const SYSLOG_ACTION_OPEN = 1;
const SYSLOG_ACTION_READ = 2;
const SYSLOG_ACTION_READ_ALL = 3;
const SYSLOG_ACTION_READ_CLEAR = 4;
const SYSLOG_ACTION_CLEAR = 5;
const SYSLOG_ACTION_CONSOLE_OFF = 6;
const SYSLOG_ACTION_CONSOLE_ON = 7;
const SYSLOG_ACTION_CONSOLE_LEVEL = 8;
const SYSLOG_ACTION_SIZE_UNREAD = 9;
const SYSLOG_ACTION_SIZE_BUFFER = 10;

/** log_buf_len: 1 << CONFIG_LOG_BUF_SHIFT (17, x86-64 defconfig). */
const LOG_BUF_LEN = 1 << 17;
const LOGLEVEL_DEFAULT = -1;
const MINIMUM_CONSOLE_LOGLEVEL = 1;
const CONSOLE_LOGLEVEL_DEFAULT = 7;

interface KernelLog {
  /** The records, each a line with its "<level>[seconds] " prefix and newline. */
  records: string[];
  /** The first record syslog READ has not returned. */
  readSeq: number;
  /** The first record READ_ALL returns (CLEAR moves it past the end). */
  clearSeq: number;
  consoleLevel: number;
  savedConsoleLevel: number;
}

const logs = new PerKernel<KernelLog>(() => ({
  records: ['<5>[    0.000000] Linux version 6.1.0-nommu (nommu@nommu) #1 nommu\n'],
  readSeq: 0,
  clearSeq: 0,
  consoleLevel: CONSOLE_LOGLEVEL_DEFAULT,
  savedConsoleLevel: LOGLEVEL_DEFAULT,
}));
const logOf = (k: Kernel): KernelLog => logs.of(k);

const encoder = new TextEncoder();

/** READ_ALL: the newest records since clearSeq that fit in `len` bytes, whole, oldest first. */
function readAll(log: KernelLog, len: number): Uint8Array {
  const recs = log.records.slice(log.clearSeq).map((r) => encoder.encode(r));
  let n = 0;
  let from = recs.length;
  while (from > 0 && n + recs[from - 1]!.length <= len) n += recs[--from]!.length;
  const out = new Uint8Array(n);
  let at = 0;
  for (const r of recs.slice(from)) {
    out.set(r, at);
    at += r.length;
  }
  return out;
}

function checkBuffer(a: SyscallArgs): number {
  const len = a.int(2);
  if (a.ptr(1) === 0 || len < 0) throw errno(E.EINVAL);
  return len;
}

function syslog(task: Task, a: SyscallArgs): SyscallResult {
  const k = task.kernel;
  const type = a.int(0);
  // dmesg_restrict=1: every action, a bad one too, needs CAP_SYSLOG.
  if (!capable(k.identity, CAP_SYSLOG)) throw errno(E.EPERM);
  const log = logOf(k);
  switch (type) {
    case SYSLOG_ACTION_CLOSE:
    case SYSLOG_ACTION_OPEN:
      return 0;
    case SYSLOG_ACTION_READ: {
      const len = checkBuffer(a);
      if (len === 0) return 0;
      if (log.readSeq >= log.records.length) {
        // Nothing unread: wait for a message (none comes but a signal ends the wait).
        return k.waitEvent(task, 'syslog', null, false);
      }
      const chunks: Uint8Array[] = [];
      let n = 0;
      while (log.readSeq < log.records.length) {
        const r = encoder.encode(log.records[log.readSeq]!);
        if (n + r.length > len) {
          if (n === 0) {
            chunks.push(r.subarray(0, len));
            n = len;
            log.readSeq++;
          }
          break;
        }
        chunks.push(r);
        n += r.length;
        log.readSeq++;
      }
      const out = new Uint8Array(n);
      let at = 0;
      for (const c of chunks) {
        out.set(c, at);
        at += c.length;
      }
      k.mem.copyOut(a.ptr(1), out);
      return n;
    }
    case SYSLOG_ACTION_READ_CLEAR:
    case SYSLOG_ACTION_READ_ALL: {
      const len = checkBuffer(a);
      if (len === 0) return 0;
      const out = readAll(log, len);
      k.mem.copyOut(a.ptr(1), out);
      if (type === SYSLOG_ACTION_READ_CLEAR) log.clearSeq = log.records.length;
      return out.length;
    }
    case SYSLOG_ACTION_CLEAR:
      log.clearSeq = log.records.length;
      return 0;
    case SYSLOG_ACTION_CONSOLE_OFF:
      if (log.savedConsoleLevel === LOGLEVEL_DEFAULT) log.savedConsoleLevel = log.consoleLevel;
      log.consoleLevel = MINIMUM_CONSOLE_LOGLEVEL;
      return 0;
    case SYSLOG_ACTION_CONSOLE_ON:
      if (log.savedConsoleLevel !== LOGLEVEL_DEFAULT) {
        log.consoleLevel = log.savedConsoleLevel;
        log.savedConsoleLevel = LOGLEVEL_DEFAULT;
      }
      return 0;
    case SYSLOG_ACTION_CONSOLE_LEVEL: {
      const level = a.int(2);
      if (level < 1 || level > 8) throw errno(E.EINVAL);
      log.consoleLevel = Math.max(level, MINIMUM_CONSOLE_LOGLEVEL);
      log.savedConsoleLevel = LOGLEVEL_DEFAULT;
      return 0;
    }
    case SYSLOG_ACTION_SIZE_UNREAD: {
      let n = 0;
      for (let i = log.readSeq; i < log.records.length; i++) n += encoder.encode(log.records[i]!).length;
      return n;
    }
    case SYSLOG_ACTION_SIZE_BUFFER:
      return LOG_BUF_LEN;
    default:
      throw errno(E.EINVAL);
  }
}

export const syslogFamily: Family = {
  syslog: partial('a log of one boot line that nothing else writes to; dmesg_restrict=1 (CAP_SYSLOG for every action); the console level is recorded (there is no console to print to); READ with nothing unread sleeps until a signal', syslog),
};
