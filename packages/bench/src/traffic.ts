/**
 * Bytes on the wire from the fake API server to a discoverer, as the fake counts them (response bodies, which the
 * fake does not gzip, without headers and chunk framing): at start-up until the full target set, and per watch event
 * during a churn window. promfleet's master runs once per encoding it can ask for; vmagent asks for JSON.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { TrafficRow } from '@promfleet/testkit';
import type { ChildHandle } from './ipc.js';
import { median } from './measure.js';
import type { FakeCommands } from './protocol.js';

/** The encodings promfleet's master can ask the API server for. */
export type BenchEncoding = 'json' | 'protobuf';

export const benchEncodings: readonly BenchEncoding[] = ['json', 'protobuf'];

/** Watch bytes and events. */
export interface WatchTraffic {
  readonly watchBytes: number;
  readonly watchEvents: number;
}

/** A client's traffic summed over its rows. */
export interface TrafficTotals extends WatchTraffic {
  readonly responseBytes: number;
  readonly listBytes: number;
  /** Watch traffic by resource (`pods`, `endpointslices`...): events of different kinds differ much in size. */
  readonly watchByResource: Readonly<Record<string, WatchTraffic>>;
}

/** What one discoverer run received. */
export interface TrafficFigures {
  /** From the first request until a few seconds after the full target set. */
  readonly startup: TrafficTotals;
  /** Watch bytes and events written to it during the churn window, when there was one. */
  readonly churn: (WatchTraffic & { readonly watchByResource: Readonly<Record<string, WatchTraffic>> }) | undefined;
}

/** Sums the rows whose user agent `matches`. */
export function sumTraffic(rows: readonly TrafficRow[], matches: (userAgent: string) => boolean): TrafficTotals {
  let responseBytes = 0;
  let listBytes = 0;
  let watchBytes = 0;
  let watchEvents = 0;
  const watchByResource: Record<string, WatchTraffic> = {};
  for (const r of rows) {
    if (!matches(r.userAgent)) continue;
    responseBytes += r.responseBytes;
    if (r.verb === 'list') listBytes += r.responseBytes;
    if (r.verb === 'watch') {
      watchBytes += r.responseBytes;
      watchEvents += r.watchEvents;
      const before = watchByResource[r.resource] ?? { watchBytes: 0, watchEvents: 0 };
      watchByResource[r.resource] = { watchBytes: before.watchBytes + r.responseBytes, watchEvents: before.watchEvents + r.watchEvents };
    }
  }
  return { responseBytes, listBytes, watchBytes, watchEvents, watchByResource };
}

/** The fake's traffic to the clients `matches` selects. */
export async function trafficOf(fake: ChildHandle<FakeCommands>, matches: (userAgent: string) => boolean): Promise<TrafficTotals> {
  return sumTraffic(await fake.call('traffic', null), matches);
}

/** The watch traffic between two readings. */
export function watchDelta(before: TrafficTotals, after: TrafficTotals): NonNullable<TrafficFigures['churn']> {
  const watchByResource: Record<string, WatchTraffic> = {};
  for (const [resource, a] of Object.entries(after.watchByResource)) {
    const b = before.watchByResource[resource] ?? { watchBytes: 0, watchEvents: 0 };
    watchByResource[resource] = { watchBytes: a.watchBytes - b.watchBytes, watchEvents: a.watchEvents - b.watchEvents };
  }
  return { watchBytes: after.watchBytes - before.watchBytes, watchEvents: after.watchEvents - before.watchEvents, watchByResource };
}

/** One column of the traffic table: a discoverer, its encoding, and its runs' figures. */
export interface TrafficColumn {
  readonly title: string;
  readonly runs: readonly TrafficFigures[];
}

function cell(value: number | undefined, digits: number): string {
  return value === undefined ? '–' : value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

/** Bytes per watch event in a churn window (of one resource, or all), or undefined without one. */
export function bytesPerChurnEvent(t: TrafficFigures, resource?: string): number | undefined {
  const w = resource === undefined ? t.churn : t.churn?.watchByResource[resource];
  return w === undefined || w.watchEvents === 0 ? undefined : w.watchBytes / w.watchEvents;
}

/** The traffic table (medians over runs), one column per discoverer and encoding. */
export function trafficTable(columns: readonly TrafficColumn[]): string {
  const rows: [string, (t: TrafficFigures) => number | undefined, number][] = [
    ['bytes sent until the full target set (MiB)', (t) => t.startup.responseBytes / 2 ** 20, 1],
    ['… of which LIST responses (MiB)', (t) => t.startup.listBytes / 2 ** 20, 1],
    ['churn: watch events sent in the window', (t) => t.churn?.watchEvents, 0],
    ['churn: watch bytes sent in the window (MiB)', (t) => (t.churn === undefined ? undefined : t.churn.watchBytes / 2 ** 20), 1],
    ['bytes per Pod watch event in the churn window', (t) => bytesPerChurnEvent(t, 'pods'), 0],
    ['bytes per EndpointSlice watch event in the churn window', (t) => bytesPerChurnEvent(t, 'endpointslices'), 0],
    ['bytes per watch event in the churn window, all kinds (depends on the mix sent)', (t) => bytesPerChurnEvent(t), 0],
  ];
  const lines = [`| bytes from the API server | ${columns.map((c) => c.title).join(' | ')} |`, `|---|${columns.map(() => '---:').join('|')}|`];
  for (const [label, pick, digits] of rows) {
    lines.push(`| ${label} | ${columns.map((c) => cell(median(c.runs.flatMap((r) => pick(r) ?? [])), digits)).join(' | ')} |`);
  }
  return lines.join('\n');
}

/**
 * vmagent's traffic, read while it runs (after its full set): the start-up bytes, then, with `churn`, a churn window
 * of the same rate and length as the master's and the watch bytes and events it brought. Nothing else talks to the
 * fake meanwhile, so every client's rows count.
 */
export async function vmagentTraffic(
  fake: ChildHandle<FakeCommands>,
  churn: { readonly eventsPerSecond: number; readonly seconds: number } | undefined,
): Promise<TrafficFigures> {
  const everyone = (): boolean => true;
  const startup = await trafficOf(fake, everyone);
  if (churn === undefined) return { startup, churn: undefined };
  await fake.call('churn', { eventsPerSecond: churn.eventsPerSecond, durationMs: churn.seconds * 1000 });
  // The last events are written within a tick of the churn's end.
  await sleep(1_000);
  return { startup, churn: watchDelta(startup, await trafficOf(fake, everyone)) };
}

/** The traffic tables of the comparisons, by cluster: promfleet's runs by encoding beside vmagent's. */
export function trafficSection(groups: readonly { readonly label: string; readonly columns: readonly TrafficColumn[] }[]): string {
  return groups.map((g) => `#### Bytes from the API server, ${g.label} (median of runs)\n\n${trafficTable(g.columns)}`).join('\n\n');
}
