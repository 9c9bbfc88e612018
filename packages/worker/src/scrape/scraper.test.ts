import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { createServer, type AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip, gzipSync } from 'node:zlib';
import { parseConfig, type ScrapeConfig } from '@promfleet/model';
import { makePki, startServer, type Pki } from '../http-fixtures.js';
import { acceptHeader, DEFAULT_MAX_BODY_SIZE_BYTES, ScrapeError, TargetScraper, type ScrapeResponse } from './scraper.js';

let pki: Pki & { remove(): void };
let dir: string;
const scrapers: TargetScraper[] = [];

beforeAll(() => {
  pki = makePki();
  dir = mkdtempSync(join(tmpdir(), 'promfleet-scraper-'));
});
afterAll(() => {
  pki.remove();
  rmSync(dir, { recursive: true, force: true });
});
afterEach(async () => {
  await Promise.all(scrapers.splice(0).map((s) => s.close()));
});

/** The job that `lines` (keys of one scrape_configs entry) load to, relative files resolving in the test directory. */
function job(...lines: string[]): ScrapeConfig {
  const text = ['scrape_configs:', '  - job_name: test', ...lines.map((l) => `    ${l}`)].join('\n');
  const result = parseConfig(`${text}\n`, { file: join(dir, 'prometheus.yml') });
  if (!result.ok) throw new Error(result.errors.map((e) => e.message).join('; '));
  const [first] = result.config.scrapeConfigs;
  if (first === undefined) throw new Error('no job');
  return first;
}

function scraper(...lines: string[]): TargetScraper {
  const s = new TargetScraper({ job: job(...lines), userAgent: 'promfleet/test' });
  scrapers.push(s);
  return s;
}

/** A scraper with a worker-wide body size limit (`--scrape.max-body-size`); `undefined` leaves the default. */
function cappedScraper(maxBodySizeBytes: number | undefined, ...lines: string[]): TargetScraper {
  const s = new TargetScraper({ job: job(...lines), userAgent: 'promfleet/test', ...(maxBodySizeBytes === undefined ? {} : { maxBodySizeBytes }) });
  scrapers.push(s);
  return s;
}

/** An endless stream of zeros, 64 KiB a read. */
function zeros(): Readable {
  const block = Buffer.alloc(64 * 1024);
  return new Readable({
    read() {
      this.push(block);
    },
  });
}

/** `bytes` zero bytes, gzipped as a stream (the input is never held whole). */
async function gzippedZeros(bytes: number): Promise<Buffer> {
  const out: Buffer[] = [];
  await pipeline(zeros().take(bytes / (64 * 1024)), createGzip(), async (compressed: AsyncIterable<Buffer>) => {
    for await (const chunk of compressed) out.push(chunk);
  });
  return Buffer.concat(out);
}

function file(name: string, content: string): string {
  const path = join(dir, name);
  writeFileSync(`${path}.tmp`, content);
  renameSync(`${path}.tmp`, path);
  return path;
}

/** A handler that answers `body` with `headers`. */
const answer =
  (body: string | Buffer, headers: Record<string, string> = {}) =>
  (_req: unknown, res: ServerResponse | { writeHead(status: number, headers: Record<string, string>): void; end(body: string | Buffer): void }): void => {
    res.writeHead(200, headers);
    res.end(body);
  };

/** The rejection of `promise`, which must reject. */
async function failure(promise: Promise<ScrapeResponse>): Promise<ScrapeError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof ScrapeError)) throw new Error(`expected a ScrapeError, got ${String(error)}`);
  return error;
}

