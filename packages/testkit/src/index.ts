/**
 * @promfleet/testkit: test and demo tools. A fake Kubernetes API server that speaks the real list/watch protocol
 * (for client-node informers and promfleet's own reflector), a synthetic cluster generator with churn, and a farm of
 * scrape targets that records every request. A dev dependency only: nothing in the product may import it.
 */
export {
  FakeApiServer,
  startFakeApiServer,
  type FakeApiServerOptions,
  type FaultControls,
  type RestartOptions,
  type WatchMatch,
} from './kube/server.js';
export { ObjectStore, type DeletePreconditions, type ObjectStoreOptions, type StoreEvent, type StoreEventType } from './kube/store.js';
export { KubeApiError, type KubeStatus, type StatusCause, type StatusDetails, type StatusReason } from './kube/status.js';
export type { KubeObject, ObjectMeta, ObjectRef, OwnerReference } from './kube/objects.js';
export { resourceNames, type ResourceName } from './kube/resources.js';
export type { RequestCount, TrafficRow } from './kube/accounting.js';
export type { Verb } from './kube/routing.js';
export type { WatchEventType, WatchInfo } from './kube/watch.js';
export type { FailNextOptions, LatencyOptions, RequestMatch } from './kube/faults.js';
export type { KubeconfigOptions } from './kube/kubeconfig.js';
export {
  generateCluster,
  maxEndpointsPerSlice,
  type ClusterShape,
  type GenerateClusterOptions,
  type NodePlacement,
  type PodStatusParts,
  type SyntheticCluster,
  type Workload,
  type WorkloadPort,
} from './kube/cluster.js';
export { churn, type ChurnOptions, type ChurnStats } from './kube/churn.js';
export { makePki, type CertificateFiles, type Pki, type PkiLeaf } from './pki.js';
export { CLASHING_LABEL_NAMES, checkSelfMetrics, promtoolCheckMetrics } from './promtool.js';
export { TargetFarm, brokenKinds, garbageBody, startTargetFarm, type BrokenKind, type BrokenTarget, type FarmExemplar, type FarmFamily, type FarmFormat, type FarmTarget, type TargetFarmOptions } from './farm.js';
export {
  RemoteWriteReceiver,
  decodedV1,
  decodedV2,
  type DecodedRequest,
  startRemoteWriteReceiver,
  type ReceivedExemplar,
  type ReceivedMetadata,
  type ReceivedRequest,
  type ReceivedSample,
  type ReceiverAnswer,
  type ReceiverProtocol,
  type RemoteWriteReceiverOptions,
  type WrittenCounts,
} from './remote-write-receiver.js';
export { encodeObject as encodeKubeProtobuf, encodeStatus as encodeKubeProtobufStatus, protobufMediaType, watchFrame as kubeProtobufWatchFrame } from './kube/protobuf.js';
export type { ResponseEncoding } from './kube/negotiation.js';
