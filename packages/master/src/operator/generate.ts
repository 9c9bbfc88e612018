/**
 * prometheus-operator resources → Prometheus scrape config mappings, as prometheus-operator's config generator
 * (pkg/prometheus/promcfg.go: `generateServiceMonitorConfig`, `generatePodMonitorConfig`, `generateProbeConfig`,
 * `generateScrapeConfig`) writes them for Prometheus 3: the same job names, service discovery, relabeling in the
 * same order, limits and HTTP client settings. The output is the YAML-shaped mapping Prometheus would read; decode.ts
 * runs it through promfleet's own config loader.
 *
 * Differences, on purpose:
 * - no sharding relabeling (`__tmp_hash` hashmod and the `$(SHARD)` keep): promfleet spreads targets over its workers
 *   itself, so every target is kept;
 * - Secret and ConfigMap values are put inline (`ca`, `cert`, `key`, `password`, `credentials`, `bearer_token`), as
 *   prometheus-operator does with inline TLS, rather than as files mounted into a Prometheus pod;
 * - a reference to a missing Secret or key, `oauth2`, a scrape class, and service discovery promfleet does not run
 *   reject the resource with a reason, where prometheus-operator would log and leave the key out;
 * - no `api_server` / `apiserverConfig`: the generated Kubernetes SD uses the master's own API connection.
 */
import { parseSize } from '@promfleet/model';
import { objects, optBool, optInt, optObject, optString, strings, FieldError, type JsonObject } from '../discovery/kubernetes/json.js';
import { AssetReader, authorization, basicAuth, endpointHttpClient, proxyConfig, tlsConfig, type RawMapping } from './http.js';
import { ResourceRejectedError, type AssetLookup, type OperatorKind, type OperatorResource } from './resource.js';

/** Which Kubernetes role ServiceMonitors discover with (`serviceDiscoveryRole`). */
export type EndpointRole = 'endpoints' | 'endpointslice';

/** A resource kept out of `enforcedNamespaceLabel` (`excludedFromEnforcement`): `name` undefined means all of them. */
export interface EnforcementExclusion {
  readonly kind: OperatorKind;
  readonly namespace: string;
  readonly name?: string;
}

/** Limits the Prometheus resource enforces (`enforcedSampleLimit`...); 0 or undefined for none. */
export interface EnforcedLimits {
  readonly sampleLimit?: number;
  readonly targetLimit?: number;
  readonly labelLimit?: number;
  readonly labelNameLengthLimit?: number;
  readonly labelValueLengthLimit?: number;
  readonly keepDroppedTargets?: number;
  /** A Prometheus size such as `10MB`. */
  readonly bodySizeLimit?: string;
}

/** The settings of the `Prometheus` resource that change what is generated. */
export interface GenerationOptions {
  /** The role of ServiceMonitors that do not set their own `serviceDiscoveryRole`. */
  readonly serviceDiscoveryRole: EndpointRole;
  /** Every resource discovers only its own namespace, whatever its `namespaceSelector`. */
  readonly ignoreNamespaceSelectors: boolean;
  /** A label set to the resource's namespace on every target and sample, after the resource's own relabeling. */
  readonly enforcedNamespaceLabel?: string;
  readonly excludedFromEnforcement: readonly EnforcementExclusion[];
  readonly enforcedLimits: EnforcedLimits;
  /** Pod labels copied onto every ServiceMonitor and PodMonitor target, after the resource's own `podTargetLabels`. */
  readonly podTargetLabels: readonly string[];
  /** `honor_labels` is always false. */
  readonly overrideHonorLabels: boolean;
  /** `honor_timestamps` is always false. */
  readonly overrideHonorTimestamps: boolean;
}

/** prometheus-operator's defaults: a `Prometheus` resource with none of these fields set. */
export const defaultGenerationOptions: GenerationOptions = {
  serviceDiscoveryRole: 'endpoints',
  ignoreNamespaceSelectors: false,
  excludedFromEnforcement: [],
  enforcedLimits: {},
  podTargetLabels: [],
  overrideHonorLabels: false,
  overrideHonorTimestamps: false,
};

/**
 * The scrape config mappings prometheus-operator generates for `resource`: one per endpoint of a ServiceMonitor or
 * PodMonitor, one for a Probe or ScrapeConfig.
 *
 * @throws ResourceRejectedError (or a FieldError for a field of the wrong type) when the resource cannot be turned
 *   into scrape configs.
 */
export function generateJobs(resource: OperatorResource, lookup: AssetLookup, options: GenerationOptions): RawMapping[] {
  const generator = new Generator(resource, lookup, options);
  switch (resource.kind) {
    case 'ServiceMonitor':
      return generator.serviceMonitor();
    case 'PodMonitor':
      return generator.podMonitor();
    case 'Probe':
      return [generator.probe()];
    case 'ScrapeConfig':
      return [generator.scrapeConfig()];
  }
}

const maxLimit = Number.MAX_SAFE_INTEGER;

