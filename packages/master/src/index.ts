/**
 * @promfleet/master: the only component that talks to the Kubernetes API server. Service discovery — Kubernetes
 * roles as pure functions, shared list/watches, static and file discovery — and the discovery manager that turns
 * it all into each job's targets; target allocation — a load-aware assignment table, repaired minimally as workers
 * and targets come and go; the fleet — worker membership and assignment streaming over gRPC; and the HTTP status
 * API. `startMaster` assembles them into the running process.
 */
export { startMaster, type LeaderElectionOptions, type MasterLog, type MasterOptions, type ReloadSummary, type RunningMaster } from './master.js';
export type { JobSource } from './reload.js';
export { DEFAULT_LEASE_DURATION_MS, DEFAULT_RENEW_DEADLINE_MS, DEFAULT_RETRY_PERIOD_MS, LeaderElectionConfigError } from './leader/elector.js';
export { parseLeaseRef, type LeaseRef } from './leader/lease.js';
export { DEFAULT_MAX_WORKERS, Fleet, type FleetObserver, type FleetOptions, type JoinEvent, type WorkerSession } from './fleet/fleet.js';
export { RefusedReason, admit, refusedReasons, type Admission, type AdmissionPolicy, type CallCredentials, type RefusalEvent, type TokenSource } from './fleet/admission.js';
export { TokenBucket, type TokenBucketOptions } from './fleet/limits.js';
export { RefusalLog, type RefusalLogOptions } from './fleet/refusal-log.js';
export {
  DEFAULT_MAX_CONNECTION_RATE,
  FleetLinkErrorCode,
  InsecureSecretsError,
  checkInlineSecrets,
  describeSecrets,
  loadFleetLink,
  type FleetLinkOptions,
  type FleetLinkSecurity,
  type LinkWeakness,
} from './fleet/link.js';
export { DEFAULT_EXTRA_STREAMS, FleetGrpcServer, type FleetEndpoint, type FleetGrpcServerOptions } from './fleet/server.js';
export { FleetMetrics } from './fleet/metrics.js';
export type { FleetStatusSource, TargetHealthStatus, TargetMove, TargetStatus, WorkerState, WorkerStatus } from './fleet/status.js';
export type { Discoverer } from './discovery/discoverer.js';
export { DiscoveryManager, type ConfigChanges, type DiscoveryManagerOptions, type JobTargets } from './discovery/manager.js';
export { DiscoveryMetrics } from './discovery/metrics.js';
export { FileDiscoverer, type FileDiscovererOptions } from './discovery/file.js';
export { FileSDError, matchGlob, parseFileSD, staticGroups } from './discovery/static.js';
export { ApiClient, ApiError, RateLimiter, type ApiClientOptions, type ApiConnection, type ApiEncoding, type ApiRequestRecord, type ApiWatchEvent } from './discovery/kubernetes/client.js';
export { KubernetesAccessError, checkKubernetesAccess, inCluster, kubeConnection, type InClusterEnvironment } from './discovery/kubernetes/connection.js';
export { KubernetesDiscovery, type KubernetesDiscoveryObserver, type KubernetesDiscoveryOptions } from './discovery/kubernetes/discovery.js';
export { discoverFromObjects, dumpAssetLookup, readObjectList, ObjectListError, type ObjectSet, type OperatorObjects, type SkippedItem } from './discovery/kubernetes/offline.js';
export { BadObjectError, SelectorError, slimPod } from './discovery/kubernetes/index.js';
export type { WatchSpec } from './discovery/kubernetes/watches.js';
export {
  Allocator,
  AllocationErrorCode,
  AllocationInputError,
  AllocationStateError,
  type AllocatorOptions,
  type Assignment,
  type MoveReason,
  type RebalanceOptions,
  type TargetUpdate,
  type WorkerCapacity,
  type WorkerId,
  type WorkerInfo,
  type WorkerLoad,
} from './allocation/index.js';
export {
  OperatorConfigError,
  OperatorJobSource,
  kindsInOwnNamespace,
  operatorJobs,
  parseOperatorConfig,
  type OperatorJobSourceOptions,
  type OperatorKind,
  type OperatorLog,
  type OperatorSelection,
  type RejectedOperatorResource,
} from './operator/index.js';
