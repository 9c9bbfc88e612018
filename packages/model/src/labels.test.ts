import { describe, expect, it } from '@jest/globals';
import { labelsFingerprint } from './labels.js';

describe('labelsFingerprint', () => {
  it('is equal for equal label sets in the same order and differs otherwise', () => {
    const a = new Map([['job', 'x'], ['instance', 'a:1']]);
    expect(labelsFingerprint(a)).toBe(labelsFingerprint(new Map(a)));
    expect(labelsFingerprint(a)).not.toBe(labelsFingerprint(new Map([['job', 'x'], ['instance', 'a:2']])));
    // Separators keep name/value boundaries apart.
    expect(labelsFingerprint(new Map([['ab', 'c']]))).not.toBe(labelsFingerprint(new Map([['a', 'bc']])));
    expect(Number.isSafeInteger(labelsFingerprint(a))).toBe(true);
  });
});
