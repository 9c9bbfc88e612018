import { describe, expect, it } from '@jest/globals';
import { parseSize } from './size.js';

describe('parseSize', () => {
  it.each([
    ['0', 0],
    ['1B', 1],
    ['1KB', 1024],
    ['1KiB', 1024],
    ['100MB', 104_857_600],
    ['1.5GB', 1_610_612_736],
    ['1GB512MB', 1_610_612_736],
    ['+2TiB', 2 * 2 ** 40],
  ])('%s is %d bytes', (input, bytes) => {
    expect(parseSize(input)).toBe(bytes);
  });

  it.each([
    ['', 'invalid size ""'],
    ['100', 'invalid size "100": a unit is required'],
    ['1kB', 'invalid size "1kB": unknown unit "kB"'],
    ['MB', 'invalid size "MB": a number is required before each unit'],
    ['1KiB1MB', 'invalid size "1KiB1MB": KiB-style and KB-style units cannot be mixed'],
    ['-1MB', 'invalid size "-1MB": a size cannot be negative'],
    ['8EiB', 'invalid size "8EiB": out of range'],
  ])('rejects %j', (input, message) => {
    const result = parseSize(input);
    expect(typeof result === 'number' ? result : result.error).toContain(message);
  });
});
