import { readFileSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';
import { renderBarChart } from './plot-svg.js';
import {
  goalChecks,
  peersChart,
  peersMarkdown,
  ratio,
  scaleOf,
  summarizeCells,
  summarizeSplits,
  workerScrapeCounts,
  type HarnessRun,
  type ProcessSplit,
} from './peers-report.js';

const MiB = 1024 * 1024;

/** A harness result at 200 × 927 node series, 60 s window, with the fields a test sets. */
function run(fields: Partial<HarnessRun> & Pick<HarnessRun, 'run_id' | 'collector'>): HarnessRun {
  return {
    collector_version: '',
    payload: 'node',
    targets: 200,
    series_per_target: 927,
    interval_s: 5,
    repeat: 1,
    window_wall_s: 60,
    expected_payload_samples: 2_224_800,
    received_payload_samples: 2_224_800,
    delivery_ratio: 1,
    cpu_s: 4,
    cores: 4 / 60,
    cpu_us_per_sample: 1.8,
    rss_steady_bytes: 100 * MiB,
    rss_peak_bytes: 110 * MiB,
    bytes_per_series: (100 * MiB) / 185_400,
    rw_bytes_per_sample: 19.1,
    steady: true,
    host_busy_cores: 0.3,
    other_cores: 0.05,
    calib_before: { cpu_ns: 1800, wall_ns: 1850 },
    calib_after: { cpu_ns: 1900, wall_ns: 1950 },
    scrapes: 2400,
    scrapes_up: 2400,
    ...fields,
  };
}

describe('summarizeCells', () => {
  it('takes medians per collector and scale over the steady runs, in first-seen order', () => {
    const cells = summarizeCells([
      run({ run_id: 'a', collector: 'vmagent', cpu_us_per_sample: 1.5 }),
      run({ run_id: 'b', collector: 'promfleet', cpu_us_per_sample: 3 }),
      run({ run_id: 'c', collector: 'vmagent', cpu_us_per_sample: 2.5 }),
      run({ run_id: 'd', collector: 'vmagent', cpu_us_per_sample: 9, steady: false }),
      run({ run_id: 'e', collector: 'vmagent', cpu_us_per_sample: 3.7, payload: 'ksm', series_per_target: 10_000, targets: 50 }),
    ]);
    expect(cells.map((c) => [c.collector, c.scale, c.runs, c.steadyRuns, c.usPerSample])).toEqual([
      ['vmagent', '200 × 927 (node) @ 5s', 3, 2, 2],
      ['promfleet', '200 × 927 (node) @ 5s', 1, 1, 3],
      ['vmagent', '50 × 10000 (ksm) @ 5s', 1, 1, 3.7],
    ]);
  });

  it('falls back to every run when none was steady, and reports the lowest delivery of all', () => {
    const [cell] = summarizeCells([
      run({ run_id: 'a', collector: 'promfleet', steady: false, delivery_ratio: 0.98, cpu_us_per_sample: 4 }),
      run({ run_id: 'b', collector: 'promfleet', steady: false, delivery_ratio: 1, cpu_us_per_sample: 6 }),
    ]);
    expect(cell).toMatchObject({ steadyRuns: 0, usPerSample: 5, deliveryMin: 0.98, rssSteadyMiB: 100, probeNs: 1850 });
  });
});

describe('summarizeSplits', () => {
  it('gives the worker its CPU per confirmed sample and its RSS per series, and the master its share', () => {
    const splits: ProcessSplit[] = [
      { run_id: 'a', worker_cpu_s: 6.6744, master_cpu_s: 0.3, worker_rss_steady_bytes: 185_400 * 600, master_rss_steady_bytes: 120 * MiB, window_s: 60 },
    ];
    const [split] = summarizeSplits([run({ run_id: 'a', collector: 'promfleet' }), run({ run_id: 'b', collector: 'promfleet' })], splits, 'promfleet');
    expect(split?.runs).toBe(1);
    expect(split?.workerUsPerSample).toBeCloseTo(3, 6);
    expect(split?.workerBytesPerSeries).toBeCloseTo(600, 6);
    expect(split?.workerCores).toBeCloseTo(0.11124, 6);
    expect(split?.masterCores).toBeCloseTo(0.005, 6);
    expect(split?.masterRssMiB).toBe(120);
  });
});

describe('ratio', () => {
  it.each([
    [3.6, 1.8, 2],
    [undefined, 1.8, undefined],
    [3.6, undefined, undefined],
    [3.6, 0, undefined],
  ])('%s ÷ %s is %s', (a, b, expected) => {
    expect(ratio(a, b)).toBe(expected);
  });
});

describe('peersMarkdown', () => {
  it('prints a row per collector and scale, the worker alone, and promfleet over each peer', () => {
    const runs = [
      run({ run_id: 'p', collector: 'promfleet', cpu_us_per_sample: 3.6, bytes_per_series: 800 }),
      run({ run_id: 'v', collector: 'vmagent', collector_version: '1.79.5', cpu_us_per_sample: 1.8, bytes_per_series: 400 }),
      run({ run_id: 'a', collector: 'prom-agent', cpu_us_per_sample: 7.2, bytes_per_series: 3200 }),
    ];
    const splits: ProcessSplit[] = [
      { run_id: 'p', worker_cpu_s: 5.3, master_cpu_s: 0.1, worker_rss_steady_bytes: 185_400 * 500, master_rss_steady_bytes: 100 * MiB, window_s: 60 },
    ];
    const markdown = peersMarkdown({ runs, splits, promfleet: ['promfleet', 'promfleet-rw2'] });
    expect(markdown).toContain(`| vmagent 1.79.5 | ${scaleOf(runs[1] as HarnessRun)} | 1 (1) | 1.80 |`);
    expect(markdown).toContain(`| ${scaleOf(runs[0] as HarnessRun)} | promfleet | vmagent | 2.00 | 2.00 | 1.00 | 1.32 | 1.25 |`);
    expect(markdown).toContain(`| ${scaleOf(runs[0] as HarnessRun)} | promfleet | prom-agent | 0.50 | 0.25 | 1.00 | 0.33 | 0.16 |`);
    expect(markdown).toContain('| promfleet | 200 × 927 (node) @ 5s | 1 | 2.38 | 0.088 | 88 | 500 | 0.002 | 100 |');
    expect(markdown).not.toContain('bridge');
  });

  it('sets each variant beside the peers and beside promfleet, worker by worker, with the bridge apart', () => {
    const runs = [
      run({ run_id: 'p', collector: 'promfleet', cpu_us_per_sample: 3.6, rw_bytes_per_sample: 22 }),
      run({ run_id: 'r', collector: 'promfleet-rw2', cpu_us_per_sample: 2.7, rw_bytes_per_sample: 11 }),
      run({ run_id: 'v', collector: 'vmagent', cpu_us_per_sample: 1.8, rw_bytes_per_sample: 20 }),
    ];
    const split = { master_cpu_s: 0.1, worker_rss_steady_bytes: 185_400 * 500, master_rss_steady_bytes: 100 * MiB, window_s: 60 };
    const splits: ProcessSplit[] = [
      { run_id: 'p', worker_cpu_s: 6.6744, ...split },
      { run_id: 'r', worker_cpu_s: 4.4496, bridge_cpu_s: 0.6, ...split },
    ];
    const markdown = peersMarkdown({ runs, splits, promfleet: ['promfleet', 'promfleet-rw2', 'promfleet-nometa'] });
    const scale = scaleOf(runs[0] as HarnessRun);
    expect(markdown).toContain(`| ${scale} | promfleet-rw2 | vmagent | 1.50 | 1.00 | 0.55 | 1.11 | 0.88 |`);
    expect(markdown).toContain(`| ${scale} | promfleet-rw2 | promfleet | 0.75 | 1.00 | 0.50 | 0.67 | 1.00 |`);
    expect(markdown).toContain(`| promfleet-rw2 | ${scale} | 1 | 2.00 | 0.074 | 88 | 500 | 0.002 | 100 | 0.010 |`);
    expect(markdown).toContain(`| promfleet | ${scale} | 1 | 3.00 | 0.111 | 88 | 500 | 0.002 | 100 | – |`);
    expect(markdown).not.toContain('promfleet-nometa');
  });
});

describe('scrapes', () => {
  it('counts per run the scrapes missing from the window and those that failed, and keeps the worst run', () => {
    const [cell] = summarizeCells([
      run({ run_id: 'a', collector: 'promfleet', scrapes: 2398, scrapes_up: 2398 }),
      run({ run_id: 'b', collector: 'promfleet', scrapes: 2400, scrapes_up: 2395 }),
    ]);
    expect(cell).toMatchObject({ scrapesExpected: 2400, skippedMax: 2, failedMax: 5 });
  });

  it('leaves them unknown when the receiver was not queried', () => {
    const [cell] = summarizeCells([run({ run_id: 'a', collector: 'promfleet', scrapes: null, scrapes_up: null })]);
    expect(cell).toMatchObject({ skippedMax: undefined, failedMax: undefined });
  });

  it("reads the worker's scrape counters from its /metrics, a result not yet seen as 0", () => {
    const text = [
      '# HELP promfleet_worker_scrapes_total Scrapes by result: success, failure (up=0).',
      '# TYPE promfleet_worker_scrapes_total counter',
      'promfleet_worker_scrapes_total{result="success"} 7200',
      'promfleet_worker_scrapes_total_other{result="failure"} 9',
    ].join('\n');
    expect(workerScrapeCounts(text)).toEqual({ success: 7200, failure: 0 });
    expect(workerScrapeCounts(`${text}\npromfleet_worker_scrapes_total{result="failure"} 3\n`)).toEqual({ success: 7200, failure: 3 });
  });
});

describe('goalChecks', () => {
  const series = 185_400;
  const split = (id: string, fields: Partial<ProcessSplit>): ProcessSplit => ({
    run_id: id,
    worker_cpu_s: 3.3372,
    master_cpu_s: 0.1,
    worker_rss_steady_bytes: series * 900,
    master_rss_steady_bytes: series * 200,
    window_s: 60,
    worker_scrapes_after_warmup: { success: 3000, failure: 0 },
    ...fields,
  });
  const check = (runs: HarnessRun[], splits: ProcessSplit[]): Record<string, [string, boolean | undefined]> => {
    const cells = summarizeCells(runs);
    return Object.fromEntries(goalChecks(cells, summarizeSplits(runs, splits, 'promfleet'), 'promfleet').map((c) => [c.goal, [c.figure, c.met]]));
  };

  it('meets every goal when promfleet spends no more than vmagent, under the memory bounds, with every sample and scrape', () => {
    const checks = check(
      [run({ run_id: 'p', collector: 'promfleet', cpu_us_per_sample: 1.8 }), run({ run_id: 'v', collector: 'vmagent', cpu_us_per_sample: 1.8 })],
      [split('p', {})],
    );
    expect(checks).toEqual({
      'CPU per sample ≤ vmagent\u2019s': ['1.80 µs vs 1.80 µs (1.00×); worker alone 1.50 µs', true],
      'worker RSS per series < 1 KB': ['900 B (159 MiB)', true],
      'master + worker RSS per series < 1.2 KB': ['1,100 B (master 35 MiB)', true],
      'delivery 1.0000': ['1.0000–1.0000 over 1 run(s)', true],
      'no skipped or failed scrape after the warm-up': ['missed 0, failed 0 of 2,400 per window (`up` at the receiver); worker\u2019s counter: 0 failed after the warm-up', true],
    });
  });

  it('fails each goal on its own figure', () => {
    const checks = check(
      [
        run({ run_id: 'p', collector: 'promfleet', cpu_us_per_sample: 1.81, delivery_ratio: 1.0001 }),
        run({ run_id: 'v', collector: 'vmagent', cpu_us_per_sample: 1.8 }),
      ],
      [split('p', { worker_rss_steady_bytes: series * 1024, master_rss_steady_bytes: series * 205, worker_scrapes_after_warmup: { success: 2999, failure: 1 } })],
    );
    expect(Object.fromEntries(Object.entries(checks).map(([goal, [, met]]) => [goal, met]))).toEqual({
      'CPU per sample ≤ vmagent\u2019s': false,
      'worker RSS per series < 1 KB': false,
      'master + worker RSS per series < 1.2 KB': false,
      'delivery 1.0000': false,
      'no skipped or failed scrape after the warm-up': false,
    });
  });

  it('says what was not measured: no vmagent, no per-process split', () => {
    const checks = check([run({ run_id: 'p', collector: 'promfleet', cpu_us_per_sample: 3, scrapes: null })], []);
    expect(checks['CPU per sample ≤ vmagent\u2019s']).toEqual(['3.00 µs; vmagent not run', undefined]);
    expect(checks['worker RSS per series < 1 KB']).toEqual(['no per-process split', undefined]);
    expect(checks['no skipped or failed scrape after the warm-up']).toEqual(['not queried', undefined]);
  });

  it('is printed as a table under the ratios', () => {
    const markdown = peersMarkdown({
      runs: [run({ run_id: 'p', collector: 'promfleet', cpu_us_per_sample: 3.6 }), run({ run_id: 'v', collector: 'vmagent', cpu_us_per_sample: 1.8 })],
      splits: [split('p', {})],
      promfleet: ['promfleet'],
    });
    expect(markdown).toContain('| promfleet | 200 × 927 (node) @ 5s | CPU per sample ≤ vmagent\u2019s | 3.60 µs vs 1.80 µs (2.00×); worker alone 1.50 µs | **not met** |');
    expect(markdown).toContain('| promfleet | 200 × 927 (node) @ 5s | worker RSS per series < 1 KB | 900 B (159 MiB) | met |');
    expect(markdown).toContain('| 1,100 | 0 |');
  });
});

describe('peersChart', () => {
  it('draws a group per scale with promfleet, its worker alone and each peer, and the memory goals', () => {
    const ksm = { payload: 'ksm', targets: 50, series_per_target: 10_000 } as const;
    const runs = [
      run({ run_id: 'p1', collector: 'promfleet', cpu_us_per_sample: 3.6 }),
      run({ run_id: 'v1', collector: 'vmagent', cpu_us_per_sample: 1.8, bytes_per_series: 400, collector_version: '1.79.5' }),
      run({ run_id: 'v2', collector: 'vmagent', cpu_us_per_sample: 3.1, bytes_per_series: 300, ...ksm }),
    ];
    const splits: ProcessSplit[] = [
      { run_id: 'p1', worker_cpu_s: 6.6744, master_cpu_s: 0.1, worker_rss_steady_bytes: 185_400 * 900, master_rss_steady_bytes: 185_400 * 300, window_s: 60 },
    ];
    const chart = peersChart({ runs, splits, promfleet: ['promfleet', 'promfleet-rw2'], source: 'fixture' });
    expect(chart.series.map((s) => s.name)).toEqual(['promfleet (master + worker)', 'promfleet worker alone', 'vmagent']);
    const [cpu, bytes] = chart.panels;
    expect(cpu?.groups).toEqual([
      { label: '200 × 927 (node) @ 5s', values: [3.6, 3, 1.8] },
      { label: '50 × 10000 (ksm) @ 5s', values: [undefined, undefined, 3.1] },
    ]);
    expect(bytes?.groups[0]?.values).toEqual([1200, 900, 400]);
    expect(bytes?.references.map((r) => r.y)).toEqual([1228.8, 1024]);
    expect(chart.footnotes.join('\n')).toContain('vmagent 1.79.5');
    expect(chart.footnotes[0]).toContain('fixture');
    expect(chart.title).toBe('Worker benchmark: CPU per sample and memory per series, beside vmagent');
    const withAgent = peersChart({ runs: [...runs, run({ run_id: 'a1', collector: 'prom-agent' })], splits, promfleet: ['promfleet'], source: 'fixture' });
    expect(withAgent.title).toBe('Worker benchmark: CPU per sample and memory per series, beside vmagent and Prometheus (agent)');
  });
});

/**
 * Recorded harness results, trimmed to the fields the report reads: 2 interleaved repeats of promfleet,
 * promfleet-rw2 and vmagent at s1 (2026-12-07, before #13), and the s3 validation run of promfleet and vmagent, with
 * promfleet's per-process split (`peers-report.fixture.jsonl.split.jsonl`). The host was loaded by other work in
 * both (others' cores 0.7–1.4), so the figures are not the benchmark's; the arithmetic on them is.
 */
function recorded<T>(file: string): T[] {
  return readFileSync(new URL(file, import.meta.url), 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as T);
}

describe('a recorded results file', () => {
  const runs = recorded<HarnessRun>('./peers-report.fixture.jsonl');
  const splits = recorded<ProcessSplit>('./peers-report.fixture.jsonl.split.jsonl');
  const promfleet = ['promfleet', 'promfleet-rw2', 'promfleet-nometa'];
  const s1 = '200 × 927 (node) @ 5s';
  const s3 = '600 × 927 (node) @ 15s';

  it('gives the goals of each variant at each scale, with their figures', () => {
    const markdown = peersMarkdown({ runs, splits, promfleet });
    for (const row of [
      `| promfleet | ${s1} | CPU per sample ≤ vmagent\u2019s | 8.59 µs vs 3.03 µs (2.83×); worker alone 8.34 µs | **not met** |`,
      `| promfleet | ${s1} | worker RSS per series < 1 KB | 2,150 B (380 MiB) | **not met** |`,
      `| promfleet | ${s1} | master + worker RSS per series < 1.2 KB | 2,896 B (master 132 MiB) | **not met** |`,
      `| promfleet | ${s1} | delivery 1.0000 | 1.0000–1.0000 over 2 run(s) | met |`,
      `| promfleet | ${s1} | no skipped or failed scrape after the warm-up | missed 0, failed 0 of 2,400 per window (\`up\` at the receiver) | met |`,
      `| promfleet | ${s3} | CPU per sample ≤ vmagent\u2019s | 6.76 µs vs 2.55 µs (2.65×); worker alone 6.63 µs | **not met** |`,
      `| promfleet | ${s3} | worker RSS per series < 1 KB | 1,175 B (623 MiB) | **not met** |`,
      `| promfleet | ${s3} | master + worker RSS per series < 1.2 KB | 1,402 B (master 120 MiB) | **not met** |`,
      `| promfleet | ${s3} | no skipped or failed scrape after the warm-up | missed 0, failed 0 of 3,600 per window (\`up\` at the receiver); worker\u2019s counter: 0 failed after the warm-up | met |`,
      `| promfleet-rw2 | ${s1} | CPU per sample ≤ vmagent\u2019s | 10.01 µs vs 3.03 µs (3.30×); worker alone 9.67 µs | **not met** |`,
    ]) {
      expect(markdown).toContain(row);
    }
    expect(markdown).not.toContain('| promfleet-nometa |');
  });

  it('plots the same medians, a group per scale, and the same bytes every time', () => {
    const chart = peersChart({ runs, splits, promfleet, source: 'peers-report.fixture.jsonl' });
    expect(chart.series.map((s) => s.name)).toEqual([
      'promfleet (master + worker)',
      'promfleet worker alone',
      'promfleet-rw2 (master + worker)',
      'promfleet-rw2 worker alone',
      'vmagent',
    ]);
    const [cpu, bytes] = chart.panels;
    expect(cpu?.groups.map((g) => [g.label, g.values.map((v) => (v === undefined ? v : Number(v.toFixed(2))))])).toEqual([
      [s1, [8.59, 8.34, 10.01, 9.67, 3.03]],
      [s3, [6.76, 6.63, undefined, undefined, 2.55]],
    ]);
    expect(bytes?.groups.map((g) => g.values.map((v) => (v === undefined ? v : Math.round(v))))).toEqual([
      [2896, 2150, 3265, 2626, 416],
      [1402, 1175, undefined, undefined, 271],
    ]);
    const svg = renderBarChart(chart);
    expect(svg).toContain('>2,896<');
    expect(renderBarChart(peersChart({ runs, splits, promfleet, source: 'peers-report.fixture.jsonl' }))).toBe(svg);
  });
});
