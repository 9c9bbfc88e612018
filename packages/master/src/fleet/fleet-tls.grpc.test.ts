/**
 * The fleet port with TLS, over real sockets on 127.0.0.1: connections that never get as far as a call (a gRPC
 * client without TLS, garbage, a failed or silent handshake, one connection too many) are refused, counted under
 * promfleet_fleet_connections_refused_total and logged once per peer, and never become members, while a worker
 * with a client certificate joins and streams beside them; closing the server ends everything.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { Registry } from 'prom-client';
import { buildTarget, parseConfig, type ScrapeConfig } from '@promfleet/model';
import { scrapeJobToProto } from '@promfleet/protocol';
import { makePki, type Pki } from '@promfleet/testkit';
import { AssignmentClient, loadMasterLink, type ClientEvent } from '@promfleet/worker';
import type { RefusalEvent } from './admission.js';
import { Fleet } from './fleet.js';
import { JobFeed } from './fixtures.js';
import { loadFleetLink } from './link.js';
import { FleetMetrics } from './metrics.js';
import { RefusalLog } from './refusal-log.js';
import { FleetGrpcServer } from './server.js';

const parsed = parseConfig('scrape_configs:\n  - job_name: node\n', { file: 'g.yml' });
if (!parsed.ok) throw new Error('config');
const job = parsed.config.scrapeConfigs[0] as ScrapeConfig;
const built = buildTarget(job, new Map([['__address__', '10.0.0.1:9100']]), new Map());
if (built.kind !== 'kept') throw new Error('target');
const target = built.target;

let pki: Pki;
beforeAll(() => {
  pki = makePki();
});
afterAll(() => pki.remove());

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

interface LogLine {
  readonly message: string;
  readonly fields: Readonly<Record<string, string | number>>;
}

interface Master {
  readonly address: string;
  readonly port: number;
  readonly fleet: Fleet;
  readonly server: FleetGrpcServer;
  readonly refusals: RefusalEvent[];
  readonly logged: LogLine[];
  readonly log: RefusalLog;
  /** promfleet_fleet_connections_refused_total{reason}. */
  refusedTotal(reason: string): Promise<number>;
  /** Closes the server (once; the cleanup does it otherwise). */
  close(): Promise<void>;
}

async function startMaster(options: { handshakeTimeoutMs?: number; maxConnections?: number; idleConnectionMs?: number } = {}): Promise<Master> {
  const refusals: RefusalEvent[] = [];
  const logged: LogLine[] = [];
  const registry = new Registry();
  const metrics = new FleetMetrics(registry);
  const log = new RefusalLog({ log: (_level, message, fields) => logged.push({ message, fields }) });
  const controller = new AbortController();
  const link = await loadFleetLink({ tls: { ...pki.master, clientCaFile: pki.caFile } }, { signal: controller.signal, onRefresh: () => undefined });
  const observer = {
    refused: (event: RefusalEvent) => {
      refusals.push(event);
      metrics.observer.refused?.(event);
      log.refused(event);
    },
  };
  const fleet = new Fleet({ masterId: 'm', softwareVersion: 'test', graceMs: 200, startupGraceMs: 0, startupWaitMs: 100, heartbeatIntervalMs: 200, observer });
  fleet.configure({ jobs: [scrapeJobToProto(job)], remoteWrite: [] });
  fleet.start();
  fleet.updateJobs([new JobFeed(job).update([target])]);
  const server = new FleetGrpcServer({
    fleet,
    observer,
    admission: link.admission,
    ...(link.credentials === undefined ? {} : { credentials: link.credentials }),
    ...(options.handshakeTimeoutMs === undefined ? {} : { handshakeTimeoutMs: options.handshakeTimeoutMs }),
    ...(options.maxConnections === undefined ? {} : { maxConnections: options.maxConnections }),
    ...(options.idleConnectionMs === undefined ? {} : { idleConnectionMs: options.idleConnectionMs }),
  });
  const port = await server.listen('127.0.0.1:0');
  let closed: Promise<void> | undefined;
  const close = () => (closed ??= server.close());
  cleanups.push(async () => {
    controller.abort();
    fleet.stop();
    await close();
  });
  const refusedTotal = async (reason: string) => {
    const metric = await registry.getSingleMetric('promfleet_fleet_connections_refused_total')?.get();
    return metric?.values.find((v) => v.labels['reason'] === reason)?.value ?? Number.NaN;
  };
  return { address: `127.0.0.1:${port}`, port, fleet, server, refusals, logged, log, refusedTotal, close };
}

