/** strace's default -s: strings and buffers show at most this many bytes. */
export const MAX_STRLEN = 32;

/** Longest path strace reads (PATH_MAX). */
export const PATH_MAX = 4096;

const ESCAPES: Readonly<Record<number, string>> = {
  0x22: '\\"',
  0x5c: '\\\\',
  0x0c: '\\f',
  0x0a: '\\n',
  0x0d: '\\r',
  0x09: '\\t',
  0x0b: '\\v',
};

const isOctalDigit = (c: number | undefined): boolean => c !== undefined && c >= 0x30 && c <= 0x37;

/**
 * Quote bytes C-style as strace does: \n \t \" \\ and friends, printable ASCII as is, and
 * anything else as the shortest octal escape, padded to three digits when the next byte
 * is an octal digit (so "\0" followed by "1" reads "\0001").
 */
export function quoteBytes(bytes: Uint8Array): string {
  let out = '"';
  for (let i = 0; i < bytes.length; i++) {
    const c = bytes[i] ?? 0;
    const esc = ESCAPES[c];
    if (esc !== undefined) out += esc;
    else if (c >= 0x20 && c < 0x7f) out += String.fromCharCode(c);
    else {
      const oct = c.toString(8);
      out += '\\' + (isOctalDigit(bytes[i + 1]) ? oct.padStart(3, '0') : oct);
    }
  }
  return out + '"';
}

/** Quote every byte as \xNN (strace does this for getrandom and with -xx). */
export function quoteHex(bytes: Uint8Array): string {
  let out = '"';
  for (const c of bytes) out += '\\x' + c.toString(16).padStart(2, '0');
  return out + '"';
}
