import type * as fs from 'node:fs';
import type { UserMemory } from '../memory/user.js';

export const S_IFMT = 0o170000;
export const S_IFSOCK = 0o140000;
export const S_IFLNK = 0o120000;
export const S_IFREG = 0o100000;
export const S_IFBLK = 0o060000;
export const S_IFDIR = 0o040000;
export const S_IFCHR = 0o020000;
export const S_IFIFO = 0o010000;

/** What the kernel knows of a file, in struct stat terms. */
export interface KStat {
  dev: number;
  ino: number;
  nlink: number;
  mode: number;
  uid: number;
  gid: number;
  rdev: number;
  size: number;
  blksize: number;
  blocks: number;
  atimeNs: bigint;
  mtimeNs: bigint;
  ctimeNs: bigint;
}

export function statFromHost(st: fs.BigIntStats): KStat {
  return {
    dev: Number(st.dev),
    ino: Number(st.ino),
    nlink: Number(st.nlink),
    mode: Number(st.mode),
    uid: Number(st.uid),
    gid: Number(st.gid),
    rdev: Number(st.rdev),
    size: Number(st.size),
    blksize: Number(st.blksize),
    blocks: Number(st.blocks),
    atimeNs: st.atimeNs,
    mtimeNs: st.mtimeNs,
    ctimeNs: st.ctimeNs,
  };
}

/**
 * Host file owners as the guest sees them, and back: the host's uid (gid) and
 * the guest's trade places; every other id is itself.
 */
export class OwnerMap {
  constructor(
    readonly hostUid: number,
    readonly hostGid: number,
    readonly guestUid: number,
    readonly guestGid: number,
  ) {}

  /** The guest's view of a host file's stat. */
  toGuest(st: KStat): KStat {
    const uid = this.guestUidOf(st.uid);
    const gid = this.guestGidOf(st.gid);
    return uid === st.uid && gid === st.gid ? st : { ...st, uid, gid };
  }

  /** The guest's view of a host owner. */
  guestUidOf(hostUid: number): number {
    return swap(hostUid, this.hostUid, this.guestUid);
  }
  guestGidOf(hostGid: number): number {
    return swap(hostGid, this.hostGid, this.guestGid);
  }

  /** The host ids for a chown from the guest (-1, "unchanged", stays). */
  toHostUid(uid: number): number {
    return uid === -1 ? -1 : swap(uid, this.guestUid, this.hostUid);
  }
  toHostGid(gid: number): number {
    return gid === -1 ? -1 : swap(gid, this.guestGid, this.hostGid);
  }
}

function swap(id: number, from: number, to: number): number {
  return id === from ? to : id === to ? from : id;
}

/** The device numbers Linux gives, as st_rdev encodes them (new_encode_dev). */
export function makedev(major: number, minor: number): number {
  return (minor & 0xff) | ((major & 0xfff) << 8) | ((minor & ~0xff) << 12);
}

/** A character device or pipe with no host file behind it. */
export function syntheticStat(mode: number, rdev = 0, ino = 1): KStat {
  return { dev: 5, ino, nlink: 1, mode, uid: 0, gid: 0, rdev, size: 0, blksize: 4096, blocks: 0, atimeNs: 0n, mtimeNs: 0n, ctimeNs: 0n };
}

/** An anonymous inode (eventfd, epoll, timerfd, signalfd): no file type bits, mode 0600, as Linux shows them. */
export function anonStat(): KStat {
  return { ...syntheticStat(0o600), dev: 14 };
}

/** struct stat (x86-64, 144 bytes). */
export const SIZEOF_STAT = 144;

export function writeStat(mem: UserMemory, addr: number, st: KStat): void {
  const b = mem.bytes(addr, SIZEOF_STAT);
  b.fill(0);
  const dv = new DataView(b.buffer, b.byteOffset, SIZEOF_STAT);
  dv.setBigUint64(0, BigInt(st.dev), true);
  dv.setBigUint64(8, BigInt(st.ino), true);
  dv.setBigUint64(16, BigInt(st.nlink), true);
  dv.setUint32(24, st.mode, true);
  dv.setUint32(28, st.uid, true);
  dv.setUint32(32, st.gid, true);
  dv.setBigUint64(40, BigInt(st.rdev), true);
  dv.setBigInt64(48, BigInt(st.size), true);
  dv.setBigInt64(56, BigInt(st.blksize), true);
  dv.setBigInt64(64, BigInt(st.blocks), true);
  const times = [st.atimeNs, st.mtimeNs, st.ctimeNs];
  times.forEach((ns, i) => {
    dv.setBigInt64(72 + i * 16, ns / 1_000_000_000n, true);
    dv.setBigInt64(80 + i * 16, ns % 1_000_000_000n, true);
  });
}
