/**
 * Kubernetes' protobuf encoding as the API server sends it (`application/vnd.kubernetes.protobuf`), decoded into
 * the same shapes `JSON.parse` gives for the JSON encoding, so one set of converters (objects.ts) serves both:
 *
 * - a body is the 4-byte prefix `k8s\0` followed by a `runtime.Unknown` envelope: the object's kind
 *   (`typeMeta`) and its own bytes (`raw`);
 * - a List's `raw` is `{1: ListMeta, 2: repeated item}`; {@link ProtobufListReader} hands on each item as soon as it
 *   has arrived, so a list of 150,000 pods is never one buffer;
 * - a watch stream is a sequence of frames, a 4-byte big-endian length and a `meta.v1.WatchEvent` whose object is
 *   again a prefixed envelope; {@link WatchFrameReader} cuts the frames, {@link decodeWatchEvent} reads one;
 * - errors are a `Status` in the same envelope.
 *
 * The schema is the project's own subset (proto/promfleet/kubernetes/v1/objects.proto): fields it does not declare
 * are skipped, whatever the Kubernetes version.
 */
import { BinaryReader } from '@bufbuild/protobuf/wire';
import {
  Endpoints,
  EndpointSlice,
  Ingress,
  ListMeta,
  Node,
  PartialObject,
  Pod,
  Service,
  Status,
  TypeMeta,
  Unknown,
  WatchEvent,
} from '../../gen/promfleet/kubernetes/v1/objects.js';
import { errorMessage } from '@promfleet/model';
import type { KubernetesKind, OperatorKind } from './errors.js';

/** The media type of Kubernetes' protobuf encoding. */
export const PROTOBUF_MEDIA_TYPE = 'application/vnd.kubernetes.protobuf';

/** The prefix of every protobuf body: `k8s` and the encoding style 0 (a `runtime.Unknown` follows). */
const PREFIX = Buffer.from([0x6b, 0x38, 0x73, 0x00]);

/**
 * The largest watch frame or list item accepted. The API server stores objects of at most 1.5 MiB by default; a
 * length beyond this means a broken or hostile stream, not an object.
 */
export const MAX_PROTOBUF_MESSAGE_BYTES = 64 * 1024 * 1024;

/** A protobuf body or stream that does not follow Kubernetes' encoding. */
export class ProtobufDecodeError extends Error {
  override readonly name = 'ProtobufDecodeError';
  readonly code = 'PROMFLEET_K8S_PROTOBUF';
}

/** A `meta.v1.Status` as its JSON reads: what an error answer or an ERROR watch event carries. */
export interface StatusObject {
  readonly kind: 'Status';
  readonly status: string;
  readonly message: string;
  readonly reason: string;
  readonly code: number;
}

/** One decoded watch event, in the shape of the JSON encoding's `{"type": ..., "object": ...}`. */
export interface DecodedWatchEvent {
  readonly type: string;
  readonly object: unknown;
}

type ObjectDecoder = (bytes: Uint8Array) => unknown;

/** Strings up to this many bytes are shared between objects, as V8's JSON.parse shares values up to 25 characters. */
const SHARED_STRING_MAX_BYTES = 25;
/** Slots of the table of shared strings (a power of two). */
const SHARED_STRING_SLOTS = 1 << 13;
const sharedStrings: string[] = new Array<string>(SHARED_STRING_SLOTS).fill('');

/**
 * A reader that hands out one string object for each short ASCII value it meets often (`TCP`, `Running`, a
 * namespace, an app name), so that 150,000 pods hold each repeated value about once — without it the protobuf path
 * held 30 % more heap per slim pod than the JSON path, whose JSON.parse shares short values. The table is
 * direct-mapped by a hash of the bytes: a value found there costs no allocation and no string hashing; a rare value
 * (an IP address) only takes its slot.
 */
class SharingReader extends BinaryReader {
  readonly #bytes: Buffer;

  constructor(bytes: Uint8Array) {
    const buffer = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    super(buffer);
    this.#bytes = buffer;
  }

