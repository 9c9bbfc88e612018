import { afterEach, describe, expect, it } from '@jest/globals';
import { buildTarget, formatLabels, nextScrapeSlotMs, parseConfig, scrapeOffsetMs, type Labels, type ScrapeConfig, type Target } from '@promfleet/model';
import { ScrapeLoop, type Scraper } from './loop.js';
import type { Exemplar, FamilyMetadata, SampleSink } from './sink.js';
import { ScrapeError, type ScrapeRequest, type ScrapeResponse } from './scraper.js';

const intervalMs = 200;

function job(extra = ''): ScrapeConfig {
  const parsed = parseConfig(`scrape_configs:\n  - job_name: node\n    scrape_interval: ${intervalMs}ms\n    scrape_timeout: 100ms\n${extra}`, { file: 'l.yml' });
  if (!parsed.ok) throw new Error(parsed.errors.map((e) => e.message).join('; '));
  return parsed.config.scrapeConfigs[0] as ScrapeConfig;
}

function target(config: ScrapeConfig): Target {
  const result = buildTarget(config, new Map([['__address__', 'a:9100']]), new Map());
  if (result.kind !== 'kept') throw new Error('target');
  return result.target;
}

interface Appended {
  readonly series: string;
  readonly t: number;
  readonly v: number;
  readonly stale: boolean;
}

/** What a {@link RecordingSink} got, in order, besides samples. */
type SinkEvent =
  | { readonly kind: 'sample'; readonly series: string; readonly t: number }
  | { readonly kind: 'created'; readonly series: string; readonly ms: number }
  | { readonly kind: 'exemplar'; readonly series: string; readonly exemplar: Exemplar };

/** A sink that records what it gets; refs are the series' printed labels. */
class RecordingSink implements SampleSink {
  readonly samples: Appended[] = [];
  readonly events: SinkEvent[] = [];
  /** Every seriesRef call, with the metadata it was given. */
  readonly refs: { readonly series: string; readonly metadata: FamilyMetadata | undefined }[] = [];
  readonly metadata: { readonly owner: object; readonly families: readonly FamilyMetadata[] | undefined }[] = [];
  constructor(readonly sendsExemplars = false) {}
  seriesRef(labels: Labels, metadata: FamilyMetadata | undefined): unknown {
    const series = formatLabels(labels);
    this.refs.push({ series, metadata });
    return labels.get('drop_me') === undefined ? series : undefined;
  }
  append(ref: unknown, t: number, v: number, stale = false): void {
    this.samples.push({ series: String(ref), t, v, stale });
    this.events.push({ kind: 'sample', series: String(ref), t });
  }
  appendExemplar(ref: unknown, exemplar: Exemplar): void {
    this.events.push({ kind: 'exemplar', series: String(ref), exemplar });
  }
  setCreatedTimestamp(ref: unknown, ms: number): void {
    this.events.push({ kind: 'created', series: String(ref), ms });
  }
  targetMetadata(owner: object, families: readonly FamilyMetadata[] | undefined): void {
    this.metadata.push({ owner, families });
  }
  named(name: string): Appended[] {
    return this.samples.filter((s) => s.series.includes(`__name__="${name}"`));
  }
  exemplars(): { series: string; exemplar: Exemplar }[] {
    return this.events.flatMap((e) => (e.kind === 'exemplar' ? [{ series: e.series, exemplar: e.exemplar }] : []));
  }
  created(): { series: string; ms: number }[] {
    return this.events.flatMap((e) => (e.kind === 'created' ? [{ series: e.series, ms: e.ms }] : []));
  }
  /** The metadata the series' last reference was made with. */
  metadataOf(series: string): FamilyMetadata | undefined {
    return this.refs.findLast((r) => r.series === series)?.metadata;
  }
}

const openMetricsType = 'application/openmetrics-text; version=1.0.0; charset=utf-8';

/** The printed labels of a series of the test target. */
function seriesText(name: string, labels: Record<string, string> = {}): string {
  return formatLabels(new Map([['__name__', name], ['instance', 'a:9100'], ['job', 'node'], ...Object.entries(labels)]));
}

/** Serves the bodies in turn (the last one forever); a body that is an Error fails the scrape. */
class ScriptedScraper implements Scraper {
  readonly requests: ScrapeRequest[] = [];
  constructor(
    private readonly bodies: (string | Error)[],
    private readonly contentType = 'text/plain; version=0.0.4',
  ) {}
  scrape(request: ScrapeRequest): Promise<ScrapeResponse> {
    this.requests.push(request);
    const body = this.bodies.length > 1 ? this.bodies.shift() : this.bodies[0];
    if (body instanceof Error) return Promise.reject(body);
    return Promise.resolve({ body: body ?? '', contentType: this.contentType, bytes: (body ?? '').length });
  }
}

const loops: ScrapeLoop[] = [];
afterEach(async () => {
  await Promise.all(loops.splice(0).map((l) => l.stop('shutdown')));
});

function start(options: { bodies: (string | Error)[]; config?: ScrapeConfig; sink?: RecordingSink; more?: RecordingSink[]; firstSlotUnixMs?: number; contentType?: string }) {
  const config = options.config ?? job();
  const sink = options.sink ?? new RecordingSink();
  const scraper = new ScriptedScraper(options.bodies, options.contentType);
  const loop = new ScrapeLoop({ target: target(config), firstSlotUnixMs: options.firstSlotUnixMs ?? 0, job: config, scraper, sinks: [sink, ...(options.more ?? [])] });
  loops.push(loop);
  loop.start();
  return { loop, sink, scraper };
}

