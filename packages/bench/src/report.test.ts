import { describe, expect, it } from '@jest/globals';
import type { RequestCount } from '@promfleet/testkit';
import type { ChurnResult, PromfleetRun } from './promfleet-run.js';
import { comparisonTable, markdownReport, medianOf, ratio, requestsTable, targetSetsReport, type Comparison, type Summary, type VmagentResult } from './report.js';

const requests = (rows: [verb: RequestCount['verb'], resource: string, count: number][]): RequestCount[] =>
  rows.map(([verb, resource, count]) => ({ userAgent: 'x', verb, resource, count }));

function ours(overrides: Partial<PromfleetRun>): PromfleetRun {
  return {
    spawnToFullSetMs: 2_000,
    fullSetMs: 1_500,
    cpuSecondsToFullSet: 3,
    targets: 100,
    jobs: [],
    heapHeldBytes: 1_000_000,
    heapBytesPerPod: 10_000,
    rssBytes: 200 * 2 ** 20,
    peakRssBytes: 210 * 2 ** 20,
    requests: requests([
      ['list', 'pods', 1],
      ['watch', 'pods', 1],
    ]),
    churn: undefined,
    encoding: 'protobuf',
    traffic: { startup: { responseBytes: 3 * 2 ** 20, listBytes: 2 * 2 ** 20, watchBytes: 2 ** 20, watchEvents: 10, watchByResource: {} }, churn: undefined },
    ...overrides,
  };
}

function theirs(overrides: Partial<VmagentResult>): VmagentResult {
  return {
    discoveredMs: 1_000,
    activeMs: 1_500,
    scrapeWorks: 100,
    activeScrapers: 100,
    cpuSeconds: 2,
    memory: { rssBytes: 100 * 2 ** 20, peakRssBytes: 100 * 2 ** 20 },
    expectedTargets: 100,
    traffic: { startup: { responseBytes: 6 * 2 ** 20, listBytes: 4 * 2 ** 20, watchBytes: 2 * 2 ** 20, watchEvents: 10, watchByResource: {} }, churn: undefined },
    requests: requests([
      ['list', 'pods', 1],
      ['watch', 'pods', 2],
    ]),
    ...overrides,
  };
}

const comparison = (promfleet: PromfleetRun[], vmagent: VmagentResult[]): Comparison => ({
  label: 'Scale',
  roles: ['pod'],
  cluster: { pods: 1000, nodes: 10, services: 5, endpointSlices: 7 },
  promfleet,
  vmagent,
  vmagentSkipped: undefined,
});

function row(markdown: string, label: string): string[] {
  const line = markdown.split('\n').find((l) => l.startsWith(`| ${label} |`));
  if (line === undefined) throw new Error(`no row ${label} in\n${markdown}`);
  return line.split('|').slice(2, -1).map((cell) => cell.trim());
}

describe('medianOf and ratio', () => {
  it('take the median over the runs that have the figure', () => {
    expect(medianOf([{ v: 3 }, { v: undefined }, { v: 1 }], (r) => r.v)).toBe(2);
    expect(medianOf([{ v: undefined }], (r) => r.v)).toBeUndefined();
  });

  it.each([
    [4, 2, 2],
    [1, 0, undefined],
    [undefined, 2, undefined],
    [3, undefined, undefined],
  ])('%s ÷ %s is %s', (a, b, expected) => {
    expect(ratio(a, b)).toBe(expected);
  });
});

describe('comparisonTable', () => {
  it('shows medians side by side with promfleet as a ratio of vmagent', () => {
    const table = comparisonTable(comparison([ours({ spawnToFullSetMs: 2_000 }), ours({ spawnToFullSetMs: 4_000 })], [theirs({}), theirs({ discoveredMs: 2_000 })]));
    expect(row(table, 'process start → full target set (s)')).toEqual(['3.00', '1.50', '2.00×']);
    expect(row(table, 'RSS holding the full set (MiB)')).toEqual(['200', '100', '2.00×']);
    expect(row(table, 'API requests (lists and watches)')).toEqual(['2', '3', '0.67×']);
  });

  it('leaves a dash where a discoverer has no figure, and omits churn rows without a churn window', () => {
    const table = comparisonTable(comparison([ours({})], [theirs({ discoveredMs: undefined })]));
    expect(row(table, 'process start → full target set (s)')).toEqual(['2.00', '–', '–']);
    expect(table).not.toContain('watch events');
  });

  it('adds the churn window, with the share of pod changes that had not reached the targets', () => {
    const latency = { count: 3, p50Ms: 500, p99Ms: 900 };
    const churn: ChurnResult = {
      eventsPerSecond: 500,
      seconds: 10,
      storeWrites: 5000,
      podWrites: 2500,
      watchEvents: 4000,
      bookmarks: 2,
      cpuMs: 2000,
      cpuMsPer1000Events: 500,
      rebuilt: latency,
      notified: latency,
      batch: latency,
      unmatchedWrites: 250,
    };
    const table = comparisonTable(comparison([ours({ churn })], [theirs({})]));
    expect(row(table, 'churn: watch events the master received in the window')).toEqual(['4,000', '–', '–']);
    expect(row(table, 'CPU per 1,000 watch events received (ms)')).toEqual(['500.0', '–', '–']);
    expect(row(table, 'pod changes not in the targets when the window closed (%)')).toEqual(['10.0', '–', '–']);
    expect(row(table, 'pod change → targets rebuilt, p99 (ms, changes that made it)')).toEqual(['900', '–', '–']);
  });
});

