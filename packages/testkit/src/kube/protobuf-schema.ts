/**
 * The fake API server's table of Kubernetes protobuf messages: for each message, its fields by JSON name with the
 * field number and type of the upstream `generated.proto` (kubernetes/api, kubernetes/apimachinery) and whether the
 * Go field is a pointer. Written for the testkit on its own, apart from the master's decoding schema, so a wrong
 * number on either side fails the tests that connect them.
 *
 * The table covers every field the generated cluster and the churn write, the fields Prometheus' Kubernetes SD
 * reads, and the common ones around them; the encoder skips JSON keys the table does not know
 * (`unknownProtobufFields` lists them).
 */

/** How a field's value goes on the wire. */
export type ScalarType =
  | 'string'
  | 'int32'
  | 'int64'
  | 'bool'
  /** `metav1.Time`: `{1 seconds, 2 nanos}` with nanos always 0; a zero (JSON null) time is an empty message. */
  | 'time'
  /** `metav1.MicroTime`: `{1 seconds, 2 nanos}` with the microseconds as nanos. */
  | 'microTime'
  /** `intstr.IntOrString`: `{1 type, 2 intVal, 3 strVal}`, all three always written. */
  | 'intOrString'
  /** `map<string, string>`: repeated `{1 key, 2 value}` entries, sorted by key. */
  | 'stringMap'
  /** `map<string, resource.Quantity>`: entries whose value is `Quantity{1 string}`. */
  | 'quantityMap'
  /** `map<string, bytes>` whose JSON values are base64 (Secret and ConfigMap binary data). */
  | 'bytesMap'
  /** `metav1.FieldsV1{1 Raw}`: the JSON value's own JSON text as bytes. */
  | 'fieldsV1';

/** One field of a {@link MessageSchema}. */
export interface FieldSchema {
  /** The JSON key; for an inline field, a name for messages only. */
  readonly json: string;
  readonly no: number;
  readonly type: ScalarType | MessageSchema;
  readonly repeated: boolean;
  /**
   * A Go pointer (or a list, map or `omitempty` struct behind one): written only when the JSON has a non-null
   * value. Every other field is always written, its zero value when the JSON leaves it out, as gogo-protobuf does.
   */
  readonly optional: boolean;
  /** The field's JSON is the enclosing object itself (Go struct embedding: `IngressRule.IngressRuleValue`). */
  readonly inline: boolean;
}

/** A Kubernetes protobuf message. */
export interface MessageSchema {
  readonly name: string;
  readonly fields: readonly FieldSchema[];
}

/** A field that is always written (Go non-pointer). */
const one = (json: string, no: number, type: ScalarType | MessageSchema): FieldSchema => ({ json, no, type, repeated: false, optional: false, inline: false });
/** A Go pointer field, written only when present. */
const opt = (json: string, no: number, type: ScalarType | MessageSchema): FieldSchema => ({ ...one(json, no, type), optional: true });
/** A repeated field (a Go slice; nothing is written for an empty or absent one). */
const many = (json: string, no: number, type: ScalarType | MessageSchema): FieldSchema => ({ ...one(json, no, type), repeated: true });

function message(name: string, fields: readonly FieldSchema[]): MessageSchema {
  return { name, fields: [...fields].sort((a, b) => a.no - b.no) };
}

// --- k8s.io/apimachinery: runtime and meta/v1 ---

export const typeMetaSchema = message('runtime.TypeMeta', [one('apiVersion', 1, 'string'), one('kind', 2, 'string')]);

const ownerReference = message('OwnerReference', [
  one('kind', 1, 'string'),
  one('name', 3, 'string'),
  one('uid', 4, 'string'),
  one('apiVersion', 5, 'string'),
  opt('controller', 6, 'bool'),
  opt('blockOwnerDeletion', 7, 'bool'),
]);

const managedFieldsEntry = message('ManagedFieldsEntry', [
  one('manager', 1, 'string'),
  one('operation', 2, 'string'),
  one('apiVersion', 3, 'string'),
  opt('time', 4, 'time'),
  one('fieldsType', 6, 'string'),
  opt('fieldsV1', 7, 'fieldsV1'),
  one('subresource', 8, 'string'),
]);

