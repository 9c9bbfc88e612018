/**
 * Cluster churn for load tests: pods replaced (as a ReplicaSet or DaemonSet controller replaces them) and pods
 * flipping readiness, each with the EndpointSlice write that follows, at a steady rate of store writes.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import {
  endpointConditions,
  makeEndpointSlice,
  makePod,
  maxEndpointsPerSlice,
  podEndpoint,
  safeAlphabet,
  type NodePlacement,
  type SyntheticCluster,
  type Workload,
} from './cluster.js';
import { isRecord, kubeTimestamp, objectKey, stringAt, type KubeObject, type ObjectRef } from './objects.js';
import { Random } from './random.js';
import { KubeApiError } from './status.js';
import type { ObjectStore } from './store.js';

/** Options of {@link churn}. */
export interface ChurnOptions {
  /** The store to change; it should hold `cluster` (other objects are left alone). */
  readonly store: ObjectStore;
  /** The generated cluster whose workloads own the pods that churn. */
  readonly cluster: SyntheticCluster;
  /** Store writes per second, counting pod and EndpointSlice writes alike. */
  readonly eventsPerSecond: number;
  /** Churn runs until this aborts. */
  readonly signal: AbortSignal;
  /** Seeds the choices. Defaults to the cluster's seed plus one. */
  readonly seed?: number;
}

/** What a churn run did. */
export interface ChurnStats {
  /** Store writes, which is also watch events before any selector. */
  readonly events: number;
  readonly podsCreated: number;
  readonly podsDeleted: number;
  readonly podsUpdated: number;
  readonly endpointSliceWrites: number;
}

interface NodeSlot {
  readonly placement: NodePlacement;
  /** `10.x.y.` of the node's pod /24. */
  readonly podPrefix: string;
  nextHost: number;
}

const tickMs = 10;

function isTransient(error: unknown): boolean {
  return error instanceof KubeApiError && (error.reason === 'NotFound' || error.reason === 'Conflict' || error.reason === 'AlreadyExists');
}

function podReady(pod: KubeObject): boolean {
  const conditions = isRecord(pod['status']) ? pod['status']['conditions'] : undefined;
  return Array.isArray(conditions) && conditions.some((c) => stringAt(c, 'type') === 'Ready' && stringAt(c, 'status') === 'True');
}

function endpointUid(endpoint: unknown): string {
  return stringAt(endpoint, 'targetRef', 'uid');
}

/** The churn's picture of the cluster, read from the store once and kept in step with its own writes. */
class ChurnState {
  readonly stats = { events: 0, podsCreated: 0, podsDeleted: 0, podsUpdated: 0, endpointSliceWrites: 0 };
  readonly #store: ObjectStore;
  readonly #rng: Random;
  readonly #workloads = new Map<string, Workload>();
  readonly #nodes: NodeSlot[] = [];
  readonly #nodesByName = new Map<string, NodeSlot>();
  readonly #livePods: string[] = [];
  readonly #livePodIndex = new Map<string, number>();
  readonly #usedIps = new Set<string>();
  readonly #sliceOfPod = new Map<string, string>();
  readonly #slicesOfService = new Map<string, string[]>();

