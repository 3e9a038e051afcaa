import type { Readable, Writable } from 'node:stream';
import type { StreamSink, StreamSource } from './file.js';

/** A guest stdin that reads `data` (a string is UTF-8), then end of file. */
export function bufferSource(data: string | Uint8Array): StreamSource {
  let rest = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  return {
    read(buf: Uint8Array): number {
      const n = Math.min(buf.length, rest.length);
      buf.set(rest.subarray(0, n));
      rest = rest.subarray(n);
      return n;
    },
    ready: () => true,
  };
}

/**
 * A guest stdin fed by a Node stream: a guest read with nothing buffered parks
 * the task (Node's event loop keeps running) until the stream gives data or ends.
 * Data passes through the source's `filter` (the terminal's line discipline) if set.
 */
export function readableSource(stream: Readable): StreamSource {
  const chunks: Uint8Array[] = [];
  let ended = false;
  let waiter: (() => void) | null = null;
  const wake = (): void => {
    const w = waiter;
    waiter = null;
    w?.();
  };
  const source: StreamSource = {
    read(buf: Uint8Array): number | null {
      if (chunks.length === 0) {
        if (ended) return 0;
        stream.resume();
        return null;
      }
      let n = 0;
      while (n < buf.length && chunks.length > 0) {
        const c = chunks[0]!;
        const take = Math.min(c.length, buf.length - n);
        buf.set(c.subarray(0, take), n);
        n += take;
        if (take === c.length) chunks.shift();
        else chunks[0] = c.subarray(take);
      }
      return n;
    },
    ready: () => chunks.length > 0 || ended,
    queued: () => chunks.reduce((n, c) => n + c.length, 0),
    wait(ready: () => void): void {
      waiter = ready;
      if (chunks.length > 0 || ended) wake();
      else stream.resume();
    },
    close(): void {
      waiter = null;
      stream.pause();
    },
  };
  stream.on('data', (d: Buffer | string) => {
    const raw = typeof d === 'string' ? Buffer.from(d, 'utf8') : d;
    const data = source.filter ? source.filter(raw) : raw;
    if (data.length > 0) chunks.push(data);
    stream.pause();
    wake();
  });
  const end = (): void => {
    ended = true;
    wake();
  };
  stream.on('end', end);
  stream.on('error', end);
  stream.pause();
  return source;
}

/** A guest stdout/stderr written into a Node stream (its own buffering applies). */
export function writableSink(stream: Writable): StreamSink {
  return { write: (data) => void stream.write(Buffer.from(data)) };
}

/** A guest stdout/stderr kept in memory: `text()` and `bytes()` give what was written. */
export interface CollectingSink extends StreamSink {
  bytes(): Buffer;
  text(): string;
}

export function collectingSink(): CollectingSink {
  const chunks: Buffer[] = [];
  return {
    write: (data) => void chunks.push(Buffer.from(data)),
    bytes: () => Buffer.concat(chunks),
    text: () => Buffer.concat(chunks).toString('utf8'),
  };
}