export const objectMetaSchema = message('ObjectMeta', [
  one('name', 1, 'string'),
  one('generateName', 2, 'string'),
  one('namespace', 3, 'string'),
  one('selfLink', 4, 'string'),
  one('uid', 5, 'string'),
  one('resourceVersion', 6, 'string'),
  one('generation', 7, 'int64'),
  one('creationTimestamp', 8, 'time'),
  opt('deletionTimestamp', 9, 'time'),
  opt('deletionGracePeriodSeconds', 10, 'int64'),
  one('labels', 11, 'stringMap'),
  one('annotations', 12, 'stringMap'),
  many('ownerReferences', 13, ownerReference),
  many('finalizers', 14, 'string'),
  many('managedFields', 17, managedFieldsEntry),
]);

export const listMetaSchema = message('ListMeta', [
  one('selfLink', 1, 'string'),
  one('resourceVersion', 2, 'string'),
  one('continue', 3, 'string'),
  opt('remainingItemCount', 4, 'int64'),
]);

const statusCause = message('StatusCause', [one('reason', 1, 'string'), one('message', 2, 'string'), one('field', 3, 'string')]);

const statusDetails = message('StatusDetails', [
  one('name', 1, 'string'),
  one('group', 2, 'string'),
  one('kind', 3, 'string'),
  many('causes', 4, statusCause),
  one('retryAfterSeconds', 5, 'int32'),
  one('uid', 6, 'string'),
]);

export const statusSchema = message('Status', [
  one('metadata', 1, listMetaSchema),
  one('status', 2, 'string'),
  one('message', 3, 'string'),
  one('reason', 4, 'string'),
  opt('details', 5, statusDetails),
  one('code', 6, 'int32'),
]);

const labelSelectorRequirement = message('LabelSelectorRequirement', [one('key', 1, 'string'), one('operator', 2, 'string'), many('values', 3, 'string')]);

const labelSelector = message('LabelSelector', [one('matchLabels', 1, 'stringMap'), many('matchExpressions', 2, labelSelectorRequirement)]);

const metaCondition = message('Condition', [
  one('type', 1, 'string'),
  one('status', 2, 'string'),
  one('observedGeneration', 3, 'int64'),
  one('lastTransitionTime', 4, 'time'),
  one('reason', 5, 'string'),
  one('message', 6, 'string'),
]);

// --- k8s.io/api/core/v1 ---

const objectReference = message('ObjectReference', [
  one('kind', 1, 'string'),
  one('namespace', 2, 'string'),
  one('name', 3, 'string'),
  one('uid', 4, 'string'),
  one('apiVersion', 5, 'string'),
  one('resourceVersion', 6, 'string'),
  one('fieldPath', 7, 'string'),
]);

const localObjectReference = message('LocalObjectReference', [one('name', 1, 'string')]);

const containerPort = message('ContainerPort', [
  one('name', 1, 'string'),
  one('hostPort', 2, 'int32'),
  one('containerPort', 3, 'int32'),
  one('protocol', 4, 'string'),
  one('hostIP', 5, 'string'),
]);

const envVar = message('EnvVar', [one('name', 1, 'string'), one('value', 2, 'string')]);

const resourceRequirements = message('ResourceRequirements', [one('limits', 1, 'quantityMap'), one('requests', 2, 'quantityMap')]);

const container = message('Container', [
  one('name', 1, 'string'),
  one('image', 2, 'string'),
  many('command', 3, 'string'),
  many('args', 4, 'string'),
  one('workingDir', 5, 'string'),
  many('ports', 6, containerPort),
  many('env', 7, envVar),
  one('resources', 8, resourceRequirements),
  one('terminationMessagePath', 13, 'string'),
  one('imagePullPolicy', 14, 'string'),
  one('stdin', 16, 'bool'),
  one('stdinOnce', 17, 'bool'),
  one('tty', 18, 'bool'),
  one('terminationMessagePolicy', 20, 'string'),
  opt('restartPolicy', 24, 'string'),
]);

const toleration = message('Toleration', [
  one('key', 1, 'string'),
  one('operator', 2, 'string'),
  one('value', 3, 'string'),
  one('effect', 4, 'string'),
  opt('tolerationSeconds', 5, 'int64'),
]);

