/**
 * XXH64 (the xxHash 64-bit algorithm, seed 0) for the allocation benchmark's OpenTelemetry baseline, which hashes
 * with `cespare/xxhash/v2` `Sum64`. Written on two unsigned 32-bit halves so that hashing a million keys costs what
 * it would in Go, not what BigInt costs. The result goes into an output pair to avoid an allocation per key.
 */

const encoder = new TextEncoder();
let scratch = new Uint8Array(256);

/** A mutable unsigned 64-bit integer as two unsigned 32-bit halves. */
class U64 {
  constructor(
    public hi = 0,
    public lo = 0,
  ) {}

  set(other: U64): this {
    this.hi = other.hi;
    this.lo = other.lo;
    return this;
  }

  add(other: U64): this {
    const lo = this.lo + other.lo;
    this.hi = (this.hi + other.hi + (lo > 0xffffffff ? 1 : 0)) >>> 0;
    this.lo = lo >>> 0;
    return this;
  }

  sub(other: U64): this {
    const lo = this.lo - other.lo;
    this.hi = (this.hi - other.hi - (lo < 0 ? 1 : 0)) >>> 0;
    this.lo = lo >>> 0;
    return this;
  }

  /** Multiplication modulo 2^64, in 16-bit limbs so no partial product exceeds 2^32. */
  mul(other: U64): this {
    const a48 = this.hi >>> 16;
    const a32 = this.hi & 0xffff;
    const a16 = this.lo >>> 16;
    const a00 = this.lo & 0xffff;
    const b48 = other.hi >>> 16;
    const b32 = other.hi & 0xffff;
    const b16 = other.lo >>> 16;
    const b00 = other.lo & 0xffff;
    let c00 = a00 * b00;
    let c16 = c00 >>> 16;
    c00 &= 0xffff;
    c16 += a16 * b00;
    let c32 = c16 >>> 16;
    c16 &= 0xffff;
    c16 += a00 * b16;
    c32 += c16 >>> 16;
    c16 &= 0xffff;
    c32 += a32 * b00;
    let c48 = c32 >>> 16;
    c32 &= 0xffff;
    c32 += a16 * b16;
    c48 += c32 >>> 16;
    c32 &= 0xffff;
    c32 += a00 * b32;
    c48 += c32 >>> 16;
    c32 &= 0xffff;
    c48 = (c48 + a48 * b00 + a32 * b16 + a16 * b32 + a00 * b48) & 0xffff;
    this.hi = ((c48 << 16) | c32) >>> 0;
    this.lo = ((c16 << 16) | c00) >>> 0;
    return this;
  }

  xor(other: U64): this {
    this.hi = (this.hi ^ other.hi) >>> 0;
    this.lo = (this.lo ^ other.lo) >>> 0;
    return this;
  }

  /** Rotates left by `r` bits, 0 < r < 64. */
  rotl(r: number): this {
    let hi = this.hi;
    let lo = this.lo;
    if (r >= 32) {
      [hi, lo] = [lo, hi];
      r -= 32;
    }
    if (r > 0) {
      const h = (hi << r) | (lo >>> (32 - r));
      lo = (lo << r) | (hi >>> (32 - r));
      hi = h;
    }
    this.hi = hi >>> 0;
    this.lo = lo >>> 0;
    return this;
  }

  /** this ^= this >>> r, 0 < r < 64. */
  xorShift(r: number): this {
    const lo = r >= 32 ? this.hi >>> (r - 32) : (this.lo >>> r) | (this.hi << (32 - r));
    const hi = r >= 32 ? 0 : this.hi >>> r;
    this.hi = (this.hi ^ hi) >>> 0;
    this.lo = (this.lo ^ lo) >>> 0;
    return this;
  }

  /** Reads 8 bytes little-endian. */
  read64(bytes: Uint8Array, at: number): this {
    this.lo = read32(bytes, at);
    this.hi = read32(bytes, at + 4);
    return this;
  }
}

