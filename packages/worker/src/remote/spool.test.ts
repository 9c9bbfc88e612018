import * as fs from 'node:fs';
import { mkdtempSync, readdirSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { FRAME_HEADER_BYTES, Spool, SpoolError, type QueueRecord, type SpoolFs } from './spool.js';

/** A record whose body names it, so order and identity can be checked after a read. */
function record(n: number, bodyBytes = 100): QueueRecord {
  const body = Buffer.alloc(bodyBytes, n % 251);
  body.write(`record-${n}:`, 0);
  return {
    protocol: n % 2 === 0 ? 'prometheus.WriteRequest' : 'io.prometheus.write.v2.Request',
    body,
    samples: n + 1,
    exemplars: n % 3,
    oldestTimestampMs: 1_700_000_000_000 + n,
    newestTimestampMs: 1_700_000_015_000 + n,
  };
}

function frameBytes(bodyBytes = 100): number {
  return FRAME_HEADER_BYTES + bodyBytes;
}

/** Peeks and acks every record, returning them in order. */
function drain(spool: Spool): QueueRecord[] {
  const out: QueueRecord[] = [];
  for (let head = spool.peek(); head !== undefined; head = spool.peek()) {
    out.push(head);
    spool.ack(head.id);
  }
  return out;
}

function plain(r: QueueRecord): QueueRecord {
  return {
    protocol: r.protocol,
    body: Buffer.from(r.body),
    samples: r.samples,
    exemplars: r.exemplars,
    oldestTimestampMs: r.oldestTimestampMs,
    newestTimestampMs: r.newestTimestampMs,
  };
}

function segments(dir: string): string[] {
  return readdirSync(dir)
    .filter((name) => name.endsWith('.seg'))
    .sort();
}

describe('Spool', () => {
  let dir: string;

  beforeEach(() => {
    dir = join(mkdtempSync(join(tmpdir(), 'promfleet-spool-')), 'shard-0');
  });

  afterEach(() => {
    rmSync(join(dir, '..'), { recursive: true, force: true });
  });

  it('creates a missing directory and opens empty', () => {
    const { spool, recovered, discarded } = Spool.open(join(dir, 'deeper'), { maxBytes: 1 << 20 });
    expect(recovered).toEqual({ records: 0, samples: 0, bytes: 0 });
    expect(discarded).toEqual({ records: 0, samples: 0, exemplars: 0, bytes: 0 });
    expect(spool.peek()).toBeUndefined();
    expect([spool.records, spool.samples, spool.bytes]).toEqual([0, 0, 0]);
    spool.close();
    expect(statSync(join(dir, 'deeper')).isDirectory()).toBe(true);
  });

  it('keeps FIFO order across segment rolls, and deletes segments once read', () => {
    const { spool } = Spool.open(dir, { maxBytes: 1 << 20, segmentBytes: 4 * frameBytes() });
    const written = Array.from({ length: 10 }, (_, n) => record(n));
    for (const r of written) expect(spool.append(r)).toEqual({ records: 0, samples: 0, exemplars: 0, bytes: 0 });
    expect(segments(dir)).toHaveLength(3);
    expect(spool.records).toBe(10);
    expect(spool.samples).toBe(55);
    expect(spool.bytes).toBe(10 * frameBytes());
    expect(drain(spool).map(plain)).toEqual(written);
    expect(segments(dir)).toEqual([]);
    expect([spool.records, spool.samples, spool.bytes]).toEqual([0, 0, 0]);
    spool.append(record(10));
    expect(drain(spool).map(plain)).toEqual([record(10)]);
    spool.close();
  });

  it('returns the same head with the same id until it is acked', () => {
    const { spool } = Spool.open(dir, { maxBytes: 1 << 20 });
    spool.append(record(0));
    spool.append(record(1));
    const first = spool.peek();
    expect(spool.peek()).toEqual(first);
    spool.ack(first?.id ?? -1);
    const second = spool.peek();
    expect(second?.id).not.toBe(first?.id);
    expect(second && plain(second)).toEqual(record(1));
    spool.close();
  });

  it('reopens with exactly the records not acked, the acked part of a segment skipped', () => {
    const first = Spool.open(dir, { maxBytes: 1 << 20, segmentBytes: 4 * frameBytes() });
    for (let n = 0; n < 10; n++) first.spool.append(record(n));
    for (let n = 0; n < 6; n++) first.spool.ack(first.spool.peek()?.id ?? -1);
    first.spool.close();

    const { spool, recovered, discarded } = Spool.open(dir, { maxBytes: 1 << 20, segmentBytes: 4 * frameBytes() });
    expect(recovered).toEqual({ records: 4, samples: 7 + 8 + 9 + 10, bytes: 6 * frameBytes() });
    expect(discarded.records).toBe(0);
    expect(spool.records).toBe(4);
    expect(drain(spool).map(plain)).toEqual([6, 7, 8, 9].map((n) => record(n)));
    spool.close();
  });

  it('keeps what was appended without close (a killed process) and appends after it', () => {
    const killed = Spool.open(dir, { maxBytes: 1 << 20 }).spool;
    for (let n = 0; n < 3; n++) killed.append(record(n));
    killed.ack(killed.peek()?.id ?? -1);

    const { spool, recovered } = Spool.open(dir, { maxBytes: 1 << 20 });
    expect(recovered.records).toBe(2);
    spool.append(record(3));
    expect(drain(spool).map(plain)).toEqual([1, 2, 3].map((n) => record(n)));
    spool.close();
    killed.close();
  });

  it('truncates a frame torn mid-write at the tail and keeps appending after the last whole one', () => {
    const first = Spool.open(dir, { maxBytes: 1 << 20 });
    for (let n = 0; n < 3; n++) first.spool.append(record(n));
    first.spool.close();
    const [segment] = segments(dir);
    const path = join(dir, segment ?? '');
    truncateSync(path, 2 * frameBytes() + FRAME_HEADER_BYTES + 10);

    const { spool, recovered, discarded } = Spool.open(dir, { maxBytes: 1 << 20 });
    expect(recovered).toEqual({ records: 2, samples: 1 + 2, bytes: 2 * frameBytes() });
    expect(discarded).toEqual({ records: 1, samples: 3, exemplars: 2, bytes: FRAME_HEADER_BYTES + 10 });
    expect(statSync(path).size).toBe(2 * frameBytes());
    spool.append(record(3));
    spool.close();

    const again = Spool.open(dir, { maxBytes: 1 << 20 });
    expect(again.discarded.bytes).toBe(0);
    expect(drain(again.spool).map(plain)).toEqual([0, 1, 3].map((n) => record(n)));
    again.spool.close();
  });

  it('discards the rest of a segment from a corrupt record on, and keeps the segments after it', () => {
    const first = Spool.open(dir, { maxBytes: 1 << 20, segmentBytes: 4 * frameBytes() });
    for (let n = 0; n < 8; n++) first.spool.append(record(n));
    first.spool.close();
    const [head] = segments(dir);
    const path = join(dir, head ?? '');
    const bytes = fs.readFileSync(path);
    const at = frameBytes() + FRAME_HEADER_BYTES + 50;
    bytes[at] = (bytes[at] ?? 0) ^ 0xff;
    writeFileSync(path, bytes);

    const { spool, recovered, discarded } = Spool.open(dir, { maxBytes: 1 << 20, segmentBytes: 4 * frameBytes() });
    expect(discarded).toEqual({ records: 3, samples: 2 + 3 + 4, exemplars: 1 + 2 + 0, bytes: 3 * frameBytes() });
    expect(recovered.records).toBe(5);
    expect(drain(spool).map(plain)).toEqual([0, 4, 5, 6, 7].map((n) => record(n)));
    spool.close();
  });

  it('discards the rest of a segment that goes bad after open when the head reaches it', () => {
    const { spool } = Spool.open(dir, { maxBytes: 1 << 20, segmentBytes: 4 * frameBytes() });
    for (let n = 0; n < 6; n++) spool.append(record(n));
    const [head] = segments(dir);
    const fd = fs.openSync(join(dir, head ?? ''), 'r+');
    fs.writeSync(fd, Buffer.from([0x00]), 0, 1, 2 * frameBytes() + FRAME_HEADER_BYTES + 1);
    fs.closeSync(fd);
    const read = drain(spool).map(plain);
    expect(read).toEqual([0, 1, 4, 5].map((n) => record(n)));
    expect(spool.discarded).toEqual({ records: 2, samples: 3 + 4, exemplars: 2 + 0, bytes: 2 * frameBytes() });
    spool.close();
  });

  it('drops whole oldest segments for room, with exact counts, and returns a record too large alone', () => {
    const { spool } = Spool.open(dir, { maxBytes: 8 * frameBytes(), segmentBytes: 3 * frameBytes() });
    for (let n = 0; n < 8; n++) expect(spool.append(record(n)).records).toBe(0);
    expect(spool.bytes).toBe(8 * frameBytes());
    expect(spool.append(record(8))).toEqual({ records: 3, samples: 1 + 2 + 3, exemplars: 0 + 1 + 2, bytes: 3 * frameBytes() });
    expect(spool.bytes).toBe(6 * frameBytes());
    expect(spool.records).toBe(6);
    expect(spool.samples).toBe(4 + 5 + 6 + 7 + 8 + 9);

    const huge = record(99, 8 * frameBytes());
    expect(spool.append(huge)).toEqual({ records: 1, samples: 100, exemplars: 0, bytes: FRAME_HEADER_BYTES + 8 * frameBytes() });
    expect(spool.records).toBe(6);
    expect(drain(spool).map(plain)).toEqual([3, 4, 5, 6, 7, 8].map((n) => record(n)));
    spool.close();
  });

  it('drops the head segment while its head is peeked; the stale ack then removes nothing', () => {
    const { spool } = Spool.open(dir, { maxBytes: 6 * frameBytes(), segmentBytes: 3 * frameBytes() });
    for (let n = 0; n < 6; n++) spool.append(record(n));
    spool.ack(spool.peek()?.id ?? -1);
    const peeked = spool.peek();
    expect(peeked && plain(peeked)).toEqual(record(1));
    // The acked record 0 still takes its bytes in the head segment: the bound counts files.
    expect(spool.append(record(6))).toEqual({ records: 2, samples: 2 + 3, exemplars: 1 + 2, bytes: 2 * frameBytes() });
    spool.ack(peeked?.id ?? -1);
    expect(spool.records).toBe(4);
    expect(drain(spool).map(plain)).toEqual([3, 4, 5, 6].map((n) => record(n)));
    spool.close();
  });

  it('drops the only segment when it is the tail, and goes on in a new one', () => {
    const { spool } = Spool.open(dir, { maxBytes: 3 * frameBytes(), segmentBytes: 10 * frameBytes() });
    for (let n = 0; n < 3; n++) spool.append(record(n));
    const before = segments(dir);
    expect(spool.append(record(3))).toEqual({ records: 3, samples: 6, exemplars: 3, bytes: 3 * frameBytes() });
    expect(segments(dir)).not.toEqual(before);
    spool.close();
    const { spool: reopened } = Spool.open(dir, { maxBytes: 3 * frameBytes() });
    expect(drain(reopened).map(plain)).toEqual([record(3)]);
    reopened.close();
  });

  it('ignores an ack whose id is not the head', () => {
    const { spool } = Spool.open(dir, { maxBytes: 1 << 20 });
    spool.append(record(0));
    const head = spool.peek();
    spool.ack((head?.id ?? 0) + 1);
    spool.ack((head?.id ?? 0) - 1);
    expect(spool.records).toBe(1);
    spool.ack(head?.id ?? -1);
    spool.ack(head?.id ?? -1);
    expect(spool.records).toBe(0);
    spool.append(record(1));
    spool.ack(head?.id ?? -1);
    expect(spool.records).toBe(1);
    spool.close();
  });

  it.each([
    ['is lost', (path: string) => rmSync(path)],
    ['holds garbage', (path: string) => writeFileSync(path, Buffer.from('0123456789abcdef'))],
    ['is short', (path: string) => truncateSync(path, 5)],
  ])('replays from the first segment start when the position file %s (at least once)', (_, spoil) => {
    const first = Spool.open(dir, { maxBytes: 1 << 20, segmentBytes: 4 * frameBytes() });
    for (let n = 0; n < 6; n++) first.spool.append(record(n));
    for (let n = 0; n < 2; n++) first.spool.ack(first.spool.peek()?.id ?? -1);
    first.spool.close();
    spoil(join(dir, 'position'));
    const { spool, recovered } = Spool.open(dir, { maxBytes: 1 << 20, segmentBytes: 4 * frameBytes() });
    expect(recovered.records).toBe(6);
    expect(drain(spool).map(plain)).toEqual([0, 1, 2, 3, 4, 5].map((n) => record(n)));
    spool.close();
  });

  it('replays from its segment start when the position is not on a frame boundary', () => {
    const first = Spool.open(dir, { maxBytes: 1 << 20, segmentBytes: 4 * frameBytes() });
    for (let n = 0; n < 6; n++) first.spool.append(record(n));
    for (let n = 0; n < 5; n++) first.spool.ack(first.spool.peek()?.id ?? -1);
    first.spool.close();
    const seq = Number(segments(dir)[0]?.slice(0, 16));
    const position = Buffer.alloc(16);
    position.writeUIntLE(seq, 0, 6);
    position.writeUIntLE(frameBytes() + 7, 6, 6);
    position.writeUInt32LE(crc32(position.subarray(0, 12)), 12);
    writeFileSync(join(dir, 'position'), position);
    const { spool } = Spool.open(dir, { maxBytes: 1 << 20, segmentBytes: 4 * frameBytes() });
    expect(drain(spool).map(plain)).toEqual([4, 5].map((n) => record(n)));
    spool.close();
  });

  it('holds many small records in order', () => {
    const { spool } = Spool.open(dir, { maxBytes: 1 << 22, segmentBytes: 64 * 1024 });
    const count = 20_000;
    for (let n = 0; n < count; n++) spool.append(record(n, n % 7));
    expect(spool.records).toBe(count);
    spool.close();
    const { spool: reopened, recovered } = Spool.open(dir, { maxBytes: 1 << 22, segmentBytes: 64 * 1024 });
    expect(recovered.records).toBe(count);
    const read = drain(reopened);
    expect(read).toHaveLength(count);
    read.forEach((r, n) => {
      expect(r.samples).toBe(n + 1);
      expect(r.body.length).toBe(n % 7);
    });
    reopened.close();
  });

  it('ignores files that are not segments and deletes empty segments', () => {
    fs.mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'notes.txt'), 'hello');
    writeFileSync(join(dir, '0000000000000003.seg'), Buffer.alloc(0));
    const { spool, recovered } = Spool.open(dir, { maxBytes: 1 << 20 });
    expect(recovered.records).toBe(0);
    spool.append(record(0));
    expect(segments(dir)).toEqual(['0000000000000004.seg']);
    spool.close();
  });

  describe('when the filesystem refuses a write', () => {
    /** Segment writes fail as `failures` say, in turn: 'pass' lets one through, a failure writes `afterBytes` first. */
    type WriteFailure = 'pass' | { readonly code: string; readonly afterBytes?: number };

    function failingFs(failures: WriteFailure[]): SpoolFs {
      const writeSync = (fd: number, buffer: Buffer, offset: number, length: number, position: number): number => {
        const failure = length === 16 && position === 0 ? 'pass' : (failures.shift() ?? 'pass');
        if (failure === 'pass') return fs.writeSync(fd, buffer, offset, length, position);
        if (failure.afterBytes !== undefined) fs.writeSync(fd, buffer, offset, failure.afterBytes, position);
        throw Object.assign(new Error(`${failure.code}: injected`), { code: failure.code });
      };
      return { ...fs, writeSync: writeSync as typeof fs.writeSync };
    }

    it.each([
      ['ENOSPC', 'disk_full'],
      ['EDQUOT', 'disk_full'],
      ['EIO', 'io'],
    ])('%s is a SpoolError %s; the partial frame is cut off and the spool stays usable', (code, reason) => {
      const failures: WriteFailure[] = [];
      const { spool } = Spool.open(dir, { maxBytes: 1 << 20, fs: failingFs(failures) });
      spool.append(record(0));
      failures.push('pass', { code, afterBytes: 3 });
      let error: unknown;
      try {
        spool.append(record(1));
      } catch (caught) {
        error = caught;
      }
      expect(error).toBeInstanceOf(SpoolError);
      expect(error).toMatchObject({ code: 'PROMFLEET_SPOOL_FAILED', reason, path: expect.stringContaining('.seg') as unknown });
      expect(spool.records).toBe(1);
      expect(statSync(join(dir, segments(dir)[0] ?? '')).size).toBe(frameBytes());
      spool.append(record(2));
      spool.close();
      const { spool: reopened, discarded } = Spool.open(dir, { maxBytes: 1 << 20 });
      expect(discarded.bytes).toBe(0);
      expect(drain(reopened).map(plain)).toEqual([record(0), record(2)]);
      reopened.close();
    });

    it('a refused write into a new segment leaves the spool usable', () => {
      const failures: WriteFailure[] = [];
      const { spool } = Spool.open(dir, { maxBytes: 1 << 20, fs: failingFs(failures) });
      failures.push({ code: 'ENOSPC' });
      expect(() => spool.append(record(0))).toThrow(SpoolError);
      expect([spool.records, spool.bytes]).toEqual([0, 0]);
      expect(spool.peek()).toBeUndefined();
      spool.append(record(1));
      expect(drain(spool).map(plain)).toEqual([record(1)]);
      spool.close();
    });
  });
});
