import { describe, expect, it } from '@jest/globals';
import { ListenAddressError, fixedPort, parseListenAddress, webUrl } from './address.js';

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

describe('webUrl', () => {
  it.each([
    ['10.0.0.9:40000', 9097, 'http://10.0.0.9:9097/'],
    ['[fd00::1]:40000', 9097, 'http://[fd00::1]:9097/'],
    ['promfleet-master:9096', 9095, 'http://promfleet-master:9095/'],
    ['10.0.0.9:40000', undefined, undefined],
    ['10.0.0.9:40000', 0, undefined],
    ['', 9097, undefined],
    [':9096', 9095, undefined],
    ['not an address', 9095, undefined],
  ])('%s with port %s: %s', (address, port, url) => {
    expect(webUrl(address, port)).toBe(url);
  });
});

describe('fixedPort', () => {
  it.each([
    ['0.0.0.0:9097', 9097],
    [':9095', 9095],
    ['127.0.0.1:0', undefined],
    ['nonsense', undefined],
  ])('%s: %s', (address, port) => {
    expect(fixedPort(address)).toBe(port);
  });
});
