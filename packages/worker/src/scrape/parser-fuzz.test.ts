import { describe, expect, it } from '@jest/globals';
import { ParseError, createParser, type ExpositionFormat } from './parser.js';
import { openMetricsExposition, readAll, seriesOf, textExposition } from './parser-fixtures.js';

/** A seeded PRNG (mulberry32), so a failing case can be replayed. */
function prng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Characters that matter to the grammar, and a few that do not. */
const alphabet = ['"', '\\', '{', '}', '=', ',', ' ', '\t', '\n', '#', '\0', '\r', 'e', '.', '-', '+', 'a', '_', ':', '0', '9', 'N', 'I', 'ü', '☃', '𝄞'];

function mutate(body: string, random: () => number): string {
  let out = body;
  const edits = 1 + Math.floor(random() * 4);
  for (let i = 0; i < edits; i++) {
    const at = Math.floor(random() * (out.length + 1));
    const pick = alphabet[Math.floor(random() * alphabet.length)] ?? '';
    switch (Math.floor(random() * 5)) {
      case 0:
        out = out.slice(0, at) + out.slice(at + 1);
        break;
      case 1:
        out = out.slice(0, at) + pick + out.slice(at);
        break;
      case 2:
        out = out.slice(0, at) + pick + out.slice(at + 1);
        break;
      case 3: {
        const length = Math.floor(random() * 20);
        out = out.slice(0, at) + out.slice(at, at + length) + out.slice(at);
        break;
      }
      default:
        out = out.slice(0, at);
    }
  }
  return out;
}

/** Drives a parser over `body` like the scrape loop and a metadata reader at once; bounded by the body's length. */
function drive(body: string, format: ExpositionFormat): 'ok' | ParseError {
  const parser = createParser({ body, format });
  try {
    let entries = 0;
    for (let entry = parser.next(); entry !== undefined; entry = parser.next()) {
      entries++;
      if (entries > body.length + 1) throw new Error(`no progress: ${entries} entries from ${body.length} characters`);
      if (entry === 'series') {
        parser.series();
        parser.labels();
        parser.value();
        parser.timestampMs();
        parser.hasExemplar();
      } else if (entry === 'help') {
        parser.help();
      } else if (entry === 'type') {
        parser.type();
      } else if (entry === 'unit') {
        parser.unit();
      } else {
        parser.comment();
      }
    }
    return 'ok';
  } catch (err) {
    if (err instanceof ParseError) return err;
    throw err;
  }
}

describe('parsers on mutated expositions', () => {
  it.each([
    ['text', textExposition],
    ['openmetrics', openMetricsExposition],
  ] as [ExpositionFormat, string][])('%s: every mutation either parses or fails with a ParseError on a line of the body', (format, exposition) => {
    const random = prng(format === 'text' ? 1 : 2);
    const outcomes = { ok: 0, failed: 0 };
    for (let i = 0; i < 3000; i++) {
      const body = mutate(exposition, random);
      const outcome = drive(body, format);
      if (outcome === 'ok') {
        outcomes.ok++;
        continue;
      }
      outcomes.failed++;
      expect(outcome.line).toBeGreaterThanOrEqual(1);
      expect(outcome.line).toBeLessThanOrEqual(body.split('\n').length);
      expect(outcome.message).toBe(`line ${outcome.line}: ${outcome.reason}`);
    }
    // Both outcomes occur, so the mutations reach past the first line and the check above is exercised.
    expect(outcomes.ok).toBeGreaterThan(100);
    expect(outcomes.failed).toBeGreaterThan(100);
  });
});

describe('label values round-trip through escaping', () => {
  const pieces = ['a', 'Z', ' ', '"', '\\', '\n', '\\n', '\\"', 'ü', '☃', '𝄞', '=', ',', '}', '{', '#', '\t', '\\t'];
  const escape = (s: string) => s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');

  it.each(['text', 'openmetrics'] as ExpositionFormat[])('%s: any value, escaped as client libraries do, reads back unchanged', (format) => {
    const random = prng(3);
    const values = Array.from({ length: 300 }, () => Array.from({ length: Math.floor(random() * 8) }, () => pieces[Math.floor(random() * pieces.length)] ?? '').join(''));
    const lines = values.map((v, i) => `m{"label.${i}"="${escape(v)}",plain="${escape(v)}"} ${i}`);
    const body = `${lines.join('\n')}\n${format === 'openmetrics' ? '# EOF\n' : ''}`;
    expect(seriesOf(body, format).map((s) => [s.labels[`label.${s.value}`], s.labels['plain']])).toEqual(values.map((v) => [v, v]));
  });
});

describe('the scrape-cache pattern', () => {
  it('keys by series text and reads labels once per series, with the same result as reading them every time', () => {
    const cache = new Map<string, Map<string, string>>();
    const cached: Map<string, string>[] = [];
    for (let scrape = 0; scrape < 3; scrape++) {
      const parser = createParser({ body: textExposition, format: 'text' });
      for (let entry = parser.next(); entry !== undefined; entry = parser.next()) {
        if (entry !== 'series') continue;
        let labels = cache.get(parser.series());
        if (labels === undefined) {
          labels = parser.labels();
          cache.set(parser.detachedSeries(), labels);
        }
        if (scrape === 2) cached.push(labels);
      }
    }
    const full = readAll(textExposition, 'text').flatMap((e) => ('series' in e ? [new Map(Object.entries(e.labels))] : []));
    expect(cached).toEqual(full);
    expect(cache.size).toBe(full.length);
  });
});
