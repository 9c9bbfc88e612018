/**
 * Round trips of every fleet message kind with realistic content, and the forward-compatibility
 * properties the protocol relies on (see the conventions at the top of fleet.proto).
 */
import { describe, expect, it } from '@jest/globals';
import {
  MasterMessage,
  NameEscapingScheme,
  NameValidationScheme,
  RefusalReason,
  RelabelAction,
  RemovalReason,
  RemoteWriteProtocol,
  ScrapeProtocol,
  TlsVersion,
  WorkerMessage,
  labelsToProto,
  targetIdToBytes,
  type RemoteWriteEndpoint,
  type ScrapeJob,
  type Target,
} from './index.js';

const nodeTarget: Target = {
  id: targetIdToBytes('9f86d081884c7d65'),
  job: 'kubernetes-nodes',
  labels: labelsToProto(
    new Map([
      ['__address__', '10.1.2.3:10250'],
      ['__metrics_path__', '/metrics/cadvisor'],
      ['__param_collect[]', 'cpu'],
      ['__scheme__', 'https'],
      ['__scrape_interval__', '30s'],
      ['__scrape_timeout__', '10s'],
      ['instance', 'node-a'],
      ['job', 'kubernetes-nodes'],
      ['kubernetes_io_hostname', 'node-a'],
    ]),
  ),
  firstSlotUnixMs: 1_767_225_630_000,
  scrapeIntervalMs: 30_000,
  scrapeTimeoutMs: 10_000,
};

const podTarget: Target = {
  id: targetIdToBytes('00c0ffee00c0ffee'),
  job: 'kubernetes-pods',
  labels: labelsToProto(
    new Map([
      ['__address__', '10.244.1.17:8080'],
      ['__metrics_path__', '/metrics'],
      ['__scheme__', 'http'],
      ['__scrape_interval__', '15s'],
      ['__scrape_timeout__', '10s'],
      ['instance', '10.244.1.17:8080'],
      ['job', 'kubernetes-pods'],
      ['namespace', 'shop'],
      ['pod', 'checkout-7d9f8b6c5-x2x7q'],
    ]),
  ),
  firstSlotUnixMs: 0,
  scrapeIntervalMs: 15_000,
  scrapeTimeoutMs: 10_000,
};

const nodesJob: ScrapeJob = {
  name: 'kubernetes-nodes',
  scrapeIntervalMs: 30_000,
  scrapeTimeoutMs: 10_000,
  metricsPath: '/metrics/cadvisor',
  scheme: 'https',
  params: new Map([['collect[]', { values: ['cpu', 'memory'] }]]),
  honorLabels: true,
  honorTimestamps: false,
  trackTimestampsStaleness: true,
  sampleLimit: 50_000,
  labelLimit: 64,
  labelNameLengthLimit: 128,
  labelValueLengthLimit: 2048,
  bodySizeLimitBytes: 3 * 1024 * 1024 * 1024,
  scrapeProtocols: [
    ScrapeProtocol.OPENMETRICS_TEXT_1_0_0,
    ScrapeProtocol.OPENMETRICS_TEXT_0_0_1,
    ScrapeProtocol.PROMETHEUS_TEXT_1_0_0,
    ScrapeProtocol.PROMETHEUS_TEXT_0_0_4,
  ],
  fallbackScrapeProtocol: ScrapeProtocol.PROMETHEUS_TEXT_0_0_4,
  enableCompression: true,
  metricNameValidationScheme: NameValidationScheme.LEGACY,
  metricNameEscapingScheme: NameEscapingScheme.UNDERSCORES,
  metricRelabelConfigs: [
    {
      action: RelabelAction.DROP,
      sourceLabels: ['__name__'],
      separator: ';',
      regex: 'container_(network_tcp_usage_total|tasks_state)',
      modulus: 0,
      targetLabel: '',
      replacement: '$1',
    },
    {
      action: RelabelAction.HASHMOD,
      sourceLabels: ['pod', 'container'],
      separator: '',
      regex: '(.*)',
      modulus: 2 ** 40,
      targetLabel: '__tmp_shard',
      replacement: '',
    },
  ],
  httpClient: {
    authorization: {
      type: 'Bearer',
      credentials: '',
      credentialsFile: '/var/run/secrets/kubernetes.io/serviceaccount/token',
    },
    tls: {
      ca: '',
      caFile: '/var/run/secrets/kubernetes.io/serviceaccount/ca.crt',
      cert: '',
      certFile: '',
      key: '',
      keyFile: '',
      serverName: 'kubernetes.default.svc',
      insecureSkipVerify: false,
      minVersion: TlsVersion.TLS12,
      maxVersion: TlsVersion.UNSPECIFIED,
    },
    proxyUrl: '',
    noProxy: '',
    proxyFromEnvironment: false,
    followRedirects: true,
    enableHttp2: true,
    headers: new Map([['X-Scope', { values: ['cluster-a'], secrets: ['s3cr3t'], files: ['/etc/promfleet/tenant'] }]]),
  },
  forcedError: '',
};