describe('acceptHeader', () => {
  const all = ['OpenMetricsText1.0.0', 'OpenMetricsText0.0.1', 'PrometheusText1.0.0', 'PrometheusText0.0.4'] as const;
  it.each<[string, ScrapeConfig['scrapeProtocols'], ScrapeConfig['metricNameEscapingScheme'], string]>([
    [
      'the default protocols',
      all,
      'allow-utf-8',
      'application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6,application/openmetrics-text;version=0.0.1;q=0.5,' +
        'text/plain;version=1.0.0;escaping=allow-utf-8;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2',
    ],
    ['one protocol', ['PrometheusText0.0.4'], 'underscores', 'text/plain;version=0.0.4;q=0.6,*/*;q=0.5'],
    [
      'the escaping scheme on 1.0.0 formats only',
      ['PrometheusText1.0.0', 'OpenMetricsText0.0.1'],
      'values',
      'text/plain;version=1.0.0;escaping=values;q=0.6,application/openmetrics-text;version=0.0.1;q=0.5,*/*;q=0.4',
    ],
    [
      'PrometheusProto left out without taking a weight',
      ['PrometheusProto', ...all],
      'dots',
      'application/openmetrics-text;version=1.0.0;escaping=dots;q=0.6,application/openmetrics-text;version=0.0.1;q=0.5,' +
        'text/plain;version=1.0.0;escaping=dots;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2',
    ],
    ['only PrometheusProto', ['PrometheusProto'], 'allow-utf-8', '*/*;q=0.6'],
  ])('%s', (_name, protocols, escaping, expected) => {
    expect(acceptHeader(protocols, escaping)).toBe(expected);
  });
});

describe('request headers', () => {
  it.each<[string, string[], number, Record<string, string>]>([
    [
      'defaults',
      [],
      10_000,
      {
        accept:
          'application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6,application/openmetrics-text;version=0.0.1;q=0.5,' +
          'text/plain;version=1.0.0;escaping=allow-utf-8;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2',
        'accept-encoding': 'gzip',
        'user-agent': 'promfleet/test',
        'x-prometheus-scrape-timeout-seconds': '10',
      },
    ],
    [
      'scrape_protocols, no compression, a fractional timeout',
      ['scrape_protocols: [PrometheusText0.0.4, OpenMetricsText1.0.0]', 'metric_name_validation_scheme: legacy', 'enable_compression: false'],
      1_500,
      {
        accept: 'text/plain;version=0.0.4;q=0.6,application/openmetrics-text;version=1.0.0;escaping=underscores;q=0.5,*/*;q=0.4',
        'accept-encoding': 'identity',
        'x-prometheus-scrape-timeout-seconds': '1.5',
      },
    ],
    [
      'http_headers and an Accept added to our own',
      ['http_headers:', '  X-Scope-OrgID: {values: [tenant]}', '  Accept: {values: [text/html]}', 'scrape_protocols: [PrometheusText0.0.4]'],
      500,
      { 'x-scope-orgid': 'tenant', accept: 'text/plain;version=0.0.4;q=0.6,*/*;q=0.5, text/html', 'x-prometheus-scrape-timeout-seconds': '0.5' },
    ],
  ])('%s', async (_name, lines, timeoutMs, expected) => {
    await using server = await startServer(answer('up 1\n'));
    await scraper(...lines).scrape({ url: `${server.url}/metrics`, timeoutMs });
    expect(server.requests[0]?.headers).toMatchObject(expected);
  });

  it('sends basic auth from a file, read again at each scrape', async () => {
    await using server = await startServer(answer('up 1\n'));
    file('password', 'first\n');
    const s = scraper('basic_auth:', '  username: prom', '  password_file: password');
    await s.scrape({ url: server.url, timeoutMs: 1000 });
    file('password', 'second\n');
    await s.scrape({ url: server.url, timeoutMs: 1000 });
    const basic = (p: string): string => `Basic ${Buffer.from(`prom:${p}`).toString('base64')}`;
    expect(server.requests.map((r) => r.headers.authorization)).toEqual([basic('first'), basic('second')]);
  });

  it('sends a bearer token from a file', async () => {
    await using server = await startServer(answer('up 1\n'));
    file('token', 'abc\n');
    await scraper('bearer_token_file: token').scrape({ url: server.url, timeoutMs: 1000 });
    expect(server.requests[0]?.headers.authorization).toBe('Bearer abc');
  });
});

