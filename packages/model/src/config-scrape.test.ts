import { describe, expect, it } from '@jest/globals';
import type { ScrapeConfig } from './config.js';
import { errors, job, y } from './config-fixtures.js';

describe('inheritance from global (ScrapeConfig.Validate)', () => {
  const withGlobal = (global: string[], own: string[]): ScrapeConfig =>
    job(y('global:', ...global.map((l) => `  ${l}`), 'scrape_configs:', '  - job_name: a', ...own.map((l) => `    ${l}`)));

  it.each([
    ['nothing set', { global: [], own: [] }, [60_000, 10_000]],
    ['global interval and timeout', { global: ['scrape_interval: 30s', 'scrape_timeout: 5s'], own: [] }, [30_000, 5000]],
    ['a global interval below the default timeout', { global: ['scrape_interval: 5s'], own: [] }, [5000, 5000]],
    ['a job interval below the global timeout', { global: ['scrape_timeout: 20s'], own: ['scrape_interval: 15s'] }, [15_000, 15_000]],
    ['an own timeout', { global: [], own: ['scrape_interval: 15s', 'scrape_timeout: 15s'] }, [15_000, 15_000]],
    ['an explicit 0, as unset', { global: ['scrape_interval: 20s'], own: ['scrape_interval: 0', 'scrape_timeout: 0s'] }, [20_000, 10_000]],
  ])('%s', (_name, { global, own }, [interval, timeout]) => {
    expect(withGlobal(global, own)).toMatchObject({ scrapeIntervalMs: interval, scrapeTimeoutMs: timeout });
  });

  it('inherits every limit left at 0 and keeps the ones a job sets', () => {
    const limits = ['body_size_limit: 1MB', 'sample_limit: 10', 'target_limit: 11', 'label_limit: 12'];
    const more = ['label_name_length_limit: 13', 'label_value_length_limit: 14', 'keep_dropped_targets: 15'];
    expect(withGlobal([...limits, ...more], ['sample_limit: 99', 'target_limit: 0'])).toMatchObject({
      bodySizeLimitBytes: 1_048_576,
      sampleLimit: 99,
      targetLimit: 11,
      labelLimit: 12,
      labelNameLengthLimit: 13,
      labelValueLengthLimit: 14,
      keepDroppedTargets: 15,
    });
  });

  it.each([
    ['the default list', { global: [], own: [] }, ['OpenMetricsText1.0.0', 'OpenMetricsText0.0.1', 'PrometheusText1.0.0', 'PrometheusText0.0.4']],
    ['proto first for native histograms', { global: [], own: ['scrape_native_histograms: true'] }, ['PrometheusProto', 'OpenMetricsText1.0.0']],
    [
      'the global list over native histograms',
      { global: ['scrape_protocols: [PrometheusText0.0.4]'], own: ['scrape_native_histograms: true'] },
      ['PrometheusText0.0.4'],
    ],
    ['the own list', { global: ['scrape_protocols: [PrometheusText0.0.4]'], own: ['scrape_protocols: [OpenMetricsText1.0.0]'] }, ['OpenMetricsText1.0.0']],
  ])('scrape_protocols: %s', (_name, { global, own }, expected) => {
    expect(withGlobal(global, own).scrapeProtocols.slice(0, expected.length)).toEqual(expected);
  });

  it.each([
    ['all default', { global: [], own: [] }, ['utf8', 'allow-utf-8']],
    ['global legacy', { global: ['metric_name_validation_scheme: legacy'], own: [] }, ['legacy', 'underscores']],
    ['global escaping', { global: ['metric_name_escaping_scheme: dots'], own: [] }, ['utf8', 'dots']],
    [
      'own legacy under global allow-utf-8',
      { global: ['metric_name_escaping_scheme: allow-utf-8'], own: ['metric_name_validation_scheme: legacy'] },
      ['legacy', 'underscores'],
    ],
    [
      'own utf8 under global legacy',
      { global: ['metric_name_validation_scheme: legacy'], own: ['metric_name_validation_scheme: utf8'] },
      ['utf8', 'allow-utf-8'],
    ],
    ['own escaping', { global: [], own: ['metric_name_escaping_scheme: values'] }, ['utf8', 'values']],
  ])('name validation and escaping: %s', (_name, { global, own }, [validation, escaping]) => {
    expect(withGlobal(global, own)).toMatchObject({ metricNameValidationScheme: validation, metricNameEscapingScheme: escaping });
  });

  it('validates relabel rules with the job scheme and remote write rules with the global one', () => {
    const rule = ['    relabel_configs:', '      - {target_label: a.b, replacement: x}'];
    expect(errors(y('scrape_configs:', '  - job_name: a', ...rule))).toEqual([]);
    expect(errors(y('scrape_configs:', '  - job_name: a', '    metric_name_validation_scheme: legacy', ...rule))).toEqual([
      expect.stringMatching(/^p\.yml:5: scrape_configs\[0\]\.relabel_configs\[0\]\.target_label: "a\.b" is an invalid "target_label"/),
    ]);
    const rw = ['remote_write:', '  - url: http://x/api/v1/write', '    write_relabel_configs:', '      - {target_label: a.b, replacement: x}'];
    expect(errors(y('global:', '  metric_name_validation_scheme: legacy', ...rw))).toHaveLength(1);
  });
});
