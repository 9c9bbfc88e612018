/** `promtool check metrics` as a test helper: Prometheus' own linter for metric names, types, units and help. */
import { execFile } from 'node:child_process';

/** Runs `promtool check metrics` on an exposition; resolves to its exit code and what it printed (nothing when clean). */
export function promtoolCheckMetrics(exposition: string): Promise<{ code: number; output: string }> {
  return new Promise((resolve, reject) => {
    const child = execFile('promtool', ['check', 'metrics'], (err, stdout, stderr) => {
      if (err !== null && typeof err.code !== 'number') reject(new Error(`promtool did not run: ${err.message}`));
      else resolve({ code: err === null ? 0 : Number(err.code), output: stdout + stderr });
    });
    child.stdin?.end(exposition);
  });
}

/**
 * Label names a scrape of a promfleet process would clash with: the target labels Prometheus adds (`job`,
 * `instance`) and those Kubernetes relabeling usually adds. A self-metric labelled so arrives as `exported_job`
 * and the like (or overwrites the target's with `honor_labels`).
 */
export const CLASHING_LABEL_NAMES: readonly string[] = ['job', 'instance', 'namespace', 'pod', 'container', 'service', 'endpoint', 'node'];

/** The label names of one sample line (`name{a="1",b="x\"y"} 1`), in order. */
function sampleLabelNames(line: string): string[] {
  const open = line.indexOf('{');
  if (open < 0) return [];
  const names: string[] = [];
  const pair = /\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*,?/y;
  pair.lastIndex = open + 1;
  for (let m = pair.exec(line); m !== null; m = pair.exec(line)) names.push(m[1] ?? '');
  return names;
}

/**
 * A promfleet process's own `/metrics` checked as a Prometheus user would: `promtool check metrics` clean, and no
 * series with a label from {@link CLASHING_LABEL_NAMES}. Resolves to promtool's exit code (3 when only a label
 * clashes) and one line per problem.
 */
export async function checkSelfMetrics(exposition: string): Promise<{ code: number; output: string }> {
  const promtool = await promtoolCheckMetrics(exposition);
  const clashes = new Set<string>();
  for (const line of exposition.split('\n')) {
    if (line.startsWith('#') || line.trim() === '') continue;
    const name = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line)?.[0] ?? line;
    for (const label of sampleLabelNames(line)) if (CLASHING_LABEL_NAMES.includes(label)) clashes.add(`${name} label "${label}" clashes with a target label once scraped\n`);
  }
  const output = promtool.output + [...clashes].join('');
  return { code: promtool.code !== 0 ? promtool.code : clashes.size > 0 ? 3 : 0, output };
}
