import { describe, expect, it } from '@jest/globals';
import { prng, randomTargetId } from './fixtures.js';
import { hexHalf, isTargetId, mix32, score, workerSeed } from './hash.js';

describe('mix32', () => {
  it.each([
    [0, 0],
    [1, 0x514e28b7],
    [0xffffffff, 0x81f16f39],
  ])('mixes %d to %d as murmur3 fmix32 does', (input, output) => {
    expect(mix32(input)).toBe(output);
  });
});

describe('hexHalf and isTargetId', () => {
  it.each([
    ['0123456789abcdef', 0, 0x01234567],
    ['0123456789abcdef', 8, 0x89abcdef],
    ['ffffffffffffffff', 0, 0xffffffff],
    ['0123456789ABCDEF', 8, -1],
    ['01234567xyzabcde', 8, -1],
  ])('reads %s from %d as %d', (id, start, value) => {
    expect(hexHalf(id, start)).toBe(value);
  });

  it.each([
    ['0123456789abcdef', true],
    ['0123456789ABCDEF', false],
    ['0123456789abcde', false],
    ['0123456789abcdef0', false],
    ['0123456789abcdeg', false],
    [42, false],
  ])('%j is a target id: %s', (id, valid) => {
    expect(isTargetId(id)).toBe(valid);
  });
});

describe('score', () => {
  const rand = prng(7);
  const ids = Array.from({ length: 20_000 }, () => randomTargetId(rand));
  const halves = ids.map((id) => [hexHalf(id, 0), hexHalf(id, 8)] as const);

  it('is uniform over targets for one worker (16 buckets within 10% of 1/16)', () => {
    const buckets = new Array<number>(16).fill(0);
    const seed = workerSeed('worker-a');
    for (const [hi, lo] of halves) {
      const b = score(hi, lo, seed) >>> 28;
      buckets[b] = (buckets[b] ?? 0) + 1;
    }
    for (const count of buckets) expect(Math.abs(count - ids.length / 16)).toBeLessThan(ids.length / 160);
  });

  it('ranks targets independently for different workers', () => {
    const a = workerSeed('worker-a');
    const b = workerSeed('worker-b');
    let agree = 0;
    for (let i = 1; i < halves.length; i++) {
      const [hi0, lo0] = halves[i - 1] ?? [0, 0];
      const [hi1, lo1] = halves[i] ?? [0, 0];
      const orderA = score(hi0, lo0, a) < score(hi1, lo1, a);
      const orderB = score(hi0, lo0, b) < score(hi1, lo1, b);
      if (orderA === orderB) agree++;
    }
    // Independent orders agree on about half of the pairs.
    expect(agree / (halves.length - 1)).toBeGreaterThan(0.47);
    expect(agree / (halves.length - 1)).toBeLessThan(0.53);
  });

  it('is an unsigned 32-bit integer and the same for the same input', () => {
    const seed = workerSeed('w');
    for (const [hi, lo] of halves.slice(0, 100)) {
      const s = score(hi, lo, seed);
      expect(Number.isInteger(s) && s >= 0 && s < 2 ** 32).toBe(true);
      expect(score(hi, lo, seed)).toBe(s);
    }
  });
});

describe('workerSeed', () => {
  it('differs between ids and is stable', () => {
    expect(workerSeed('w-001')).not.toBe(workerSeed('w-010'));
    expect(workerSeed('w-001')).toBe(workerSeed('w-001'));
    // FNV-1a of the empty string is its offset basis.
    expect(workerSeed('')).toBe(mix32(0x811c9dc5));
  });
});