async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('ScrapeLoop', () => {
  it('scrapes at the target’s slots, stamps samples with the slot, and reports the synthetic series', async () => {
    const { loop, sink, scraper } = start({ bodies: ['# TYPE a counter\na_total{x="1"} 5\nb 7\n'] });
    await until(() => sink.named('up').length >= 2, 'two scrapes');
    const offset = scrapeOffsetMs(loop.target.id, intervalMs);
    const ups = sink.named('up');
    for (const s of ups) expect((s.t - offset) % intervalMs).toBe(0);
    expect((ups[1]?.t ?? 0) - (ups[0]?.t ?? 0)).toBe(intervalMs);
    expect(ups[0]).toEqual({ series: '{__name__="up", instance="a:9100", job="node"}', t: ups[0]?.t, v: 1, stale: false });
    const first = ups[0]?.t;
    expect(sink.samples.filter((s) => s.t === first && !s.series.includes('scrape_') && s.series !== ups[0]?.series)).toEqual([
      { series: '{__name__="a_total", instance="a:9100", job="node", x="1"}', t: first, v: 5, stale: false },
      { series: '{__name__="b", instance="a:9100", job="node"}', t: first, v: 7, stale: false },
    ]);
    expect(sink.named('scrape_samples_scraped')[0]?.v).toBe(2);
    expect(sink.named('scrape_samples_post_metric_relabeling')[0]?.v).toBe(2);
    expect(sink.named('scrape_series_added').map((s) => s.v).slice(0, 2)).toEqual([2, 0]);
    expect(scraper.requests[0]).toEqual(expect.objectContaining({ url: 'http://a:9100/metrics', timeoutMs: 100 }));
    expect(loop.health()).toEqual(expect.objectContaining({ up: true, samplesScraped: 2, lastError: '' }));
  });

  it('writes a staleness marker for a series that disappears, at the slot of the scrape that lacks it', async () => {
    const { sink } = start({ bodies: ['a 1\nb 2\n', 'a 1\n'] });
    await until(() => sink.samples.some((s) => s.stale), 'a staleness marker');
    const stale = sink.samples.filter((s) => s.stale);
    const ups = sink.named('up');
    expect(stale).toEqual([{ series: '{__name__="b", instance="a:9100", job="node"}', t: ups[1]?.t, v: 0, stale: true }]);
  });

  it('finds every series again when the exposition reorders them: no series added, the right values, markers only for the one gone', async () => {
    const { sink } = start({ bodies: ['a 1\nb 2\nc 3\n', 'c 30\na 10\nb 20\n', 'b 200\nc 300\n'] });
    await until(() => sink.named('up').length >= 3, 'three scrapes');
    const ups = sink.named('up');
    const valuesAt = (t: number | undefined) => {
      const values: Record<string, number> = {};
      for (const s of sink.samples) {
        const name = /__name__="([abc])"/.exec(s.series)?.[1];
        if (s.t === t && !s.stale && name !== undefined) values[name] = s.v;
      }
      return values;
    };
    expect(valuesAt(ups[1]?.t)).toEqual({ a: 10, b: 20, c: 30 });
    expect(valuesAt(ups[2]?.t)).toEqual({ b: 200, c: 300 });
    expect(sink.named('scrape_series_added').map((s) => s.v).slice(0, 3)).toEqual([3, 0, 0]);
    expect(sink.samples.filter((s) => s.stale)).toEqual([{ series: '{__name__="a", instance="a:9100", job="node"}', t: ups[2]?.t, v: 0, stale: true }]);
  });

  it('takes an empty body as an empty scrape: up=1 and every series stale', async () => {
    const { sink } = start({ bodies: ['a 1\n', ''] });
    await until(() => sink.samples.some((s) => s.stale), 'a staleness marker');
    const second = sink.named('up').filter((s) => !s.stale)[1];
    expect(second?.v).toBe(1);
    expect(sink.samples.filter((s) => s.stale)).toEqual([{ series: '{__name__="a", instance="a:9100", job="node"}', t: second?.t, v: 0, stale: true }]);
  });

  it('marks every series stale and reports up=0 when a scrape fails, with the error as the health', async () => {
    const { sink, loop } = start({ bodies: ['a 1\n', new Error('Get "http://a:9100/metrics": connection refused')] });
    await until(() => sink.named('up').some((s) => s.v === 0), 'a failed scrape');
    const failed = sink.named('up').find((s) => s.v === 0);
    expect(sink.samples.filter((s) => s.stale)).toEqual([{ series: '{__name__="a", instance="a:9100", job="node"}', t: failed?.t, v: 0, stale: true }]);
    expect(loop.health()).toEqual(expect.objectContaining({ up: false, lastError: 'Get "http://a:9100/metrics": connection refused', samplesScraped: 0 }));
  });

  it('keeps no password in the health: a failed scrape’s error is redacted before anyone reads it', async () => {
    const { sink, loop } = start({ bodies: [new Error('Get "http://user:pa/ss@a:9100/metrics": connection refused')] });
    await until(() => sink.named('up').length > 0, 'a failed scrape');
    expect(loop.health().lastError).toBe('Get "http://user:xxxxx@a:9100/metrics": connection refused');
  });

  it('tells its observer of scrapes over the body size limit, and of no other failure', async () => {
    const config = job();
    const scraper = new ScriptedScraper([new ScrapeError({ reason: 'body_size_limit', message: 'body size limit exceeded', limitBytes: 10 }), new Error('connection refused'), 'a 1\n']);
    const results: string[] = [];
    const observer = { scraped: (result: string) => results.push(result), bodySizeLimitExceeded: () => results.push('body_size_limit') };
    const loop = new ScrapeLoop({ target: target(config), firstSlotUnixMs: 0, job: config, scraper, sinks: [new RecordingSink()], observer });
    loops.push(loop);
    loop.start();
    await until(() => results.filter((r) => r === 'success').length > 0, 'a successful scrape');
    expect(results.slice(0, 4)).toEqual(['body_size_limit', 'failure', 'failure', 'success']);
  });

  it('gives the scraper the size of the last body it got as a hint, kept through a failed scrape', async () => {
    const { scraper } = start({ bodies: ['a 1\n', 'bb 22\n', new Error('body size limit exceeded'), 'c 3\n'] });
    await until(() => scraper.requests.length >= 5, 'five scrapes');
    expect(scraper.requests.slice(0, 5).map((r) => r.sizeHintBytes)).toEqual([0, 4, 6, 6, 4]);
  });

  it.each([
    ['a parse error', 'a 1\nb{ 2\n', /^line 2: /],
    ['sample_limit', 'a 1\nb 2\nc 3\n', /^sample limit exceeded$/],
    ['label_limit', 'a{x="1",y="2"} 1\n', /^label_limit exceeded \(metric: a, number of labels: 5, limit: 4\)$/],
  ])('fails the whole scrape on %s: up=0 and none of its samples', async (_what, body, error) => {
    const config = job('    sample_limit: 2\n    label_limit: 4\n');
    const { sink, loop } = start({ bodies: [body], config });
    await until(() => sink.named('up').length > 0, 'a scrape');
    expect(sink.named('up')[0]?.v).toBe(0);
    expect(sink.samples.filter((s) => !/__name__="(up|scrape_[a-z_]+)"/.test(s.series))).toEqual([]);
    expect(loop.health().lastError).toMatch(error);
  });

  it('applies metric_relabel_configs: dropped series count as scraped, not as kept', async () => {
    const config = job("    metric_relabel_configs:\n      - source_labels: [__name__]\n        regex: go_.*\n        action: drop\n");
    const { sink } = start({ bodies: ['go_gc 1\nkeep 2\n'], config });
    await until(() => sink.named('up').length > 0, 'a scrape');
    expect(sink.named('go_gc')).toEqual([]);
    expect(sink.named('keep')).toHaveLength(1);
    expect(sink.named('scrape_samples_scraped')[0]?.v).toBe(2);
    expect(sink.named('scrape_samples_post_metric_relabeling')[0]?.v).toBe(1);
  });

  it('keeps explicit timestamps only with honor_timestamps, and leaves such series out of staleness', async () => {
    const honored = start({ bodies: ['a 1 1000\n', '\n'] });
    await until(() => honored.sink.named('up').length >= 2, 'two scrapes');
    expect(honored.sink.named('a')).toEqual([{ series: '{__name__="a", instance="a:9100", job="node"}', t: 1000, v: 1, stale: false }]);
    const ignored = start({ bodies: ['a 1 1000\n'], config: job('    honor_timestamps: false\n') });
    await until(() => ignored.sink.named('up').length > 0, 'a scrape');
    expect(ignored.sink.named('a')[0]?.t).toBe(ignored.sink.named('up')[0]?.t);
  });

  it('hands over: scrapes through its last slot, then ends without staleness markers', async () => {
    const { loop, sink } = start({ bodies: ['a 1\n'] });
    await until(() => sink.named('up').length > 0, 'a scrape');
    const last = (sink.named('up')[0]?.t ?? 0) + intervalMs;
    let finished = false;
    loop.onFinished = () => (finished = true);
    loop.handOver(last);
    await until(() => finished, 'the handover');
    await new Promise((r) => setTimeout(r, intervalMs * 1.5));
    expect(sink.named('up').at(-1)?.t).toBe(last);
    expect(sink.samples.filter((s) => s.stale)).toEqual([]);
  });

  it('scrapes at the interval and with the timeout its target carries, not the job’s, and never reads its labels', async () => {
    const config = job();
    const built = target(config);
    const labels = new Map([...built.labels, ['__scrape_interval__', '1h'], ['__scrape_timeout__', '30m']]);
    const sink = new RecordingSink();
    const scraper = new ScriptedScraper(['a 1\n']);
    const loop = new ScrapeLoop({ target: { ...built, labels, intervalMs: 100, timeoutMs: 40 }, firstSlotUnixMs: 0, job: config, scraper, sinks: [sink] });
    loops.push(loop);
    loop.start();
    await until(() => sink.named('up').length >= 2, 'two scrapes');
    const ups = sink.named('up');
    expect((ups[1]?.t ?? 0) - (ups[0]?.t ?? 0)).toBe(100);
    expect(((ups[0]?.t ?? 0) - scrapeOffsetMs(built.id, 100)) % 100).toBe(0);
    expect(scraper.requests[0]?.timeoutMs).toBe(40);
  });

  it('starts at its first slot, not before', async () => {
    const config = job();
    const firstSlotUnixMs = Date.now() + 3 * intervalMs;
    const { sink } = start({ bodies: ['a 1\n'], config, firstSlotUnixMs });
    await until(() => sink.named('up').length > 0, 'a scrape');
    expect(sink.named('up')[0]?.t).toBeGreaterThanOrEqual(firstSlotUnixMs);
    expect(sink.named('up')[0]?.t).toBeLessThan(firstSlotUnixMs + intervalMs);
  });

  it('writes staleness markers for every series, report series included, when its target is gone', async () => {
    const { loop, sink } = start({ bodies: ['a 1\n'] });
    await until(() => sink.named('up').length > 0, 'a scrape');
    loops.splice(loops.indexOf(loop), 1);
    await loop.stop('gone');
    const last = Math.max(...sink.named('up').filter((s) => !s.stale).map((s) => s.t));
    const stale = sink.samples.filter((s) => s.stale);
    expect(new Set(stale.map((s) => s.t))).toEqual(new Set([last + intervalMs]));
    expect(stale.map((s) => /__name__="([a-z_]+)"/.exec(s.series)?.[1]).sort()).toEqual(['a', 'scrape_duration_seconds', 'scrape_samples_post_metric_relabeling', 'scrape_samples_scraped', 'scrape_series_added', 'up']);
  });

  it('writes nothing more after a shutdown stop', async () => {
    const { loop, sink } = start({ bodies: ['a 1\n'] });
    await until(() => sink.named('up').length > 0, 'a scrape');
    await loop.stop('shutdown');
    const count = sink.samples.length;
    await new Promise((r) => setTimeout(r, intervalMs * 2));
    expect(sink.samples.length).toBe(count);
    expect(sink.samples.some((s) => s.stale)).toBe(false);
  });

  it('finishes the scrape in flight on a shutdown stop: that slot has no other owner', async () => {
    const config = job();
    const sink = new RecordingSink();
    let started = 0;
    const scraper: Scraper = {
      scrape: () => {
        started++;
        return new Promise((resolve) => setTimeout(() => resolve({ body: 'a 1\n', contentType: 'text/plain; version=0.0.4', bytes: 4 }), 50));
      },
    };
    const loop = new ScrapeLoop({ target: target(config), firstSlotUnixMs: 0, job: config, scraper, sinks: [sink] });
    loop.start();
    await until(() => started === 1, 'a scrape to start');
    await loop.stop('shutdown');
    expect(sink.named('up').map((s) => s.v)).toEqual([1]);
    expect(sink.named('a')).toHaveLength(1);
    expect(started).toBe(1);
  });

  it('leaves series a sink drops out of that sink only', async () => {
    const { sink } = start({ bodies: ['a{drop_me="1"} 1\nb 1\n'] });
    await until(() => sink.named('up').length > 0, 'a scrape');
    expect(sink.named('a')).toEqual([]);
    expect(sink.named('b')).toHaveLength(1);
  });
});

