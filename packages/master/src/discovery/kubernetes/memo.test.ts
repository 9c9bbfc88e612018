import { runInNewContext } from 'node:vm';
import { setFlagsFromString } from 'node:v8';
import { describe, expect, it } from '@jest/globals';
import { labelsFingerprint, type Labels, type TargetGroup } from '@promfleet/model';
import { DeferredLabels, fingerprintOf } from '../deferred-labels.js';
import { endpointsGroup } from './endpoints.js';
import { endpointSliceGroup } from './endpointslice.js';
import { rawNamespace, rawNode, rawPod, rawService } from './fixtures.js';
import { createStaticContext, type DiscoveryContext } from './meta.js';
import { sameValue, TargetMemo } from './memo.js';
import { slimEndpoints, slimEndpointSlice, slimNamespace, slimNode, slimPod, slimReplicaSet, slimService, type SlimNode, type SlimPod } from './objects.js';

/** A small seeded generator (mulberry32), so a failing sequence can be replayed. */
function random(seed: number): { int(n: number): number } {
  let a = seed >>> 0;
  return {
    int(n) {
      a = (a + 0x6d2b79f5) >>> 0;
      let t = a;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * n);
    },
  };
}

interface PodSpec {
  name: string;
  ip: string;
  node: string;
  app: string;
  /** Whether the `app` container also declares 9001/UDP (a port no endpoint covers). */
  extraPort: boolean;
  replicaSet: string;
}

function makePod(spec: PodSpec): SlimPod {
  const raw = rawPod() as { metadata: Record<string, unknown>; spec: Record<string, unknown>; status: Record<string, unknown> };
  raw.metadata['name'] = spec.name;
  raw.metadata['uid'] = `uid-${spec.name}`;
  raw.metadata['labels'] = { app: spec.app };
  raw.metadata['ownerReferences'] = [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: spec.replicaSet, uid: 'rs', controller: true }];
  raw.spec['nodeName'] = spec.node;
  raw.status['podIP'] = spec.ip;
  const ports = [{ name: 'http-metrics', containerPort: 9000, protocol: 'TCP' }, ...(spec.extraPort ? [{ name: 'statsd', containerPort: 9001, protocol: 'UDP' }] : [])];
  raw.spec['containers'] = [{ name: 'app', image: 'registry.example/web:1', ports }, { name: 'sidecar', image: 'registry.example/proxy:2' }];
  return slimPod(raw);
}

function makeNode(name: string, zone: string): SlimNode {
  const raw = rawNode(name) as { metadata: { labels: Record<string, string> } };
  raw.metadata.labels['topology.kubernetes.io/zone'] = zone;
  return slimNode(raw);
}

/** A cluster the steps change one object at a time; unchanged objects keep their identity, as in the stores. */
class World {
  readonly pods = new Map<string, SlimPod>();
  readonly specs = new Map<string, PodSpec>();
  readonly nodes = new Map<string, SlimNode>();
  service = slimService(rawService());
  deployment = 'web';
  replicaSets = this.#replicaSets();
  /** The raw endpoints: pod name (or an address without a pod), readiness, node reference. */
  endpoints: { pod?: string; ip: string; ready: boolean; nodeRef?: string; zone: string }[] = [];
  ports: { name: string; port?: number; protocol: string }[] = [{ name: 'metrics', port: 9000, protocol: 'TCP' }];
  #next = 0;

  constructor() {
    for (const n of ['node-a', 'node-b', 'node-c']) this.nodes.set(n, makeNode(n, 'z1'));
    for (let i = 0; i < 12; i++) this.endpoints.push({ pod: this.addPod(), ip: '', ready: true, zone: 'z1' });
    for (const e of this.endpoints) e.ip = this.specs.get(e.pod ?? '')?.ip ?? '';
    this.endpoints.push({ ip: '192.0.2.1', ready: true, nodeRef: 'node-b', zone: 'z2' }, { ip: '192.0.2.2', ready: false, zone: 'z3' });
  }

