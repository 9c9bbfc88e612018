/**
 * The queue's HTTP client settings against real receivers: authentication read per request, user info in the URL,
 * TLS with a private CA, and secrets kept out of every message.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { Secret, type RemoteWriteConfig } from '@promfleet/model';
import { makePki, type Pki } from '../http-fixtures.js';
import { RemoteWriteMetrics } from './metrics.js';
import { RemoteWriteQueue, type RemoteWriteEvent } from './queue.js';
import { remoteWriteConfig, startReceiver, type TestReceiver } from './receiver-fixture.js';

const stops: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const stop of stops.splice(0)) await stop();
});

let dir = '';
let pki: Pki & { remove(): void };
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'promfleet-remote-'));
  pki = makePki();
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
  pki.remove();
});

function newQueue(config: RemoteWriteConfig) {
  const events: RemoteWriteEvent[] = [];
  const queue = new RemoteWriteQueue({
    config,
    externalLabels: new Map(),
    metrics: new RemoteWriteMetrics(new Registry()),
    userAgent: 'promfleet-test/1.0',
    log: (event) => events.push(event),
  });
  stops.push(() => queue.stop({ flushDeadlineMs: 0 }));
  queue.start();
  return { queue, events };
}

/** Appends one sample of a fresh series and waits until the receiver has accepted `total` samples. */
async function sendOne(queue: RemoteWriteQueue, receiver: TestReceiver, total: number): Promise<void> {
  const ref = queue.seriesRef(new Map([['__name__', `m${total}`]]));
  if (ref === undefined) throw new Error('series dropped');
  queue.append(ref, 1000, 1);
  await receiver.waitForAccepted(total);
}

