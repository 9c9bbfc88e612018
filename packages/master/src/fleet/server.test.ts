import { describe, expect, it } from '@jest/globals';
import { distinguishedName } from './server.js';

describe('distinguishedName', () => {
  it.each<[string, Record<string, string | string[]>, string]>([
    ['plain values in certificate order', { CN: 'worker-1', O: 'promfleet' }, 'CN=worker-1,O=promfleet'],
    ['a CN that looks like a whole subject', { CN: 'worker-1,O=promfleet' }, 'CN=worker-1\\,O\\=promfleet'],
    ['every special character', { CN: 'a\\b+c"d<e>f;g' }, 'CN=a\\\\b\\+c\\"d\\<e\\>f\\;g'],
    ['leading # and spaces at either end', { CN: '#x ', O: ' y' }, 'CN=\\#x\\ ,O=\\ y'],
    ['a multi-valued attribute', { OU: ['a', 'b'], CN: 'w' }, 'OU=a+OU=b,CN=w'],
  ])('writes %s so that no two subjects read alike', (_, subject, want) => {
    expect(distinguishedName({ subject })).toBe(want);
  });
});
