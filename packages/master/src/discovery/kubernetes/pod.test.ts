import { describe, expect, it } from '@jest/globals';
import { labelsFromObject, type TargetGroup } from '@promfleet/model';
import { rawNamespace, rawNode, rawPod } from './fixtures.js';
import { createStaticContext, type StaticContextOptions } from './meta.js';
import { slimJob, slimNamespace, slimNode, slimPod, slimReplicaSet } from './objects.js';
import { podGroup } from './pod.js';

const none = createStaticContext({});

function group(source: string, labels: Record<string, string>, targets: Record<string, string>[]): TargetGroup {
  return { source, labels: labelsFromObject(labels), targets: targets.map((t) => labelsFromObject(t)) };
}

/** The group labels of {@link rawPod} before any attached metadata. */
const podGroupLabels = {
  __meta_kubernetes_namespace: 'shop',
  __meta_kubernetes_pod_name: 'web-7d4b9c-x2x9k',
  __meta_kubernetes_pod_ip: '10.244.1.17',
  __meta_kubernetes_pod_ready: 'true',
  __meta_kubernetes_pod_phase: 'Running',
  __meta_kubernetes_pod_node_name: 'node-a',
  __meta_kubernetes_pod_host_ip: '10.0.0.11',
  __meta_kubernetes_pod_uid: '5c8e2b1a-0f3e-4d2c-9a1b-7e6f5d4c3b2a',
  __meta_kubernetes_pod_controller_kind: 'ReplicaSet',
  __meta_kubernetes_pod_controller_name: 'web-7d4b9c',
  __meta_kubernetes_pod_label_app: 'web',
  __meta_kubernetes_pod_labelpresent_app: 'true',
  __meta_kubernetes_pod_label_app_kubernetes_io_name: 'web',
  __meta_kubernetes_pod_labelpresent_app_kubernetes_io_name: 'true',
  __meta_kubernetes_pod_label_pod_template_hash: '7d4b9c',
  __meta_kubernetes_pod_labelpresent_pod_template_hash: 'true',
  __meta_kubernetes_pod_annotation_prometheus_io_scrape: 'true',
  __meta_kubernetes_pod_annotationpresent_prometheus_io_scrape: 'true',
};

/** The targets of {@link rawPod}: one per port of `app`, one port-free target for `sidecar`. */
const podTargets = [
  {
    __address__: '10.244.1.17:9000',
    __meta_kubernetes_pod_container_name: 'app',
    __meta_kubernetes_pod_container_id: 'containerd://aaa111',
    __meta_kubernetes_pod_container_image: 'registry.example/web:1.4.2',
    __meta_kubernetes_pod_container_init: 'false',
    __meta_kubernetes_pod_container_port_name: 'http-metrics',
    __meta_kubernetes_pod_container_port_number: '9000',
    __meta_kubernetes_pod_container_port_protocol: 'TCP',
  },
  {
    __address__: '10.244.1.17:9001',
    __meta_kubernetes_pod_container_name: 'app',
    __meta_kubernetes_pod_container_id: 'containerd://aaa111',
    __meta_kubernetes_pod_container_image: 'registry.example/web:1.4.2',
    __meta_kubernetes_pod_container_init: 'false',
    __meta_kubernetes_pod_container_port_name: 'statsd',
    __meta_kubernetes_pod_container_port_number: '9001',
    __meta_kubernetes_pod_container_port_protocol: 'UDP',
  },
  {
    __address__: '10.244.1.17',
    __meta_kubernetes_pod_container_name: 'sidecar',
    __meta_kubernetes_pod_container_id: 'containerd://bbb222',
    __meta_kubernetes_pod_container_image: 'registry.example/proxy:2.0',
    __meta_kubernetes_pod_container_init: 'false',
  },
];

const source = 'pod/shop/web-7d4b9c-x2x9k';

