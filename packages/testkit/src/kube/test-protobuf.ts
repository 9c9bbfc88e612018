/**
 * A small protobuf wire reader and writer for the fake API server's own tests, written from the wire format alone
 * (tag = field number << 3 | wire type; varints little-endian base 128; wire type 2 length-delimited), so tests
 * check the encoder against field numbers rather than against the encoder's own table. Not exported from the package.
 */

/** One field as read off the wire. */
export interface WireField {
  readonly no: number;
  readonly wire: number;
  /** The varint value (wire type 0). */
  readonly int: bigint;
  /** The bytes (wire type 2). */
  readonly bytes: Buffer;
}

function readVarint(buf: Buffer, at: { pos: number }): bigint {
  let value = 0n;
  let shift = 0n;
  for (;;) {
    const byte = buf[at.pos++];
    if (byte === undefined) throw new Error('truncated varint');
    value |= BigInt(byte & 0x7f) << shift;
    if (byte < 0x80) return value;
    shift += 7n;
  }
}

/** Every field of a message, in wire order. Only wire types 0 and 2 occur in Kubernetes' messages. */
export function readFields(buf: Buffer): WireField[] {
  const out: WireField[] = [];
  const at = { pos: 0 };
  while (at.pos < buf.length) {
    const tag = Number(readVarint(buf, at));
    const no = tag >> 3;
    const wire = tag & 7;
    if (wire === 0) {
      out.push({ no, wire, int: readVarint(buf, at), bytes: Buffer.alloc(0) });
    } else if (wire === 2) {
      const n = Number(readVarint(buf, at));
      if (at.pos + n > buf.length) throw new Error(`field ${no}: ${n} bytes past the end`);
      out.push({ no, wire, int: 0n, bytes: buf.subarray(at.pos, at.pos + n) });
      at.pos += n;
    } else {
      throw new Error(`unexpected wire type ${wire} for field ${no}`);
    }
  }
  return out;
}

/** The fields numbered `no`. */
export function all(buf: Buffer, no: number): WireField[] {
  return readFields(buf).filter((f) => f.no === no);
}

/** The single field numbered `no`. */
export function one(buf: Buffer, no: number): WireField {
  const found = all(buf, no);
  if (found.length !== 1) throw new Error(`expected one field ${no}, found ${found.length}`);
  return found[0] as WireField;
}

/** A string field's text. */
export function str(buf: Buffer, no: number): string {
  return one(buf, no).bytes.toString('utf8');
}

/** Whether field `no` is present. */
export function has(buf: Buffer, no: number): boolean {
  return all(buf, no).length > 0;
}

/** `k8s\0` + runtime.Unknown: the type meta and the raw message. */
export function unwrap(body: Buffer): { apiVersion: string; kind: string; raw: Buffer; contentEncoding: string; contentType: string } {
  if (!body.subarray(0, 4).equals(Buffer.from([0x6b, 0x38, 0x73, 0x00]))) throw new Error(`no k8s\\0 prefix: ${body.subarray(0, 4).toString('hex')}`);
  const unknown = body.subarray(4);
  const typeMeta = one(unknown, 1).bytes;
  return {
    apiVersion: str(typeMeta, 1),
    kind: str(typeMeta, 2),
    raw: one(unknown, 2).bytes,
    contentEncoding: str(unknown, 3),
    contentType: str(unknown, 4),
  };
}

/** Splits a watch stream into its frames (4-byte big-endian length, then the body). */
export function frames(stream: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let pos = 0;
  while (pos + 4 <= stream.length) {
    const n = stream.readUInt32BE(pos);
    if (pos + 4 + n > stream.length) break;
    out.push(stream.subarray(pos + 4, pos + 4 + n));
    pos += 4 + n;
  }
  return out;
}

/** A WatchEvent frame: its type and the enveloped object. */
export function watchEvent(frame: Buffer): { type: string; object: ReturnType<typeof unwrap> } {
  const rawExtension = one(frame, 2).bytes;
  return { type: str(frame, 1), object: unwrap(one(rawExtension, 1).bytes) };
}

// --- writing expected bytes by hand ---

/** A varint's bytes. */
export function varint(value: number | bigint): number[] {
  let v = BigInt.asUintN(64, BigInt(value));
  const out: number[] = [];
  while (v >= 0x80n) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
  return out;
}

/** Field `no` as a varint (wire type 0). */
export function vint(no: number, value: number | bigint): number[] {
  return [(no << 3) | 0, ...varint(value)];
}

/** Field `no` as length-delimited bytes (wire type 2). */
export function ld(no: number, content: readonly number[]): number[] {
  return [(no << 3) | 2, ...varint(content.length), ...content];
}

/** Field `no` as a string. */
export function s(no: number, text: string): number[] {
  return ld(no, [...Buffer.from(text, 'utf8')]);
}
