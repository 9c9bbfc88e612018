/**
 * The on-disk part of one remote-write queue shard: a bounded FIFO of compressed requests in segment files, which
 * survives a restart and a `kill -9`. See {@link Spool} for the format and its guarantees.
 */
import * as nodeFs from 'node:fs';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import type { RemoteWriteConfig } from '@promfleet/model';

/** The remote-write protocol of a request (`@promfleet/model`'s `RemoteWriteMessage`). */
type RemoteWriteMessage = RemoteWriteConfig['protobufMessage'];

/** One request as the queue keeps it: compressed, with what the queue counts and ages by. */
export interface QueueRecord {
  /** The protocol it was encoded in; a record is resent in that protocol. */
  readonly protocol: RemoteWriteMessage;
  /** The snappy-compressed request. */
  readonly body: Buffer;
  /** Float samples in it, staleness markers included. */
  readonly samples: number;
  readonly exemplars: number;
  /** Timestamp of its oldest sample, Unix ms. */
  readonly oldestTimestampMs: number;
  /** Timestamp of its newest sample, Unix ms. */
  readonly newestTimestampMs: number;
}

/** What the spool removed without it being acked: records, their samples and exemplars, and their bytes on disk. */
export interface SpoolDrop {
  readonly records: number;
  readonly samples: number;
  readonly exemplars: number;
  readonly bytes: number;
}

/** Stable code of {@link SpoolError}. */
export const SpoolErrorCode = 'PROMFLEET_SPOOL_FAILED' as const;

/**
 * Why a spool operation failed: `disk_full` (ENOSPC, EDQUOT) or `io` (any other errno). `corrupt` is in the shared
 * contract for a file not as the spool wrote it, but the spool never throws it: it discards a corrupt frame's segment
 * remainder and counts it (`SpoolOpenResult.discarded`, `Spool.discarded`) instead.
 */
export type SpoolErrorReason = 'disk_full' | 'io' | 'corrupt';

/** A spool operation that failed, with the file or directory it was on. */
export class SpoolError extends Error {
  override readonly name = 'SpoolError';
  readonly code = SpoolErrorCode;
  readonly path: string;
  readonly reason: SpoolErrorReason;

  /** Creates the error about file or directory `details.path`. */
  constructor(
    message: string,
    details: { readonly path: string; readonly reason: SpoolErrorReason },
    options?: { readonly cause?: unknown },
  ) {
    super(message, options);
    this.path = details.path;
    this.reason = details.reason;
  }
}

/** The filesystem calls a spool makes; tests inject failures through it. */
export type SpoolFs = Pick<
  typeof nodeFs,
  | 'closeSync'
  | 'fstatSync'
  | 'fsyncSync'
  | 'ftruncateSync'
  | 'mkdirSync'
  | 'openSync'
  | 'readSync'
  | 'readdirSync'
  | 'unlinkSync'
  | 'writeSync'
>;

/** Settings of {@link Spool.open}. */
export interface SpoolOptions {
  /** Bound on the bytes of the segment files (frame headers included); the oldest segments are dropped beyond it. */
  readonly maxBytes: number;
  /**
   * Size at which the spool starts a new segment file; also how much one drop for room removes at most. Default
   * 8 MiB, or an eighth of `maxBytes` (at least 64 KiB) when that is smaller.
   */
  readonly segmentBytes?: number;
  /** The filesystem; `node:fs` by default. */
  readonly fs?: SpoolFs;
}

/** What {@link Spool.open} found: the spool, the records it holds, and what it had to throw away. */
export interface SpoolOpenResult {
  readonly spool: Spool;
  /** Records and samples not yet acked, and the bytes of the segment files kept. */
  readonly recovered: { readonly records: number; readonly samples: number; readonly bytes: number };
  /** Frames removed as torn or corrupt; their counts are what their headers say, which corruption may have hit. */
  readonly discarded: SpoolDrop;
}

/** Bytes of a frame header: see {@link Spool}. */
export const FRAME_HEADER_BYTES = 36;
const FRAME_MAGIC = 0xa5;
const FRAME_VERSION = 1;
const CRC_OFFSET = 32;
const POSITION_FILE = 'position';
const POSITION_BYTES = 16;
const MAX_SEQ = 2 ** 48 - 1;
const MAX_U32 = 2 ** 32 - 1;
const DEFAULT_SEGMENT_BYTES = 8 * 1024 * 1024;
const MIN_DEFAULT_SEGMENT_BYTES = 64 * 1024;
const INITIAL_READ_GUESS = 64 * 1024;
/** A peek reads at most this much body with the header in one go: a small record must not pin a large buffer. */
const MAX_READ_GUESS = 256 * 1024;
const SEGMENT_NAME = /^(\d{16})\.seg$/;

