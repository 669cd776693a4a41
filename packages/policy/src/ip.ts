/** IPv4 and IPv6 addresses and CIDR blocks, for the IpAddress and NotIpAddress condition operators. */
import { isIPv4, isIPv6 } from 'node:net';

/** An address block: the address's bytes (4 or 16) and how many leading bits must match. */
export interface Cidr {
  readonly bytes: Uint8Array;
  readonly prefix: number;
}

/** The bytes of an IPv4 or IPv6 address (no zone, no prefix), or `undefined` if `text` is none. */
export function addressBytes(text: string): Uint8Array | undefined {
  if (isIPv4(text)) return Uint8Array.from(text.split('.'), Number);
  if (!isIPv6(text) || text.includes('%')) return undefined;
  let groups = text;
  const lastColon = groups.lastIndexOf(':');
  const tail = groups.slice(lastColon + 1);
  if (tail.includes('.')) {
    // An IPv4 tail (::ffff:192.0.2.1) stands for the last two 16-bit groups.
    const [a, b, c, d] = tail.split('.').map(Number) as [number, number, number, number];
    groups = `${groups.slice(0, lastColon + 1)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, rest] = groups.split('::') as [string, string | undefined];
  const left = head === '' ? [] : head.split(':');
  const right = rest === undefined || rest === '' ? [] : rest.split(':');
  const zeros = rest === undefined ? [] : new Array<string>(8 - left.length - right.length).fill('0');
  const bytes = new Uint8Array(16);
  [...left, ...zeros, ...right].forEach((group, i) => {
    const n = Number.parseInt(group, 16);
    bytes[2 * i] = n >> 8;
    bytes[2 * i + 1] = n & 0xff;
  });
  return bytes;
}

/** A CIDR block (`192.0.2.0/24`, `2001:db8::/32`) or a lone address (its full length), or `undefined`. */
export function parseCidr(text: string): Cidr | undefined {
  const slash = text.indexOf('/');
  const bytes = addressBytes(slash === -1 ? text : text.slice(0, slash));
  if (bytes === undefined) return undefined;
  const bits = bytes.length * 8;
  if (slash === -1) return { bytes, prefix: bits };
  const written = text.slice(slash + 1);
  if (!/^\d{1,3}$/.test(written) || Number(written) > bits) return undefined;
  return { bytes, prefix: Number(written) };
}

const MAPPED_V4 = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff];

/**
 * Whether `address` lies in `block`. An IPv4-mapped IPv6 address (`::ffff:192.0.2.1`, as Node reports a client of a
 * dual-stack socket) is taken as the IPv4 address it carries.
 */
export function inCidr(block: Cidr, address: Uint8Array): boolean {
  let bytes = address;
  if (block.bytes.length === 4 && bytes.length === 16 && MAPPED_V4.every((b, i) => bytes[i] === b)) {
    bytes = bytes.subarray(12);
  }
  if (bytes.length !== block.bytes.length) return false;
  for (let bit = 0; bit < block.prefix; bit += 8) {
    const mask = block.prefix - bit >= 8 ? 0xff : (0xff << (8 - (block.prefix - bit))) & 0xff;
    if (((bytes[bit / 8]! ^ block.bytes[bit / 8]!) & mask) !== 0) return false;
  }
  return true;
}
