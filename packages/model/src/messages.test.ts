import { describe, expect, it } from '@jest/globals';
import { errorMessage, redactedUrl } from './messages.js';

describe('redactedUrl', () => {
  it.each([
    ['http://a:1/metrics', 'http://a:1/metrics'],
    ['http://u:p@a:1/metrics', 'http://u:xxxxx@a:1/metrics'],
    ['not a url', 'not a url'],
  ])('%s', (url, expected) => expect(redactedUrl(url)).toBe(expected));

  it('masks with the given text, and by pattern when the value does not parse', () => {
    expect(redactedUrl('https://alice:pw@host/write', { mask: 'xxx' })).toBe('https://alice:xxx@host/write');
    expect(redactedUrl('//bob:secret@ host', {})).toBe('//bob:xxxxx@ host');
  });
});

describe('errorMessage', () => {
  it.each([[new Error('boom'), 'boom'], ['text', 'text'], [42, '42']])('%p', (err, expected) => expect(errorMessage(err)).toBe(expected));
});