describe('ScrapeLoop forced error (target_limit)', () => {
  it('does not scrape and reports up=0 with the error while the job is over its target_limit', async () => {
    const config = job();
    const sink = new RecordingSink();
    const scraper = new ScriptedScraper(['a 1\n']);
    const forcedError = 'target_limit exceeded (number of targets: 3, limit: 2)';
    const loop = new ScrapeLoop({ target: target(config), firstSlotUnixMs: 0, job: config, scraper, sinks: [sink], forcedError });
    loops.push(loop);
    loop.start();
    await until(() => sink.named('up').length > 0, 'a report');
    expect(scraper.requests).toEqual([]);
    expect(sink.named('up')[0]?.v).toBe(0);
    expect(loop.health().lastError).toBe(forcedError);
    loop.reconfigure({ job: config, scraper, sinks: [sink], forcedError: '' });
    await until(() => sink.named('a').length > 0, 'a scrape once under the limit');
    expect(loop.health().up).toBe(true);
  });
});

describe('ScrapeLoop.handedOver', () => {
  it('waits until the last slot’s scrape has queued its samples', async () => {
    const config = job();
    const sink = new RecordingSink();
    const slow: Scraper = {
      scrape: () => new Promise((resolve) => setTimeout(() => resolve({ body: 'a 1\n', contentType: 'text/plain', bytes: 4 }), 60)),
    };
    const loop = new ScrapeLoop({ target: target(config), firstSlotUnixMs: 0, job: config, scraper: slow, sinks: [sink] });
    loops.push(loop);
    loop.start();
    const last = nextScrapeSlotMs({ id: loop.target.id, intervalMs, nowMs: Date.now() + 1 });
    loop.handOver(last);
    expect(loop.handingOver).toBe(true);
    await loop.handedOver(5_000);
    expect(sink.named('up').map((s) => s.t)).toEqual([last]);
  });
});