/** `sanitizeLabelName`: every character outside `[a-zA-Z0-9_]` becomes `_`. */
export function sanitizeLabelName(name: string): string {
  return name.replace(/[^a-zA-Z0-9_]/gu, '_');
}

/** `generateRelabelConfig`: the operator's camelCase relabel fields as Prometheus keys, lower-case action. */
function relabelRules(holder: JsonObject, key: string, path: string): RawMapping[] {
  return objects(holder, key, {
    path,
    read: (rule, at) => {
      const out: RawMapping = {};
      const sources = strings(rule, 'sourceLabels', at);
      if (sources.length > 0) out['source_labels'] = sources;
      const separator = optString(rule, 'separator', at);
      if (separator !== undefined) out['separator'] = separator;
      const target = optString(rule, 'targetLabel', at) ?? '';
      if (target !== '') out['target_label'] = target;
      const regex = optString(rule, 'regex', at) ?? '';
      if (regex !== '') out['regex'] = regex;
      const modulus = optInt(rule, 'modulus', { path: at, min: 0, max: maxLimit }) ?? 0;
      if (modulus !== 0) out['modulus'] = modulus;
      const replacement = optString(rule, 'replacement', at);
      if (replacement !== undefined) out['replacement'] = replacement;
      const action = optString(rule, 'action', at) ?? '';
      if (action !== '') out['action'] = action.toLowerCase();
      return out;
    },
  });
}

interface Expression {
  readonly key: string;
  readonly operator: string;
  readonly values: readonly string[];
}

/** A `metav1.LabelSelector`: `matchLabels` and `matchExpressions`. */
interface MetaSelector {
  readonly matchLabels: ReadonlyMap<string, string>;
  readonly matchExpressions: readonly Expression[];
}

function readSelector(holder: JsonObject, key: string, path: string): MetaSelector {
  const selector = optObject(holder, key, path) ?? {};
  const at = `${path === '' ? '' : `${path}.`}${key}`;
  const labels = optObject(selector, 'matchLabels', at) ?? {};
  const matchLabels = new Map<string, string>();
  for (const [name, value] of Object.entries(labels)) {
    if (typeof value !== 'string') throw new FieldError(`${at}.matchLabels[${JSON.stringify(name)}]: expected string`);
    matchLabels.set(name, value);
  }
  const matchExpressions = objects(selector, 'matchExpressions', {
    path: at,
    read: (e, p): Expression => {
      const operator = optString(e, 'operator', p) ?? '';
      if (!['In', 'NotIn', 'Exists', 'DoesNotExist'].includes(operator)) {
        throw new ResourceRejectedError(`${p}.operator: ${JSON.stringify(operator)} is not a valid label selector operator (In, NotIn, Exists, DoesNotExist)`);
      }
      return { key: optString(e, 'key', p) ?? '', operator, values: strings(e, 'values', p) };
    },
  });
  return { matchLabels, matchExpressions };
}

/** The keep/drop rules that filter targets by the selector on `__meta_kubernetes_<role>_label_*`. */
function selectorRelabeling(selector: MetaSelector, role: 'service' | 'pod' | 'ingress'): RawMapping[] {
  const label = (k: string) => `__meta_kubernetes_${role}_label_${sanitizeLabelName(k)}`;
  const present = (k: string) => `__meta_kubernetes_${role}_labelpresent_${sanitizeLabelName(k)}`;
  const rules: RawMapping[] = [];
  for (const key of [...selector.matchLabels.keys()].sort()) {
    rules.push({ action: 'keep', source_labels: [label(key), present(key)], regex: `(${selector.matchLabels.get(key) ?? ''});true` });
  }
  for (const e of selector.matchExpressions) {
    switch (e.operator) {
      case 'In':
      case 'NotIn':
        rules.push({ action: e.operator === 'In' ? 'keep' : 'drop', source_labels: [label(e.key), present(e.key)], regex: `(${e.values.join('|')});true` });
        break;
      case 'Exists':
      case 'DoesNotExist':
        rules.push({ action: e.operator === 'Exists' ? 'keep' : 'drop', source_labels: [present(e.key)], regex: 'true' });
        break;
    }
  }
  return rules;
}

/** `metav1.LabelSelectorAsSelector(...).String()`: requirements sorted by key, set values sorted. */
export function selectorString(selector: MetaSelector): string {
  const parts: { key: string; text: string }[] = [];
  for (const [key, value] of selector.matchLabels) parts.push({ key, text: `${key}=${value}` });
  for (const e of selector.matchExpressions) {
    const values = [...e.values].sort().join(',');
    const text = e.operator === 'In' ? `${e.key} in (${values})` : e.operator === 'NotIn' ? `${e.key} notin (${values})` : e.operator === 'Exists' ? e.key : `!${e.key}`;
    parts.push({ key: e.key, text });
  }
  return parts
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
    .map((p) => p.text)
    .join(',');
}

const runningFilter: RawMapping = { action: 'drop', source_labels: ['__meta_kubernetes_pod_phase'], regex: '(Failed|Succeeded)' };
const jobNameToMeta: RawMapping = { source_labels: ['job'], target_label: '__tmp_prometheus_job_name' };

