/**
 * @promfleet/model: Prometheus' semantics with no I/O — labels, configuration, relabeling, target building and
 * identity, and Kubernetes selectors. Shared by the master, the worker and the offline tools.
 */
export {
  LabelName,
  compareLabelNames,
  formatLabels,
  isValidLabelName,
  isWellFormedUtf16,
  labelsFingerprint,
  labelsFromObject,
  labelsToObject,
  sortedLabelNames,
  type Labels,
  type NameValidationScheme,
} from './labels.js';
export { ListenAddressError, fixedPort, parseListenAddress, webUrl } from './address.js';
export { errorMessage, redactedUrl, redactingLog, type LogSink } from './messages.js';
export { hasCredentials, inlineSecrets, type InlineSecret } from './inline-secrets.js';
export { DurationError, formatDuration, parseDuration } from './duration.js';
export { parseSize } from './size.js';
export { Re2Regex, RegexSyntaxError } from './regex.js';
export {
  RelabelConfigSchema,
  parseRelabelRules,
  relabel,
  relabelActions,
  type RelabelAction,
  type RelabelResult,
  type RelabelRule,
} from './relabel.js';
export {
  buildTarget,
  discoveredLabels,
  nextScrapeSlotMs,
  publicLabels,
  scrapeOffsetMs,
  scrapeUrl,
  targetId,
  type Target,
  type TargetBuildResult,
  type TargetGroup,
  type TargetId,
  type TargetSettings,
} from './target.js';
export {
  SelectorError,
  matchesFieldSelector,
  matchesLabelSelector,
  parseFieldSelector,
  parseLabelSelector,
  type FieldSelector,
  type FieldTerm,
  type LabelRequirement,
  type LabelSelector,
  type LabelSelectorExpectation,
  type SelectorProblem,
} from './selector.js';
export {
  ConfigError,
  Secret,
  formatConfigIssue,
  parseConfig,
  type ConfigIssue,
  type ConfigResult,
  type FileSDConfig,
  type GlobalConfig,
  type HttpClientConfig,
  type KubernetesAttachMetadata,
  type KubernetesRole,
  type KubernetesSDConfig,
  type KubernetesSelector,
  type PrometheusConfig,
  type RemoteWriteConfig,
  type RemoteWriteMessage,
  type ScrapeConfig,
  type StaticConfig,
} from './config.js';
export { BUILD_INFO, NONCONFORMING_DEFAULT_METRICS, REVISION_ENV, buildInfoLabels } from './process-metrics.js';
