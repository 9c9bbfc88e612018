/**
 * `promfleet targets`: the targets a Prometheus config discovers from a dump of Kubernetes objects, one JSON line
 * per discovered target and job — what Prometheus' service-discovery page shows, and what the master would assign.
 * prometheus-operator resources in the dump (ServiceMonitor, PodMonitor, Probe, ScrapeConfig) add the jobs
 * prometheus-operator would generate for them, discovered from the same dump.
 */
import { readdir } from 'node:fs/promises';
import { posix } from 'node:path';
import { buildTarget, labelsToObject, publicLabels, redactedUrl, scrapeUrl, type ScrapeConfig, type TargetGroup } from '@promfleet/model';
import {
  discoverFromObjects,
  dumpAssetLookup,
  FileSDError,
  kindsInOwnNamespace,
  matchGlob,
  ObjectListError,
  OperatorConfigError,
  operatorJobs,
  parseFileSD,
  parseOperatorConfig,
  readObjectList,
  SelectorError,
  staticGroups,
  type ObjectSet,
  type OperatorObjects,
  type OperatorSelection,
} from '@promfleet/master';
import { type CommandIO, UsageError, write } from './io.js';
import { loadValidConfig } from './tools.js';

/** Options of {@link listTargets}. */
export interface ListTargetsOptions {
  readonly configFile: string;
  /** A Kubernetes JSON List, or `-` for stdin. */
  readonly objectsFile: string;
  /** Stands in for the master's namespace where a config says `own_namespace: true`. */
  readonly ownNamespace: string | undefined;
  /**
   * The `Prometheus` resource (or its spec) that selects the dump's prometheus-operator resources. Without it every
   * one of them is selected, in every namespace.
   */
  readonly operatorConfigFile?: string | undefined;
  /** Lists a directory, for file_sd globs; defaults to the file system. */
  readonly listDir?: (dir: string) => Promise<string[]>;
}

const selectEverything = [
  'serviceMonitorSelector',
  'serviceMonitorNamespaceSelector',
  'podMonitorSelector',
  'podMonitorNamespaceSelector',
  'probeSelector',
  'probeNamespaceSelector',
  'scrapeConfigSelector',
  'scrapeConfigNamespaceSelector',
]
  .map((field) => `${field}: {}`)
  .join('\n');

/**
 * Prints `{"job","discoveredLabels","labels","id","scrapeUrl"}` per target (`labels` null and no id when relabeling
 * drops it; an `error` instead of `id` when Prometheus would refuse the target). Bad objects, selectors and
 * file_sd files are reported on stderr, the rest still printed, and the exit code is then 1. Labels are printed
 * exactly as relabeling makes them (what this tool is for); the scrape URL and the error are redacted
 * ({@link redactedUrl}), as the master's API shows them.
 */
export async function listTargets(io: CommandIO, options: ListTargetsOptions): Promise<number> {
  const config = await loadValidConfig(io, options.configFile);
  const objects = await readObjects(io, options.objectsFile);
  const selection = await readSelection(io, options.operatorConfigFile, options.ownNamespace);
  for (const notice of selection.notices) await write(io.stderr, `${notice}\n`);
  let problems = objects.problems;
  const generated = operatorJobs({
    resources: objects.operator.resources,
    namespaceLabels: (ns) => objects.set.namespaces.find((n) => n.meta.name === ns)?.meta.labels,
    lookup: dumpAssetLookup(objects.operator),
    selection,
    global: config.global,
    ownNamespace: options.ownNamespace,
  });
  for (const { resource, reason } of generated.rejected) {
    problems++;
    await write(io.stderr, `${resource.kind} ${resource.namespace}/${resource.name}: rejected: ${reason}\n`);
  }
  for (const job of [...config.scrapeConfigs, ...generated.jobs]) {
    const groups: TargetGroup[] = staticGroups(job.staticConfigs);
    for (const [i, sd] of job.kubernetesSdConfigs.entries()) {
      try {
        groups.push(...discoverFromObjects(sd, objects.set, options.ownNamespace === undefined ? {} : { ownNamespace: options.ownNamespace }));
      } catch (err) {
        if (!(err instanceof SelectorError)) throw err;
        problems++;
        await write(io.stderr, `${job.source.file}:${job.source.line}: job ${JSON.stringify(job.jobName)}: kubernetes_sd_configs[${i}]: ${err.message}\n`);
      }
    }
    const files = await fileSDGroups(io, job, options.listDir ?? ((dir) => readdir(dir)));
    problems += files.problems;
    groups.push(...files.groups);
    for (const group of groups) {
      for (const labels of group.targets) await write(io.stdout, `${JSON.stringify(describeTarget(job, labels, group))}\n`);
    }
  }
  return problems > 0 ? 1 : 0;
}

