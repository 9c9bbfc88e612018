/**
 * The worker benchmark's Remote-Write 2.0 receiver: takes 2.0 requests (`io.prometheus.write.v2.Request`, snappy)
 * and forwards each, rewritten into the 1.0 request carrying the same float samples (`rw2-wire.ts`), to a 1.0
 * receiver — the shared harness's VictoriaMetrics 1.79, which does not take 2.0 — answering the sender with that
 * receiver's status, and on success 204 with the `X-Prometheus-Remote-Write-*-Written` headers of what was forwarded.
 * The harness then judges delivery of the 2.0 runs exactly as of the 1.0 runs: by counting, at VictoriaMetrics, the
 * samples timestamped in the window. A request that is not 2.0 (by Content-Type and the version header) is answered
 * 415, so a sender falling back to 1.0 delivers nothing.
 *
 * Run by `peers.ts` for the `promfleet-rw2` collector; by hand: `rw2-bridge-run.ts`.
 */
import { Agent, createServer, request, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { compressSync, uncompressSync } from 'snappy';
import { v2ToV1 } from './rw2-wire.js';

/** Totals since the bridge started. */
export interface BridgeStats {
  requests: number;
  /** Requests answered other than 2xx (refused, undecodable, or the downstream receiver's failure). */
  failed: number;
  samples: number;
  histograms: number;
  exemplars: number;
  metadata: number;
  /** Compressed bytes received from the sender. */
  bytesIn: number;
  /** Compressed bytes forwarded. */
  bytesOut: number;
}

/** A running bridge. */
export interface Bridge {
  readonly url: string;
  readonly stats: BridgeStats;
  close(): Promise<void>;
}

const V2_PROTO = 'io.prometheus.write.v2.Request';

function isV2(req: IncomingMessage): boolean {
  const [type, ...parameters] = (req.headers['content-type'] ?? '').split(';').map((p) => p.trim());
  const version = req.headers['x-prometheus-remote-write-version'];
  return type === 'application/x-protobuf' && parameters.includes(`proto=${V2_PROTO}`) && typeof version === 'string' && version.startsWith('2.');
}

/** Posts `body` (compressed 1.0) to `url`; resolves to the status, or 503 when the receiver cannot be reached. */
function forward(url: URL, body: Buffer, agent: Agent): Promise<{ status: number; text: string }> {
  return new Promise((resolve) => {
    const req = request(
      url,
      {
        method: 'POST',
        agent,
        headers: {
          'Content-Type': 'application/x-protobuf',
          'Content-Encoding': 'snappy',
          'X-Prometheus-Remote-Write-Version': '0.1.0',
          'Content-Length': body.length,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 500, text: Buffer.concat(chunks).toString('utf8').slice(0, 500) }));
        res.on('error', (err) => resolve({ status: 503, text: err.message }));
      },
    );
    req.on('error', (err) => resolve({ status: 503, text: `forwarding failed: ${err.message}` }));
    req.end(body);
  });
}

async function answer(req: IncomingMessage, res: ServerResponse, context: { stats: BridgeStats; downstream: URL; agent: Agent }): Promise<void> {
  const { stats } = context;
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const compressed = Buffer.concat(chunks);
  stats.requests++;
  stats.bytesIn += compressed.length;
  const reply = (status: number, text: string, headers: Record<string, string> = {}): void => {
    if (status < 200 || status >= 300) stats.failed++;
    res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', ...headers });
    res.end(text);
  };
  if (req.method !== 'POST') return reply(405, 'POST only\n');
  if (!isV2(req)) return reply(415, `this receiver takes ${V2_PROTO} only\n`);
  let converted;
  try {
    converted = v2ToV1(Buffer.from(uncompressSync(compressed, { asBuffer: true })));
  } catch (err) {
    return reply(400, `${err instanceof Error ? err.message : String(err)}\n`);
  }
  const body = compressSync(converted.body);
  const { status, text } = await forward(context.downstream, body, context.agent);
  if (status < 200 || status >= 300) return reply(status, text);
  stats.samples += converted.samples;
  stats.histograms += converted.histograms;
  stats.exemplars += converted.exemplars;
  stats.metadata += converted.metadata;
  stats.bytesOut += body.length;
  return reply(204, '', {
    'X-Prometheus-Remote-Write-Samples-Written': String(converted.samples),
    'X-Prometheus-Remote-Write-Histograms-Written': '0',
    'X-Prometheus-Remote-Write-Exemplars-Written': '0',
  });
}

/** Starts a bridge listening on `listen` (`host:port`; port 0 picks one) that forwards to `forwardUrl`. */
export async function startBridge(options: { readonly listen: string; readonly forwardUrl: string }): Promise<Bridge> {
  const stats: BridgeStats = { requests: 0, failed: 0, samples: 0, histograms: 0, exemplars: 0, metadata: 0, bytesIn: 0, bytesOut: 0 };
  const agent = new Agent({ keepAlive: true, maxSockets: 16 });
  const context = { stats, downstream: new URL(options.forwardUrl), agent };
  const server = createServer((req, res) => void answer(req, res, context));
  const colon = options.listen.lastIndexOf(':');
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(Number(options.listen.slice(colon + 1)), options.listen.slice(0, colon), resolve);
  });
  const { address, port } = server.address() as AddressInfo;
  return {
    url: `http://${address}:${port}/api/v1/write`,
    stats,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      agent.destroy();
    },
  };
}
