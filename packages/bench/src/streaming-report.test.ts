import { describe, expect, it } from '@jest/globals';
import { latencySummary, ownershipProblems, streamingMarkdown, type AddPhase, type MasterCost, type StreamingSummary } from './streaming-report.js';

const cost: MasterCost = { cpuSeconds: 1.5, bytesWritten: 3 * 1024 * 1024, snapshots: 10, deltas: 20, ack: latencySummary([1, 2, 3]) };

function add(overrides: Partial<AddPhase>): AddPhase {
  return {
    label: 'steady',
    added: 100,
    latency: latencySummary([10, 20, 30]),
    buildMs: latencySummary([0.5]),
    updateMs: latencySummary([4]),
    updates: 10,
    allAckedMs: 40,
    master: cost,
    ...overrides,
  };
}

function summary(overrides: Partial<StreamingSummary>): StreamingSummary {
  return {
    machine: { cpus: 2, cpuModel: 'CPU', memoryBytes: 8 * 1024 ** 3, node: 'v20' },
    command: 'node dist/streaming.js --quick',
    startedAt: '2026-01-01T00:00:00.000Z',
    wallSeconds: 20,
    workerProcesses: 2,
    graceMs: 1_000,
    start: {
      workers: 10,
      targets: 1_000,
      connectMs: 100,
      settleMs: 300,
      allAckedMs: 500,
      applied: latencySummary([400, 500]),
      master: cost,
      rssBytes: 100 * 1024 * 1024,
      workerProcessRssBytes: [50 * 1024 * 1024, 60 * 1024 * 1024],
    },
    idle: { seconds: 5, cpuSeconds: 0.1, bytesWritten: 2_048 },
    adds: [add({}), add({ label: 'burst', latency: latencySummary([50, 70]) })],
    membership: [{ label: 'leave', moved: 100, idealMoved: 100, graceWaitMs: 1_001, allAckedMs: 20, master: cost }],
    problems: [],
    ...overrides,
  };
}

describe('latencySummary', () => {
  it.each<[string, number[], { count: number; p50Ms: number | undefined; p99Ms: number | undefined; maxMs: number | undefined }]>([
    ['no values', [], { count: 0, p50Ms: undefined, p99Ms: undefined, maxMs: undefined }],
    ['one value', [7], { count: 1, p50Ms: 7, p99Ms: 7, maxMs: 7 }],
    ['1..100 in any order', Array.from({ length: 100 }, (_, i) => 100 - i), { count: 100, p50Ms: 50, p99Ms: 99, maxMs: 100 }],
    ['1..1000', Array.from({ length: 1_000 }, (_, i) => i + 1), { count: 1_000, p50Ms: 500, p99Ms: 990, maxMs: 1_000 }],
  ])('%s', (_, values, expected) => {
    expect(latencySummary(values)).toEqual(expected);
  });
});

describe('ownershipProblems', () => {
  it.each<[string, string[][], number, string[]]>([
    ['every target held once, across processes', [['a', 'b'], ['c']], 3, []],
    ['a target held by two workers in different processes', [['a', 'b'], ['b', 'c']], 3, ['after x: 1 targets held by more than one worker']],
    ['a target nobody holds', [['a'], ['b']], 3, ['after x: workers hold 2 distinct targets, the fleet has 3']],
  ])('%s', (_, ids, targets, expected) => {
    const held = ids.map((list) => ({ byWorker: {}, ids: list }));
    expect(ownershipProblems({ held, targets, when: 'after x' })).toEqual(expected);
  });
});

describe('streamingMarkdown', () => {
  it('puts each add phase in a column with its latency percentiles, and sizes in KiB or MiB', () => {
    const text = streamingMarkdown(summary({}));
    expect(text).toContain('| measure | steady | burst |');
    expect(text).toContain('| **latency p50 / p99 / max (ms)** | **20 / 30 / 30** | **50 / 70 / 70** |');
    expect(text).toContain('| master bytes written (wchar) | 2 KiB |');
    expect(text).toContain('| master bytes written (wchar) | 3.0 MiB |');
    expect(text).toContain('| targets moved / ideal | 100 / 100 |');
    expect(text).toContain('10 workers in 2 processes');
    expect(text).toContain('every target held by exactly one worker');
  });

  it('lists the problems the ownership checks found instead of the all-clear', () => {
    const text = streamingMarkdown(summary({ problems: ['after start: workers hold 2 distinct targets, the fleet has 3'] }));
    expect(text).toContain('Problems:\n- after start: workers hold 2 distinct targets, the fleet has 3');
    expect(text).not.toContain('every target held by exactly one worker');
  });
});
