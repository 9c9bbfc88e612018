import { describe, expect, it } from '@jest/globals';
import { InvalidTargetIdError, ProtocolErrorCode } from './errors.js';
import { targetIdFromBytes, targetIdToBytes } from './ids.js';

describe('targetIdToBytes', () => {
  it('writes the 64-bit id big-endian', () => {
    expect([...targetIdToBytes('0123456789abcdef')]).toEqual([0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef]);
  });

  it.each(['0000000000000000', 'ffffffffffffffff', '8000000000000001', '00ff00ff00ff00ff'])(
    'round-trips %s',
    (hex) => {
      expect(targetIdFromBytes(targetIdToBytes(hex))).toBe(hex);
    },
  );

  it.each([
    ['empty', ''],
    ['15 digits', '0123456789abcde'],
    ['17 digits', '0123456789abcdef0'],
    ['uppercase', '0123456789ABCDEF'],
    ['non-hex digit', '0123456789abcdeg'],
    ['0x prefix', '0x23456789abcdef'],
    ['surrounding space', ' 123456789abcdef'],
    ['trailing newline', '0123456789abcdef\n'],
  ])('rejects %s', (_case, hex) => {
    expect(() => targetIdToBytes(hex)).toThrow(InvalidTargetIdError);
    expect(() => targetIdToBytes(hex)).toThrow(
      expect.objectContaining({ code: ProtocolErrorCode.invalidTargetId, received: hex }),
    );
  });
});

describe('targetIdFromBytes', () => {
  it('reads 8 bytes as 16 lowercase hex digits', () => {
    expect(targetIdFromBytes(Uint8Array.of(0xde, 0xad, 0xbe, 0xef, 0x00, 0x01, 0x02, 0x0a))).toBe('deadbeef0001020a');
  });

  it('reads only the view, not the whole underlying buffer', () => {
    const backing = Uint8Array.of(0xff, 1, 2, 3, 4, 5, 6, 7, 8, 0xff);
    expect(targetIdFromBytes(backing.subarray(1, 9))).toBe('0102030405060708');
  });

  it.each([0, 1, 7, 9, 16])('rejects %i bytes', (length) => {
    expect(() => targetIdFromBytes(new Uint8Array(length))).toThrow(
      expect.objectContaining({ code: ProtocolErrorCode.invalidTargetId, received: `${length} bytes` }),
    );
  });
});