const protocolCodes: Readonly<Record<RemoteWriteMessage, number>> = {
  'prometheus.WriteRequest': 1,
  'io.prometheus.write.v2.Request': 2,
};

function protocolOfCode(code: number): RemoteWriteMessage | undefined {
  switch (code) {
    case 1:
      return 'prometheus.WriteRequest';
    case 2:
      return 'io.prometheus.write.v2.Request';
    default:
      return undefined;
  }
}

interface Segment {
  readonly seq: number;
  readonly path: string;
  /** Open while the segment is the head or the tail. */
  fd: number | undefined;
  /** Bytes of whole, valid frames: where the next append goes and where reading stops. */
  size: number;
  records: number;
  samples: number;
  exemplars: number;
}

interface HeadRecord {
  readonly record: QueueRecord & { readonly id: number };
  readonly frameBytes: number;
}

interface ParsedFrame {
  readonly frameBytes: number;
  readonly protocol: RemoteWriteMessage;
  readonly samples: number;
  readonly exemplars: number;
}

const noDrop: SpoolDrop = { records: 0, samples: 0, exemplars: 0, bytes: 0 };

function addDrops(a: SpoolDrop, b: SpoolDrop): SpoolDrop {
  return { records: a.records + b.records, samples: a.samples + b.samples, exemplars: a.exemplars + b.exemplars, bytes: a.bytes + b.bytes };
}

function segmentName(seq: number): string {
  return `${String(seq).padStart(16, '0')}.seg`;
}

function errnoCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null || !('code' in error)) return undefined;
  return typeof error.code === 'string' ? error.code : undefined;
}

function spoolError(error: unknown, what: { readonly action: string; readonly path: string }): SpoolError {
  const code = errnoCode(error);
  const reason = code === 'ENOSPC' || code === 'EDQUOT' ? 'disk_full' : 'io';
  const detail = error instanceof Error ? error.message : String(error);
  return new SpoolError(`spool: cannot ${what.action} ${what.path}: ${detail}`, { path: what.path, reason }, { cause: error });
}

/** CRC-32 of a frame's first 32 header bytes followed by its body. */
function frameCrc(header: Buffer, body: Buffer): number {
  const headerCrc = crc32(header);
  // zlib.crc32 answers 0 for an empty buffer without a backing store (zlib's "initial value" for a null pointer).
  return body.length === 0 ? headerCrc : crc32(body, headerCrc);
}

/** The frame at `offset` of `buf` (`end` bytes valid) if it is whole, of a known version and protocol, and its CRC is right. */
function checkFrame(buf: Buffer, offset: number, end: number): ParsedFrame | undefined {
  if (end - offset < FRAME_HEADER_BYTES) return undefined;
  if (buf[offset] !== FRAME_MAGIC || buf[offset + 1] !== FRAME_VERSION || buf[offset + 3] !== 0) return undefined;
  const protocol = protocolOfCode(buf[offset + 2] ?? 0);
  const frameBytes = FRAME_HEADER_BYTES + buf.readUInt32LE(offset + 4);
  if (protocol === undefined || end - offset < frameBytes) return undefined;
  const crc = frameCrc(buf.subarray(offset, offset + CRC_OFFSET), buf.subarray(offset + FRAME_HEADER_BYTES, offset + frameBytes));
  if (crc !== buf.readUInt32LE(offset + CRC_OFFSET)) return undefined;
  return { frameBytes, protocol, samples: buf.readUInt32LE(offset + 8), exemplars: buf.readUInt32LE(offset + 12) };
}

/**
 * Counts what the frame headers from `offset` on say, for a remainder being discarded: a header counts when its fixed
 * bytes are right (magic, version, protocol, zero byte); the walk stops at the first that is not. The last frame may
 * be torn (shorter than its length).
 */
