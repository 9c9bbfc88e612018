import { describe, expect, it } from '@jest/globals';
import { packBySize } from './parts.js';

const sizes = { sizeOf: (n: number) => n };

describe('packBySize', () => {
  it.each<[string, number[], (part: number) => number, boolean, number[][]]>([
    ['nothing: one empty part', [], () => 10, false, [[]]],
    ['fits one part', [3, 3, 4], () => 10, false, [[3, 3, 4]]],
    ['splits in order when the next item would pass the budget', [4, 4, 4, 4], () => 10, false, [[4, 4], [4, 4]]],
    ['an item above the budget goes out alone', [2, 20, 2], () => 10, false, [[2], [20], [2]]],
    ['a first part with no room stays empty when it may', [5, 5], (part) => (part === 0 ? 1 : 10), true, [[], [5, 5]]],
    ['a first part with no room still takes one item when it may not', [5, 5], (part) => (part === 0 ? 1 : 10), false, [[5], [5]]],
  ])('%s', (_, items, budget, firstMayBeEmpty, want) => {
    expect(packBySize(items, { ...sizes, budget, firstMayBeEmpty })).toEqual(want);
  });
});
