/**
 * One watch response, fed first from a snapshot or the event history and then live from the store, as the real
 * server's `cacheWatcher` does: a chunked `application/json` stream of `{"type":…,"object":…}` lines, or in
 * protobuf an `application/vnd.kubernetes.protobuf;stream=watch` stream of length-prefixed `WatchEvent` frames.
 */
import type { ServerResponse } from 'node:http';
import type { ResponseEncoding } from './negotiation.js';
import type { KubeObject } from './objects.js';
import { encodeObject, encodeStatus, protobufMediaType, watchFrame } from './protobuf.js';
import type { ResourceDescriptor } from './resources.js';
import { filterMatches, type ObjectFilter } from './selectors.js';
import type { KubeStatus } from './status.js';
import type { ObjectStore, StoreEvent } from './store.js';

/** The watch event types on the wire. */
export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';

/** What is known about one open watch, for tests and `/debug/requests`. */
export interface WatchInfo {
  readonly id: number;
  readonly userAgent: string;
  readonly resource: string;
  readonly namespace: string | undefined;
  readonly labelSelector: string;
  readonly fieldSelector: string;
  /** The resourceVersion the client asked to start from ('' when unset). */
  readonly resourceVersion: string;
  readonly startedAt: Date;
  /** Events written so far, bookmarks included. */
  readonly eventsSent: number;
}

/** Where a watch starts. */
export type WatchStart =
  /** Synthetic ADDED events for `objects` (already filtered), optionally closed by the initial-events-end bookmark. */
  | { readonly kind: 'snapshot'; readonly objects: readonly KubeObject[]; readonly resourceVersion: number; readonly endBookmark: boolean }
  /** Events from the history (unfiltered; the stream filters them). */
  | { readonly kind: 'history'; readonly events: readonly StoreEvent[] }
  /** One ERROR event, then the end of the stream. */
  | { readonly kind: 'error'; readonly status: KubeStatus };

/** Options of {@link WatchStream}. */
export interface WatchStreamOptions {
  readonly id: number;
  readonly res: ServerResponse;
  readonly descriptor: ResourceDescriptor;
  readonly store: ObjectStore;
  readonly filter: ObjectFilter;
  readonly userAgent: string;
  readonly labelSelector: string;
  readonly fieldSelector: string;
  readonly resourceVersion: string;
  /** The negotiated encoding of the stream. */
  readonly encoding: ResponseEncoding;
  /** Told how many events each write carried. */
  readonly onEvents: (count: number) => void;
  /** Send a BOOKMARK this often (only when the client allowed bookmarks). */
  readonly bookmarkIntervalMs: number | undefined;
  /** End the stream cleanly after this long (`timeoutSeconds`). */
  readonly timeoutMs: number | undefined;
  /** Queued events beyond which the watcher is closed as unresponsive, as the real cacher does. */
  readonly maxPendingEvents: number;
  /** Called once when the stream is over, however it ended. */
  readonly onClose: (stream: WatchStream) => void;
}

interface Outgoing {
  readonly type: WatchEventType;
  readonly object: unknown;
  /** The store event whose object this is, so its JSON or protobuf is built once for all watchers. */
  readonly event?: StoreEvent;
}

const objectJson = new WeakMap<StoreEvent, string>();

function serialize(item: Outgoing): string {
  let json: string;
  if (item.event === undefined) {
    json = JSON.stringify(item.object);
  } else {
    json = objectJson.get(item.event) ?? JSON.stringify(item.event.object);
    objectJson.set(item.event, json);
  }
  return `{"type":"${item.type}","object":${json}}\n`;
}

const objectProtobuf = new WeakMap<StoreEvent, Buffer>();

function isStatus(object: unknown): object is KubeStatus {
  const o = object as { kind?: unknown; apiVersion?: unknown };
  return o.kind === 'Status' && o.apiVersion === 'v1';
}

/** One protobuf frame; an ERROR event carries a `Status`, every other event an object of the watched kind. */
function serializeProtobuf(item: Outgoing): Buffer {
  let enveloped: Buffer;
  if (item.event !== undefined) {
    enveloped = objectProtobuf.get(item.event) ?? encodeObject(item.event.object);
    objectProtobuf.set(item.event, enveloped);
  } else {
    enveloped = isStatus(item.object) ? encodeStatus(item.object) : encodeObject(item.object as KubeObject);
  }
  return watchFrame(item.type, enveloped);
}

