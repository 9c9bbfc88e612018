import { describe, expect, it } from '@jest/globals';
import { churn } from './churn.js';
import { generateCluster } from './cluster.js';
import type { KubeObject } from './objects.js';
import { encodeListChunks, encodeMessage, encodeObject, encodeStatus, kindSchema, unknownProtobufFields, watchFrame } from './protobuf.js';
import { expired } from './status.js';
import { resourceByName } from './resources.js';
import { ObjectStore, type StoreEvent } from './store.js';
import { all, has, ld, one, readFields, s, str, unwrap, varint, vint, watchEvent } from './test-protobuf.js';

/** 2025-01-01T00:00:00Z in Unix seconds. */
const newYear = 1_735_689_600;

function body(obj: KubeObject): Buffer {
  const schema = kindSchema(obj.apiVersion, obj.kind);
  if (schema === undefined) throw new Error(`no schema for ${obj.kind}`);
  return encodeMessage(schema, obj);
}

function bytes(...parts: (readonly number[])[]): Buffer {
  return Buffer.from(parts.flat());
}

/** ObjectMeta's always-written fields between `uid` and `creationTimestamp`, and the time itself. */
function metaBytes(meta: { name: string; uid: string; creationTimestamp?: number }, ...rest: (readonly number[])[]): number[] {
  const time = meta.creationTimestamp === undefined ? [] : [...vint(1, meta.creationTimestamp), ...vint(2, 0)];
  return [...s(1, meta.name), ...s(2, ''), ...s(3, ''), ...s(4, ''), ...s(5, meta.uid), ...s(6, ''), ...vint(7, 0), ...ld(8, time), ...rest.flat()];
}

