import { afterEach, describe, expect, it } from '@jest/globals';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApiClient, ApiError, RateLimiter, type ApiEncoding } from './client.js';
import { slimEndpoints, slimEndpointSlice, slimIngress, slimNode, slimPod, slimService, type SlimPod } from './objects.js';
import { decodeStatus, decodeWatchEvent, MAX_PROTOBUF_MESSAGE_BYTES, ProtobufDecodeError, ProtobufListReader, WatchFrameReader } from './protobuf.js';
import { kubeResources, Reflector } from './reflector.js';

// Bytes are written here from Kubernetes' published field numbers with a wire writer of the test's own, not with
// the schema under test, so a wrong number in proto/promfleet/kubernetes/v1/objects.proto fails these tests.

function varint(n: number): Buffer {
  const out: number[] = [];
  let v = n;
  while (v > 127) {
    out.push((v % 128) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return Buffer.from(out);
}
/** A length-delimited field (wire type 2): a message, a string or bytes. */
const len = (field: number, ...body: (Buffer | string)[]): Buffer => {
  const bytes = Buffer.concat(body.map((b) => (typeof b === 'string' ? Buffer.from(b) : b)));
  return Buffer.concat([varint(field * 8 + 2), varint(bytes.length), bytes]);
};
/** A varint field (wire type 0): int32, int64, bool. */
const int = (field: number, n: number): Buffer => Buffer.concat([varint(field * 8), varint(n)]);
/** A map entry: `{1: key, 2: value}`. */
const entry = (field: number, key: string, value: string) => len(field, len(1, key), len(2, value));
/** A fixed64 field, which no message here declares: skipped. */
const fixed64 = (field: number) => Buffer.concat([varint(field * 8 + 1), Buffer.alloc(8, 7)]);
const PREFIX = Buffer.from('k8s\0', 'latin1');
/** `k8s\0` + runtime.Unknown{typeMeta{apiVersion, kind}, raw, contentEncoding "", contentType ""}, as the API server writes it. */
const envelope = (apiVersion: string, kind: string, raw: Buffer) => Buffer.concat([PREFIX, len(1, len(1, apiVersion), len(2, kind)), len(2, raw), len(3), len(4)]);
/** A watch frame: 4-byte big-endian length + WatchEvent{1 type, 2 RawExtension{1 raw}}. */
const frame = (type: string, object: Buffer) => {
  const body = Buffer.concat([len(1, type), len(2, len(1, object))]);
  const header = Buffer.alloc(4);
  header.writeUInt32BE(body.length);
  return Buffer.concat([header, body]);
};

/** ObjectMeta with fields discovery does not read (generation 7, creationTimestamp 8, managedFields 17) in between. */
const objectMeta = (m: { name: string; namespace?: string; rv?: string; labels?: Record<string, string>; owners?: Buffer[] }) =>
  Buffer.concat([
    len(1, m.name),
    len(2, ''),
    len(3, m.namespace ?? ''),
    len(5, `uid-${m.name}`),
    len(6, m.rv ?? '1'),
    int(7, 3),
    len(8, int(1, 1_700_000_000)),
    ...Object.entries(m.labels ?? {}).map(([k, v]) => entry(11, k, v)),
    entry(12, 'prometheus.io/scrape', 'true'),
    ...(m.owners ?? []),
    len(17, len(1, 'kube-controller-manager'), len(2, 'Update')),
  ]);

const podBytes = (name: string, rv = '1') =>
  Buffer.concat([
    len(1, objectMeta({ name, namespace: 'shop', rv, labels: { app: 'web', 'pod-template-hash': '5d8' }, owners: [len(13, len(1, 'ReplicaSet'), len(3, 'web-5d8'), len(4, 'rs-uid'), len(5, 'apps/v1'), int(6, 1), int(7, 1))] })),
    len(
      2,
      len(1, len(1, 'vol')),
      len(2, len(1, 'app'), len(2, 'nginx:1'), len(6, len(1, 'metrics'), int(2, 0), int(3, 9100), len(4, 'TCP'), len(5, '')), len(8, len(1, 'cpu'), len(2, len(1, '100m')))),
      len(10, 'node-1'),
      int(11, 0),
      len(20, len(1, 'init'), len(2, 'busybox'), len(24, 'Always')),
    ),
    len(
      3,
      len(1, 'Running'),
      len(2, len(1, 'Initialized'), len(2, 'True')),
      len(2, len(1, 'Ready'), len(2, 'True'), len(3), len(4, int(1, 1_700_000_100))),
      len(5, '192.0.2.7'),
      len(6, '10.1.2.3'),
      len(7, int(1, 1_700_000_000)),
      len(8, len(1, 'app'), len(2, len(2, len(1, int(1, 1)))), int(4, 1), int(5, 0), len(6, 'nginx:1'), len(8, 'containerd://abc')),
      len(10, len(1, 'init'), len(8, 'containerd://def')),
      len(12, len(1, '10.1.2.3')),
    ),
    fixed64(99),
  ]);

/** The same pod as the JSON encoding writes it. */
const podJson = {
  metadata: {
    name: 'web-1',
    namespace: 'shop',
    uid: 'uid-web-1',
    resourceVersion: '1',
    labels: { app: 'web', 'pod-template-hash': '5d8' },
    annotations: { 'prometheus.io/scrape': 'true' },
    ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web-5d8', uid: 'rs-uid', controller: true, blockOwnerDeletion: true }],
  },
  spec: {
    nodeName: 'node-1',
    containers: [{ name: 'app', image: 'nginx:1', ports: [{ name: 'metrics', containerPort: 9100, protocol: 'TCP' }] }],
    initContainers: [{ name: 'init', image: 'busybox', restartPolicy: 'Always' }],
  },
  status: {
    phase: 'Running',
    conditions: [
      { type: 'Initialized', status: 'True' },
      { type: 'Ready', status: 'True' },
    ],
    hostIP: '192.0.2.7',
    podIP: '10.1.2.3',
    containerStatuses: [{ name: 'app', ready: true, restartCount: 0, image: 'nginx:1', containerID: 'containerd://abc' }],
    initContainerStatuses: [{ name: 'init', containerID: 'containerd://def' }],
  },
};

describe('protobuf objects read as their JSON does', () => {
  it('a Pod, with the fields discovery does not read skipped', () => {
    const event = decodeWatchEvent(frame('ADDED', envelope('v1', 'Pod', podBytes('web-1'))).subarray(4), 'Pod');
    expect(event.type).toBe('ADDED');
    const slim = slimPod(event.object);
    expect(slim).toEqual(slimPod(podJson));
    expect(slim.controller).toEqual({ kind: 'ReplicaSet', name: 'web-5d8', namespace: '' });
    expect(slim.ready).toBe('true');
    expect(slim.containers[0]?.ports).toEqual([{ name: 'metrics', containerPort: 9100, protocol: 'TCP' }]);
  });

  it('an EndpointSlice keeps an absent condition apart from a false one, and optional ports and names', () => {
    const slice = Buffer.concat([
      len(1, objectMeta({ name: 'web-abc', namespace: 'shop', labels: { 'kubernetes.io/service-name': 'web' } })),
      len(2, len(1, '10.1.2.3'), len(2), len(4, len(1, 'Pod'), len(2, 'shop'), len(3, 'web-1')), len(6, 'node-1'), len(7, 'zone-a')),
      len(2, len(1, '10.1.2.4'), len(2, int(1, 0), int(2, 1), int(3, 1)), len(3, 'host-4'), entry(5, 'kubernetes.io/hostname', 'node-2')),
      len(3, len(1, 'metrics'), len(2, 'TCP'), int(3, 9100)),
      len(3, len(2, 'UDP')),
      len(4, 'IPv4'),
    ]);
    const decoded = decodeWatchEvent(frame('MODIFIED', envelope('discovery.k8s.io/v1', 'EndpointSlice', slice)).subarray(4), 'EndpointSlice').object;
    expect(slimEndpointSlice(decoded)).toEqual(
      slimEndpointSlice({
        metadata: { name: 'web-abc', namespace: 'shop', uid: 'uid-web-abc', resourceVersion: '1', labels: { 'kubernetes.io/service-name': 'web' }, annotations: { 'prometheus.io/scrape': 'true' } },
        addressType: 'IPv4',
        endpoints: [
          { addresses: ['10.1.2.3'], conditions: {}, targetRef: { kind: 'Pod', namespace: 'shop', name: 'web-1' }, nodeName: 'node-1', zone: 'zone-a' },
          { addresses: ['10.1.2.4'], conditions: { ready: false, serving: true, terminating: true }, hostname: 'host-4', deprecatedTopology: { 'kubernetes.io/hostname': 'node-2' } },
        ],
        ports: [{ name: 'metrics', protocol: 'TCP', port: 9100 }, { protocol: 'UDP' }],
      }),
    );
    const [first, second] = slimEndpointSlice(decoded).endpoints;
    expect(first?.ready).toBeUndefined();
    expect(second?.ready).toBe(false);
  });

  it("an Ingress's rule value, nested in protobuf, reads as JSON's inlined http", () => {
    const ingress = Buffer.concat([
      len(1, objectMeta({ name: 'shop', namespace: 'shop' })),
      len(2, len(2, len(1, 'a.example'), len(2, 'tls-a')), len(3, len(1, 'a.example'), len(2, len(1, len(1, len(1, '/'), len(3, 'Prefix')), len(1, len(1, '/api'))))), len(3, len(1, 'b.example')), len(4, 'nginx')),
      len(3, len(1, len(1, len(1, '203.0.113.1')))),
    ]);
    const slim = slimIngress(decodeWatchEvent(frame('ADDED', envelope('networking.k8s.io/v1', 'Ingress', ingress)).subarray(4), 'Ingress').object);
    expect(slim).toMatchObject({ ingressClassName: 'nginx', tlsHosts: ['a.example'], rules: [{ host: 'a.example', paths: ['/', '/api'] }, { host: 'b.example' }] });
    expect(slim.rules[1]).toEqual({ host: 'b.example' });
  });

  it('an Endpoints object: subsets with ready and not-ready addresses, target refs, node names and ports', () => {
    const endpoints = Buffer.concat([
      len(1, objectMeta({ name: 'web', namespace: 'shop' })),
      len(
        2,
        len(1, len(1, '10.1.2.3'), len(2, len(1, 'Pod'), len(2, 'shop'), len(3, 'web-1'), len(4, 'uid'), len(6, '7')), len(3, ''), len(4, 'node-1')),
        len(2, len(1, '10.1.2.4'), len(3, 'web-2')),
        len(3, len(1, 'metrics'), int(2, 9100), len(3, 'TCP'), len(4, 'http')),
      ),
    ]);
    const decoded = decodeWatchEvent(frame('ADDED', envelope('v1', 'Endpoints', endpoints)).subarray(4), 'Endpoints').object;
    expect(slimEndpoints(decoded)).toEqual(
      slimEndpoints({
        metadata: { name: 'web', namespace: 'shop', uid: 'uid-web', resourceVersion: '1', annotations: { 'prometheus.io/scrape': 'true' } },
        subsets: [
          {
            addresses: [{ ip: '10.1.2.3', nodeName: 'node-1', targetRef: { kind: 'Pod', namespace: 'shop', name: 'web-1', uid: 'uid', resourceVersion: '7' } }],
            notReadyAddresses: [{ ip: '10.1.2.4', hostname: 'web-2' }],
            ports: [{ name: 'metrics', port: 9100, protocol: 'TCP', appProtocol: 'http' }],
          },
        ],
      }),
    );
  });

  it('a Node: addresses, conditions, provider id and the kubelet port', () => {
    const node = Buffer.concat([
      len(1, objectMeta({ name: 'node-1', labels: { 'kubernetes.io/os': 'linux' } })),
      len(2, len(1, '10.0.0.0/24'), len(3, 'aws:///i-1'), int(4, 0)),
      len(3, entry(1, 'cpu', 'x'), len(4, len(1, 'Ready'), len(2, 'True'), len(5, 'KubeletReady')), len(4, len(1, 'DiskPressure'), len(2, 'False')), len(5, len(1, 'InternalIP'), len(2, '10.0.0.1')), len(6, len(1, int(1, 10250))), len(8, len(1, 'img'))),
    ]);
    const slim = slimNode(decodeWatchEvent(frame('ADDED', envelope('v1', 'Node', node)).subarray(4), 'Node').object);
    expect(slim).toMatchObject({
      meta: { name: 'node-1', namespace: '' },
      providerID: 'aws:///i-1',
      kubeletPort: 10250,
      addresses: [{ type: 'InternalIP', address: '10.0.0.1' }],
      conditions: [
        { type: 'Ready', status: 'True' },
        { type: 'DiskPressure', status: 'False' },
      ],
    });
  });

  it('a Service: ports, cluster IP, load-balancer ingress and IP families', () => {
    const service = Buffer.concat([
      len(1, objectMeta({ name: 'web', namespace: 'shop' })),
      len(2, len(1, len(1, 'http'), len(2, 'TCP'), int(3, 80), len(4, int(1, 0), int(2, 8080), len(3))), entry(2, 'app', 'web'), len(3, '10.96.0.10'), len(4, 'LoadBalancer'), len(8, ''), len(17, 'PreferDualStack'), len(18, '10.96.0.10'), len(19, 'IPv4'), len(19, 'IPv6')),
      len(3, len(1, len(1, len(1, '198.51.100.1')), len(1, len(2, 'lb.example')))),
    ]);
    const slim = slimService(decodeWatchEvent(frame('ADDED', envelope('v1', 'Service', service)).subarray(4), 'Service').object);
    expect(slim).toMatchObject({ type: 'LoadBalancer', clusterIP: '10.96.0.10', loadBalancerIngressIPs: ['198.51.100.1'], ipFamilyPolicy: 'PreferDualStack', ipFamilies: ['IPv4', 'IPv6'], ports: [{ name: 'http', port: 80, protocol: 'TCP' }] });
  });
});

describe('decodeWatchEvent', () => {
  it('an ERROR event carries a Status', () => {
    const status = Buffer.concat([len(1, len(2, '')), len(2, 'Failure'), len(3, 'too old resource version: 5 (9)'), len(4, 'Expired'), int(6, 410)]);
    expect(decodeWatchEvent(frame('ERROR', envelope('v1', 'Status', status)).subarray(4), 'Pod')).toEqual({
      type: 'ERROR',
      object: { kind: 'Status', status: 'Failure', message: 'too old resource version: 5 (9)', reason: 'Expired', code: 410 },
    });
  });

  it('a BOOKMARK carries only a resourceVersion', () => {
    const bookmark = len(1, len(6, '4711'));
    const event = decodeWatchEvent(frame('BOOKMARK', envelope('v1', 'Pod', bookmark)).subarray(4), 'Pod');
    expect(event.type).toBe('BOOKMARK');
    expect((event.object as { metadata: { resourceVersion: string } }).metadata.resourceVersion).toBe('4711');
  });

  it('refuses an object of another kind, a missing prefix and garbage, naming the event', () => {
    expect(() => decodeWatchEvent(frame('ADDED', envelope('v1', 'Node', len(1, objectMeta({ name: 'n' })))).subarray(4), 'Pod')).toThrow('ADDED event: expected a Pod, got "Node"');
    expect(() => decodeWatchEvent(Buffer.concat([len(1, 'ADDED'), len(2, len(1, podBytes('x')))]), 'Pod')).toThrow('ADDED event: no k8s protobuf prefix');
    expect(() => decodeWatchEvent(Buffer.from([0x0a, 0x7f, 0x01]), 'Pod')).toThrow(ProtobufDecodeError);
  });
});

describe('decodeStatus', () => {
  it('reads a protobuf error answer, and nothing else', () => {
    const status = Buffer.concat([len(2, 'Failure'), len(3, 'pods is forbidden'), len(4, 'Forbidden'), int(6, 403)]);
    expect(decodeStatus(envelope('v1', 'Status', status))).toMatchObject({ code: 403, message: 'pods is forbidden', reason: 'Forbidden' });
    expect(decodeStatus(Buffer.from('{"kind":"Status"}'))).toBeUndefined();
    expect(decodeStatus(envelope('v1', 'Pod', podBytes('x')))).toBeUndefined();
  });
});

/** A PodList answer: the envelope around `{1: ListMeta, 2: item, 2: item, ...}`, with an unknown field between items. */
const podList = (names: string[], meta: { rv: string; cont?: string }) =>
  envelope('v1', 'PodList', Buffer.concat([len(1, len(1, ''), len(2, meta.rv), len(3, meta.cont ?? ''), int(4, 0)), ...names.map((n) => len(2, podBytes(n))), fixed64(9), int(10, 300)]));

describe('ProtobufListReader', () => {
  it('hands on every item and the list metadata however the answer is cut into chunks', () => {
    const body = podList(['a', 'b', 'c'], { rv: '77', cont: 'next' });
    for (const size of [1, 2, 3, 7, 64, body.length]) {
      const names: string[] = [];
      const reader = new ProtobufListReader('Pod', (item) => names.push(slimPod(item).meta.name));
      for (let i = 0; i < body.length; i += size) reader.push(body.subarray(i, i + size));
      expect({ size, names, meta: reader.finish() }).toEqual({ size, names: ['a', 'b', 'c'], meta: { metadata: { resourceVersion: '77', continue: 'next' } } });
    }
  });

  it('reads an empty list', () => {
    const reader = new ProtobufListReader('Pod', () => undefined);
    reader.push(envelope('v1', 'PodList', len(1, len(2, '5'))));
    expect(reader.finish()).toEqual({ metadata: { resourceVersion: '5', continue: '' } });
  });

  it('says when the answer is a Status instead of a List', () => {
    const reader = new ProtobufListReader('Pod', () => undefined);
    reader.push(envelope('v1', 'Status', Buffer.concat([len(3, 'the continue token expired'), len(4, 'Expired'), int(6, 410)])));
    expect(reader.status).toMatchObject({ code: 410, reason: 'Expired' });
    expect(() => reader.finish()).toThrow('the answer is a Status: the continue token expired');
  });

  it('refuses another kind, a missing prefix, a truncated answer and an item beyond the list', () => {
    expect(() => new ProtobufListReader('Pod', () => undefined).push(envelope('v1', 'NodeList', Buffer.alloc(0)))).toThrow('expected a PodList, got "NodeList"');
    expect(() => new ProtobufListReader('Pod', () => undefined).push(Buffer.from('{"kind":"PodList"}'))).toThrow('no k8s protobuf prefix');
    const body = podList(['a', 'b'], { rv: '1' });
    const cut = new ProtobufListReader('Pod', () => undefined);
    cut.push(body.subarray(0, body.length - 40));
    expect(() => cut.finish()).toThrow('ended inside a field');
    const overrun = envelope('v1', 'PodList', Buffer.concat([varint(2 * 8 + 2), varint(500), Buffer.alloc(10)]));
    expect(() => new ProtobufListReader('Pod', () => undefined).push(overrun)).toThrow('field 2 runs past the end of the list');
    const encoded = Buffer.concat([PREFIX, len(1, len(1, 'v1'), len(2, 'PodList')), len(2), len(3, 'gzip')]);
    const withEncoding = new ProtobufListReader('Pod', () => undefined);
    expect(() => withEncoding.push(encoded)).toThrow('unsupported content encoding "gzip"');
  });

  it('refuses an item larger than the cap before buffering it', () => {
    const huge = envelope('v1', 'PodList', Buffer.concat([varint(2 * 8 + 2), varint(MAX_PROTOBUF_MESSAGE_BYTES + 1)]));
    const reader = new ProtobufListReader('Pod', () => undefined);
    // The List claims the item's length; the reader stops at the item's header.
    expect(() => reader.push(Buffer.concat([huge.subarray(0, huge.length), Buffer.alloc(1)]))).toThrow(ProtobufDecodeError);
  });
});

describe('WatchFrameReader', () => {
  it('cuts frames however the stream is chunked', () => {
    const stream = Buffer.concat([frame('ADDED', envelope('v1', 'Pod', podBytes('a'))), frame('BOOKMARK', envelope('v1', 'Pod', len(1, len(6, '9')))), frame('DELETED', envelope('v1', 'Pod', podBytes('a')))]);
    for (const size of [1, 3, 5, 100, stream.length]) {
      const reader = new WatchFrameReader();
      const types: string[] = [];
      for (let i = 0; i < stream.length; i += size) for (const f of reader.push(stream.subarray(i, i + size))) types.push(decodeWatchEvent(f, 'Pod').type);
      expect({ size, types, leftover: reader.leftover }).toEqual({ size, types: ['ADDED', 'BOOKMARK', 'DELETED'], leftover: 0 });
    }
  });

  it('reports an unfinished frame and refuses one over the cap', () => {
    const reader = new WatchFrameReader();
    reader.push(frame('ADDED', envelope('v1', 'Pod', podBytes('a'))).subarray(0, 20));
    expect(reader.leftover).toBe(20);
    const header = Buffer.alloc(4);
    header.writeUInt32BE(MAX_PROTOBUF_MESSAGE_BYTES + 1);
    expect(() => new WatchFrameReader().push(header)).toThrow(`a watch frame of ${MAX_PROTOBUF_MESSAGE_BYTES + 1} bytes is larger than`);
  });
});

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** An API server answering each request with the next handler, recording the Accept headers. */
async function apiServer(handlers: ((req: IncomingMessage, res: ServerResponse) => void)[]) {
  const accepts: string[] = [];
  const server = createServer((req, res) => {
    accepts.push(req.headers.accept ?? '');
    const handler = handlers.shift();
    if (handler === undefined) {
      res.writeHead(200, { 'content-type': 'application/vnd.kubernetes.protobuf;stream=watch' });
      return;
    }
    handler(req, res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanups.push(
    () =>
      new Promise((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  );
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, accepts };
}

const protobufAnswer = (body: Buffer, status = 200, contentType = 'application/vnd.kubernetes.protobuf') => (_req: IncomingMessage, res: ServerResponse) => {
  res.writeHead(status, { 'content-type': contentType });
  res.end(body);
};

function client(url: string, encoding?: ApiEncoding): ApiClient {
  return new ApiClient({ server: url, requestOptions: () => Promise.resolve({}), userAgent: 't' }, new RateLimiter(1000, 1000), encoding === undefined ? {} : { encoding });
}

describe('ApiClient in protobuf', () => {
  it('asks for protobuf first for built-in kinds, JSON for custom resources and with encoding json', async () => {
    const empty = (kind: string) => protobufAnswer(envelope('v1', kind, len(1, len(2, '1'))));
    const json = (_req: IncomingMessage, res: ServerResponse) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"kind":"List","metadata":{"resourceVersion":"1"},"items":[]}');
    };
    const server = await apiServer([empty('PodList'), json, json]);
    const signal = new AbortController().signal;
    const onItem = () => undefined;
    await client(server.url).list('/api/v1/pods', { resource: 'pods', kind: 'Pod', signal, timeoutMs: 5000, onItem });
    await client(server.url).list('/apis/monitoring.coreos.com/v1/servicemonitors', { resource: 'servicemonitors', kind: 'ServiceMonitor', signal, timeoutMs: 5000, onItem });
    await client(server.url, 'json').list('/api/v1/pods', { resource: 'pods', kind: 'Pod', signal, timeoutMs: 5000, onItem });
    expect(server.accepts).toEqual(['application/vnd.kubernetes.protobuf, application/json', 'application/json', 'application/json']);
  });

  it('lists and watches a store of pods in protobuf, and relists on a 410 ERROR event', async () => {
    const status410 = Buffer.concat([len(2, 'Failure'), len(3, 'too old resource version'), len(4, 'Expired'), int(6, 410)]);
    const watchOf = (frames: Buffer[]) => (_req: IncomingMessage, res: ServerResponse) => {
      res.writeHead(200, { 'content-type': 'application/vnd.kubernetes.protobuf;stream=watch' });
      for (const f of frames) res.write(f);
      res.end();
    };
    const server = await apiServer([
      protobufAnswer(podList(['a', 'b'], { rv: '10' })),
      watchOf([frame('ADDED', envelope('v1', 'Pod', podBytes('c', '11'))), frame('DELETED', envelope('v1', 'Pod', podBytes('a', '12'))), frame('ERROR', envelope('v1', 'Status', status410))]),
      protobufAnswer(podList(['b', 'd'], { rv: '20' })),
    ]);
    const changes: string[] = [];
    const restarts: string[] = [];
    let lists = 0;
    const controller = new AbortController();
    const reflector = new Reflector<SlimPod>({
      client: client(server.url),
      resource: kubeResources.pods,
      convert: slimPod,
      events: {
        onChange: (key, object) => changes.push(`${object === undefined ? '-' : '+'}${key}`),
        onRestart: (reason) => restarts.push(reason),
        onSynced: () => {
          lists++;
          if (lists === 2) controller.abort();
        },
      },
      initialBackoffMs: 1,
      maxBackoffMs: 1,
      random: () => 0,
    });
    await reflector.run(controller.signal);
    expect(changes).toEqual(['+shop/a', '+shop/b', '+shop/c', '-shop/a', '-shop/c', '+shop/d']);
    expect(restarts).toEqual(['expired']);
    expect([...reflector.store.keys()].sort()).toEqual(['shop/b', 'shop/d']);
  });

  it('reads JSON when the server answers JSON to a protobuf Accept', async () => {
    const server = await apiServer([
      (_req, res) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ kind: 'PodList', metadata: { resourceVersion: '3' }, items: [podJson] }));
      },
    ]);
    const names: string[] = [];
    const page = await client(server.url).list('/api/v1/pods', { resource: 'pods', kind: 'Pod', signal: new AbortController().signal, timeoutMs: 5000, onItem: (i) => names.push(slimPod(i).meta.name) });
    expect(names).toEqual(['web-1']);
    expect(page['metadata']).toEqual({ resourceVersion: '3' });
  });

  it("takes an error's message from a protobuf Status, and refuses an answer in neither encoding", async () => {
    const forbidden = envelope('v1', 'Status', Buffer.concat([len(2, 'Failure'), len(3, 'pods is forbidden: User "x" cannot list'), len(4, 'Forbidden'), int(6, 403)]));
    const server = await apiServer([protobufAnswer(forbidden, 403), protobufAnswer(Buffer.from('<html>proxy error</html>'), 200, 'text/html')]);
    const list = () => client(server.url).list('/api/v1/pods', { resource: 'pods', kind: 'Pod', signal: new AbortController().signal, timeoutMs: 5000, onItem: () => undefined });
    await expect(list()).rejects.toMatchObject({ status: 403, message: 'HTTP 403: pods is forbidden: User "x" cannot list' });
    const wrongType = list();
    await expect(wrongType).rejects.toThrow(ApiError);
    await expect(wrongType).rejects.toThrow('list pods: unexpected Content-Type "text/html"');
  });

  it('fails a watch whose stream ends inside an event', async () => {
    const server = await apiServer([
      (_req, res) => {
        res.writeHead(200, { 'content-type': 'application/vnd.kubernetes.protobuf;stream=watch' });
        res.end(frame('ADDED', envelope('v1', 'Pod', podBytes('a'))).subarray(0, 30));
      },
    ]);
    const events = client(server.url).watch('/api/v1/pods?watch=true', { resource: 'pods', kind: 'Pod', signal: new AbortController().signal });
    await expect(events.next()).rejects.toThrow('watch pods: the stream ended inside an event');
  });
});