describe('responses', () => {
  /** A gzip bomb: 64 MiB of zeros in about 64 KB. */
  let bomb: Buffer;
  beforeAll(async () => {
    bomb = await gzippedZeros(64 * 2 ** 20);
  });

  it('returns the body, its content type and size', async () => {
    const body = '# HELP up x\nup 1\n';
    await using server = await startServer(answer(body, { 'content-type': 'text/plain; version=0.0.4' }));
    expect(await scraper().scrape({ url: server.url, timeoutMs: 1000 })).toEqual({
      body,
      contentType: 'text/plain; version=0.0.4',
      bytes: body.length,
    });
  });

  it('gunzips a gzip body and counts its uncompressed size', async () => {
    const body = 'metric_total{a="é"} 1\n'.repeat(5000);
    await using server = await startServer(answer(gzipSync(body), { 'content-encoding': 'gzip', 'content-type': 'application/openmetrics-text' }));
    const response = await scraper().scrape({ url: server.url, timeoutMs: 1000 });
    expect(response).toEqual({ body, contentType: 'application/openmetrics-text', bytes: Buffer.byteLength(body) });
  });

  it('gunzips a body of two gzip members, whose trailer states only the last one\u2019s size', async () => {
    const first = 'metric_total{a="1"} 1\n'.repeat(4000);
    const second = 'up 1\n';
    await using server = await startServer(answer(Buffer.concat([gzipSync(first), gzipSync(second)]), { 'content-encoding': 'gzip' }));
    const response = await scraper().scrape({ url: server.url, timeoutMs: 1000 });
    expect(response.body).toBe(first + second);
    expect(response.bytes).toBe(first.length + second.length);
  });

  it('takes only exactly "gzip" as gzip, as Go does', async () => {
    const compressed = gzipSync('up 1\n');
    await using server = await startServer(answer(compressed, { 'content-encoding': 'x-gzip' }));
    expect((await scraper().scrape({ url: server.url, timeoutMs: 1000 })).bytes).toBe(compressed.length);
  });

  it.each<[string, 'plain' | 'gzip', number, boolean]>([
    ['a plain body below the limit', 'plain', 99, false],
    ['a plain body of exactly the limit', 'plain', 100, true],
    ['a gzip body decompressing to the limit', 'gzip', 100, true],
    ['a gzip body decompressing to below the limit', 'gzip', 99, false],
    ['an incompressible gzip body, larger compressed than the limit, decompressing to below it', 'gzip', -99, false],
  ])('body_size_limit: %s', async (_name, encoding, signedSize, fails) => {
    // A negative size asks for random (incompressible) bytes rather than repeated ones.
    const size = Math.abs(signedSize);
    const body = signedSize < 0 ? randomBytes(size) : Buffer.from('x'.repeat(size));
    const headers: Record<string, string> = encoding === 'gzip' ? { 'content-encoding': 'gzip' } : {};
    await using server = await startServer(answer(encoding === 'gzip' ? gzipSync(body) : body, headers));
    const scraping = scraper('body_size_limit: 100B').scrape({ url: server.url, timeoutMs: 1000 });
    if (fails) {
      expect(await failure(scraping)).toMatchObject({ reason: 'body_size_limit', code: 'PROMFLEET_SCRAPE_BODY_SIZE_LIMIT', message: 'body size limit exceeded' });
    } else {
      expect((await scraping).bytes).toBe(size);
    }
  });

  it.each<[string, number | undefined, string[], number]>([
    ['a job limit', undefined, ['body_size_limit: 1MB'], 2 ** 20],
    ['the default worker-wide limit', undefined, [], DEFAULT_MAX_BODY_SIZE_BYTES],
  ])('stops a gzip bomb (64 MiB of zeros) at %s', async (_name, maxBodySizeBytes, lines, limitBytes) => {
    await using server = await startServer(answer(bomb, { 'content-encoding': 'gzip' }));
    const error = await failure(cappedScraper(maxBodySizeBytes, ...lines).scrape({ url: server.url, timeoutMs: 10_000 }));
    expect(error).toMatchObject({ reason: 'body_size_limit', message: 'body size limit exceeded', limitBytes });
  });

  it('stops reading an endless gzip body at the limit and closes the connection', async () => {
    let fedBytes = 0;
    let ended: Promise<{ finished: boolean }> | undefined;
    await using server = await startServer((_req, res) => {
      const response = res as ServerResponse;
      response.writeHead(200, { 'content-encoding': 'gzip' });
      const source = zeros().map((chunk: Buffer) => ((fedBytes += chunk.length), chunk));
      ended = pipeline(source, createGzip(), response).then(
        () => ({ finished: true }),
        () => ({ finished: response.writableFinished }),
      );
    });
    const error = await failure(scraper('body_size_limit: 1MB').scrape({ url: server.url, timeoutMs: 20_000 }));
    expect(error.reason).toBe('body_size_limit');
    // The server's endless response was cut by the client, not finished; what it had produced by then is what the
    // sockets' buffers took in, a small multiple of the 1 MiB limit at zlib's ratio of about 1,000:1.
    expect(await ended).toEqual({ finished: false });
    expect(fedBytes).toBeLessThan(2 ** 32);
  });

  it.each<[string, number | undefined, string[], number, boolean]>([
    ['the worker limit applies to a job without one', 1024, [], 1023, false],
    ['the worker limit fails a body of exactly its size', 1024, [], 1024, true],
    ['a job limit above the worker limit wins', 1024, ['body_size_limit: 2KB'], 2047, false],
    ['a job limit above the worker limit still fails above itself', 1024, ['body_size_limit: 2KB'], 2048, true],
    ['a job limit below the worker limit wins', 1024, ['body_size_limit: 512B'], 512, true],
    ['a worker limit of 0 means none', 0, [], 4 * 2 ** 20, false],
    ['the default worker limit lets a large body through', undefined, [], 4 * 2 ** 20, false],
  ])('%s', async (_name, maxBodySizeBytes, lines, size, fails) => {
    const body = Buffer.alloc(size, 'x');
    await using server = await startServer(answer(gzipSync(body), { 'content-encoding': 'gzip' }));
    const scraping = cappedScraper(maxBodySizeBytes, ...lines).scrape({ url: server.url, timeoutMs: 5000 });
    if (fails) expect((await failure(scraping)).reason).toBe('body_size_limit');
    else expect((await scraping).bytes).toBe(size);
  });

  it.each<[string, number, boolean]>([
    ['below the limit', 4095, false],
    ['at the limit', 4096, true],
    ['far above the limit', 1024 * 1024, true],
  ])('body_size_limit: a chunked plain body without Content-Length %s', async (_name, size, fails) => {
    await using server = await startServer((_req, res) => {
      const response = res as ServerResponse;
      response.writeHead(200, { 'content-type': 'text/plain' });
      // Several writes: the body goes out chunked, its size unknown to the client until the end.
      for (let sent = 0; sent < size; sent += 1000) response.write('x'.repeat(Math.min(1000, size - sent)));
      response.end();
    });
    const scraping = scraper('body_size_limit: 4KB').scrape({ url: server.url, timeoutMs: 5000 });
    if (fails) {
      expect(await failure(scraping)).toMatchObject({ reason: 'body_size_limit', limitBytes: 4096 });
    } else {
      expect(await scraping).toEqual({ body: 'x'.repeat(size), contentType: 'text/plain', bytes: size });
    }
  });

  it.each<[string, number]>([
    ['none', 0],
    ['far below the body', 100],
    ['near the body', 190_000],
    ['above the body', 10 * 2 ** 20],
  ])('gunzips the same body whatever the size hint: %s', async (_name, sizeHintBytes) => {
    const body = 'metric_total{a="1",b="two"} 12345\n'.repeat(6000);
    await using server = await startServer(answer(gzipSync(body), { 'content-encoding': 'gzip' }));
    const response = await scraper().scrape({ url: server.url, timeoutMs: 5000, sizeHintBytes });
    expect(response).toMatchObject({ body, bytes: body.length });
  });

  it.each<[string, (res: ServerResponse) => void, string]>([
    ['500', (res) => res.writeHead(500).end(), 'server returned HTTP status 500 Internal Server Error'],
    ['a custom reason', (res) => res.writeHead(404, 'Nope').end('missing'), 'server returned HTTP status 404 Nope'],
    ['204, not 200', (res) => res.writeHead(204).end(), 'server returned HTTP status 204 No Content'],
  ])('fails on status %s', async (_name, respond, message) => {
    await using server = await startServer((_req, res) => respond(res as ServerResponse));
    const error = await failure(scraper().scrape({ url: server.url, timeoutMs: 1000 }));
    expect(error).toMatchObject({ reason: 'status', code: 'PROMFLEET_SCRAPE_HTTP_STATUS', message });
  });

  it('fails on a gzip body that does not decompress', async () => {
    await using server = await startServer(answer('not gzip at all', { 'content-encoding': 'gzip' }));
    const error = await failure(scraper().scrape({ url: server.url, timeoutMs: 1000 }));
    expect(error).toMatchObject({ reason: 'decompress', code: 'PROMFLEET_SCRAPE_DECOMPRESS', message: 'gzip: incorrect header check' });
  });
});