  #replicaSets() {
    return [slimReplicaSet({ metadata: { name: 'web-7d4b9c', namespace: 'shop', ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: this.deployment, uid: 'd', controller: true }] } })];
  }

  addPod(): string {
    const n = this.#next++;
    const spec: PodSpec = { name: `web-${n}`, ip: `10.244.0.${n + 2}`, node: ['node-a', 'node-b', 'node-c'][n % 3] ?? 'node-a', app: 'web', extraPort: n % 2 === 0, replicaSet: 'web-7d4b9c' };
    this.setPod(spec);
    return spec.name;
  }

  setPod(spec: PodSpec): void {
    this.specs.set(spec.name, spec);
    this.pods.set(spec.name, makePod(spec));
  }

  context(attach: boolean): DiscoveryContext {
    return createStaticContext({
      pods: [...this.pods.values()],
      nodes: [...this.nodes.values()],
      services: [this.service],
      namespaces: [slimNamespace(rawNamespace())],
      workloads: this.replicaSets,
      attachMetadata: { node: attach, namespace: attach, deployment: attach },
    });
  }

  slice() {
    return slimEndpointSlice({
      metadata: { name: 'web-abc12', namespace: 'shop', labels: { 'kubernetes.io/service-name': 'web' } },
      addressType: 'IPv4',
      ports: this.ports,
      endpoints: this.endpoints.map((e) => ({
        addresses: [e.ip],
        conditions: { ready: e.ready, serving: true, terminating: !e.ready },
        zone: e.zone,
        ...(e.pod === undefined ? {} : { targetRef: { kind: 'Pod', namespace: 'shop', name: e.pod }, nodeName: this.specs.get(e.pod)?.node }),
        ...(e.nodeRef === undefined ? {} : { targetRef: { kind: 'Node', name: e.nodeRef } }),
      })),
    });
  }

  endpointsObject() {
    const address = (e: (typeof this.endpoints)[number]) => ({
      ip: e.ip,
      ...(e.pod === undefined ? {} : { targetRef: { kind: 'Pod', namespace: 'shop', name: e.pod }, nodeName: this.specs.get(e.pod)?.node }),
      ...(e.nodeRef === undefined ? {} : { targetRef: { kind: 'Node', name: e.nodeRef } }),
    });
    return slimEndpoints({
      metadata: { name: 'web', namespace: 'shop' },
      subsets: [
        {
          addresses: this.endpoints.filter((e) => e.ready).map(address),
          notReadyAddresses: this.endpoints.filter((e) => !e.ready).map(address),
          ports: this.ports.map((p) => ({ ...p, port: p.port ?? 1 })),
        },
      ],
    });
  }

  /** One random change, as the churn makes them and a few it does not. */
  change(rng: { int(n: number): number }): string {
    const pick = <T>(items: readonly T[]): T => items[rng.int(items.length)] as T;
    const podEndpoints = this.endpoints.filter((e) => e.pod !== undefined);
    switch (rng.int(11)) {
      case 0: {
        const e = pick(this.endpoints);
        e.ready = !e.ready;
        return 'readiness flip';
      }
      case 1: {
        const e = pick(podEndpoints);
        if (e.pod !== undefined) this.pods.delete(e.pod);
        e.pod = this.addPod();
        e.ip = this.specs.get(e.pod)?.ip ?? '';
        return 'pod replaced';
      }
      case 2: {
        const spec = this.specs.get(pick(podEndpoints).pod ?? '');
        if (spec !== undefined) this.setPod({ ...spec, app: `web-${rng.int(3)}` });
        return 'pod labels';
      }
      case 3: {
        const spec = this.specs.get(pick(podEndpoints).pod ?? '');
        if (spec !== undefined) this.setPod({ ...spec, extraPort: !spec.extraPort });
        return 'pod ports';
      }
      case 4: {
        const name = pick(['node-a', 'node-b', 'node-c']);
        this.nodes.set(name, makeNode(name, `z${rng.int(4)}`));
        return 'node labels';
      }
      case 5: {
        const raw = rawService() as { metadata: { labels: Record<string, string> } };
        raw.metadata.labels['tier'] = String(rng.int(3));
        this.service = slimService(raw);
        return 'service labels';
      }
      case 6:
        this.endpoints.splice(rng.int(this.endpoints.length + 1), 0, { pod: this.addPod(), ip: '', ready: true, zone: 'z1' });
        for (const e of this.endpoints) if (e.ip === '') e.ip = this.specs.get(e.pod ?? '')?.ip ?? '';
        return 'endpoint added';
      case 7:
        if (this.endpoints.length > 2) this.endpoints.splice(rng.int(this.endpoints.length), 1);
        return 'endpoint removed';
      case 8:
        this.ports = this.ports.length === 1 ? [...this.ports, { name: 'statsd', port: 9001, protocol: 'UDP' }] : this.ports.slice(0, 1);
        return 'slice ports';
      case 9:
        this.deployment = `web-${rng.int(3)}`;
        this.replicaSets = this.#replicaSets();
        return 'deployment';
      default:
        return 'rewritten unchanged';
    }
  }
}

/** A group as comparable data: every label set's entries in order. */
function entries(group: TargetGroup): unknown {
  return { source: group.source, labels: [...group.labels], targets: group.targets.map((t) => [...t]) };
}

/** {@link entries} as text: comparing 80 builds' worth of nested arrays with toEqual takes jest minutes. */
function text(group: TargetGroup): string {
  return JSON.stringify(entries(group));
}

function expectSameFingerprints(incremental: TargetGroup, fresh: TargetGroup): void {
  expect(incremental.targets.map(fingerprintOf)).toEqual(fresh.targets.map((t) => labelsFingerprint(t)));
}

