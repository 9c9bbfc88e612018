/**
 * Health reports fit the gRPC limit by construction: errors cut at a character boundary, reports
 * split into parts under the budget, and the size bound never below the real encoding.
 */
import { describe, expect, it } from '@jest/globals';
import { WorkerMessage, type TargetHealth } from './gen/promfleet/fleet/v1/fleet.js';
import { HEALTH_REPORT_PART_BYTES, MAX_ERROR_BYTES, healthReportParts, targetHealthMaxBytes, truncateError } from './health.js';
import { targetIdToBytes } from './ids.js';
import { MAX_MESSAGE_BYTES } from './version.js';

function health(index: number, lastError: string): TargetHealth {
  return {
    targetId: targetIdToBytes(index.toString(16).padStart(16, '0')),
    lastScrapeUnixMs: 1_780_000_000_000 + index,
    lastScrapeDurationSeconds: 0.25,
    samplesScraped: 0,
    samplesPostMetricRelabeling: 0,
    up: false,
    lastError,
  };
}

function encodedReportBytes(part: ReturnType<typeof healthReportParts>[number]): number {
  return WorkerMessage.encode({ kind: { $case: 'healthReport', healthReport: part } }).finish().length;
}

const bytes = (text: string) => Buffer.byteLength(text, 'utf8');

describe('truncateError', () => {
  it.each([
    ['empty', ''],
    ['short ASCII', 'connection refused'],
    ['exactly the limit', 'x'.repeat(MAX_ERROR_BYTES)],
    ['341 three-byte characters (1,023 bytes)', '€'.repeat(341)],
  ])('keeps %s as is', (_name, text) => {
    expect(truncateError(text)).toBe(text);
  });

  it.each([
    ['ASCII', 'a'.repeat(10_000)],
    ['two-byte characters', 'é'.repeat(5_000)],
    ['three-byte characters', '€'.repeat(5_000)],
    ['four-byte characters (surrogate pairs)', '😀'.repeat(5_000)],
    ['mixed, one byte off each boundary', 'a' + 'é€😀'.repeat(2_000)],
    ['mixed, two bytes off', 'ab' + '😀€é'.repeat(2_000)],
    ['a label set echoed back', `invalid label set: {${Array.from({ length: 500 }, (_, i) => `label_${i}="välue ${i}"`).join(', ')}}`],
  ])('cuts %s to at most the limit, at a character boundary, saying how much went', (_name, text) => {
    const cut = truncateError(text);
    expect(bytes(cut)).toBeLessThanOrEqual(MAX_ERROR_BYTES);
    expect(bytes(cut)).toBeGreaterThan(MAX_ERROR_BYTES - 40);
    const match = /^([\s\S]*)…\((\d+) bytes truncated\)$/.exec(cut);
    expect(match).not.toBeNull();
    const kept = match?.[1] ?? '';
    // The kept text is a prefix of the original made of whole characters (no U+FFFD from a split).
    expect(text.startsWith(kept)).toBe(true);
    expect(kept).not.toContain('\uFFFD');
    expect(Number(match?.[2])).toBe(bytes(text) - bytes(kept));
  });

  it('honours a smaller limit', () => {
    const cut = truncateError('😀'.repeat(100), 64);
    expect(bytes(cut)).toBeLessThanOrEqual(64);
    expect(cut.startsWith('😀')).toBe(true);
  });
});

describe('targetHealthMaxBytes', () => {
  it.each([
    ['zeros', { ...health(0, ''), lastScrapeUnixMs: 0, lastScrapeDurationSeconds: 0 }],
    ['widest values', { ...health(1, '€'.repeat(341)), lastScrapeUnixMs: -1, samplesScraped: 2 ** 32 - 1, samplesPostMetricRelabeling: 2 ** 32 - 1, up: true }],
    ['a long error', health(2, 'x'.repeat(200_000))],
  ])('is never below the encoded size of an entry (%s)', (_name, entry) => {
    const alone = WorkerMessage.encode({ kind: { $case: 'healthReport', healthReport: { generation: 0, targets: [], continued: false } } }).finish().length;
    const withEntry = WorkerMessage.encode({ kind: { $case: 'healthReport', healthReport: { generation: 0, targets: [entry], continued: false } } }).finish().length;
    expect(targetHealthMaxBytes(entry)).toBeGreaterThanOrEqual(withEntry - alone);
  });
});

describe('healthReportParts', () => {
  it('sends a small report as one part, entries untouched', () => {
    const targets = [health(1, ''), health(2, 'connection refused')];
    const parts = healthReportParts({ generation: 7, targets });
    expect(parts).toEqual([{ generation: 7, targets, continued: false }]);
    expect(parts[0]?.targets[1]).toBe(targets[1]);
  });

  it('sends an empty report as one empty part', () => {
    expect(healthReportParts({ generation: 3, targets: [] })).toEqual([{ generation: 3, targets: [], continued: false }]);
  });

  it('keeps 100k targets all failing with 10 KB errors under the limit, each target once, errors cut', () => {
    const longError = `invalid label set: ${'{pod="x", container="y"} '.repeat(400)}`;
    expect(bytes(longError)).toBeGreaterThan(10_000);
    const targets = Array.from({ length: 100_000 }, (_, i) => health(i, longError));
    const parts = healthReportParts({ generation: 42, targets });
    let largest = 0;
    let entries = 0;
    parts.forEach((part, i) => {
      const size = encodedReportBytes(part);
      largest = Math.max(largest, size);
      expect(size).toBeLessThanOrEqual(HEALTH_REPORT_PART_BYTES);
      expect(part.generation).toBe(42);
      expect(part.continued).toBe(i < parts.length - 1);
      for (const entry of part.targets) expect(bytes(entry.lastError)).toBeLessThanOrEqual(MAX_ERROR_BYTES);
      entries += part.targets.length;
    });
    expect(entries).toBe(targets.length);
    expect(largest).toBeLessThan(MAX_MESSAGE_BYTES);
    // The entries of a part fill most of it: the bound is close to the real size.
    expect(largest).toBeGreaterThan(HEALTH_REPORT_PART_BYTES * 0.95);
    process.stdout.write(`health report: ${targets.length} targets with ${bytes(longError)}-byte errors -> ${parts.length} parts, largest ${largest} bytes (limit ${MAX_MESSAGE_BYTES})\n`);
  });
});
