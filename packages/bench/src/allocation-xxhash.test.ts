import { describe, expect, it } from '@jest/globals';
import { xxh64Bytes, xxh64Hex } from './allocation-xxhash.js';

const M = (1n << 64n) - 1n;
const P = [0x9e3779b185ebca87n, 0xc2b2ae3d27d4eb4fn, 0x165667b19e3779f9n, 0x85ebca77c2b2ae63n, 0x27d4eb2f165667c5n] as const;
const [P1, P2, P3, P4, P5] = P;

/** A plain BigInt XXH64 (seed 0) from the specification, to check the 32-bit version against. */
function reference(bytes: Uint8Array): bigint {
  const rotl = (x: bigint, r: bigint) => ((x << r) | (x >> (64n - r))) & M;
  const round = (acc: bigint, input: bigint) => (rotl((acc + input * P2) & M, 31n) * P1) & M;
  const merge = (acc: bigint, val: bigint) => (((acc ^ round(0n, val)) * P1 + P4) & M);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const len = bytes.length;
  let at = 0;
  let h: bigint;
  if (len >= 32) {
    let v = [(P1 + P2) & M, P2, 0n, (M + 1n - P1) & M];
    for (; at + 32 <= len; at += 32) v = v.map((x, i) => round(x, view.getBigUint64(at + 8 * i, true)));
    const [a = 0n, b = 0n, c = 0n, d = 0n] = v;
    h = (rotl(a, 1n) + rotl(b, 7n) + rotl(c, 12n) + rotl(d, 18n)) & M;
    for (const x of v) h = merge(h, x);
  } else {
    h = P5;
  }
  h = (h + BigInt(len)) & M;
  for (; at + 8 <= len; at += 8) h = ((rotl(h ^ round(0n, view.getBigUint64(at, true)), 27n) * P1) + P4) & M;
  if (at + 4 <= len) {
    h = ((rotl(h ^ ((BigInt(view.getUint32(at, true)) * P1) & M), 23n) * P2) + P3) & M;
    at += 4;
  }
  for (; at < len; at++) h = (rotl(h ^ ((BigInt(bytes[at] ?? 0) * P5) & M), 11n) * P1) & M;
  h = ((h ^ (h >> 33n)) * P2) & M;
  h = ((h ^ (h >> 29n)) * P3) & M;
  return h ^ (h >> 32n);
}

describe('xxh64', () => {
  it.each([
    ['', 'ef46db3751d8e999'],
    ['a', 'd24ec4f1a98c6e5b'],
    ['abc', '44bc2cf5ad770999'],
  ])('hashes %j to the published value %s', (input, hex) => {
    expect(xxh64Hex(input)).toBe(hex);
    expect(reference(new TextEncoder().encode(input)).toString(16).padStart(16, '0')).toBe(hex);
  });

  it('agrees with the BigInt reference for every length from 0 to 100', () => {
    const out = new Uint32Array(2);
    let seed = 1;
    for (let len = 0; len <= 100; len++) {
      const bytes = new Uint8Array(len);
      for (let i = 0; i < len; i++) bytes[i] = (seed = (seed * 1103515245 + 12345) >>> 0) >>> 24;
      xxh64Bytes(bytes, len, out);
      const got = (BigInt(out[0] ?? 0) << 32n) | BigInt(out[1] ?? 0);
      expect({ len, hash: got.toString(16) }).toEqual({ len, hash: reference(bytes).toString(16) });
    }
  });
});
