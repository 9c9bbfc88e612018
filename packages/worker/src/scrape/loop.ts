/**
 * One target's scrape loop, as Prometheus' `scrapeLoop` (`scrape/scrape.go`): scrape at the target's slots, parse,
 * attach target labels and run metric_relabel_configs, enforce the limits, hand the samples to every remote-write
 * queue, write staleness markers for series that disappeared, and report the synthetic series (`up`,
 * `scrape_duration_seconds`, `scrape_samples_scraped`, `scrape_samples_post_metric_relabeling`,
 * `scrape_series_added`).
 *
 * Differences from Prometheus, on purpose:
 * - Scrape instants are the target's slots `k·interval + offset(id)` with no per-process seed, so any worker that
 *   owns the target scrapes at the same instants, and samples are stamped with the slot itself (Prometheus stamps the
 *   scrape's start and aligns it to the schedule when within 2 ms). A handover then changes neither the instants
 *   nor the timestamps.
 * - With no local storage, "backpressure" means skipping a scrape while a remote-write queue is full (counted), rather
 *   than growing memory.
 */
import { LabelName, nextScrapeSlotMs, parseDuration, publicLabels, scrapeUrl, type Labels, type ScrapeConfig, type Target } from '@promfleet/model';
import { createParser, formatOf, ParseError } from './parser.js';
import { mutateSampleLabels, reportLabels, seriesProblem } from './sample-labels.js';
import type { ScrapeRequest, ScrapeResponse } from './scraper.js';

/** Where samples go: a remote-write queue, as the loop needs it. */
export interface SampleSink {
  /** The series' reference at this sink, or undefined when the sink drops it (write relabeling). Computed once per series. */
  seriesRef(labels: Labels): unknown;
  /** Queues a sample; `stale` writes Prometheus' staleness marker instead of `value`. */
  append(ref: unknown, timestampMs: number, value: number, stale?: boolean): void;
  /** Whether the sink takes more samples now; a full sink makes the loop skip its next scrape. */
  hasRoom(): boolean;
}

/** Fetches a target's exposition. */
export interface Scraper {
  scrape(request: ScrapeRequest): Promise<ScrapeResponse>;
}

/** A target's last scrape, for health reports and the status page. */
export interface ScrapeHealth {
  /** The slot of the last scrape (Unix ms); 0 before the first. */
  readonly lastScrapeUnixMs: number;
  readonly durationSeconds: number;
  readonly samplesScraped: number;
  readonly samplesPostMetricRelabeling: number;
  readonly up: boolean;
  readonly lastError: string;
}

/** What the loop reports as it runs, for metrics. */
export interface ScrapeObserver {
  scraped?(result: 'success' | 'failure' | 'skipped', durationSeconds: number): void;
  /** Samples handed to the sinks by one scrape (report series included) and staleness markers written. */
  appended?(samples: number, staleMarkers: number): void;
}

/** Options of {@link ScrapeLoop}. */
export interface ScrapeLoopOptions {
  readonly target: Target;
  /** The first slot the loop owns (Unix ms); 0 for the next slot from now. */
  readonly firstSlotUnixMs: number;
  readonly job: ScrapeConfig;
  readonly scraper: Scraper;
  readonly sinks: readonly SampleSink[];
  /** While not empty, the loop does not scrape and reports `up` 0 with this error (the job is over its target_limit). */
  readonly forcedError?: string;
  readonly observer?: ScrapeObserver;
  /** The wall clock (Unix ms); Date.now by default. */
  readonly now?: () => number;
}

/** One series as the loop knows it: its references at each sink (undefined: dropped there), or dropped entirely. */
interface SeriesEntry {
  /** One per sink, or undefined when metric relabeling dropped the series. */
  refs: unknown[] | undefined;
  /** The scrape iteration that last saw it. */
  seen: number;
}

const reportNames = ['up', 'scrape_duration_seconds', 'scrape_samples_scraped', 'scrape_samples_post_metric_relabeling', 'scrape_series_added'] as const;

/** The error of a scrape that produced no samples. */
class ScrapeFailure extends Error {
  override readonly name = 'ScrapeFailure';
  readonly code = 'PROMFLEET_SCRAPE_FAILED';
}

function labelDuration(labels: Labels, name: string, fallback: number): number {
  const text = labels.get(name);
  if (text === undefined) return fallback;
  try {
    const ms = parseDuration(text);
    return ms > 0 ? ms : fallback;
  } catch {
    return fallback;
  }
}

