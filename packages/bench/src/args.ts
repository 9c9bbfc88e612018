/**
 * The discovery benchmark's command-line flags: `--name value` pairs, every one optional, each checked once here
 * with a message that names the flag, the value and what it accepts.
 */
import { benchEncodings, type BenchEncoding } from './traffic.js';

/** What the discovery benchmark runs. */
export interface DiscoveryBenchOptions {
  /** The cluster of the scale measurements (time, memory, CPU, latency). */
  readonly pods: number;
  readonly nodes: number;
  /** The smaller cluster of the jobs comparison (requests, time and RSS for each job count). */
  readonly jobsPods: number;
  readonly jobsNodes: number;
  /** The job counts compared, every job on the same role. */
  readonly jobs: readonly number[];
  /** Repeats of every measurement; the summary reports medians. */
  readonly runs: number;
  readonly churnEventsPerSecond: number;
  readonly churnSeconds: number;
  /** The master's discovery throttle (KubernetesDiscovery and DiscoveryManager), as in production: 1 s. */
  readonly throttleMs: number;
  /** The vmagent binary, or undefined to measure promfleet alone. */
  readonly vmagent: string | undefined;
  /** How long one discoverer may take to reach the full set before the run counts it as failed. */
  readonly fullSetTimeoutSeconds: number;
  /** The whole benchmark's time budget; measurements that would start after it are skipped and reported so. */
  readonly budgetSeconds: number;
  /** Also write the JSON summary here. */
  readonly jsonFile: string | undefined;
  /** Write a V8 CPU profile of every measured master process into this directory (`node --cpu-prof`). */
  readonly cpuProfileDir: string | undefined;
  readonly seed: number;
  /** The encodings promfleet's master asks the API server for, one scale comparison each, in this order. */
  readonly encodings: readonly BenchEncoding[];
  /** Whether the fake gzips lists over 128 KiB for clients that accept gzip, as kube-apiserver does by default. */
  readonly gzipLists: boolean;
}

/**
 * The defaults: the scale, and 5,000 pods for the jobs comparison (40 jobs hold 40 target sets, which at
 * more pods would not fit the ten-minute run on two cores), two runs.
 */
export const defaultOptions: DiscoveryBenchOptions = {
  pods: 150_000,
  nodes: 5_000,
  jobsPods: 5_000,
  jobsNodes: 250,
  jobs: [1, 40],
  runs: 2,
  churnEventsPerSecond: 500,
  churnSeconds: 30,
  throttleMs: 1_000,
  vmagent: 'vmagent',
  fullSetTimeoutSeconds: 240,
  budgetSeconds: 2400,
  jsonFile: undefined,
  cpuProfileDir: undefined,
  seed: 1,
  encodings: benchEncodings,
  gzipLists: true,
};

/** A flag the benchmark does not know, or a value it cannot use. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
  readonly code = 'PROMFLEET_BENCH_USAGE';
}

/** The flag text for `--help` and for usage errors. */
export const usage = `usage: node dist/discovery.js [flags]
  --pods N              pods in the scale cluster (default ${defaultOptions.pods})
  --nodes N             nodes in the scale cluster (default ${defaultOptions.nodes})
  --jobs-pods N         pods in the jobs-comparison cluster (default ${defaultOptions.jobsPods})
  --jobs-nodes N        nodes in the jobs-comparison cluster (default ${defaultOptions.jobsNodes})
  --jobs LIST|none      job counts to compare, comma-separated (default ${defaultOptions.jobs.join(',')})
  --runs N              repeats of each measurement, 1..5 (default ${defaultOptions.runs})
  --churn-rate N        churn in store writes per second (default ${defaultOptions.churnEventsPerSecond})
  --churn-seconds N     length of the churn window (default ${defaultOptions.churnSeconds})
  --throttle-ms N       the master's discovery throttle (default ${defaultOptions.throttleMs})
  --vmagent PATH|none   the vmagent binary, or none (default ${String(defaultOptions.vmagent)})
  --full-set-timeout N  seconds a discoverer may take to reach the full set (default ${defaultOptions.fullSetTimeoutSeconds})
  --budget N            seconds for the whole benchmark (default ${defaultOptions.budgetSeconds})
  --json FILE           also write the JSON summary to FILE
  --cpu-prof-dir DIR    write a V8 CPU profile of each measured master process into DIR
  --seed N              cluster seed (default ${defaultOptions.seed})
  --encodings LIST      what promfleet's master asks the API server for, comma-separated json,protobuf: one scale
                        comparison each (vmagent, which asks for JSON, measured with the first); the jobs
                        comparison uses the first (default ${defaultOptions.encodings.join(',')})
  --gzip-lists on|off   the fake gzips lists over 128 KiB for clients that accept gzip, as kube-apiserver does
                        (default ${defaultOptions.gzipLists ? 'on' : 'off'}; off answers every list uncompressed)`;

