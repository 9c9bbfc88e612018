/**
 * Raw HTTP helpers for the fake API server's own tests: plain `node:http` requests without connection reuse, and a
 * watch reader that collects the stream's lines. Not exported from the package.
 */
import { request as httpRequest, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';

/** One answered request. */
export interface HttpResult {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly text: string;
  /** The body's bytes. */
  readonly bytes: Buffer;
  /** The body parsed as JSON, or undefined when it is not JSON. */
  readonly json: unknown;
}

/** What to send. */
export interface RequestSpec {
  readonly method?: string;
  readonly path: string;
  readonly body?: unknown;
  readonly contentType?: string;
  readonly userAgent?: string;
  /** The Accept header; none when undefined. */
  readonly accept?: string;
  /** The Accept-Encoding header; none when undefined. The body is returned as it came, not decompressed. */
  readonly acceptEncoding?: string;
}

function tryJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** Sends one request to `base` and reads the whole answer. */
export function send(base: string, spec: RequestSpec): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const body = spec.body === undefined ? undefined : typeof spec.body === 'string' ? spec.body : JSON.stringify(spec.body);
    const req = httpRequest(
      new URL(spec.path, base),
      {
        method: spec.method ?? 'GET',
        agent: false,
        headers: {
          'User-Agent': spec.userAgent ?? 'testkit-test',
          ...(spec.accept === undefined ? {} : { Accept: spec.accept }),
          ...(spec.acceptEncoding === undefined ? {} : { 'Accept-Encoding': spec.acceptEncoding }),
          ...(body === undefined ? {} : { 'Content-Type': spec.contentType ?? 'application/json', 'Content-Length': Buffer.byteLength(body) }),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const bytes = Buffer.concat(chunks);
          const text = bytes.toString('utf8');
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, bytes, json: tryJson(text) });
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** One line of a watch stream. */
export interface WatchLine {
  readonly type: string;
  readonly object: {
    readonly kind?: string;
    readonly code?: number;
    readonly reason?: string;
    readonly message?: string;
    readonly metadata?: { readonly name?: string; readonly resourceVersion?: string; readonly annotations?: Record<string, string> };
    readonly [field: string]: unknown;
  };
}

/** How a watch stream ended. */
export type WatchEnd = 'end' | 'error';

/** An open watch: its status, the lines so far and how it ended. */
export class WatchReader {
  readonly lines: WatchLine[] = [];
  readonly ended: Promise<WatchEnd>;
  readonly status: number;
  readonly #res: IncomingMessage;
  readonly #waiters = new Set<() => void>();
  #buffer = '';

  constructor(res: IncomingMessage) {
    this.#res = res;
    this.status = res.statusCode ?? 0;
    this.ended = new Promise<WatchEnd>((resolve) => {
      res.on('end', () => resolve('end'));
      res.on('error', () => resolve('error'));
      res.on('aborted', () => resolve('error'));
      res.on('close', () => resolve(res.complete ? 'end' : 'error'));
    });
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => {
      this.#buffer += chunk;
      let newline = this.#buffer.indexOf('\n');
      while (newline >= 0) {
        const line = this.#buffer.slice(0, newline);
        this.#buffer = this.#buffer.slice(newline + 1);
        if (line.trim() !== '') this.lines.push(JSON.parse(line) as WatchLine);
        newline = this.#buffer.indexOf('\n');
      }
      for (const waiter of [...this.#waiters]) waiter();
    });
  }

  /** Resolves once `count` lines satisfying `predicate` have arrived; rejects after `timeoutMs`. */
  async waitFor(predicate: (line: WatchLine) => boolean, options: { readonly count?: number; readonly timeoutMs?: number } = {}): Promise<WatchLine[]> {
    const count = options.count ?? 1;
    const matching = (): WatchLine[] => this.lines.filter(predicate);
    if (matching().length >= count) return matching();
    return new Promise((resolve, reject) => {
      const check = (): void => {
        const found = matching();
        if (found.length < count) return;
        clearTimeout(timer);
        this.#waiters.delete(check);
        resolve(found);
      };
      const timer = setTimeout(() => {
        this.#waiters.delete(check);
        reject(new Error(`timed out waiting for ${count} watch line(s); got ${JSON.stringify(this.lines.map((l) => l.type))}`));
      }, options.timeoutMs ?? 3000);
      this.#waiters.add(check);
    });
  }

  /** Closes the watch from the client side. */
  close(): void {
    this.#res.destroy();
  }
}

/** Opens a watch at `path` (which should carry `watch=true`) and resolves once the answer's headers are in. */
export function openWatch(base: string, path: string, userAgent = 'testkit-test'): Promise<WatchReader> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(new URL(path, base), { agent: false, headers: { 'User-Agent': userAgent } }, (res) => resolve(new WatchReader(res)));
    req.on('error', reject);
    req.end();
  });
}

/** A minimal pod in `namespace` with `labels`. */
export function pod(namespace: string, name: string, labels: Record<string, string> = {}): { apiVersion: 'v1'; kind: 'Pod'; metadata: Record<string, unknown>; spec: Record<string, unknown> } {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace, labels }, spec: { containers: [{ name: 'app', image: 'app:1' }] } };
}
