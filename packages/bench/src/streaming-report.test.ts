import { describe, expect, it } from '@jest/globals';
import {
  compareLinks,
  comparisonMarkdown,
  latencySummary,
  linkName,
  ownershipProblems,
  streamingMarkdown,
  type AddPhase,
  type MasterCost,
  type StreamingSummary,
} from './streaming-report.js';

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
    loadAverage: { atStart: 2.5, atEnd: 3 },
    link: { mutualTls: false, token: false },
    workerProcesses: 2,
    graceMs: 1_000,
    start: {
      workers: 10,
      targets: 1_000,
      connectMs: 100,
      connect: { masterCpuSeconds: 0.2, workersCpuSeconds: 0.3, masterBytesWritten: 10 * 1024, masterRssBytes: 90 * 1024 * 1024, refused: 0 },
      settleMs: 300,
      allAckedMs: 500,
      applied: latencySummary([400, 500]),
      master: cost,
      workersCpuSeconds: 0.8,
      rssBytes: 100 * 1024 * 1024,
      workerProcessRssBytes: [50 * 1024 * 1024, 60 * 1024 * 1024],
    },
    idle: { seconds: 5, cpuSeconds: 0.1, bytesWritten: 2_048, workersCpuSeconds: 0.05 },
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

  it('states the link, the load average and what connecting cost', () => {
    const text = streamingMarkdown(summary({ link: { mutualTls: true, token: true } }));
    expect(text).toContain('Fleet link: mutual TLS (the master’s certificate and client CA; one client certificate shared by every worker), a bearer token on every stream.');
    expect(text).toContain('load average (1 min) 2.5 at the start, 3.0 at the end');
    expect(text).toContain('| connecting: master CPU (s) / workers\' processes CPU (s) | 0.20 / 0.30 |');
    expect(text).toContain('| connecting: master bytes written (wchar) / streams refused | 10 KiB / 0 |');
    expect(text).toContain('| workers\' processes CPU (s) | 0.80 |');
    expect(text).toContain('| workers\' processes CPU (s) | 0.05 |');
    expect(streamingMarkdown(summary({}))).toContain('Fleet link: plaintext (no TLS, no token).');
  });

  it('lists the problems the ownership checks found instead of the all-clear', () => {
    const text = streamingMarkdown(summary({ problems: ['after start: workers hold 2 distinct targets, the fleet has 3'] }));
    expect(text).toContain('Problems:\n- after start: workers hold 2 distinct targets, the fleet has 3');
    expect(text).not.toContain('every target held by exactly one worker');
  });
});

/** A run of `link` whose start and idle cost the given CPU seconds; the rest as {@link summary}. */
function linkRun(options: { tls: boolean; token?: boolean; connectCpu: number; snapshotCpu: number; workersConnectCpu?: number | undefined; idleCpu: number; rssMiB: number; connectMs: number }): StreamingSummary {
  const base = summary({});
  return summary({
    link: { mutualTls: options.tls, token: options.token ?? false },
    start: {
      ...base.start,
      workers: 1_000,
      connectMs: options.connectMs,
      connect: { ...base.start.connect, masterCpuSeconds: options.connectCpu, workersCpuSeconds: options.workersConnectCpu },
      master: { ...cost, cpuSeconds: options.snapshotCpu },
      rssBytes: options.rssMiB * 1024 * 1024,
    },
    idle: { ...base.idle, cpuSeconds: options.idleCpu },
  });
}

describe('linkName', () => {
  it.each<[boolean, boolean, string]>([
    [false, false, 'plaintext'],
    [true, false, 'mutual TLS'],
    [true, true, 'mutual TLS + token'],
    [false, true, 'plaintext + token'],
  ])('mutual TLS %s, token %s: %s', (mutualTls, token, expected) => {
    expect(linkName({ mutualTls, token })).toBe(expected);
  });
});

