import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { SecretFilePolicy, SecretFileRefusedError } from '@promfleet/credentials';
import { Secret, type HttpClientConfig } from '@promfleet/model';
import { configureHttpClient, noProxyMatcher, type ConfiguredHttpClient } from './http-client.js';
import { httpConfig, makePki, startProxy, startServer, type Pki } from './http-fixtures.js';

let pki: Pki & { remove(): void };
let dir: string;
const clients: ConfiguredHttpClient[] = [];

beforeAll(() => {
  pki = makePki();
  dir = mkdtempSync(join(tmpdir(), 'promfleet-http-'));
});
afterAll(() => {
  pki.remove();
  rmSync(dir, { recursive: true, force: true });
});
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
});

function client(config: HttpClientConfig): ConfiguredHttpClient {
  const c = configureHttpClient(config, { context: 'scrape job "test"' });
  clients.push(c);
  return c;
}

/** Writes `content` to a fresh file in the test directory, replacing it atomically when it exists. */
function file(name: string, content: string): string {
  const path = join(dir, name);
  writeFileSync(`${path}.tmp`, content);
  renameSync(`${path}.tmp`, path);
  return path;
}

/** GETs `url` through `c` with its headers, as the scraper does; resolves the status and body text. */
async function get(c: ConfiguredHttpClient, url: string): Promise<{ status: number; body: string }> {
  const response = await request(url, { dispatcher: c.dispatcher, headers: await c.headers() });
  return { status: response.statusCode, body: await response.body.text() };
}