/** Scrapes one target at its slots until stopped. */
export class ScrapeLoop {
  readonly target: Target;
  #job: ScrapeConfig;
  #scraper: Scraper;
  #sinks: readonly SampleSink[];
  #forcedError: string;
  #targetLabels: Map<string, string>;
  #url: string;
  #intervalMs: number;
  #timeoutMs: number;
  readonly #now: () => number;
  readonly #observer: ScrapeObserver | undefined;
  /** Raw series text → entry: Prometheus' scrape cache. */
  #cache = new Map<string, SeriesEntry>();
  #report = new Map<string, unknown[]>();
  /** Series of the previous successful scrape (for staleness), and of the one being built. */
  #previous = new Set<SeriesEntry>();
  #iteration = 0;
  #earliest: number;
  #lastSlot: number | undefined;
  #timer: NodeJS.Timeout | undefined;
  #inFlight: AbortController | undefined;
  #running: Promise<void> = Promise.resolve();
  #stopped = false;
  #health: ScrapeHealth = { lastScrapeUnixMs: 0, durationSeconds: 0, samplesScraped: 0, samplesPostMetricRelabeling: 0, up: false, lastError: '' };
  /** Called once the loop ended by itself at its last slot (a MOVED target handed over). */
  onFinished: (() => void) | undefined;
  readonly #finished: Promise<void>;
  #resolveFinished: () => void = () => undefined;

  constructor(options: ScrapeLoopOptions) {
    this.target = options.target;
    this.#job = options.job;
    this.#scraper = options.scraper;
    this.#sinks = options.sinks;
    this.#forcedError = options.forcedError ?? '';
    this.#now = options.now ?? Date.now;
    this.#observer = options.observer;
    this.#earliest = options.firstSlotUnixMs;
    this.#finished = new Promise((resolve) => (this.#resolveFinished = resolve));
    this.#targetLabels = publicLabels(options.target.labels);
    this.#url = scrapeUrl(options.target.labels, options.job.params);
    this.#intervalMs = labelDuration(options.target.labels, LabelName.scrapeInterval, options.job.scrapeIntervalMs);
    this.#timeoutMs = Math.min(this.#intervalMs, labelDuration(options.target.labels, LabelName.scrapeTimeout, options.job.scrapeTimeoutMs));
  }

  /** The scrape URL (may carry credentials in its user info: never log it as is). */
  get url(): string {
    return this.#url;
  }

  get intervalMs(): number {
    return this.#intervalMs;
  }

  health(): ScrapeHealth {
    return this.#health;
  }

  /** Schedules the first scrape. */
  start(): void {
    this.#schedule();
  }

  /** Whether the target moved away and the loop is scraping it through its last slot. */
  get handingOver(): boolean {
    return this.#lastSlot !== undefined;
  }

