/**
 * @promfleet/worker: the data plane. The assignment client holds the worker's one stream to the master and keeps
 * the assignment it was given through master restarts and network failures; the scrape manager runs one
 * Prometheus-exact scrape loop per target (parser, metric relabeling, limits, staleness); remote-write queues send
 * the samples to every receiver. `startWorker` assembles them into the running process.
 */
export { AssignmentClient, type AssignmentClientOptions, type ClientEvent } from './assignment/client.js';
export { loadMasterLink, type MasterLink, type MasterLinkOptions } from './assignment/link.js';
export { AssignmentErrorCode, AssignmentOutOfSyncError, AssignmentProtocolError, PartialSnapshotTooLargeError } from './assignment/errors.js';
export {
  AssignmentState,
  DEFAULT_MAX_PARTIAL_SNAPSHOT_BYTES,
  type AssignmentChange,
  type HeldTarget,
  type PendingRemoval,
  type TargetRemoval,
} from './assignment/state.js';
export {
  HttpClientConfigError,
  HttpClientErrorCode,
  configureHttpClient,
  noProxyMatcher,
  type ConfiguredHttpClient,
  type HttpClientOptions,
} from './http-client.js';
export {
  RemoteWriteQueue,
  endpointQueueDirName,
  type RemoteWriteDiskOptions,
  type RemoteWriteEvent,
  type RemoteWriteQueueOptions,
  type RemoteWriteStartOptions,
  type RemoteWriteStopOptions,
} from './remote/queue.js';
export { RemoteWriteMetrics, dropReasons, type DropReason } from './remote/metrics.js';
export { FRAME_HEADER_BYTES, Spool, SpoolError, type QueueRecord, type SpoolDrop, type SpoolOptions } from './remote/spool.js';
export { buildSeriesRef, type SeriesRef } from './remote/series.js';
export { createRequestEncoder, type EncodedBatch, type RequestEncoder } from './remote/encode.js';
export { ExemplarBuffer, SampleRing } from './remote/ring.js';
export {
  ContentTypeError,
  ExpositionErrorCode,
  ParseError,
  ParserMisuseError,
  createParser,
  formatOf,
  type Entry,
  type ExpositionFormat,
  type ExpositionParser,
  type FallbackFormat,
  type MetricType,
} from './scrape/parser.js';
export {
  DEFAULT_MAX_BODY_SIZE_BYTES,
  ScrapeError,
  ScrapeErrorCode,
  TargetScraper,
  acceptHeader,
  type ScrapeFailureReason,
  type ScrapeRequest,
  type ScrapeResponse,
} from './scrape/scraper.js';
export { ScrapeLoop, type ScrapeHealth, type ScrapeLoopOptions, type ScrapeObserver, type Scraper } from './scrape/loop.js';
export type { Exemplar, FamilyMetadata, SampleSink } from './scrape/sink.js';
export { DEFAULT_QUEUE_MAX_BYTES, QUEUE_SIZE_NOTE, ScrapeManager, type ScrapeManagerEvent, type ScrapeManagerOptions } from './scrape/manager.js';
export { ScrapeMetrics } from './scrape/metrics.js';
export { WorkerStatusServer, type WorkerStatusSource } from './status-server.js';
export { DEFAULT_SECRET_DIRS, SECRET_DIRS_FLAG, startWorker, type RunningWorker, type WorkerLog, type WorkerOptions } from './worker.js';
