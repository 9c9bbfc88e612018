/**
 * @promfleet/master: the only component that talks to the Kubernetes API server. So far: service discovery —
 * Kubernetes roles as pure functions, shared list/watches, static and file discovery — and the discovery manager
 * that turns it all into each job's targets, with self-metrics — and target allocation: a load-aware assignment
 * table, repaired minimally as workers and targets come and go.
 */
export type { Discoverer } from './discovery/discoverer.js';
export { DiscoveryManager, type DiscoveryManagerOptions, type JobTargets } from './discovery/manager.js';
export { DiscoveryMetrics } from './discovery/metrics.js';
export { FileDiscoverer, type FileDiscovererOptions } from './discovery/file.js';
export { FileSDError, matchGlob, parseFileSD, staticGroups } from './discovery/static.js';
export { ApiClient, ApiError, RateLimiter, type ApiConnection, type ApiRequestRecord } from './discovery/kubernetes/client.js';
export { kubeConnection } from './discovery/kubernetes/connection.js';
export { KubernetesDiscovery, type KubernetesDiscoveryObserver, type KubernetesDiscoveryOptions } from './discovery/kubernetes/discovery.js';
export { discoverFromObjects, readObjectList, ObjectListError, type ObjectSet, type SkippedItem } from './discovery/kubernetes/offline.js';
export { BadObjectError, SelectorError } from './discovery/kubernetes/index.js';
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
