import { describe, expect, it } from '@jest/globals';
import { DurationError, formatDuration, parseDuration } from './duration.js';

describe('parseDuration', () => {
  it.each([
    ['0', 0],
    ['0s', 0],
    ['15s', 15_000],
    ['1m', 60_000],
    ['1m30s', 90_000],
    ['250ms', 250],
    ['1h', 3_600_000],
    ['1d', 86_400_000],
    ['2w', 14 * 86_400_000],
    ['1y', 365 * 86_400_000],
    ['1y2w3d4h5m6s7ms', 365 * 86_400_000 + 14 * 86_400_000 + 3 * 86_400_000 + 4 * 3_600_000 + 5 * 60_000 + 6_000 + 7],
  ])('%s is %d ms', (input, ms) => {
    expect(parseDuration(input)).toBe(ms);
  });

  it.each([
    ['', 'empty duration string'],
    ['1', 'not a valid duration string'],
    ['s', 'not a valid duration string'],
    ['1.5s', 'unknown unit "." in duration "1.5s"'],
    ['5x', 'unknown unit "x"'],
    ['1s1m', 'not a valid duration string'],
    ['1m1m', 'not a valid duration string'],
    ['-1s', 'not a valid duration string'],
    ['1 s', 'unknown unit " s"'],
    ['300y', 'duration out of range'],
  ])('rejects %j with %s', (input, reason) => {
    expect(() => parseDuration(input)).toThrow(DurationError);
    expect(() => parseDuration(input)).toThrow(reason);
  });
});

describe('formatDuration', () => {
  it.each([
    [0, '0s'],
    [15_000, '15s'],
    [60_000, '1m'],
    [90_000, '1m30s'],
    [250, '250ms'],
    [90 * 86_400_000, '90d'],
    [14 * 86_400_000, '2w'],
    [365 * 86_400_000, '1y'],
    [3_600_000 + 1, '1h1ms'],
  ])('%d ms is %s', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });

  it('round-trips through parseDuration', () => {
    for (const ms of [1, 999, 1000, 61_000, 3_723_004, 8 * 86_400_000]) {
      expect(parseDuration(formatDuration(ms))).toBe(ms);
    }
  });
});