function read32(bytes: Uint8Array, at: number): number {
  return ((bytes[at] ?? 0) | ((bytes[at + 1] ?? 0) << 8) | ((bytes[at + 2] ?? 0) << 16) | ((bytes[at + 3] ?? 0) << 24)) >>> 0;
}

const P1 = new U64(0x9e3779b1, 0x85ebca87);
const P2 = new U64(0xc2b2ae3d, 0x27d4eb4f);
const P3 = new U64(0x165667b1, 0x9e3779f9);
const P4 = new U64(0x85ebca77, 0xc2b2ae63);
const P5 = new U64(0x27d4eb2f, 0x165667c5);

const v1 = new U64();
const v2 = new U64();
const v3 = new U64();
const v4 = new U64();
const h = new U64();
const k = new U64();
const t = new U64();
const lane = new U64();

/** acc = rotl(acc + input·P2, 31)·P1 */
function round(acc: U64, input: U64): U64 {
  return acc.add(t.set(input).mul(P2)).rotl(31).mul(P1);
}

/** acc = (acc ^ round(0, val))·P1 + P4 */
function mergeRound(acc: U64, val: U64): void {
  k.hi = 0;
  k.lo = 0;
  round(k, val);
  acc.xor(k).mul(P1).add(P4);
}

/** XXH64 of `bytes[0..length)` with seed 0, written into `out` as [hi, lo]. */
export function xxh64Bytes(bytes: Uint8Array, length: number, out: Uint32Array): void {
  let at = 0;
  if (length >= 32) {
    v1.set(P1).add(P2);
    v2.set(P2);
    v3.hi = 0;
    v3.lo = 0;
    v4.hi = 0;
    v4.lo = 0;
    v4.sub(P1);
    for (; at + 32 <= length; at += 32) {
      round(v1, lane.read64(bytes, at));
      round(v2, lane.read64(bytes, at + 8));
      round(v3, lane.read64(bytes, at + 16));
      round(v4, lane.read64(bytes, at + 24));
    }
    h.set(v1).rotl(1);
    h.add(t.set(v2).rotl(7));
    h.add(t.set(v3).rotl(12));
    h.add(t.set(v4).rotl(18));
    mergeRound(h, v1);
    mergeRound(h, v2);
    mergeRound(h, v3);
    mergeRound(h, v4);
  } else {
    h.set(P5);
  }
  t.hi = 0;
  t.lo = length;
  h.add(t);
  for (; at + 8 <= length; at += 8) {
    k.hi = 0;
    k.lo = 0;
    round(k, lane.read64(bytes, at));
    h.xor(k).rotl(27).mul(P1).add(P4);
  }
  if (at + 4 <= length) {
    lane.hi = 0;
    lane.lo = read32(bytes, at);
    h.xor(lane.mul(P1)).rotl(23).mul(P2).add(P3);
    at += 4;
  }
  for (; at < length; at++) {
    lane.hi = 0;
    lane.lo = bytes[at] ?? 0;
    h.xor(lane.mul(P5)).rotl(11).mul(P1);
  }
  h.xorShift(33).mul(P2).xorShift(29).mul(P3).xorShift(32);
  out[0] = h.hi;
  out[1] = h.lo;
}

/** XXH64 of a string's UTF-8 bytes, written into `out` as [hi, lo]. */
export function xxh64String(input: string, out: Uint32Array): void {
  if (scratch.length < input.length * 3) scratch = new Uint8Array(input.length * 3);
  const { written } = encoder.encodeInto(input, scratch);
  xxh64Bytes(scratch, written, out);
}

/** XXH64 of a string as 16 hex digits, for tests and logs. */
export function xxh64Hex(input: string): string {
  const out = new Uint32Array(2);
  xxh64String(input, out);
  return (out[0] ?? 0).toString(16).padStart(8, '0') + (out[1] ?? 0).toString(16).padStart(8, '0');
}
