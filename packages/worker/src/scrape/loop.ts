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
 * - No scrape is skipped for remote write: each endpoint's queue bounds itself (memory, then its disk queue) and
 *   drops what does not fit, counted by reason, so a dead receiver never costs a healthy one its samples.
 * - A target's metadata given to the sinks is that of its last successful scrape (Prometheus keeps a family's for
 *   10 scrapes after it disappeared, for its metadata API).
 *
 * Beyond samples, as Prometheus' scrape loop does for its appender: each series goes to the sinks with its family's
 * metadata (HELP, TYPE, UNIT), exemplars go to the sinks that send them (an exemplar equal to the series' last one
 * is not sent again), and OpenMetrics `_created` samples give their metric points' series a created timestamp.
 */
import { LabelName, errorMessage, labelsFingerprint, nextScrapeSlotMs, redactedUrl, sortedLabelNames, publicLabels, scrapeUrl, type Labels, type ScrapeConfig, type Target } from '@promfleet/model';
import { createParser, formatOf, ParseError, type Entry, type ExpositionParser, type MetricType, type ScrapedExemplar } from './parser.js';
import { acceptedExemplarLabels, canonicalSeriesText, isSeriesPartOfFamily, mutateSampleLabels, reportLabels, seriesProblem } from './sample-labels.js';
import { ScrapeError, type ScrapeRequest, type ScrapeResponse } from './scraper.js';
import type { Exemplar, FamilyMetadata, SampleSink } from './sink.js';

/** What parsing one scrape left besides `pending`. */
interface ParsedScrape {
  readonly counts: { scraped: number; kept: number; added: number };
  /** HELP, TYPE and UNIT lines read: the positions of the scrape's families in `#familyOrder`. */
  metadataLines: number;
  /** Whether `pending.exemplars` was written: the exposition is OpenMetrics and some sink sends exemplars. */
  exemplars: boolean;
  error?: string;
}

/** The family's metadata when the series of final `labels` belongs to it, by Prometheus' rule. */
function familyMetadataOf(labels: Labels, family: FamilyState | undefined): FamilyMetadata | undefined {
  if (family === undefined || family.metadata === undefined) return undefined;
  return isSeriesPartOfFamily(labels.get(LabelName.metricName) ?? '', family.name, family.metadata.type) ? family.metadata : undefined;
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
  /** Redacted ({@link redactedUrl}): it reaches the master, its API and both status pages. */
  readonly lastError: string;
}

/** What the loop reports as it runs, for metrics. */
export interface ScrapeObserver {
  scraped?(result: 'success' | 'failure', durationSeconds: number): void;
  /** Samples handed to the sinks by one scrape (report series included) and staleness markers written. */
  appended?(samples: number, staleMarkers: number): void;
  /** A scrape failed on the body size limit (Prometheus counts these apart too). */
  bodySizeLimitExceeded?(): void;
  /**
   * Slots the loop owned and will not scrape: its assignment came after its first slot, or the previous scrape (or
   * a stalled process) ran past them. Such slots are gaps in every series of the target.
   */
  slotsSkipped?(slots: number, reason: SkippedSlotsReason): void;
}

/** Why a loop did not scrape a slot it owned. */
export type SkippedSlotsReason = 'assignment_late' | 'overrun';

/** Slots after `after` and before `resume`, which belong to another worker (a target handed away and back). */
interface SlotGap {
  readonly after: number;
  readonly resume: number;
}

function inGap(gap: SlotGap | undefined, slot: number): boolean {
  return gap !== undefined && slot > gap.after && slot < gap.resume;
}

