/**
 * The service discovery fragments of a scrape job: `static_configs` (`targetgroup.Group`), `file_sd_configs`
 * (discovery/file/file.go) and `kubernetes_sd_configs` (discovery/kubernetes/kubernetes.go), and the other
 * `*_sd_configs` keys Prometheus knows, which promfleet accepts without acting on them.
 */
import { isValidLabelName, isWellFormedUtf16, type Labels } from './labels.js';
import { parseFieldSelector, parseLabelSelector, SelectorError, type SelectorProblem } from './selector.js';
import {
  bool,
  duration,
  goList,
  goObject,
  goMap,
  isOneOf,
  isUrl,
  joinDir,
  nonEmpty,
  optional,
  reporter,
  text,
} from './config-decode.js';
import { redactedUrl } from './messages.js';
import { buildHttpClient, httpClientShape, isCustomHttpClient, type HttpClientConfig } from './config-http.js';
import type { Path } from './config-yaml.js';

/** A `static_configs` entry: its targets (each becomes `__address__`) and the labels they share. */
export interface StaticConfig {
  readonly targets: readonly string[];
  readonly labels: Labels;
}

/** A `file_sd_configs` entry; relative patterns are already joined with the config file's directory. */
export interface FileSDConfig {
  readonly files: readonly string[];
  readonly refreshIntervalMs: number;
}

/** The Kubernetes object kinds `kubernetes_sd_configs` discovers. */
export type KubernetesRole = 'pod' | 'service' | 'endpoints' | 'endpointslice' | 'node' | 'ingress';

/** A `selectors` entry, passed to the API server as its label and field selectors. */
export interface KubernetesSelector {
  readonly role: KubernetesRole;
  readonly label?: string;
  readonly field?: string;
}

/** A `kubernetes_sd_configs` entry. Neither `apiServer` nor `kubeconfigFile` means in-cluster config. */
export interface KubernetesSDConfig {
  readonly role: KubernetesRole;
  readonly apiServer?: string;
  readonly kubeconfigFile?: string;
  /** No names and no own namespace means all namespaces. */
  readonly namespaces: { readonly ownNamespace: boolean; readonly names: readonly string[] };
  readonly selectors: readonly KubernetesSelector[];
  readonly attachMetadata: KubernetesAttachMetadata;
  /** Used only with `apiServer`, as in Prometheus. */
  readonly httpClient: HttpClientConfig;
}

const kubernetesRoles: readonly KubernetesRole[] = ['pod', 'service', 'endpoints', 'endpointslice', 'node', 'ingress'];
const defaultFileSdRefreshMs = 5 * 60_000;

/** The `*_sd_configs` keys Prometheus 3 registers besides file and kubernetes: accepted, not acted on. */
export const otherSdKeys = [
  'aws_sd_configs',
  'azure_sd_configs',
  'consul_sd_configs',
  'digitalocean_sd_configs',
  'dns_sd_configs',
  'docker_sd_configs',
  'dockerswarm_sd_configs',
  'ec2_sd_configs',
  'eureka_sd_configs',
  'gce_sd_configs',
  'hetzner_sd_configs',
  'http_sd_configs',
  'ionos_sd_configs',
  'kuma_sd_configs',
  'lightsail_sd_configs',
  'linode_sd_configs',
  'marathon_sd_configs',
  'nerve_sd_configs',
  'nomad_sd_configs',
  'openstack_sd_configs',
  'ovhcloud_sd_configs',
  'puppetdb_sd_configs',
  'scaleway_sd_configs',
  'serverset_sd_configs',
  'stackit_sd_configs',
  'triton_sd_configs',
  'uyuni_sd_configs',
  'vultr_sd_configs',
] as const;

/** `targetgroup.Group.UnmarshalYAML`: label names are checked with Prometheus 3's process-wide utf8 scheme. */
export const staticConfigSchema = goObject({ targets: goList(text), labels: goMap(text) }).transform(
  (raw, ctx): StaticConfig => {
    const report = reporter(ctx);
    const labels = raw.labels ?? new Map<string, string>();
    for (const [name, value] of labels) {
      if (!isValidLabelName(name, 'utf8')) {
        report(['labels', name], `${JSON.stringify(name)} is not a valid label name`);
      } else if (!isWellFormedUtf16(value)) report(['labels', name], 'the label value is not valid UTF-8');
    }
    return { targets: raw.targets ?? [], labels };
  },
);

/** `patFileSDName`: a .json/.yml/.yaml file, with a `*` glob allowed only in the last path component. */
const fileSdPattern = /^[^*]*(\*[^/]*)?\.(json|yml|yaml|JSON|YML|YAML)$/;