interface Worker {
  readonly client: AssignmentClient;
  readonly events: ClientEvent[];
}

async function startWorker(master: Master, options: { id: string; tls: boolean }): Promise<Worker> {
  const controller = new AbortController();
  const link = options.tls
    ? await loadMasterLink({ tls: { caFile: pki.caFile, serverName: 'master.test', ...pki.worker1 } }, { signal: controller.signal, onRefresh: () => undefined })
    : undefined;
  const events: ClientEvent[] = [];
  const client = new AssignmentClient({
    address: master.address,
    workerId: options.id,
    softwareVersion: 'test',
    backoff: { initialMs: 20, maxMs: 100 },
    ...(link?.credentials === undefined ? {} : { credentials: link.credentials }),
    channelOptions: { ...link?.channelOptions, 'grpc.use_local_subchannel_pool': 1 },
    log: (event) => events.push(event),
  });
  client.start();
  let stopped: Promise<void> | undefined;
  cleanups.push(async () => {
    await (stopped ??= client.stop());
    controller.abort();
  });
  return { client, events };
}

async function until(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A raw TCP connection to the master; resolves once connected. */
async function rawConnect(port: number): Promise<{ socket: Socket; closed: Promise<void>; peer: string }> {
  const socket = netConnect({ host: '127.0.0.1', port });
  socket.on('error', () => undefined);
  // Reads (and drops) what the master sends, so that its closing the connection is seen.
  socket.resume();
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  cleanups.push(() => {
    socket.destroy();
  });
  return { socket, closed, peer: `127.0.0.1:${String(socket.localPort)}` };
}

/** A TLS connection (no client certificate) that completes its handshake and makes no call; resolves once secured. */
async function idleTlsConnection(port: number): Promise<{ readonly closed: Promise<void> }> {
  const idle = tlsConnect({ host: '127.0.0.1', port, servername: 'master.test', ca: pki.ca, ALPNProtocols: ['h2'] });
  idle.on('error', () => undefined);
  const closed = new Promise<void>((resolve) => idle.once('close', () => resolve()));
  cleanups.push(() => {
    idle.destroy();
  });
  await new Promise<void>((resolve) => idle.once('secureConnect', resolve));
  idle.resume();
  return { closed };
}

const localPeer = expect.stringMatching(/^127\.0\.0\.1:\d+$/) as unknown as string;

describe('the fleet port with TLS', () => {
  it('refuses a gRPC client without TLS as no_tls: counted, logged once with its address, never a member', async () => {
    const master = await startMaster();
    const plain = await startWorker(master, { id: 'plain', tls: false });
    // The client retries with backoff: several refusals, one log line.
    await until(() => master.refusals.filter((r) => r.reason === 'no_tls').length >= 3, 'three no_tls refusals');
    expect(master.refusals.every((r) => r.reason === 'no_tls')).toBe(true);
    expect(master.refusals[0]).toMatchObject({ peer: localPeer, workerId: '', message: expect.stringContaining('HTTP/2 preface in clear') as unknown as string });
    expect(await master.refusedTotal('no_tls')).toBeGreaterThanOrEqual(3);
    const lines = master.logged.filter((l) => l.fields['reason'] === 'no_tls');
    expect(lines).toEqual([{ message: 'fleet connection refused', fields: { peer: localPeer, reason: 'no_tls', detail: expect.stringContaining('TLS') as unknown as string } }]);
    expect(plain.events.some((e) => e.kind === 'welcomed')).toBe(false);
    expect(plain.client.connected).toBe(false);
    expect(master.fleet.workers()).toEqual([]);
    // The rest is summed up once per peer and reason.
    master.log.flush();
    expect(master.logged.filter((l) => l.fields['reason'] === 'no_tls').at(-1)).toMatchObject({ fields: { peer: '127.0.0.1', reason: 'no_tls', count: expect.any(Number) as unknown as number } });
  });

  it('refuses a raw TCP connection that sends garbage, and closes it', async () => {
    const master = await startMaster();
    const { socket, closed, peer } = await rawConnect(master.port);
    socket.write('GET / HTTP/1.1\r\nHost: master\r\n\r\n');
    await closed;
    await until(() => master.refusals.length === 1, 'the refusal');
    expect(master.refusals[0]).toMatchObject({ reason: 'no_tls', peer, message: expect.stringContaining('not a TLS handshake') as unknown as string });
    expect(await master.refusedTotal('no_tls')).toBe(1);
    await until(() => master.server.connections === 0, 'the connection forgotten');
  });

  it('refuses a flood of plaintext connections from one address cheaply, logging once and summing up the rest', async () => {
    const master = await startMaster();
    const flood = await Promise.all(Array.from({ length: 100 }, () => rawConnect(master.port)));
    for (const { socket } of flood) socket.write('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');
    await Promise.all(flood.map((c) => c.closed));
    await until(() => master.refusals.length === 100, 'every connection refused');
    expect(await master.refusedTotal('no_tls')).toBe(100);
    expect(master.logged).toHaveLength(1);
    master.log.flush();
    expect(master.logged.at(-1)).toMatchObject({ fields: { peer: '127.0.0.1', reason: 'no_tls', count: 99 } });
    await until(() => master.server.connections === 0, 'every connection forgotten');
  });

  it('refuses a malformed TLS handshake as tls_handshake_failed', async () => {
    const master = await startMaster();
    const { socket, closed, peer } = await rawConnect(master.port);
    // A handshake record holding a ClientHello of four bytes that are not one.
    socket.write(Buffer.from([0x16, 0x03, 0x01, 0x00, 0x08, 0x01, 0x00, 0x00, 0x04, 0xde, 0xad, 0xbe, 0xef]));
    await closed;
    await until(() => master.refusals.length === 1, 'the refusal');
    expect(master.refusals[0]).toMatchObject({ reason: 'tls_handshake_failed', peer });
  });

  it('refuses a failed TLS handshake as tls_handshake_failed', async () => {
    const master = await startMaster();
    // Node's TLS server takes TLS 1.2 and up.
    const old = tlsConnect({ host: '127.0.0.1', port: master.port, servername: 'master.test', ca: pki.ca, minVersion: 'TLSv1', maxVersion: 'TLSv1.1', ALPNProtocols: ['h2'] });
    const oldError = new Promise<Error>((resolve) => old.once('error', resolve));
    cleanups.push(() => {
      old.destroy();
    });
    expect((await oldError).message).toMatch(/alert protocol version|unsupported protocol/);
    await until(() => master.refusals.length === 1, 'the refusal');
    expect(master.refusals[0]).toMatchObject({ reason: 'tls_handshake_failed', peer: localPeer, message: expect.stringContaining('the TLS handshake failed') as unknown as string });
    expect(await master.refusedTotal('tls_handshake_failed')).toBe(1);
    expect(master.logged).toHaveLength(1);
  });

  it('refuses a TLS client that does not speak HTTP/2 (no ALPN h2)', async () => {
    const master = await startMaster();
    const client = tlsConnect({ host: '127.0.0.1', port: master.port, servername: 'master.test', ca: pki.ca });
    client.on('error', () => undefined);
    const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));
    cleanups.push(() => {
      client.destroy();
    });
    await closed;
    await until(() => master.refusals.length === 1, 'the refusal');
    expect(master.refusals[0]).toMatchObject({ reason: 'tls_handshake_failed', message: expect.stringContaining('ALPN h2') as unknown as string });
  });

  it('refuses a connection that sends nothing within the handshake timeout, and does not count one that hangs up', async () => {
    const master = await startMaster({ handshakeTimeoutMs: 200 });
    // A TCP probe: connects and closes without a byte. Not a refusal.
    const probe = await rawConnect(master.port);
    probe.socket.end();
    await probe.closed;
    // A TLS client that hangs up in the middle of its handshake left of its own accord: not a refusal either.
    const hangUp = await rawConnect(master.port);
    hangUp.socket.write(Buffer.from([0x16, 0x03, 0x01, 0x00, 0x40]));
    hangUp.socket.resetAndDestroy();
    await hangUp.closed;
    const silent = await rawConnect(master.port);
    await silent.closed;
    await until(() => master.refusals.length === 1, 'the refusal');
    expect(master.refusals[0]).toMatchObject({ reason: 'handshake_timeout', peer: silent.peer });
    expect(await master.refusedTotal('handshake_timeout')).toBe(1);
    await until(() => master.server.connections === 0, 'every connection forgotten');
    expect(master.refusals).toHaveLength(1);
  });

  it('closes a TLS connection that holds no call, so strangers cannot sit on the connection limit', async () => {
    const master = await startMaster({ idleConnectionMs: 200 });
    // A handshake needs no client certificate; the master would refuse this peer's calls, but it makes none.
    const { closed } = await idleTlsConnection(master.port);
    await until(() => master.server.connections === 1, 'the connection handed to gRPC');
    await closed;
    await until(() => master.server.connections === 0, 'the connection forgotten');
    expect(master.refusals).toEqual([]);
  });

  it('closes the connection of a worker without a client certificate once its call is refused, so it holds no slot', async () => {
    const master = await startMaster();
    const controller = new AbortController();
    cleanups.push(() => controller.abort());
    const link = await loadMasterLink({ tls: { caFile: pki.caFile, serverName: 'master.test' } }, { signal: controller.signal, onRefresh: () => undefined });
    const events: ClientEvent[] = [];
    const client = new AssignmentClient({
      address: master.address,
      workerId: 'no-certificate',
      softwareVersion: 'test',
      // One attempt in the test's time: the next would open a new connection.
      backoff: { initialMs: 60_000, maxMs: 60_000 },
      ...(link.credentials === undefined ? {} : { credentials: link.credentials }),
      channelOptions: { ...link.channelOptions, 'grpc.use_local_subchannel_pool': 1 },
      log: (event) => events.push(event),
    });
    client.start();
    cleanups.push(() => client.stop());
    await until(() => master.refusals.length === 1, 'the refusal');
    expect(master.refusals[0]).toMatchObject({ reason: 'no_client_certificate', peer: localPeer });
    await until(() => events.some((e) => e.kind === 'disconnected'), 'the worker to hear of it');
    await until(() => master.server.connections === 0, 'the refused connection closed');
    expect(master.fleet.workers()).toEqual([]);
  });

  it('closes a connection without a client certificate that makes no call, after the handshake timeout', async () => {
    const master = await startMaster({ handshakeTimeoutMs: 300, idleConnectionMs: 60_000 });
    const { closed } = await idleTlsConnection(master.port);
    await closed;
    await until(() => master.server.connections === 0, 'the connection forgotten');
  });

  it('refuses connections beyond max connections before reading them, and takes them again once one closed', async () => {
    const master = await startMaster({ maxConnections: 2 });
    const first = await rawConnect(master.port);
    await rawConnect(master.port);
    await until(() => master.server.connections === 2, 'two connections open');
    const third = await rawConnect(master.port);
    await third.closed;
    await until(() => master.refusals.length === 1, 'the refusal');
    expect(master.refusals[0]).toMatchObject({ reason: 'max_connections', peer: third.peer });
    expect(await master.refusedTotal('max_connections')).toBe(1);
    first.socket.destroy();
    await until(() => master.server.connections === 1, 'the first connection closed');
    const worker = await startWorker(master, { id: 'w1', tls: true });
    await until(() => worker.client.connected, 'a worker welcomed in the free slot');
  });

  it('welcomes and streams to a worker with a client certificate beside refused plaintext clients; close ends everything', async () => {
    const master = await startMaster();
    const plain = await startWorker(master, { id: 'plain', tls: false });
    const garbage = await rawConnect(master.port);
    const silent = await rawConnect(master.port);
    garbage.socket.write(Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'));
    const worker = await startWorker(master, { id: 'w1', tls: true });
    await until(() => worker.client.connected, 'the Welcome');
    await until(() => worker.client.state.generation > 0 && worker.events.some((e) => e.kind === 'applied' && e.added === 1), 'the target assigned');
    await until(() => master.refusals.filter((r) => r.reason === 'no_tls').length >= 2, 'the plaintext client and the raw socket refused');
    expect(master.fleet.workers().map((w) => [w.id, w.identity, w.state])).toEqual([['w1', 'x509:CN=worker-1,O=promfleet', 'connected']]);
    expect(master.refusals.filter((r) => r.reason !== 'no_tls')).toEqual([]);
    expect(plain.events.some((e) => e.kind === 'welcomed')).toBe(false);
    await master.close();
    // The worker's stream ended, the silent socket was closed, and nothing listens any more.
    await until(() => worker.events.some((e) => e.kind === 'disconnected'), 'the worker disconnected');
    await silent.closed;
    expect(master.server.connections).toBe(0);
    const refused = new Promise<string>((resolve) => {
      const socket = netConnect({ host: '127.0.0.1', port: master.port });
      socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? ''));
      socket.once('connect', () => {
        socket.destroy();
        resolve('connected');
      });
    });
    expect(await refused).toBe('ECONNREFUSED');
  });
});
