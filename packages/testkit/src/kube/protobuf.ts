/**
 * Kubernetes protobuf encoding of the fake's stored JSON objects, driven by the message table of
 * `protobuf-schema.ts`, with the envelope and watch framing of kube-apiserver:
 *
 * - an object or list body is `k8s\0` followed by `runtime.Unknown{1 typeMeta, 2 raw, 3 "", 4 ""}`, where `raw`
 *   is the message itself;
 * - a watch event is a 4-byte big-endian length and `metav1.WatchEvent{1 type, 2 RawExtension{1 raw}}`, `raw`
 *   being the object's enveloped bytes.
 *
 * Encoding is two passes per message, as gogo-protobuf's `Size` and `Marshal`: the first records the length of
 * every nested message, the second writes into a buffer of the exact size. JSON keys the table does not know are
 * skipped (see {@link unknownProtobufFields}).
 */
import { isRecord, type KubeObject } from './objects.js';
import { kindSchemas, listMetaSchema, statusSchema, typeMetaSchema, type FieldSchema, type MessageSchema, type ScalarType } from './protobuf-schema.js';
import type { KubeStatus } from './status.js';

/** The Kubernetes protobuf media type. */
export const protobufMediaType = 'application/vnd.kubernetes.protobuf';

/** `k8s` and the encoding-style byte 0 (a `runtime.Unknown` follows). */
export const protobufMagic = Buffer.from([0x6b, 0x38, 0x73, 0x00]);

const wireVarint = 0;
const wireBytes = 2;

/** The message of a built-in kind, or undefined for kinds served only as JSON (custom resources). */
export function kindSchema(apiVersion: string, kind: string): MessageSchema | undefined {
  return kindSchemas.get(`${apiVersion}/${kind}`);
}

function varintSize(value: number): number {
  if (value < 0) return 10;
  let size = 1;
  while (value >= 128) {
    value = Math.floor(value / 128);
    size++;
  }
  return size;
}

function tagSize(no: number): number {
  return varintSize(no << 3);
}

/** A JSON number as an integer (`int32`/`int64` fields); anything else is 0. */
function integer(value: unknown): number {
  if (typeof value === 'number' && Number.isFinite(value)) return Math.trunc(value);
  if (typeof value === 'string' && /^-?\d+$/.test(value)) return Number(value);
  return 0;
}

function text(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return '';
}

function digits(s: string, from: number, count: number): number {
  let n = 0;
  for (let i = from; i < from + count; i++) {
    const d = s.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return Number.NaN;
    n = n * 10 + d;
  }
  return n;
}

/** Seconds of `2025-01-01T00:00:00Z`, the form Kubernetes writes, read without `Date.parse`; undefined for others. */
function wholeSecondsUtc(s: string): number | undefined {
  if (s.length !== 20 || s[4] !== '-' || s[7] !== '-' || s[10] !== 'T' || s[13] !== ':' || s[16] !== ':' || s[19] !== 'Z') return undefined;
  const ms = Date.UTC(digits(s, 0, 4), digits(s, 5, 2) - 1, digits(s, 8, 2), digits(s, 11, 2), digits(s, 14, 2), digits(s, 17, 2));
  return Number.isNaN(ms) ? undefined : ms / 1000;
}

interface Timestamp {
  readonly seconds: number;
  readonly nanos: number;
}

/** A JSON timestamp as seconds (and, for `MicroTime`, nanos); undefined for null, absent or unparseable values. */
function timestamp(value: unknown, micro: boolean): Timestamp | undefined {
  if (typeof value !== 'string' || value === '') return undefined;
  if (!micro) {
    const seconds = wholeSecondsUtc(value);
    if (seconds !== undefined) return { seconds, nanos: 0 };
  }
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) return undefined;
  const seconds = Math.floor(ms / 1000);
  if (!micro) return { seconds, nanos: 0 };
  const fraction = /\.(\d{1,9})/.exec(value)?.[1] ?? '';
  return { seconds, nanos: Number(fraction.padEnd(9, '0')) };
}