const podSpec = message('PodSpec', [
  many('containers', 2, container),
  one('restartPolicy', 3, 'string'),
  opt('terminationGracePeriodSeconds', 4, 'int64'),
  opt('activeDeadlineSeconds', 5, 'int64'),
  one('dnsPolicy', 6, 'string'),
  one('nodeSelector', 7, 'stringMap'),
  one('serviceAccountName', 8, 'string'),
  one('serviceAccount', 9, 'string'),
  one('nodeName', 10, 'string'),
  one('hostNetwork', 11, 'bool'),
  one('hostPID', 12, 'bool'),
  one('hostIPC', 13, 'bool'),
  many('imagePullSecrets', 15, localObjectReference),
  one('hostname', 16, 'string'),
  one('subdomain', 17, 'string'),
  one('schedulerName', 19, 'string'),
  many('initContainers', 20, container),
  opt('automountServiceAccountToken', 21, 'bool'),
  many('tolerations', 22, toleration),
  one('priorityClassName', 24, 'string'),
  opt('priority', 25, 'int32'),
  opt('shareProcessNamespace', 27, 'bool'),
  opt('runtimeClassName', 29, 'string'),
  opt('enableServiceLinks', 30, 'bool'),
  opt('preemptionPolicy', 31, 'string'),
]);

const podCondition = message('PodCondition', [
  one('type', 1, 'string'),
  one('status', 2, 'string'),
  one('lastProbeTime', 3, 'time'),
  one('lastTransitionTime', 4, 'time'),
  one('reason', 5, 'string'),
  one('message', 6, 'string'),
  one('observedGeneration', 7, 'int64'),
]);

/** `PodIP` and `HostIP` share this shape. */
const ipAddress = message('PodIP', [one('ip', 1, 'string')]);

const containerState = message('ContainerState', [
  opt('waiting', 1, message('ContainerStateWaiting', [one('reason', 1, 'string'), one('message', 2, 'string')])),
  opt('running', 2, message('ContainerStateRunning', [one('startedAt', 1, 'time')])),
  opt(
    'terminated',
    3,
    message('ContainerStateTerminated', [
      one('exitCode', 1, 'int32'),
      one('signal', 2, 'int32'),
      one('reason', 3, 'string'),
      one('message', 4, 'string'),
      one('startedAt', 5, 'time'),
      one('finishedAt', 6, 'time'),
      one('containerID', 7, 'string'),
    ]),
  ),
]);

const containerStatus = message('ContainerStatus', [
  one('name', 1, 'string'),
  one('state', 2, containerState),
  one('lastState', 3, containerState),
  one('ready', 4, 'bool'),
  one('restartCount', 5, 'int32'),
  one('image', 6, 'string'),
  one('imageID', 7, 'string'),
  one('containerID', 8, 'string'),
  opt('started', 9, 'bool'),
]);

const podStatus = message('PodStatus', [
  one('phase', 1, 'string'),
  many('conditions', 2, podCondition),
  one('message', 3, 'string'),
  one('reason', 4, 'string'),
  one('hostIP', 5, 'string'),
  one('podIP', 6, 'string'),
  opt('startTime', 7, 'time'),
  many('containerStatuses', 8, containerStatus),
  one('qosClass', 9, 'string'),
  many('initContainerStatuses', 10, containerStatus),
  one('nominatedNodeName', 11, 'string'),
  many('podIPs', 12, ipAddress),
  many('ephemeralContainerStatuses', 13, containerStatus),
  one('resize', 14, 'string'),
  many('hostIPs', 16, ipAddress),
  one('observedGeneration', 17, 'int64'),
]);

const pod = message('Pod', [one('metadata', 1, objectMetaSchema), one('spec', 2, podSpec), one('status', 3, podStatus)]);

const podTemplateSpec = message('PodTemplateSpec', [one('metadata', 1, objectMetaSchema), one('spec', 2, podSpec)]);

const taint = message('Taint', [one('key', 1, 'string'), one('value', 2, 'string'), one('effect', 3, 'string'), opt('timeAdded', 4, 'time')]);

const nodeSpec = message('NodeSpec', [
  one('podCIDR', 1, 'string'),
  one('externalID', 2, 'string'),
  one('providerID', 3, 'string'),
  one('unschedulable', 4, 'bool'),
  many('taints', 5, taint),
  many('podCIDRs', 7, 'string'),
]);

const nodeCondition = message('NodeCondition', [
  one('type', 1, 'string'),
  one('status', 2, 'string'),
  one('lastHeartbeatTime', 3, 'time'),
  one('lastTransitionTime', 4, 'time'),
  one('reason', 5, 'string'),
  one('message', 6, 'string'),
]);