describe('timeouts and cancellation', () => {
  it.each<[string, (res: ServerResponse) => void]>([
    ['before the headers', () => undefined],
    ['while reading the body', (res) => res.writeHead(200).write('up 1\n')],
  ])('times out %s', async (_name, stall) => {
    await using server = await startServer((_req, res) => stall(res as ServerResponse));
    const error = await failure(scraper().scrape({ url: `${server.url}/metrics`, timeoutMs: 100 }));
    expect(error).toMatchObject({
      reason: 'timeout',
      code: 'PROMFLEET_SCRAPE_TIMEOUT',
      message: `Get "${server.url}/metrics": context deadline exceeded (scrape timeout 100ms)`,
    });
  });

  it("rejects with the signal's reason when the caller aborts", async () => {
    await using server = await startServer(() => undefined);
    const controller = new AbortController();
    const scraping = scraper().scrape({ url: server.url, timeoutMs: 5000, signal: controller.signal });
    const reason = new Error('loop stopped');
    setImmediate(() => controller.abort(reason));
    await expect(scraping).rejects.toBe(reason);
  });
});

describe('redirects, TLS and errors', () => {
  const redirecting = () =>
    startServer((req, res) => {
      if (req.url === '/old') (res as ServerResponse).writeHead(302, { location: '/metrics' }).end();
      else res.end('up 1\n');
    });

  it.each<[string, string[], string | undefined]>([
    ['followed by default', [], undefined],
    ['not followed with follow_redirects: false', ['follow_redirects: false'], 'server returned HTTP status 302 Found'],
  ])('redirects are %s', async (_name, lines, message) => {
    await using server = await redirecting();
    const scraping = scraper(...lines).scrape({ url: `${server.url}/old`, timeoutMs: 1000 });
    if (message === undefined) expect((await scraping).body).toBe('up 1\n');
    else expect((await failure(scraping)).message).toBe(message);
  });

  it('scrapes https with ca_file and server_name', async () => {
    await using server = await startServer(answer('up 1\n'), { tls: { cert: pki.serverCert, key: pki.serverKey } });
    const s = scraper('scheme: https', 'tls_config:', `  ca_file: ${pki.caFile}`, '  server_name: target.test');
    expect((await s.scrape({ url: server.url, timeoutMs: 1000 })).body).toBe('up 1\n');
  });

  it('reports a refused connection as a network error with the URL', async () => {
    const port = await freePort();
    const error = await failure(scraper().scrape({ url: `http://127.0.0.1:${port}/metrics`, timeoutMs: 1000 }));
    expect(error.reason).toBe('network');
    expect(error.message).toMatch(new RegExp(`^Get "http://127.0.0.1:${port}/metrics": .*ECONNREFUSED`));
  });

  it('sends URL user info as basic auth and never shows the password', async () => {
    await using server = await startServer((_req, res) => (res as ServerResponse).writeHead(401).end());
    const s = scraper('basic_auth: {username: other, password: hunter2}');
    const url = `http://user:s3cr%40t@127.0.0.1:${server.port}/metrics`;
    const error = await failure(s.scrape({ url, timeoutMs: 1000 }));
    expect(error.message).toBe('server returned HTTP status 401 Unauthorized');
    expect(server.requests[0]?.headers.authorization).toBe(`Basic ${Buffer.from('user:s3cr@t').toString('base64')}`);

    const port = await freePort();
    const refused = await failure(s.scrape({ url: `http://user:s3cr%40t@127.0.0.1:${port}/metrics`, timeoutMs: 1000 }));
    expect(refused.message).toContain(`Get "http://user:xxxxx@127.0.0.1:${port}/metrics"`);
    for (const e of [error, refused]) {
      expect(`${e.message} ${JSON.stringify(e)}`).not.toMatch(/s3cr|hunter2/);
    }
  });
});

/** A port nothing listens on. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