const ok = (_req: unknown, res: { end(body: string): void }): void => res.end('ok');
const basic = (user: string, pass: string): string => `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;

describe('headers', () => {
  it('adds the authentication settings, with credentials files read at each call', async () => {
    const token = file('rotating', 'first\n');
    const c = client(httpConfig({ authorization: { type: 'Bearer', credentialsFile: token } }));
    expect(await c.headers()).toEqual({ authorization: 'Bearer first' });
    file('rotating', 'second');
    expect((await c.headers())['authorization']).toBe('Bearer second');
  });

  it('reads only the files its secret file policy allows', async () => {
    const allowed = join(dir, 'allowed');
    mkdirSync(allowed, { recursive: true });
    const secretFiles = SecretFilePolicy.allowDirs([allowed], { flag: '--worker.secret-dirs' });
    const config = (credentialsFile: string) => httpConfig({ authorization: { type: 'Bearer', credentialsFile } });
    const inside = join(allowed, 'token');
    writeFileSync(inside, 'inside\n');
    const c = configureHttpClient(config(inside), { context: 'scrape job "test"', secretFiles });
    clients.push(c);
    expect(await c.headers()).toEqual({ authorization: 'Bearer inside' });
    // A file outside is refused when the client is built, never read.
    const outside = file('outside-token', 'outside');
    expect(() => configureHttpClient(config(outside), { context: 'scrape job "test"', secretFiles })).toThrow(SecretFileRefusedError);
    // A link inside that is later changed to lead outside is refused at the request.
    const link = join(allowed, 'link');
    symlinkSync(inside, link);
    const linked = configureHttpClient(config(link), { context: 'scrape job "test"', secretFiles });
    clients.push(linked);
    rmSync(link);
    symlinkSync(outside, link);
    await expect(linked.headers()).rejects.toThrow(`scrape job "test": authorization.credentials_file: refused to read file ${link}`);
  });
});

describe('TLS', () => {
  const tlsServer = (options: { requireClientCert?: boolean } = {}) =>
    startServer(ok, { tls: { cert: pki.serverCert, key: pki.serverKey, ca: pki.ca, ...options } });

  it('verifies the server against ca_file and server_name', async () => {
    await using server = await tlsServer();
    const c = client(httpConfig({ tlsConfig: { caFile: pki.caFile, serverName: 'target.test', insecureSkipVerify: false } }));
    expect(await get(c, server.url)).toEqual({ status: 200, body: 'ok' });
    expect(server.requests[0]?.headers.host).toBe(`127.0.0.1:${server.port}`);
  });

  it.each<[string, () => HttpClientConfig['tlsConfig'], string]>([
    ['without server_name, the address is verified', () => ({ caFile: pki.caFile, insecureSkipVerify: false }), 'ERR_TLS_CERT_ALTNAME_INVALID'],
    ['without the CA, the chain is not trusted', () => ({ serverName: 'target.test', insecureSkipVerify: false }), 'SELF_SIGNED_CERT_IN_CHAIN'],
  ])('%s', async (_name, tlsConfig, code) => {
    await using server = await tlsServer();
    await expect(get(client(httpConfig({ tlsConfig: tlsConfig() })), server.url)).rejects.toMatchObject({ code });
  });

  it('skips verification with insecure_skip_verify', async () => {
    await using server = await tlsServer();
    const c = client(httpConfig({ tlsConfig: { insecureSkipVerify: true } }));
    expect(await get(c, server.url)).toEqual({ status: 200, body: 'ok' });
  });

  it('accepts the CA inline', async () => {
    await using server = await tlsServer();
    const c = client(httpConfig({ tlsConfig: { ca: pki.ca, serverName: 'target.test', insecureSkipVerify: false } }));
    expect((await get(c, server.url)).status).toBe(200);
  });

  it('presents the client certificate (mTLS)', async () => {
    await using server = await tlsServer({ requireClientCert: true });
    const tlsConfig = { caFile: pki.caFile, serverName: 'target.test', insecureSkipVerify: false };
    const withCert = client(httpConfig({ tlsConfig: { ...tlsConfig, certFile: pki.clientCertFile, keyFile: pki.clientKeyFile } }));
    expect((await get(withCert, server.url)).status).toBe(200);
    expect(server.requests[0]?.clientCertificate).toBe(true);
    await expect(get(client(httpConfig({ tlsConfig })), server.url)).rejects.toThrow();
  });

  it('respects min_version', async () => {
    await using server = await startServer(ok, { tls: { cert: pki.serverCert, key: pki.serverKey, maxVersion: 'TLSv1.2' } });
    const tlsConfig = { caFile: pki.caFile, serverName: 'target.test', insecureSkipVerify: false } as const;
    expect((await get(client(httpConfig({ tlsConfig })), server.url)).status).toBe(200);
    const tls13 = client(httpConfig({ tlsConfig: { ...tlsConfig, minVersion: 'TLS13' } }));
    await expect(get(tls13, server.url)).rejects.toMatchObject({ code: 'ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION' });
  });

  it('picks up a changed CA file for new connections', async () => {
    await using server = await tlsServer();
    const caFile = file('rotating-ca.crt', readFileSync(pki.otherCaFile, 'utf8'));
    const c = client(httpConfig({ tlsConfig: { caFile, serverName: 'target.test', insecureSkipVerify: false } }));
    await expect(get(c, server.url)).rejects.toMatchObject({ code: 'SELF_SIGNED_CERT_IN_CHAIN' });
    file('rotating-ca.crt', pki.ca);
    expect(await get(c, server.url)).toEqual({ status: 200, body: 'ok' });
  });

  it('fails the request, not the client, when a TLS file becomes unusable', async () => {
    const caFile = file('later-broken.crt', pki.ca);
    const c = client(httpConfig({ tlsConfig: { caFile, insecureSkipVerify: false } }));
    file('later-broken.crt', 'garbage');
    await expect(c.headers()).rejects.toMatchObject({ field: 'tls_config.ca_file' });
    file('later-broken.crt', pki.ca);
    await expect(c.headers()).resolves.toEqual({});
  });

  it.each([
    [true, '2.0'],
    [false, '1.1'],
  ])('enable_http2 %s speaks HTTP/%s', async (enableHttp2, version) => {
    await using server = await startServer(ok, { tls: { cert: pki.serverCert, key: pki.serverKey }, http2: true });
    const c = client(httpConfig({ enableHttp2, tlsConfig: { caFile: pki.caFile, serverName: 'target.test', insecureSkipVerify: false } }));
    expect((await get(c, server.url)).body).toBe('ok');
    expect(server.requests[0]?.httpVersion).toBe(version);
  });
});

describe('redirects', () => {
  const redirecting = () =>
    startServer((req, res) => {
      if (req.url === '/from') {
        res.writeHead(302, { location: '/to' });
        res.end();
      } else {
        res.end(`at ${req.url}`);
      }
    });

  it('follows them with follow_redirects', async () => {
    await using server = await redirecting();
    expect(await get(client(httpConfig({ followRedirects: true })), `${server.url}/from`)).toEqual({ status: 200, body: 'at /to' });
  });

  it('returns the redirect itself without', async () => {
    await using server = await redirecting();
    expect((await get(client(httpConfig({ followRedirects: false })), `${server.url}/from`)).status).toBe(302);
    expect(server.requests.map((r) => r.url)).toEqual(['/from']);
  });
});

describe('proxies', () => {
  it('sends plain HTTP in absolute form through proxy_url, with the user info as Proxy-Authorization', async () => {
    await using target = await startServer(ok);
    await using proxy = await startProxy();
    const proxyUrl = `http://bob:s%40cret@127.0.0.1:${proxy.port}`;
    const c = client(httpConfig({ proxyUrl }));
    // Any host name works: the test proxy sends everything to 127.0.0.1.
    expect(await get(c, `http://target.test:${target.port}/metrics`)).toEqual({ status: 200, body: 'ok' });
    expect(proxy.forwarded.map((r) => r.url)).toEqual([`http://target.test:${target.port}/metrics`]);
    expect(proxy.forwarded[0]?.headers['proxy-authorization']).toBe(basic('bob', 's@cret'));
  });

  it('tunnels HTTPS with CONNECT, sending proxy_connect_header, and verifies the target', async () => {
    await using target = await startServer(ok, { tls: { cert: pki.serverCert, key: pki.serverKey } });
    await using proxy = await startProxy();
    const c = client(
      httpConfig({
        proxyUrl: proxy.url,
        proxyConnectHeader: new Map([['X-Proxy-Key', [new Secret('k1'), new Secret('k2')]]]),
        tlsConfig: { caFile: pki.caFile, insecureSkipVerify: false },
      }),
    );
    expect(await get(c, `https://target.test:${target.port}/`)).toEqual({ status: 200, body: 'ok' });
    expect(proxy.tunnels.map((r) => [r.method, r.url, r.headers['x-proxy-key']])).toEqual([['CONNECT', `target.test:${target.port}`, 'k1, k2']]);
  });

  it.each<[string, string | undefined, boolean]>([
    ['proxy_url alone proxies even loopback addresses', undefined, true],
    ['with no_proxy, loopback addresses are never proxied', 'example.com', false],
  ])('%s', async (_name, noProxy, proxied) => {
    await using target = await startServer(ok);
    await using proxy = await startProxy();
    const c = client(httpConfig({ proxyUrl: proxy.url, ...(noProxy === undefined ? {} : { noProxy }) }));
    expect((await get(c, `${target.url}/`)).status).toBe(200);
    expect(proxy.forwarded.length > 0).toBe(proxied);
  });

  it('takes the proxy from the environment with proxy_from_environment', async () => {
    await using target = await startServer(ok);
    await using proxy = await startProxy();
    const names = ['HTTP_PROXY', 'http_proxy', 'HTTPS_PROXY', 'https_proxy', 'NO_PROXY', 'no_proxy', 'REQUEST_METHOD'];
    const saved = names.map((name) => [name, process.env[name]] as const);
    for (const name of names) delete process.env[name];
    Object.assign(process.env, { HTTP_PROXY: `127.0.0.1:${proxy.port}`, NO_PROXY: 'skip.test' });
    try {
      const c = client(httpConfig({ proxyFromEnvironment: true }));
      expect((await get(c, `http://target.test:${target.port}/`)).status).toBe(200);
      await expect(get(c, `http://skip.test:${target.port}/`)).rejects.toMatchObject({ code: 'ENOTFOUND' });
      expect(proxy.forwarded.map((r) => r.url)).toEqual([`http://target.test:${target.port}/`]);
    } finally {
      for (const [name, value] of saved) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
    }
  });

  it.each<[string, string, boolean]>([
    ['http://localhost:9100/', '', true],
    ['http://127.0.0.2:9100/', '', true],
    ['http://[::1]:9100/', '', true],
    ['http://node.test:9100/', '', false],
    ['http://node.test:9100/', '*', true],
    ['http://node.test:9100/', 'node.test', true],
    ['http://a.node.test:9100/', 'node.test', true],
    ['http://node.test:9100/', '.node.test', false],
    ['http://a.node.test:9100/', '*.node.test', true],
    ['http://node.test:9100/', 'other.test, node.test:9100', true],
    ['http://node.test:9100/', 'node.test:80', false],
    ['http://node.test/', 'node.test:80', true],
    ['https://node.test/', 'node.test:443', true],
    ['http://10.1.2.3:9100/', '10.0.0.0/8', true],
    ['http://11.1.2.3:9100/', '10.0.0.0/8', false],
    ['http://10.1.2.3:9100/', '10.1.2.3:9100', true],
    ['http://10.1.2.3:9100/', '10.1.2.3:80', false],
    ['http://[2001:db8::1]:9100/', '2001:db8::/32', true],
    ['http://[2001:db8::1]:9100/', '[2001:db8::1]:9100', true],
    ['http://NODE.test:9100/', 'Node.Test', true],
  ])('no_proxy: %s with %j bypasses the proxy: %s', (url, spec, bypassed) => {
    expect(noProxyMatcher(spec)(new URL(url))).toBe(bypassed);
  });
});