function countRemainder(buf: Buffer, offset: number, end: number): SpoolDrop {
  let records = 0;
  let samples = 0;
  let exemplars = 0;
  let at = offset;
  const plausible = (): boolean =>
    buf[at] === FRAME_MAGIC && buf[at + 1] === FRAME_VERSION && protocolOfCode(buf[at + 2] ?? 0) !== undefined && buf[at + 3] === 0;
  while (end - at >= FRAME_HEADER_BYTES && plausible()) {
    records++;
    samples += buf.readUInt32LE(at + 8);
    exemplars += buf.readUInt32LE(at + 12);
    at += FRAME_HEADER_BYTES + buf.readUInt32LE(at + 4);
  }
  return { records, samples, exemplars, bytes: end - offset };
}

function encodePosition(seq: number, offset: number): Buffer {
  const buf = Buffer.alloc(POSITION_BYTES);
  buf.writeUIntLE(seq, 0, 6);
  buf.writeUIntLE(offset, 6, 6);
  buf.writeUInt32LE(crc32(buf.subarray(0, 12)), 12);
  return buf;
}

function decodePosition(buf: Buffer, length: number): { readonly seq: number; readonly offset: number } | undefined {
  if (length !== POSITION_BYTES || crc32(buf.subarray(0, 12)) !== buf.readUInt32LE(12)) return undefined;
  return { seq: buf.readUIntLE(0, 6), offset: buf.readUIntLE(6, 6) };
}

function checkRecord(record: QueueRecord): void {
  const problems: string[] = [];
  if (!Number.isInteger(record.samples) || record.samples < 0 || record.samples > MAX_U32) problems.push(`samples ${record.samples}`);
  if (!Number.isInteger(record.exemplars) || record.exemplars < 0 || record.exemplars > MAX_U32) problems.push(`exemplars ${record.exemplars}`);
  if (record.body.length > MAX_U32 - FRAME_HEADER_BYTES) problems.push(`body of ${record.body.length} bytes`);
  if (problems.length > 0) throw new RangeError(`spool: record does not fit a frame: ${problems.join(', ')}`);
}

/**
 * A persistent, bounded FIFO of {@link QueueRecord}s in one directory: the disk part of one remote-write queue shard.
 *
 * Format. Segment files `<16-digit seq>.seg`, appended in sequence order, each a run of frames. A frame is a
 * 36-byte little-endian header followed by the body: magic 0xa5, version 1, protocol code (1 = 1.0, 2 = 2.0), a
 * zero byte, body length (u32), samples (u32), exemplars (u32), oldest and newest timestamp (f64, Unix ms), and the
 * CRC-32 (IEEE) of the header's first 32 bytes followed by the body. A new segment starts when the tail would pass
 * `segmentBytes` (a record larger than that gets a segment of its own). The file `position` holds the read position
 * as segment seq (u48), offset (u48) and the CRC-32 of those 12 bytes, rewritten in place after every ack and drop.
 *
 * Guarantees. Appends and position updates are plain `write`s into the page cache, no fsync: a process killed at
 * any point (`kill -9`) loses nothing that `append` returned for, and `open` afterwards truncates a frame torn
 * mid-write. A power loss or kernel crash may lose or tear what the kernel had not written back yet: only `close`
 * fsyncs (the tail segment, the position, the directory). The read position is written after the ack, so a crash
 * between a send and its ack resends that record (at least once); a position that names no frame boundary falls
 * back to the start of its segment (or of the first segment), never past unacked data. A frame whose CRC or header
 * is wrong ends its segment: `open` and `peek` discard the rest of that segment, count it, and go on. Only `open`,
 * `append` and `close` throw for the filesystem; `peek` treats an unreadable segment as corrupt, and `ack` keeps
 * going when the position cannot be written (it stays older: more resends after a crash, never a skip).
 *
 * Bound. `diskBytes` (the segment files' size: `bytes` not acked plus the acked front of the first segment) stays
 * within `maxBytes`: an append that would pass it first drops whole segments, oldest first, the one being read
 * included, and returns what it dropped; a record larger than `maxBytes` on its own is dropped instead of written.
 * A segment is deleted once read to its end, except the tail, which goes on taking appends.
 *
 * Costs. 36 bytes on disk per record. An append is two `write`s (header, body) and a CRC of the body; an ack one
 * 16-byte `write`; a peek one `read` of header and body (two when the record is larger than the one before, or
 * than 256 KiB) and a CRC check. CRC-32 runs at 1-2 GB/s; the bench (`pnpm --filter @promfleet/bench spool`)
 * measures 200-600 MB/s of 20 KB records appended, and as much read, on a loaded 2-vCPU VM. Memory: a few numbers
 * per segment and the head record. `open` reads and checks every segment, synchronously (300-600 MB/s: one to a few
 * seconds per GiB queued). One process per directory: nothing locks it.
 */
