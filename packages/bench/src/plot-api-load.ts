/**
 * Draws docs/images/api-load.svg, the README's API-server load plot: promfleet beside vmagent in cluster mode and
 * Prometheus shards, from the discovery benchmark's recorded figures (BENCHMARKS.md, "Discovery") or from the JSON
 * of a fresh run. What is measured and what is derived is in plot-api-load-figures.ts and on the plot itself.
 *
 *   pnpm build && pnpm --filter @promfleet/bench plot:api-load
 *   pnpm --filter @promfleet/bench discovery --json /tmp/discovery.json    # a fresh run, then:
 *   pnpm --filter @promfleet/bench plot:api-load --discovery-json /tmp/discovery.json --out /tmp/api-load.svg
 */
import { readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { apiLoadChart, inputFromSummary, recordedInput } from './plot-api-load-figures.js';
import { renderChart } from './plot-svg.js';
import type { Summary } from './report.js';

const usage = `usage: pnpm --filter @promfleet/bench plot:api-load [--discovery-json FILE] [--out FILE] [--max-scrapers N]
  --discovery-json FILE   the JSON of "pnpm --filter @promfleet/bench discovery --json FILE" (default: the figures
                          recorded in BENCHMARKS.md, "Discovery")
  --out FILE              where to write the SVG (default: docs/images/api-load.svg of this repository)
  --max-scrapers N        workers, members or shards on the x axis, 2 or more (default 10)`;

const defaultOut = fileURLToPath(new URL('../../../docs/images/api-load.svg', import.meta.url));

async function main(): Promise<number> {
  let values: { 'discovery-json'?: string; out?: string; 'max-scrapers'?: string; help?: boolean };
  try {
    ({ values } = parseArgs({
      options: { 'discovery-json': { type: 'string' }, out: { type: 'string' }, 'max-scrapers': { type: 'string' }, help: { type: 'boolean', short: 'h' } },
      strict: true,
    }));
  } catch (err) {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n${usage}\n`);
    return 2;
  }
  if (values.help === true) {
    process.stdout.write(`${usage}\n`);
    return 0;
  }
  const maxScrapers = Number(values['max-scrapers'] ?? '10');
  if (!Number.isInteger(maxScrapers) || maxScrapers < 2) {
    process.stderr.write(`--max-scrapers must be an integer ≥ 2, got ${JSON.stringify(values['max-scrapers'])}\n${usage}\n`);
    return 2;
  }
  const file = values['discovery-json'];
  let input = recordedInput;
  if (file !== undefined) {
    try {
      input = inputFromSummary(JSON.parse(await readFile(file, 'utf8')) as Summary, file);
    } catch (err) {
      process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
      return 1;
    }
  }
  const out = values.out ?? defaultOut;
  await writeFile(out, renderChart(apiLoadChart(input, maxScrapers)));
  process.stdout.write(`${out}: ${input.source}\n`);
  return 0;
}

process.exitCode = await main();
