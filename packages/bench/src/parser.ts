/**
 * The parser benchmark: throughput of the worker's exposition parser on real node-exporter output (927 series) and
 * on the 10,000-series kube-state-metrics-like payload of the shared bench harness, in the two ways the scrape loop
 * can use it, against a simple split-based parser run in the same process. In-process and CPU-bound; prints markdown
 * to stdout and progress to stderr.
 *
 *   pnpm build && pnpm --filter @promfleet/bench parser [--seconds S] [--rounds N] [--node-dir DIR] [--ksm-generator FILE]
 *
 * Each payload comes in four variants with the same series and other values (node-exporter captures v0..v3; the
 * generator's `--variant 0..3`), parsed in turn, so every parse reads a new string as every scrape does, and a cache
 * key never shares memory with the body it is looked up from.
 *
 * Modes: `scan` reads entries and values only (no series key, no labels), the parser's own cost; `cached` is
 * Prometheus' scrape cache, a Map keyed by the raw series text with labels read only for a series not seen before
 * (after the first parse, never); `full` reads every series' labels on every parse. The reference
 * parser is the "~50 lines" hand parser of the library survey (LIBRARIES.md §7): split on newlines, labels by a
 * character loop, values with `Number`; it checks nothing, so it is a floor for a parser's work, not a peer.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createParser, type ExpositionFormat } from '@promfleet/worker';
import { SHARED_BENCH_DIR } from './measure.js';

const usage = `usage: pnpm --filter @promfleet/bench parser [--seconds S] [--rounds N] [--node-dir DIR] [--ksm-generator FILE]
  --seconds S            time per measurement (default 2)
  --rounds N             rounds of all measurements, interleaved; the table shows medians (default 5)
  --node-dir DIR         the node-exporter captures v0.prom (required) to v3.prom (default ../shared/bench/payloads/node)
  --ksm-generator FILE   gen-ksm-payload.py, run with python3 (default ../shared/bench/gen-ksm-payload.py)`;

/**
 * Go's expfmt.TextParser on the same payloads: bench/RESULTS.md, "Parse-only anchor" (2026-11-25, Go 1.19,
 * GOMAXPROCS=1, GC included, a 2-vCPU Intel Xeon VM). Another run on another CPU, quoted, not measured here.
 */
const expfmtAnchor: Readonly<Record<string, { readonly nsPerSample: number; readonly mbPerSecond: number }>> = {
  node: { nsPerSample: 1830, mbPerSecond: 60 },
  ksm: { nsPerSample: 3490, mbPerSecond: 53 },
};

interface Payload {
  readonly name: string;
  /** The variants, parsed in turn. */
  readonly bodies: readonly string[];
  readonly format: ExpositionFormat;
  /** UTF-8 bytes per body, the mean over the variants. */
  readonly bytes: number;
  readonly samples: number;
}

/** `scan`: entries, values and timestamps only, no series key; `cached` adds the scrape cache; `full` reads labels every time. */
type Mode = 'scan' | 'cached' | 'full';

interface Case {
  readonly payload: Payload;
  readonly parser: 'promfleet' | 'reference';
  readonly mode: Mode;
  /** Parses the next variant of the payload; returns its checksum (see {@link promfleetParse}). */
  readonly run: () => number;
}

function options(): { seconds: number; rounds: number; nodeDir: string; ksmGenerator: string } {
  const { values } = parseArgs({
    options: { seconds: { type: 'string' }, rounds: { type: 'string' }, 'node-dir': { type: 'string' }, 'ksm-generator': { type: 'string' }, help: { type: 'boolean' } },
    strict: true,
  });
  if (values.help === true) {
    process.stdout.write(`${usage}\n`);
    process.exit(0);
  }
  const seconds = Number(values.seconds ?? '2');
  const rounds = Number(values.rounds ?? '5');
  if (!(seconds > 0)) throw new Error(`--seconds must be a positive number, got ${values.seconds}\n${usage}`);
  if (!Number.isSafeInteger(rounds) || rounds < 1) throw new Error(`--rounds must be a positive integer, got ${values.rounds}\n${usage}`);
  return {
    seconds,
    rounds,
    nodeDir: values['node-dir'] ?? join(SHARED_BENCH_DIR, 'payloads/node'),
    ksmGenerator: values['ksm-generator'] ?? join(SHARED_BENCH_DIR, 'gen-ksm-payload.py'),
  };
}