describe('ScrapeLoop review cases', () => {
  it('keeps one sample per slot when relabeling makes two raw series one', async () => {
    const config = job('    metric_relabel_configs:\n      - action: labeldrop\n        regex: a\n');
    const { sink } = start({ bodies: ['m{a="1"} 1\nm{a="2"} 2\n'], config });
    await until(() => sink.named('up').length >= 2, 'two scrapes');
    const m = sink.named('m');
    expect(new Set(m.map((s) => s.t)).size).toBe(m.length);
    expect(m[0]?.v).toBe(1);
  });

  it.each([
    ['label order, the canonical text first', 'a{x="1",y="2"} 1\na{y="2",x="1"} 2\n', '', 'a', { x: '1', y: '2' }],
    ['label order, the canonical text second', 'a{y="2",x="1"} 1\na{x="1",y="2"} 2\n', '', 'a', { x: '1', y: '2' }],
    ['an empty value, the canonical text second', 'b{z=""} 1\nb 2\n', '', 'b', {}],
    ['an empty value, the canonical text first', 'b 1\nb{z=""} 2\nb{} 3\n', '', 'b', {}],
    ['honor_labels and the target’s own value', 'c 1\nc{job="node"} 2\n', '    honor_labels: true\n', 'c', {}],
    ['honor_labels and the target’s own value, the other way round', 'c{job="node"} 1\nc 2\n', '    honor_labels: true\n', 'c', {}],
    ['a renamed clash and its exported_ name', 'd{job="x"} 1\nd{exported_job="x"} 2\n', '', 'd', { exported_job: 'x' }],
    ['an escaped value', 'e{v="q\\"\\\\"} 1\ne{v="q\\"\\\\",w=""} 2\n', '', 'e', { v: 'q"\\' }],
    ['a histogram bucket, normalised', '# TYPE h histogram\nh_bucket{le="1"} 1\nh_bucket{le="1.0"} 2\n', '', 'h_bucket', { le: '1.0' }],
  ])('keeps the first of two raw series that are one label set without relabeling: %s', async (_, body, extra, name, labels) => {
    const { sink } = start({ bodies: [body], config: job(extra) });
    await until(() => sink.named('up').length >= 2, 'two scrapes');
    const samples = sink.named(name);
    expect(samples.map((s) => s.series)).toEqual([seriesText(name, labels), seriesText(name, labels)]);
    expect(samples.map((s) => s.v)).toEqual([1, 1]);
  });

  it('keeps apart a series with its own value of a target label under honor_labels and one without it', async () => {
    const { sink } = start({ bodies: ['f{job="other"} 1\nf 2\n'], config: job('    honor_labels: true\n') });
    await until(() => sink.named('up').length >= 2, 'two scrapes');
    const first = sink.named('up')[0]?.t;
    expect(sink.named('f').filter((s) => s.t === first).map((s) => [s.series, s.v])).toEqual([
      [formatLabels(new Map([['__name__', 'f'], ['instance', 'a:9100'], ['job', 'other']])), 1],
      [seriesText('f'), 2],
    ]);
  });

  it('counts every sample of a scrape over sample_limit, and appends none', async () => {
    const { sink } = start({ bodies: ['a 1\nb 2\nc 3\nd 4\n'], config: job('    sample_limit: 2\n') });
    await until(() => sink.named('up').length > 0, 'a scrape');
    expect(sink.named('scrape_samples_scraped')[0]?.v).toBe(4);
    expect(sink.named('scrape_samples_post_metric_relabeling')[0]?.v).toBe(4);
    expect(sink.named('a')).toEqual([]);
  });

  it('does not scrape a slot twice when a handover is cancelled during a scrape', async () => {
    const config = job();
    const sink = new RecordingSink();
    const slow: Scraper = { scrape: () => new Promise((resolve) => setTimeout(() => resolve({ body: 'a 1\n', contentType: 'text/plain', bytes: 4 }), 80)) };
    const loop = new ScrapeLoop({ target: target(config), firstSlotUnixMs: 0, job: config, scraper: slow, sinks: [sink] });
    loops.push(loop);
    loop.start();
    // Mid-scrape: the slot's scrape takes 80 ms.
    const next = nextScrapeSlotMs({ id: loop.target.id, intervalMs, nowMs: Date.now() + 1 });
    await new Promise((r) => setTimeout(r, next - Date.now() + 20));
    loop.handOver(next + 10 * intervalMs);
    expect(loop.keep(0)).toBe(true);
    await new Promise((r) => setTimeout(r, intervalMs * 4));
    const times = sink.named('up').map((s) => s.t);
    expect(new Set(times).size).toBe(times.length);
  });

  it('skips the slots another worker owns when a target comes back with a first slot', async () => {
    const { loop, sink } = start({ bodies: ['a 1\n'] });
    await until(() => sink.named('up').length > 0, 'a scrape');
    const last = (sink.named('up')[0]?.t ?? 0) + intervalMs;
    loop.handOver(last);
    const resume = last + 3 * intervalMs;
    expect(loop.keep(resume)).toBe(true);
    await until(() => sink.named('up').some((s) => s.t >= resume), 'the scrape at the resume slot');
    expect(sink.named('up').map((s) => s.t).filter((t) => t > last && t < resume)).toEqual([]);
  });

  describe('skipped slots', () => {
    /** A loop on a clock the test moves (its timers are real: a slot is at most one 200 ms interval away). */
    function onClock(options: { firstSlotUnixMs: (nowMs: number) => number; stallMs?: number; duringStall?: (slot: number) => void }) {
      const config = job();
      const { id } = target(config);
      let clock = Date.now();
      const skipped: [number, string][] = [];
      const scraper = new ScriptedScraper(['a 1\n']);
      const stalling: Scraper = {
        scrape: (request) => {
          // The first scrape stalls the process for `stallMs`, as a long GC pause or a blocked event loop would.
          if (scraper.requests.length === 0 && options.stallMs !== undefined) {
            const slot = nextScrapeSlotMs({ id, intervalMs, nowMs: clock });
            clock = slot + options.stallMs;
            options.duringStall?.(slot);
          }
          return scraper.scrape(request);
        },
      };
      const sink = new RecordingSink();
      const observer = { slotsSkipped: (slots: number, reason: string) => skipped.push([slots, reason]) };
      const loop = new ScrapeLoop({ target: target(config), firstSlotUnixMs: options.firstSlotUnixMs(clock), job: config, scraper: stalling, sinks: [sink], observer, now: () => clock });
      loops.push(loop);
      loop.start();
      return { loop, sink, skipped };
    }

    it('scrapes at once the first slot of an assignment applied late, and reports the slots before it as skipped', async () => {
      const { id } = target(job());
      let next = 0;
      // Applied three slots after its first slot: the last of those passed less than an interval ago.
      const { sink, skipped } = onClock({ firstSlotUnixMs: (now) => (next = nextScrapeSlotMs({ id, intervalMs, nowMs: now })) - 3 * intervalMs });
      await until(() => sink.named('up').length >= 2, 'two scrapes');
      expect(sink.named('up').map((s) => s.t).slice(0, 2)).toEqual([next - intervalMs, next]);
      expect(skipped).toEqual([[2, 'assignment_late']]);
    });

    it('scrapes at once the slot a stalled scrape ran past by less than an interval, and reports the ones before it', async () => {
      const steps = (times: number[]) => times.slice(1, 3).map((t, i) => t - (times[i] ?? 0));
      const late = onClock({ firstSlotUnixMs: () => 0, stallMs: intervalMs + 10 });
      await until(() => late.sink.named('up').length >= 3, 'three scrapes');
      expect(steps(late.sink.named('up').map((s) => s.t))).toEqual([intervalMs, intervalMs]);
      expect(late.skipped).toEqual([]);

      const stalled = onClock({ firstSlotUnixMs: () => 0, stallMs: 3 * intervalMs + 10 });
      await until(() => stalled.sink.named('up').length >= 3, 'three scrapes');
      expect(steps(stalled.sink.named('up').map((s) => s.t))).toEqual([3 * intervalMs, intervalMs]);
      expect(stalled.skipped).toEqual([[2, 'overrun']]);
    });

    it('reports the owned slots up to its last one that a stall ran past, when handing over', async () => {
      const handingOver: { loop?: ScrapeLoop } = {};
      let last = 0;
      const { loop, sink, skipped } = onClock({
        firstSlotUnixMs: () => 0,
        stallMs: 3 * intervalMs + 10,
        // Handed over mid-scrape with a last slot two slots on, which the stall runs past.
        duringStall: (slot) => handingOver.loop?.handOver((last = slot + 2 * intervalMs)),
      });
      handingOver.loop = loop;
      let finished = false;
      loop.onFinished = () => (finished = true);
      await until(() => finished, 'the hand-over to end');
      expect(sink.named('up').map((s) => s.t)).toEqual([last - 2 * intervalMs]);
      expect(skipped).toEqual([[2, 'overrun']]);
    });

    it('catches up nothing when started without a first slot: an earlier process may have scraped the slot before', async () => {
      const { id } = target(job());
      let started = 0;
      const { sink } = onClock({ firstSlotUnixMs: (now) => ((started = now), 0) });
      await until(() => sink.named('up').length > 0, 'a scrape');
      expect(sink.named('up')[0]?.t).toBe(nextScrapeSlotMs({ id, intervalMs, nowMs: started }));
    });

    it('does not count the slots another worker owns while a target is away', async () => {
      const { loop, sink, skipped } = onClock({ firstSlotUnixMs: () => 0 });
      await until(() => sink.named('up').length > 0, 'a scrape');
      const last = (sink.named('up')[0]?.t ?? 0) + intervalMs;
      loop.handOver(last);
      expect(loop.keep(last + 3 * intervalMs)).toBe(true);
      await until(() => sink.named('up').some((s) => s.t >= last + 3 * intervalMs), 'the scrape at the resume slot');
      expect(skipped).toEqual([]);
    });

    it('reports nothing while every slot is scraped', async () => {
      const { sink, skipped } = onClock({ firstSlotUnixMs: () => 0 });
      await until(() => sink.named('up').length >= 3, 'three scrapes');
      expect(skipped).toEqual([]);
    });
  });

  it('writes staleness markers when the job goes over its target_limit, keeping its cache', async () => {
    const { loop, sink } = start({ bodies: ['a 1\n'] });
    await until(() => sink.named('a').length > 0, 'a scrape');
    loop.setForcedError('target_limit exceeded (number of targets: 3, limit: 2)');
    await until(() => sink.samples.some((s) => s.stale), 'staleness markers');
    expect(sink.samples.filter((s) => s.stale).map((s) => s.series)).toEqual(['{__name__="a", instance="a:9100", job="node"}']);
  });
});

