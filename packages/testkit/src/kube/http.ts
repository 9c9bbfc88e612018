/** Small HTTP helpers of the fake API server: JSON answers, `Status` errors, request bodies and streamed lists. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { KubeObject } from './objects.js';
import { badRequest, unsupportedMediaType, type KubeApiError } from './status.js';

/** Sends a JSON answer with an exact `Content-Length`. */
export function sendJson(res: ServerResponse, code: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(code, { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache, private', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

/** Sends an API error as its `Status`; a 429 also gets the `Retry-After` header, as API Priority and Fairness sends it. */
export function sendError(res: ServerResponse, error: KubeApiError): void {
  const retryAfter = error.status.details?.retryAfterSeconds;
  if (retryAfter !== undefined && error.httpStatus === 429) res.setHeader('Retry-After', String(retryAfter));
  sendJson(res, error.httpStatus, error.status);
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

/** Resolves when the response can take more data, or when the connection is gone. */
function drained(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

/**
 * Streams a list: `head` (the envelope up to `"items":[`), the items without their `kind` and `apiVersion` (a real
 * list carries them only at the top), then `]}`. Large lists go out in chunks that respect backpressure, so no
 * response is ever one giant string.
 */
export async function streamList(res: ServerResponse, head: string, items: readonly KubeObject[]): Promise<void> {
  res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache, private' });
  let chunk = head;
  for (let i = 0; i < items.length; i++) {
    const item = items[i];
    if (item === undefined) continue;
    const bare: Record<string, unknown> = {};
    for (const key of Object.keys(item)) if (key !== 'kind' && key !== 'apiVersion') bare[key] = item[key];
    chunk += (i === 0 ? '' : ',') + JSON.stringify(bare);
    if (chunk.length >= chunkChars) {
      if (!res.write(chunk)) await drained(res);
      if (res.destroyed) return;
      chunk = '';
    }
  }
  res.end(`${chunk}]}`);
}
