import { describe, expect, it } from '@jest/globals';
import { peersMarkdown, ratio, scaleOf, summarizeCells, summarizeSplits, type HarnessRun, type ProcessSplit } from './peers-report.js';

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