/** file.go `SDConfig.UnmarshalYAML` + `SetDirectory`. */
export function fileSdSchema(dir: string) {
  return goObject({ files: goList(text), refresh_interval: duration }).transform((raw, ctx): FileSDConfig => {
    const report = reporter(ctx);
    const files = raw.files ?? [];
    if (files.length === 0) report(['files'], 'file service discovery config must contain at least one path name');
    files.forEach((name, i) => {
      if (!fileSdPattern.test(name)) {
        report(
          ['files', i],
          `path name ${JSON.stringify(name)} is not valid for file discovery: ` +
            'use a .json, .yml or .yaml file, with * only in the last path component',
        );
      }
    });
    return {
      files: files.map((f) => joinDir(dir, f)),
      refreshIntervalMs: raw.refresh_interval ?? defaultFileSdRefreshMs,
    };
  });
}

/**
 * `attach_metadata`: which other objects' metadata the role's targets carry. `deployment`, `job` and `cronjob` (the
 * owning workload's name through the pod's controller chain) are Prometheus 3.11's, documented for the pod role.
 */
export interface KubernetesAttachMetadata {
  readonly node: boolean;
  readonly namespace: boolean;
  readonly deployment: boolean;
  readonly job: boolean;
  readonly cronjob: boolean;
}

/** The selector roles each Kubernetes SD role accepts (kubernetes.go `allowedSelectors`). */
const allowedSelectors: Readonly<Record<KubernetesRole, readonly KubernetesRole[]>> = {
  // Prometheus 3.11 lets the pod role select the nodes whose pods it keeps; the selector acts only with
  // attach_metadata.node (config.ts notices it otherwise).
  pod: ['pod', 'node'],
  service: ['service'],
  endpointslice: ['pod', 'service', 'endpointslice'],
  endpoints: ['pod', 'service', 'endpoints'],
  node: ['node'],
  ingress: ['ingress'],
};

const roleList = 'pod, service, endpoints, endpointslice, node, ingress';

/** kubernetes.go `SDConfig.UnmarshalYAML` + `SetDirectory`. */
export function kubernetesSdSchema(dir: string) {
  return goObject({
    api_server: text,
    role: text,
    kubeconfig_file: text,
    namespaces: goObject({ own_namespace: bool, names: goList(text) }),
    selectors: goList(goObject({ role: text, label: text, field: text })),
    attach_metadata: goObject({ node: bool, namespace: bool, deployment: bool, job: bool, cronjob: bool }),
    ...httpClientShape,
  }).transform((raw, ctx): KubernetesSDConfig => {
    const report = reporter(ctx);
    const roleText = raw.role ?? '';
    let role: KubernetesRole = 'pod';
    if (roleText === '') report(['role'], `role missing (one of: ${roleList})`);
    else if (isOneOf(roleText, kubernetesRoles)) role = roleText;
    else report(['role'], `unknown Kubernetes SD role ${JSON.stringify(roleText)} (one of: ${roleList})`);

    const httpClient = buildHttpClient({ raw, report, dir, defaultHttp2: true });
    const apiServer = nonEmpty(raw.api_server);
    if (apiServer !== undefined && !isUrl(apiServer)) {
      report(['api_server'], `invalid api_server URL ${JSON.stringify(redactedUrl(apiServer))}`);
    }
    const kubeconfig = nonEmpty(raw.kubeconfig_file);
    const ownNamespace = raw.namespaces?.own_namespace ?? false;
    const custom = isCustomHttpClient(raw, httpClient);
    if (apiServer !== undefined && kubeconfig !== undefined) {
      report(['kubeconfig_file'], "cannot use 'kubeconfig_file' and 'api_server' simultaneously");
    } else if (kubeconfig !== undefined && custom) {
      report(['kubeconfig_file'], "cannot use a custom HTTP client configuration together with 'kubeconfig_file'");
    } else if (apiServer === undefined && custom) {
      report([], "to use custom HTTP client configuration please provide the 'api_server' URL explicitly");
    }
    if (apiServer !== undefined && ownNamespace) {
      report(['namespaces', 'own_namespace'], "cannot use 'api_server' and 'namespaces.own_namespace' simultaneously");
    }
    if (kubeconfig !== undefined && ownNamespace) {
      report(
        ['namespaces', 'own_namespace'],
        "cannot use 'kubeconfig_file' and 'namespaces.own_namespace' simultaneously",
      );
    }

    const attachNode = raw.attach_metadata?.node ?? false;
    const selectors: KubernetesSelector[] = [];
    const seenRoles = new Set<string>();
    (raw.selectors ?? []).forEach((s, i) => {
      const at = (key: string): Path => ['selectors', i, key];
      const selectorRole = s.role ?? '';
      if (selectorRole !== '' && !isOneOf(selectorRole, kubernetesRoles)) {
        report(at('role'), `unknown Kubernetes SD role ${JSON.stringify(selectorRole)} (one of: ${roleList})`);
        return;
      }
      if (seenRoles.has(selectorRole)) {
        report(at('role'), `duplicated selector role: ${selectorRole}`);
        return;
      }
      seenRoles.add(selectorRole);
      const allowed = allowedSelectors[role];
      if (!isOneOf(selectorRole, allowed)) {
        report(at('role'), `${role} role supports only ${allowed.join(', ')} selectors`);
        return;
      }
      const fieldProblem = selectorProblem('field', s.field ?? '');
      if (fieldProblem !== undefined) report(at('field'), fieldProblem);
      const labelProblem = selectorProblem('label', s.label ?? '');
      if (labelProblem !== undefined) report(at('label'), labelProblem);
      selectors.push({
        role: selectorRole,
        ...optional('label', nonEmpty(s.label)),
        ...optional('field', nonEmpty(s.field)),
      });
    });

    return {
      role,
      ...optional('apiServer', apiServer),
      ...optional('kubeconfigFile', kubeconfig === undefined ? undefined : joinDir(dir, kubeconfig)),
      namespaces: { ownNamespace, names: raw.namespaces?.names ?? [] },
      selectors,
      attachMetadata: {
        node: attachNode,
        namespace: raw.attach_metadata?.namespace ?? false,
        deployment: raw.attach_metadata?.deployment ?? false,
        job: raw.attach_metadata?.job ?? false,
        cronjob: raw.attach_metadata?.cronjob ?? false,
      },
      httpClient,
    };
  });
}

