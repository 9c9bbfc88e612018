import { describe, expect, it } from '@jest/globals';
import { DuplicateLabelError, ProtocolErrorCode } from './errors.js';
import { labelsFromProto, labelsToProto } from './labels.js';

describe('labelsToProto', () => {
  it('sorts by name in Prometheus order (UTF-8 bytes: "_" after uppercase, before lowercase)', () => {
    const labels = new Map([
      ['job', 'node'],
      ['__name__', 'up'],
      ['Zone', 'a'],
      ['instance', '10.0.0.1:9100'],
      ['__address__', '10.0.0.1:9100'],
      ['ä', 'umlaut'],
    ]);
    expect(labelsToProto(labels).map((l) => l.name)).toEqual([
      'Zone',
      '__address__',
      '__name__',
      'instance',
      'job',
      'ä',
    ]);
  });

  it('keeps values, including ones that need escaping in text formats', () => {
    const labels = new Map([['path', '/a "b"\\c\n']]);
    expect(labelsToProto(labels)).toEqual([{ name: 'path', value: '/a "b"\\c\n' }]);
  });

  it('leaves out labels with an empty value, which Prometheus treats as absent', () => {
    expect(labelsToProto(new Map([['a', '1'], ['b', ''], ['c', '3']]))).toEqual([
      { name: 'a', value: '1' },
      { name: 'c', value: '3' },
    ]);
  });

  it('returns an empty list for an empty set', () => {
    expect(labelsToProto(new Map())).toEqual([]);
  });
});

describe('labelsFromProto', () => {
  it('round-trips a label set, including names that are Object.prototype keys', () => {
    const labels = new Map([
      ['__proto__', 'x'],
      ['constructor', 'y'],
      ['job', 'api'],
    ]);
    expect(labelsFromProto(labelsToProto(labels))).toEqual(labels);
  });

  it('accepts unsorted input', () => {
    expect(labelsFromProto([{ name: 'b', value: '2' }, { name: 'a', value: '1' }])).toEqual(
      new Map([['a', '1'], ['b', '2']]),
    );
  });

  it('skips labels with an empty value', () => {
    expect(labelsFromProto([{ name: 'a', value: '' }, { name: 'b', value: '2' }])).toEqual(new Map([['b', '2']]));
  });

  it.each([
    ['with different values', [{ name: 'a', value: '1' }, { name: 'a', value: '2' }]],
    ['with equal values', [{ name: 'a', value: '1' }, { name: 'a', value: '1' }]],
    ['when the first is empty', [{ name: 'a', value: '' }, { name: 'a', value: '1' }]],
  ])('rejects a name that appears twice %s', (_case, labels) => {
    expect(() => labelsFromProto(labels)).toThrow(DuplicateLabelError);
    expect(() => labelsFromProto(labels)).toThrow(
      expect.objectContaining({ code: ProtocolErrorCode.duplicateLabel, labelName: 'a' }),
    );
  });
});