describe('TargetMemo: an incrementally rebuilt group equals a fresh build', () => {
  for (const attach of [false, true]) {
    for (const seed of [1, 2, 3]) {
      it(`endpointslice role, attach_metadata ${attach ? 'node, namespace and deployment' : 'off'}, seed ${seed}`, () => {
        const world = new World();
        const rng = random(seed);
        const memo = new TargetMemo();
        for (let step = 0; step < 80; step++) {
          const what = step === 0 ? 'first build' : world.change(rng);
          const slice = world.slice();
          const context = world.context(attach);
          const incremental = endpointSliceGroup(slice, context, memo);
          const fresh = endpointSliceGroup(slice, context);
          expect({ step, what, group: text(incremental) }).toEqual({ step, what, group: text(fresh) });
          expectSameFingerprints(incremental, fresh);
        }
      });

      it(`endpoints role, attach_metadata ${attach ? 'node, namespace and deployment' : 'off'}, seed ${seed}`, () => {
        const world = new World();
        const rng = random(seed);
        const memo = new TargetMemo();
        for (let step = 0; step < 80; step++) {
          const what = step === 0 ? 'first build' : world.change(rng);
          const endpoints = world.endpointsObject();
          const context = world.context(attach);
          const incremental = endpointsGroup(endpoints, context, memo);
          const fresh = endpointsGroup(endpoints, context);
          expect({ step, what, group: text(incremental) }).toEqual({ step, what, group: text(fresh) });
          expectSameFingerprints(incremental, fresh);
        }
      });
    }
  }

  it('hands on the label sets of endpoints that did not change, and rebuilds those that did', () => {
    const world = new World();
    const memo = new TargetMemo();
    const first = endpointSliceGroup(world.slice(), world.context(true), memo);
    const flipped = world.endpoints[3];
    if (flipped === undefined) throw new Error('fixture has too few endpoints');
    flipped.ready = false;
    const second = endpointSliceGroup(world.slice(), world.context(true), memo);
    const reused = second.targets.filter((t, i) => t === first.targets[i]);
    // One endpoint of one port changed; its pod's uncovered-port target does not depend on readiness.
    expect(second.targets).toHaveLength(first.targets.length);
    expect(reused).toHaveLength(first.targets.length - 1);
    expect(second.targets[3]?.get('__meta_kubernetes_endpointslice_endpoint_conditions_ready')).toBe('false');
  });

  it('rebuilds every endpoint of a pod whose object was replaced, and only those', () => {
    const world = new World();
    const memo = new TargetMemo();
    const first = endpointSliceGroup(world.slice(), world.context(false), memo);
    const spec = world.specs.get(world.endpoints[0]?.pod ?? '');
    if (spec === undefined) throw new Error('fixture endpoint 0 has no pod');
    world.setPod({ ...spec, app: 'changed' });
    const second = endpointSliceGroup(world.slice(), world.context(false), memo);
    const changed = second.targets.filter((t, i) => t !== first.targets[i]);
    expect(changed.map((t) => t.get('__meta_kubernetes_pod_label_app'))).toEqual(changed.map(() => 'changed'));
    // The endpoint's target, and the uncovered 9001/UDP target of that pod (even pods declare it).
    expect(changed).toHaveLength(2);
  });
});

describe('DeferredLabels', () => {
  it('builds its labels again once the garbage collector has taken them, and carries their fingerprint', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    let rebuilds = 0;
    const make = (): Labels => new Map([['__address__', '10.0.0.1:9000'], ['job', 'x']]);
    const source = {
      rebuild: () => {
        rebuilds++;
        return make();
      },
    };
    const deferred = new DeferredLabels(make(), source, 0);
    expect(deferred.fingerprint).toBe(labelsFingerprint(make()));
    // Objects a WeakRef was made to in this turn stay until it ends.
    await new Promise((resolve) => setImmediate(resolve));
    gc();
    expect([...deferred]).toEqual([...make()]);
    expect(rebuilds).toBe(1);
    expect(deferred.get('job')).toBe('x');
    expect(deferred.size).toBe(2);
    expect(rebuilds).toBe(1);
  });

  it('rebuilds the targets of a memoized part from the lookups its first build made', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const world = new World();
    const memo = new TargetMemo();
    const context = world.context(true);
    const group = endpointSliceGroup(world.slice(), context, memo);
    const fresh = entries(endpointSliceGroup(world.slice(), context));
    // The stores move on: a later build of the part must not read them.
    for (const name of ['node-a', 'node-b', 'node-c']) world.nodes.set(name, makeNode(name, 'moved'));
    await new Promise((resolve) => setImmediate(resolve));
    gc();
    expect(entries(group)).toEqual(fresh);
  });
});

describe('sameValue', () => {
  it.each([
    [1, 1, true],
    ['a', 'b', false],
    [[1, 2], [1, 2], true],
    [[1, 2], [2, 1], false],
    [{ a: 1, b: [true] }, { b: [true], a: 1 }, true],
    [{ a: 1 }, { a: 1, b: undefined }, false],
    [new Map([['a', '1'], ['b', '2']]), new Map([['a', '1'], ['b', '2']]), true],
    [new Map([['a', '1'], ['b', '2']]), new Map([['b', '2'], ['a', '1']]), false],
    [new Map(), {}, false],
    [[], {}, false],
    [null, {}, false],
  ])('%p and %p: %p', (a, b, same) => {
    expect(sameValue(a, b)).toBe(same);
  });
});
