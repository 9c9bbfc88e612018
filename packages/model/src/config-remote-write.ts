/**
 * One `remote_write` entry (config.go `RemoteWriteConfig`, `DefaultRemoteWriteConfig`, `DefaultQueueConfig`,
 * `DefaultMetadataConfig`): where to send, how to queue, which series to relabel away, and how to authenticate.
 */
import type { NameValidationScheme } from './labels.js';
import type { RelabelRule } from './relabel.js';
import {
  anyMapping,
  bool,
  duration,
  goMap,
  goObject,
  int,
  isOneOf,
  isUrl,
  nonEmpty,
  relabelList,
  reporter,
  text,
  type SchemaOptions,
} from './config-decode.js';
import { redactedUrl } from './messages.js';
import { buildHttpClient, httpClientShape, reservedHttpHeaders, type HttpClientConfig } from './config-http.js';

/** The remote-write protobuf messages Prometheus 3 can send. */
export type RemoteWriteMessage = 'prometheus.WriteRequest' | 'io.prometheus.write.v2.Request';

/** `queue_config` with Prometheus' `DefaultQueueConfig` applied. */
export interface QueueConfig {
  readonly capacity: number;
  readonly maxShards: number;
  readonly minShards: number;
  readonly maxSamplesPerSend: number;
  readonly batchSendDeadlineMs: number;
  readonly minBackoffMs: number;
  readonly maxBackoffMs: number;
  readonly retryOnHttp429: boolean;
  /** 0 means samples of any age are sent. */
  readonly sampleAgeLimitMs: number;
}

/** `metadata_config` with Prometheus' `DefaultMetadataConfig` applied. */
export interface MetadataConfig {
  readonly send: boolean;
  readonly sendIntervalMs: number;
  readonly maxSamplesPerSend: number;
}

/** One `remote_write` entry with Prometheus' `DefaultRemoteWriteConfig` applied. */
export interface RemoteWriteConfig {
  /** An http or https URL; it may carry user info, so treat it as sensitive. */
  readonly url: string;
  /** "" when unset: Prometheus then names the queue by a config hash; label it by URL instead. */
  readonly name: string;
  readonly remoteTimeoutMs: number;
  readonly headers: ReadonlyMap<string, string>;
  readonly writeRelabelConfigs: readonly RelabelRule[];
  readonly sendExemplars: boolean;
  readonly sendNativeHistograms: boolean;
  readonly roundRobinDns: boolean;
  /** What the configuration asks for; promfleet sends `prometheus.WriteRequest` (a notice says so otherwise). */
  readonly protobufMessage: RemoteWriteMessage;
  readonly queueConfig: QueueConfig;
  readonly metadataConfig: MetadataConfig;
  /** `enable_http2` defaults to false here, unlike everywhere else (`DefaultRemoteWriteHTTPClientConfig`). */
  readonly httpClient: HttpClientConfig;
  readonly source: { readonly file: string; readonly line: number };
}

const remoteWriteMessages: readonly RemoteWriteMessage[] = [
  'prometheus.WriteRequest',
  'io.prometheus.write.v2.Request',
];
const defaultQueue: QueueConfig = {
  capacity: 10_000,
  maxShards: 50,
  minShards: 1,
  maxSamplesPerSend: 2000,
  batchSendDeadlineMs: 5000,
  minBackoffMs: 30,
  maxBackoffMs: 5000,
  retryOnHttp429: false,
  sampleAgeLimitMs: 0,
};
/** `DefaultMetadataConfig`: the code says 2000 samples per send although the documentation says 500. */
const defaultMetadata: MetadataConfig = { send: true, sendIntervalMs: 60_000, maxSamplesPerSend: 2000 };

/**
 * Headers remote write sets itself (config.go reservedHeaders): prometheus/common's reserved headers but for
 * `authorization`, which has its own message, and the scrape timeout header, which only scrapes send.
 */
const reservedRemoteWriteHeaders = new Set(
  [...reservedHttpHeaders].filter((name) => name !== 'authorization' && name !== 'x-prometheus-scrape-timeout-seconds'),
);

