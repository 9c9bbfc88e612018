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
}

/** {@link ScrapeSlots} for one scrape interval. */
export function scrapeSlots(intervalMs: number): ScrapeSlots {
  return {
    between: (offset, { from, to }) => {
      const out: number[] = [];
      for (let t = Math.ceil((from - offset) / intervalMs) * intervalMs + offset; t <= to; t += intervalMs) out.push(t);
      return out;
    },
    // A scrape starts at its slot (a timer may fire a millisecond early) and its request arrives soon after, so a
    // request belongs to the last slot at most 50 ms after it.
    served: (requests, offset, { from, to }) =>
      requests.map((at) => Math.floor((at - offset + 50) / intervalMs) * intervalMs + offset).filter((slot) => slot >= from && slot <= to),
  };
}
