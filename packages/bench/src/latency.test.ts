import { describe, expect, it } from '@jest/globals';
import { changeLatencies } from './latency.js';

const w = (key: string, atMs: number) => ({ key, atMs });

describe('changeLatencies', () => {
  it('matches each write to the first rebuild of the same pod at or after it', () => {
    const result = changeLatencies({
      writes: [w('a/p1', 100), w('a/p2', 150), w('a/p1', 400)],
      rebuilds: [w('a/p2', 1150), w('a/p1', 1100), w('a/p1', 1500)],
      notifiedAtMs: [],
    });
    expect(result.rebuiltMs).toEqual([1000, 1000, 700]);
    expect(result.unmatched).toBe(0);
  });

  it('gives every write a rebuild coalesced over its own latency', () => {
    const result = changeLatencies({ writes: [w('a/p', 0), w('a/p', 300), w('a/p', 900)], rebuilds: [w('a/p', 1000)], notifiedAtMs: [] });
    expect(result.rebuiltMs).toEqual([1000, 700, 100]);
  });

  it('ignores rebuilds of other pods and rebuilds before the write', () => {
    const result = changeLatencies({ writes: [w('a/p', 500)], rebuilds: [w('a/p', 400), w('a/q', 600), w('a/p', 800)], notifiedAtMs: [] });
    expect(result.rebuiltMs).toEqual([300]);
  });

  it('counts writes that no later rebuild answered', () => {
    const result = changeLatencies({ writes: [w('a/p', 500), w('a/gone', 10)], rebuilds: [w('a/p', 100)], notifiedAtMs: [] });
    expect(result).toEqual({ rebuiltMs: [], notifiedMs: [], unmatched: 2 });
  });

  it('measures the notification as the first one at or after the rebuild', () => {
    const result = changeLatencies({
      writes: [w('a/p', 0), w('a/q', 100)],
      rebuilds: [w('a/p', 1000), w('a/q', 2100)],
      notifiedAtMs: [3000, 900, 1000],
    });
    expect(result.notifiedMs).toEqual([1000, 2900]);
  });

  it('leaves out the notification of a rebuild nothing notified yet', () => {
    const result = changeLatencies({ writes: [w('a/p', 0)], rebuilds: [w('a/p', 1000)], notifiedAtMs: [500] });
    expect(result.rebuiltMs).toEqual([1000]);
    expect(result.notifiedMs).toEqual([]);
  });
});