function timestampSize(t: Timestamp | undefined): number {
  return t === undefined ? 0 : 1 + varintSize(t.seconds) + 1 + varintSize(t.nanos);
}

interface IntOrString {
  readonly type: number;
  readonly intVal: number;
  readonly strVal: string;
}

function intOrString(value: unknown): IntOrString {
  if (typeof value === 'string') return { type: 1, intVal: 0, strVal: value };
  return { type: 0, intVal: integer(value), strVal: '' };
}

/** Below this length a string is measured and copied in JavaScript, cheaper than a call into the runtime. */
const shortString = 64;

/** The UTF-8 length of `s`. */
function utf8Length(s: string): number {
  if (s.length < shortString) {
    let ascii = true;
    for (let i = 0; i < s.length; i++) {
      if (s.charCodeAt(i) >= 0x80) {
        ascii = false;
        break;
      }
    }
    if (ascii) return s.length;
  }
  return Buffer.byteLength(s);
}

function stringSize(s: string): number {
  const n = utf8Length(s);
  return varintSize(n) + n;
}

function sortedEntries(value: unknown): [string, unknown][] {
  if (!isRecord(value)) return [];
  return Object.entries(value)
    .filter(([, v]) => v !== undefined && v !== null)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

function base64Bytes(value: unknown): Buffer {
  return Buffer.from(text(value), 'base64');
}

function fieldsV1Bytes(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value) ?? 'null');
}

/** The size of one map entry's body (`{1 key, 2 value}`). */
function mapEntrySize(type: 'stringMap' | 'quantityMap' | 'bytesMap', [key, value]: readonly [string, unknown]): number {
  const keySize = 1 + stringSize(key);
  switch (type) {
    case 'stringMap':
      return keySize + 1 + stringSize(text(value));
    case 'quantityMap': {
      const quantity = 1 + stringSize(text(value));
      return keySize + 1 + varintSize(quantity) + quantity;
    }
    case 'bytesMap': {
      const n = base64Bytes(value).length;
      return keySize + 1 + varintSize(n) + n;
    }
  }
}

/** The size of one scalar value without its tag. */
function scalarSize(type: ScalarType, value: unknown): number {
  switch (type) {
    case 'string':
      return stringSize(text(value));
    case 'int32':
    case 'int64':
      return varintSize(integer(value));
    case 'bool':
      return 1;
    case 'time':
    case 'microTime': {
      const n = timestampSize(timestamp(value, type === 'microTime'));
      return varintSize(n) + n;
    }
    case 'intOrString': {
      const v = intOrString(value);
      const n = 1 + varintSize(v.type) + 1 + varintSize(v.intVal) + 1 + stringSize(v.strVal);
      return varintSize(n) + n;
    }
    case 'fieldsV1': {
      const n = 1 + varintSize(fieldsV1Bytes(value).length) + fieldsV1Bytes(value).length;
      return varintSize(n) + n;
    }
    case 'stringMap':
    case 'quantityMap':
    case 'bytesMap':
      throw new TypeError(`a ${type} has no single value`);
  }
}

function isMap(type: ScalarType | MessageSchema): type is 'stringMap' | 'quantityMap' | 'bytesMap' {
  return type === 'stringMap' || type === 'quantityMap' || type === 'bytesMap';
}

/**
 * The encoded bytes (tags included) of list and map fields, by the JSON array or object. Stored objects are never
 * mutated and share their unchanging parts (a workload's labels, containers and conditions are one object for all
 * of its pods), so each shared part is encoded once; an entry goes when its JSON value is collected.
 */
const fieldBytes = new WeakMap<object, { readonly field: FieldSchema; readonly bytes: Buffer }>();

/** The bytes of a list or map field's whole value, from {@link fieldBytes} or encoded now. */
function compositeField(f: FieldSchema, value: object): Buffer {
  const hit = fieldBytes.get(value);
  if (hit?.field === f) return hit.bytes;
  const sizes: number[] = [];
  const bytes = Buffer.allocUnsafe(sizeUncached(f, value, sizes));
  writeUncached(new Writer(bytes, 0, sizes), f, value);
  fieldBytes.set(value, { field: f, bytes });
  return bytes;
}

