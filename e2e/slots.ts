/**
 * Scrape slots as the end-to-end suites check them from the targets' side: a target's scrapes happen at
 * `k·interval + offset(id)`, so every slot of a window must have exactly one request in the target's own log.
 */

/** A window of time, both ends included (Unix ms). */
export interface SlotWindow {
  readonly from: number;
  readonly to: number;
}

/** The slots of targets scraped every `intervalMs`. */
export interface ScrapeSlots {
  /** The slots `k·interval + offset` in the window (Prometheus 2's range selection). */
  between(offset: number, window: SlotWindow): number[];
  /** The slots of the window that `requests` (arrival times, Unix ms) served, one entry per request, in order. */
  served(requests: readonly number[], offset: number, window: SlotWindow): number[];
  /** Every slot of the window judged from `requests`: those with no request and those with two or more. */
  audit(requests: readonly number[], offset: number, window: SlotWindow): SlotAudit;
}

/** One target's slots in a window, as its request log shows them. */
export interface SlotAudit {
  /** How many slots the window has. */
  readonly slots: number;
  /** Slots without a request (Unix ms). */
  readonly missing: readonly number[];
  /** Slots with more than one request, once each (Unix ms). */
  readonly duplicated: readonly number[];
}

/** {@link ScrapeSlots} for one scrape interval. */
export function scrapeSlots(intervalMs: number): ScrapeSlots {
  const between = (offset: number, { from, to }: SlotWindow): number[] => {
    const out: number[] = [];
    for (let t = Math.ceil((from - offset) / intervalMs) * intervalMs + offset; t <= to; t += intervalMs) out.push(t);
    return out;
  };
  // A scrape starts at its slot (a timer may fire a millisecond early) and its request arrives soon after, so a
  // request belongs to the last slot at most 50 ms after it.
  const served = (requests: readonly number[], offset: number, { from, to }: SlotWindow): number[] =>
    requests.map((at) => Math.floor((at - offset + 50) / intervalMs) * intervalMs + offset).filter((slot) => slot >= from && slot <= to);
  return {
    between,
    served,
    audit: (requests, offset, window) => {
      const counts = new Map<number, number>();
      for (const slot of served(requests, offset, window)) counts.set(slot, (counts.get(slot) ?? 0) + 1);
      const all = between(offset, window);
      return { slots: all.length, missing: all.filter((slot) => !counts.has(slot)), duplicated: all.filter((slot) => (counts.get(slot) ?? 0) > 1) };
    },
  };
}