export class Spool {
  readonly #dir: string;
  readonly #fs: SpoolFs;
  readonly #maxBytes: number;
  readonly #segmentBytes: number;
  readonly #segments: Segment[] = [];
  readonly #positionPath: string;
  #positionFd: number | undefined;
  #nextSeq: number;
  /** Bytes, records, samples and exemplars already acked at the front of the head segment. */
  #readOffset = 0;
  #readRecords = 0;
  #readSamples = 0;
  #readExemplars = 0;
  #records = 0;
  #samples = 0;
  #exemplars = 0;
  /** Bytes of the segment files, the acked front of the head segment included: what maxBytes bounds. */
  #fileBytes = 0;
  /** Id of the head record: records acked or dropped from the head since open. */
  #headId = 0;
  #head: HeadRecord | undefined;
  #readGuess = INITIAL_READ_GUESS;
  #discarded: SpoolDrop = noDrop;
  readonly #header = Buffer.alloc(FRAME_HEADER_BYTES);
  #closed = false;

  private constructor(dir: string, options: SpoolOptions & { readonly nextSeq: number }) {
    this.#dir = dir;
    this.#fs = options.fs ?? nodeFs;
    this.#maxBytes = options.maxBytes;
    this.#segmentBytes = options.segmentBytes ?? Math.min(DEFAULT_SEGMENT_BYTES, Math.max(MIN_DEFAULT_SEGMENT_BYTES, Math.ceil(options.maxBytes / 8)));
    this.#positionPath = join(dir, POSITION_FILE);
    this.#nextSeq = options.nextSeq;
  }

