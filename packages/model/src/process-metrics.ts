/**
 * What every promfleet process exposes beside its own self-metrics, shared by the master and the worker (which each
 * register it on their prom-client registry): the build info, and which of prom-client's default metrics to drop.
 */

/**
 * prom-client's default metrics that break Prometheus' naming conventions (`promtool check metrics`): gauges whose
 * names end in `_total`. Dropped rather than renamed: `nodejs_active_handles`, `nodejs_active_requests` and
 * `nodejs_active_resources` (by type) stay, and their sums are these totals.
 */
export const NONCONFORMING_DEFAULT_METRICS: readonly string[] = ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'];

/** The environment variable that names the commit a build was made from (the container image sets it at build time). */
export const REVISION_ENV = 'PROMFLEET_REVISION';

/** `promfleet_build_info`'s name and help, and its labels for this process; its value is always 1. */
export const BUILD_INFO = {
  name: 'promfleet_build_info',
  help: 'Always 1, labelled with the version, the revision (source commit, "unknown" when the build did not record it) and the Node.js version.',
  labelNames: ['version', 'revision', 'nodejs_version'],
} as const;

/** The labels of `promfleet_build_info`: `revision` is `$PROMFLEET_REVISION`, or "unknown" when unset or empty. */
export function buildInfoLabels(version: string, env: Readonly<Record<string, string | undefined>>): Record<(typeof BUILD_INFO.labelNames)[number], string> {
  const revision = env[REVISION_ENV]?.trim() ?? '';
  return { version, revision: revision === '' ? 'unknown' : revision, nodejs_version: process.versions.node };
}