describe('ScrapeLoop exemplars', () => {
  it('gives exemplars to the sinks that send them only, with the sample’s timestamp when they have none, and not twice', async () => {
    const long = 'x'.repeat(127);
    const first = `# TYPE a counter\na_total 1 # {trace_id="t1",empty=""} 0.5\nb_total 1 # {id="${long}"} 1\nc 2 # {id="c"} 3 1700000000.5\n# EOF\n`;
    const second = `# TYPE a counter\na_total 2 # {trace_id="t1"} 0.5\nb_total 2\nc 2 # {id="c"} 3 1700000001\n# EOF\n`;
    const third = `# TYPE a counter\na_total 3 # {trace_id="t2"} 0.7\nb_total 3\nc 2 # {id="c"} 3 1700000001\n# EOF\n`;
    const silent = new RecordingSink(false);
    const { sink } = start({ bodies: [first, second, third], sink: new RecordingSink(true), more: [silent], contentType: openMetricsType });
    await until(() => sink.named('up').length >= 4, 'four scrapes');
    const ups = sink.named('up').map((s) => s.t);
    expect(sink.exemplars()).toEqual([
      // The empty label is no label, as in Prometheus' storage; b's label set is over 128 characters and dropped.
      { series: seriesText('a_total'), exemplar: { labels: new Map([['trace_id', 't1']]), value: 0.5, timestampMs: ups[0] } },
      { series: seriesText('c'), exemplar: { labels: new Map([['id', 'c']]), value: 3, timestampMs: 1_700_000_000_500 } },
      // Second scrape: a's exemplar is the same one (no timestamp of its own); c's has a new timestamp.
      { series: seriesText('c'), exemplar: { labels: new Map([['id', 'c']]), value: 3, timestampMs: 1_700_000_001_000 } },
      { series: seriesText('a_total'), exemplar: { labels: new Map([['trace_id', 't2']]), value: 0.7, timestampMs: ups[2] } },
    ]);
    expect(silent.exemplars()).toEqual([]);
    expect(silent.named('a_total')).toHaveLength(sink.named('a_total').length);
    // Each exemplar follows its sample.
    const firstExemplar = sink.events.findIndex((e) => e.kind === 'exemplar');
    expect(sink.events[firstExemplar - 1]).toEqual({ kind: 'sample', series: seriesText('a_total'), t: ups[0] });
  });

  it('keeps an exemplar of a label set of exactly 128 characters', async () => {
    const { sink } = start({ bodies: [`a 1 # {id="${'x'.repeat(126)}"} 1\n# EOF\n`], sink: new RecordingSink(true), contentType: openMetricsType });
    await until(() => sink.named('up').length > 0, 'a scrape');
    expect(sink.exemplars()).toHaveLength(1);
  });
});

