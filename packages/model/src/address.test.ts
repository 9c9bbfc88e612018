import { describe, expect, it } from '@jest/globals';
import { ListenAddressError, parseListenAddress } from './address.js';

describe('parseListenAddress', () => {
  it.each([
    [':9090', { port: 9090 }],
    ['0.0.0.0:0', { host: '0.0.0.0', port: 0 }],
    ['localhost:8080', { host: 'localhost', port: 8080 }],
    ['[::1]:65535', { host: '::1', port: 65535 }],
    ['[::]:9090', { host: '::', port: 9090 }],
  ])('%p listens on %p', (address, expected) => {
    expect(parseListenAddress(address)).toEqual(expected);
  });

  it.each([
    ['9090', 'missing port'],
    ['localhost', 'missing port'],
    ['::1:9090', 'an IPv6 host needs brackets'],
    ['[::1]9090', 'missing "]:" after an IPv6 host'],
    ['host:', 'port "" is not a number from 0 to 65535'],
    ['host:http', 'port "http" is not a number from 0 to 65535'],
    ['host:65536', 'port "65536" is not a number from 0 to 65535'],
    ['host:-1', 'port "-1" is not a number from 0 to 65535'],
  ])('refuses %p: %s', (address, reason) => {
    let error: unknown;
    try {
      parseListenAddress(address);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ListenAddressError);
    expect(error).toMatchObject({ code: 'PROMFLEET_LISTEN_ADDRESS', address, reason });
  });
});