/**
 * What one watcher sees of a store event (`cacheWatcher.convertToWatchEvent`): an object that starts matching the
 * watcher's selectors arrives as ADDED, one that stops matching as DELETED carrying its previous state with the
 * event's resourceVersion, and a change that is invisible before and after is not sent.
 */
function visibleEvent(event: StoreEvent, filter: ObjectFilter): Outgoing | undefined {
  const currentPasses = event.type !== 'DELETED' && filterMatches(filter, event.object);
  const previousPasses = event.previous !== undefined && filterMatches(filter, event.previous);
  if (currentPasses && previousPasses) return { type: 'MODIFIED', object: event.object, event };
  if (currentPasses) return { type: 'ADDED', object: event.object, event };
  if (!previousPasses || event.previous === undefined) return undefined;
  if (event.type === 'DELETED') return { type: 'DELETED', object: event.object, event };
  const previous = event.previous;
  return {
    type: 'DELETED',
    object: { ...previous, metadata: { ...previous.metadata, resourceVersion: String(event.resourceVersion) } },
  };
}

const chunkChars = 64 * 1024;

/**
 * Streams one watch. Writes respect the socket's backpressure; while a slow client drains, live events queue up
 * to `maxPendingEvents`, after which the stream ends (the real server's "forcing watcher close due to
 * unresponsiveness"). Bookmarks are sent only when the client has every event up to the bookmark's
 * resourceVersion, which is the store's current one.
 */
export class WatchStream {
  readonly #options: WatchStreamOptions;
  readonly #startedAt = new Date();
  #snapshot: readonly KubeObject[] = [];
  #snapshotIndex = 0;
  #pendingEndBookmark: number | undefined;
  #queue: Outgoing[] = [];
  #queueIndex = 0;
  #waitingForDrain = false;
  #closed = false;
  #eventsSent = 0;
  #unsubscribe: (() => void) | undefined;
  #bookmarkTimer: NodeJS.Timeout | undefined;
  #timeoutTimer: NodeJS.Timeout | undefined;

