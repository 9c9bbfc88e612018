import { describe, expect, it } from '@jest/globals';
import { median, parseProcStatCpuSeconds, parseProcStatus, quantile } from './measure.js';

describe('quantile', () => {
  it.each([
    [[5], 0.5, 5],
    [[5], 0.99, 5],
    [[3, 1, 2], 0.5, 2],
    [[1, 2, 3, 4], 0.5, 2],
    [[1, 2, 3, 4], 0.75, 3],
    [[1, 2, 3, 4], 1, 4],
    [[1, 2, 3, 4], 0, 1],
    [Array.from({ length: 100 }, (_, i) => i + 1), 0.99, 99],
    [Array.from({ length: 1000 }, (_, i) => 1000 - i), 0.99, 990],
  ])('of %j at %d is %d (nearest rank)', (values, q, expected) => {
    expect(quantile(values, q)).toBe(expected);
  });

  it('is undefined for no values', () => {
    expect(quantile([], 0.5)).toBeUndefined();
  });

  it.each([-0.1, 1.1, Number.NaN])('rejects quantile %d', (q) => {
    expect(() => quantile([1], q)).toThrow(RangeError);
  });

  it('does not reorder its input', () => {
    const values = [3, 1, 2];
    quantile(values, 0.5);
    expect(values).toEqual([3, 1, 2]);
  });
});

describe('median', () => {
  it.each([
    [[], undefined],
    [[7], 7],
    [[9, 1], 5],
    [[4, 1, 9], 4],
    [[10, 2, 4, 8], 6],
  ])('of %j is %s', (values, expected) => {
    expect(median(values)).toBe(expected);
  });
});

describe('parseProcStatus', () => {
  const status = ['Name:\tnode', 'VmPeak:\t 1200000 kB', 'VmHWM:\t  204800 kB', 'VmRSS:\t  102400 kB', 'Threads:\t11'].join('\n');

  it('reads VmRSS and VmHWM in bytes', () => {
    expect(parseProcStatus(status)).toEqual({ rssBytes: 102400 * 1024, peakRssBytes: 204800 * 1024 });
  });

  it('fails on a status without VmRSS (a zombie has none)', () => {
    expect(() => parseProcStatus('Name:\tnode\nState:\tZ (zombie)\n')).toThrow('VmRSS');
  });
});

describe('parseProcStatCpuSeconds', () => {
  // Fields after the command: state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime ...
  const tail = 'S 1 2 3 0 -1 4194304 100 0 0 0 250 50 0 0 20 0 11 0 1000 100000 2000';

  it('adds utime and stime and converts ticks to seconds', () => {
    expect(parseProcStatCpuSeconds(`4242 (node) ${tail}`, 100)).toBe(3);
  });

  it('counts fields after the last parenthesis, so a command with spaces and parentheses is read right', () => {
    expect(parseProcStatCpuSeconds(`4242 (my (odd) cmd) ${tail}`, 100)).toBe(3);
  });

  it('fails on a truncated line', () => {
    expect(() => parseProcStatCpuSeconds('4242 (node) S 1 2', 100)).toThrow('utime');
  });
});
