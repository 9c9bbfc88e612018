import { describe, expect, it } from '@jest/globals';
import { checkSelfMetrics } from './promtool.js';

describe('checkSelfMetrics', () => {
  it('passes a clean exposition', async () => {
    const clean = '# HELP promfleet_up_total Ups.\n# TYPE promfleet_up_total counter\npromfleet_up_total{scrape_job="a",watch_namespace="x"} 1\n';
    expect(await checkSelfMetrics(clean)).toEqual({ code: 0, output: '' });
  });

  it('fails on a gauge named like a counter, as prom-client\u2019s nodejs_active_handles_total', async () => {
    const r = await checkSelfMetrics('# HELP nodejs_active_handles_total Handles.\n# TYPE nodejs_active_handles_total gauge\nnodejs_active_handles_total 3\n');
    expect(r.code).not.toBe(0);
    expect(r.output).toContain('nodejs_active_handles_total non-counter metrics should not have "_total" suffix');
  });

  it('fails on a label that clashes with a target label, wherever it is in the label set', async () => {
    const exposition = '# HELP promfleet_x Xs.\n# TYPE promfleet_x gauge\npromfleet_x{state="a,job=\\"b\\"",namespace="n"} 1\npromfleet_x{job="j"} 2\n';
    expect(await checkSelfMetrics(exposition)).toEqual({
      code: 3,
      output: 'promfleet_x label "namespace" clashes with a target label once scraped\npromfleet_x label "job" clashes with a target label once scraped\n',
    });
  });
});