function progress(message: string): void {
  process.stderr.write(`[parser ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}

/**
 * Parses `body` with promfleet's parser in `mode`; `cache` is the scrape cache of the `cached` mode. Returns the
 * sample count plus the sum of the finite values and timestamps, which the reference parser must match.
 */
function promfleetParse(body: string, format: ExpositionFormat, scrape: { readonly mode: Mode; readonly cache: Map<string, Map<string, string>> }): number {
  const { mode, cache } = scrape;
  const parser = createParser({ body, format });
  let checksum = 0;
  for (let entry = parser.next(); entry !== undefined; entry = parser.next()) {
    if (entry !== 'series') continue;
    if (mode === 'full') parser.labels();
    else if (mode === 'cached' && !cache.has(parser.series())) cache.set(parser.detachedSeries(), parser.labels());
    const value = parser.value();
    checksum += 1 + (Number.isFinite(value) ? value : 0) + (parser.timestampMs() ?? 0);
  }
  return checksum;
}

/** The reference parser's labels of a line whose label block opens at `open` and closes at `end`. */
function referenceLabels(line: string, open: number, end: number): Map<string, string> {
  const labels = new Map<string, string>([['__name__', line.slice(0, open)]]);
  let i = open + 1;
  while (i < end) {
    const eq = line.indexOf('=', i);
    const label = line.slice(i, eq).trim();
    let value = '';
    let j = line.indexOf('"', eq) + 1;
    for (; line[j] !== '"'; j++) {
      if (line[j] === '\\') {
        j++;
        value += line[j] === 'n' ? '\n' : (line[j] ?? '');
      } else {
        value += line[j] ?? '';
      }
    }
    labels.set(label, value);
    i = line.indexOf(',', j) === -1 || line.indexOf(',', j) > end ? end : line.indexOf(',', j) + 1;
  }
  return labels;
}

/** The end of the label block opening at `open` in `line` (the index of its `}`), skipping quoted values. */
function blockEnd(line: string, open: number): number {
  let quoted = false;
  for (let i = open + 1; i < line.length; i++) {
    const c = line[i];
    if (quoted && c === '\\') i++;
    else if (c === '"') quoted = !quoted;
    else if (!quoted && c === '}') return i;
  }
  return line.length;
}

/** The "~50 lines" split-based parser (text format only), in the same two modes and with the same checksum. */
function referenceParse(body: string, cache: Map<string, Map<string, string>> | undefined): number {
  let checksum = 0;
  for (const line of body.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const space = line.indexOf(' ');
    const brace = line.indexOf('{');
    const hasLabels = brace !== -1 && brace < space;
    const close = hasLabels ? blockEnd(line, brace) : -1;
    const seriesEnd = hasLabels ? close + 1 : space;
    const series = line.slice(0, seriesEnd);
    const [valueText = '', timestamp] = line.slice(seriesEnd).trim().split(' ');
    const value = valueText === '+Inf' ? Infinity : valueText === '-Inf' ? -Infinity : Number(valueText);
    const timestampMs = timestamp === undefined ? undefined : Number(timestamp);
    if (cache === undefined || !cache.has(series)) {
      const labels = hasLabels ? referenceLabels(line, brace, close) : new Map([['__name__', series]]);
      if (cache !== undefined) cache.set(series, labels);
    }
    checksum += 1 + (Number.isFinite(value) ? value : 0) + (timestampMs ?? 0);
  }
  return checksum;
}

/** Runs `run` for about `seconds` and returns the wall-clock nanoseconds per call. */
function measure(run: () => number, seconds: number): number {
  const budget = BigInt(Math.round(seconds * 1e9));
  const start = process.hrtime.bigint();
  let calls = 0;
  let now: bigint;
  do {
    run();
    calls++;
    now = process.hrtime.bigint();
  } while (now - start < budget);
  return Number(now - start) / calls;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

function countSamples(body: string, format: ExpositionFormat): number {
  const parser = createParser({ body, format });
  let samples = 0;
  for (let entry = parser.next(); entry !== undefined; entry = parser.next()) if (entry === 'series') samples++;
  return samples;
}

function payload(name: string, bodies: readonly string[], format: ExpositionFormat): Payload {
  const samples = bodies.map((body) => countSamples(body, format));
  if (samples.some((n) => n !== samples[0])) throw new Error(`the variants of ${name} differ in samples: ${samples.join(', ')}`);
  const bytes = bodies.reduce((sum, body) => sum + Buffer.byteLength(body), 0) / bodies.length;
  return { name, bodies, format, bytes, samples: samples[0] ?? 0 };
}

function loadPayloads(nodeDir: string, ksmGenerator: string): Payload[] {
  const first = join(nodeDir, 'v0.prom');
  if (!existsSync(first)) {
    process.stderr.write(`parser benchmark: the node-exporter payload ${first} is missing (bench/capture-node-payload.sh makes it; --node-dir DIR names another directory)\n`);
    process.exit(2);
  }
  const nodeBodies = [0, 1, 2, 3].map((v) => join(nodeDir, `v${v}.prom`)).filter((file) => existsSync(file)).map((file) => readFileSync(file, 'utf8'));
  // The same samples as OpenMetrics: `untyped` is `unknown` there, and `# EOF` ends it.
  const asOpenMetrics = (body: string) => `${body.replaceAll(/^(# TYPE \S+) untyped$/gm, '$1 unknown')}# EOF\n`;
  const payloads = [payload('node', nodeBodies, 'text'), payload('node as OpenMetrics', nodeBodies.map(asOpenMetrics), 'openmetrics')];
  try {
    const variants = [0, 1, 2, 3].map((v) =>
      execFileSync('python3', [ksmGenerator, '--series', '10000', '--variant', String(v)], { encoding: 'utf8', maxBuffer: 64 << 20, stdio: ['ignore', 'pipe', 'pipe'] }),
    );
    payloads.push(payload('ksm', variants, 'text'));
  } catch (err) {
    progress(`skipping the ksm payload: python3 ${ksmGenerator} failed (${err instanceof Error ? err.message.split('\n')[0] : String(err)})`);
  }
  return payloads;
}