/** `RemoteWriteConfig.UnmarshalYAML` + `Validate`, with `DefaultRemoteWriteConfig`. */
export function remoteWriteSchema({ dir, scheme }: SchemaOptions & { scheme: NameValidationScheme }) {
  return goObject({
    url: text,
    remote_timeout: duration,
    headers: goMap(text),
    write_relabel_configs: relabelList(scheme),
    name: text,
    send_exemplars: bool,
    send_native_histograms: bool,
    round_robin_dns: bool,
    protobuf_message: text,
    queue_config: goObject({
      capacity: int,
      max_shards: int,
      min_shards: int,
      max_samples_per_send: int,
      batch_send_deadline: duration,
      min_backoff: duration,
      max_backoff: duration,
      retry_on_http_429: bool,
      sample_age_limit: duration,
    }),
    metadata_config: goObject({ send: bool, send_interval: duration, max_samples_per_send: int }),
    sigv4: anyMapping,
    azuread: anyMapping,
    google_iam: anyMapping,
    ...httpClientShape,
  }).transform((raw, ctx): Omit<RemoteWriteConfig, 'source'> => {
    const report = reporter(ctx);
    const url = nonEmpty(raw.url) ?? '';
    if (url === '') report(['url'], 'url for remote_write is empty');
    else if (!isUrl(url) || !/^https?:$/.test(new URL(url).protocol)) {
      report(['url'], `url for remote_write must be an http or https URL, got ${JSON.stringify(redactedUrl(url))}`);
    }
    const headers = raw.headers ?? new Map<string, string>();
    for (const name of headers.keys()) {
      const lower = name.toLowerCase();
      if (lower === 'authorization') {
        report(
          ['headers', name],
          'authorization header must be changed via the basic_auth, authorization, oauth2, sigv4, azuread ' +
            'or google_iam parameter',
        );
      } else if (reservedRemoteWriteHeaders.has(lower)) {
        report(['headers', name], `${name} is a reserved header. It must not be changed`);
      }
    }
    const message = raw.protobuf_message ?? 'prometheus.WriteRequest';
    let protobufMessage: RemoteWriteMessage = 'prometheus.WriteRequest';
    if (isOneOf(message, remoteWriteMessages)) protobufMessage = message;
    else {
      report(
        ['protobuf_message'],
        `invalid protobuf_message value: unknown remote write protobuf message ${message}, ` +
          `supported: ${remoteWriteMessages.join(', ')}`,
      );
    }
    const httpClient = buildHttpClient({ raw, report, dir, defaultHttp2: false });
    // validateAuthConfigs runs after Validate moved bearer_token into authorization.
    const configured: Readonly<Record<string, unknown>> = {
      basic_auth: httpClient.basicAuth,
      authorization: httpClient.authorization,
      oauth2: raw.oauth2,
      sigv4: raw.sigv4,
      azuread: raw.azuread,
      google_iam: raw.google_iam,
    };
    const auth = Object.keys(configured).filter((name) => configured[name] !== undefined);
    if (auth.length > 1) {
      report(
        [],
        'at most one of basic_auth, authorization, oauth2, sigv4, azuread or google_iam must be configured. ' +
          `Currently configured: [${auth.join(' ')}]`,
      );
    }
    const q = raw.queue_config ?? {};
    const m = raw.metadata_config ?? {};
    return {
      url,
      name: raw.name ?? '',
      remoteTimeoutMs: raw.remote_timeout ?? 30_000,
      headers,
      writeRelabelConfigs: raw.write_relabel_configs ?? [],
      sendExemplars: raw.send_exemplars ?? false,
      sendNativeHistograms: raw.send_native_histograms ?? false,
      roundRobinDns: raw.round_robin_dns ?? false,
      protobufMessage,
      queueConfig: {
        capacity: q.capacity ?? defaultQueue.capacity,
        maxShards: q.max_shards ?? defaultQueue.maxShards,
        minShards: q.min_shards ?? defaultQueue.minShards,
        maxSamplesPerSend: q.max_samples_per_send ?? defaultQueue.maxSamplesPerSend,
        batchSendDeadlineMs: q.batch_send_deadline ?? defaultQueue.batchSendDeadlineMs,
        minBackoffMs: q.min_backoff ?? defaultQueue.minBackoffMs,
        maxBackoffMs: q.max_backoff ?? defaultQueue.maxBackoffMs,
        retryOnHttp429: q.retry_on_http_429 ?? defaultQueue.retryOnHttp429,
        sampleAgeLimitMs: q.sample_age_limit ?? defaultQueue.sampleAgeLimitMs,
      },
      metadataConfig: {
        send: m.send ?? defaultMetadata.send,
        sendIntervalMs: m.send_interval ?? defaultMetadata.sendIntervalMs,
        maxSamplesPerSend: m.max_samples_per_send ?? defaultMetadata.maxSamplesPerSend,
      },
      httpClient,
    };
  });
}