  override string(): string {
    const length = this.uint32();
    const start = this.pos;
    const end = start + length;
    if (end > this.len) throw new RangeError('premature EOF');
    this.pos = end;
    const bytes = this.#bytes;
    if (length > SHARED_STRING_MAX_BYTES) return bytes.toString('utf8', start, end);
    let hash = length;
    for (let i = start; i < end; i++) {
      const byte = bytes[i] ?? 0;
      if (byte > 0x7f) return bytes.toString('utf8', start, end);
      hash = Math.imul(hash ^ byte, 0x01000193);
    }
    const slot = (hash >>> 0) & (SHARED_STRING_SLOTS - 1);
    const known = sharedStrings[slot] ?? '';
    if (known.length === length && sameAscii(known, bytes, start)) return known;
    const value = bytes.toString('latin1', start, end);
    sharedStrings[slot] = value;
    return value;
  }
}

function sameAscii(text: string, bytes: Buffer, start: number): boolean {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) !== bytes[start + i]) return false;
  return true;
}

/** Reads an Ingress and moves each rule's `ingressRuleValue.http` up beside `host`, where JSON inlines it. */
function ingress(bytes: Uint8Array): unknown {
  const decoded = Ingress.decode(new SharingReader(bytes));
  const rules = decoded.spec?.rules ?? [];
  return {
    ...decoded,
    spec: { ...decoded.spec, rules: rules.map(({ host, ingressRuleValue }) => (ingressRuleValue?.http === undefined ? { host } : { host, http: ingressRuleValue.http })) },
  };
}

const decoders: Readonly<Record<KubernetesKind, ObjectDecoder>> = {
  Pod: (b) => Pod.decode(new SharingReader(b)),
  Service: (b) => Service.decode(new SharingReader(b)),
  Endpoints: (b) => Endpoints.decode(new SharingReader(b)),
  EndpointSlice: (b) => EndpointSlice.decode(new SharingReader(b)),
  Node: (b) => Node.decode(new SharingReader(b)),
  Ingress: ingress,
  Namespace: (b) => PartialObject.decode(new SharingReader(b)),
  ReplicaSet: (b) => PartialObject.decode(new SharingReader(b)),
  Job: (b) => PartialObject.decode(new SharingReader(b)),
};

/** Whether the API server can send `kind` in protobuf: built-in kinds can, custom resources (the operator's) cannot. */
export function protobufKind(kind: KubernetesKind | OperatorKind): kind is KubernetesKind {
  return Object.hasOwn(decoders, kind);
}

/** Whether a Content-Type header names the protobuf encoding (parameters such as `stream=watch` aside). */
export function isProtobufContentType(contentType: string | undefined): boolean {
  return mediaType(contentType) === PROTOBUF_MEDIA_TYPE;
}

/** The media type of a Content-Type header, lowercased, without parameters; `''` when absent. */
export function mediaType(contentType: string | undefined): string {
  return (contentType ?? '').split(';', 1)[0]?.trim().toLowerCase() ?? '';
}

function statusObject(status: Status): StatusObject {
  return { kind: 'Status', status: status.status, message: status.message, reason: status.reason, code: status.code };
}

/** Reads a prefixed envelope: the object's kind and its bytes. */
function envelope(bytes: Uint8Array, where: string): { kind: string; raw: Uint8Array } {
  if (bytes.length < PREFIX.length || !PREFIX.equals(bytes.subarray(0, PREFIX.length))) {
    throw new ProtobufDecodeError(`${where}: no k8s protobuf prefix`);
  }
  let unknown: Unknown;
  try {
    unknown = Unknown.decode(bytes.subarray(PREFIX.length));
  } catch (err) {
    throw new ProtobufDecodeError(`${where}: ${errorMessage(err)}`);
  }
  checkEncoding(unknown, where);
  return { kind: unknown.typeMeta?.kind ?? '', raw: unknown.raw };
}

function checkEncoding(unknown: Pick<Unknown, 'contentEncoding' | 'contentType'>, where: string): void {
  if (unknown.contentEncoding !== '') throw new ProtobufDecodeError(`${where}: unsupported content encoding ${JSON.stringify(unknown.contentEncoding)}`);
  if (unknown.contentType !== '' && mediaType(unknown.contentType) !== PROTOBUF_MEDIA_TYPE) {
    throw new ProtobufDecodeError(`${where}: unsupported content type ${JSON.stringify(unknown.contentType)}`);
  }
}

