/**
 * The socket address codecs (struct sockaddr_in/in6 <-> Node's address
 * strings), checked against what the C library's own inet_pton would lay out.
 */
import { describe, expect, it } from 'vitest';
import { inetAddr, parseInetAddr } from '../src/net/inet.js';
import { AF } from '../src/net/socket.js';
import { Errno } from '../src/errno.js';

const EINVAL = 22;
const EAFNOSUPPORT = 97;

function sockaddrIn6(port: number, words: number[]): Uint8Array {
  const b = new Uint8Array(28);
  b[0] = AF.INET6;
  b[2] = port >> 8;
  b[3] = port & 0xff;
  words.forEach((w, i) => {
    b[8 + i * 2] = w >> 8;
    b[9 + i * 2] = w & 0xff;
  });
  return b;
}

describe('sockaddr codecs', () => {
  it('sockaddr_in: port in network order, address bytes as written', () => {
    const b = inetAddr(AF.INET, '127.0.0.1', 8080);
    expect(Array.from(b)).toEqual([2, 0, 0x1f, 0x90, 127, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0]);
    expect(parseInetAddr(AF.INET, b)).toEqual({ host: '127.0.0.1', port: 8080 });
  });

  it('an IPv4-mapped address given to an IPv4 socket is the IPv4 address', () => {
    expect(Array.from(inetAddr(AF.INET, '::ffff:10.1.2.3', 1).subarray(4, 8))).toEqual([10, 1, 2, 3]);
  });

  it('sockaddr_in6: compressed forms, embedded IPv4, scope suffixes', () => {
    expect(inetAddr(AF.INET6, '::1', 443)).toEqual(sockaddrIn6(443, [0, 0, 0, 0, 0, 0, 0, 1]));
    expect(inetAddr(AF.INET6, 'fe80::1:2%eth0', 0)).toEqual(sockaddrIn6(0, [0xfe80, 0, 0, 0, 0, 0, 1, 2]));
    expect(inetAddr(AF.INET6, '127.0.0.1', 7)).toEqual(sockaddrIn6(7, [0, 0, 0, 0, 0, 0xffff, 0x7f00, 1]));
    expect(inetAddr(AF.INET6, '2001:db8::', 7)).toEqual(sockaddrIn6(7, [0x2001, 0xdb8, 0, 0, 0, 0, 0, 0]));
    const back = parseInetAddr(AF.INET6, sockaddrIn6(53, [0x2001, 0xdb8, 0, 0, 0, 0, 0, 0x53]));
    expect(back).toEqual({ host: '2001:db8:0:0:0:0:0:53', port: 53 });
  });

  it('refuses short addresses and the wrong family; AF_UNSPEC is null', () => {
    expect(parseInetAddr(AF.INET, new Uint8Array(8))).toEqual(null);
    const short = new Uint8Array(8);
    short[0] = AF.INET;
    expect((parseInetAddr(AF.INET, short) as Errno).errno).toBe(EINVAL);
    expect((parseInetAddr(AF.INET, sockaddrIn6(1, [])) as Errno).errno).toBe(EAFNOSUPPORT);
    expect((parseInetAddr(AF.INET6, inetAddr(AF.INET, '1.2.3.4', 5).slice(0, 16)) as Errno).errno).toBe(EINVAL);
  });
});