/**
 * Sizes a message's body. The length of each nested message is pushed on `sizes` in the order {@link writeMessage}
 * visits them, so the write pass needs no sizing of its own.
 */
function sizeMessage(schema: MessageSchema, obj: unknown, sizes: number[]): number {
  const record = isRecord(obj) ? obj : undefined;
  let size = 0;
  for (const f of schema.fields) {
    const value = f.inline ? record : record?.[f.json];
    if (value === undefined || value === null) {
      if (f.optional || f.repeated) continue;
    } else if ((f.repeated || isMap(f.type)) && typeof value === 'object') {
      size += compositeField(f, value).length;
      continue;
    }
    size += sizeUncached(f, value, sizes);
  }
  return size;
}

/** The size of one field's value, tags included, encoding lists and maps afresh. */
function sizeUncached(f: FieldSchema, value: unknown, sizes: number[]): number {
  let size = 0;
  if (isMap(f.type)) {
    for (const entry of sortedEntries(value)) {
      const n = mapEntrySize(f.type, entry);
      size += tagSize(f.no) + varintSize(n) + n;
    }
  } else if (f.repeated) {
    if (Array.isArray(value)) for (const item of value as unknown[]) size += sizeValue(f, item, sizes);
  } else {
    size += sizeValue(f, value, sizes);
  }
  return size;
}

function sizeValue(f: FieldSchema, value: unknown, sizes: number[]): number {
  if (typeof f.type !== 'string') {
    const slot = sizes.length;
    sizes.push(0);
    const n = sizeMessage(f.type, value, sizes);
    sizes[slot] = n;
    return tagSize(f.no) + varintSize(n) + n;
  }
  return tagSize(f.no) + scalarSize(f.type, value);
}

/** Writes protobuf into a buffer sized beforehand. */
class Writer {
  pos: number;
  readonly buf: Buffer;
  #size = 0;

  constructor(buf: Buffer, pos: number, private readonly sizes: readonly number[]) {
    this.buf = buf;
    this.pos = pos;
  }