const nodeSystemInfo = message('NodeSystemInfo', [
  one('machineID', 1, 'string'),
  one('systemUUID', 2, 'string'),
  one('bootID', 3, 'string'),
  one('kernelVersion', 4, 'string'),
  one('osImage', 5, 'string'),
  one('containerRuntimeVersion', 6, 'string'),
  one('kubeletVersion', 7, 'string'),
  one('kubeProxyVersion', 8, 'string'),
  one('operatingSystem', 9, 'string'),
  one('architecture', 10, 'string'),
]);

const nodeStatus = message('NodeStatus', [
  one('capacity', 1, 'quantityMap'),
  one('allocatable', 2, 'quantityMap'),
  one('phase', 3, 'string'),
  many('conditions', 4, nodeCondition),
  many('addresses', 5, message('NodeAddress', [one('type', 1, 'string'), one('address', 2, 'string')])),
  // The Go field of DaemonEndpoint is `Port`, and so is its JSON key.
  one('daemonEndpoints', 6, message('NodeDaemonEndpoints', [one('kubeletEndpoint', 1, message('DaemonEndpoint', [one('Port', 1, 'int32')]))])),
  one('nodeInfo', 7, nodeSystemInfo),
  many('images', 8, message('ContainerImage', [many('names', 1, 'string'), one('sizeBytes', 2, 'int64')])),
  many('volumesInUse', 9, 'string'),
]);

const node = message('Node', [one('metadata', 1, objectMetaSchema), one('spec', 2, nodeSpec), one('status', 3, nodeStatus)]);

const namespaceCondition = message('NamespaceCondition', [
  one('type', 1, 'string'),
  one('status', 2, 'string'),
  one('lastTransitionTime', 4, 'time'),
  one('reason', 5, 'string'),
  one('message', 6, 'string'),
]);

const namespace = message('Namespace', [
  one('metadata', 1, objectMetaSchema),
  one('spec', 2, message('NamespaceSpec', [many('finalizers', 1, 'string')])),
  one('status', 3, message('NamespaceStatus', [one('phase', 1, 'string'), many('conditions', 2, namespaceCondition)])),
]);

const portStatus = message('PortStatus', [one('port', 1, 'int32'), one('protocol', 2, 'string'), opt('error', 3, 'string')]);

const servicePort = message('ServicePort', [
  one('name', 1, 'string'),
  one('protocol', 2, 'string'),
  one('port', 3, 'int32'),
  one('targetPort', 4, 'intOrString'),
  one('nodePort', 5, 'int32'),
  opt('appProtocol', 6, 'string'),
]);

const serviceSpec = message('ServiceSpec', [
  many('ports', 1, servicePort),
  one('selector', 2, 'stringMap'),
  one('clusterIP', 3, 'string'),
  one('type', 4, 'string'),
  many('externalIPs', 5, 'string'),
  one('sessionAffinity', 7, 'string'),
  one('loadBalancerIP', 8, 'string'),
  many('loadBalancerSourceRanges', 9, 'string'),
  one('externalName', 10, 'string'),
  one('externalTrafficPolicy', 11, 'string'),
  one('healthCheckNodePort', 12, 'int32'),
  one('publishNotReadyAddresses', 13, 'bool'),
  opt('ipFamilyPolicy', 17, 'string'),
  many('clusterIPs', 18, 'string'),
  many('ipFamilies', 19, 'string'),
  opt('allocateLoadBalancerNodePorts', 20, 'bool'),
  opt('loadBalancerClass', 21, 'string'),
  opt('internalTrafficPolicy', 22, 'string'),
  opt('trafficDistribution', 23, 'string'),
]);

const loadBalancerIngress = message('LoadBalancerIngress', [
  one('ip', 1, 'string'),
  one('hostname', 2, 'string'),
  opt('ipMode', 3, 'string'),
  many('ports', 4, portStatus),
]);

const serviceStatus = message('ServiceStatus', [
  one('loadBalancer', 1, message('LoadBalancerStatus', [many('ingress', 1, loadBalancerIngress)])),
  many('conditions', 2, metaCondition),
]);

const service = message('Service', [one('metadata', 1, objectMetaSchema), one('spec', 2, serviceSpec), one('status', 3, serviceStatus)]);