describe('ScrapeLoop metadata', () => {
  it('gives each series its family’s metadata by Prometheus’ suffix rule, in the text format (TYPE names foo_total)', async () => {
    const body = '# HELP foo_total Foo.\n# TYPE foo_total counter\nfoo_total 1\n# HELP h H \\\\ h.\n# TYPE h histogram\nh_bucket{le="1"} 1\nh_bucket{le="+Inf"} 1\nh_sum 1\nh_count 1\nh_created 1\nx 1\n';
    const { sink } = start({ bodies: [body] });
    await until(() => sink.named('up').length > 0, 'a scrape');
    const foo = { family: 'foo_total', type: 'counter', help: 'Foo.', unit: '' };
    const h = { family: 'h', type: 'histogram', help: 'H \\ h.', unit: '' };
    expect(sink.metadataOf(seriesText('foo_total'))).toEqual(foo);
    const bucket = sink.metadataOf(seriesText('h_bucket', { le: '1.0' }));
    expect(bucket).toEqual(h);
    for (const name of ['h_sum', 'h_count']) expect(sink.metadataOf(seriesText(name))).toBe(bucket);
    expect(sink.metadataOf(seriesText('h_bucket', { le: '+Inf' }))).toBe(bucket);
    for (const name of ['h_created', 'x', 'up']) expect(sink.metadataOf(seriesText(name))).toBeUndefined();
    expect(sink.metadata[0]?.families).toEqual([foo, h]);
  });

  it('gives each series its family’s metadata by Prometheus’ suffix rule, in OpenMetrics', async () => {
    const body = [
      '# TYPE foo counter',
      '# HELP foo Foo "quoted" \\n.',
      'foo_total 1',
      'foo_created 1700000000',
      '# TYPE req_seconds summary',
      '# UNIT req_seconds seconds',
      'req_seconds{quantile="0.5"} 1',
      'req_seconds_sum 1',
      'req_seconds_count 1',
      '# TYPE g gaugehistogram',
      'g_bucket{le="+Inf"} 1',
      'g_gcount 1',
      'g_gsum 1',
      '# TYPE build info',
      'build_info{v="1"} 1',
      '# TYPE s stateset',
      's{s="a"} 1',
      'other 1',
      '# EOF',
      '',
    ].join('\n');
    const { sink } = start({ bodies: [body], contentType: openMetricsType });
    await until(() => sink.named('up').length > 0, 'a scrape');
    const metadata = (name: string, labels: Record<string, string> = {}) => sink.metadataOf(seriesText(name, labels));
    expect(metadata('foo_total')).toEqual({ family: 'foo', type: 'counter', help: 'Foo "quoted" \n.', unit: '' });
    expect(metadata('foo_created')).toBeUndefined();
    expect(metadata('req_seconds', { quantile: '0.5' })).toEqual({ family: 'req_seconds', type: 'summary', help: '', unit: 'seconds' });
    expect(metadata('req_seconds_sum')).toBe(metadata('req_seconds', { quantile: '0.5' }));
    expect(metadata('req_seconds_count')).toBe(metadata('req_seconds', { quantile: '0.5' }));
    for (const name of ['g_gcount', 'g_gsum']) expect(metadata(name)).toEqual({ family: 'g', type: 'gaugehistogram', help: '', unit: '' });
    expect(metadata('build_info', { v: '1' })).toEqual({ family: 'build', type: 'info', help: '', unit: '' });
    expect(metadata('s', { s: 'a' })).toEqual({ family: 's', type: 'stateset', help: '', unit: '' });
    expect(metadata('other')).toBeUndefined();
  });

  it('rebuilds the references of a family whose metadata changed, and only those; tells the sinks the target’s metadata on change and at the end', async () => {
    const foo = (help: string) => `# HELP foo ${help}\n# TYPE foo gauge\nfoo{a="1"} 1\nfoo{a="2"} 1\n`;
    const bar = '# HELP bar Bar.\n# TYPE bar gauge\nbar 1\n';
    const { loop, sink } = start({ bodies: [foo('One.') + bar, foo('Two.') + bar, foo('Two.') + bar, foo('Two.'), foo('Two.').replace('# HELP foo Two.\n', '')] });
    await until(() => sink.named('up').length >= 6, 'six scrapes');
    const refsOf = (series: string) => sink.refs.filter((r) => r.series === series).map((r) => r.metadata?.help);
    expect(refsOf(seriesText('foo', { a: '1' }))).toEqual(['One.', 'Two.', '']);
    expect(refsOf(seriesText('foo', { a: '2' }))).toEqual(['One.', 'Two.', '']);
    expect(refsOf(seriesText('bar'))).toEqual(['Bar.']);
    const given = sink.metadata.map((m) => m.families?.map((f) => `${f.family}:${f.help}`));
    expect(given).toEqual([['foo:One.', 'bar:Bar.'], ['foo:Two.', 'bar:Bar.'], ['foo:Two.'], ['foo:']]);
    expect(sink.metadata.every((m) => m.owner === loop)).toBe(true);
    // An unchanged family keeps its object across scrapes.
    expect(sink.metadata[2]?.families?.[0]).toBe(sink.metadata[1]?.families?.[0]);
    await loop.stop('shutdown');
    expect(sink.metadata.at(-1)).toEqual({ owner: loop, families: undefined });
  });


  it('shares one metadata object between loops whose targets expose the same family, and keeps a differing one apart', async () => {
    // Every order in which the three loops read their first scrape, each with a family of its own: which variant
    // came first must not decide what is shared.
    const orders = [['one', 'two', 'three'], ['one', 'three', 'two'], ['three', 'one', 'two']] as const;
    for (const [i, order] of orders.entries()) {
      const family = `shared_family_${i}`;
      const body = (help: string) => `# HELP ${family} ${help}\n# TYPE ${family} gauge\n${family} 1\n`;
      const sinks = new Map<string, RecordingSink>();
      for (const name of order) {
        const { sink } = start({ bodies: [body(name === 'three' ? 'Other.' : 'Same.')] });
        sinks.set(name, sink);
        await until(() => sink.metadata.length >= 1, `the metadata of loop ${name}`);
      }
      const of = (name: string) => sinks.get(name)?.metadataOf(seriesText(family));
      expect(of('one')).toEqual({ family, type: 'gauge', help: 'Same.', unit: '' });
      expect({ order, shared: of('two') === of('one') }).toEqual({ order, shared: true });
      expect(of('three')).toEqual({ family, type: 'gauge', help: 'Other.', unit: '' });
    }
  });
  it('tells the sinks the metadata is gone when its target is', async () => {
    const { loop, sink } = start({ bodies: ['# TYPE a gauge\na 1\n'] });
    await until(() => sink.metadata.length > 0, 'the metadata');
    loops.splice(loops.indexOf(loop), 1);
    await loop.stop('gone');
    expect(sink.metadata.map((m) => m.families?.length)).toEqual([1, undefined]);
  });

  it('tells the sinks the metadata is gone when a handed-over loop finished', async () => {
    const { loop, sink } = start({ bodies: ['# TYPE a gauge\na 1\n'] });
    await until(() => sink.metadata.length > 0, 'the metadata');
    let finished = false;
    loop.onFinished = () => (finished = true);
    loop.handOver(0);
    await until(() => finished, 'the handover');
    expect(sink.metadata.map((m) => m.families?.length)).toEqual([1, undefined]);
  });

  it('tells a sink a reconfiguration removed that the metadata is gone, and gives the new sinks the metadata again', async () => {
    const config = job();
    const [a, b, c] = [new RecordingSink(), new RecordingSink(), new RecordingSink()];
    const scraper = new ScriptedScraper(['# TYPE m gauge\nm 1\n']);
    const loop = new ScrapeLoop({ target: target(config), firstSlotUnixMs: 0, job: config, scraper, sinks: [a, b] });
    loops.push(loop);
    loop.start();
    await until(() => a.metadata.length > 0, 'the metadata');
    loop.reconfigure({ job: config, scraper, sinks: [b, c], forcedError: '' });
    expect(a.metadata.map((m) => m.families?.length)).toEqual([1, undefined]);
    await until(() => c.metadata.length > 0, 'the metadata at the new sink');
    expect(b.metadata.map((m) => m.families?.length)).toEqual([1, 1]);
    expect(c.metadata.map((m) => m.families?.map((f) => f.family))).toEqual([['m']]);
  });

  it('changes nothing for the text format without metadata: no metadata, created timestamps or exemplars', async () => {
    const { loop, sink } = start({ bodies: ['a{x="1"} 1\nb_total 2\nb_created 3\n'], sink: new RecordingSink(true) });
    await until(() => sink.named('up').length >= 2, 'two scrapes');
    await loop.stop('shutdown');
    expect(sink.refs.every((r) => r.metadata === undefined)).toBe(true);
    expect(sink.refs).toHaveLength(8);
    expect(sink.events.filter((e) => e.kind !== 'sample')).toEqual([]);
    expect(sink.metadata).toEqual([]);
  });
});