/** Options of {@link ScrapeLoop}. */
export interface ScrapeLoopOptions {
  /** The target, scraped every `intervalMs` with `timeoutMs` (the master's numbers: its labels are not parsed again). */
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

/** The {@link SeriesEntry.ref} of a series metric relabeling dropped. */
const DROPPED: unique symbol = Symbol('dropped by metric relabeling');

/**
 * A metric family of the target, by the name its HELP/TYPE/UNIT lines give, as the loop tracks it across scrapes.
 * Its lines of the current scrape are collected in `type`, `help` and `unit` (texts decoded only when their raw text
 * differs from the last one read), and `metadata` is replaced only when they differ from it, so an unchanged family
 * costs string comparisons and no allocation.
 */
interface FamilyState {
  /** The shared metadata's `family` when another loop has the family ({@link sharedFamily}). */
  readonly name: string;
  /** Undefined until its first lines were read through. */
  metadata: FamilyMetadata | undefined;
  /** The iteration whose lines `type`, `helpSeen` and `unitSeen` are of. */
  seenAt: number;
  type: MetricType;
  helpSeen: boolean;
  unitSeen: boolean;
  /** The texts of the last HELP and UNIT lines read, decoded and as written (to compare the next ones with in place). */
  help: string;
  rawHelp: string;
  unit: string;
  rawUnit: string;
  /** Whether a line was read since `metadata` was last compared with `type`, `help` and `unit`. */
  dirty: boolean;
  /** The metadata last given to the sinks (undefined: not in the set they have). */
  published: FamilyMetadata | undefined;
  /** The iteration of the last successful scrape that counted it for the set. */
  countedAt: number;
}

/** Brings a family's metadata up to date with the lines read: a new object only when something changed. */
function settle(family: FamilyState): FamilyMetadata {
  family.dirty = false;
  const old = family.metadata;
  const help = family.helpSeen ? family.help : '';
  const unit = family.unitSeen ? family.unit : '';
  if (old !== undefined && old.type === family.type && old.help === help && old.unit === unit) return old;
  family.metadata = sharedMetadata({ family: family.name, type: family.type, help, unit });
  return family.metadata;
}

/**
 * Family metadata by family name, shared by every loop while some loop uses it: the targets of a job expose the
 * same families, and each loop holding its own copy of every name and HELP text cost node-exporter targets ~120
 * bytes per series. A name holds every variant some loop uses (two versions of an exporter may word a HELP
 * differently), so that which variant was read first does not decide what is shared. Weak, so a variant no loop
 * uses any more is forgotten.
 */
const sharedFamilies = new Map<string, WeakRef<FamilyMetadata>[]>();
const MAX_SHARED_VARIANTS = 16;
const forgetFamily = new FinalizationRegistry<string>((name) => {
  const live = sharedFamilies.get(name)?.filter((ref) => ref.deref() !== undefined) ?? [];
  if (live.length === 0) sharedFamilies.delete(name);
  else sharedFamilies.set(name, live);
});

/** A variant another loop has of the family `name` for which `matches` holds, whose strings a loop takes instead of its own copies. */
function sharedFamily(name: string, matches: (known: FamilyMetadata) => boolean = () => true): FamilyMetadata | undefined {
  for (const ref of sharedFamilies.get(name) ?? []) {
    const known = ref.deref();
    if (known !== undefined && matches(known)) return known;
  }
  return undefined;
}

/** The shared metadata equal to `metadata`, made (and shared from then on) when there is none. */
function sharedMetadata(metadata: FamilyMetadata): FamilyMetadata {
  const known = sharedFamily(metadata.family, (k) => k.type === metadata.type && k.help === metadata.help && k.unit === metadata.unit);
  if (known !== undefined) return known;
  const made = Object.freeze({ ...metadata });
  const variants = sharedFamilies.get(made.family) ?? [];
  if (variants.length >= MAX_SHARED_VARIANTS) {
    const live = variants.filter((ref) => ref.deref() !== undefined);
    // A family whose HELP differs in every target (a HELP naming its host) is not worth sharing, nor scanning.
    if (live.length >= MAX_SHARED_VARIANTS) return made;
    variants.splice(0, variants.length, ...live);
  }
  variants.push(new WeakRef(made));
  sharedFamilies.set(made.family, variants);
  forgetFamily.register(made, made.family);
  return made;
}

/** Whether the raw metric name `name` is the family's OpenMetrics `_created` series (no string made per check). */
function isCreatedOf(name: string, family: FamilyState): boolean {
  return name.length === family.name.length + 8 && name.endsWith('_created') && name.startsWith(family.name);
}

/** The raw text of the parser's HELP or UNIT line: `decoded` itself when the line holds no escapes. */
function rawText(parser: ExpositionParser, decoded: string): string {
  return parser.metadataRawTextIs(decoded) ? decoded : parser.metadataRawText();
}

/** Extras with nothing in them yet (`pointType` unknown: the name and point key are read when first needed). */
function newExtras(): SeriesExtras {
  return { more: undefined, name: '', pointKey: '', pointType: 'unknown', createdMs: undefined, exemplar: undefined };
}

/** The types whose series OpenMetrics gives a `_created` sample (Prometheus' `typeRequiresST`). */
function hasCreated(type: MetricType): boolean {
  return type === 'counter' || type === 'histogram' || type === 'summary';
}

/** The last exemplar given for a series, to leave an identical one out (Prometheus' `ErrDuplicateExemplar`). */
interface LastExemplar {
  readonly labels: Map<string, string>;
  readonly value: number;
  /** The exemplar's own timestamp, or undefined when it took the sample's. */
  readonly timestampMs: number | undefined;
}

/**
 * Whether an exemplar equals the last one, as Prometheus' `Exemplar.Equals`: same labels and value, and the same
 * timestamp unless neither had one of its own (an exemplar exposed without a timestamp is the same one every scrape).
 */
function sameExemplar(last: LastExemplar, labels: Map<string, string>, scraped: ScrapedExemplar): boolean {
  if (last.value !== scraped.value || last.labels.size !== labels.size) return false;
  if ((last.timestampMs !== undefined || scraped.timestampMs !== undefined) && last.timestampMs !== scraped.timestampMs) return false;
  for (const [name, value] of labels) if (last.labels.get(name) !== value) return false;
  return true;
}

/**
 * What only some series need: the references at further sinks, and for OpenMetrics series their created timestamp
 * and last exemplar. Made the first time one is needed, so that most entries have none.
 */
interface SeriesExtras {
  /** The references at the second and further sinks; undefined with one sink. */
  more: readonly unknown[] | undefined;
  /** The raw metric name and {@link ExpositionParser.metricPointKey} under the type `pointType`. */
  name: string;
  pointKey: string;
  pointType: MetricType;
  /** The created timestamp last given to the sinks. */
  createdMs: number | undefined;
  exemplar: LastExemplar | undefined;
}

/**
 * One series as the loop knows it: its references at each sink (undefined: dropped there), or dropped entirely. The
 * first sink's reference is held directly and only further sinks' in its extras: one remote_write endpoint is the
 * common case, and a one-element array would cost more than the rest of the entry (kept per cached series).
 */
interface SeriesEntry {
  /** The raw series text the entry was made for (its key in the cache). */
  readonly key: string;
  /** The reference at the first sink, or {@link DROPPED} when metric relabeling dropped the series. */
  ref: unknown;
  /** The scrape iteration that last saw it. */
  seen: number;
  /** The iteration of the last successful scrape that tracked it for staleness; 0 when none or after its marker. */
  tracked: number;
  /** The family whose metadata lines last preceded it when its references were checked (Prometheus' `lastMeta`). */
  under: FamilyState | undefined;
  /** The metadata its references were made with: `under`'s when the series belongs to that family. */
  metadata: FamilyMetadata | undefined;
  extras: SeriesExtras | undefined;
}

/**
 * One scrape's samples between parsing and appending, in columns: a scrape's samples are appended only once all of
 * it passed (limits, bad series), as Prometheus commits a scrape's appender. One set for every loop, since a loop
 * parses and appends in one synchronous stretch, so no two loops use it at once and no scrape allocates its own.
 */
const pending = {
  size: 0,
  entries: [] as (SeriesEntry | undefined)[],
  timestamps: [] as number[],
  values: [] as number[],
  tracked: [] as boolean[],
  /** Each sample's exemplar; written only while some sink sends exemplars. */
  exemplars: [] as (ScrapedExemplar | undefined)[],
  /** Created timestamps found for samples: `createdMs[i]` for the sample at `createdAt[i]`, in sample order. */
  createdCount: 0,
  createdAt: [] as number[],
  createdMs: [] as number[],
  /** The samples of the current OpenMetrics family since its last `_created` sample, which the next one may be for. */
  waitingCount: 0,
  waiting: [] as number[],
};

const reportNames = ['up', 'scrape_duration_seconds', 'scrape_samples_scraped', 'scrape_samples_post_metric_relabeling', 'scrape_series_added'] as const;

/** The error of a scrape that produced no samples. */
class ScrapeFailure extends Error {
  override readonly name = 'ScrapeFailure';
  readonly code = 'PROMFLEET_SCRAPE_FAILED';
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
  /**
   * The entry of each position of the last scrapes' series. Exporters write their series in the same order every
   * time, so the entry at a series' position is checked first, by comparing its text, before the cache is: a hit
   * costs a string comparison rather than hashing the series text.
   */
  #order: SeriesEntry[] = [];
  /**
   * Final-label fingerprint → entry, for the raw series that give one final label set (relabeling, honor_labels,
   * empty values, label order): the entries of series not written in their canonical text
   * ({@link canonicalSeriesText}). The others are found by that text in the cache, so most loops keep this empty.
   */
  #byLabels = new Map<number, SeriesEntry>();
  #report = new Map<string, unknown[]>();
  /** Metric family name → what the loop knows of its metadata. */
  #families = new Map<string, FamilyState>();
  /** The family of each position of the last scrapes' metadata lines, checked first as {@link #order} is. */
  #familyOrder: FamilyState[] = [];
  /** How many families the sinks were last given; undefined while they were given none. */
  #publishedCount: number | undefined;
  /**
   * The iteration of the last successful scrape, whose tracked series (`tracked` equal to it) are the ones staleness
   * compares the next scrape with; 0 after a failed scrape or before the first.
   */
  #lastTracked = 0;
  #iteration = 0;
  #earliest: number;
  /**
   * The next slot the loop owes (undefined: none yet, for a target added to start whenever it is applied), to tell
   * a slot it skipped from one it never owned.
   */
  #due: number | undefined;
  #scheduledOnce = false;
  #lastSlot: number | undefined;
  #gap: SlotGap | undefined;
  #scraping = false;
  /** The decompressed size of the last body scraped, the scraper's size hint for the next one (0 before any). */
  #lastBodyBytes = 0;
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
    this.#due = options.firstSlotUnixMs > 0 ? nextScrapeSlotMs({ id: options.target.id, intervalMs: options.target.intervalMs, nowMs: options.firstSlotUnixMs }) : undefined;
    this.#finished = new Promise((resolve) => (this.#resolveFinished = resolve));
    this.#targetLabels = publicLabels(options.target.labels);
    this.#url = scrapeUrl(options.target.labels, options.job.params);
    this.#intervalMs = options.target.intervalMs;
    this.#timeoutMs = options.target.timeoutMs;
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
    if (lastSlotUnixMs === 0) {
      this.#finish();
      return;
    }
    const gap = this.#gap;
    if (this.#nextSlot() <= lastSlotUnixMs) return;
    // Its owned slots through the last one that it did not reach (a stall ran past them) are skipped.
    this.#countSkipped(lastSlotUnixMs + this.#intervalMs, gap);
    this.#finish();
  }

