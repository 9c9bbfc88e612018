/**
 * prometheus-operator resources (ServiceMonitor, PodMonitor, Probe, ScrapeConfig) as promfleet scrape jobs: the
 * selection file, the pure generator (checked against prometheus-operator's golden files), and the live source that
 * watches the resources and reads the Secrets they reference.
 */
export { OperatorConfigError, kindsInOwnNamespace, parseOperatorConfig, type KindSelection, type OperatorSelection } from './selection.js';
export { isSelected, operatorJobs, type OperatorJobs, type OperatorJobsInput, type RejectedResource } from './jobs.js';
export { defaultGenerationOptions, generateJobs, type EndpointRole, type EnforcedLimits, type EnforcementExclusion, type GenerationOptions } from './generate.js';
export { decodeJobs, globalSection, type GlobalOverrides } from './decode.js';
export {
  BadResourceError,
  ResourceRejectedError,
  describeAsset,
  isOperatorKind,
  operatorApiVersions,
  operatorKinds,
  readAssetData,
  readOperatorResource,
  type AssetLookup,
  type AssetRef,
  type OperatorKind,
  type OperatorResource,
} from './resource.js';
export { OperatorJobSource, operatorResources, type OperatorJobSourceOptions, type OperatorKindState, type OperatorLog, type RejectedOperatorResource } from './source.js';