describe('ScrapeLoop created timestamps', () => {
  it('gives counter and histogram series the created timestamp of their metric point, before their sample, once while unchanged', async () => {
    const body = (created: string) =>
      [
        '# TYPE foo counter',
        'foo_total{a="1"} 1',
        `foo_created{a="1"} ${created}`,
        'foo_total{a="2"} 2',
        'foo_created{a="2"} 1700000001',
        '# TYPE h histogram',
        'h_bucket{le="1"} 1',
        'h_bucket{le="+Inf"} 2',
        'h_count 2',
        'h_sum 3',
        'h_created 1700000002.25',
        '# TYPE g gauge',
        'g 1',
        '# TYPE late counter',
        'late_total{a="1"} 1',
        'late_total{a="2"} 1',
        'late_created{a="1"} 1700000003',
        '# EOF',
        '',
      ].join('\n');
    const { sink } = start({ bodies: [body('1700000000.5'), body('1700000000.5'), body('1700000009')], contentType: openMetricsType });
    await until(() => sink.named('up').length >= 3, 'three scrapes');
    const h = 1_700_000_002_250;
    expect(sink.created()).toEqual([
      { series: seriesText('foo_total', { a: '1' }), ms: 1_700_000_000_500 },
      { series: seriesText('foo_total', { a: '2' }), ms: 1_700_000_001_000 },
      { series: seriesText('h_bucket', { le: '1.0' }), ms: h },
      { series: seriesText('h_bucket', { le: '+Inf' }), ms: h },
      { series: seriesText('h_count'), ms: h },
      { series: seriesText('h_sum'), ms: h },
      // late_total{a="2"} is not the next _created line's point, as Prometheus' StartTimestamp has it.
      { series: seriesText('late_total', { a: '1' }), ms: 1_700_000_003_000 },
      { series: seriesText('foo_total', { a: '1' }), ms: 1_700_000_009_000 },
    ]);
    const first = sink.named('up')[0]?.t;
    const index = sink.events.findIndex((e) => e.kind === 'created');
    expect(sink.events[index + 1]).toEqual({ kind: 'sample', series: seriesText('foo_total', { a: '1' }), t: first });
    // The _created series stay series of their own, as Prometheus keeps them without created-timestamp ingestion.
    expect(sink.named('foo_created')).toHaveLength(sink.named('foo_total').length);
  });

  it('gives no created timestamp from a _created value beyond int64 milliseconds (written in nanoseconds)', async () => {
    const { sink } = start({ bodies: ['# TYPE foo counter\nfoo_total 1\nfoo_created 1700000000000000000\n# EOF\n'], contentType: openMetricsType });
    await until(() => sink.named('up').length > 0, 'a scrape');
    expect(sink.named('foo_total')).toHaveLength(1);
    expect(sink.created()).toEqual([]);
  });

  it('takes a created timestamp from a _created series that metric relabeling drops', async () => {
    const config = job("    metric_relabel_configs:\n      - source_labels: [__name__]\n        regex: .*_created\n        action: drop\n");
    const { sink } = start({ bodies: ['# TYPE foo counter\nfoo_total 1\nfoo_created 1700000000\n# EOF\n'], config, contentType: openMetricsType });
    await until(() => sink.named('up').length > 0, 'a scrape');
    expect(sink.named('foo_created')).toEqual([]);
    expect(sink.created()).toEqual([{ series: seriesText('foo_total'), ms: 1_700_000_000_000 }]);
  });
});
