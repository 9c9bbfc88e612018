import { readFileSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';
import { apiLoadChart, apiLoadSeries, inputFromSummary, loadOf, prometheusRequests, recordedInput, SummaryError } from './plot-api-load-figures.js';
import { escapeXml, niceStep, renderChart } from './plot-svg.js';
import type { Summary } from './report.js';

const cluster = recordedInput.cluster;

describe('loadOf', () => {
  it('counts lists and watches, and every object of a listed kind', () => {
    expect(loadOf(recordedInput.promfleet, cluster)).toEqual({ requests: 8, listedObjects: 150_000 + 5_000 + 601 + 1_850, watches: 4 });
  });

  it('leaves out API discovery and /version, which carry no objects', () => {
    const requests = [
      { verb: 'get' as const, resource: '/version', count: 3 },
      { verb: 'list' as const, resource: 'pods', count: 2 },
      { verb: 'watch' as const, resource: 'pods', count: 1 },
      { verb: 'list' as const, resource: 'ingresses', count: 1 },
    ];
    expect(loadOf(requests, cluster)).toEqual({ requests: 4, listedObjects: 300_000, watches: 1 });
  });
});

describe('prometheusRequests', () => {
  it('gives each role its own informers, so the pod and endpointslice roles both list pods', () => {
    expect(loadOf(prometheusRequests(['pod', 'endpointslice', 'node']), cluster)).toEqual({
      requests: 10,
      listedObjects: 2 * 150_000 + 1_850 + 601 + 5_000,
      watches: 5,
    });
  });

  it('shares one set of informers between jobs of one role (identical SD configs)', () => {
    expect(prometheusRequests(['endpointslice', 'endpointslice'])).toEqual(prometheusRequests(['endpointslice']));
  });
});

describe('apiLoadSeries', () => {
  it('keeps promfleet flat and multiplies the others by their members or shards', () => {
    const [promfleet, vmagent, prometheus] = apiLoadSeries(recordedInput, 10);
    const at = (s: typeof promfleet, n: number) => s?.points.find((p) => p.scrapers === n);
    expect(at(promfleet, 10)?.load).toEqual({ requests: 8, listedObjects: 157_451, watches: 4 });
    expect(at(vmagent, 10)?.load).toEqual({ requests: 80, listedObjects: 1_574_510, watches: 40 });
    expect(at(prometheus, 10)?.load).toEqual({ requests: 100, listedObjects: 3_074_510, watches: 50 });
  });

  it('marks only the single measured discoverers as measured', () => {
    const measured = apiLoadSeries(recordedInput, 3).map((s) => s.points.map((p) => p.measured));
    expect(measured).toEqual([
      [true, false, false],
      [true, false, false],
      [false, false, false],
    ]);
  });

  it('refuses an axis of fewer than two points', () => {
    expect(() => apiLoadSeries(recordedInput, 1)).toThrow('maxScrapers must be an integer ≥ 2, got 1');
  });
});

describe('inputFromSummary', () => {
  const run = (requests: Summary['jobs'][number]['vmagent'][number]['requests']) => ({ requests });
  const summary = (scale: unknown): Summary => ({ startedAt: '2026-11-20T10:00:00.000Z', scale, jobs: [], skipped: [] }) as unknown as Summary;

  it('takes the cluster, roles and first runs of the scale comparison', () => {
    const ours = [{ userAgent: 'promfleet-master/bench', verb: 'list' as const, resource: 'nodes', count: 1 }];
    const theirs = [{ userAgent: 'Go-http-client/1.1', verb: 'list' as const, resource: 'pods', count: 1 }];
    const input = inputFromSummary(
      summary({ roles: ['node'], cluster: { pods: 10, nodes: 2, services: 1, endpointSlices: 1 }, promfleet: [run(ours)], vmagent: [run(theirs)], vmagentSkipped: undefined }),
      'd.json',
    );
    expect(input).toEqual({ source: 'd.json, run of 2026-11-20', cluster: { pods: 10, nodes: 2, services: 1, endpointSlices: 1 }, roles: ['node'], promfleet: ours, vmagent: theirs });
  });

  it.each([
    [undefined, 'd.json: no scale comparison (the run was cut short)'],
    [{ roles: ['pod'], cluster, promfleet: [], vmagent: [] }, 'd.json: no promfleet run in the scale comparison'],
    [{ roles: ['pod'], cluster, promfleet: [run([])], vmagent: [], vmagentSkipped: 'disabled with --vmagent none' }, 'd.json: no vmagent run in the scale comparison (disabled with --vmagent none)'],
    [{ roles: ['ingress'], cluster, promfleet: [run([])], vmagent: [run([])] }, 'd.json: unknown role among ingress'],
  ])('names what is missing: %#', (scale, message) => {
    expect(() => inputFromSummary(summary(scale), 'd.json')).toThrow(new SummaryError('d.json', message.slice('d.json: '.length)));
  });
});

describe('the chart', () => {
  it('is one SVG document with each line, its end value and its source, the same bytes every time', () => {
    const svg = renderChart(apiLoadChart(recordedInput, 10));
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
    for (const text of ['promfleet: 1 master + N workers', 'vmagent cluster mode: N members', 'Prometheus: N hashmod shards', '>80<', '>100<', '>3.07 M<', 'BENCHMARKS.md, &quot;Discovery&quot;']) {
      expect(svg).toContain(text);
    }
    expect(renderChart(apiLoadChart(recordedInput, 10))).toBe(svg);
  });

  it('is what docs/images/api-load.svg holds (regenerate it with pnpm --filter @promfleet/bench plot:api-load)', () => {
    const committed = readFileSync(new URL('../../../docs/images/api-load.svg', import.meta.url), 'utf8');
    expect(committed).toBe(renderChart(apiLoadChart(recordedInput, 10)));
  });

  it('escapes text', () => {
    expect(escapeXml('a < b & "c" > d')).toBe('a &lt; b &amp; &quot;c&quot; &gt; d');
  });

  it.each([
    [100, 5, 20],
    [3_074_510, 5, 1_000_000],
    [9, 10, 1],
    [0, 5, 1],
  ])('steps ticks by 1, 2 or 5 × 10^k: max %d in about %d steps → %d', (max, ticks, step) => {
    expect(niceStep(max, ticks)).toBe(step);
  });
});
