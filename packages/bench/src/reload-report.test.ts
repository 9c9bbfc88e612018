import { describe, expect, it } from '@jest/globals';
import type { RequestCount } from '@promfleet/testkit';
import { listsAndWatches, reloadCpuSeconds, reloadMarkdown, reloadTable, type ReloadMeasure, type ReloadSummary } from './reload-report.js';

const request = (verb: RequestCount['verb'], resource: string, count: number): RequestCount => ({ userAgent: 'x', verb, resource, count });

function measure(overrides: Partial<ReloadMeasure>): ReloadMeasure {
  return { completeMs: 400, cpuSeconds: 0.5, requests: [], changedJobTargets: 1_050, labelled: 1_050, unchangedRecreated: 0, ...overrides };
}

function summary(overrides: Partial<ReloadSummary>): ReloadSummary {
  return {
    machine: { cpus: 2, cpuModel: 'test', node: 'v20', vmagent: 'vmagent' },
    command: 'node dist/reload.js',
    cluster: { pods: 20_000, nodes: 1_000, services: 85, endpointSlices: 250 },
    targets: 27_000,
    changedJob: 'kubernetes-service-endpoints',
    promfleet: [measure({ completeMs: 300 }), measure({ completeMs: 500 })],
    vmagent: [measure({ completeMs: 1_000, cpuSeconds: 1, requests: [request('list', 'pods', 1), request('watch', 'pods', 1)] })],
    skipped: [],
    ...overrides,
  };
}

describe('reloadCpuSeconds', () => {
  it('subtracts the idle rate over the window from the window CPU', () => {
    expect(reloadCpuSeconds({ cpuSeconds: 0.2, ms: 10_000 }, { cpuSeconds: 1.1, ms: 5_000 })).toBeCloseTo(1.0);
  });

  it('rejects an empty idle window', () => {
    expect(() => reloadCpuSeconds({ cpuSeconds: 0, ms: 0 }, { cpuSeconds: 1, ms: 1 })).toThrow(/idle window/);
  });
});

describe('listsAndWatches', () => {
  it('counts lists and watches, and nothing else', () => {
    expect(listsAndWatches([request('list', 'pods', 2), request('watch', 'pods', 1), request('watch', 'nodes', 3), request('get', 'version', 4)])).toEqual({ lists: 2, watches: 4 });
  });
});

describe('reloadTable', () => {
  it('shows medians, and the ratio promfleet ÷ vmagent', () => {
    const table = reloadTable(summary({}));
    expect(table).toContain('| reload → new target set complete (ms) | 400 | 1,000 | 0.40 |');
    expect(table).toContain('| CPU spent by the reload (s) | 0.50 | 1.00 | 0.50 |');
    expect(table).toContain('| API requests: LIST | 0 | 1 | 0.00 |');
    expect(table).toContain('| targets of the changed job (kubernetes-service-endpoints) | 1,050 | 1,050 | 1.00 |');
    expect(table).toContain('| targets of unchanged jobs re-created | 0 | 0 | – |');
  });

  it('shows a dash for what was never observed', () => {
    const table = reloadTable(summary({ vmagent: [measure({ completeMs: undefined, labelled: undefined })] }));
    expect(table).toContain('| reload → new target set complete (ms) | 400 | – | – |');
    expect(table).toContain('| … of them with the added label | 1,050 | – | – |');
  });
});

describe('reloadMarkdown', () => {
  it('names the cluster, the run count and the command, and lists what was skipped', () => {
    const text = reloadMarkdown(summary({ vmagent: [], skipped: ['run 1: vmagent: spawn ENOENT'] }));
    expect(text).toContain('**Reload: 20,000 pods, 1,000 nodes**, 85 Services, 250 EndpointSlices, 27,000 targets; medians of 2 promfleet and 0 vmagent runs (`node dist/reload.js`)');
    expect(text).toContain('- run 1: vmagent: spawn ENOENT');
  });
});