const endpointAddress = message('EndpointAddress', [
  one('ip', 1, 'string'),
  opt('targetRef', 2, objectReference),
  one('hostname', 3, 'string'),
  opt('nodeName', 4, 'string'),
]);

const coreEndpointPort = message('EndpointPort', [one('name', 1, 'string'), one('port', 2, 'int32'), one('protocol', 3, 'string'), opt('appProtocol', 4, 'string')]);

const endpoints = message('Endpoints', [
  one('metadata', 1, objectMetaSchema),
  many(
    'subsets',
    2,
    message('EndpointSubset', [many('addresses', 1, endpointAddress), many('notReadyAddresses', 2, endpointAddress), many('ports', 3, coreEndpointPort)]),
  ),
]);

const secret = message('Secret', [
  one('metadata', 1, objectMetaSchema),
  one('data', 2, 'bytesMap'),
  one('type', 3, 'string'),
  one('stringData', 4, 'stringMap'),
  opt('immutable', 5, 'bool'),
]);

const configMap = message('ConfigMap', [one('metadata', 1, objectMetaSchema), one('data', 2, 'stringMap'), one('binaryData', 3, 'bytesMap'), opt('immutable', 4, 'bool')]);

// --- k8s.io/api/discovery/v1 ---

const endpointConditions = message('EndpointConditions', [opt('ready', 1, 'bool'), opt('serving', 2, 'bool'), opt('terminating', 3, 'bool')]);

const endpointHints = message('EndpointHints', [
  many('forZones', 1, message('ForZone', [one('name', 1, 'string')])),
  many('forNodes', 2, message('ForNode', [one('name', 1, 'string')])),
]);

const endpoint = message('Endpoint', [
  many('addresses', 1, 'string'),
  one('conditions', 2, endpointConditions),
  opt('hostname', 3, 'string'),
  opt('targetRef', 4, objectReference),
  one('deprecatedTopology', 5, 'stringMap'),
  opt('nodeName', 6, 'string'),
  opt('zone', 7, 'string'),
  opt('hints', 8, endpointHints),
]);

const discoveryEndpointPort = message('EndpointPort', [opt('name', 1, 'string'), opt('protocol', 2, 'string'), opt('port', 3, 'int32'), opt('appProtocol', 4, 'string')]);

const endpointSlice = message('EndpointSlice', [
  one('metadata', 1, objectMetaSchema),
  many('endpoints', 2, endpoint),
  many('ports', 3, discoveryEndpointPort),
  one('addressType', 4, 'string'),
]);

// --- k8s.io/api/networking/v1 ---

const ingressBackend = message('IngressBackend', [
  opt('resource', 3, message('TypedLocalObjectReference', [opt('apiGroup', 1, 'string'), one('kind', 2, 'string'), one('name', 3, 'string')])),
  opt(
    'service',
    4,
    message('IngressServiceBackend', [one('name', 1, 'string'), one('port', 2, message('ServiceBackendPort', [one('name', 1, 'string'), one('number', 2, 'int32')]))]),
  ),
]);

const httpIngressPath = message('HTTPIngressPath', [one('path', 1, 'string'), one('backend', 2, ingressBackend), opt('pathType', 3, 'string')]);

/** JSON inlines `IngressRuleValue` into the rule (`rules[].http`); protobuf nests it as field 2. */
const ingressRule = message('IngressRule', [
  one('host', 1, 'string'),
  { ...one('ingressRuleValue', 2, message('IngressRuleValue', [opt('http', 1, message('HTTPIngressRuleValue', [many('paths', 1, httpIngressPath)]))])), inline: true },
]);

const ingressSpec = message('IngressSpec', [
  opt('defaultBackend', 1, ingressBackend),
  many('tls', 2, message('IngressTLS', [many('hosts', 1, 'string'), one('secretName', 2, 'string')])),
  many('rules', 3, ingressRule),
  opt('ingressClassName', 4, 'string'),
]);

const ingressLoadBalancerIngress = message('IngressLoadBalancerIngress', [
  one('ip', 1, 'string'),
  one('hostname', 2, 'string'),
  many('ports', 4, message('IngressPortStatus', [one('port', 1, 'int32'), one('protocol', 2, 'string'), opt('error', 3, 'string')])),
]);