  /**
   * The target came back while handing over. With `firstSlotUnixMs` 0 the loop simply keeps scraping. Otherwise
   * the slots between the last one it owned and `firstSlotUnixMs` belong to another worker, so the loop skips them.
   * Returns false when the loop has already ended (its last slot passed): the caller starts a new loop.
   */
  keep(firstSlotUnixMs: number): boolean {
    if (this.#stopped) return false;
    if (firstSlotUnixMs > 0 && this.#lastSlot !== undefined) this.#gap = { after: this.#lastSlot, resume: firstSlotUnixMs };
    this.#lastSlot = undefined;
    // A scrape in flight schedules the next one when it ends; arming a timer now would scrape every slot twice.
    if (this.#timer === undefined && !this.#scraping) this.#schedule();
    return true;
  }

  /** The job went over (or back under) its target_limit: only the forced error changes, the series cache stays. */
  setForcedError(forcedError: string): void {
    this.#forcedError = forcedError;
  }

  /**
   * New job settings or sinks: the series cache starts over (labels and references may differ now), and the sinks
   * get the target's metadata again after the next successful scrape; a sink no longer used is told it is gone.
   */
  reconfigure(options: { job: ScrapeConfig; scraper: Scraper; sinks: readonly SampleSink[]; forcedError: string }): void {
    this.#withdrawMetadata(this.#sinks.filter((sink) => !options.sinks.includes(sink)));
    for (const family of this.#families.values()) family.published = undefined;
    this.#job = options.job;
    this.#forcedError = options.forcedError;
    this.#scraper = options.scraper;
    this.#sinks = options.sinks;
    this.#url = scrapeUrl(this.target.labels, options.job.params);
    this.#cache = new Map();
    this.#order = [];
    this.#byLabels = new Map();
    this.#report = new Map();
    this.#lastTracked = 0;
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
    if (reason === 'shutdown' || this.#health.lastScrapeUnixMs === 0) {
      this.#withdrawMetadata(this.#sinks);
      return;
    }
    const staleAt = this.#health.lastScrapeUnixMs + this.#intervalMs;
    const writeAt = staleAt + this.#intervalMs + this.#intervalMs / 10;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, Math.max(0, writeAt - this.#now()));
      timer.unref();
    });
    this.#appendStale(this.#lastTracked, staleAt);
    for (const refs of this.#report.values()) {
      for (let s = 0; s < refs.length; s++) if (refs[s] !== undefined) this.#sinks[s]?.append(refs[s], staleAt, 0, true);
    }
    this.#withdrawMetadata(this.#sinks);
  }

  /**
   * The next slot to scrape: the first the loop owns at or after now, or the one before it when that one is owed
   * and passed less than an interval ago (the previous scrape, a stalled process or a late assignment ran past it).
   * Prometheus' ticker likewise keeps the one tick that fell during a scrape and fires it at once, and drops the
   * ticks before it. The sample is stamped with its slot, so the series stay on the target's grid. A loop started
   * without a first slot catches up nothing: the slot before may be one an earlier process of this worker scraped.
   */
  #nextSlot(): number {
    const gap = this.#gap;
    let slot = nextScrapeSlotMs({ id: this.target.id, intervalMs: this.#intervalMs, nowMs: Math.max(this.#now(), this.#earliest) });
    const previous = slot - this.#intervalMs;
    if (this.#earliest > 0 && previous >= this.#earliest && !inGap(gap, previous)) slot = previous;
    if (gap === undefined) return slot;
    if (inGap(gap, slot)) return gap.resume;
    if (slot >= gap.resume) this.#gap = undefined;
    return slot;
  }

  /** Reports the owned slots before `slot` that were not scraped; the slots of `gap` were another worker's. */
  #countSkipped(slot: number, gap: SlotGap | undefined): void {
    let due = this.#due;
    if (due === undefined || slot <= due) return;
    if (gap !== undefined && inGap(gap, due)) due = gap.resume;
    const skipped = Math.round((slot - due) / this.#intervalMs);
    if (skipped > 0) this.#observer?.slotsSkipped?.(skipped, this.#scheduledOnce ? 'overrun' : 'assignment_late');
  }

  #finish(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    void this.#running.then(() => {
      this.#withdrawMetadata(this.#sinks);
      this.#resolveFinished();
      this.onFinished?.();
    });
  }

  #schedule(): void {
    if (this.#stopped) return;
    const gap = this.#gap;
    const slot = this.#nextSlot();
    if (this.#lastSlot !== undefined && slot > this.#lastSlot) {
      this.#countSkipped(this.#lastSlot + this.#intervalMs, gap);
      this.#finish();
      return;
    }
    this.#countSkipped(slot, gap);
    this.#due = slot + this.#intervalMs;
    this.#scheduledOnce = true;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#scraping = true;
      this.#running = this.#scrapeAt(slot)
        .catch((err: unknown) => {
          // A bug, not bad input (that is a failed scrape): keep the loop and the process alive, and say so.
          this.#health = { ...this.#health, lastScrapeUnixMs: slot, up: false, lastError: redactedUrl(`internal error, please report: ${errorMessage(err)}`) };
          this.#observer?.scraped?.('failure', 0);
        })
        .finally(() => {
          this.#scraping = false;
          this.#earliest = slot + 1;
          this.#schedule();
        });
    }, Math.max(0, slot - this.#now()));
  }

  async #scrapeAt(slot: number): Promise<void> {
    const started = performance.now();
    const controller = new AbortController();
    this.#inFlight = controller;
    let response: ScrapeResponse | undefined;
    // A forced error replaces the scrape (Prometheus' scrapeAndReport returns before scraping).
    let error: string | undefined = this.#forcedError === '' ? undefined : this.#forcedError;
    try {
      if (error === undefined) {
        response = await this.#scraper.scrape({ url: this.#url, timeoutMs: this.#timeoutMs, signal: controller.signal, sizeHintBytes: this.#lastBodyBytes });
        this.#lastBodyBytes = response.bytes;
      }
    } catch (err) {
      error = errorMessage(err);
      if (err instanceof ScrapeError && err.reason === 'body_size_limit') this.#observer?.bodySizeLimitExceeded?.();
    } finally {
      this.#inFlight = undefined;
    }
    if (controller.signal.aborted && this.#stopped) return;
    this.#iteration++;
    let counts = { scraped: 0, kept: 0, added: 0 };
    let appended = 0;
    let stale = 0;
    if (response !== undefined) {
      const parsed = this.#parse(response, slot);
      counts = parsed.counts;
      if (parsed.error === undefined) {
        let tracked = 0;
        let created = 0;
        for (let i = 0; i < pending.size; i++) {
          const entry = pending.entries[i] as SeriesEntry;
          const timestampMs = pending.timestamps[i] as number;
          // The created timestamp goes with the series before its sample does.
          if (created < pending.createdCount && pending.createdAt[created] === i) this.#setCreated(entry, pending.createdMs[created++] as number);
          this.#append(entry, timestampMs, pending.values[i] as number);
          if (parsed.exemplars) {
            const exemplar = pending.exemplars[i];
            if (exemplar !== undefined) this.#appendExemplar(entry, exemplar, timestampMs);
          }
          if (pending.tracked[i] === true) {
            entry.tracked = this.#iteration;
            tracked++;
          }
        }
        appended = pending.size;
        stale = this.#staleness(tracked, slot);
        this.#publishMetadata(parsed.metadataLines);
      } else {
        error = parsed.error;
      }
      pending.entries.fill(undefined, 0, pending.size);
      if (parsed.exemplars) pending.exemplars.fill(undefined, 0, pending.size);
      pending.size = 0;
    }
    if (error !== undefined) stale = this.#staleness(-1, slot);
    const seconds = (performance.now() - started) / 1000;
    this.#health = {
      lastScrapeUnixMs: slot,
      durationSeconds: seconds,
      samplesScraped: counts.scraped,
      samplesPostMetricRelabeling: counts.kept,
      up: error === undefined,
      // A network error quotes the scrape URL, and a label error the label set with its `__address__`.
      lastError: error === undefined ? '' : redactedUrl(error),
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
      refs = this.#sinks.map((s) => s.seriesRef(labels, undefined));
      this.#report.set(name, refs);
    }
    return refs;
  }

