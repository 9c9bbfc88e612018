/**
 * The remote-write encoder benchmark: encode time and snappy-compressed bytes per sample of the worker's Remote-Write
 * 1.0 (`prometheus.WriteRequest`) and 2.0 (`io.prometheus.write.v2.Request`) encoders, on the node-exporter capture
 * of the shared bench harness (927 series) scraped from several targets (`job`, `instance` added as the scrape loop
 * does), in requests of `max_samples_per_send` samples as a queue shard cuts them. In-process and CPU-bound; prints
 * markdown to stdout.
 *
 *   pnpm build && pnpm --filter @promfleet/bench remote-write-encode [--targets N] [--rounds N] [--seconds S]
 *
 * 2.0 series carry their family's metadata (type, help, unit), as the worker sends them. Rounds alternate the two
 * protocols; the table shows medians.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { compressSync } from 'snappy';
import type { RemoteWriteMessage } from '@promfleet/model';
import { ExemplarBuffer, SampleRing, buildSeriesRef, createRequestEncoder, type MetricType, type SeriesRef } from '@promfleet/worker';
import { SHARED_BENCH_DIR } from './measure.js';

const { values: args } = parseArgs({
  options: {
    targets: { type: 'string', default: '8' },
    rounds: { type: 'string', default: '5' },
    seconds: { type: 'string', default: '2' },
    'max-samples': { type: 'string', default: '2000' },
  },
});
const targets = Number(args.targets);
const rounds = Number(args.rounds);
const seconds = Number(args.seconds);
const maxSamples = Number(args['max-samples']);

interface Family {
  type: MetricType;
  help: string;
}

/** The series of a text exposition: labels and value, with its family's TYPE and HELP. A bench reader, not a parser. */
function readExposition(text: string): { labels: Map<string, string>; value: number; family: string; meta: Family }[] {
  const families = new Map<string, Family>();
  const out: { labels: Map<string, string>; value: number; family: string; meta: Family }[] = [];
  for (const line of text.split('\n')) {
    const comment = /^# (HELP|TYPE) (\S+) (.*)$/.exec(line);
    if (comment !== null) {
      const [, kind, name = '', rest = ''] = comment;
      const family = families.get(name) ?? { type: 'unknown', help: '' };
      if (kind === 'HELP') family.help = rest;
      else family.type = (rest === 'untyped' ? 'unknown' : rest) as MetricType;
      families.set(name, family);
      continue;
    }
    const sample = /^([^{\s]+)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (sample === null) continue;
    const [, name = '', body = '', value = '0'] = sample;
    const labels = new Map([['__name__', name]]);
    for (const m of body.matchAll(/([a-zA-Z_]\w*)="((?:[^"\\]|\\.)*)"/g)) labels.set(m[1] ?? '', m[2] ?? '');
    const family = [name, ...['_total', '_bucket', '_count', '_sum', '_created', '_info'].filter((s) => name.endsWith(s)).map((s) => name.slice(0, -s.length))]
      .reverse()
      .find((f) => families.has(f));
    out.push({ labels, value: Number(value), family: family ?? name, meta: families.get(family ?? '') ?? { type: 'unknown', help: '' } });
  }
  return out;
}

const exposition = readExposition(readFileSync(join(SHARED_BENCH_DIR, 'payloads/node/v0.prom'), 'utf8'));

/** The refs of every target's series at an endpoint of `protocol`. */
function refs(protocol: RemoteWriteMessage): SeriesRef[] {
  const out: SeriesRef[] = [];
  for (let t = 0; t < targets; t++) {
    for (const s of exposition) {
      const labels = new Map([...s.labels, ['job', 'node'], ['instance', `10.0.${t >> 8}.${t & 255}:9100`]]);
      const metadata = { family: s.family, type: s.meta.type, help: s.meta.help, unit: '' };
      const ref = buildSeriesRef(labels, { externalLabels: new Map([['cluster', 'bench']]), writeRelabelConfigs: [], protocol, metadata });
      if (ref !== undefined) out.push(ref);
    }
  }
  return out;
}

interface Result {
  readonly encodeNsPerSample: number;
  readonly compressNsPerSample: number;
  readonly rawBytesPerSample: number;
  readonly compressedBytesPerSample: number;
}

/** Encodes (and separately compresses) the scrapes of every target, `maxSamples` at a time, for `seconds`. */
function measure(protocol: RemoteWriteMessage, series: readonly SeriesRef[]): Result {
  const ring = new SampleRing(series.length * 2);
  let ts = 1_765_000_000_000;
  const fill = (): void => {
    ts += 15_000;
    for (const [i, ref] of series.entries()) ring.push(ref, { timestampMs: ts, value: exposition[i % exposition.length]?.value ?? 0, flags: 0 });
  };
  const encoder = createRequestEncoder({ protocol, maxSamples });
  const exemplars = new ExemplarBuffer();
  let samples = 0;
  let encodeNs = 0;
  let compressNs = 0;
  let raw = 0;
  let compressed = 0;
  const until = performance.now() + seconds * 1000;
  while (performance.now() < until) {
    fill();
    while (ring.size > 0) {
      const count = Math.min(ring.size, maxSamples);
      const started = process.hrtime.bigint();
      const batch = encoder.encode(ring, count, exemplars);
      const encoded = process.hrtime.bigint();
      const body = compressSync(batch.body, { copyOutputData: true });
      compressNs += Number(process.hrtime.bigint() - encoded);
      encodeNs += Number(encoded - started);
      samples += batch.samples;
      raw += batch.body.length;
      compressed += body.length;
      ring.shift(count);
    }
  }
  return { encodeNsPerSample: encodeNs / samples, compressNsPerSample: compressNs / samples, rawBytesPerSample: raw / samples, compressedBytesPerSample: compressed / samples };
}

const protocols: RemoteWriteMessage[] = ['prometheus.WriteRequest', 'io.prometheus.write.v2.Request'];
const series = new Map(protocols.map((p) => [p, refs(p)]));
const results = new Map<RemoteWriteMessage, Result[]>(protocols.map((p) => [p, []]));
for (const protocol of protocols) measure(protocol, series.get(protocol) ?? []);
for (let r = 0; r < rounds; r++) {
  for (const protocol of protocols) {
    results.get(protocol)?.push(measure(protocol, series.get(protocol) ?? []));
    process.stderr.write(`round ${r + 1}/${rounds} ${protocol}\n`);
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

console.log(`${targets} node-exporter targets × ${exposition.length} series, requests of ${maxSamples} samples, median of ${rounds} rounds of ${seconds} s\n`);
console.log('| protocol | encode ns/sample | snappy ns/sample | bytes/sample raw | bytes/sample snappy |');
console.log('|---|---|---|---|---|');
for (const protocol of protocols) {
  const rs = results.get(protocol) ?? [];
  const m = (pick: (r: Result) => number): string => median(rs.map(pick)).toFixed(1);
  console.log(`| ${protocol} | ${m((r) => r.encodeNsPerSample)} | ${m((r) => r.compressNsPerSample)} | ${m((r) => r.rawBytesPerSample)} | ${m((r) => r.compressedBytesPerSample)} |`);
}
