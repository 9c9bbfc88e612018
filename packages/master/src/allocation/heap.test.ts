import { describe, expect, it } from '@jest/globals';
import { prng } from './fixtures.js';
import { WorkerHeap } from './heap.js';

describe('WorkerHeap', () => {
  it.each([1, 2, 7, 100])('pops %d keys in order, ties by index', (n) => {
    const rand = prng(n);
    const keys = Array.from({ length: n }, () => Math.floor(rand() * 10));
    const heap = new WorkerHeap((a, b) => (keys[a] ?? 0) < (keys[b] ?? 0) || ((keys[a] ?? 0) === (keys[b] ?? 0) && a < b));
    for (let i = 0; i < n; i++) heap.push(i);
    const popped: number[] = [];
    while (heap.size > 0) popped.push(heap.pop());
    const expected = keys.map((_, i) => i).sort((a, b) => (keys[a] ?? 0) - (keys[b] ?? 0) || a - b);
    expect(popped).toEqual(expected);
    expect(heap.pop()).toBe(-1);
    expect(heap.top).toBe(-1);
  });

  it('keeps its order when the top key grows and fix() is called', () => {
    const rand = prng(3);
    const keys = Array.from({ length: 50 }, () => 0);
    const heap = new WorkerHeap((a, b) => (keys[a] ?? 0) < (keys[b] ?? 0) || ((keys[a] ?? 0) === (keys[b] ?? 0) && a < b));
    for (let i = 0; i < keys.length; i++) heap.push(i);
    for (let step = 0; step < 1000; step++) {
      const top = heap.top;
      expect(keys[top]).toBe(Math.min(...keys));
      keys[top] = (keys[top] ?? 0) + 1 + Math.floor(rand() * 5);
      heap.fix();
    }
  });
});
