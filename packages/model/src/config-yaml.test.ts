import { describe, expect, it } from '@jest/globals';
import { job, load, y } from './config-fixtures.js';

describe("go-yaml v2's reading of scalars", () => {
  it('keeps the text of numbers and booleans in string fields, and resolves YAML 1.1 in typed ones', () => {
    const config = load(
      y(
        'global:',
        '  external_labels: {replica: 01, enabled: yes, version: 1.10, hex: 0x1F, nothing: ~, quoted: "007"}',
        'scrape_configs:',
        '  - job_name: 2024',
        '    honor_labels: yes',
        '    honor_timestamps: off',
        '    sample_limit: 1_000',
        '    label_limit: 2.9',
        '    params: {n: [1, true]}',
        '    static_configs:',
        '      - targets: [10.0.0.1:9100, 8080]',
        '        labels: {port: 9100, empty: }',
      ),
    );
    expect(config.global.externalLabels).toEqual(
      new Map([['replica', '01'], ['enabled', 'yes'], ['version', '1.10'], ['hex', '0x1F'], ['nothing', ''], ['quoted', '007']]),
    );
    expect(config.scrapeConfigs[0]).toMatchObject({
      jobName: '2024',
      honorLabels: true,
      honorTimestamps: false,
      sampleLimit: 1000,
      labelLimit: 2,
      params: new Map([['n', ['1', 'true']]]),
      staticConfigs: [{ targets: ['10.0.0.1:9100', '8080'], labels: new Map([['port', '9100'], ['empty', '']]) }],
    });
  });

  it('gives relabel rules the text too', () => {
    const [rule] = job(y('scrape_configs:', '  - job_name: a', '    relabel_configs:', '      - {target_label: x, replacement: 01, regex: 1.50}'))
      .relabelConfigs;
    expect([rule?.replacement, rule?.regex.source]).toEqual(['01', '1.50']);
  });

  it('resolves anchors, aliases and << merge keys', () => {
    const config = load(
      y(
        'scrape_configs:',
        '  - &base',
        '    job_name: a',
        '    scrape_interval: 30s',
        '    static_configs: &targets',
        '      - targets: [a:1]',
        '  - <<: *base',
        '    job_name: b',
        '    static_configs: *targets',
      ),
    );
    expect(config.scrapeConfigs.map((j) => [j.jobName, j.scrapeIntervalMs, j.staticConfigs[0]?.targets])).toEqual([
      ['a', 30_000, ['a:1']],
      ['b', 30_000, ['a:1']],
    ]);
  });

  it('keeps __proto__ as an ordinary label name', () => {
    const [sc] = job(y('scrape_configs:', '  - job_name: a', '    static_configs: [{targets: [a:1], labels: {__proto__: x}}]')).staticConfigs;
    expect([...(sc?.labels ?? [])]).toEqual([['__proto__', 'x']]);
  });
});