  constructor(store: ObjectStore, cluster: SyntheticCluster, rng: Random) {
    this.#store = store;
    this.#rng = rng;
    for (const w of cluster.workloads) this.#workloads.set(w.uid, w);
    for (const node of store.list('nodes')) {
      const addresses = isRecord(node['status']) ? node['status']['addresses'] : undefined;
      const internal = Array.isArray(addresses) ? (addresses as unknown[]).find((a) => stringAt(a, 'type') === 'InternalIP') : undefined;
      const cidr = stringAt(node, 'spec', 'podCIDR');
      const internalIP = stringAt(internal, 'address');
      const slot: NodeSlot = {
        placement: {
          name: node.metadata.name ?? '',
          internalIP,
          zone: node.metadata.labels?.['topology.kubernetes.io/zone'] ?? '',
          hostIPs: [{ ip: internalIP }],
        },
        podPrefix: cidr.slice(0, cidr.lastIndexOf('.') + 1),
        nextHost: 2,
      };
      this.#nodes.push(slot);
      this.#nodesByName.set(slot.placement.name, slot);
    }
    for (const pod of store.list('pods')) {
      const owner = pod.metadata.ownerReferences?.[0]?.uid;
      if (owner === undefined || !this.#workloads.has(owner)) continue;
      this.#addLive(objectKey(pod.metadata.namespace, pod.metadata.name ?? ''));
      this.#usedIps.add(stringAt(pod, 'status', 'podIP'));
    }
    for (const slice of store.list('endpointslices')) {
      const sliceKey = objectKey(slice.metadata.namespace, slice.metadata.name ?? '');
      const service = objectKey(slice.metadata.namespace, slice.metadata.labels?.['kubernetes.io/service-name'] ?? '');
      this.#slicesOfService.set(service, [...(this.#slicesOfService.get(service) ?? []), sliceKey]);
      const endpoints = slice['endpoints'];
      if (Array.isArray(endpoints)) for (const e of endpoints) this.#sliceOfPod.set(endpointUid(e), sliceKey);
    }
  }

  /** Whether there is nothing left to churn. */
  get idle(): boolean {
    return this.#livePods.length === 0;
  }

  /** Performs one change: a replacement or a readiness flip. */
  step(): void {
    const key = this.#livePods[this.#rng.int(this.#livePods.length)];
    if (key === undefined) return;
    const [namespace = '', name = ''] = key.split('/');
    const ref: ObjectRef = { resource: 'pods', namespace, name };
    const pod = this.#store.get(ref);
    const workload = this.#workloads.get(pod?.metadata.ownerReferences?.[0]?.uid ?? '');
    if (pod === undefined || workload === undefined) {
      this.#removeLive(key);
      return;
    }
    try {
      if (this.#rng.next() < 0.5) this.#replace(key, pod, workload);
      else this.#flipReadiness(pod, workload);
    } catch (error) {
      // Someone else changed the object meanwhile (a test writing to the same store); skip this step.
      if (!isTransient(error)) throw error;
    }
  }

  #replace(key: string, pod: KubeObject, workload: Workload): void {
    const uid = pod.metadata.uid ?? '';
    this.#store.delete({ resource: 'pods', namespace: workload.namespace, name: pod.metadata.name ?? '' });
    this.#count('podsDeleted');
    this.#removeLive(key);
    if (!workload.hostNetwork) this.#usedIps.delete(stringAt(pod, 'status', 'podIP'));
    const oldSlice = this.#sliceOfPod.get(uid);
    this.#sliceOfPod.delete(uid);
    if (oldSlice !== undefined) this.#editSlice(oldSlice, (endpoints) => endpoints.filter((e) => endpointUid(e) !== uid));

    const node =
      workload.kind === 'DaemonSet'
        ? this.#nodesByName.get(stringAt(pod, 'spec', 'nodeName'))
        : this.#nodes[this.#rng.int(this.#nodes.length)];
    const podIP = node === undefined ? undefined : workload.hostNetwork ? node.placement.internalIP : this.#allocateIp(node);
    if (node === undefined || podIP === undefined) return;
    let name: string;
    do name = `${workload.generateName}${this.#rng.chars(safeAlphabet, 5)}`;
    while (this.#store.get({ resource: 'pods', namespace: workload.namespace, name }) !== undefined);
    const created = this.#store.create(
      makePod({ workload, node: node.placement, name, uid: this.#rng.uuid(), podIP, createdAt: kubeTimestamp(new Date()), ready: true }),
    );
    this.#count('podsCreated');
    this.#addLive(objectKey(workload.namespace, name));
    this.#addEndpoint({ workload, pod: created, zone: node.placement.zone, preferred: oldSlice });
  }

  #flipReadiness(pod: KubeObject, workload: Workload): void {
    const ready = !podReady(pod);
    const parts = ready ? workload.readyStatus : workload.unreadyStatus;
    const status = isRecord(pod['status']) ? pod['status'] : {};
    this.#store.update({ ...pod, status: { ...status, conditions: parts.conditions, containerStatuses: parts.containerStatuses } });
    this.#count('podsUpdated');
    const uid = pod.metadata.uid ?? '';
    const sliceKey = this.#sliceOfPod.get(uid);
    if (sliceKey === undefined) return;
    this.#editSlice(sliceKey, (endpoints) =>
      endpoints.map((e) => (endpointUid(e) === uid && isRecord(e) ? { ...e, conditions: endpointConditions(ready) } : e)),
    );
  }

  /** Puts the new pod in a slice of its service with room, preferring the one its predecessor was in. */
  #addEndpoint(input: { readonly workload: Workload; readonly pod: KubeObject; readonly zone: string; readonly preferred: string | undefined }): void {
    const { workload, pod, zone, preferred } = input;
    const serviceKey = objectKey(workload.namespace, workload.service);
    const slices = this.#slicesOfService.get(serviceKey) ?? [];
    const candidates = preferred === undefined ? slices : [preferred, ...slices.filter((s) => s !== preferred)];
    const endpoint = podEndpoint(pod, true, zone);
    const uid = pod.metadata.uid ?? '';
    for (const sliceKey of candidates) {
      const slice = this.#sliceAt(sliceKey);
      const endpoints = slice?.['endpoints'];
      if (slice === undefined || (Array.isArray(endpoints) && endpoints.length >= maxEndpointsPerSlice)) continue;
      this.#editSlice(sliceKey, (current) => [...current, endpoint]);
      this.#sliceOfPod.set(uid, sliceKey);
      return;
    }
    const service = this.#store.get({ resource: 'services', namespace: workload.namespace, name: workload.service });
    if (service === undefined) return;
    const slice = this.#store.create(
      makeEndpointSlice({
        workload,
        service,
        name: `${workload.service}-${this.#rng.chars(safeAlphabet, 5)}`,
        uid: this.#rng.uuid(),
        endpoints: [endpoint],
        createdAt: kubeTimestamp(new Date()),
      }),
    );
    this.#count('endpointSliceWrites');
    const sliceKey = objectKey(workload.namespace, slice.metadata.name ?? '');
    this.#slicesOfService.set(serviceKey, [...slices, sliceKey]);
    this.#sliceOfPod.set(uid, sliceKey);
  }

  #sliceAt(sliceKey: string): KubeObject | undefined {
    const [namespace = '', name = ''] = sliceKey.split('/');
    return this.#store.get({ resource: 'endpointslices', namespace, name });
  }

  #editSlice(sliceKey: string, change: (endpoints: readonly unknown[]) => unknown[]): void {
    const slice = this.#sliceAt(sliceKey);
    if (slice === undefined) return;
    const endpoints = Array.isArray(slice['endpoints']) ? (slice['endpoints'] as unknown[]) : [];
    const now = kubeTimestamp(new Date());
    this.#store.update({
      ...slice,
      metadata: { ...slice.metadata, annotations: { ...slice.metadata.annotations, 'endpoints.kubernetes.io/last-change-trigger-time': now } },
      endpoints: change(endpoints),
    });
    this.#count('endpointSliceWrites');
  }

  #allocateIp(node: NodeSlot): string | undefined {
    for (let tries = 0; tries < 253; tries++) {
      const ip = `${node.podPrefix}${node.nextHost}`;
      node.nextHost = node.nextHost >= 254 ? 2 : node.nextHost + 1;
      if (!this.#usedIps.has(ip)) {
        this.#usedIps.add(ip);
        return ip;
      }
    }
    return undefined;
  }

  #count(kind: 'podsCreated' | 'podsDeleted' | 'podsUpdated' | 'endpointSliceWrites'): void {
    this.stats[kind]++;
    this.stats.events++;
  }

  #addLive(key: string): void {
    this.#livePodIndex.set(key, this.#livePods.length);
    this.#livePods.push(key);
  }

  #removeLive(key: string): void {
    const index = this.#livePodIndex.get(key);
    const last = this.#livePods.pop();
    this.#livePodIndex.delete(key);
    if (index === undefined || last === undefined || last === key) return;
    this.#livePods[index] = last;
    this.#livePodIndex.set(last, index);
  }
}

/**
 * Churns `cluster` in `store` at `eventsPerSecond` store writes until `signal` aborts: half the steps replace a
 * pod (delete, then create a new one on a random node, or the same node for a DaemonSet, with both EndpointSlice
 * edits; a new slice when the service's slices are full), half flip a pod's readiness (pod status and its
 * endpoint's conditions). Writes are paced every 10 ms against the wall clock.
 *
 * @returns what was done, once `signal` aborts.
 */
export async function churn(options: ChurnOptions): Promise<ChurnStats> {
  const { store, cluster, eventsPerSecond, signal } = options;
  if (!(eventsPerSecond > 0)) throw new RangeError(`eventsPerSecond must be positive, got ${eventsPerSecond}`);
  const state = new ChurnState(store, cluster, new Random(options.seed ?? cluster.seed + 1));
  const started = performance.now();
  while (!signal.aborted) {
    const due = Math.floor(((performance.now() - started) / 1000) * eventsPerSecond);
    while (state.stats.events < due && !state.idle) state.step();
    try {
      await sleep(tickMs, undefined, { signal });
    } catch {
      break;
    }
  }
  return { ...state.stats };
}
