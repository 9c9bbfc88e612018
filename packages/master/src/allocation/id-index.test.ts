import { describe, expect, it } from '@jest/globals';
import { between, prng } from './fixtures.js';
import { IdIndex } from './id-index.js';

describe('IdIndex', () => {
  it.each([1, 2, 3, 4, 5])('seed %d: agrees with a Map through random adds and deletes, across growth', (seed) => {
    const rand = prng(seed);
    const index = new IdIndex();
    const reference = new Map<string, number>();
    // Few distinct halves, so keys share homes and probe runs, and deletes must shift entries back.
    const keys = Array.from({ length: 3000 }, () => [between(rand, { min: 0, max: 40 }), Math.floor(rand() * 2 ** 32)] as const);
    for (let step = 0; step < 20_000; step++) {
      const [hi, lo] = keys[between(rand, { min: 0, max: keys.length - 1 })] ?? [0, 0];
      const key = `${hi}:${lo}`;
      if (reference.has(key)) {
        if (rand() < 0.6) {
          index.delete(hi, lo);
          reference.delete(key);
        }
      } else {
        index.add(hi, lo, step);
        reference.set(key, step);
      }
      if (step % 97 === 0) {
        expect(index.size).toBe(reference.size);
        const wrong = keys.filter(([h, l]) => index.get(h, l) !== (reference.get(`${h}:${l}`) ?? -1));
        expect({ step, wrong }).toEqual({ step, wrong: [] });
      }
    }
  });

  it('ignores deleting an absent key', () => {
    const index = new IdIndex();
    index.add(1, 2, 7);
    index.delete(1, 3);
    expect(index.size).toBe(1);
    expect(index.get(1, 2)).toBe(7);
  });
});