const mimir: RemoteWriteEndpoint = {
  name: 'mimir',
  url: 'https://mimir.example.com/api/v1/push',
  remoteTimeoutMs: 30_000,
  headers: new Map([['X-Scope-OrgID', 'team-a']]),
  writeRelabelConfigs: [
    {
      action: RelabelAction.LABELDROP,
      sourceLabels: [],
      separator: ';',
      regex: 'pod_template_hash',
      modulus: 0,
      targetLabel: '',
      replacement: '$1',
    },
  ],
  queue: {
    capacity: 10_000,
    maxShards: 50,
    minShards: 1,
    maxSamplesPerSend: 2_000,
    batchSendDeadlineMs: 5_000,
    minBackoffMs: 30,
    maxBackoffMs: 5_000,
    retryOnHttp429: true,
    sampleAgeLimitMs: 0,
  },
  sendExemplars: true,
  httpClient: {
    basicAuth: { username: 'promfleet', usernameFile: '', password: 'hunter2', passwordFile: '' },
    proxyUrl: 'http://proxy.internal:3128',
    noProxy: '10.0.0.0/8,.cluster.local',
    proxyFromEnvironment: false,
    followRedirects: true,
    enableHttp2: false,
    headers: new Map(),
  },
  externalLabels: labelsToProto(new Map([['cluster', 'prod-eu-1'], ['replica', 'a']])),
  protocol: RemoteWriteProtocol.V2,
  metadata: { send: true, sendIntervalMs: 60_000, maxSamplesPerSend: 2_000 },
};

const workerMessages: [string, WorkerMessage][] = [
  [
    'hello from a worker that holds an assignment',
    WorkerMessage.fromPartial({
      kind: {
        $case: 'hello',
        hello: {
          workerId: 'promfleet-worker-5f7c9d8b7-abcde',
          softwareVersion: '0.1.0',
          protocolVersion: 1,
          heldGeneration: 4_321,
          heldTargets: [
            { id: nodeTarget.id, job: nodeTarget.job },
            { id: podTarget.id, job: podTarget.job },
          ],
        },
      },
    }),
  ],
  ['ack', WorkerMessage.fromPartial({ kind: { $case: 'ack', ack: { generation: 4_322 } } })],
  [
    'health report',
    WorkerMessage.fromPartial({
      kind: {
        $case: 'healthReport',
        healthReport: {
          generation: 4_322,
          targets: [
            {
              targetId: nodeTarget.id,
              lastScrapeUnixMs: 1_767_225_600_123,
              lastScrapeDurationSeconds: 0.137,
              samplesScraped: 4_812,
              samplesPostMetricRelabeling: 4_650,
              up: true,
              lastError: '',
            },
            {
              targetId: podTarget.id,
              lastScrapeUnixMs: 1_767_225_615_007,
              lastScrapeDurationSeconds: 10.000_4,
              samplesScraped: 0,
              samplesPostMetricRelabeling: 0,
              up: false,
              lastError: 'Get "http://10.244.1.17:8080/metrics": context deadline exceeded',
            },
          ],
        },
      },
    }),
  ],
  [
    'hello whose held targets continue in HeldTargets parts',
    WorkerMessage.fromPartial({
      kind: {
        $case: 'hello',
        hello: {
          workerId: 'promfleet-worker-5f7c9d8b7-abcde',
          softwareVersion: '0.1.0',
          protocolVersion: 1,
          heldGeneration: 4_321,
          heldTargets: [{ id: nodeTarget.id, job: nodeTarget.job }],
          heldTargetsContinued: true,
        },
      },
    }),
  ],
  [
    'held targets part',
    WorkerMessage.fromPartial({ kind: { $case: 'heldTargets', heldTargets: { targets: [{ id: podTarget.id, job: podTarget.job }], continued: false } } }),
  ],
  [
    'drain request',
    WorkerMessage.fromPartial({
      kind: { $case: 'drainRequest', drainRequest: { deadlineUnixMs: 1_767_225_660_000, reason: 'SIGTERM' } },
    }),
  ],
  [
    'heartbeat',
    WorkerMessage.fromPartial({ kind: { $case: 'heartbeat', heartbeat: { sequence: 17, sentUnixMs: 1_767_225_601_000 } } }),
  ],
];