function describeTarget(job: ScrapeConfig, labels: TargetGroup['targets'][number], group: TargetGroup): Record<string, unknown> {
  const result = buildTarget(job, labels, group.labels);
  const common = { job: job.jobName, discoveredLabels: labelsToObject(result.discoveredLabels) };
  switch (result.kind) {
    case 'kept':
      return { ...common, labels: labelsToObject(publicLabels(result.target.labels)), id: result.target.id, scrapeUrl: redactedUrl(scrapeUrl(result.target.labels, job.params)) };
    case 'dropped':
      return { ...common, labels: null };
    case 'invalid':
      return { ...common, labels: null, error: redactedUrl(result.reason) };
  }
}

/**
 * Reads a `--operator.config` file: a `Prometheus` resource or its spec. Exit 1 naming the file and field when bad,
 * or when a selection needs the Prometheus resource's namespace and neither the file nor `ownNamespace` (given
 * with `namespaceFlag`) says which it is.
 */
export async function readOperatorSelection(io: CommandIO, file: string, own: { namespace: string | undefined; flag: string }): Promise<OperatorSelection> {
  let selection: OperatorSelection;
  try {
    selection = parseOperatorConfig(await io.readFile(file), file);
  } catch (err) {
    if (err instanceof OperatorConfigError) throw new UsageError(err.message, 1);
    throw err;
  }
  const needy = kindsInOwnNamespace(selection);
  if (selection.namespace === undefined && own.namespace === undefined && needy.length > 0) {
    throw new UsageError(
      `${file}: ${needy.join(', ')} resources are selected in the Prometheus resource's namespace, which is unknown: ` +
        `set metadata.namespace or a namespace selector in the file, or pass ${own.flag}`,
      1,
    );
  }
  return selection;
}

async function readSelection(io: CommandIO, file: string | undefined, ownNamespace: string | undefined): Promise<OperatorSelection> {
  if (file !== undefined) return readOperatorSelection(io, file, { namespace: ownNamespace, flag: '--own-namespace' });
  try {
    return parseOperatorConfig(selectEverything, 'select everything');
  } catch (err) {
    if (err instanceof OperatorConfigError) throw new UsageError(err.message, 1);
    throw err;
  }
}

async function readObjects(io: CommandIO, file: string): Promise<{ set: ObjectSet; operator: OperatorObjects; problems: number }> {
  const text = await io.readFile(file);
  const name = file === '-' ? 'stdin' : file;
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new UsageError(`${name}: not JSON: ${err instanceof Error ? err.message : String(err)}`, 1);
  }
  let read;
  try {
    read = readObjectList(doc);
  } catch (err) {
    if (err instanceof ObjectListError) throw new UsageError(`${name}: ${err.message}`, 1);
    throw err;
  }
  let problems = 0;
  const ignored = new Map<string, number>();
  for (const s of read.skipped) {
    if (s.ignored) {
      ignored.set(s.reason, (ignored.get(s.reason) ?? 0) + 1);
      continue;
    }
    problems++;
    await write(io.stderr, `${name}: items[${s.index}]: skipped: ${s.reason}\n`);
  }
  for (const [reason, n] of ignored) await write(io.stderr, `${name}: ignored ${n} item${n === 1 ? '' : 's'}: ${reason}\n`);
  return { set: read.objects, operator: read.operator, problems };
}

/** Expands each file_sd pattern (a glob in the last path component, as Prometheus allows) and parses the files. */
async function fileSDGroups(io: CommandIO, job: ScrapeConfig, listDir: (dir: string) => Promise<string[]>): Promise<{ groups: TargetGroup[]; problems: number }> {
  const groups: TargetGroup[] = [];
  let problems = 0;
  const report = async (message: string) => {
    problems++;
    await write(io.stderr, `job ${JSON.stringify(job.jobName)}: file_sd: ${message}\n`);
  };
  for (const sd of job.fileSdConfigs) {
    for (const pattern of sd.files) {
      const dir = posix.dirname(pattern);
      const base = posix.basename(pattern);
      let paths: string[];
      if (/[*?[\\]/.test(base)) {
        try {
          paths = (await listDir(dir)).filter((name) => matchGlob(base, name)).sort().map((name) => posix.join(dir, name));
        } catch (err) {
          await report(`${dir}: ${err instanceof Error ? err.message : String(err)}`);
          continue;
        }
      } else {
        paths = [pattern];
      }
      for (const path of paths) {
        try {
          groups.push(...parseFileSD(await io.readFile(path), path));
        } catch (err) {
          if (err instanceof FileSDError || err instanceof UsageError) await report(err.message);
          else throw err;
        }
      }
    }
  }
  return { groups, problems };
}