describe('requestsTable', () => {
  it('has one column per discoverer and comparison, a row per verb and resource, and totals', () => {
    const table = requestsTable([comparison([ours({})], [theirs({})])]);
    expect(table.split('\n')[0]).toBe('| request | promfleet, Scale | vmagent, Scale |');
    expect(row(table, 'list pods')).toEqual(['1', '1']);
    expect(row(table, 'watch pods')).toEqual(['1', '2']);
    expect(row(table, '**total**')).toEqual(['**2**', '**3**']);
  });

  it('shows a vmagent measurement shared by comparisons once', () => {
    const vm = theirs({});
    const json = { ...comparison([ours({ encoding: 'json' })], [vm]), label: 'Scale, json' };
    const protobuf = { ...comparison([ours({})], [vm]), label: 'Scale, protobuf' };
    expect(requestsTable([json, protobuf]).split('\n')[0]).toBe('| request | promfleet, Scale, json | vmagent, Scale, json | promfleet, Scale, protobuf |');
  });
});

describe('markdownReport', () => {
  it('names the machine, the command, every comparison and what was skipped', () => {
    const summary: Summary = {
      machine: { cpus: 2, cpuModel: 'Test CPU', memoryBytes: 8 * 1024 ** 3, node: 'v20.0.0', vmagent: '1.79.5' },
      command: 'node dist/discovery.js --pods 1000',
      startedAt: '2026-01-01T00:00:00.000Z',
      wallSeconds: 12,
      scale: { ...comparison([ours({})], []), vmagentSkipped: 'disabled with --vmagent none' },
      otherEncodings: [],
      jobs: [],
      skipped: ['Scale: runs 2..2 (time budget of 10 s spent)'],
    };
    const text = markdownReport(summary);
    expect(text).toContain('Machine: 2 × Test CPU, 8 GiB, Node v20.0.0, vmagent 1.79.5.');
    expect(text).toContain('`node dist/discovery.js --pods 1000`');
    expect(text).toContain('### Scale: 1,000 pods, 10 nodes, 5 services, 7 EndpointSlices (median of 1 run)');
    expect(text).toContain('vmagent not measured: disabled with --vmagent none');
    expect(text).toContain('- Scale: runs 2..2 (time budget of 10 s spent)');
  });
});

describe('targetSetsReport', () => {
  const job = (name: string, digest: string) => ({ job: name, role: 'pod', discovered: 5, targets: 4, dropped: 1, invalid: 0, digest });
  it('says a job built identical targets in every run of every encoding', () => {
    const json = comparison([ours({ encoding: 'json', jobs: [job('pods', 'a'.repeat(64))] })], []);
    const protobuf = comparison([ours({ encoding: 'protobuf', jobs: [job('pods', 'a'.repeat(64))] }), ours({ encoding: 'protobuf', jobs: [job('pods', 'a'.repeat(64))] })], []);
    expect(targetSetsReport([json, protobuf])).toContain('- pods: identical in json run 1, protobuf run 1, protobuf run 2 (4 targets, SHA-256 aaaaaaaaaaaaaaaa…)');
  });

  it('flags a job whose target sets differ, naming the runs of each', () => {
    const report = targetSetsReport([comparison([ours({ encoding: 'json', jobs: [job('pods', 'a'.repeat(64))] })], []), comparison([ours({ encoding: 'protobuf', jobs: [job('pods', 'b'.repeat(64))] })], [])]);
    expect(report).toContain('- pods: **DIFFERENT** — json run 1: 4 targets, aaaaaaaaaaaaaaaa…; protobuf run 1: 4 targets, bbbbbbbbbbbbbbbb…');
  });
});