describe('protobuf encoding', () => {
  it('writes a Namespace field by field: non-pointer fields always, maps as sorted entries, Time as seconds and nanos', () => {
    const ns: KubeObject = {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: 'a', uid: 'u', creationTimestamp: '2025-01-01T00:00:00Z', labels: { b: '2', a: '1' } },
    };
    // name: field 1, wire type 2 → tag 0x0a, length 1, 'a'.
    expect([...s(1, 'a')]).toEqual([0x0a, 0x01, 0x61]);
    const meta = metaBytes({ name: 'a', uid: 'u', creationTimestamp: newYear }, ld(11, [...s(1, 'a'), ...s(2, '1')]), ld(11, [...s(1, 'b'), ...s(2, '2')]));
    // spec (2) is an empty NamespaceSpec; status (3) holds phase '' (0x0a 0x00).
    expect(body(ns)).toEqual(bytes(ld(1, meta), ld(2, []), ld(3, [0x0a, 0x00])));
  });

  it('writes a zero time (JSON null) as an empty message and leaves out an absent pointer time', () => {
    // As the API server writes a zero time in JSON.
    const ns = JSON.parse('{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"a","uid":"u","creationTimestamp":null,"deletionTimestamp":null}}') as KubeObject;
    const meta = one(body(ns), 1).bytes;
    expect(one(meta, 8).bytes).toEqual(Buffer.alloc(0));
    expect(has(meta, 9)).toBe(false);
  });

  it('writes owner references with their pointer booleans only when set', () => {
    const ns: KubeObject = {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: 'a', uid: 'u', ownerReferences: [{ apiVersion: 'v1', kind: 'K', name: 'o', uid: 'x', controller: true }] },
    };
    const owner = one(one(body(ns), 1).bytes, 13).bytes;
    // kind 1, name 3, uid 4, apiVersion 5, controller 6 (varint: tag 0x30); blockOwnerDeletion (7) absent.
    expect(owner).toEqual(bytes(s(1, 'K'), s(3, 'o'), s(4, 'x'), s(5, 'v1'), [0x30, 0x01]));
  });

  it('writes IntOrString as type, intVal and strVal, all three always', () => {
    const svc: KubeObject = {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 's', uid: 'u' },
      spec: { ports: [{ name: 'm', port: 80, targetPort: 'metrics', protocol: 'TCP' }, { port: 81, targetPort: 8080 }] },
    };
    const spec = one(body(svc), 2).bytes;
    const [named, numbered] = all(spec, 1).map((f) => f.bytes);
    expect(one(named ?? Buffer.alloc(0), 4).bytes).toEqual(bytes([0x08, 0x01, 0x10, 0x00], s(3, 'metrics')));
    // 8080 = 0x1f90 → varint 0x90 0x3f.
    expect(one(numbered ?? Buffer.alloc(0), 4).bytes).toEqual(Buffer.from([0x08, 0x00, 0x10, 0x90, 0x3f, 0x1a, 0x00]));
    expect(numbered).toEqual(bytes(s(1, ''), s(2, ''), vint(3, 81), ld(4, [0x08, 0x00, 0x10, 0x90, 0x3f, 0x1a, 0x00]), vint(5, 0)));
  });

  it('writes EndpointSlice pointer fields only when present: nil ready is no field, false is 08 00', () => {
    const slice: KubeObject = {
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: { name: 'e', uid: 'u' },
      addressType: 'IPv4',
      endpoints: [
        { addresses: ['10.0.0.1'], conditions: { ready: false } },
        { addresses: ['10.0.0.2'], conditions: {}, nodeName: 'n', zone: 'z', targetRef: { kind: 'Pod', name: 'p' } },
      ],
      ports: [{ port: 9090 }],
    };
    const b = body(slice);
    const [first, second] = all(b, 2).map((f) => f.bytes);
    expect(first).toEqual(bytes(s(1, '10.0.0.1'), ld(2, [0x08, 0x00])));
    expect(second).toEqual(
      bytes(s(1, '10.0.0.2'), ld(2, []), ld(4, [...s(1, 'Pod'), ...s(2, ''), ...s(3, 'p'), ...s(4, ''), ...s(5, ''), ...s(6, ''), ...s(7, '')]), s(6, 'n'), s(7, 'z')),
    );
    // The port is a varint at field 3 (tag 0x18), name and protocol (pointers) absent.
    expect(one(b, 3).bytes).toEqual(Buffer.from([0x18, ...varint(9090)]));
    expect(str(b, 4)).toBe('IPv4');
  });

  it('nests an Ingress rule’s inline http under IngressRuleValue (field 2 → 1)', () => {
    const ing: KubeObject = {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'Ingress',
      metadata: { name: 'i', uid: 'u' },
      spec: {
        ingressClassName: 'nginx',
        rules: [{ host: 'h', http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'svc', port: { number: 80 } } } }] } }],
      },
    };
    const spec = one(body(ing), 2).bytes;
    const rule = one(spec, 3).bytes;
    const backend = ld(4, [...s(1, 'svc'), ...ld(2, [...s(1, ''), ...vint(2, 80)])]);
    const path = [...s(1, '/'), ...ld(2, backend), ...s(3, 'Prefix')];
    expect(rule).toEqual(bytes(s(1, 'h'), ld(2, ld(1, ld(1, path)))));
    expect(str(spec, 4)).toBe('nginx');
  });

  it('writes negative integers as ten-byte varints and quantities as {1 string} map values', () => {
    const pod: KubeObject = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'p', uid: 'u' },
      spec: { containers: [{ name: 'c', resources: { requests: { memory: '1Gi', cpu: '100m' } } }] },
      status: { containerStatuses: [{ name: 'c', state: { terminated: { exitCode: -1, reason: 'Error' } } }] },
    };
    const b = body(pod);
    const container = one(one(b, 2).bytes, 2).bytes;
    const requests = all(one(container, 8).bytes, 2).map((f) => f.bytes);
    expect(requests).toEqual([bytes(s(1, 'cpu'), ld(2, s(1, '100m'))), bytes(s(1, 'memory'), ld(2, s(1, '1Gi')))]);
    const terminated = one(one(one(one(b, 3).bytes, 8).bytes, 2).bytes, 3).bytes;
    expect(terminated.subarray(0, 11)).toEqual(Buffer.from([0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]));
    expect(readFields(terminated).find((f) => f.no === 1)?.int).toBe(2n ** 64n - 1n);
  });

  it('envelopes an object and a Status: k8s\\0, then Unknown{typeMeta, raw, "", ""}', () => {
    const ns: KubeObject = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'a', uid: 'u' } };
    const enveloped = encodeObject(ns);
    expect(enveloped).toEqual(bytes([0x6b, 0x38, 0x73, 0x00], ld(1, [...s(1, 'v1'), ...s(2, 'Namespace')]), ld(2, [...body(ns)]), [0x1a, 0x00, 0x22, 0x00]));
    const status = unwrap(encodeStatus(expired('too old', 'next').status));
    expect(status).toMatchObject({ apiVersion: 'v1', kind: 'Status', contentEncoding: '', contentType: '' });
    // metadata (1) is a ListMeta with continue (3); details (5) is nil and absent; code is field 6.
    expect(status.raw).toEqual(bytes(ld(1, [...s(1, ''), ...s(2, ''), ...s(3, 'next')]), s(2, 'Failure'), s(3, 'too old'), s(4, 'Expired'), vint(6, 410)));
  });

  it('frames a watch event: big-endian length, then WatchEvent{1 type, 2 RawExtension{1 raw}}', () => {
    const frame = watchFrame('ADDED', Buffer.from([1, 2, 3]));
    const inner = [...s(1, 'ADDED'), ...ld(2, ld(1, [1, 2, 3]))];
    expect(frame).toEqual(bytes([0, 0, 0, inner.length], inner));
  });

  it('writes a list in chunks that join to the envelope around {1 ListMeta, 2 items…}', () => {
    const items: KubeObject[] = ['a', 'b', 'c'].map((name) => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name, uid: name } }));
    const schema = kindSchema('v1', 'Namespace');
    if (schema === undefined) throw new Error('no Namespace schema');
    const chunks = [...encodeListChunks({ apiVersion: 'v1', listKind: 'NamespaceList', itemSchema: schema, metadata: { resourceVersion: '7', continue: 'c', remainingItemCount: 4 }, items }, 40)];
    expect(chunks.length).toBeGreaterThan(2);
    const listMeta = [...s(1, ''), ...s(2, '7'), ...s(3, 'c'), ...vint(4, 4)];
    const raw = [...ld(1, listMeta), ...items.flatMap((i) => ld(2, [...body(i)]))];
    expect(Buffer.concat(chunks)).toEqual(bytes([0x6b, 0x38, 0x73, 0x00], ld(1, [...s(1, 'v1'), ...s(2, 'NamespaceList')]), ld(2, raw), [0x1a, 0x00, 0x22, 0x00]));
    const cache = new WeakMap<KubeObject, Buffer>();
    const cold = Buffer.concat([...encodeListChunks({ apiVersion: 'v1', listKind: 'NamespaceList', itemSchema: schema, metadata: {}, items }, 40, cache)]);
    const warm = Buffer.concat([...encodeListChunks({ apiVersion: 'v1', listKind: 'NamespaceList', itemSchema: schema, metadata: {}, items }, 40, cache)]);
    expect(warm).toEqual(cold);
    expect(cache.get(items[1] as KubeObject)).toEqual(body(items[1] as KubeObject));
    // Without remainingItemCount, ListMeta has no field 4.
    expect(has(one(unwrap(cold).raw, 1).bytes, 4)).toBe(false);
  });

  it('carries a generated pod’s content: owner, containers, ports, statuses, IPs', () => {
    const cluster = generateCluster({ nodes: 2, pods: 4, namespaces: 1, servicesPerNamespace: 1, seed: 5 });
    const pod = cluster.pods.at(-1) as KubeObject;
    const b = body(pod);
    const meta = one(b, 1).bytes;
    expect(str(meta, 1)).toBe(pod.metadata.name);
    const owner = one(meta, 13).bytes;
    expect(str(owner, 1)).toBe('ReplicaSet');
    expect(one(owner, 6).int).toBe(1n);
    expect(Number(one(one(meta, 8).bytes, 1).int)).toBe(Date.parse(pod.metadata.creationTimestamp ?? '') / 1000);
    const spec = one(b, 2).bytes;
    const ports = all(one(spec, 2).bytes, 6).map((p) => [str(p.bytes, 1), Number(one(p.bytes, 3).int)]);
    expect(ports).toEqual([
      ['http', 8080],
      ['metrics', 9090],
    ]);
    expect(one(spec, 30).int).toBe(1n);
    const status = one(b, 3).bytes;
    expect(str(status, 1)).toBe('Running');
    expect(all(status, 2).map((c) => str(c.bytes, 1))).toEqual(['PodReadyToStartContainers', 'Initialized', 'Ready', 'ContainersReady', 'PodScheduled']);
    // lastProbeTime is null in JSON: a zero, non-pointer Time, so an empty message.
    expect(one(all(status, 2)[0]?.bytes ?? Buffer.alloc(0), 3).bytes.length).toBe(0);
    const containerStatus = one(status, 8).bytes;
    expect(one(containerStatus, 4).int).toBe(1n);
    expect(has(one(one(containerStatus, 2).bytes, 2).bytes, 1)).toBe(true);
    expect(str(one(status, 12).bytes, 1)).toBe((pod['status'] as { podIP: string }).podIP);
  });

  it('knows every field of the generated cluster’s objects and of the churn’s writes', async () => {
    const cluster = generateCluster({ nodes: 4, podsPerNode: 5, namespaces: 2, servicesPerNamespace: 2, seed: 9, daemonSets: 2 });
    const store = new ObjectStore();
    store.load(cluster.objects());
    const events: StoreEvent[] = [];
    for (const resource of ['pods', 'endpointslices'] as const) store.subscribe(resourceDescriptor(resource), (e) => events.push(e));
    const controller = new AbortController();
    const running = churn({ store, cluster, eventsPerSecond: 2000, signal: controller.signal });
    while (events.length < 40) await new Promise((resolve) => setTimeout(resolve, 10));
    controller.abort();
    await running;
    const objects = [...store.list('namespaces'), ...store.list('nodes'), ...store.list('services'), ...store.list('pods'), ...store.list('endpointslices'), ...events.map((e) => e.object)];
    expect(new Set(objects.map((o) => o.kind))).toEqual(new Set(['Namespace', 'Node', 'Service', 'Pod', 'EndpointSlice']));
    expect(objects.flatMap((o) => unknownProtobufFields(o).map((f) => `${o.kind} ${f}`))).toEqual([]);
  });

  it('names the JSON keys it has no field for', () => {
    const pod: KubeObject = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', uid: 'u' }, spec: { volumes: [], containers: [{ name: 'c', livenessProbe: {} }] } };
    expect(unknownProtobufFields(pod)).toEqual(['spec.volumes', 'spec.containers[0].livenessProbe']);
    expect(unknownProtobufFields({ apiVersion: 'monitoring.coreos.com/v1', kind: 'PodMonitor', metadata: {} })).toEqual(['(no message for the kind)']);
  });

  it('refuses to encode a kind without a message', () => {
    expect(() => encodeObject({ apiVersion: 'monitoring.coreos.com/v1', kind: 'PodMonitor', metadata: {} })).toThrow('no protobuf message for monitoring.coreos.com/v1 PodMonitor');
  });

  it('reads the inner object of a frame back', () => {
    const ns: KubeObject = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'a', uid: 'u' } };
    const event = watchEvent(watchFrame('DELETED', encodeObject(ns)).subarray(4));
    expect(event.type).toBe('DELETED');
    expect(event.object.kind).toBe('Namespace');
    expect(event.object.raw).toEqual(body(ns));
  });
});

function resourceDescriptor(name: 'pods' | 'endpointslices') {
  const d = resourceByName(name);
  if (d === undefined) throw new Error(`${name} missing`);
  return d;
}
