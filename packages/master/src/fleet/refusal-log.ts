/**
 * Refusals logged once per peer: the first refusal of a peer host for a reason is logged at once (with what the
 * peer was told), later ones are only counted and summed up in one line per host and reason each summary interval.
 * A storm from one address, or from many, costs a bounded number of lines: at most `maxPeers` hosts are tracked,
 * and refusals of hosts beyond them are summed up under `peer=other`.
 */
import type { RefusalEvent } from './admission.js';

/** A log function with the master's shape. */
export type RefusalLogSink = (level: 'warn', message: string, fields: Readonly<Record<string, string | number>>) => void;

/** Options of {@link RefusalLog}. */
export interface RefusalLogOptions {
  readonly log: RefusalLogSink;
  /** How often {@link RefusalLog.flush} should run; the caller runs it. A key quiet for a whole interval is forgotten. */
  readonly summaryIntervalMs?: number;
  /** How many peer hosts are tracked one by one; 1,000 by default. */
  readonly maxPeers?: number;
}

interface Entry {
  /** Refusals since the last summary that were not logged one by one. */
  suppressed: number;
  /** Whether anything happened since the last flush; a key quiet for a whole interval is dropped. */
  active: boolean;
}

const OTHER = 'other';

/** Logs refusals once per peer host and reason, then in periodic summaries. */
export class RefusalLog {
  readonly #log: RefusalLogSink;
  readonly #maxPeers: number;
  readonly #entries = new Map<string, Entry>();
  readonly #hosts = new Map<string, number>();

  /** The interval {@link flush} is meant to run at. */
  readonly summaryIntervalMs: number;

  constructor(options: RefusalLogOptions) {
    this.#log = options.log;
    this.#maxPeers = options.maxPeers ?? 1_000;
    this.summaryIntervalMs = options.summaryIntervalMs ?? 60_000;
  }

  /** Records one refusal: logs it when it is the first of its host and reason, else counts it. */
  refused(event: RefusalEvent): void {
    let host = peerHost(event.peer);
    if (!this.#hosts.has(host) && this.#hosts.size >= this.#maxPeers) host = OTHER;
    const key = `${host} ${event.reason}`;
    const entry = this.#entries.get(key);
    if (entry !== undefined) {
      entry.suppressed++;
      entry.active = true;
      return;
    }
    this.#entries.set(key, { suppressed: host === OTHER ? 1 : 0, active: true });
    this.#hosts.set(host, (this.#hosts.get(host) ?? 0) + 1);
    if (host === OTHER) return;
    this.#log('warn', 'fleet connection refused', {
      peer: event.peer,
      reason: event.reason,
      ...(event.workerId === '' ? {} : { worker: event.workerId }),
      detail: event.message,
    });
  }

  /** Logs one summary line per host and reason refused again since the last flush, and forgets quiet ones. */
  flush(): void {
    for (const [key, entry] of this.#entries) {
      const [host = '', reason = ''] = key.split(' ');
      if (entry.suppressed > 0) {
        this.#log('warn', 'fleet connections refused (summary: logged once per peer and reason)', { peer: host, reason, count: entry.suppressed });
        entry.suppressed = 0;
      }
      if (entry.active) {
        entry.active = false;
        continue;
      }
      this.#entries.delete(key);
      const left = (this.#hosts.get(host) ?? 1) - 1;
      if (left > 0) this.#hosts.set(host, left);
      else this.#hosts.delete(host);
    }
  }
}

/** The host of a `host:port` or `[v6]:port` peer address; connections from one host differ only in their port. */
export function peerHost(peer: string): string {
  const match = /^\[?(.*?)\]?:\d+$/.exec(peer);
  return match?.[1] ?? peer;
}