  constructor(options: WatchStreamOptions) {
    this.#options = options;
    options.res.on('close', () => this.#cleanup());
  }

  /** What this watch is, for accounting. */
  info(): WatchInfo {
    const o = this.#options;
    return {
      id: o.id,
      userAgent: o.userAgent,
      resource: o.descriptor.name,
      namespace: o.filter.namespace,
      labelSelector: o.labelSelector,
      fieldSelector: o.fieldSelector,
      resourceVersion: o.resourceVersion,
      startedAt: this.#startedAt,
      eventsSent: this.#eventsSent,
    };
  }

  /** The resource this watch is on. */
  get resource(): string {
    return this.#options.descriptor.name;
  }

  /**
   * Sends the response headers and the first events, then follows the store. Must be called in the same
   * synchronous turn as the history or snapshot was read, so no event falls between them and the live feed.
   */
  start(start: WatchStart): void {
    const { res } = this.#options;
    const contentType = this.#options.encoding === 'protobuf' ? `${protobufMediaType};stream=watch` : 'application/json';
    res.writeHead(200, { 'Content-Type': contentType, 'Cache-Control': 'no-cache, private', 'Transfer-Encoding': 'chunked' });
    res.flushHeaders();
    if (start.kind === 'error') {
      this.#queue.push({ type: 'ERROR', object: start.status });
      this.#pump();
      this.end();
      return;
    }
    if (start.kind === 'snapshot') {
      this.#snapshot = start.objects;
      if (start.endBookmark) this.#pendingEndBookmark = start.resourceVersion;
    } else {
      for (const event of start.events) this.#enqueue(event);
    }
    this.#unsubscribe = this.#options.store.subscribe(this.#options.descriptor, (event) => this.#enqueue(event));
    if (this.#options.timeoutMs !== undefined) this.#timeoutTimer = setTimeout(() => this.end(), this.#options.timeoutMs);
    this.#scheduleBookmark();
    this.#pump();
  }

  /** Ends the stream cleanly (the terminating chunk is sent); the client sees a normal end of the watch. */
  end(): void {
    if (this.#closed) return;
    this.#cleanup();
    this.#options.res.end();
  }

  /** Drops the connection with a TCP reset, mid-stream; the client sees `ECONNRESET` or a premature close. */
  reset(): void {
    if (this.#closed) return;
    this.#cleanup();
    const socket = this.#options.res.socket;
    if (socket !== null) socket.resetAndDestroy();
    else this.#options.res.destroy();
  }

  #enqueue(event: StoreEvent): void {
    const item = visibleEvent(event, this.#options.filter);
    if (item === undefined) return;
    this.#queue.push(item);
    if (this.#queue.length - this.#queueIndex > this.#options.maxPendingEvents) {
      this.end();
      return;
    }
    this.#pump();
  }

  #serialize(item: Outgoing): string | Buffer {
    return this.#options.encoding === 'protobuf' ? serializeProtobuf(item) : serialize(item);
  }

  #nextLine(): string | Buffer | undefined {
    const snapshotItem = this.#snapshot[this.#snapshotIndex];
    if (snapshotItem !== undefined) {
      this.#snapshotIndex++;
      if (this.#snapshotIndex === this.#snapshot.length) this.#snapshot = [];
      return this.#serialize({ type: 'ADDED', object: snapshotItem });
    }
    if (this.#pendingEndBookmark !== undefined) {
      const resourceVersion = this.#pendingEndBookmark;
      this.#pendingEndBookmark = undefined;
      return this.#serialize({ type: 'BOOKMARK', object: this.#bookmarkObject(resourceVersion, true) });
    }
    const queued = this.#queue[this.#queueIndex];
    if (queued === undefined) return undefined;
    this.#queueIndex++;
    if (this.#queueIndex === this.#queue.length) {
      this.#queue = [];
      this.#queueIndex = 0;
    }
    return this.#serialize(queued);
  }

  #pump(): void {
    if (this.#closed || this.#waitingForDrain) return;
    for (;;) {
      const parts: (string | Buffer)[] = [];
      let length = 0;
      for (let line = this.#nextLine(); line !== undefined; line = length < chunkChars ? this.#nextLine() : undefined) {
        parts.push(line);
        length += line.length;
        this.#eventsSent++;
      }
      if (parts.length === 0) return;
      this.#options.onEvents(parts.length);
      const chunk = typeof parts[0] === 'string' ? parts.join('') : Buffer.concat(parts as Buffer[]);
      if (!this.#options.res.write(chunk)) {
        this.#waitingForDrain = true;
        this.#options.res.once('drain', () => {
          this.#waitingForDrain = false;
          this.#pump();
        });
        return;
      }
    }
  }

  #caughtUp(): boolean {
    return !this.#waitingForDrain && this.#snapshot.length === 0 && this.#pendingEndBookmark === undefined && this.#queue.length === 0;
  }

  /**
   * `cacheWatcher.nextBookmarkTime`: every interval, but never later than 2 s before the watch's deadline, and not
   * at all once that moment has passed.
   */
  #scheduleBookmark(): void {
    const interval = this.#options.bookmarkIntervalMs;
    if (interval === undefined || this.#closed) return;
    let delay = interval;
    const timeout = this.#options.timeoutMs;
    if (timeout !== undefined) {
      const preTimeout = this.#startedAt.getTime() + timeout - 2000 - Date.now();
      if (preTimeout < delay) delay = preTimeout;
      if (delay <= 0) return;
    }
    this.#bookmarkTimer = setTimeout(() => {
      if (this.#caughtUp()) {
        this.#queue.push({ type: 'BOOKMARK', object: this.#bookmarkObject(this.#options.store.resourceVersion, false) });
        this.#pump();
      }
      this.#scheduleBookmark();
    }, delay);
  }

  /** A bookmark carries only the kind and `metadata.resourceVersion` (plus the initial-events-end annotation). */
  #bookmarkObject(resourceVersion: number, initialEventsEnd: boolean): KubeObject {
    const d = this.#options.descriptor;
    return {
      kind: d.kind,
      apiVersion: d.apiVersion,
      metadata: {
        resourceVersion: String(resourceVersion),
        ...(initialEventsEnd ? { annotations: { 'k8s.io/initial-events-end': 'true' } } : {}),
      },
    };
  }

  #cleanup(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#unsubscribe?.();
    clearTimeout(this.#bookmarkTimer);
    clearTimeout(this.#timeoutTimer);
    this.#queue = [];
    this.#snapshot = [];
    this.#options.onClose(this);
  }
}