async function eventually(predicate: () => boolean): Promise<void> {
  const deadline = performance.now() + 5_000;
  while (!predicate()) {
    if (performance.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

function basic(user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
}

describe('RemoteWriteQueue authentication', () => {
  it('sends basic auth, reading password_file for every request', async () => {
    await using receiver = await startReceiver();
    const passwordFile = join(dir, 'password');
    writeFileSync(passwordFile, 'first\n');
    const { queue } = newQueue(
      remoteWriteConfig(receiver.url, { httpClient: { basicAuth: { username: 'prom', passwordFile } } }),
    );
    await sendOne(queue, receiver, 1);
    writeFileSync(passwordFile, 'second\n');
    await sendOne(queue, receiver, 2);
    expect(receiver.requests.map((r) => r.headers.authorization)).toEqual([basic('prom', 'first'), basic('prom', 'second')]);
  });

  it('sends a bearer token from credentials_file, read for every request', async () => {
    await using receiver = await startReceiver();
    const tokenFile = join(dir, 'token');
    writeFileSync(tokenFile, 'token-1');
    const { queue } = newQueue(
      remoteWriteConfig(receiver.url, { httpClient: { authorization: { type: 'Bearer', credentialsFile: tokenFile } } }),
    );
    await sendOne(queue, receiver, 1);
    writeFileSync(tokenFile, 'token-2');
    await sendOne(queue, receiver, 2);
    expect(receiver.requests.map((r) => r.headers.authorization)).toEqual(['Bearer token-1', 'Bearer token-2']);
  });

  it('retries while the credentials file cannot be read, as Prometheus fails the request', async () => {
    await using receiver = await startReceiver();
    const tokenFile = join(dir, 'late-token');
    rmSync(tokenFile, { force: true });
    const { queue, events } = newQueue(
      remoteWriteConfig(receiver.url, { httpClient: { authorization: { type: 'Bearer', credentialsFile: tokenFile } } }),
    );
    const ref = queue.seriesRef(new Map([['__name__', 'up']]));
    if (ref === undefined) throw new Error('series dropped');
    queue.append(ref, 1000, 1);
    await eventually(() => events.some((e) => e.kind === 'retrying'));
    expect(receiver.requests).toHaveLength(0);
    writeFileSync(tokenFile, 'late');
    await receiver.waitForAccepted(1);
    expect(receiver.requests.map((r) => r.headers.authorization)).toEqual(['Bearer late']);
  });

  it('turns user info in the URL into basic auth and never shows the password', async () => {
    await using receiver = await startReceiver();
    receiver.script({ status: 400, body: 'bad request' });
    const url = receiver.url.replace('http://', 'http://alice:s%3Acret@');
    const { queue, events } = newQueue(remoteWriteConfig(url));
    expect(queue.redactedUrl).toBe(receiver.url.replace('http://', 'http://alice:xxxxx@'));
    const ref = queue.seriesRef(new Map([['__name__', 'up']]));
    if (ref === undefined) throw new Error('series dropped');
    queue.append(ref, 1000, 1);
    await eventually(() => events.some((e) => e.kind === 'dropping'));
    await sendOne(queue, receiver, 1);
    expect(receiver.requests.map((r) => r.headers.authorization)).toEqual([basic('alice', 's:cret'), basic('alice', 's:cret')]);
    const dropped = events.find((e) => e.kind === 'dropping');
    expect(JSON.stringify(dropped)).toContain('alice:xxxxx@');
    expect(JSON.stringify(events)).not.toContain('cret');
  });

  it('lets http_client authorization win over user info in the URL', async () => {
    await using receiver = await startReceiver();
    const url = receiver.url.replace('http://', 'http://alice:secret@');
    const { queue } = newQueue(
      remoteWriteConfig(url, { httpClient: { authorization: { type: 'Bearer', credentials: new Secret('t0k3n') } } }),
    );
    await sendOne(queue, receiver, 1);
    expect(receiver.requests[0]?.headers.authorization).toBe('Bearer t0k3n');
  });

  it('sends http_headers from the HTTP client settings', async () => {
    await using receiver = await startReceiver();
    const { queue } = newQueue(
      remoteWriteConfig(receiver.url, {
        httpClient: { httpHeaders: new Map([['X-Tenant', { values: ['a'], secrets: [new Secret('s')], files: [] }]]) },
      }),
    );
    await sendOne(queue, receiver, 1);
    expect(receiver.requests[0]?.headers['x-tenant']).toBe('a, s');
  });
});

describe('RemoteWriteQueue TLS', () => {
  it('sends to an HTTPS receiver whose certificate a private CA signed, checking server_name', async () => {
    await using receiver = await startReceiver({ tls: { key: pki.serverKey, cert: pki.serverCert } });
    const { queue } = newQueue(
      remoteWriteConfig(receiver.url, {
        httpClient: { tlsConfig: { caFile: pki.caFile, serverName: 'target.test', insecureSkipVerify: false } },
      }),
    );
    await sendOne(queue, receiver, 1);
    expect(receiver.accepted()).toEqual([{ labels: '__name__=m1', value: 1, timestampMs: 1000 }]);
  });

  it.each([
    ['the certificate is signed by an unknown CA', 'other', 'target.test'],
    ['the certificate does not cover the name dialled', 'ours', undefined],
  ] as const)('retries, never sending, when %s', async (_name, ca, serverName) => {
    await using receiver = await startReceiver({ tls: { key: pki.serverKey, cert: pki.serverCert } });
    const caFile = ca === 'ours' ? pki.caFile : pki.otherCaFile;
    const { queue, events } = newQueue(
      remoteWriteConfig(receiver.url, {
        httpClient: { tlsConfig: { caFile, ...(serverName === undefined ? {} : { serverName }), insecureSkipVerify: false } },
      }),
    );
    const ref = queue.seriesRef(new Map([['__name__', 'up']]));
    if (ref === undefined) throw new Error('series dropped');
    queue.append(ref, 1000, 1);
    await eventually(() => events.filter((e) => e.kind === 'retrying').length >= 2);
    expect(receiver.requests).toHaveLength(0);
  });

  it('accepts any certificate with insecure_skip_verify', async () => {
    await using receiver = await startReceiver({ tls: { key: pki.serverKey, cert: pki.serverCert } });
    const { queue } = newQueue(remoteWriteConfig(receiver.url, { httpClient: { tlsConfig: { insecureSkipVerify: true } } }));
    await sendOne(queue, receiver, 1);
    expect(receiver.accepted()).toHaveLength(1);
  });
});