/** Generation for one resource: its namespace's Secrets, the options, and the field readers. */
class Generator {
  readonly #r: OperatorResource;
  readonly #o: GenerationOptions;
  readonly #assets: AssetReader;

  constructor(resource: OperatorResource, lookup: AssetLookup, options: GenerationOptions) {
    this.#r = resource;
    this.#o = options;
    this.#assets = new AssetReader(lookup, resource.namespace);
  }

  serviceMonitor(): RawMapping[] {
    const spec = this.#r.spec;
    this.#refuseScrapeClass();
    const selector = readSelector(spec, 'selector', 'spec');
    const roleName = optString(spec, 'serviceDiscoveryRole', 'spec');
    if (roleName !== undefined && roleName !== 'Endpoints' && roleName !== 'EndpointSlice') {
      throw new ResourceRejectedError(`spec.serviceDiscoveryRole: ${JSON.stringify(roleName)} is not Endpoints or EndpointSlice`);
    }
    const role: EndpointRole = roleName === undefined ? this.#o.serviceDiscoveryRole : roleName === 'EndpointSlice' ? 'endpointslice' : 'endpoints';
    const roleSelector = this.#roleSelector(spec, selector, [role, 'service']);
    const jobLabel = optString(spec, 'jobLabel', 'spec') ?? '';
    const targetLabels = strings(spec, 'targetLabels', 'spec');
    const podTargetLabels = [...strings(spec, 'podTargetLabels', 'spec'), ...this.#o.podTargetLabels];
    let index = 0;
    return objects(spec, 'endpoints', {
      path: 'spec',
      read: (ep, path) => {
        const job: RawMapping = { job_name: `serviceMonitor/${this.#r.namespace}/${this.#r.name}/${index++}` };
        this.#honor(job, ep, path);
        job['kubernetes_sd_configs'] = [this.#kubernetesSd(role, { roleSelector, attachPath: 'spec' })];
        this.#endpointBasics(job, ep, path);
        Object.assign(job, endpointHttpClient(this.#assets, ep, { path, withFiles: true }));

        const port = optString(ep, 'port', path) ?? '';
        const targetPort = this.#targetPort(ep, path);
        const rules: RawMapping[] = [jobNameToMeta];
        if (roleSelector === undefined) rules.push(...selectorRelabeling(selector, 'service'));
        if (port !== '') {
          rules.push({ action: 'keep', source_labels: [role === 'endpointslice' ? '__meta_kubernetes_endpointslice_port_name' : '__meta_kubernetes_endpoint_port_name'], regex: port });
        } else if (typeof targetPort === 'string' && targetPort !== '') {
          rules.push({ action: 'keep', source_labels: ['__meta_kubernetes_pod_container_port_name'], regex: targetPort });
        } else if (typeof targetPort === 'number' && targetPort !== 0) {
          rules.push({ action: 'keep', source_labels: ['__meta_kubernetes_pod_container_port_number'], regex: String(targetPort) });
        }
        const address = role === 'endpointslice' ? 'endpointslice' : 'endpoint';
        const targetRef = [`__meta_kubernetes_${address}_address_target_kind`, `__meta_kubernetes_${address}_address_target_name`];
        rules.push(
          { source_labels: targetRef, separator: ';', regex: 'Node;(.*)', replacement: '${1}', target_label: 'node' },
          { source_labels: targetRef, separator: ';', regex: 'Pod;(.*)', replacement: '${1}', target_label: 'pod' },
          { source_labels: ['__meta_kubernetes_namespace'], target_label: 'namespace' },
          { source_labels: ['__meta_kubernetes_service_name'], target_label: 'service' },
          { source_labels: ['__meta_kubernetes_pod_name'], target_label: 'pod' },
          { source_labels: ['__meta_kubernetes_pod_container_name'], target_label: 'container' },
        );
        if (optBool(ep, 'filterRunning', path) ?? true) rules.push(runningFilter);
        for (const l of targetLabels) rules.push(copyLabel(`__meta_kubernetes_service_label_${sanitizeLabelName(l)}`, l));
        for (const l of podTargetLabels) rules.push(copyLabel(`__meta_kubernetes_pod_label_${sanitizeLabelName(l)}`, l));
        rules.push({ source_labels: ['__meta_kubernetes_service_name'], target_label: 'job', replacement: '${1}' });
        if (jobLabel !== '') {
          rules.push({ source_labels: [`__meta_kubernetes_service_label_${sanitizeLabelName(jobLabel)}`], target_label: 'job', regex: '(.+)', replacement: '${1}' });
        }
        const endpointName = port !== '' ? port : targetPort === undefined ? '' : String(targetPort);
        if (endpointName !== '') rules.push({ target_label: 'endpoint', replacement: endpointName });
        rules.push(...this.#enforced(relabelRules(ep, 'relabelings', path)));
        job['relabel_configs'] = rules;
        this.#limitsAndRest(job, ep, path);
        return job;
      },
    });
  }

  podMonitor(): RawMapping[] {
    const spec = this.#r.spec;
    this.#refuseScrapeClass();
    const selector = readSelector(spec, 'selector', 'spec');
    const roleSelector = this.#roleSelector(spec, selector, ['pod']);
    const jobLabel = optString(spec, 'jobLabel', 'spec') ?? '';
    const podTargetLabels = [...strings(spec, 'podTargetLabels', 'spec'), ...this.#o.podTargetLabels];
    let index = 0;
    return objects(spec, 'podMetricsEndpoints', {
      path: 'spec',
      read: (ep, path) => {
        const job: RawMapping = { job_name: `podMonitor/${this.#r.namespace}/${this.#r.name}/${index++}` };
        this.#honor(job, ep, path);
        job['kubernetes_sd_configs'] = [this.#kubernetesSd('pod', { roleSelector, attachPath: 'spec' })];
        this.#endpointBasics(job, ep, path);
        Object.assign(job, endpointHttpClient(this.#assets, ep, { path, withFiles: false }));

        const port = optString(ep, 'port', path) ?? '';
        const portNumber = optInt(ep, 'portNumber', { path, min: 0, max: 65535 }) ?? 0;
        const targetPort = this.#targetPort(ep, path);
        const rules: RawMapping[] = [jobNameToMeta];
        if (optBool(ep, 'filterRunning', path) ?? true) rules.push(runningFilter);
        if (roleSelector === undefined) rules.push(...selectorRelabeling(selector, 'pod'));
        if (port !== '') {
          rules.push({ action: 'keep', source_labels: ['__meta_kubernetes_pod_container_port_name'], regex: port });
        } else if (portNumber !== 0) {
          rules.push({ action: 'keep', source_labels: ['__meta_kubernetes_pod_container_port_number'], regex: String(portNumber) });
        } else if (typeof targetPort === 'string' && targetPort !== '') {
          rules.push({ action: 'keep', source_labels: ['__meta_kubernetes_pod_container_port_name'], regex: targetPort });
        } else if (typeof targetPort === 'number' && targetPort !== 0) {
          rules.push({ action: 'keep', source_labels: ['__meta_kubernetes_pod_container_port_number'], regex: String(targetPort) });
        }
        rules.push(
          { source_labels: ['__meta_kubernetes_namespace'], target_label: 'namespace' },
          { source_labels: ['__meta_kubernetes_pod_container_name'], target_label: 'container' },
          { source_labels: ['__meta_kubernetes_pod_name'], target_label: 'pod' },
        );
        for (const l of podTargetLabels) rules.push(copyLabel(`__meta_kubernetes_pod_label_${sanitizeLabelName(l)}`, l));
        rules.push({ target_label: 'job', replacement: `${this.#r.namespace}/${this.#r.name}` });
        if (jobLabel !== '') {
          rules.push({ source_labels: [`__meta_kubernetes_pod_label_${sanitizeLabelName(jobLabel)}`], target_label: 'job', regex: '(.+)', replacement: '${1}' });
        }
        const endpointName = port !== '' ? port : targetPort === undefined ? '' : String(targetPort);
        if (endpointName !== '') rules.push({ target_label: 'endpoint', replacement: endpointName });
        rules.push(...this.#enforced(relabelRules(ep, 'relabelings', path)));
        job['relabel_configs'] = rules;
        this.#limitsAndRest(job, ep, path);
        return job;
      },
    });
  }

  probe(): RawMapping {
    const spec = this.#r.spec;
    this.#refuseScrapeClass();
    const prober = optObject(spec, 'prober', 'spec') ?? {};
    const proberUrl = optString(prober, 'url', 'spec.prober') ?? '';
    if (proberUrl === '') throw new ResourceRejectedError('spec.prober.url: required');
    if (proberUrl.includes('/')) {
      throw new ResourceRejectedError(`spec.prober.url: ${JSON.stringify(proberUrl)} must be hostname or hostname:port, without a scheme or path (set spec.prober.scheme and spec.prober.path)`);
    }
    const targets = optObject(spec, 'targets', 'spec') ?? {};
    const staticConfig = optObject(targets, 'staticConfig', 'spec.targets');
    const ingress = optObject(targets, 'ingress', 'spec.targets');
    if (staticConfig === undefined && ingress === undefined) throw new ResourceRejectedError('spec.targets: set staticConfig or ingress');

    const job: RawMapping = { job_name: `probe/${this.#r.namespace}/${this.#r.name}` };
    job['honor_timestamps'] = !this.#o.overrideHonorTimestamps;
    job['metrics_path'] = optString(prober, 'path', 'spec.prober') ?? '/probe';
    this.#intervals(job, spec, 'spec');
    const scheme = optString(prober, 'scheme', 'spec.prober');
    if (scheme !== undefined) job['scheme'] = scheme;
    const module = optString(spec, 'module', 'spec') ?? '';
    const params: RawMapping = {};
    if (module !== '') params['module'] = [module];
    for (const p of objects(spec, 'params', { path: 'spec', read: (p, at) => ({ name: optString(p, 'name', at) ?? '', values: strings(p, 'values', at) }) })) {
      if (module !== '' && p.name === 'module') continue;
      params[p.name] = p.values;
    }
    if (Object.keys(params).length > 0) job['params'] = params;
    this.#limits(job, spec, 'spec');
    this.#histogramsAndProtocols(job, spec, 'spec');
    const enforcedBody = this.#o.enforcedLimits.bodySizeLimit;
    if (enforcedBody !== undefined && enforcedBody !== '') job['body_size_limit'] = enforcedBody;

    const rules: RawMapping[] = [jobNameToMeta];
    const jobName = optString(spec, 'jobName', 'spec') ?? '';
    if (jobName !== '') rules.push({ target_label: 'job', replacement: jobName });
    Object.assign(job, proxyConfig(this.#assets, prober, 'spec.prober'));
    Object.assign(job, endpointHttpClient(this.#assets, spec, { path: 'spec', withFiles: false }));
    if (staticConfig !== undefined) {
      const labels: RawMapping = {};
      for (const [k, v] of Object.entries(optObject(staticConfig, 'labels', 'spec.targets.staticConfig') ?? {})) {
        if (typeof v !== 'string') throw new FieldError(`spec.targets.staticConfig.labels[${JSON.stringify(k)}]: expected string`);
        labels[k] = v;
      }
      if (!Object.hasOwn(labels, 'namespace')) labels['namespace'] = this.#r.namespace;
      job['static_configs'] = [{ targets: strings(staticConfig, 'static', 'spec.targets.staticConfig'), labels }];
      rules.push(
        { source_labels: ['__address__'], target_label: '__param_target' },
        { source_labels: ['__param_target'], target_label: 'instance' },
        { target_label: '__address__', replacement: proberUrl },
      );
      rules.push(...this.#enforced(relabelRules(staticConfig, 'relabelingConfigs', 'spec.targets.staticConfig')));
    } else if (ingress !== undefined) {
      rules.push(...selectorRelabeling(readSelector(ingress, 'selector', 'spec.targets.ingress'), 'ingress'));
      job['kubernetes_sd_configs'] = [this.#kubernetesSd('ingress', { namespaceHolder: ingress, namespacePath: 'spec.targets.ingress' })];
      rules.push(
        {
          source_labels: ['__meta_kubernetes_ingress_scheme', '__address__', '__meta_kubernetes_ingress_path'],
          separator: ';',
          regex: '(.+);(.+);(.+)',
          target_label: '__param_target',
          replacement: '${1}://${2}${3}',
          action: 'replace',
        },
        { source_labels: ['__meta_kubernetes_namespace'], target_label: 'namespace' },
        { source_labels: ['__meta_kubernetes_ingress_name'], target_label: 'ingress' },
        { source_labels: ['__address__'], separator: ';', regex: '(.*)', target_label: '__tmp_ingress_address', replacement: '$1', action: 'replace' },
        { source_labels: ['__param_target'], target_label: 'instance' },
        { target_label: '__address__', replacement: proberUrl },
      );
      rules.push(...this.#enforced(relabelRules(ingress, 'relabelingConfigs', 'spec.targets.ingress')));
    }
    job['relabel_configs'] = rules;
    const metricRules = this.#enforced(relabelRules(spec, 'metricRelabelings', 'spec'));
    if (metricRules.length > 0) job['metric_relabel_configs'] = metricRules;
    return job;
  }

  scrapeConfig(): RawMapping {
    const spec = this.#r.spec;
    this.#refuseScrapeClass();
    for (const key of Object.keys(spec)) {
      if (key.endsWith('SDConfigs') && !['staticConfigs', 'fileSDConfigs', 'kubernetesSDConfigs'].includes(key) && Array.isArray(spec[key]) && spec[key].length > 0) {
        throw new ResourceRejectedError(`spec.${key}: promfleet runs only static, file and Kubernetes service discovery`);
      }
    }
    if (spec['oauth2'] !== undefined && spec['oauth2'] !== null) {
      throw new ResourceRejectedError('spec.oauth2: OAuth 2 is not supported by promfleet (its workers do not fetch OAuth 2 tokens)');
    }
    const job: RawMapping = { job_name: `scrapeConfig/${this.#r.namespace}/${this.#r.name}` };
    const rules: RawMapping[] = [jobNameToMeta];
    const jobName = optString(spec, 'jobName', 'spec');
    if (jobName !== undefined) rules.push({ target_label: 'job', action: 'replace', replacement: jobName });
    const honorTimestamps = optBool(spec, 'honorTimestamps', 'spec');
    if (honorTimestamps !== undefined) job['honor_timestamps'] = honorTimestamps && !this.#o.overrideHonorTimestamps;
    const track = optBool(spec, 'trackTimestampsStaleness', 'spec');
    if (track !== undefined) job['track_timestamps_staleness'] = track;
    const honorLabels = optBool(spec, 'honorLabels', 'spec');
    if (honorLabels !== undefined) job['honor_labels'] = honorLabels && !this.#o.overrideHonorLabels;
    const metricsPath = optString(spec, 'metricsPath', 'spec');
    if (metricsPath !== undefined) job['metrics_path'] = metricsPath;
    const params = this.#params(spec, 'spec');
    if (params !== undefined && Object.keys(params).length > 0) job['params'] = Object.fromEntries(Object.entries(params).sort(([a], [b]) => (a < b ? -1 : 1)));
    const compression = optBool(spec, 'enableCompression', 'spec');
    if (compression !== undefined) job['enable_compression'] = compression;
    const http2 = optBool(spec, 'enableHTTP2', 'spec');
    if (http2 !== undefined) job['enable_http2'] = http2;
    const interval = optString(spec, 'scrapeInterval', 'spec');
    if (interval !== undefined) job['scrape_interval'] = interval;
    const timeout = optString(spec, 'scrapeTimeout', 'spec');
    if (timeout !== undefined) job['scrape_timeout'] = timeout;
    this.#histogramsAndProtocols(job, spec, 'spec');
    const scheme = optString(spec, 'scheme', 'spec');
    if (scheme !== undefined) job['scheme'] = scheme.toLowerCase();
    Object.assign(job, proxyConfig(this.#assets, spec, 'spec'));
    const basic = optObject(spec, 'basicAuth', 'spec');
    if (basic !== undefined) job['basic_auth'] = basicAuth(this.#assets, basic, 'spec.basicAuth');
    const auth = optObject(spec, 'authorization', 'spec');
    if (auth !== undefined) job['authorization'] = authorization(this.#assets, auth, 'spec.authorization');
    const tls = optObject(spec, 'tlsConfig', 'spec');
    if (tls !== undefined) job['tls_config'] = tlsConfig(this.#assets, tls, { path: 'spec.tlsConfig', withFiles: false });
    this.#limits(job, spec, 'spec');
    this.#bodySizeLimit(job, spec, 'spec');

    const statics = objects(spec, 'staticConfigs', {
      path: 'spec',
      read: (sc, at) => {
        const labels = optObject(sc, 'labels', at);
        return { targets: strings(sc, 'targets', at), labels: labels === undefined ? null : labels };
      },
    });
    if (statics.length > 0) job['static_configs'] = statics;
    const files = objects(spec, 'fileSDConfigs', {
      path: 'spec',
      read: (f, at) => {
        const out: RawMapping = { files: strings(f, 'files', at) };
        const refresh = optString(f, 'refreshInterval', at);
        if (refresh !== undefined) out['refresh_interval'] = refresh;
        return out;
      },
    });
    if (files.length > 0) job['file_sd_configs'] = files;
    const kubernetes = objects(spec, 'kubernetesSDConfigs', { path: 'spec', read: (k, at) => this.#scrapeConfigKubernetesSd(k, at) });
    if (kubernetes.length > 0) job['kubernetes_sd_configs'] = kubernetes;

    rules.push(...this.#enforced(relabelRules(spec, 'relabelings', 'spec')));
    job['relabel_configs'] = rules;
    const metricRules = this.#enforced(relabelRules(spec, 'metricRelabelings', 'spec'));
    if (metricRules.length > 0) job['metric_relabel_configs'] = metricRules;
    const validation = optString(spec, 'nameValidationScheme', 'spec');
    if (validation !== undefined) job['metric_name_validation_scheme'] = validation === 'UTF8' ? 'utf8' : validation === 'Legacy' ? 'legacy' : validation;
    const escaping = optString(spec, 'nameEscapingScheme', 'spec');
    if (escaping !== undefined) job['metric_name_escaping_scheme'] = escapingScheme(escaping);
    return job;
  }

  #scrapeConfigKubernetesSd(sd: JsonObject, path: string): RawMapping {
    if (optString(sd, 'apiServer', path) !== undefined) {
      throw new ResourceRejectedError(`${path}.apiServer: promfleet discovers with the master's own API connection; another API server is not supported here`);
    }
    for (const key of ['basicAuth', 'authorization', 'oauth2', 'tlsConfig', 'proxyUrl']) {
      if (sd[key] !== undefined && sd[key] !== null) throw new ResourceRejectedError(`${path}.${key}: only used with apiServer, which promfleet does not support here`);
    }
    const out: RawMapping = { role: (optString(sd, 'role', path) ?? '').toLowerCase() };
    const namespaces = optObject(sd, 'namespaces', path);
    if (namespaces !== undefined) {
      const ns: RawMapping = { names: strings(namespaces, 'names', `${path}.namespaces`) };
      const own = optBool(namespaces, 'ownNamespace', `${path}.namespaces`);
      if (own !== undefined) ns['own_namespace'] = own;
      out['namespaces'] = ns;
    }
    const selectors = objects(sd, 'selectors', {
      path,
      read: (s, at) => {
        const selector: RawMapping = { role: (optString(s, 'role', at) ?? '').toLowerCase() };
        const label = optString(s, 'label', at);
        if (label !== undefined) selector['label'] = label;
        const field = optString(s, 'field', at);
        if (field !== undefined) selector['field'] = field;
        return selector;
      },
    });
    if (selectors.length > 0) out['selectors'] = selectors;
    const attach = optObject(sd, 'attachMetadata', path);
    if (attach !== undefined && ['pod', 'endpoints', 'endpointslice'].includes(String(out['role']))) {
      const node = optBool(attach, 'node', `${path}.attachMetadata`);
      out['attach_metadata'] = node === undefined ? {} : { node };
    }
    return out;
  }

  #refuseScrapeClass(): void {
    const scrapeClass = optString(this.#r.spec, 'scrapeClass', 'spec');
    if (scrapeClass !== undefined && scrapeClass !== '') {
      throw new ResourceRejectedError(`spec.scrapeClass: scrape classes are not supported by promfleet (${JSON.stringify(scrapeClass)})`);
    }
  }

  /** `selectorMechanism: RoleSelector` puts the selector into the SD config's selectors; undefined for relabeling. */
  #roleSelector(spec: JsonObject, selector: MetaSelector, roles: readonly string[]): RawMapping[] | undefined {
    const mechanism = optString(spec, 'selectorMechanism', 'spec') ?? 'RelabelConfig';
    if (mechanism === 'RelabelConfig') return undefined;
    if (mechanism !== 'RoleSelector') throw new ResourceRejectedError(`spec.selectorMechanism: ${JSON.stringify(mechanism)} is not RelabelConfig or RoleSelector`);
    const label = selectorString(selector);
    return roles.map((role) => ({ role, label }));
  }

  #kubernetesSd(role: string, options: { roleSelector?: RawMapping[] | undefined; attachPath?: string; namespaceHolder?: JsonObject; namespacePath?: string }): RawMapping {
    const sd: RawMapping = { role };
    const names = this.#namespaces(options.namespaceHolder ?? this.#r.spec, options.namespacePath ?? 'spec');
    if (names.length > 0) sd['namespaces'] = { names };
    if (options.attachPath !== undefined) {
      const attach = optObject(this.#r.spec, 'attachMetadata', options.attachPath);
      if (attach !== undefined) sd['attach_metadata'] = { node: optBool(attach, 'node', `${options.attachPath}.attachMetadata`) ?? false };
    }
    if (options.roleSelector !== undefined) sd['selectors'] = options.roleSelector;
    return sd;
  }

  /** `getNamespacesFromNamespaceSelector`: [] means every namespace. */
  #namespaces(holder: JsonObject, path: string): string[] {
    if (this.#o.ignoreNamespaceSelectors) return [this.#r.namespace];
    const selector = optObject(holder, 'namespaceSelector', path) ?? {};
    if (optBool(selector, 'any', `${path}.namespaceSelector`) === true) return [];
    const names = strings(selector, 'matchNames', `${path}.namespaceSelector`);
    return names.length === 0 ? [this.#r.namespace] : names;
  }

  #honor(job: RawMapping, ep: JsonObject, path: string): void {
    job['honor_labels'] = (optBool(ep, 'honorLabels', path) ?? false) && !this.#o.overrideHonorLabels;
    const honorTimestamps = optBool(ep, 'honorTimestamps', path);
    if (honorTimestamps !== undefined || this.#o.overrideHonorTimestamps) job['honor_timestamps'] = (honorTimestamps ?? false) && !this.#o.overrideHonorTimestamps;
    const track = optBool(ep, 'trackTimestampsStaleness', path);
    if (track !== undefined) job['track_timestamps_staleness'] = track;
  }

  #intervals(job: RawMapping, holder: JsonObject, path: string): void {
    const interval = optString(holder, 'interval', path) ?? '';
    if (interval !== '') job['scrape_interval'] = interval;
    const timeout = optString(holder, 'scrapeTimeout', path) ?? '';
    if (timeout !== '') job['scrape_timeout'] = timeout;
  }

  /** Interval, timeout, path, params and scheme of a ServiceMonitor or PodMonitor endpoint. */
  #endpointBasics(job: RawMapping, ep: JsonObject, path: string): void {
    this.#intervals(job, ep, path);
    const metricsPath = optString(ep, 'path', path) ?? '';
    if (metricsPath !== '') job['metrics_path'] = metricsPath;
    const params = this.#params(ep, path);
    if (params !== undefined) job['params'] = params;
    const scheme = optString(ep, 'scheme', path);
    if (scheme !== undefined) job['scheme'] = scheme.toLowerCase();
  }

  #params(holder: JsonObject, path: string): RawMapping | undefined {
    const params = optObject(holder, 'params', path);
    if (params === undefined) return undefined;
    const out: RawMapping = {};
    for (const name of Object.keys(params)) out[name] = strings(params, name, `${path}.params`);
    return out;
  }

  #targetPort(ep: JsonObject, path: string): string | number | undefined {
    const value = ep['targetPort'];
    if (value === undefined || value === null) return undefined;
    if (typeof value === 'string' || (typeof value === 'number' && Number.isInteger(value))) return value;
    throw new FieldError(`${path}.targetPort: expected a port name or number`);
  }

  /** Limits, histograms, protocols, body size and metric relabeling of a ServiceMonitor or PodMonitor. */
  #limitsAndRest(job: RawMapping, ep: JsonObject, path: string): void {
    const spec = this.#r.spec;
    this.#limits(job, spec, 'spec');
    this.#histogramsAndProtocols(job, spec, 'spec');
    this.#bodySizeLimit(job, spec, 'spec');
    const metricRules = this.#enforced(relabelRules(ep, 'metricRelabelings', path));
    if (metricRules.length > 0) job['metric_relabel_configs'] = metricRules;
  }

  /**
   * `AddLimitsToYAML` for Prometheus ≥ 2.45: the resource's limit, capped by the enforced one; left out when only
   * the enforced one is set, as the generated jobs' global section carries it (decode.ts).
   */
  #limits(job: RawMapping, spec: JsonObject, path: string): void {
    const e = this.#o.enforcedLimits;
    const keys = [
      ['sampleLimit', 'sample_limit', e.sampleLimit],
      ['targetLimit', 'target_limit', e.targetLimit],
      ['labelLimit', 'label_limit', e.labelLimit],
      ['labelNameLengthLimit', 'label_name_length_limit', e.labelNameLengthLimit],
      ['labelValueLengthLimit', 'label_value_length_limit', e.labelValueLengthLimit],
      ['keepDroppedTargets', 'keep_dropped_targets', e.keepDroppedTargets],
    ] as const;
    for (const [field, key, enforced] of keys) {
      const user = optInt(spec, field, { path, min: -maxLimit, max: maxLimit });
      const limit = (enforced ?? 0) === 0 ? user : (user ?? 0) === 0 ? undefined : Math.min(user ?? 0, enforced ?? 0);
      if (limit !== undefined) job[key] = limit;
    }
  }

  /** `getLowerByteSize`: the smaller of the resource's and the enforced body size limit. */
  #bodySizeLimit(job: RawMapping, spec: JsonObject, path: string): void {
    const own = optString(spec, 'bodySizeLimit', path) ?? '';
    const enforced = this.#o.enforcedLimits.bodySizeLimit ?? '';
    let chosen = own === '' ? enforced : own;
    if (own !== '' && enforced !== '') {
      const a = parseSize(own);
      const b = parseSize(enforced);
      if (typeof a !== 'number') throw new ResourceRejectedError(`${path}.bodySizeLimit: ${a.error}`);
      if (typeof b === 'number' && b < a) chosen = enforced;
    }
    if (chosen !== '') job['body_size_limit'] = chosen;
  }

  #histogramsAndProtocols(job: RawMapping, spec: JsonObject, path: string): void {
    const native = optBool(spec, 'scrapeNativeHistograms', path);
    if (native !== undefined) job['scrape_native_histograms'] = native;
    const bucketLimit = optInt(spec, 'nativeHistogramBucketLimit', { path, min: 0, max: maxLimit });
    if (bucketLimit !== undefined) job['native_histogram_bucket_limit'] = bucketLimit;
    const factor = spec['nativeHistogramMinBucketFactor'];
    if (factor !== undefined && factor !== null) {
      const value = typeof factor === 'number' ? factor : typeof factor === 'string' && /^[0-9]+(\.[0-9]+)?$/u.test(factor) ? Number(factor) : undefined;
      if (value === undefined) throw new ResourceRejectedError(`${path}.nativeHistogramMinBucketFactor: ${JSON.stringify(factor)} is not a decimal number`);
      job['native_histogram_min_bucket_factor'] = value;
    }
    const classic = optBool(spec, 'scrapeClassicHistograms', path);
    if (classic !== undefined) job['always_scrape_classic_histograms'] = classic;
    const nhcb = optBool(spec, 'convertClassicHistogramsToNHCB', path);
    if (nhcb !== undefined) job['convert_classic_histograms_to_nhcb'] = nhcb;
    const protocols = strings(spec, 'scrapeProtocols', path);
    if (protocols.length > 0) job['scrape_protocols'] = protocols;
    const fallback = optString(spec, 'fallbackScrapeProtocol', path);
    if (fallback !== undefined) job['fallback_scrape_protocol'] = fallback;
  }

  /** `namespacelabeler.GetRelabelingConfigs`: the enforced namespace label goes last, unless this resource is excluded. */
  #enforced(rules: RawMapping[]): RawMapping[] {
    const label = this.#o.enforcedNamespaceLabel ?? '';
    if (label === '') return rules;
    const excluded = this.#o.excludedFromEnforcement.some((x) => x.kind === this.#r.kind && x.namespace === this.#r.namespace && (x.name === undefined || x.name === '' || x.name === this.#r.name));
    if (excluded) return rules;
    return [...rules, { target_label: label, replacement: this.#r.namespace }];
  }
}

function copyLabel(source: string, label: string): RawMapping {
  return { source_labels: [source], target_label: sanitizeLabelName(label), regex: '(.+)', replacement: '${1}' };
}

/** The operator's `nameEscapingScheme` values as Prometheus names them. */
function escapingScheme(value: string): string {
  const names: Readonly<Record<string, string>> = { AllowUTF8: 'allow-utf-8', Underscores: 'underscores', Dots: 'dots', Values: 'values' };
  return names[value] ?? value;
}