describe('compareLinks', () => {
  // In the order they ran: plain, TLS, TLS, plain.
  const runs = [
    linkRun({ tls: false, connectCpu: 0.5, snapshotCpu: 1.5, workersConnectCpu: 1, idleCpu: 0.1, rssMiB: 400, connectMs: 1_000 }),
    linkRun({ tls: true, connectCpu: 2.5, snapshotCpu: 2, workersConnectCpu: 4, idleCpu: 0.15, rssMiB: 450, connectMs: 2_000 }),
    linkRun({ tls: true, connectCpu: 3.5, snapshotCpu: 2, workersConnectCpu: 5, idleCpu: 0.2, rssMiB: 460, connectMs: 3_000 }),
    linkRun({ tls: false, connectCpu: 0.5, snapshotCpu: 1.5, workersConnectCpu: undefined, idleCpu: 0.1, rssMiB: 410, connectMs: 1_000 }),
  ];

  it('pairs the nth plaintext run with the nth secured one, in the order they ran', () => {
    const c = compareLinks(runs);
    expect(c.pairs).toEqual([
      { plain: 0, secured: 1 },
      { plain: 3, secured: 2 },
    ]);
    expect(c.secured).toEqual({ mutualTls: true, token: false });
    expect(c.workers).toBe(1_000);
  });

  it('gives each measure per pair, the ratios per pair and the ratio of the means', () => {
    const c = compareLinks(runs);
    const connect = c.measures.find((m) => m.label === 'connecting: master CPU (s)');
    expect(connect?.plain).toEqual([0.5, 0.5]);
    expect(connect?.secured).toEqual([2.5, 3.5]);
    expect(connect?.pairRatios).toEqual([5, 7]);
    expect(connect?.ratio).toBe(6);
    const whole = c.measures.find((m) => m.label === '**whole start: master CPU (s)**');
    expect(whole?.plain).toEqual([2, 2]);
    expect(whole?.ratio).toBeCloseTo(5 / 2);
  });

  it('divides what the secured link adds by the workers: the handshake CPU per worker', () => {
    const c = compareLinks(runs);
    const perWorker = (label: string) => c.perWorker.find((p) => p.label.includes(label));
    // (2.5 − 0.5) s and (3.5 − 0.5) s over 1,000 workers: 2 and 3 ms.
    expect(perWorker('master CPU per worker, connecting')?.pairs).toEqual([2, 3]);
    expect(perWorker('master CPU per worker, connecting')?.mean).toBe(2.5);
    expect(perWorker('master CPU per worker, whole start')?.pairs.map((v) => v?.toFixed(3))).toEqual(['2.500', '3.500']);
    // The second plaintext run could not read the workers' CPU: that pair has no value, and so has the mean.
    expect(perWorker('worker CPU per worker, connecting')?.pairs).toEqual([3, undefined]);
    expect(perWorker('worker CPU per worker, connecting')?.mean).toBeUndefined();
    expect(perWorker('master RSS per worker after')?.pairs).toEqual([51.2, 51.2]);
    expect(perWorker('master RSS per worker once all welcomed')?.pairs).toEqual([0, 0]);
    // 0.05 s and 0.1 s more over 5 s and 1,000 workers: 10 and 20 µs per worker-second.
    expect(perWorker('idle second')?.pairs.map((v) => v?.toFixed(1))).toEqual(['10.0', '20.0']);
  });

  it.each<[string, StreamingSummary[]]>([
    ['no runs', []],
    ['plaintext only', [runs[0] as StreamingSummary]],
    ['more secured runs than plaintext ones', [runs[0], runs[1], runs[2]] as StreamingSummary[]],
    ['secured runs with different links', [runs[0], runs[1], linkRun({ tls: true, token: true, connectCpu: 1, snapshotCpu: 1, idleCpu: 0, rssMiB: 1, connectMs: 1 }), runs[3]] as StreamingSummary[]],
    ['runs of different fleets', [runs[0], summary({ link: { mutualTls: true, token: false } })] as StreamingSummary[]],
  ])('refuses %s', (_, given) => {
    expect(() => compareLinks(given)).toThrow();
  });
});

describe('comparisonMarkdown', () => {
  const runs = [
    linkRun({ tls: false, connectCpu: 0.5, snapshotCpu: 1.5, workersConnectCpu: 1, idleCpu: 0.1, rssMiB: 400, connectMs: 1_000 }),
    linkRun({ tls: true, connectCpu: 2.5, snapshotCpu: 2, workersConnectCpu: 4, idleCpu: 0.15, rssMiB: 450, connectMs: 2_000 }),
  ];
  const text = comparisonMarkdown({ command: 'node dist/streaming.js --tls compare', startedAt: '2026-01-01T00:00:00.000Z', wallSeconds: 80, comparison: compareLinks(runs), runs });

  it('puts each measure in a row: plaintext, TLS, the ratios', () => {
    expect(text).toContain('in this order: plaintext, mutual TLS. Load average (1 min) at each run\'s start: 2.5, 2.5.');
    expect(text).toContain('| measure | plaintext (run 1) | mutual TLS (run 2) | ratio per pair | **ratio of means** |');
    expect(text).toContain('| connecting: master CPU (s) | 0.50 | 2.50 | 5.00× | **5.00×** |');
    expect(text).toContain('| clients started → all welcomed (ms) | 1,000 | 2,000 | 2.00× | **2.00×** |');
  });

  it('gives the per-worker costs, then each run a heading level down', () => {
    expect(text).toContain('### What mutual TLS adds per worker: (mutual TLS − plaintext) ÷ 1,000 workers');
    expect(text).toContain('| **master CPU per worker, connecting: the handshake (ms)** | 2.00 | **2.00** |');
    expect(text).toContain('### Run 2 of 2: mutual TLS');
    expect(text).toContain('#### Fleet start: 1,000 workers');
    expect(text).not.toMatch(/^### Fleet start/m);
    expect(text).toContain('every target held by exactly one worker');
  });
});
