/**
 * Small HTTP helpers of the fake API server: answers in the negotiated encoding (JSON or Kubernetes protobuf),
 * `Status` errors, request bodies and streamed lists.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Writable } from 'node:stream';
import { createGzip } from 'node:zlib';
import type { ResponseEncoding } from './negotiation.js';
import type { KubeObject } from './objects.js';
import { encodeListChunks, encodeObject, encodeStatus, kindSchema, protobufMediaType, type ProtobufList } from './protobuf.js';
import { badRequest, unsupportedMediaType, type KubeApiError, type KubeStatus } from './status.js';

/** Sends a JSON answer with an exact `Content-Length`. */
export function sendJson(res: ServerResponse, code: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(code, { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache, private', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

function isStatus(body: KubeObject | KubeStatus): body is KubeStatus {
  return body.kind === 'Status' && body.apiVersion === 'v1';
}

/**
 * Sends an object or a `Status` in `encoding`. A kind without a protobuf message (a custom resource, for which
 * negotiation never chooses protobuf) goes out as JSON.
 */
export function sendObject(res: ServerResponse, answer: { readonly code: number; readonly body: KubeObject | KubeStatus; readonly encoding: ResponseEncoding }): void {
  const { code, body, encoding } = answer;
  if (encoding === 'json' || (!isStatus(body) && kindSchema(body.apiVersion, body.kind) === undefined)) {
    sendJson(res, code, body);
    return;
  }
  const bytes = isStatus(body) ? encodeStatus(body) : encodeObject(body);
  res.writeHead(code, { 'Content-Type': protobufMediaType, 'Cache-Control': 'no-cache, private', 'Content-Length': bytes.length });
  res.end(bytes);
}

/**
 * Sends an API error as its `Status` in the negotiated encoding (a 406, whose negotiation failed, always as JSON);
 * a 429 also gets the `Retry-After` header, as API Priority and Fairness sends it.
 */
export function sendError(res: ServerResponse, error: KubeApiError, encoding: ResponseEncoding = 'json'): void {
  const retryAfter = error.status.details?.retryAfterSeconds;
  if (retryAfter !== undefined && error.httpStatus === 429) res.setHeader('Retry-After', String(retryAfter));
  sendObject(res, { code: error.httpStatus, body: error.status, encoding: error.httpStatus === 406 ? 'json' : encoding });
}

/** The media type of a request body, without parameters; '' when absent. */
export function mediaType(req: IncomingMessage): string {
  return (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
}

/** Reads the whole request body as text. */
export async function readText(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** Parses JSON text from a request. @throws KubeApiError 400 for text that is not JSON. */
export function parseJsonBody(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw badRequest(`couldn't get version/kind; json parse error: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/**
 * Reads a JSON request body (create, update, delete options). Only JSON is spoken.
 *
 * @throws KubeApiError 415 for another media type, 400 for malformed JSON.
 */
export async function readJsonBody(req: IncomingMessage): Promise<unknown> {
  const type = mediaType(req);
  if (type !== '' && type !== 'application/json' && type !== '*/*') throw unsupportedMediaType(['application/json']);
  const text = await readText(req);
  return text.trim() === '' ? undefined : parseJsonBody(text);
}

const chunkChars = 64 * 1024;

/** Resolves when `out` can take more data, or when the connection is gone. */
function drained(out: Writable, res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      out.off('drain', done);
      res.off('close', done);
      resolve();
    };
    out.on('drain', done);
    res.on('close', done);
  });
}

/** Each stored object's list-item encodings, kept while the object lives (stored objects are never mutated). */
export interface EncodedItemCache {
  readonly json: WeakMap<KubeObject, string>;
  readonly protobuf: WeakMap<KubeObject, Buffer>;
}

/** An object's JSON as a list item: without its `kind` and `apiVersion`, which a list carries only at the top. */
export function listItemJson(item: KubeObject, cache?: EncodedItemCache): string {
  const cached = cache?.json.get(item);
  if (cached !== undefined) return cached;
  const bare: Record<string, unknown> = {};
  for (const key of Object.keys(item)) if (key !== 'kind' && key !== 'apiVersion') bare[key] = item[key];
  const json = JSON.stringify(bare);
  cache?.json.set(item, json);
  return json;
}

/** kube-apiserver compresses a response once more than this much of it has been written (`defaultGzipThresholdBytes`). */
export const gzipThresholdBytes = 128 * 1024;

/** Whether a request's `Accept-Encoding` names gzip. */
export function acceptsGzip(req: IncomingMessage): boolean {
  return /(^|,)\s*gzip\s*(;|,|$)/i.test(req.headers['accept-encoding'] ?? '');
}

/** How a list answer goes out. */
export interface ListAnswer {
  readonly res: ServerResponse;
  /** Whether to gzip a body larger than {@link gzipThresholdBytes} (the client accepts gzip and the server compresses). */
  readonly gzip: boolean;
}

/**
 * A list's body, written chunk by chunk with backpressure. With `gzip`, the first chunks are held until more than
 * 128 KiB has come, then the body goes through gzip level 1 (`Content-Encoding: gzip`), as kube-apiserver's
 * `deferredResponseWriter` decides; a smaller body goes out as it is.
 */
class ListBody {
  readonly #answer: ListAnswer;
  readonly #contentType: string;
  #held: (string | Buffer)[] = [];
  #heldBytes = 0;
  #out: Writable | undefined;

  constructor(answer: ListAnswer, contentType: string) {
    this.#answer = answer;
    this.#contentType = contentType;
    if (!answer.gzip) this.#out = this.#open(false);
  }

  /** Whether the client went away. */
  get gone(): boolean {
    return this.#answer.res.destroyed;
  }

  async write(chunk: string | Buffer): Promise<void> {
    let out = this.#out;
    let next = chunk;
    if (out === undefined) {
      this.#hold(chunk);
      if (this.#heldBytes <= gzipThresholdBytes) return;
      out = this.#out = this.#open(true);
      next = this.#takeHeld();
    }
    if (!out.write(next)) await drained(out, this.#answer.res);
  }

  end(last: string | Buffer): void {
    let out = this.#out;
    let next = last;
    if (out === undefined) {
      this.#hold(last);
      out = this.#out = this.#open(this.#heldBytes > gzipThresholdBytes);
      next = this.#takeHeld();
    }
    out.end(next);
  }

  #hold(chunk: string | Buffer): void {
    this.#held.push(chunk);
    this.#heldBytes += typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.length;
  }

  #takeHeld(): string | Buffer {
    const held = this.#held;
    this.#held = [];
    return held.every((h) => typeof h === 'string') ? held.join('') : Buffer.concat(held.map((h) => (typeof h === 'string' ? Buffer.from(h) : h)));
  }

  #open(gzip: boolean): Writable {
    const res = this.#answer.res;
    res.writeHead(200, { 'Content-Type': this.#contentType, 'Cache-Control': 'no-cache, private', ...(gzip ? { 'Content-Encoding': 'gzip' } : {}) });
    if (!gzip) return res;
    const zip = createGzip({ level: 1 });
    zip.pipe(res);
    res.once('close', () => zip.destroy());
    return zip;
  }
}

/**
 * Streams a list: `head` (the envelope up to `"items":[`), the items without their `kind` and `apiVersion` (a real
 * list carries them only at the top), then `]}`. Large lists go out in chunks that respect backpressure, so no
 * response is ever one giant string.
 */
export async function streamList(answer: ListAnswer, list: { readonly head: string; readonly items: readonly KubeObject[]; readonly cache: EncodedItemCache | undefined }): Promise<void> {
  const { head, items, cache } = list;
  const body = new ListBody(answer, 'application/json');
  let chunk = head;
  for (let i = 0; i < items.length; i++) {
    const item = items[i];
    if (item === undefined) continue;
    chunk += (i === 0 ? '' : ',') + listItemJson(item, cache);
    if (chunk.length >= chunkChars) {
      await body.write(chunk);
      if (body.gone) return;
      chunk = '';
    }
  }
  body.end(`${chunk}]}`);
}

/**
 * Streams a list in Kubernetes protobuf: the envelope, the `ListMeta`, then the items in chunks that respect
 * backpressure, as {@link streamList} does for JSON.
 */
export async function streamProtobufList(answer: ListAnswer, list: ProtobufList, cache?: EncodedItemCache): Promise<void> {
  const body = new ListBody(answer, protobufMediaType);
  let previous: Buffer | undefined;
  for (const chunk of encodeListChunks(list, chunkChars, cache?.protobuf)) {
    if (previous !== undefined) await body.write(previous);
    if (body.gone) return;
    previous = chunk;
  }
  body.end(previous ?? Buffer.alloc(0));
}