describe('podGroup', () => {
  it('builds the full label set of a multi-container pod', () => {
    expect(podGroup(slimPod(rawPod()), none)).toEqual(group(source, podGroupLabels, podTargets));
  });

  it('appends init containers after the containers, with their own statuses', () => {
    const raw = rawPod();
    const spec = raw['spec'] as Record<string, unknown>;
    const status = raw['status'] as Record<string, unknown>;
    spec['initContainers'] = [
      { name: 'migrate', image: 'registry.example/migrate:1' },
      { name: 'warmup', image: 'registry.example/warmup:1', ports: [{ name: 'debug', containerPort: 6060, protocol: 'TCP' }] },
    ];
    status['initContainerStatuses'] = [{ name: 'migrate', containerID: 'containerd://ccc333' }];
    status['phase'] = 'Pending';
    status['conditions'] = [{ type: 'Ready', status: 'False', reason: 'ContainersNotReady' }];
    const expected = group(source, { ...podGroupLabels, __meta_kubernetes_pod_phase: 'Pending', __meta_kubernetes_pod_ready: 'false' }, [
      ...podTargets,
      {
        __address__: '10.244.1.17',
        __meta_kubernetes_pod_container_name: 'migrate',
        __meta_kubernetes_pod_container_id: 'containerd://ccc333',
        __meta_kubernetes_pod_container_image: 'registry.example/migrate:1',
        __meta_kubernetes_pod_container_init: 'true',
      },
      {
        __address__: '10.244.1.17:6060',
        __meta_kubernetes_pod_container_name: 'warmup',
        __meta_kubernetes_pod_container_id: '',
        __meta_kubernetes_pod_container_image: 'registry.example/warmup:1',
        __meta_kubernetes_pod_container_init: 'true',
        __meta_kubernetes_pod_container_port_name: 'debug',
        __meta_kubernetes_pod_container_port_number: '6060',
        __meta_kubernetes_pod_container_port_protocol: 'TCP',
      },
    ]);
    expect(podGroup(slimPod(raw), none)).toEqual(expected);
  });

  it.each([
    ['no status at all', (status: Record<string, unknown>) => Object.keys(status).forEach((k) => delete status[k])],
    ['an empty podIP', (status: Record<string, unknown>) => (status['podIP'] = '')],
    ['a null podIP', (status: Record<string, unknown>) => (status['podIP'] = null)],
  ])('gives an empty group, which deletes the source, for a pod with %s', (_name, change) => {
    const raw = rawPod();
    change(raw['status'] as Record<string, unknown>);
    expect(podGroup(slimPod(raw), none)).toEqual({ source, targets: [], labels: new Map() });
  });

  it('brackets IPv6 pod IPs next to a port and leaves the bare address unbracketed, as Prometheus 3 does', () => {
    const raw = rawPod();
    const status = raw['status'] as Record<string, unknown>;
    status['podIP'] = 'fd00:10:244:1::17';
    const targets = podGroup(slimPod(raw), none).targets.map((t) => t.get('__address__'));
    expect(targets).toEqual(['[fd00:10:244:1::17]:9000', '[fd00:10:244:1::17]:9001', 'fd00:10:244:1::17']);
  });

  it('fills what a freshly scheduled pod lacks with the zero values Prometheus uses', () => {
    const raw = {
      kind: 'Pod',
      metadata: { name: 'bare', namespace: 'default' },
      spec: { containers: [{ name: 'c', image: 'busybox' }] },
      status: { podIP: '10.1.2.3' },
    };
    expect(podGroup(slimPod(raw), none)).toEqual(
      group(
        'pod/default/bare',
        {
          __meta_kubernetes_namespace: 'default',
          __meta_kubernetes_pod_name: 'bare',
          __meta_kubernetes_pod_ip: '10.1.2.3',
          __meta_kubernetes_pod_ready: 'unknown',
          __meta_kubernetes_pod_phase: '',
          __meta_kubernetes_pod_node_name: '',
          __meta_kubernetes_pod_host_ip: '',
          __meta_kubernetes_pod_uid: '',
        },
        [
          {
            __address__: '10.1.2.3',
            __meta_kubernetes_pod_container_name: 'c',
            __meta_kubernetes_pod_container_id: '',
            __meta_kubernetes_pod_container_image: 'busybox',
            __meta_kubernetes_pod_container_init: 'false',
          },
        ],
      ),
    );
  });

  it.each([
    ['no owner is a controller', [{ kind: 'ReplicaSet', name: 'rs', controller: false }], {}],
    ['the controller has no kind', [{ kind: '', name: 'rs', controller: true }], { __meta_kubernetes_pod_controller_name: 'rs' }],
    [
      'the first controller wins',
      [
        { kind: 'StatefulSet', name: 'db', controller: true },
        { kind: 'ReplicaSet', name: 'rs', controller: true },
      ],
      { __meta_kubernetes_pod_controller_kind: 'StatefulSet', __meta_kubernetes_pod_controller_name: 'db' },
    ],
  ])('sets controller labels only from a controller reference: %s', (_name, ownerReferences, expected) => {
    const raw = rawPod();
    (raw['metadata'] as Record<string, unknown>)['ownerReferences'] = ownerReferences;
    const labels = podGroup(slimPod(raw), none).labels;
    const controller = Object.fromEntries([...labels].filter(([name]) => name.startsWith('__meta_kubernetes_pod_controller_')));
    expect(controller).toEqual(expected);
  });

  it('sanitizes label and annotation keys rune by rune', () => {
    const raw = rawPod();
    (raw['metadata'] as Record<string, unknown>)['labels'] = { 'example.com/tier-🚀': 'x' };
    (raw['metadata'] as Record<string, unknown>)['annotations'] = {};
    const labels = podGroup(slimPod(raw), none).labels;
    expect(labels.get('__meta_kubernetes_pod_label_example_com_tier__')).toBe('x');
    expect(labels.get('__meta_kubernetes_pod_labelpresent_example_com_tier__')).toBe('true');
  });

  describe('attach_metadata', () => {
    const nodeLabels = {
      __meta_kubernetes_node_name: 'node-a',
      __meta_kubernetes_node_label_topology_kubernetes_io_zone: 'eu-west-1a',
      __meta_kubernetes_node_labelpresent_topology_kubernetes_io_zone: 'true',
      __meta_kubernetes_node_label_kubernetes_io_os: 'linux',
      __meta_kubernetes_node_labelpresent_kubernetes_io_os: 'true',
      __meta_kubernetes_node_annotation_node_alpha_kubernetes_io_ttl: '0',
      __meta_kubernetes_node_annotationpresent_node_alpha_kubernetes_io_ttl: 'true',
    };
    const namespaceLabels = {
      __meta_kubernetes_namespace_label_kubernetes_io_metadata_name: 'shop',
      __meta_kubernetes_namespace_labelpresent_kubernetes_io_metadata_name: 'true',
      __meta_kubernetes_namespace_label_team: 'checkout',
      __meta_kubernetes_namespace_labelpresent_team: 'true',
      __meta_kubernetes_namespace_annotation_owner_example_contact: 'sre@example.com',
      __meta_kubernetes_namespace_annotationpresent_owner_example_contact: 'true',
    };
    const objects: StaticContextOptions = { nodes: [slimNode(rawNode('node-a'))], namespaces: [slimNamespace(rawNamespace('shop'))] };

    it.each([
      ['nothing', { node: false, namespace: false }, {}],
      ['the node', { node: true, namespace: false }, nodeLabels],
      ['the namespace', { node: false, namespace: true }, namespaceLabels],
      ['both', { node: true, namespace: true }, { ...nodeLabels, ...namespaceLabels }],
    ])('attaches %s to the group labels', (_name, attachMetadata, extra) => {
      const context = createStaticContext({ ...objects, attachMetadata });
      expect(podGroup(slimPod(rawPod()), context)).toEqual(group(source, { ...podGroupLabels, ...extra }, podTargets));
    });

    it('attaches nothing when the namespace is not known', () => {
      const context = createStaticContext({ attachMetadata: { node: false, namespace: true } });
      expect(podGroup(slimPod(rawPod()), context)).toEqual(group(source, podGroupLabels, podTargets));
    });

    it('gives no targets for a pod whose node is not watched (a node selector excluded it, or it is gone), as Prometheus 3.11', () => {
      const elsewhere = createStaticContext({ nodes: [slimNode(rawNode('node-b'))], attachMetadata: { node: true, namespace: true } });
      expect(podGroup(slimPod(rawPod()), elsewhere)).toEqual({ source, targets: [], labels: new Map() });
      const unscheduled = slimPod(rawPod());
      expect(podGroup({ ...unscheduled, nodeName: '' }, elsewhere)).toEqual({ source, targets: [], labels: new Map() });
    });

    it('keeps the pods of unknown nodes without attach_metadata.node, whatever the selectors', () => {
      const context = createStaticContext({ nodes: [], attachMetadata: { node: false, namespace: false } });
      expect(podGroup(slimPod(rawPod()), context)).toEqual(group(source, podGroupLabels, podTargets));
    });
  });

  describe('attach_metadata deployment, job and cronjob (Prometheus 3.11)', () => {
    /** A workload object owned by `owner` (as its controller unless `controller` is false). */
    function owned(kind: 'ReplicaSet' | 'Job', name: string, owner?: { kind: string; name: string; controller?: boolean }): Record<string, unknown> {
      const ownerReferences = owner === undefined ? [] : [{ apiVersion: 'apps/v1', kind: owner.kind, name: owner.name, uid: 'o1', controller: owner.controller ?? true }];
      return { kind, metadata: { name, namespace: 'shop', ownerReferences } };
    }
    /** {@link rawPod} controlled by `kind`/`name`. */
    function podOf(kind: string, name: string): ReturnType<typeof slimPod> {
      const raw = rawPod();
      (raw['metadata'] as Record<string, unknown>)['ownerReferences'] = [{ apiVersion: 'batch/v1', kind, name, uid: 'c1', controller: true }];
      return slimPod(raw);
    }
    const workloadLabels = (group: TargetGroup) =>
      Object.fromEntries([...group.labels].filter(([name]) => /^__meta_kubernetes_pod_(deployment|job|cronjob)_name$/.test(name)));
    const all = { deployment: true, job: true, cronjob: true };
    const rs = slimReplicaSet(owned('ReplicaSet', 'web-7d4b9c', { kind: 'Deployment', name: 'web' }));
    const job = slimJob(owned('Job', 'backup-29012345', { kind: 'CronJob', name: 'backup' }));

    it.each([
      ['the Deployment of the controlling ReplicaSet', slimPod(rawPod()), [rs], all, { __meta_kubernetes_pod_deployment_name: 'web' }],
      ['nothing without the deployment key', slimPod(rawPod()), [rs], { job: true, cronjob: true }, {}],
      ['nothing when the ReplicaSet is not known', slimPod(rawPod()), [], all, {}],
      ['nothing for a bare ReplicaSet', slimPod(rawPod()), [slimReplicaSet(owned('ReplicaSet', 'web-7d4b9c'))], all, {}],
      ['nothing when the ReplicaSet\'s owner is not its controller', slimPod(rawPod()), [slimReplicaSet(owned('ReplicaSet', 'web-7d4b9c', { kind: 'Deployment', name: 'web', controller: false }))], all, {}],
      ['nothing when the ReplicaSet\'s controller is another kind', slimPod(rawPod()), [slimReplicaSet(owned('ReplicaSet', 'web-7d4b9c', { kind: 'Rollout', name: 'web' }))], all, {}],
      ['the Job and its CronJob', podOf('Job', 'backup-29012345'), [job], all, { __meta_kubernetes_pod_job_name: 'backup-29012345', __meta_kubernetes_pod_cronjob_name: 'backup' }],
      ['the Job alone with job only, even when the Job is not known', podOf('Job', 'backup-29012345'), [], { job: true }, { __meta_kubernetes_pod_job_name: 'backup-29012345' }],
      ['the CronJob alone with cronjob only', podOf('Job', 'backup-29012345'), [job], { cronjob: true }, { __meta_kubernetes_pod_cronjob_name: 'backup' }],
      ['no CronJob for a Job that no CronJob made', podOf('Job', 'once'), [slimJob(owned('Job', 'once'))], all, { __meta_kubernetes_pod_job_name: 'once' }],
      ['nothing for a pod a StatefulSet controls', podOf('StatefulSet', 'db'), [rs, job], all, {}],
      ['nothing for a Job of the same name in another kind\'s slot', podOf('Job', 'web-7d4b9c'), [rs], { cronjob: true }, {}],
    ])('labels %s', (_name, pod, workloads, attachMetadata, expected) => {
      const context = createStaticContext({ workloads, attachMetadata });
      expect(workloadLabels(podGroup(pod, context))).toEqual(expected);
    });
  });
});