  /**
   * Opens (creating) the directory, checks every segment, truncates a torn tail (kill -9 mid-write), drops a corrupt
   * record's segment remainder, deletes the segments already acked, and reports what it found.
   * @throws SpoolError when the directory or a segment cannot be read or written.
   * @throws RangeError when `maxBytes` or `segmentBytes` is not a positive integer.
   */
  static open(dir: string, options: SpoolOptions): SpoolOpenResult {
    const sizes = { maxBytes: options.maxBytes, segmentBytes: options.segmentBytes };
    for (const [name, value] of Object.entries(sizes)) {
      if (value !== undefined && (!Number.isSafeInteger(value) || value <= 0)) {
        throw new RangeError(`spool ${dir}: ${name} must be a positive integer, got ${value}`);
      }
    }
    const fs = options.fs ?? nodeFs;
    const names = attempt({ action: 'create or list', path: dir }, () => {
      fs.mkdirSync(dir, { recursive: true });
      return fs.readdirSync(dir);
    });
    const seqs = names.flatMap((name) => {
      const match = SEGMENT_NAME.exec(name);
      const seq = Number(match?.[1]);
      return Number.isInteger(seq) && seq <= MAX_SEQ ? [seq] : [];
    });
    seqs.sort((a, b) => a - b);
    const position = readPosition(fs, join(dir, POSITION_FILE));
    const lastSeq = seqs.at(-1);
    const spool = new Spool(dir, { ...options, nextSeq: Math.max(lastSeq === undefined ? 1 : lastSeq + 1, Math.min(position?.seq ?? 1, MAX_SEQ)) });
    const discarded = spool.#load(seqs, position);
    spool.#discarded = discarded;
    return { spool, recovered: { records: spool.#records, samples: spool.#samples, bytes: spool.bytes }, discarded };
  }

  /** Records not acked. */
  get records(): number {
    return this.#records;
  }

  /** Samples in the records not acked. */
  get samples(): number {
    return this.#samples;
  }

  /** Exemplars in the records not acked. */
  get exemplars(): number {
    return this.#exemplars;
  }

  /** Bytes of the records not acked, frame headers included. */
  get bytes(): number {
    return this.#fileBytes - this.#readOffset;
  }

  /** Bytes of the segment files: {@link bytes} plus the acked front of the head segment (at most one segment). */
  get diskBytes(): number {
    return this.#fileBytes;
  }

  /** The bound on {@link diskBytes}. */
  get maxBytes(): number {
    return this.#maxBytes;
  }

  /** Everything discarded as torn or corrupt since open, by `open` included. */
  get discarded(): SpoolDrop {
    return this.#discarded;
  }

  /**
   * Appends at the tail (synchronous: page-cache writes; no fsync). Drops the oldest segments first when the record
   * would pass maxBytes, and returns what it dropped; a record that alone passes maxBytes is not written and is what
   * it returns.
   * @throws SpoolError (reason disk_full for ENOSPC/EDQUOT, else io) when the write fails; nothing of the record
   * stays in the file and the spool stays usable.
   * @throws RangeError when a count or the body does not fit a frame.
   */
  append(record: QueueRecord): SpoolDrop {
    this.#checkOpen();
    checkRecord(record);
    const frameBytes = FRAME_HEADER_BYTES + record.body.length;
    if (frameBytes > this.#maxBytes) {
      return { records: 1, samples: record.samples, exemplars: record.exemplars, bytes: frameBytes };
    }
    let dropped = noDrop;
    while (this.#fileBytes + frameBytes > this.#maxBytes && this.#segments.length > 0) dropped = addDrops(dropped, this.#dropHeadSegment());
    const tail = this.#tailFor(frameBytes);
    const header = this.#header;
    header[0] = FRAME_MAGIC;
    header[1] = FRAME_VERSION;
    header[2] = protocolCodes[record.protocol];
    header[3] = 0;
    header.writeUInt32LE(record.body.length, 4);
    header.writeUInt32LE(record.samples, 8);
    header.writeUInt32LE(record.exemplars, 12);
    header.writeDoubleLE(record.oldestTimestampMs, 16);
    header.writeDoubleLE(record.newestTimestampMs, 24);
    header.writeUInt32LE(frameCrc(header.subarray(0, CRC_OFFSET), record.body), CRC_OFFSET);
    this.#writeFrame(tail, record.body);
    tail.size += frameBytes;
    tail.records++;
    tail.samples += record.samples;
    tail.exemplars += record.exemplars;
    this.#records++;
    this.#samples += record.samples;
    this.#exemplars += record.exemplars;
    this.#fileBytes += frameBytes;
    return dropped;
  }

  /**
   * The head record without removing it, or undefined when empty. The same record (same id) until it is acked or
   * dropped. A head frame that fails its check or cannot be read (EIO) ends its segment: the rest of it is discarded
   * and counted in {@link discarded}, and the next segment's head is returned. Never throws for the filesystem.
   */
  peek(): (QueueRecord & { readonly id: number }) | undefined {
    this.#checkOpen();
    return this.#readHead()?.record;
  }

  /**
   * Removes the head record if its id is `id` (a record dropped meanwhile is not removed twice), deletes the head
   * segment once it is all acked unless it is also the tail, and persists the read position (no fsync). Never
   * throws for the filesystem: a position that cannot be written stays older (more resends after a crash, no loss),
   * a segment that cannot be deleted is deleted by the next open.
   */
  ack(id: number): void {
    this.#checkOpen();
    if (id !== this.#headId || this.#records === 0) return;
    const head = this.#readHead();
    if (head?.record.id !== id) return;
    const { samples, exemplars } = head.record;
    this.#head = undefined;
    this.#headId++;
    this.#readOffset += head.frameBytes;
    this.#readRecords++;
    this.#readSamples += samples;
    this.#readExemplars += exemplars;
    this.#records--;
    this.#samples -= samples;
    this.#exemplars -= exemplars;
    // The tail stays when all is read: an empty spool then takes no file churn per record.
    const segment = this.#segments[0];
    if (segment !== undefined && this.#readOffset >= segment.size && this.#segments.length > 1) this.#removeHeadSegment();
    else this.#savePosition();
  }

  /**
   * Writes the position, fsyncs (tail segment, position, directory) and closes; the directory then holds exactly the
   * records not acked. Idempotent.
   * @throws SpoolError when an fsync or a close failed (after closing everything).
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#savePosition();
    const tail = this.#segments.at(-1);
    const syncs: [number | undefined, string][] = [
      [tail?.fd, tail?.path ?? this.#dir],
      [this.#positionFd, this.#positionPath],
    ];
    let failure: SpoolError | undefined;
    for (const [fd, path] of syncs) {
      if (fd === undefined) continue;
      try {
        this.#fs.fsyncSync(fd);
      } catch (error) {
        failure ??= spoolError(error, { action: 'fsync', path });
      }
    }
    this.#syncDir();
    for (const segment of this.#segments) this.#closeSegment(segment);
    if (this.#positionFd !== undefined) {
      try {
        this.#fs.closeSync(this.#positionFd);
      } catch (error) {
        failure ??= spoolError(error, { action: 'close', path: this.#positionPath });
      }
    }
    this.#positionFd = undefined;
    this.#head = undefined;
    if (failure !== undefined) throw failure;
  }

  #checkOpen(): void {
    if (this.#closed) throw new Error(`spool ${this.#dir} is closed`);
  }

  /** Scans the segments `seqs` (sorted), settles the read position, and returns what it discarded. */
  #load(seqs: readonly number[], position: { readonly seq: number; readonly offset: number } | undefined): SpoolDrop {
    let discarded = noDrop;
    let start: { seq: number; offset: number; records: number; samples: number; exemplars: number } | undefined;
    for (const seq of seqs) {
      const path = join(this.#dir, segmentName(seq));
      if (position !== undefined && seq < position.seq) {
        this.#deleteQuietly(path);
        continue;
      }
      const scan = this.#scanSegment({ seq, path }, position?.seq === seq ? position.offset : undefined);
      discarded = addDrops(discarded, scan.discarded);
      const segment: Segment = { seq, path, fd: undefined, size: scan.size, records: scan.records, samples: scan.samples, exemplars: scan.exemplars };
      if (start === undefined) {
        start = scan.position ?? { seq, offset: 0, records: 0, samples: 0, exemplars: 0 };
        if (start.offset >= segment.size) {
          this.#deleteQuietly(path);
          start = undefined;
          continue;
        }
      }
      if (segment.size === 0) {
        this.#deleteQuietly(path);
        continue;
      }
      this.#segments.push(segment);
      this.#fileBytes += segment.size;
      this.#records += segment.records;
      this.#samples += segment.samples;
      this.#exemplars += segment.exemplars;
    }
    if (start !== undefined) {
      this.#readOffset = start.offset;
      this.#readRecords = start.records;
      this.#readSamples = start.samples;
      this.#readExemplars = start.exemplars;
      this.#records -= start.records;
      this.#samples -= start.samples;
      this.#exemplars -= start.exemplars;
    }
    // Not 'w': truncating first would leave no position at all to a crash before the write.
    const flags = nodeFs.constants.O_WRONLY | nodeFs.constants.O_CREAT;
    this.#positionFd = attempt({ action: 'open', path: this.#positionPath }, () => this.#fs.openSync(this.#positionPath, flags));
    this.#writePosition();
    return discarded;
  }

  /**
   * Reads segment `path`, truncates it after its last valid frame, and totals its frames. `positionOffset`, when
   * the position names this segment, comes back as `position` if it falls on a frame boundary (with what precedes it).
   */
  #scanSegment(file: { readonly seq: number; readonly path: string }, positionOffset: number | undefined) {
    const { seq, path } = file;
    const fs = this.#fs;
    const buf = attempt({ action: 'read segment', path }, () => {
      const fd = fs.openSync(path, 'r');
      try {
        const size = fs.fstatSync(fd).size;
        const data = Buffer.allocUnsafe(size);
        let read = 0;
        while (read < size) {
          const n = fs.readSync(fd, data, read, size - read, read);
          if (n === 0) break;
          read += n;
        }
        return data.subarray(0, read);
      } finally {
        fs.closeSync(fd);
      }
    });
    let offset = 0;
    let records = 0;
    let samples = 0;
    let exemplars = 0;
    let position: { seq: number; offset: number; records: number; samples: number; exemplars: number } | undefined;
    for (;;) {
      if (positionOffset === offset) position = { seq, offset, records, samples, exemplars };
      const frame = checkFrame(buf, offset, buf.length);
      if (frame === undefined) break;
      records++;
      samples += frame.samples;
      exemplars += frame.exemplars;
      offset += frame.frameBytes;
    }
    let discarded = noDrop;
    if (offset < buf.length) {
      discarded = countRemainder(buf, offset, buf.length);
      attempt({ action: 'truncate segment', path }, () => {
        const fd = fs.openSync(path, 'r+');
        try {
          fs.ftruncateSync(fd, offset);
        } finally {
          fs.closeSync(fd);
        }
      });
    }
    return { size: offset, records, samples, exemplars, position, discarded };
  }

  /** The tail segment, open, rolled to a new one when it has data and `frameBytes` more would pass segmentBytes. */
  #tailFor(frameBytes: number): Segment & { fd: number } {
    const tail = this.#segments.at(-1);
    if (tail !== undefined && (tail.size === 0 || tail.size + frameBytes <= this.#segmentBytes)) {
      const fd = tail.fd ?? this.#openSegment(tail.path);
      tail.fd = fd;
      return Object.assign(tail, { fd });
    }
    if (tail !== undefined && tail !== this.#segments[0]) this.#closeSegment(tail);
    const seq = this.#nextSeq;
    const path = join(this.#dir, segmentName(seq));
    const fd = attempt({ action: 'create segment', path }, () => this.#fs.openSync(path, 'w+'));
    this.#nextSeq = seq + 1;
    const segment = { seq, path, fd, size: 0, records: 0, samples: 0, exemplars: 0 };
    this.#segments.push(segment);
    const head = this.#segments[0];
    if (head !== undefined && head !== segment && this.#readOffset >= head.size) this.#removeHeadSegment();
    return segment;
  }

  /** Writes the frame in `#header` + `body` at the tail's end; on failure cuts the file back to its size. */
  #writeFrame(tail: Segment & { fd: number }, body: Buffer): void {
    const fs = this.#fs;
    const fd = tail.fd;
    const header = this.#header;
    const total = FRAME_HEADER_BYTES + body.length;
    let written = 0;
    try {
      while (written < total) {
        const n =
          written < FRAME_HEADER_BYTES
            ? fs.writeSync(fd, header, written, FRAME_HEADER_BYTES - written, tail.size + written)
            : fs.writeSync(fd, body, written - FRAME_HEADER_BYTES, total - written, tail.size + written);
        if (n <= 0) throw Object.assign(new Error('write made no progress'), { code: 'EIO' });
        written += n;
      }
    } catch (error) {
      if (written > 0) {
        try {
          fs.ftruncateSync(fd, tail.size);
        } catch {
          // The next frame is written at tail.size all the same, and open truncates what lies past the last valid one.
        }
      }
      throw spoolError(error, { action: 'append to', path: tail.path });
    }
  }

  #openSegment(path: string): number {
    return attempt({ action: 'open segment', path }, () => this.#fs.openSync(path, 'r+'));
  }

  #closeSegment(segment: Segment): void {
    if (segment.fd === undefined) return;
    const fd = segment.fd;
    segment.fd = undefined;
    try {
      this.#fs.closeSync(fd);
    } catch {
      // A close that fails leaves nothing to undo: the data was written and is read through another descriptor.
    }
  }

  /** Reads (or returns the cached) head record, discarding segment remainders whose frame fails its check. */
  #readHead(): HeadRecord | undefined {
    if (this.#head !== undefined) return this.#head;
    while (this.#records > 0) {
      const segment = this.#segments[0];
      if (segment === undefined) return undefined;
      const record = this.#readFrameOrUndefined(segment);
      if (record !== undefined) {
        this.#head = record;
        return record;
      }
      this.#discarded = addDrops(this.#discarded, this.#dropHeadSegment());
    }
    return undefined;
  }

  /** The head frame of `segment`, or undefined when it is not whole and valid or the file cannot be read (EIO). */
  #readFrameOrUndefined(segment: Segment): HeadRecord | undefined {
    try {
      return this.#readFrame(segment);
    } catch (error) {
      if (error instanceof SpoolError) return undefined;
      throw error;
    }
  }

  #readFrame(segment: Segment): HeadRecord | undefined {
    const fs = this.#fs;
    const fd = segment.fd ?? this.#openSegment(segment.path);
    segment.fd = fd;
    const remaining = segment.size - this.#readOffset;
    const guess = Math.min(remaining, FRAME_HEADER_BYTES + this.#readGuess);
    let buf = Buffer.allocUnsafe(guess);
    const read = (into: Buffer, at: number, length: number): number =>
      attempt({ action: 'read segment', path: segment.path }, () => fs.readSync(fd, into, at, length, this.#readOffset + at));
    let got = read(buf, 0, guess);
    if (got < FRAME_HEADER_BYTES) return undefined;
    const frameBytes = FRAME_HEADER_BYTES + buf.readUInt32LE(4);
    if (frameBytes > remaining) return undefined;
    if (frameBytes > got) {
      const whole = Buffer.allocUnsafe(frameBytes);
      buf.copy(whole, 0, 0, got);
      buf = whole;
      while (got < frameBytes) {
        const n = read(buf, got, frameBytes - got);
        if (n === 0) return undefined;
        got += n;
      }
    }
    const frame = checkFrame(buf, 0, frameBytes);
    if (frame === undefined) return undefined;
    this.#readGuess = Math.min(frameBytes - FRAME_HEADER_BYTES, MAX_READ_GUESS);
    const record = {
      id: this.#headId,
      protocol: frame.protocol,
      body: buf.subarray(FRAME_HEADER_BYTES, frameBytes),
      samples: frame.samples,
      exemplars: frame.exemplars,
      oldestTimestampMs: buf.readDoubleLE(16),
      newestTimestampMs: buf.readDoubleLE(24),
    };
    return { record, frameBytes };
  }

  /** Removes the head segment with what it holds unacked, and returns that. The position is the caller's to write. */
  #dropHeadSegment(): SpoolDrop {
    const segment = this.#segments[0];
    if (segment === undefined) return noDrop;
    const dropped: SpoolDrop = {
      records: segment.records - this.#readRecords,
      samples: segment.samples - this.#readSamples,
      exemplars: segment.exemplars - this.#readExemplars,
      bytes: segment.size - this.#readOffset,
    };
    this.#records -= dropped.records;
    this.#samples -= dropped.samples;
    this.#exemplars -= dropped.exemplars;
    this.#headId += dropped.records;
    this.#removeHeadSegment();
    return dropped;
  }

  /** Closes and deletes the head segment (its unacked counts must already be off the totals) and resets the read state. */
  #removeHeadSegment(): void {
    const segment = this.#segments.shift();
    if (segment === undefined) return;
    this.#head = undefined;
    this.#fileBytes -= segment.size;
    this.#readOffset = 0;
    this.#readRecords = 0;
    this.#readSamples = 0;
    this.#readExemplars = 0;
    this.#closeSegment(segment);
    // The position must leave the segment before the file goes: a crash between the two then only re-deletes it.
    this.#savePosition();
    this.#deleteQuietly(segment.path);
  }

  /** Deletes a segment file the spool no longer counts; one left behind is behind the position, and the next open deletes it. */
  #deleteQuietly(path: string): void {
    try {
      this.#fs.unlinkSync(path);
    } catch {
      // See above.
    }
  }

  /**
   * Writes the position where failure must not undo an ack or a drop already made: a position left older only means
   * more records sent again after a crash, and the next save writes the current one.
   */
  #savePosition(): void {
    try {
      this.#writePosition();
    } catch {
      // See above: stale, never ahead.
    }
  }

  #writePosition(): void {
    const fd = this.#positionFd;
    if (fd === undefined) return;
    const head = this.#segments[0];
    const buf = head === undefined ? encodePosition(this.#nextSeq, 0) : encodePosition(head.seq, this.#readOffset);
    attempt({ action: 'write', path: this.#positionPath }, () => this.#fs.writeSync(fd, buf, 0, POSITION_BYTES, 0));
  }

  #syncDir(): void {
    try {
      const fd = this.#fs.openSync(this.#dir, 'r');
      try {
        this.#fs.fsyncSync(fd);
      } finally {
        this.#fs.closeSync(fd);
      }
    } catch {
      // Some filesystems refuse to fsync a directory; the files' own data was synced above.
    }
  }
}

function readPosition(fs: SpoolFs, path: string): { readonly seq: number; readonly offset: number } | undefined {
  let fd: number;
  try {
    fd = fs.openSync(path, 'r');
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return undefined;
    throw spoolError(error, { action: 'open', path });
  }
  try {
    const buf = Buffer.alloc(POSITION_BYTES + 1);
    const length = attempt({ action: 'read', path }, () => fs.readSync(fd, buf, 0, buf.length, 0));
    return decodePosition(buf, length);
  } finally {
    fs.closeSync(fd);
  }
}

function attempt<T>(what: { readonly action: string; readonly path: string }, run: () => T): T {
  try {
    return run();
  } catch (error) {
    throw spoolError(error, what);
  }
}