  /** The next recorded nested-message length. */
  nextSize(): number {
    const n = this.sizes[this.#size++];
    if (n === undefined) throw new Error('protobuf writer: more nested messages than sized');
    return n;
  }

  varint(value: number): void {
    if (value < 0) {
      // Negative int32 and int64 values are ten bytes of two's complement.
      let v = BigInt.asUintN(64, BigInt(value));
      while (v >= 128n) {
        this.buf[this.pos++] = Number(v & 127n) | 128;
        v >>= 7n;
      }
      this.buf[this.pos++] = Number(v);
      return;
    }
    while (value >= 128) {
      this.buf[this.pos++] = (value % 128) | 128;
      value = Math.floor(value / 128);
    }
    this.buf[this.pos++] = value;
  }

  tag(no: number, wire: number): void {
    this.varint((no << 3) | wire);
  }

  string(s: string): void {
    const n = utf8Length(s);
    this.varint(n);
    if (n === s.length && n < shortString) {
      for (let i = 0; i < n; i++) this.buf[this.pos + i] = s.charCodeAt(i);
    } else {
      this.buf.write(s, this.pos, n, 'utf8');
    }
    this.pos += n;
  }

  /** Copies already encoded bytes. */
  raw(b: Uint8Array): void {
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  bytes(b: Uint8Array): void {
    this.varint(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }
}

function writeTimestamp(w: Writer, t: Timestamp | undefined): void {
  w.varint(timestampSize(t));
  if (t === undefined) return;
  w.tag(1, wireVarint);
  w.varint(t.seconds);
  w.tag(2, wireVarint);
  w.varint(t.nanos);
}

function writeScalar(w: Writer, type: ScalarType, value: unknown): void {
  switch (type) {
    case 'string':
      w.string(text(value));
      return;
    case 'int32':
    case 'int64':
      w.varint(integer(value));
      return;
    case 'bool':
      w.varint(value === true ? 1 : 0);
      return;
    case 'time':
    case 'microTime':
      writeTimestamp(w, timestamp(value, type === 'microTime'));
      return;
    case 'intOrString': {
      const v = intOrString(value);
      w.varint(1 + varintSize(v.type) + 1 + varintSize(v.intVal) + 1 + stringSize(v.strVal));
      w.tag(1, wireVarint);
      w.varint(v.type);
      w.tag(2, wireVarint);
      w.varint(v.intVal);
      w.tag(3, wireBytes);
      w.string(v.strVal);
      return;
    }
    case 'fieldsV1': {
      const raw = fieldsV1Bytes(value);
      w.varint(1 + varintSize(raw.length) + raw.length);
      w.tag(1, wireBytes);
      w.bytes(raw);
      return;
    }
    case 'stringMap':
    case 'quantityMap':
    case 'bytesMap':
      throw new TypeError(`a ${type} has no single value`);
  }
}

function writeMapEntry(w: Writer, type: 'stringMap' | 'quantityMap' | 'bytesMap', [key, value]: readonly [string, unknown]): void {
  w.varint(mapEntrySize(type, [key, value]));
  w.tag(1, wireBytes);
  w.string(key);
  w.tag(2, wireBytes);
  switch (type) {
    case 'stringMap':
      w.string(text(value));
      return;
    case 'quantityMap':
      w.varint(1 + stringSize(text(value)));
      w.tag(1, wireBytes);
      w.string(text(value));
      return;
    case 'bytesMap':
      w.bytes(base64Bytes(value));
      return;
  }
}

function writeMessage(w: Writer, schema: MessageSchema, obj: unknown): void {
  const record = isRecord(obj) ? obj : undefined;
  for (const f of schema.fields) {
    const value = f.inline ? record : record?.[f.json];
    if (value === undefined || value === null) {
      if (f.optional || f.repeated) continue;
    } else if ((f.repeated || isMap(f.type)) && typeof value === 'object') {
      w.raw(compositeField(f, value));
      continue;
    }
    writeUncached(w, f, value);
  }
}

function writeUncached(w: Writer, f: FieldSchema, value: unknown): void {
  if (isMap(f.type)) {
    for (const entry of sortedEntries(value)) {
      w.tag(f.no, wireBytes);
      writeMapEntry(w, f.type, entry);
    }
  } else if (f.repeated) {
    if (Array.isArray(value)) for (const item of value as unknown[]) writeValue(w, f, item);
  } else {
    writeValue(w, f, value);
  }
}

function writeValue(w: Writer, f: FieldSchema, value: unknown): void {
  if (typeof f.type !== 'string') {
    w.tag(f.no, wireBytes);
    w.varint(w.nextSize());
    writeMessage(w, f.type, value);
    return;
  }
  const scalarWire = f.type === 'int32' || f.type === 'int64' || f.type === 'bool' ? wireVarint : wireBytes;
  w.tag(f.no, scalarWire);
  writeScalar(w, f.type, value);
}

/** A message's body bytes. */
export function encodeMessage(schema: MessageSchema, obj: unknown): Buffer {
  const sizes: number[] = [];
  const size = sizeMessage(schema, obj, sizes);
  const buf = Buffer.allocUnsafe(size);
  const w = new Writer(buf, 0, sizes);
  writeMessage(w, schema, obj);
  if (w.pos !== size) throw new Error(`protobuf writer: ${schema.name} sized ${size} bytes, wrote ${w.pos}`);
  return buf;
}

/** A message's body size, and the sizes of its nested messages for the write pass. */
function sized(schema: MessageSchema, obj: unknown): { readonly size: number; readonly sizes: number[] } {
  const sizes: number[] = [];
  return { size: sizeMessage(schema, obj, sizes), sizes };
}

function typeMetaBytes(apiVersion: string, kind: string): Buffer {
  return encodeMessage(typeMetaSchema, { apiVersion, kind });
}

/** `runtime.Unknown{typeMeta, raw, "", ""}` around `raw`, with the `k8s\0` prefix. */
export function envelope(apiVersion: string, kind: string, raw: Uint8Array): Buffer {
  const typeMeta = typeMetaBytes(apiVersion, kind);
  const head = unknownHead(typeMeta, raw.length);
  return Buffer.concat([head, raw, unknownTail]);
}

/** The trailing `contentEncoding` (3) and `contentType` (4) of an Unknown: both always written, both empty. */
const unknownTail = Buffer.from([0x1a, 0x00, 0x22, 0x00]);

/** The prefix and an Unknown up to the start of `raw`'s bytes. */
function unknownHead(typeMeta: Buffer, rawLength: number): Buffer {
  const size = 1 + varintSize(typeMeta.length) + typeMeta.length + 1 + varintSize(rawLength);
  const buf = Buffer.allocUnsafe(protobufMagic.length + size);
  protobufMagic.copy(buf, 0);
  const w = new Writer(buf, protobufMagic.length, []);
  w.tag(1, wireBytes);
  w.bytes(typeMeta);
  w.tag(2, wireBytes);
  w.varint(rawLength);
  return buf;
}

/**
 * The enveloped protobuf of a stored object of a built-in kind.
 *
 * @throws TypeError for a kind without a message (a custom resource): negotiation never picks protobuf for those.
 */
export function encodeObject(obj: KubeObject): Buffer {
  const schema = kindSchema(obj.apiVersion, obj.kind);
  if (schema === undefined) throw new TypeError(`no protobuf message for ${obj.apiVersion} ${obj.kind}`);
  return envelope(obj.apiVersion, obj.kind, encodeMessage(schema, obj));
}

/** The enveloped protobuf of a `Status` (typeMeta `v1`/`Status` whatever the resource, as it is unversioned). */
export function encodeStatus(status: KubeStatus): Buffer {
  return envelope('v1', 'Status', encodeMessage(statusSchema, status));
}

/** One watch event frame: a big-endian length, then `WatchEvent{1 type, 2 RawExtension{1 raw}}`. */
export function watchFrame(type: string, enveloped: Uint8Array): Buffer {
  const typeSize = stringSize(type);
  const rawExtension = 1 + varintSize(enveloped.length) + enveloped.length;
  const body = 1 + typeSize + 1 + varintSize(rawExtension) + rawExtension;
  const head = Buffer.allocUnsafe(4 + body - enveloped.length);
  head.writeUInt32BE(body, 0);
  const w = new Writer(head, 4, []);
  w.tag(1, wireBytes);
  w.string(type);
  w.tag(2, wireBytes);
  w.varint(rawExtension);
  w.tag(1, wireBytes);
  w.varint(enveloped.length);
  return Buffer.concat([head, enveloped]);
}

/** What a list needs to be written: its kind, its `ListMeta` and its items (all of `itemSchema`). */
export interface ProtobufList {
  readonly apiVersion: string;
  readonly listKind: string;
  readonly itemSchema: MessageSchema;
  readonly metadata: Readonly<Record<string, unknown>>;
  readonly items: readonly KubeObject[];
}

/**
 * Encodes a list as a sequence of chunks of about `chunkBytes`, so a large list is never one buffer: the
 * envelope's length needs the size of every item first (a sizing pass), then the items are written chunk by chunk.
 * With `cache`, each item's bytes are kept by its (immutable) stored object and reused by later lists.
 */
export function* encodeListChunks(list: ProtobufList, chunkBytes: number, cache?: WeakMap<KubeObject, Buffer>): Generator<Buffer> {
  const listMeta = sized(listMetaSchema, list.metadata);
  let raw = 1 + varintSize(listMeta.size) + listMeta.size;
  // The nested sizes of the first pass serve the second; lists and maps are cached, so there are few per item.
  const itemSizes: (number[] | Buffer)[] = [];
  for (const item of list.items) {
    const cached = cache === undefined ? undefined : cachedItem(list.itemSchema, item, cache);
    let n: number;
    if (cached === undefined) {
      const sizes: number[] = [];
      n = sizeMessage(list.itemSchema, item, sizes);
      sizes.push(n);
      itemSizes.push(sizes);
    } else {
      n = cached.length;
      itemSizes.push(cached);
    }
    raw += 1 + varintSize(n) + n;
  }
  const typeMeta = typeMetaBytes(list.apiVersion, list.listKind);
  const head = unknownHead(typeMeta, raw);
  const metaBuf = Buffer.allocUnsafe(1 + varintSize(listMeta.size) + listMeta.size);
  const metaWriter = new Writer(metaBuf, 0, listMeta.sizes);
  metaWriter.tag(1, wireBytes);
  metaWriter.varint(listMeta.size);
  writeMessage(metaWriter, listMetaSchema, list.metadata);
  yield Buffer.concat([head, metaBuf]);
  let chunk = Buffer.allocUnsafe(Math.max(chunkBytes, 64));
  let pos = 0;
  for (let i = 0; i < list.items.length; i++) {
    const sizesOrBytes = itemSizes[i] ?? [];
    itemSizes[i] = [];
    const n = Buffer.isBuffer(sizesOrBytes) ? sizesOrBytes.length : (sizesOrBytes.pop() ?? 0);
    const need = 1 + varintSize(n) + n;
    if (pos + need > chunk.length) {
      if (pos > 0) yield chunk.subarray(0, pos);
      chunk = Buffer.allocUnsafe(Math.max(chunkBytes, need));
      pos = 0;
    }
    const w = new Writer(chunk, pos, Buffer.isBuffer(sizesOrBytes) ? [] : sizesOrBytes);
    w.tag(2, wireBytes);
    w.varint(n);
    if (Buffer.isBuffer(sizesOrBytes)) w.raw(sizesOrBytes);
    else writeMessage(w, list.itemSchema, list.items[i]);
    pos = w.pos;
  }
  yield Buffer.concat([chunk.subarray(0, pos), unknownTail]);
}

/** An item's message bytes from `cache`, encoded and kept there on a miss. */
function cachedItem(schema: MessageSchema, item: KubeObject, cache: WeakMap<KubeObject, Buffer>): Buffer {
  let bytes = cache.get(item);
  if (bytes === undefined) {
    bytes = encodeMessage(schema, item);
    cache.set(item, bytes);
  }
  return bytes;
}

/**
 * The JSON keys of `obj` that the message table has no field for, as dotted paths (`spec.volumes`,
 * `status.containerStatuses[0].resources`); keys with null values count too. The encoder skips them; tests use
 * this to check that an object's protobuf carries all of its JSON.
 */
export function unknownProtobufFields(obj: KubeObject): string[] {
  const schema = kindSchema(obj.apiVersion, obj.kind);
  if (schema === undefined) return ['(no message for the kind)'];
  const out: string[] = [];
  const visit = (message: MessageSchema, value: unknown, at: { readonly path: string; readonly known: ReadonlySet<string> }): void => {
    if (!isRecord(value)) return;
    const keys = jsonKeys(message);
    for (const key of Object.keys(value)) if (!keys.has(key) && !at.known.has(key)) out.push(`${at.path}${key}`);
    for (const f of message.fields) {
      const type = f.type;
      if (typeof type === 'string') continue;
      const child = value[f.json];
      if (f.inline) visit(type, value, { path: at.path, known: keys });
      else if (!f.repeated) visit(type, child, { path: `${at.path}${f.json}.`, known: none });
      else if (Array.isArray(child)) (child as unknown[]).forEach((item, i) => visit(type, item, { path: `${at.path}${f.json}[${i}].`, known: none }));
    }
  };
  visit(schema, obj, { path: '', known: new Set(['apiVersion', 'kind']) });
  return out;
}

const none: ReadonlySet<string> = new Set();

/** The JSON keys a message reads, those of its inline fields included. */
function jsonKeys(schema: MessageSchema): Set<string> {
  const keys = new Set<string>();
  for (const f of schema.fields) {
    if (!f.inline) keys.add(f.json);
    else if (typeof f.type !== 'string') for (const k of jsonKeys(f.type)) keys.add(k);
  }
  return keys;
}