const masterMessages: [string, MasterMessage][] = [
  [
    'welcome',
    MasterMessage.fromPartial({
      kind: {
        $case: 'welcome',
        welcome: {
          masterId: 'promfleet-master-0',
          leaderTerm: 7,
          protocolVersion: 1,
          heartbeatIntervalMs: 5_000,
          workerId: 'promfleet-worker-5f7c9d8b7-abcde',
          healthReportIntervalMs: 15_000,
          softwareVersion: '0.1.0',
        },
      },
    }),
  ],
  [
    'refusal',
    MasterMessage.fromPartial({
      kind: {
        $case: 'refusal',
        refusal: {
          reason: RefusalReason.PROTOCOL_VERSION_MISMATCH,
          message: 'worker speaks protocol 3; this master speaks 1..2',
          retryAfterMs: 30_000,
          leaderAddress: 'promfleet-master-1.promfleet:9095',
          minProtocolVersion: 1,
          maxProtocolVersion: 2,
        },
      },
    }),
  ],
  [
    'assignment snapshot',
    MasterMessage.fromPartial({
      kind: {
        $case: 'assignmentSnapshot',
        assignmentSnapshot: {
          generation: 4_322,
          jobs: [nodesJob],
          remoteWrite: [mimir],
          targets: [nodeTarget, podTarget],
          continued: true,
        },
      },
    }),
  ],
  [
    'assignment delta',
    MasterMessage.fromPartial({
      kind: {
        $case: 'assignmentDelta',
        assignmentDelta: {
          generation: 4_323,
          baseGeneration: 4_322,
          upsertedJobs: [nodesJob],
          removedJobs: ['kubernetes-services'],
          addedTargets: [podTarget],
          removedTargets: [
            { id: nodeTarget.id, reason: RemovalReason.MOVED, lastSlotUnixMs: 1_767_225_690_000 },
            { id: targetIdToBytes('0123456789abcdef'), reason: RemovalReason.GONE, lastSlotUnixMs: 0 },
          ],
        },
      },
    }),
  ],
  [
    'heartbeat',
    MasterMessage.fromPartial({ kind: { $case: 'heartbeat', heartbeat: { sequence: 1, sentUnixMs: 1_767_225_600_000 } } }),
  ],
];

describe('fleet messages', () => {
  it.each(workerMessages)('round-trip a worker %s', (_name, message) => {
    const bytes = WorkerMessage.encode(message).finish();
    expect(WorkerMessage.decode(bytes)).toEqual(message);
  });

  it.each(masterMessages)('round-trip a master %s', (_name, message) => {
    const bytes = MasterMessage.encode(message).finish();
    expect(MasterMessage.decode(bytes)).toEqual(message);
  });

  it('covers every message kind of both directions', () => {
    const kinds = (messages: [string, WorkerMessage | MasterMessage][]): (string | undefined)[] =>
      messages.map(([, m]) => m.kind?.$case);
    expect(kinds(workerMessages)).toEqual(['hello', 'ack', 'healthReport', 'hello', 'heldTargets', 'drainRequest', 'heartbeat']);
    expect(kinds(masterMessages)).toEqual([
      'welcome',
      'refusal',
      'assignmentSnapshot',
      'assignmentDelta',
      'heartbeat',
    ]);
  });
});

describe('forward compatibility', () => {
  it('decodes a message kind from a newer peer as no kind, which receivers ignore', () => {
    // WorkerMessage field 15 (not defined), length-delimited, carrying one byte.
    expect(WorkerMessage.decode(Uint8Array.of(0x7a, 1, 0)).kind).toBeUndefined();
  });

  it('skips unknown fields and keeps the known ones', () => {
    const hello = WorkerMessage.encode(
      WorkerMessage.fromPartial({ kind: { $case: 'hello', hello: { workerId: 'w-1', protocolVersion: 1 } } }),
    ).finish();
    // Append Hello field 99 (varint 1): the tag 99 << 3 = 792 is varint 0x98 0x06. The Hello is
    // the first field of the WorkerMessage, so grow its length prefix by the 3 added bytes.
    const extended = Uint8Array.of(0x0a, (hello[1] ?? 0) + 3, ...hello.subarray(2), 0x98, 0x06, 1);
    expect(WorkerMessage.decode(extended)).toEqual(WorkerMessage.decode(hello));
  });

  it('decodes an enum value from a newer peer as its number, for the receiver to reject', () => {
    // AssignmentDelta.removed_targets (6) with RemovedTarget.reason (2) = 9.
    const delta = Uint8Array.of(0x22, 4, 0x32, 2, 0x10, 9);
    const decoded = MasterMessage.decode(delta);
    expect(decoded.kind?.$case === 'assignmentDelta' && decoded.kind.assignmentDelta.removedTargets[0]?.reason).toBe(9);
    expect(Object.values(RemovalReason)).not.toContain(9);
  });

  it('carries 64-bit values up to 2^53 - 1 exactly', () => {
    const ack = WorkerMessage.fromPartial({ kind: { $case: 'ack', ack: { generation: Number.MAX_SAFE_INTEGER } } });
    expect(WorkerMessage.decode(WorkerMessage.encode(ack).finish())).toEqual(ack);
  });

  it('refuses to decode a 64-bit value that a JS number cannot hold exactly', () => {
    // Ack.generation (1) = 2^53 + 1, varint 0x81 0x80 0x80 0x80 0x80 0x80 0x80 0x10.
    const ack = Uint8Array.of(0x12, 9, 0x08, 0x81, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x10);
    expect(() => WorkerMessage.decode(ack)).toThrow(/MAX_SAFE_INTEGER/);
  });
});