/** A function that parses the payload's variants in turn with `parse`. */
function rotating(bodies: readonly string[], parse: (body: string) => number): () => number {
  let next = 0;
  return () => parse(bodies[next++ % bodies.length] ?? '');
}

function main(): void {
  const { seconds, rounds, nodeDir, ksmGenerator } = options();
  const payloads = loadPayloads(nodeDir, ksmGenerator);
  const cases: Case[] = [];
  for (const p of payloads) {
    for (const mode of ['scan', 'cached', 'full'] as const) {
      const scrape = { mode, cache: new Map<string, Map<string, string>>() };
      cases.push({ payload: p, parser: 'promfleet', mode, run: rotating(p.bodies, (body) => promfleetParse(body, p.format, scrape)) });
      if (p.format === 'text' && mode !== 'scan') {
        const cache = mode === 'cached' ? new Map<string, Map<string, string>>() : undefined;
        cases.push({ payload: p, parser: 'reference', mode, run: rotating(p.bodies, (body) => referenceParse(body, cache)) });
      }
    }
  }
  // Every case reads every variant alike: the same checksum as the first case of its payload, variant by variant.
  for (const c of cases) {
    const reads = c.payload.bodies.map(() => c.run());
    const first = cases.find((o) => o.payload === c.payload);
    const expected = first === c ? reads : c.payload.bodies.map(() => first?.run());
    if (reads.some((r, i) => r !== expected[i])) throw new Error(`${c.parser} ${c.mode} read ${c.payload.name} differently: ${reads.join(', ')} vs ${expected.join(', ')}`);
  }
  const load = loadavg()[0] ?? 0;
  progress(`${cases.length} cases × ${rounds} rounds × ${seconds} s; load average ${load.toFixed(2)}`);
  const ns = new Map<Case, number[]>(cases.map((c) => [c, []]));
  for (let round = 1; round <= rounds; round++) {
    for (const c of cases) ns.get(c)?.push(measure(c.run, seconds));
    progress(`round ${round}/${rounds} done`);
  }
  const loadAfter = loadavg()[0] ?? 0;

  const lines = [
    `Node ${process.version}, ${rounds} rounds × ${seconds} s per case, interleaved, ${payloads[0]?.bodies.length ?? 0} node variants; medians (min–max over rounds). ` +
      `Load average ${load.toFixed(2)} before, ${loadAfter.toFixed(2)} after.`,
    '',
    '| payload | parser | mode | MB/s | ns/sample | speed ÷ reference\'s |',
    '|---|---|---|---|---|---|',
  ];
  for (const c of cases) {
    const runs = ns.get(c) ?? [];
    const mb = (t: number) => (c.payload.bytes * 1e3) / t;
    const perSample = (t: number) => t / c.payload.samples;
    const reference = cases.find((r) => r.parser === 'reference' && r.payload === c.payload && r.mode === c.mode);
    const ratio = reference === undefined || reference === c ? '' : `${(median(ns.get(reference) ?? []) / median(runs)).toFixed(2)}×`;
    lines.push(
      `| ${c.payload.name} (${c.payload.samples} samples, ${(c.payload.bytes / 1024).toFixed(0)} KiB) | ${c.parser} | ${c.mode} | ` +
        `${mb(median(runs)).toFixed(0)} (${mb(Math.max(...runs)).toFixed(0)}–${mb(Math.min(...runs)).toFixed(0)}) | ` +
        `${perSample(median(runs)).toFixed(0)} (${perSample(Math.min(...runs)).toFixed(0)}–${perSample(Math.max(...runs)).toFixed(0)}) | ${ratio} |`,
    );
  }
  for (const [name, anchor] of Object.entries(expfmtAnchor)) {
    if (payloads.some((p) => p.name === name)) {
      lines.push(`| ${name} | Go expfmt.TextParser (bench/RESULTS.md, another run) | builds objects | ${anchor.mbPerSecond} | ${anchor.nsPerSample} | |`);
    }
  }
  process.stdout.write(`${lines.join('\n')}\n`);
}

main();
