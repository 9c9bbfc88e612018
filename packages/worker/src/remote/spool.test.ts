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

  it('opens an existing empty directory empty', () => {
    fs.mkdirSync(dir, { recursive: true });
    const { spool, recovered, discarded } = Spool.open(dir, { maxBytes: 1 << 20 });
    expect([recovered.records, discarded.bytes, spool.records, spool.diskBytes]).toEqual([0, 0, 0, 0]);
    expect(spool.peek()).toBeUndefined();
    spool.ack(0);
    spool.close();
    expect(readdirSync(dir)).toEqual(['position']);
  });

  it('keeps FIFO order across segment rolls, and deletes segments once read but the tail', () => {
    const { spool } = Spool.open(dir, { maxBytes: 1 << 20, segmentBytes: 4 * frameBytes() });
    const written = Array.from({ length: 10 }, (_, n) => record(n));
    for (const r of written) expect(spool.append(r)).toEqual({ records: 0, samples: 0, exemplars: 0, bytes: 0 });
    expect(segments(dir)).toHaveLength(3);
    expect(spool.records).toBe(10);
    expect(spool.samples).toBe(55);
    expect(spool.bytes).toBe(10 * frameBytes());
    expect(drain(spool).map(plain)).toEqual(written);
    expect(segments(dir)).toEqual(['0000000000000003.seg']);
    expect([spool.records, spool.samples, spool.bytes, spool.diskBytes]).toEqual([0, 0, 0, 2 * frameBytes()]);
    spool.append(record(10));
    spool.append(record(11));
    spool.append(record(12));
    expect(segments(dir)).toEqual(['0000000000000003.seg', '0000000000000004.seg']);
    expect(drain(spool).map(plain)).toEqual([10, 11, 12].map((n) => record(n)));
    spool.close();
    const reopened = Spool.open(dir, { maxBytes: 1 << 20, segmentBytes: 4 * frameBytes() });
    expect(reopened.recovered).toEqual({ records: 0, samples: 0, bytes: 0 });
    expect(segments(dir)).toEqual([]);
    reopened.spool.close();
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
    expect(recovered).toEqual({ records: 4, samples: 7 + 8 + 9 + 10, bytes: 4 * frameBytes() });
    expect(discarded.records).toBe(0);
    expect(spool.diskBytes).toBe(6 * frameBytes());
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

  it('truncates a tail torn inside a frame header (nothing to count but its bytes)', () => {
    const first = Spool.open(dir, { maxBytes: 1 << 20 });
    for (let n = 0; n < 2; n++) first.spool.append(record(n));
    first.spool.close();
    truncateSync(join(dir, segments(dir)[0] ?? ''), frameBytes() + 5);
    const { spool, recovered, discarded } = Spool.open(dir, { maxBytes: 1 << 20 });
    expect(recovered.records).toBe(1);
    expect(discarded).toEqual({ records: 0, samples: 0, exemplars: 0, bytes: 5 });
    expect(drain(spool).map(plain)).toEqual([record(0)]);
    spool.close();
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
    const read = drain(reopened).map((r) => `${r.samples}:${r.body.length}`);
    expect(read).toEqual(Array.from({ length: count }, (_, n) => `${n + 1}:${n % 7}`));
    reopened.close();
  });

  it('ignores files that are not segments and deletes empty segments', () => {
    fs.mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'notes.txt'), 'hello');
    writeFileSync(join(dir, '9999999999999999.seg'), 'past the largest sequence number');
    writeFileSync(join(dir, '0000000000000003.seg'), Buffer.alloc(0));
    const { spool, recovered } = Spool.open(dir, { maxBytes: 1 << 20 });
    expect(recovered.records).toBe(0);
    spool.append(record(0));
    expect(segments(dir)).toEqual(['0000000000000004.seg', '9999999999999999.seg']);
    spool.close();
  });

  it('writes the documented frame: 36-byte header, CRC-32 of header and body', () => {
    expect(crc32('123456789')).toBe(0xcbf43926);
    const { spool } = Spool.open(dir, { maxBytes: 1 << 20 });
    spool.append({ protocol: 'io.prometheus.write.v2.Request', body: Buffer.from('abc'), samples: 7, exemplars: 2, oldestTimestampMs: 1000, newestTimestampMs: 2500 });
    spool.close();
    const frame = fs.readFileSync(join(dir, segments(dir)[0] ?? ''));
    expect(frame.length).toBe(FRAME_HEADER_BYTES + 3);
    expect([...frame.subarray(0, 4)]).toEqual([0xa5, 1, 2, 0]);
    expect([4, 8, 12].map((at) => frame.readUInt32LE(at))).toEqual([3, 7, 2]);
    expect([frame.readDoubleLE(16), frame.readDoubleLE(24)]).toEqual([1000, 2500]);
    expect(frame.readUInt32LE(32)).toBe(crc32(Buffer.concat([frame.subarray(0, 32), frame.subarray(36)])));
    expect(frame.subarray(36).toString()).toBe('abc');
  });

  it('keeps a record with an empty body that has no backing store', () => {
    const { spool } = Spool.open(dir, { maxBytes: 1 << 20 });
    const empty = { ...record(0), body: Buffer.from(new ArrayBuffer(0)) };
    spool.append(empty);
    spool.close();
    const { spool: reopened, discarded } = Spool.open(dir, { maxBytes: 1 << 20 });
    expect(discarded.records).toBe(0);
    expect(drain(reopened).map(plain)).toEqual([plain(empty)]);
    reopened.close();
  });

  it('gives a record larger than segmentBytes a segment of its own', () => {
    const { spool } = Spool.open(dir, { maxBytes: 1 << 20, segmentBytes: 3 * frameBytes() });
    spool.append(record(0));
    spool.append(record(1, 10 * frameBytes()));
    spool.append(record(2));
    expect(segments(dir)).toHaveLength(3);
    expect(drain(spool).map(plain)).toEqual([record(0), record(1, 10 * frameBytes()), record(2)]);
    spool.close();
  });

  it('makes segments of an eighth of maxBytes by default when that is below 8 MiB', () => {
    const { spool } = Spool.open(dir, { maxBytes: 1 << 20 });
    for (let n = 0; n < 20; n++) spool.append(record(n, 10_000));
    expect(segments(dir)).toHaveLength(2);
    spool.close();
  });

  it('bounds a spool reopened with a smaller maxBytes at its next append', () => {
    const first = Spool.open(dir, { maxBytes: 1 << 20, segmentBytes: 2 * frameBytes() });
    for (let n = 0; n < 6; n++) first.spool.append(record(n));
    first.spool.close();
    const { spool, recovered } = Spool.open(dir, { maxBytes: 3 * frameBytes(), segmentBytes: 2 * frameBytes() });
    expect(recovered.records).toBe(6);
    expect(spool.append(record(6))).toEqual({ records: 4, samples: 1 + 2 + 3 + 4, exemplars: 0 + 1 + 2 + 0, bytes: 4 * frameBytes() });
    expect(drain(spool).map(plain)).toEqual([4, 5, 6].map((n) => record(n)));
    spool.close();
  });

  it('refuses sizes that are not positive integers, and use after close', () => {
    expect(() => Spool.open(dir, { maxBytes: 0 })).toThrow(/maxBytes must be a positive integer, got 0/);
    expect(() => Spool.open(dir, { maxBytes: 100, segmentBytes: 1.5 })).toThrow(RangeError);
    const { spool } = Spool.open(dir, { maxBytes: 1 << 20 });
    spool.close();
    spool.close();
    expect(() => spool.append(record(0))).toThrow(/is closed/);
  });

  it('refuses a record whose counts do not fit a frame', () => {
    const { spool } = Spool.open(dir, { maxBytes: 1 << 20 });
    expect(() => spool.append({ ...record(0), samples: -1 })).toThrow(/samples -1/);
    expect(() => spool.append({ ...record(0), exemplars: 2 ** 32 })).toThrow(RangeError);
    expect(spool.records).toBe(0);
    spool.close();
  });

  describe('when the filesystem fails a read or the position', () => {
    it('a head segment that cannot be read is discarded and counted; the next one is read', () => {
      let failReads = false;
      const readSync = (fd: number, buffer: Buffer, offset: number, length: number, position: number): number => {
        if (failReads) throw Object.assign(new Error('EIO: injected'), { code: 'EIO' });
        return fs.readSync(fd, buffer, offset, length, position);
      };
      const { spool } = Spool.open(dir, { maxBytes: 1 << 20, segmentBytes: 2 * frameBytes(), fs: { ...fs, readSync: readSync as typeof fs.readSync } });
      for (let n = 0; n < 4; n++) spool.append(record(n));
      failReads = true;
      expect(spool.peek()).toBeUndefined();
      expect(spool.discarded).toEqual({ records: 4, samples: 10, exemplars: 0 + 1 + 2 + 0, bytes: 4 * frameBytes() });
      expect(spool.records).toBe(0);
      failReads = false;
      spool.append(record(4));
      expect(drain(spool).map(plain)).toEqual([record(4)]);
      spool.close();
    });

    it('an ack whose position cannot be written still removes the record; a crash then sends it again, a close writes it', () => {
      let failPosition = false;
      const writeSync = (fd: number, buffer: Buffer, offset: number, length: number, position: number): number => {
        if (failPosition && length === 16 && position === 0) throw Object.assign(new Error('EIO: injected'), { code: 'EIO' });
        return fs.writeSync(fd, buffer, offset, length, position);
      };
      const { spool } = Spool.open(dir, { maxBytes: 1 << 20, fs: { ...fs, writeSync: writeSync as typeof fs.writeSync } });
      for (let n = 0; n < 3; n++) spool.append(record(n));
      spool.ack(spool.peek()?.id ?? -1);
      failPosition = true;
      spool.ack(spool.peek()?.id ?? -1);
      expect(spool.records).toBe(1);
      failPosition = false;
      const afterCrash = Spool.open(dir, { maxBytes: 1 << 20 });
      expect(afterCrash.recovered.records).toBe(2);
      afterCrash.spool.close();
      spool.close();
      const { spool: reopened } = Spool.open(dir, { maxBytes: 1 << 20 });
      expect(drain(reopened).map(plain)).toEqual([record(2)]);
      reopened.close();
    });
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
