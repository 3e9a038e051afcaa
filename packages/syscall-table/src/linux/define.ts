import { E, type SupportLevel, type SyscallHandler } from '@nommu/kernel';

/** One syscall's implementation and how complete it is, declared next to the handler. */
export interface HandlerDef {
  readonly handler: SyscallHandler | null;
  readonly level: SupportLevel;
  readonly note: string;
  readonly errno: number;
}

/** A family file's exports: syscall name -> definition. */
export type Family = Readonly<Record<string, HandlerDef>>;

export function supported(handler: SyscallHandler): HandlerDef {
  return { handler, level: 'supported', note: '', errno: 0 };
}

export function partial(note: string, handler: SyscallHandler): HandlerDef {
  return { handler, level: 'partial', note, errno: 0 };
}

/** Answers `errno` (ENOSYS by default) on purpose, with the reason. */
export function unimplemented(note: string, errno: number = E.ENOSYS): HandlerDef {
  if (errno === E.ENOSYS) return { handler: null, level: 'unimplemented', note, errno };
  const answer = -errno;
  return { handler: () => answer, level: 'unimplemented', note, errno };
}