const ingress = message('Ingress', [
  one('metadata', 1, objectMetaSchema),
  one('spec', 2, ingressSpec),
  one('status', 3, message('IngressStatus', [one('loadBalancer', 1, message('IngressLoadBalancerStatus', [many('ingress', 1, ingressLoadBalancerIngress)]))])),
]);

// --- k8s.io/api/apps/v1, batch/v1, coordination/v1 ---

const replicaSet = message('ReplicaSet', [
  one('metadata', 1, objectMetaSchema),
  one(
    'spec',
    2,
    message('ReplicaSetSpec', [opt('replicas', 1, 'int32'), opt('selector', 2, labelSelector), one('template', 3, podTemplateSpec), one('minReadySeconds', 4, 'int32')]),
  ),
  one(
    'status',
    3,
    message('ReplicaSetStatus', [
      one('replicas', 1, 'int32'),
      one('fullyLabeledReplicas', 2, 'int32'),
      one('observedGeneration', 3, 'int64'),
      one('readyReplicas', 4, 'int32'),
      one('availableReplicas', 5, 'int32'),
      many(
        'conditions',
        6,
        message('ReplicaSetCondition', [
          one('type', 1, 'string'),
          one('status', 2, 'string'),
          one('lastTransitionTime', 3, 'time'),
          one('reason', 4, 'string'),
          one('message', 5, 'string'),
        ]),
      ),
      opt('terminatingReplicas', 7, 'int32'),
    ]),
  ),
]);

const jobCondition = message('JobCondition', [
  one('type', 1, 'string'),
  one('status', 2, 'string'),
  one('lastProbeTime', 3, 'time'),
  one('lastTransitionTime', 4, 'time'),
  one('reason', 5, 'string'),
  one('message', 6, 'string'),
]);

const job = message('Job', [
  one('metadata', 1, objectMetaSchema),
  one(
    'spec',
    2,
    message('JobSpec', [
      opt('parallelism', 1, 'int32'),
      opt('completions', 2, 'int32'),
      opt('activeDeadlineSeconds', 3, 'int64'),
      opt('selector', 4, labelSelector),
      opt('manualSelector', 5, 'bool'),
      one('template', 6, podTemplateSpec),
      opt('backoffLimit', 7, 'int32'),
      opt('ttlSecondsAfterFinished', 8, 'int32'),
      opt('completionMode', 9, 'string'),
      opt('suspend', 10, 'bool'),
      opt('podReplacementPolicy', 14, 'string'),
      opt('managedBy', 15, 'string'),
    ]),
  ),
  one(
    'status',
    3,
    message('JobStatus', [
      many('conditions', 1, jobCondition),
      opt('startTime', 2, 'time'),
      opt('completionTime', 3, 'time'),
      one('active', 4, 'int32'),
      one('succeeded', 5, 'int32'),
      one('failed', 6, 'int32'),
      one('completedIndexes', 7, 'string'),
      opt('ready', 9, 'int32'),
      opt('failedIndexes', 10, 'string'),
      opt('terminating', 11, 'int32'),
    ]),
  ),
]);

const lease = message('Lease', [
  one('metadata', 1, objectMetaSchema),
  one(
    'spec',
    2,
    message('LeaseSpec', [
      opt('holderIdentity', 1, 'string'),
      opt('leaseDurationSeconds', 2, 'int32'),
      opt('acquireTime', 3, 'microTime'),
      opt('renewTime', 4, 'microTime'),
      opt('leaseTransitions', 5, 'int32'),
      opt('strategy', 6, 'string'),
      opt('preferredHolder', 7, 'string'),
    ]),
  ),
]);

/** The message of each built-in kind the fake serves, by `apiVersion/kind`. */
export const kindSchemas: ReadonlyMap<string, MessageSchema> = new Map([
  ['v1/Pod', pod],
  ['v1/Service', service],
  ['v1/Endpoints', endpoints],
  ['v1/Node', node],
  ['v1/Namespace', namespace],
  ['v1/Secret', secret],
  ['v1/ConfigMap', configMap],
  ['discovery.k8s.io/v1/EndpointSlice', endpointSlice],
  ['networking.k8s.io/v1/Ingress', ingress],
  ['apps/v1/ReplicaSet', replicaSet],
  ['batch/v1/Job', job],
  ['coordination.k8s.io/v1/Lease', lease],
]);