/**
 * Why `fields.ParseSelector` or `labels.Parse` rejects a selector, as kubernetes.go `SDConfig.UnmarshalYAML` runs
 * both at load time; undefined when the selector parses.
 */
function selectorProblem(kind: 'label' | 'field', selector: string): string | undefined {
  try {
    if (kind === 'label') parseLabelSelector(selector);
    else parseFieldSelector(selector);
    return undefined;
  } catch (err) {
    if (!(err instanceof SelectorError)) throw err;
    return `invalid ${kind} selector ${JSON.stringify(selector)}: ${selectorErrorText(err)}`;
  }
}

const NAME_RULE = "up to 63 alphanumerics, '-', '_' or '.', starting and ending with an alphanumeric";

const keyRules: Readonly<Record<'oneSlash' | 'prefix' | 'name', string>> = {
  oneSlash: 'at most one "/"',
  prefix: 'the prefix must be a DNS subdomain',
  name: `the name part must be ${NAME_RULE}`,
};

/**
 * The config file's wording of a selector problem: what to fix, rather than the parser's state. It is the wording
 * `promfleet check config` printed before the loader and the offline tool shared one parser, so it stays; a problem
 * only the offline tool meets (an unsupported field) keeps the parser's reason, which is in apimachinery's words.
 */
function selectorErrorText(err: SelectorError): string {
  const problem = err.problem;
  switch (problem.kind) {
    case 'unexpectedToken':
      return unexpectedTokenText(problem);
    case 'invalidKey':
      return `invalid label key ${JSON.stringify(problem.key)}: ${keyRules[problem.rule]}`;
    case 'invalidValue':
      return `invalid label value ${JSON.stringify(problem.value)}: it must be empty or ${NAME_RULE}`;
    case 'notAnInteger':
      return `${problem.operator} needs an integer`;
    case 'unreadableTerm':
      return `can't understand ${JSON.stringify(problem.term)}, expected key=value, key==value or key!=value`;
    case 'badEscape':
      return `invalid escape sequence in ${JSON.stringify(problem.term)}`;
    case 'unescapedValueChar':
      return `unescaped ${JSON.stringify(problem.char)} in the value of ${JSON.stringify(problem.term)} (write \\${problem.char})`;
    case 'unsupportedField':
      return err.reason;
  }
}

/** The wording for a token the label-selector parser did not expect, by what it was looking for. */
function unexpectedTokenText(problem: Extract<SelectorProblem, { kind: 'unexpectedToken' }>): string {
  const found = JSON.stringify(problem.found ?? 'end of string');
  switch (problem.expected) {
    case 'requirement':
    case 'key':
      return 'expected a label key';
    case 'keyAfterComma':
      return problem.found === undefined ? 'a requirement is missing after ","' : 'expected a label key';
    case 'separator':
      return problem.operator === '!' ? `unexpected ${found} after !${problem.key ?? ''}` : 'requirements must be separated by ","';
    case 'operator':
      return `unexpected ${found} after ${problem.key ?? ''}`;
    case 'openParen':
      return `expected ( after ${problem.operator ?? 'in'}`;
    case 'value':
      return problem.operator === '>' || problem.operator === '<' ? `${problem.operator} needs an integer` : 'requirements must be separated by ","';
    case 'setStart':
    case 'setSeparator':
    case 'setItem':
      return problem.found === undefined ? 'missing )' : `unexpected ${found} in the value list`;
  }
}