  /**
   * Waits until a handing-over loop has scraped its last slot (the scrape included, so its samples are queued), or
   * `timeoutMs` passed. A worker that drains waits for this before it stops its loops.
   */
  async handedOver(timeoutMs: number): Promise<void> {
    if (this.#lastSlot === undefined) return;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, Math.max(0, timeoutMs))));
    await Promise.race([this.#finished, timeout]);
    clearTimeout(timer);
  }

  /** The target moved away: scrape up to and including `lastSlotUnixMs`, then end without staleness markers (0: now). */
  handOver(lastSlotUnixMs: number): void {
    this.#lastSlot = lastSlotUnixMs;
    if (lastSlotUnixMs === 0 || this.#nextSlot() > lastSlotUnixMs) this.#finish();
  }

  /** The target came back before its last slot: keep scraping. */
  keep(): void {
    if (this.#stopped) return;
    this.#lastSlot = undefined;
    if (this.#timer === undefined) this.#schedule();
  }

  /** New job settings or sinks: the series cache starts over (labels and references may differ now). */
  reconfigure(options: { job: ScrapeConfig; scraper: Scraper; sinks: readonly SampleSink[]; forcedError: string }): void {
    this.#job = options.job;
    this.#forcedError = options.forcedError;
    this.#scraper = options.scraper;
    this.#sinks = options.sinks;
    this.#url = scrapeUrl(this.target.labels, options.job.params);
    this.#cache = new Map();
    this.#report = new Map();
    this.#previous = new Set();
  }

  /**
   * Stops. `gone`: the target disappeared, so the scrape in flight is abandoned and, as Prometheus'
   * `endOfRunStaleness`, staleness markers for every series of the last scrape are written stamped with the next
   * slot, once two more intervals have passed (a target that comes back in the meantime has written newer samples by
   * then, and the receiver rejects the older markers). `shutdown`: schedule no more scrapes and write no markers (the
   * series continue when the worker or its successor resumes), but let the scrape in flight finish, within its
   * timeout: its slot is this worker's, and for a target handed over it is the last one, which nobody else scrapes.
   */
  async stop(reason: 'gone' | 'shutdown'): Promise<void> {
    if (this.#stopped) return this.#running;
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (reason === 'gone') this.#inFlight?.abort();
    await this.#running;
    if (reason === 'shutdown' || this.#health.lastScrapeUnixMs === 0) return;
    const staleAt = this.#health.lastScrapeUnixMs + this.#intervalMs;
    const writeAt = staleAt + this.#intervalMs + this.#intervalMs / 10;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, Math.max(0, writeAt - this.#now()));
      timer.unref();
    });
    this.#appendStale(this.#previous, staleAt);
    this.#appendStale(new Set([...this.#report.values()].map((refs) => ({ refs, seen: 0 }))), staleAt);
  }

  #nextSlot(): number {
    return nextScrapeSlotMs({ id: this.target.id, intervalMs: this.#intervalMs, nowMs: Math.max(this.#now(), this.#earliest) });
  }

  #finish(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    void this.#running.then(() => {
      this.#resolveFinished();
      this.onFinished?.();
    });
  }

  #schedule(): void {
    if (this.#stopped) return;
    const slot = this.#nextSlot();
    if (this.#lastSlot !== undefined && slot > this.#lastSlot) {
      this.#finish();
      return;
    }
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#running = this.#scrapeAt(slot).finally(() => {
        this.#earliest = slot + 1;
        this.#schedule();
      });
    }, Math.max(0, slot - this.#now()));
  }

  async #scrapeAt(slot: number): Promise<void> {
    if (this.#sinks.some((s) => !s.hasRoom())) {
      this.#observer?.scraped?.('skipped', 0);
      return;
    }
    const started = performance.now();
    const controller = new AbortController();
    this.#inFlight = controller;
    let response: ScrapeResponse | undefined;
    // A forced error replaces the scrape (Prometheus' scrapeAndReport returns before scraping).
    let error: string | undefined = this.#forcedError === '' ? undefined : this.#forcedError;
    try {
      if (error === undefined) response = await this.#scraper.scrape({ url: this.#url, timeoutMs: this.#timeoutMs, signal: controller.signal });
    } catch (err) {
      error = err instanceof Error ? err.message : String(err);
    } finally {
      this.#inFlight = undefined;
    }
    if (controller.signal.aborted && this.#stopped) return;
    this.#iteration++;
    let counts = { scraped: 0, kept: 0, added: 0 };
    let appended = 0;
    let stale = 0;
    if (response !== undefined) {
      const batch = this.#parse(response, slot);
      counts = batch.counts;
      if (batch.error === undefined) {
        const current = new Set<SeriesEntry>();
        for (let i = 0; i < batch.entries.length; i++) {
          const entry = batch.entries[i] as SeriesEntry;
          this.#appendEntry(entry, batch.timestamps[i] as number, batch.values[i] as number);
          if (batch.tracked[i] === true) current.add(entry);
        }
        appended = batch.entries.length;
        stale = this.#staleness(current, slot);
      } else {
        error = batch.error;
      }
    }
    if (error !== undefined) stale = this.#staleness(new Set(), slot);
    const seconds = (performance.now() - started) / 1000;
    this.#health = {
      lastScrapeUnixMs: slot,
      durationSeconds: seconds,
      samplesScraped: counts.scraped,
      samplesPostMetricRelabeling: counts.kept,
      up: error === undefined,
      lastError: error ?? '',
    };
    const values = [error === undefined ? 1 : 0, seconds, counts.scraped, counts.kept, counts.added];
    reportNames.forEach((name, i) => {
      for (const [s, ref] of this.#reportRefs(name).entries()) if (ref !== undefined) this.#sinks[s]?.append(ref, slot, values[i] as number);
    });
    this.#observer?.scraped?.(error === undefined ? 'success' : 'failure', seconds);
    this.#observer?.appended?.(appended + reportNames.length, stale);
  }

  #reportRefs(name: string): unknown[] {
    let refs = this.#report.get(name);
    if (refs === undefined) {
      const labels = reportLabels(name, this.#targetLabels);
      refs = this.#sinks.map((s) => s.seriesRef(labels));
      this.#report.set(name, refs);
    }
    return refs;
  }

  #appendEntry(entry: SeriesEntry, timestampMs: number, value: number): void {
    const refs = entry.refs;
    if (refs === undefined) return;
    for (let s = 0; s < refs.length; s++) {
      const ref = refs[s];
      if (ref !== undefined) this.#sinks[s]?.append(ref, timestampMs, value);
    }
  }

  /** Writes staleness markers for the series of the previous scrape that `current` lacks; returns how many series. */
  #staleness(current: Set<SeriesEntry>, slot: number): number {
    const gone = new Set<SeriesEntry>();
    for (const entry of this.#previous) if (!current.has(entry)) gone.add(entry);
    this.#appendStale(gone, slot);
    this.#previous = current;
    if (this.#cache.size > 2 * current.size + 64) {
      for (const [key, entry] of this.#cache) if (entry.seen < this.#iteration - 1) this.#cache.delete(key);
    }
    return gone.size;
  }

  #appendStale(entries: Set<SeriesEntry>, timestampMs: number): void {
    for (const entry of entries) {
      const refs = entry.refs;
      if (refs === undefined) continue;
      for (let s = 0; s < refs.length; s++) {
        const ref = refs[s];
        if (ref !== undefined) this.#sinks[s]?.append(ref, timestampMs, 0, true);
      }
    }
  }

  /**
   * Parses a response into a batch, nothing appended yet: a scrape that fails on a limit or a bad series appends
   * none of its samples, as Prometheus rolls back the scrape's appender.
   */
  #parse(response: ScrapeResponse, slot: number): {
    entries: SeriesEntry[];
    timestamps: number[];
    values: number[];
    tracked: boolean[];
    counts: { scraped: number; kept: number; added: number };
    error?: string;
  } {
    const job = this.#job;
    const batch = { entries: [] as SeriesEntry[], timestamps: [] as number[], values: [] as number[], tracked: [] as boolean[], counts: { scraped: 0, kept: 0, added: 0 } };
    // An empty body is an empty scrape, whatever its Content-Type: every series goes stale (scrapeLoop.append).
    if (response.body === '') return batch;
    const format = formatOf(response.contentType, job.fallbackScrapeProtocol);
    if (format instanceof Error) return { ...batch, error: format.message };
    const iteration = this.#iteration;
    try {
      const parser = createParser({ body: response.body, format });
      for (let kind = parser.next(); kind !== undefined; kind = parser.next()) {
        if (kind !== 'series') continue;
        batch.counts.scraped++;
        const key = parser.series();
        let entry = this.#cache.get(key);
        if (entry === undefined) {
          const labels = mutateSampleLabels({
            scraped: parser.labels(),
            targetLabels: this.#targetLabels,
            honorLabels: job.honorLabels,
            rules: job.metricRelabelConfigs,
            scheme: job.metricNameValidationScheme,
          });
          if (labels !== undefined) {
            const problem = seriesProblem(labels, { limits: job, scheme: job.metricNameValidationScheme });
            if (problem !== undefined) throw new ScrapeFailure(problem);
          }
          entry = { refs: labels === undefined ? undefined : this.#sinks.map((s) => s.seriesRef(labels)), seen: 0 };
          this.#cache.set(parser.detachedSeries(), entry);
          if (labels !== undefined) batch.counts.added++;
        }
        if (entry.refs === undefined) continue;
        // The same series twice in one scrape: Prometheus rejects the second as a duplicate sample.
        if (entry.seen === iteration) continue;
        entry.seen = iteration;
        batch.counts.kept++;
        if (job.sampleLimit > 0 && batch.counts.kept > job.sampleLimit) throw new ScrapeFailure('sample limit exceeded');
        const explicit = job.honorTimestamps ? parser.timestampMs() : undefined;
        batch.entries.push(entry);
        batch.timestamps.push(explicit ?? slot);
        batch.values.push(parser.value());
        batch.tracked.push(explicit === undefined || job.trackTimestampsStaleness);
      }
    } catch (err) {
      if (err instanceof ScrapeFailure || err instanceof ParseError) return { ...batch, error: err.message };
      throw err;
    }
    return batch;
  }
}
