/**
 * The remote-write receiver of the worker's tests: @promfleet/testkit's recording receiver (1.0 and 2.0, scripted
 * answers) under the names these tests use, and an endpoint config for it.
 */
import type { HttpClientConfig, RemoteWriteConfig } from '@promfleet/model';
import type { WriteRequest } from '@promfleet/protocol';
import {
  startRemoteWriteReceiver,
  type ReceivedRequest,
  type ReceivedSample,
  type ReceiverAnswer,
  type RemoteWriteReceiver,
  type RemoteWriteReceiverOptions,
} from '@promfleet/testkit';
import { httpConfig } from '../http-fixtures.js';

export type { ReceivedRequest, ReceivedSample };
export type ScriptedAnswer = ReceiverAnswer;
export type ReceiverOptions = RemoteWriteReceiverOptions;
export type TestReceiver = RemoteWriteReceiver;

/** Starts a receiver on 127.0.0.1, at a free port unless `options.port` names one. */
export function startReceiver(options?: ReceiverOptions): Promise<TestReceiver> {
  return startRemoteWriteReceiver(options);
}

/** Every sample of a 1.0 `request`, with its series' labels (`name=value` pairs in wire order, joined by commas). */
export function samplesOf(request: WriteRequest | undefined): ReceivedSample[] {
  return (request?.timeseries ?? []).flatMap((ts) => {
    const labels = ts.labels.map((l) => `${l.name}=${l.value}`).join(',');
    return ts.samples.map((s) => ({ labels, value: s.value, timestampMs: s.timestamp }));
  });
}

/** What {@link remoteWriteConfig} may change. */
export interface RemoteWriteOverrides {
  readonly queue?: Partial<RemoteWriteConfig['queueConfig']>;
  readonly httpClient?: Partial<HttpClientConfig>;
  readonly config?: Partial<Omit<RemoteWriteConfig, 'queueConfig' | 'httpClient'>>;
}

/**
 * A `remote_write` entry for `url` named `test`, with Prometheus' defaults but for timings short enough for tests:
 * a 20 ms batch deadline, backoff from 5 to 50 ms, a 5 s remote timeout.
 */
export function remoteWriteConfig(url: string, overrides: RemoteWriteOverrides = {}): RemoteWriteConfig {
  return {
    url,
    name: 'test',
    remoteTimeoutMs: 5_000,
    headers: new Map(),
    writeRelabelConfigs: [],
    sendExemplars: false,
    sendNativeHistograms: false,
    roundRobinDns: false,
    protobufMessage: 'prometheus.WriteRequest',
    metadataConfig: { send: false, sendIntervalMs: 0, maxSamplesPerSend: 0 },
    source: { file: '', line: 0 },
    ...overrides.config,
    queueConfig: {
      capacity: 10_000,
      maxShards: 50,
      minShards: 1,
      maxSamplesPerSend: 2000,
      batchSendDeadlineMs: 20,
      minBackoffMs: 5,
      maxBackoffMs: 50,
      retryOnHttp429: false,
      sampleAgeLimitMs: 0,
      ...overrides.queue,
    },
    httpClient: httpConfig({ enableHttp2: false, ...overrides.httpClient }),
  };
}