function integer(flag: string, text: string, range: { readonly min: number; readonly max: number }): number {
  const n = Number(text);
  if (text.trim() === '' || !Number.isInteger(n) || n < range.min || n > range.max) {
    throw new UsageError(`${flag} ${JSON.stringify(text)}: expected an integer from ${range.min} to ${range.max}`);
  }
  return n;
}

function encodingList(flag: string, text: string): BenchEncoding[] {
  const out: BenchEncoding[] = [];
  for (const part of text.split(',')) {
    const found = benchEncodings.find((e) => e === part.trim());
    if (found === undefined) throw new UsageError(`${flag} ${JSON.stringify(text)}: expected json and/or protobuf, comma-separated`);
    if (!out.includes(found)) out.push(found);
  }
  return out;
}

const anyCount = { min: 0, max: 10_000_000 };
const positive = { min: 1, max: 10_000_000 };

/**
 * Parses the flags after the script name. `--help` is not handled here: the caller checks for it first.
 *
 * @throws UsageError for an unknown flag, a flag without a value, or a value out of range.
 */
export function parseArgs(argv: readonly string[]): DiscoveryBenchOptions {
  const o: { -readonly [K in keyof DiscoveryBenchOptions]: DiscoveryBenchOptions[K] } = { ...defaultOptions };
  for (let i = 0; i < argv.length; i += 2) {
    const flag = argv[i] ?? '';
    const value = argv[i + 1];
    if (value === undefined || value.startsWith('--')) throw new UsageError(`${flag} needs a value\n${usage}`);
    switch (flag) {
      case '--pods':
        o.pods = integer(flag, value, anyCount);
        break;
      case '--nodes':
        o.nodes = integer(flag, value, positive);
        break;
      case '--jobs-pods':
        o.jobsPods = integer(flag, value, anyCount);
        break;
      case '--jobs-nodes':
        o.jobsNodes = integer(flag, value, positive);
        break;
      case '--jobs':
        o.jobs = value === 'none' ? [] : value.split(',').map((part) => integer(flag, part, { min: 1, max: 200 }));
        break;
      case '--runs':
        o.runs = integer(flag, value, { min: 1, max: 5 });
        break;
      case '--churn-rate':
        o.churnEventsPerSecond = integer(flag, value, { min: 1, max: 100_000 });
        break;
      case '--churn-seconds':
        o.churnSeconds = integer(flag, value, { min: 1, max: 600 });
        break;
      case '--throttle-ms':
        o.throttleMs = integer(flag, value, { min: 0, max: 60_000 });
        break;
      case '--vmagent':
        o.vmagent = value === 'none' ? undefined : value;
        break;
      case '--full-set-timeout':
        o.fullSetTimeoutSeconds = integer(flag, value, { min: 1, max: 3_600 });
        break;
      case '--budget':
        o.budgetSeconds = integer(flag, value, { min: 1, max: 7_200 });
        break;
      case '--json':
        o.jsonFile = value;
        break;
      case '--cpu-prof-dir':
        o.cpuProfileDir = value;
        break;
      case '--gzip-lists':
        if (value !== 'on' && value !== 'off') throw new UsageError(`${flag} ${JSON.stringify(value)}: expected on or off`);
        o.gzipLists = value === 'on';
        break;
      case '--encodings':
        o.encodings = encodingList(flag, value);
        break;
      case '--seed':
        o.seed = integer(flag, value, { min: 0, max: 2 ** 31 - 1 });
        break;
      default:
        throw new UsageError(`unknown flag ${JSON.stringify(flag)}\n${usage}`);
    }
  }
  return o;
}
