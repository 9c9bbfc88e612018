import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdirSync, mkdtempSync, realpathSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Secret, type HttpClientConfig } from '@promfleet/model';
import { CredentialsConfigError, SecretFileRefusedError } from './errors.js';
import { checkSecretFiles, requestHeaders } from './headers.js';
import { SecretFilePolicy } from './policy.js';

let dir: string;
const context = 'scrape job "test"';

beforeAll(() => {
  dir = realpathSync(mkdtempSync(join(tmpdir(), 'promfleet-headers-')));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** Writes `content` to a fresh file in the test directory, replacing it atomically when it exists. */
function file(name: string, content: string): string {
  const path = join(dir, name);
  writeFileSync(`${path}.tmp`, content);
  renameSync(`${path}.tmp`, path);
  return path;
}

/** An HTTP client config with Prometheus' defaults and `settings` over them. */
function httpConfig(settings: Partial<HttpClientConfig> = {}): HttpClientConfig {
  return {
    tlsConfig: { insecureSkipVerify: false },
    proxyFromEnvironment: false,
    proxyConnectHeader: new Map(),
    followRedirects: true,
    enableHttp2: true,
    httpHeaders: new Map(),
    ...settings,
  };
}

const basic = (user: string, pass: string): string => `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;

describe('requestHeaders', () => {
  it.each<[string, () => Partial<HttpClientConfig>, Record<string, string>]>([
    ['no settings', () => ({}), {}],
    ['inline basic auth', () => ({ basicAuth: { username: 'u', password: new Secret('p w') } }), { authorization: basic('u', 'p w') }],
    [
      'basic auth from trimmed files',
      () => ({ basicAuth: { username: '', usernameFile: file('user', ' alice\n'), passwordFile: file('pass', 'hunter2\n') } }),
      { authorization: basic('alice', 'hunter2') },
    ],
    ['basic auth without password', () => ({ basicAuth: { username: 'u' } }), { authorization: basic('u', '') }],
    ['inline authorization', () => ({ authorization: { type: 'Token', credentials: new Secret('abc') } }), { authorization: 'Token abc' }],
    ['bearer from a trimmed file', () => ({ authorization: { type: 'Bearer', credentialsFile: file('token', 'tok\n') } }), { authorization: 'Bearer tok' }],
    // authorizationCredentialsRoundTripper sends "<type> " even without credentials.
    ['authorization without credentials', () => ({ authorization: { type: 'Bearer' } }), { authorization: 'Bearer ' }],
    [
      'http_headers values, then secrets, then trimmed files',
      () => ({
        httpHeaders: new Map([
          ['X-Scope-OrgID', { values: ['a', 'b'], secrets: [new Secret('s')], files: [file('hdr', ' f \n')] }],
          ['X-Empty', { values: [], secrets: [], files: [] }],
        ]),
      }),
      { 'x-scope-orgid': 'a, b, s, f' },
    ],
  ])('%s', async (_name, settings, expected) => {
    expect(await requestHeaders(httpConfig(settings()), { context })).toEqual(expected);
  });

  it('reads credentials files at each call', async () => {
    const token = file('rotating', 'first');
    const config = httpConfig({ authorization: { type: 'Bearer', credentialsFile: token } });
    expect((await requestHeaders(config, { context }))['authorization']).toBe('Bearer first');
    file('rotating', 'second');
    expect((await requestHeaders(config, { context }))['authorization']).toBe('Bearer second');
  });

  const byField: [string, (f: string) => Partial<HttpClientConfig>, string][] = [
    ['basic_auth.password_file', (f) => ({ basicAuth: { username: 'u', passwordFile: f } }), 'unable to read basic auth password'],
    ['basic_auth.username_file', (f) => ({ basicAuth: { username: '', usernameFile: f, password: new Secret('pw') } }), 'unable to read basic auth username'],
    ['authorization.credentials_file', (f) => ({ authorization: { type: 'Bearer', credentialsFile: f } }), 'unable to read authorization credentials'],
    ['http_headers.X-A.files', (f) => ({ httpHeaders: new Map([['X-A', { values: [], secrets: [], files: [f] }]]) }), 'unable to read headers file'],
  ];

  it.each(byField)('an unreadable %s is a CredentialsConfigError naming the file', async (field, settings, words) => {
    const missing = join(dir, 'does-not-exist');
    const error = await requestHeaders(httpConfig(settings(missing)), { context }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CredentialsConfigError);
    expect(error).toMatchObject({ code: 'PROMFLEET_CREDENTIALS_CONFIG', field });
    expect((error as Error).message).toBe(`${context}: ${field}: ${words}: unable to read file ${missing}: ENOENT`);
    expect((error as Error).message).not.toContain('pw');
  });

  it.each(byField)('a %s outside the policy is refused, never read', async (field, settings) => {
    const allowed = join(dir, 'allowed');
    mkdirSync(allowed, { recursive: true });
    const outside = file('outside-secret', 'do-not-send');
    const policy = SecretFilePolicy.allowDirs([allowed], { flag: '--worker.secret-dirs' });
    const config = httpConfig(settings(outside));
    const error = await requestHeaders(config, { context, policy }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SecretFileRefusedError);
    expect(error).toMatchObject({ code: 'PROMFLEET_SECRET_FILE_REFUSED', field, file: outside });
    expect((error as Error).message).toContain('--worker.secret-dirs');
    expect((error as Error).message).not.toContain('do-not-send');
    expect(() => checkSecretFiles(config, { context, policy })).toThrow(SecretFileRefusedError);
  });
});

describe('checkSecretFiles', () => {
  it('checks TLS files too, and lets allowed or missing-but-allowed files pass', () => {
    const allowed = join(dir, 'check');
    mkdirSync(allowed, { recursive: true });
    const policy = SecretFilePolicy.allowDirs([allowed], { flag: '--worker.secret-dirs' });
    const outside = file('outside-ca', 'x');
    const tls = (caFile: string): HttpClientConfig => httpConfig({ tlsConfig: { caFile, insecureSkipVerify: false } });
    expect(() => checkSecretFiles(tls(outside), { context, policy })).toThrow(`${context}: tls_config.ca_file: refused to read file ${outside}`);
    expect(() => checkSecretFiles(tls(join(allowed, 'not-yet')), { context, policy })).not.toThrow();
    expect(() => checkSecretFiles(tls(outside), { context })).not.toThrow();
  });
});
