/**
 * `promfleet demo --offline`: runs the offline tools on the shipped example (examples/prometheus.yml and a dump of a
 * small cluster, examples/objects.json) and shows what each prints, so a new user sees promfleet's view of a real
 * Prometheus config in one command.
 */
import { fileURLToPath } from 'node:url';
import { PassThrough, Readable } from 'node:stream';
import { relative } from 'node:path';
import { run } from './cli.js';
import { type CommandIO, write } from './io.js';

const examples = fileURLToPath(new URL('../../../examples/', import.meta.url));

/** Runs the demo against the examples shipped beside the package; returns the exit code. */
export async function runDemo(io: CommandIO): Promise<number> {
  const at = (name: string) => relative(process.cwd(), `${examples}${name}`) || name;
  const config = at('prometheus.yml');
  const objects = at('objects.json');
  const rules = at('relabel.yml');
  const say = (text: string) => write(io.stdout, text);

  await say(`promfleet demo: the offline tools on a shipped example.\n  config:  ${config} (an ordinary prometheus.yml)\n  objects: ${objects} (kubectl get nodes,namespaces,pods,services,endpointslices,ingresses -A -o json)\n\n`);

  await say(`$ promfleet check config ${config}\n`);
  const check = await capture(io, ['check', 'config', config]);
  await say(indent(check.stdout + check.stderr));
  if (check.code !== 0) return check.code;

  await say(`\n$ promfleet targets --config ${config} --objects ${objects}    (summarised; the real output is one JSON line per target)\n`);
  const targets = await capture(io, ['targets', '--config', config, '--objects', objects]);
  if (targets.code !== 0) {
    await say(indent(targets.stderr));
    return targets.code;
  }
  await say(indent(summarise(targets.stdout)));

  const input = JSON.stringify({
    __address__: '10.244.1.21:8080',
    __meta_kubernetes_namespace: 'shop',
    __meta_kubernetes_pod_name: 'checkout-7c9d5f6b8-h2x7q',
    __meta_kubernetes_pod_annotation_prometheus_io_scrape: 'true',
    __meta_kubernetes_pod_annotation_prometheus_io_port: '9102',
  });
  await say(`\n$ echo '${input}' | promfleet relabel --rules ${rules}\n`);
  const relabeled = await capture(io, ['relabel', '--rules', rules], `${input}\n{"__address__":"10.244.2.40"}\n`);
  await say(indent(relabeled.stdout + relabeled.stderr));

  await say(
    `\nTry them on your own config and cluster:\n` +
      `  pnpm promfleet check config /etc/prometheus/prometheus.yml\n` +
      `  kubectl get nodes,namespaces,pods,services,endpoints,endpointslices,ingresses -A -o json \\\n` +
      `    | pnpm promfleet targets --config /etc/prometheus/prometheus.yml --objects - --own-namespace monitoring\n`,
  );
  return relabeled.code;
}

async function capture(io: CommandIO, argv: string[], stdin = ''): Promise<{ code: number; stdout: string; stderr: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const sink = (into: string[]) => new PassThrough().on('data', (chunk: Buffer) => into.push(chunk.toString('utf8')));
  const code = await run(argv, { stdin: Readable.from([stdin]), stdout: sink(out), stderr: sink(err), readFile: (path) => io.readFile(path), shutdown: io.shutdown });
  return { code, stdout: out.join(''), stderr: err.join('') };
}

function indent(text: string): string {
  return text.replace(/^(?=.)/gm, '  ');
}

interface TargetLine {
  job: string;
  id?: string;
  labels: Record<string, string> | null;
  scrapeUrl?: string;
  error?: string;
}

/**
 * One row per distinct target (the same id twice is one target: Prometheus' scrape pool scrapes it once), with
 * job, scrape URL and labels; then the counts.
 */
function summarise(jsonLines: string): string {
  const lines = jsonLines.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as TargetLine);
  const kept = lines.filter((l) => l.labels !== null);
  const distinct = [...new Map(kept.map((l) => [`${l.job}/${l.id ?? ''}`, l])).values()];
  const rows = distinct.map((l) => {
    const labels = Object.entries(l.labels ?? {})
      .filter(([name]) => name !== 'job')
      .map(([name, value]) => `${name}="${value}"`)
      .join(', ');
    return `${l.job.padEnd(30)} ${(l.scrapeUrl ?? '').padEnd(44)} {${labels}}`;
  });
  const invalid = lines.filter((l) => l.error !== undefined);
  const dropped = lines.length - kept.length - invalid.length;
  const summary =
    `${lines.length} discovered: ${kept.length} kept (${distinct.length} distinct targets; duplicates share an id and are scraped once), ` +
    `${dropped} dropped by relabeling${invalid.length > 0 ? `, ${invalid.length} invalid` : ''}.`;
  return [`${'JOB'.padEnd(30)} ${'SCRAPE URL'.padEnd(44)} LABELS`, ...rows, summary, ''].join('\n');
}

/**
 * `promfleet demo`: the live demo (demo-live.ts), loaded only when asked for, so that the master and the worker never
 * load @promfleet/testkit (its fake API server and target farm), a dependency of the CLI for the demo's sake.
 */
export async function runLiveDemoCommand(io: CommandIO): Promise<number> {
  const live = await import('./demo-live.js');
  return live.runLiveDemo(io);
}
