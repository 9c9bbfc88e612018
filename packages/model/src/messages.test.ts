import { describe, expect, it } from '@jest/globals';
import { errorMessage, redactedUrl, redactingLog } from './messages.js';

describe('redactedUrl', () => {
  // [case, text, redacted text, the secret that must not survive ('' when there is none)]
  it.each([
    ['no user info', 'http://a:1/metrics', 'http://a:1/metrics', ''],
    ['plain password', 'http://u:p@a:1/metrics', 'http://u:xxxxx@a:1/metrics', ''],
    ['password with /', 'https://user:pa/ss@host/api/v1/write', 'https://user:xxxxx@host/api/v1/write', 'pa/ss'],
    ['password with several /', 'https://user:a/b/c@host/w', 'https://user:xxxxx@host/w', 'a/b/c'],
    ['password with @', 'https://u:p@ss@host/', 'https://u:xxxxx@host/', 'p@ss'],
    ['password with several @', 'https://u:p@s@s@host/x', 'https://u:xxxxx@host/x', 'p@s@s'],
    ['password with :', 'https://u:pa:ss@host/', 'https://u:xxxxx@host/', 'pa:ss'],
    ['password with #', 'https://u:pa#ss@host/', 'https://u:xxxxx@host/', 'pa#ss'],
    ['password with ?', 'https://u:pa?ss@host/', 'https://u:xxxxx@host/', 'pa?ss'],
    ['password with \\', 'https://u:pa\\ss@host/', 'https://u:xxxxx@host/', 'pa\\ss'],
    ['password %2F', 'https://u:pa%2Fss@host/', 'https://u:xxxxx@host/', 'pa%2Fss'],
    ['password %40', 'https://u:pa%40ss@host/', 'https://u:xxxxx@host/', 'pa%40ss'],
    ['password with digits then /', 'https://user:1234/abc@host/', 'https://user:xxxxx@host/', '1234/abc'],
    ['password with a space, URL alone', 'https://u:pa ss@host/', 'https://u:xxxxx@host/', 'pa ss'],
    ['password with a space and /, URL alone', 'https://u:pa ss/x@host/w', 'https://u:xxxxx@host/w', 'ss/x'],
    ['empty password (Go masks it too)', 'https://u:@host/', 'https://u:xxxxx@host/', ''],
    ['user only', 'https://token@host/', 'https://token@host/', ''],
    ['empty user', 'https://:pw@host/', 'https://:xxxxx@host/', 'pw'],
    ['IPv6 host', 'http://u:pw@[::1]:9090/metrics', 'http://u:xxxxx@[::1]:9090/metrics', 'pw'],
    ['IPv6 host, no user info', 'http://[fe80::1%25eth0]:9090/metrics', 'http://[fe80::1%25eth0]:9090/metrics', ''],
    ['IPv6 host, password with /', 'http://u:p/w@[::1]:9090/', 'http://u:xxxxx@[::1]:9090/', 'p/w'],
    ['no scheme', 'user:pass@host:9090', 'user:xxxxx@host:9090', 'pass'],
    ['no scheme, IPv6', 'user:pass@[2001:db8::1]:9090', 'user:xxxxx@[2001:db8::1]:9090', 'pass'],
    ['no scheme, password with /', 'user:pa/ss@host:9090', 'user:xxxxx@host:9090', 'pa/ss'],
    ['scheme-relative', '//bob:secret@ host', '//bob:xxxxx@ host', 'secret'],
    ['unparsable URL', 'http://u:pw@ho st:99999/', 'http://u:xxxxx@ho st:99999/', 'pw'],
    ['not a URL', 'not a url', 'not a url', ''],
    ['an e-mail address', 'written by bob@example.com', 'written by bob@example.com', ''],
    ['an image digest', 'image nginx:1.25@sha256:0123abcd', 'image nginx:1.25@sha256:0123abcd', ''],
    ['a path with @ after host:port (ambiguous: masked)', 'http://h:9090/@me', 'http://h:xxxxx@me', ''],
    ['query parameters stay', 'http://h:9090/probe?target=a&token=t0k', 'http://h:9090/probe?target=a&token=t0k', ''],
    ['query with a password in the URL', 'http://u:pw@h/probe?token=t0k', 'http://u:xxxxx@h/probe?token=t0k', 'pw'],
    [
      'undici/fetch error quoting the URL',
      'Get "http://user:pa/ss@10.0.0.1:9100/metrics": connect ECONNREFUSED 10.0.0.1:9100',
      'Get "http://user:xxxxx@10.0.0.1:9100/metrics": connect ECONNREFUSED 10.0.0.1:9100',
      'pa/ss',
    ],
    [
      'config error quoting the value',
      'p.yml:3: remote_write[0].url: url for remote_write must be an http or https URL, got "https://user:pa/ss@host/api/v1/write"',
      'p.yml:3: remote_write[0].url: url for remote_write must be an http or https URL, got "https://user:xxxxx@host/api/v1/write"',
      'pa/ss',
    ],
    [
      'two URLs in one message',
      'proxy http://a:one@proxy:3128 refused http://b:two/x@target/metrics',
      'proxy http://a:xxxxx@proxy:3128 refused http://b:xxxxx@target/metrics',
      'two/x',
    ],
    ['two URLs in one word', 'http://a:one@h1,http://b:two@h2', 'http://a:xxxxx@h2', 'two'],
    [
      'a label set quoting an address',
      '{__address__="u:pw@10.0.0.1:9100", instance="u:pw@10.0.0.1:9100", job="node"}',
      '{__address__="u:xxxxx@10.0.0.1:9100", instance="u:xxxxx@10.0.0.1:9100", job="node"}',
      'pw',
    ],
    ['JSON string', '"url":"https://u:p/w@h/w"', '"url":"https://u:xxxxx@h/w"', 'p/w'],
    ['proxy_url with credentials', 'invalid proxy_url "http://proxyuser:proxy/pw@proxy.internal:3128"', 'invalid proxy_url "http://proxyuser:xxxxx@proxy.internal:3128"', 'proxy/pw'],
    ['already redacted', 'http://u:xxxxx@h/', 'http://u:xxxxx@h/', ''],
  ])('%s', (_case, text, expected, secret) => {
    const shown = redactedUrl(text);
    expect(shown).toBe(expected);
    if (secret !== '') expect(shown).not.toContain(secret);
    expect(redactedUrl(shown)).toBe(shown);
  });

  it('keeps the user name, so that two endpoints stay distinguishable', () => {
    expect(redactedUrl('https://alice:pw@host/write')).not.toBe(redactedUrl('https://bob:pw@host/write'));
  });

  it('never leaves a password of a generated URL, whatever it holds', () => {
    const alphabet = 'ab/@:#?%\\[]"\'=&.;,~!$';
    for (let seed = 1; seed <= 2_000; seed++) {
      let password = '';
      for (let n = seed, i = 0; i < 1 + (seed % 9); i++, n = Math.floor(n / 7) + seed * 31) password += alphabet[n % alphabet.length];
      const secret = `S3cr${password}T`;
      for (const text of [`https://user:${secret}@host:9090/path`, `user:${secret}@host:9090`, `Get "http://user:${secret}@[::1]:1/m": boom`]) {
        expect(redactedUrl(text)).not.toContain(secret);
      }
    }
  });
});

describe('redactingLog', () => {
  it('redacts the message and every string field, and keeps numbers and the level', () => {
    const records: unknown[][] = [];
    const log = redactingLog<'warn'>((...record) => records.push(record));
    log('warn', 'remote write to https://u:p/w@rw/ failed', { endpoint: 'https://u:p/w@rw/', err: 'Get "http://a:b@t/": refused', attempt: 2 });
    log('warn', 'no fields');
    expect(records).toEqual([
      ['warn', 'remote write to https://u:xxxxx@rw/ failed', { endpoint: 'https://u:xxxxx@rw/', err: 'Get "http://a:xxxxx@t/": refused', attempt: 2 }],
      ['warn', 'no fields'],
    ]);
  });
});

describe('errorMessage', () => {
  it.each([[new Error('boom'), 'boom'], ['text', 'text'], [42, '42']])('%p', (err, expected) => expect(errorMessage(err)).toBe(expected));
});
