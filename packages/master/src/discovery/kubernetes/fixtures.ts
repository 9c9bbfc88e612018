/**
 * Realistic API-server JSON for the role tests: what `kubectl get -o json` shows for each kind, trimmed to the
 * fields discovery reads plus some it ignores. Each builder returns a fresh object, so a test may change it freely.
 */

/** A running two-container pod of a ReplicaSet, declaring ports 9000/TCP and 9001/UDP on `app`, none on `sidecar`. */
export function rawPod(): Record<string, unknown> {
  return {
    metadata: {
      name: 'web-7d4b9c-x2x9k',
      namespace: 'shop',
      uid: '5c8e2b1a-0f3e-4d2c-9a1b-7e6f5d4c3b2a',
      resourceVersion: '48213',
      labels: { app: 'web', 'app.kubernetes.io/name': 'web', 'pod-template-hash': '7d4b9c' },
      annotations: { 'prometheus.io/scrape': 'true' },
      ownerReferences: [
        { apiVersion: 'v1', kind: 'ConfigMap', name: 'not-a-controller', uid: 'a1' },
        { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web-7d4b9c', uid: 'b2', controller: true, blockOwnerDeletion: true },
      ],
      managedFields: [{ manager: 'kube-controller-manager', operation: 'Update' }],
    },
    spec: {
      nodeName: 'node-a',
      restartPolicy: 'Always',
      containers: [
        {
          name: 'app',
          image: 'registry.example/web:1.4.2',
          ports: [
            { name: 'http-metrics', containerPort: 9000, protocol: 'TCP' },
            { name: 'statsd', containerPort: 9001, protocol: 'UDP' },
          ],
          resources: { limits: { cpu: '500m' } },
        },
        { name: 'sidecar', image: 'registry.example/proxy:2.0' },
      ],
    },
    status: {
      phase: 'Running',
      hostIP: '10.0.0.11',
      podIP: '10.244.1.17',
      podIPs: [{ ip: '10.244.1.17' }],
      conditions: [
        { type: 'Initialized', status: 'True' },
        { type: 'Ready', status: 'True' },
        { type: 'ContainersReady', status: 'True' },
      ],
      containerStatuses: [
        { name: 'app', containerID: 'containerd://aaa111', ready: true, restartCount: 0 },
        { name: 'sidecar', containerID: 'containerd://bbb222', ready: true, restartCount: 0 },
      ],
    },
  };
}

/** A Node with an internal and an external IP, a hostname, and the kubelet on 10250. */
export function rawNode(name = 'node-a'): Record<string, unknown> {
  return {
    kind: 'Node',
    apiVersion: 'v1',
    metadata: {
      name,
      uid: `uid-${name}`,
      labels: { 'topology.kubernetes.io/zone': 'eu-west-1a', 'kubernetes.io/os': 'linux' },
      annotations: { 'node.alpha.kubernetes.io/ttl': '0' },
    },
    spec: { providerID: `aws:///eu-west-1a/i-${name}`, podCIDR: '10.244.1.0/24' },
    status: {
      addresses: [
        { type: 'InternalIP', address: '10.0.0.11' },
        { type: 'ExternalIP', address: '203.0.113.11' },
        { type: 'Hostname', address: `${name}.internal` },
      ],
      daemonEndpoints: { kubeletEndpoint: { Port: 10250 } },
    },
  };
}

/** A Namespace with one label and one annotation. */
export function rawNamespace(name = 'shop'): Record<string, unknown> {
  return {
    kind: 'Namespace',
    apiVersion: 'v1',
    metadata: {
      name,
      labels: { 'kubernetes.io/metadata.name': name, team: 'checkout' },
      annotations: { 'owner.example/contact': 'sre@example.com' },
    },
    status: { phase: 'Active' },
  };
}

/** A ClusterIP Service `web` in `shop` with one port. */
export function rawService(): Record<string, unknown> {
  return {
    metadata: { name: 'web', namespace: 'shop', uid: 'svc-uid', labels: { app: 'web' }, annotations: { 'prometheus.io/probe': 'true' } },
    spec: {
      type: 'ClusterIP',
      clusterIP: '10.96.12.34',
      clusterIPs: ['10.96.12.34'],
      selector: { app: 'web' },
      ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 'http-metrics' }],
    },
  };
}