/** The Status in a protobuf error answer, or undefined when the body is not one. */
export function decodeStatus(body: Uint8Array): StatusObject | undefined {
  try {
    const { kind, raw } = envelope(body, 'status');
    return kind === 'Status' ? statusObject(Status.decode(raw)) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Decodes one watch frame of a watch on `kind`: ADDED/MODIFIED/DELETED/BOOKMARK carry an object of that kind, ERROR
 * a Status.
 *
 * @throws ProtobufDecodeError naming what is wrong.
 */
export function decodeWatchEvent(frame: Uint8Array, kind: KubernetesKind): DecodedWatchEvent {
  let event: WatchEvent;
  try {
    event = WatchEvent.decode(frame);
  } catch (err) {
    throw new ProtobufDecodeError(`watch event: ${errorMessage(err)}`);
  }
  const { kind: objectKind, raw } = envelope(event.object?.raw ?? new Uint8Array(), `${event.type} event`);
  try {
    if (objectKind === 'Status') return { type: event.type, object: statusObject(Status.decode(raw)) };
    if (objectKind !== kind) throw new ProtobufDecodeError(`${event.type} event: expected a ${kind}, got ${JSON.stringify(objectKind)}`);
    return { type: event.type, object: decoders[kind](raw) };
  } catch (err) {
    if (err instanceof ProtobufDecodeError) throw err;
    throw new ProtobufDecodeError(`${event.type} event (${kind}): ${errorMessage(err)}`);
  }
}

/** Unconsumed bytes of a stream, as the chunks that brought them; reads copy only when a field spans chunks. */
class ByteQueue {
  #chunks: Buffer[] = [];
  #offset = 0;
  #available = 0;

  get available(): number {
    return this.#available;
  }

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.#chunks.push(chunk);
    this.#available += chunk.length;
  }

  /** The next `n` bytes, or undefined until that many have arrived. */
  read(n: number): Buffer | undefined {
    if (n > this.#available) return undefined;
    const head = this.#chunks[0];
    let out: Buffer;
    if (head !== undefined && head.length - this.#offset >= n) {
      out = head.subarray(this.#offset, this.#offset + n);
    } else {
      out = Buffer.allocUnsafe(n);
      let copied = 0;
      let offset = this.#offset;
      for (const chunk of this.#chunks) {
        const take = Math.min(chunk.length - offset, n - copied);
        chunk.copy(out, copied, offset, offset + take);
        copied += take;
        offset = 0;
        if (copied === n) break;
      }
    }
    this.skip(n);
    return out;
  }

  /** Drops up to `n` bytes; returns how many were dropped. */
  skip(n: number): number {
    let left = Math.min(n, this.#available);
    const dropped = left;
    while (left > 0) {
      const head = this.#chunks[0];
      if (head === undefined) break;
      const inHead = head.length - this.#offset;
      if (inHead > left) {
        this.#offset += left;
        left = 0;
      } else {
        this.#chunks.shift();
        this.#offset = 0;
        left -= inHead;
      }
    }
    this.#available -= dropped;
    return dropped;
  }

  /**
   * A varint `at` bytes from the front, without consuming anything: its value and length, or undefined until it
   * has arrived whole.
   */
  peekVarint(at = 0): { value: number; length: number } | undefined {
    let value = 0;
    let length = 0;
    let skip = this.#offset + at;
    for (const chunk of this.#chunks) {
      if (skip >= chunk.length) {
        skip -= chunk.length;
        continue;
      }
      for (let i = skip; i < chunk.length; i++) {
        const byte = chunk[i] ?? 0;
        // Tags and lengths fit in 35 bits; multiplication keeps them exact past 2^31.
        value += (byte & 0x7f) * 2 ** (7 * length);
        length++;
        if ((byte & 0x80) === 0) return { value, length };
        if (length === 5) throw new ProtobufDecodeError('varint longer than 5 bytes where a tag or length belongs');
      }
      skip = 0;
    }
    return undefined;
  }
}

/** Where a {@link ProtobufListReader} is: in the envelope, or inside the List (its `raw`), with bytes left. */
type ListLevel = { in: 'envelope' } | { in: 'list'; left: number };

/** A field being read: `buffer` fields are decoded whole, `skip` ones dropped as they arrive. */
type PendingField = { field: number; length: number; action: 'buffer' | 'skip' };

const WIRE_VARINT = 0;
const WIRE_FIXED64 = 1;
const WIRE_LENGTH = 2;
const WIRE_FIXED32 = 5;

/**
 * Reads a protobuf List answer as it streams in — `k8s\0`, then `Unknown{typeMeta, raw = List{metadata, items}}` —
 * handing each item to `onItem` decoded, as the JSON path's ListStreamParser does. {@link finish} returns the List's
 * `metadata` (`resourceVersion`, `continue`) in the JSON shape.
 */
export class ProtobufListReader {
  readonly #queue = new ByteQueue();
  #prefixChecked = false;
  #level: ListLevel = { in: 'envelope' };
  #pending: PendingField | undefined;
  #typeKind: string | undefined;
  #metadata: ListMeta | undefined;
  #status: StatusObject | undefined;

  constructor(
    private readonly kind: KubernetesKind,
    private readonly onItem: (item: unknown) => void,
  ) {}

  /**
   * Feeds the next chunk.
   *
   * @throws ProtobufDecodeError for bytes that are not a List of `kind` in Kubernetes' protobuf encoding.
   */
  push(chunk: Buffer): void {
    this.#queue.push(chunk);
    if (!this.#prefixChecked) {
      if (this.#queue.available < PREFIX.length) return;
      const prefix = this.#queue.read(PREFIX.length);
      if (prefix === undefined || !PREFIX.equals(prefix)) throw new ProtobufDecodeError('no k8s protobuf prefix');
      this.#prefixChecked = true;
    }
    while (this.#step());
  }

  /**
   * The List's metadata, once the whole answer has arrived.
   *
   * @throws ProtobufDecodeError when the answer ended early or was a Status ({@link status} has it then).
   */
  finish(): { metadata: { resourceVersion: string; continue: string } } {
    if (!this.#prefixChecked) throw new ProtobufDecodeError('the list response ended before its prefix');
    if (this.#pending !== undefined || this.#queue.available > 0 || this.#level.in === 'list') throw new ProtobufDecodeError('the list response ended inside a field');
    if (this.#status !== undefined) throw new ProtobufDecodeError(`the answer is a Status: ${this.#status.message}`);
    if (this.#typeKind === undefined) throw new ProtobufDecodeError('the list response has no type');
    return { metadata: { resourceVersion: this.#metadata?.resourceVersion ?? '', continue: this.#metadata?.continue ?? '' } };
  }

  /** The Status when the answer was one instead of a List. */
  get status(): StatusObject | undefined {
    return this.#status;
  }

  /** Makes one step of progress; false when more bytes are needed. */
  #step(): boolean {
    if (this.#pending !== undefined) return this.#continueField(this.#pending);
    if (this.#level.in === 'list' && this.#level.left === 0) {
      this.#level = { in: 'envelope' };
      return true;
    }
    const tag = this.#queue.peekVarint();
    if (tag === undefined) return false;
    const field = Math.floor(tag.value / 8);
    const wire = tag.value % 8;
    if (wire === WIRE_LENGTH || wire === WIRE_VARINT) {
      const second = this.#queue.peekVarint(tag.length);
      if (second === undefined) return false;
      this.#consume(tag.length + second.length);
      if (wire === WIRE_LENGTH) this.#startField(field, second.value);
      return true;
    }
    const fixed = wire === WIRE_FIXED64 ? 8 : wire === WIRE_FIXED32 ? 4 : undefined;
    if (fixed === undefined) throw new ProtobufDecodeError(`unsupported wire type ${wire} (field ${field})`);
    if (this.#queue.available < tag.length + fixed) return false;
    this.#consume(tag.length + fixed);
    return true;
  }

  /** Drops `n` bytes that are part of the current level. */
  #consume(n: number): void {
    this.#queue.skip(n);
    if (this.#level.in === 'list') {
      if (n > this.#level.left) throw new ProtobufDecodeError('a field runs past the end of the list');
      this.#level = { in: 'list', left: this.#level.left - n };
    }
  }

  #startField(field: number, length: number): void {
    if (this.#level.in === 'list' && length > this.#level.left) throw new ProtobufDecodeError(`field ${field} runs past the end of the list`);
    if (this.#level.in === 'envelope' && field === 2 && this.#typeKind === `${this.kind}List`) {
      // The List itself: descend into it instead of buffering it.
      this.#level = { in: 'list', left: length };
      return;
    }
    const wanted = this.#level.in === 'envelope' ? field >= 1 && field <= 4 : field === 1 || field === 2;
    if (wanted && length > MAX_PROTOBUF_MESSAGE_BYTES) throw new ProtobufDecodeError(`field ${field} of ${length} bytes is larger than ${MAX_PROTOBUF_MESSAGE_BYTES}`);
    this.#pending = { field, length, action: wanted ? 'buffer' : 'skip' };
  }

  #continueField(pending: PendingField): boolean {
    if (pending.action === 'skip') {
      const dropped = this.#queue.skip(pending.length);
      if (this.#level.in === 'list') this.#level = { in: 'list', left: this.#level.left - dropped };
      pending.length -= dropped;
      if (pending.length > 0) return false;
      this.#pending = undefined;
      return true;
    }
    const bytes = this.#queue.read(pending.length);
    if (bytes === undefined) return false;
    if (this.#level.in === 'list') this.#level = { in: 'list', left: this.#level.left - pending.length };
    this.#pending = undefined;
    if (this.#level.in === 'envelope') this.#envelopeField(pending.field, bytes);
    else this.#listField(pending.field, bytes);
    return true;
  }

  #envelopeField(field: number, bytes: Buffer): void {
    switch (field) {
      case 1: {
        this.#typeKind = TypeMeta.decode(bytes).kind;
        if (this.#typeKind !== 'Status' && this.#typeKind !== `${this.kind}List`) {
          throw new ProtobufDecodeError(`expected a ${this.kind}List, got ${JSON.stringify(this.#typeKind)}`);
        }
        return;
      }
      case 2:
        if (this.#typeKind === undefined) throw new ProtobufDecodeError('the object came before its type');
        this.#status = statusObject(Status.decode(bytes));
        return;
      default:
        checkEncoding({ contentEncoding: field === 3 ? bytes.toString('utf8') : '', contentType: field === 4 ? bytes.toString('utf8') : '' }, 'list');
    }
  }

  #listField(field: number, bytes: Buffer): void {
    if (field === 1) {
      this.#metadata = ListMeta.decode(bytes);
      return;
    }
    let item: unknown;
    try {
      item = decoders[this.kind](bytes);
    } catch (err) {
      throw new ProtobufDecodeError(`a ${this.kind} item: ${errorMessage(err)}`);
    }
    this.onItem(item);
  }
}

/**
 * Cuts a protobuf watch stream into frames: a 4-byte big-endian length, then that many bytes.
 */
export class WatchFrameReader {
  readonly #queue = new ByteQueue();
  #frameLength: number | undefined;

  /**
   * Feeds the next chunk and returns the frames it completed.
   *
   * @throws ProtobufDecodeError for a frame longer than {@link MAX_PROTOBUF_MESSAGE_BYTES}.
   */
  push(chunk: Buffer): Buffer[] {
    this.#queue.push(chunk);
    const frames: Buffer[] = [];
    for (;;) {
      if (this.#frameLength === undefined) {
        const header = this.#queue.read(4);
        if (header === undefined) return frames;
        this.#frameLength = header.readUInt32BE(0);
        if (this.#frameLength > MAX_PROTOBUF_MESSAGE_BYTES) throw new ProtobufDecodeError(`a watch frame of ${this.#frameLength} bytes is larger than ${MAX_PROTOBUF_MESSAGE_BYTES}`);
      }
      const frame = this.#queue.read(this.#frameLength);
      if (frame === undefined) return frames;
      frames.push(frame);
      this.#frameLength = undefined;
    }
  }

  /** Bytes of an unfinished frame, left when the stream ended. */
  get leftover(): number {
    return this.#queue.available + (this.#frameLength === undefined ? 0 : 4);
  }
}