  /** Hands one sample of `entry` to every sink that keeps the series (per sample: no options object). */
  #append(entry: SeriesEntry, timestampMs: number, value: number): void {
    const ref = entry.ref;
    if (ref === DROPPED) return;
    if (ref !== undefined) this.#sinks[0]?.append(ref, timestampMs, value);
    const more = entry.extras?.more;
    if (more === undefined) return;
    for (let s = 0; s < more.length; s++) {
      const other = more[s];
      if (other !== undefined) this.#sinks[s + 1]?.append(other, timestampMs, value);
    }
  }

  /** Hands a staleness marker of `entry` to every sink that keeps the series. */
  #appendMarker(entry: SeriesEntry, timestampMs: number): void {
    const ref = entry.ref;
    if (ref === DROPPED) return;
    if (ref !== undefined) this.#sinks[0]?.append(ref, timestampMs, 0, true);
    const more = entry.extras?.more;
    if (more === undefined) return;
    for (let s = 0; s < more.length; s++) {
      const other = more[s];
      if (other !== undefined) this.#sinks[s + 1]?.append(other, timestampMs, 0, true);
    }
  }

  /**
   * After a scrape that tracked `current` series (-1: it failed), writes staleness markers for the series the
   * previous successful scrape tracked and this one did not; returns how many series.
   */
  #staleness(current: number, slot: number): number {
    const gone = this.#appendStale(this.#lastTracked, slot);
    this.#lastTracked = current < 0 ? 0 : this.#iteration;
    if (this.#cache.size > 2 * Math.max(0, current) + 64) {
      for (const [key, entry] of this.#cache) if (entry.seen < this.#iteration - 1) this.#cache.delete(key);
      this.#order = [];
      for (const [fingerprint, entry] of this.#byLabels) if (entry.seen < this.#iteration - 1) this.#byLabels.delete(fingerprint);
    }
    return gone;
  }

  /**
   * Writes staleness markers at `timestampMs` for the series the scrape of iteration `of` tracked and no later one
   * did (`tracked` still `of`); returns how many. Each is marked once, though two raw series may share its entry.
   */
  #appendStale(of: number, timestampMs: number): number {
    if (of === 0) return 0;
    let count = 0;
    for (const entry of this.#cache.values()) {
      if (entry.tracked !== of) continue;
      entry.tracked = 0;
      this.#appendMarker(entry, timestampMs);
      count++;
    }
    return count;
  }

  /**
   * A cache entry for a series not seen before: its final labels (target labels, metric relabeling), checked, and
   * its references at every sink, made with the metadata of `family` when the series belongs to it; the entry of an
   * equal final label set when there is one.
   *
   * @throws ScrapeFailure for an invalid name or a label limit, which fails the scrape.
   */
  #newEntry(scraped: Map<string, string>, key: string, family: FamilyState | undefined): SeriesEntry {
    const job = this.#job;
    const labels = mutateSampleLabels({ scraped, targetLabels: this.#targetLabels, honorLabels: job.honorLabels, rules: job.metricRelabelConfigs, scheme: job.metricNameValidationScheme });
    if (labels === undefined) return { key, ref: DROPPED, seen: 0, tracked: 0, under: undefined, metadata: undefined, extras: undefined };
    const problem = seriesProblem(labels, { limits: job, scheme: job.metricNameValidationScheme });
    if (problem !== undefined) throw new ScrapeFailure(problem);
    const canonical = job.metricRelabelConfigs.length === 0 ? canonicalSeriesText(labels, this.#targetLabels) : undefined;
    // A series whose text is another's canonical text: the cache holds that one's entry under it, if it was seen.
    const same = canonical === undefined || canonical === key ? undefined : this.#cache.get(canonical);
    if (same !== undefined) return same;
    // A series written canonically is indexed by its cache key; only others by fingerprint, looked up while any is.
    const indexed = canonical !== key;
    let fingerprint = 0;
    if (indexed || this.#byLabels.size > 0) {
      // In name order: relabeling may leave one label set in different orders for different raw series.
      fingerprint = labelsFingerprint(new Map(sortedLabelNames(labels).map((name) => [name, labels.get(name) ?? ''])));
      const existing = this.#byLabels.get(fingerprint);
      if (existing !== undefined) return existing;
    }
    const entry: SeriesEntry = { key, ref: undefined, seen: 0, tracked: 0, under: family, metadata: familyMetadataOf(labels, family), extras: undefined };
    this.#bindRefs(entry, labels);
    if (indexed) this.#byLabels.set(fingerprint, entry);
    return entry;
  }

  /** Makes `entry`'s references at every sink for its final `labels` and its metadata. */
  #bindRefs(entry: SeriesEntry, labels: Labels): void {
    const sinks = this.#sinks;
    const metadata = entry.metadata;
    entry.ref = sinks[0]?.seriesRef(labels, metadata);
    if (sinks.length > 1) (entry.extras ??= newExtras()).more = sinks.slice(1).map((s) => s.seriesRef(labels, metadata));
    else if (entry.extras !== undefined) entry.extras.more = undefined;
  }

  /**
   * The series at the parser follows other metadata lines than when its references were made, or its family's
   * metadata changed: finds its family again and, when its metadata differs, makes its references again (the sinks
   * then get its created timestamp again too). Costs its labels and relabeling, once per change.
   */
  #refreshRefs(entry: SeriesEntry, parser: ExpositionParser, family: FamilyState | undefined): void {
    const job = this.#job;
    const labels = mutateSampleLabels({ scraped: parser.labels(), targetLabels: this.#targetLabels, honorLabels: job.honorLabels, rules: job.metricRelabelConfigs, scheme: job.metricNameValidationScheme });
    entry.under = family;
    if (labels === undefined) return;
    const metadata = familyMetadataOf(labels, family);
    if (metadata === entry.metadata) return;
    entry.metadata = metadata;
    this.#bindRefs(entry, labels);
    if (entry.extras !== undefined) entry.extras.createdMs = undefined;
  }

  /**
   * A HELP, TYPE or UNIT line at position `position` among the scrape's metadata lines: finds its family (the one at
   * that position last time when the name matches, compared in place), and records what the line says. Returns the
   * family, which the series after it belong to when their names say so.
   */
  #metadataLine(parser: ExpositionParser, kind: Exclude<Entry, 'series' | 'comment'>, position: number): FamilyState {
    let family = this.#familyOrder[position];
    if (family === undefined || !parser.metadataNameIs(family.name)) {
      const [read] = kind === 'help' ? parser.help() : kind === 'type' ? parser.type() : parser.unit();
      family = this.#families.get(read);
      if (family === undefined) {
        const name = sharedFamily(read)?.family ?? read;
        family = { name, metadata: undefined, seenAt: 0, type: 'unknown', helpSeen: false, unitSeen: false, help: '', rawHelp: '', unit: '', rawUnit: '', dirty: true, published: undefined, countedAt: 0 };
        this.#families.set(name, family);
      }
      this.#familyOrder[position] = family;
    }
    if (family.seenAt !== this.#iteration) {
      // The first of its lines in this scrape: a line it lacks now is gone, not kept from an earlier scrape.
      family.seenAt = this.#iteration;
      family.type = 'unknown';
      family.helpSeen = false;
      family.unitSeen = false;
    }
    family.dirty = true;
    switch (kind) {
      case 'type':
        family.type = parser.metadataType();
        break;
      case 'help':
        family.helpSeen = true;
        if (!parser.metadataRawTextIs(family.rawHelp)) {
          const help = parser.help()[1];
          family.help = sharedFamily(family.name, (k) => k.help === help)?.help ?? help;
          family.rawHelp = rawText(parser, family.help);
        }
        break;
      case 'unit':
        family.unitSeen = true;
        if (!parser.metadataRawTextIs(family.rawUnit)) {
          const unit = parser.unit()[1];
          family.unit = sharedFamily(family.name, (k) => k.unit === unit)?.unit ?? unit;
          family.rawUnit = rawText(parser, family.unit);
        }
        break;
    }
    return family;
  }

  /** The entry's extras, with the raw series' name and metric point key under `type` (made once per series and type). */
  #extrasOf(entry: SeriesEntry, parser: ExpositionParser, type: MetricType): SeriesExtras {
    let extras = entry.extras;
    if (extras === undefined) {
      extras = { more: undefined, name: parser.metricName(), pointKey: parser.metricPointKey(), pointType: type, createdMs: undefined, exemplar: undefined };
      entry.extras = extras;
    } else if (extras.pointType !== type) {
      extras.name = parser.metricName();
      extras.pointKey = parser.metricPointKey();
      extras.pointType = type;
    }
    return extras;
  }

  /**
   * A `_created` sample of metric point `pointKey`, `seconds` its value: the samples waiting since the family's last
   * `_created` sample get it when they are of that point, as Prometheus' `StartTimestamp` looks ahead to the next
   * `_created` line and takes it only when it is the series' own. Others get none.
   */
  #createdSample(pointKey: string, seconds: number): void {
    const ms = Math.trunc(seconds * 1000);
    // Prometheus takes 0 for no created timestamp; a value beyond int64 has none either.
    if (ms !== 0 && Math.abs(ms) < 2 ** 63) {
      for (let w = 0; w < pending.waitingCount; w++) {
        const at = pending.waiting[w] as number;
        if ((pending.entries[at] as SeriesEntry).extras?.pointKey !== pointKey) continue;
        pending.createdAt[pending.createdCount] = at;
        pending.createdMs[pending.createdCount] = ms;
        pending.createdCount++;
      }
    }
    pending.waitingCount = 0;
  }

  /** Parses a response into `pending`, nothing appended yet; see {@link #parseBody}. */
  #parse(response: ScrapeResponse, slot: number): ParsedScrape {
    const job = this.#job;
    const batch: ParsedScrape = { counts: { scraped: 0, kept: 0, added: 0 }, metadataLines: 0, exemplars: false };
    pending.size = 0;
    pending.createdCount = 0;
    pending.waitingCount = 0;
    // An empty body is an empty scrape, whatever its Content-Type: every series goes stale (scrapeLoop.append).
    if (response.body === '') return batch;
    const format = formatOf(response.contentType, job.fallbackScrapeProtocol);
    if (format instanceof Error) return { ...batch, error: format.message };
    batch.exemplars = format === 'openmetrics' && this.#sinks.some((s) => s.sendsExemplars);
    try {
      this.#parseBody(createParser({ body: response.body, format }), slot, batch);
    } catch (err) {
      if (err instanceof ScrapeFailure || err instanceof ParseError) return { ...batch, error: err.message };
      throw err;
    }
    return batch;
  }

  /**
   * Parses into `pending`, counting in `batch`: a scrape that fails on a limit or a bad series appends none of its
   * samples, as Prometheus rolls back the scrape's appender. Metadata lines update the families (and the references
   * of the series whose family's metadata changed) as they come.
   *
   * @throws ScrapeFailure or ParseError, which fail the scrape.
   */
  #parseBody(parser: ExpositionParser, slot: number, batch: ParsedScrape): void {
    const job = this.#job;
    const iteration = this.#iteration;
    const openMetrics = parser.format === 'openmetrics';
    // Past sample_limit the scrape has failed, but parsing goes on so the counts are right (scrapeLoop.append).
    let limitExceeded = false;
    const order = this.#order;
    let positions = 0;
    /** The family of the last metadata line (Prometheus' `lastMeta`), settled before a series uses it. */
    let family: FamilyState | undefined;
    for (let kind = parser.next(); kind !== undefined; kind = parser.next()) {
      if (kind !== 'series') {
        if (kind === 'comment') continue;
        family = this.#metadataLine(parser, kind, batch.metadataLines++);
        pending.waitingCount = 0;
        continue;
      }
      batch.counts.scraped++;
      if (family?.dirty === true) settle(family);
      const key = parser.series();
      const position = positions++;
      let entry = order[position];
      if (entry?.key !== key) {
        entry = this.#cache.get(key);
        if (entry === undefined) {
          const detached = parser.detachedSeries();
          entry = this.#newEntry(parser.labels(), detached, family);
          this.#cache.set(detached, entry);
          if (entry.ref !== DROPPED && entry.seen === 0) batch.counts.added++;
        }
        order[position] = entry;
      }
      // The same series twice in one scrape (also two raw series relabeling made one): Prometheus keeps the
      // first and rejects the rest as duplicate samples.
      if (entry.seen === iteration) continue;
      entry.seen = iteration;
      const familyType = family?.metadata?.type ?? 'unknown';
      const withCreated = openMetrics && hasCreated(familyType) ? family : undefined;
      if (withCreated !== undefined) {
        // A `_created` sample is matched whether or not relabeling keeps it as a series of its own.
        const extras = this.#extrasOf(entry, parser, familyType);
        if (isCreatedOf(extras.name, withCreated)) this.#createdSample(extras.pointKey, parser.value());
      }
      if (entry.ref === DROPPED) continue;
      if (entry.under !== family || (entry.metadata !== undefined && entry.metadata !== family?.metadata)) this.#refreshRefs(entry, parser, family);
      batch.counts.kept++;
      if (job.sampleLimit > 0 && batch.counts.kept > job.sampleLimit) limitExceeded = true;
      if (limitExceeded) continue;
      const explicit = job.honorTimestamps ? parser.timestampMs() : undefined;
      const at = pending.size++;
      pending.entries[at] = entry;
      pending.timestamps[at] = explicit ?? slot;
      pending.values[at] = parser.value();
      pending.tracked[at] = explicit === undefined || job.trackTimestampsStaleness;
      if (withCreated !== undefined && entry.metadata !== undefined) pending.waiting[pending.waitingCount++] = at;
      if (batch.exemplars) pending.exemplars[at] = parser.hasExemplar() ? parser.exemplar() : undefined;
    }
    if (limitExceeded) throw new ScrapeFailure('sample limit exceeded');
  }

  /** Gives the sinks a created timestamp of `entry` when it differs from the last one given. */
  #setCreated(entry: SeriesEntry, createdMs: number): void {
    const extras = entry.extras;
    if (extras === undefined || extras.createdMs === createdMs) return;
    extras.createdMs = createdMs;
    this.#sinks.forEach((sink, s) => {
      const ref = s === 0 ? entry.ref : entry.extras?.more?.[s - 1];
      if (ref !== undefined) sink.setCreatedTimestamp(ref, createdMs);
    });
  }

  /**
   * Gives the sinks that send exemplars the exemplar of `entry`'s sample at `sampleMs`, unless Prometheus' storage
   * would refuse it (a label set over the limit) or it equals the series' last one.
   */
  #appendExemplar(entry: SeriesEntry, scraped: ScrapedExemplar, sampleMs: number): void {
    const labels = acceptedExemplarLabels(scraped.labels);
    if (labels === undefined) return;
    entry.extras ??= newExtras();
    const last = entry.extras.exemplar;
    if (last !== undefined && sameExemplar(last, labels, scraped)) return;
    entry.extras.exemplar = { labels, value: scraped.value, timestampMs: scraped.timestampMs };
    const exemplar: Exemplar = { labels, value: scraped.value, timestampMs: scraped.timestampMs ?? sampleMs };
    this.#sinks.forEach((sink, s) => {
      const ref = s === 0 ? entry.ref : entry.extras?.more?.[s - 1];
      if (ref !== undefined && sink.sendsExemplars) sink.appendExemplar(ref, exemplar);
    });
  }

  /**
   * After a successful scrape that read `lines` metadata lines: gives every sink the target's metadata when the set
   * of families or one of them changed since it was last given. Compares identities only when nothing changed.
   */
  #publishMetadata(lines: number): void {
    const iteration = this.#iteration;
    let counted = 0;
    let changed = false;
    for (let i = 0; i < lines; i++) {
      const family = this.#familyOrder[i] as FamilyState;
      if (family.countedAt === iteration) continue;
      family.countedAt = iteration;
      counted++;
      const metadata = family.dirty ? settle(family) : family.metadata;
      if (family.published !== metadata) changed = true;
    }
    if (!changed && counted === (this.#publishedCount ?? 0)) return;
    const families: FamilyMetadata[] = [];
    for (const [name, family] of this.#families) {
      if (family.countedAt === iteration && family.metadata !== undefined) {
        family.published = family.metadata;
        families.push(family.metadata);
      } else {
        this.#families.delete(name);
      }
    }
    this.#familyOrder = [];
    this.#publishedCount = families.length;
    for (const sink of this.#sinks) sink.targetMetadata(this, families);
  }

  /** Tells `sinks` the loop's metadata is gone, when they were given any. */
  #withdrawMetadata(sinks: readonly SampleSink[]): void {
    if (this.#publishedCount === undefined) return;
    for (const sink of sinks) sink.targetMetadata(this, undefined);
  }
}
