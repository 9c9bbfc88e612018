/**
 * `promfleet parse`: what the worker's scrape loop reads from an exposition, as JSON lines. One line per entry:
 *
 * - a sample: `{"name":"http_requests_total","labels":{"code":"200"},"value":1027,"timestampMs":null}`; labels
 *   sorted, without `__name__` and with escapes decoded (and `le`/`quantile` normalised as Prometheus 3 does); the
 *   value a JSON number, or the string `"NaN"`, `"+Inf"` or `"-Inf"`; `timestampMs` null when the line has none;
 * - `# HELP`: `{"help":"http_requests_total","text":"…"}`;
 * - `# TYPE`: `{"type":"http_requests_total","kind":"counter"}` (the text format's `untyped` is `unknown`);
 * - `# UNIT` (OpenMetrics): `{"unit":"request_duration_seconds","text":"seconds"}`.
 *
 * Comments and exemplars are not printed (the worker sends exemplars only to endpoints with `send_exemplars`).
 */
import { LabelName, labelsToObject } from '@promfleet/model';
import { ParseError, createParser, type ExpositionFormat, type ExpositionParser } from '@promfleet/worker';
import { type CommandIO, readAll, write } from './io.js';

/** Output is written in chunks of about this many characters. */
const chunkChars = 64 * 1024;

function jsonValue(value: number): number | string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return value;
}

function sampleLine(parser: ExpositionParser): string {
  const labels = parser.labels();
  const name = labels.get(LabelName.metricName) ?? '';
  labels.delete(LabelName.metricName);
  return JSON.stringify({ name, labels: labelsToObject(labels), value: jsonValue(parser.value()), timestampMs: parser.timestampMs() ?? null });
}

/**
 * `promfleet parse [--format text|openmetrics]`: reads an exposition from stdin and prints its entries as JSON lines
 * (see the module comment). Malformed input prints what parsed before it, then `stdin:LINE: reason` on stderr, and
 * exits 1.
 */
export async function parseExposition(io: CommandIO, format: ExpositionFormat): Promise<number> {
  const parser = createParser({ body: await readAll(io.stdin), format });
  let out = '';
  try {
    for (let entry = parser.next(); entry !== undefined; entry = parser.next()) {
      switch (entry) {
        case 'series':
          out += `${sampleLine(parser)}\n`;
          break;
        case 'help': {
          const [help, text] = parser.help();
          out += `${JSON.stringify({ help, text })}\n`;
          break;
        }
        case 'type': {
          const [type, kind] = parser.type();
          out += `${JSON.stringify({ type, kind })}\n`;
          break;
        }
        case 'unit': {
          const [unit, text] = parser.unit();
          out += `${JSON.stringify({ unit, text })}\n`;
          break;
        }
        case 'comment':
          break;
      }
      if (out.length >= chunkChars) {
        await write(io.stdout, out);
        out = '';
      }
    }
  } catch (err) {
    if (!(err instanceof ParseError)) throw err;
    await write(io.stdout, out);
    await write(io.stderr, `stdin:${err.line}: ${err.reason}\n`);
    return 1;
  }
  await write(io.stdout, out);
  return 0;
}
