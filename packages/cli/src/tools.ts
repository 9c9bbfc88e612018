/**
 * The offline tools: they answer "what would my Prometheus config do?" without a cluster or a fleet.
 * Every one reads its input, writes JSON lines or messages, and reports bad input as `file:line: why`.
 */
import { createInterface } from 'node:readline';
import { parseDocument } from 'yaml';
import {
  formatConfigIssue,
  labelsFromObject,
  labelsToObject,
  parseConfig,
  parseRelabelRules,
  relabel,
  type PrometheusConfig,
} from '@promfleet/model';
import { type CommandIO, UsageError, write } from './io.js';

/** `promfleet check config FILE`: 0 when valid (notices on stderr), 1 with every error. */
export async function checkConfig(io: CommandIO, file: string): Promise<number> {
  const result = parseConfig(await io.readFile(file), { file });
  for (const notice of result.notices) await write(io.stderr, `${formatConfigIssue(notice)}\n`);
  if (!result.ok) {
    for (const error of result.errors) await write(io.stderr, `${formatConfigIssue(error)}\n`);
    await write(io.stderr, `${file}: ${result.errors.length} error${result.errors.length === 1 ? '' : 's'}\n`);
    return 1;
  }
  const { scrapeConfigs, remoteWrite } = result.config;
  for (const warning of configWarnings(result.config)) await write(io.stderr, `${file}: warning: ${warning}\n`);
  await write(io.stdout, `${file}: valid: ${count(scrapeConfigs.length, 'scrape config')}, ${count(remoteWrite.length, 'remote_write endpoint')}\n`);
  return 0;
}

/** What a valid config asks for that is most likely a mistake: printed by `check config`, logged by the master at start. */
export function configWarnings(config: PrometheusConfig): string[] {
  return config.remoteWrite.length === 0 ? ['no remote_write endpoint: scraped samples go nowhere (promfleet stores nothing itself)'] : [];
}

function count(n: number, what: string): string {
  return `${n} ${what}${n === 1 ? '' : 's'}`;
}

/**
 * Loads a config for a tool that needs it valid, or fails naming every error. `onRead` gets the exact text read,
 * before it is parsed (also for a text that turns out invalid), for a caller that must know what it loaded.
 */
export async function loadValidConfig(io: CommandIO, file: string, onRead?: (text: string) => void): Promise<PrometheusConfig> {
  const text = await io.readFile(file);
  onRead?.(text);
  const result = parseConfig(text, { file });
  if (!result.ok) throw new UsageError(`invalid config:\n${result.errors.map(formatConfigIssue).join('\n')}`, 1);
  return result.config;
}

/**
 * `promfleet relabel --rules RULES.yaml`: each stdin line is a JSON object of labels; each stdout line is the
 * relabeled set or `null` when dropped. A bad input line is reported on stderr with its number and skipped (the
 * exit code is then 1); invalid rules exit 2 naming the rule's index and line.
 */
export async function relabelLines(io: CommandIO, rulesFile: string): Promise<number> {
  const text = await io.readFile(rulesFile);
  const doc = parseDocument(text, { uniqueKeys: true });
  if (doc.errors.length > 0) {
    const first = doc.errors[0];
    throw new UsageError(`${rulesFile}:${first?.linePos?.[0].line ?? 1}: ${first?.message.split('\n')[0] ?? 'invalid YAML'}`);
  }
  const raw: unknown = doc.toJS() ?? [];
  const parsed = parseRelabelRules(raw);
  if (!parsed.ok) {
    const lines = parsed.errors.map((e) => {
      const node = doc.getIn([e.index, ...e.path.split('.').filter((p) => p !== '')], true);
      const at = lineOf(text, node) ?? lineOf(text, doc.getIn([e.index], true));
      return `${rulesFile}${at === undefined ? '' : `:${at}`}: rule ${e.index}${e.path ? ` ${e.path}` : ''}: ${e.message}`;
    });
    throw new UsageError(`invalid relabel rules:\n${lines.join('\n')}`);
  }
  let failed = 0;
  let lineNo = 0;
  for await (const line of createInterface({ input: io.stdin, crlfDelay: Infinity })) {
    lineNo++;
    if (line.trim() === '') continue;
    const labels = parseLabelLine(line);
    if (typeof labels === 'string') {
      failed++;
      await write(io.stderr, `stdin:${lineNo}: ${labels}\n`);
      continue;
    }
    const result = relabel(labels, parsed.rules);
    await write(io.stdout, `${result.keep ? JSON.stringify(labelsToObject(result.labels)) : 'null'}\n`);
  }
  return failed > 0 ? 1 : 0;
}

function parseLabelLine(line: string): Map<string, string> | string {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (err) {
    return `not JSON: ${err instanceof Error ? err.message : String(err)}`;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'expected a JSON object of label names to string values';
  for (const [name, v] of Object.entries(value)) {
    if (typeof v !== 'string') return `label ${JSON.stringify(name)} has a non-string value`;
  }
  return labelsFromObject(value as Record<string, unknown>);
}

function lineOf(text: string, node: unknown): number | undefined {
  if (typeof node !== 'object' || node === null || !('range' in node)) return undefined;
  const range = (node as { range?: unknown }).range;
  if (!Array.isArray(range) || typeof range[0] !== 'number') return undefined;
  let line = 1;
  for (let i = 0; i < range[0] && i < text.length; i++) if (text.charCodeAt(i) === 10) line++;
  return line;
}
