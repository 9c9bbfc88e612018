/**
 * A remote-write receiver that only counts: it decompresses each request, counts its samples on the wire
 * (`countRequest`), and answers 204 (with the `X-Prometheus-Remote-Write-*-Written` headers for 2.0). Benchmarks run
 * it in a worker thread (`counting-receiver-thread.ts`) so that its work does not share the measured sender's event
 * loop; its totals are in a shared array the sender's thread reads.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { uncompressSync } from 'snappy';
import { countRequest } from './rw2-wire.js';

/** Indices of the totals in the receiver's shared `Float64Array`. */
export const Total = {
  requests: 0,
  samples: 1,
  /** Compressed request bytes. */
  bytes: 2,
  metadata: 3,
  /** `performance.timeOrigin + performance.now()` of the first and the last request answered, Unix ms. */
  firstMs: 4,
  lastMs: 5,
} as const;
export const TOTALS = 6;

/** Starts the receiver on 127.0.0.1:`port`, counting into `totals` (length {@link TOTALS}); resolves to its URL and a closer. */
export async function startCountingReceiver(options: { readonly port: number; readonly totals: Float64Array }): Promise<{ url: string; close(): Promise<void> }> {
  const { totals } = options;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const v2 = (req.headers['content-type'] ?? '').includes('proto=io.prometheus.write.v2.Request');
      const body = Buffer.concat(chunks);
      let counts;
      try {
        counts = countRequest(Buffer.from(uncompressSync(body, { asBuffer: true })), v2);
      } catch (err) {
        res.writeHead(400).end(`${err instanceof Error ? err.message : String(err)}\n`);
        return;
      }
      const now = performance.timeOrigin + performance.now();
      if (totals[Total.requests] === 0) totals[Total.firstMs] = now;
      totals[Total.lastMs] = now;
      totals[Total.requests] = (totals[Total.requests] ?? 0) + 1;
      totals[Total.samples] = (totals[Total.samples] ?? 0) + counts.samples;
      totals[Total.bytes] = (totals[Total.bytes] ?? 0) + body.length;
      totals[Total.metadata] = (totals[Total.metadata] ?? 0) + counts.metadata;
      const headers: Record<string, string> = v2
        ? {
            'X-Prometheus-Remote-Write-Samples-Written': String(counts.samples),
            'X-Prometheus-Remote-Write-Histograms-Written': String(counts.histograms),
            'X-Prometheus-Remote-Write-Exemplars-Written': String(counts.exemplars),
          }
        : {};
      res.writeHead(204, headers).end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/api/v1/write`,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
