/**
 * Handover scheduling: the slot arithmetic of one owner change (docs/protocol.md, "Slots and handover"). Each slot
 * has one owner: a new owner starts at a first slot far enough ahead for every worker concerned to have the change
 * in time, and whoever scrapes the target now stops at the slot before it. Pure: the caller passes the time.
 */
import { nextScrapeSlotMs, type TargetId } from '@promfleet/model';
import type { Removal } from './outbox.js';

/** One owner change, as the fleet sees it. */
export interface OwnerChange {
  readonly target: TargetId;
  readonly intervalMs: number;
  readonly nowMs: number;
  /** How far ahead of now a first slot must lie. */
  readonly leadMs: number;
  /** The first slot of a handover still in flight (ahead of now), or 0: it binds whoever owns the target next. */
  readonly pendingFirstSlotUnixMs: number;
  /** The new owner: none (the target is removed, or has no room), one that scrapes it already, or one that does not. */
  readonly newOwner: 'none' | 'scraping' | 'starting';
  /** Whether some other worker scrapes the target now (its owner, or a worker that reported holding it). */
  readonly scrapedElsewhere: boolean;
  /** For `newOwner: 'none'`: the target left discovery, so its series end (staleness markers). */
  readonly gone: boolean;
}

/** What to tell the workers: the new owner's first slot (0: its next slot), and the removal for the others. */
export interface HandoverPlan {
  readonly firstSlotUnixMs: number;
  readonly removal: Removal;
}

/** Plans one owner change. */
export function planHandover(change: OwnerChange): HandoverPlan {
  const stopNow: Removal = { reason: 'moved', lastSlotUnixMs: 0 };
  switch (change.newOwner) {
    case 'none':
      // Gone from discovery: staleness markers. Only left without room (a drain, limits): the target still exists,
      // so, as when Prometheus shuts down, no markers.
      return { firstSlotUnixMs: 0, removal: change.gone ? { reason: 'gone', lastSlotUnixMs: 0 } : stopNow };
    case 'scraping':
      // The new owner scrapes the target already: it keeps it as it runs, and the others stop now.
      return { firstSlotUnixMs: 0, removal: stopNow };
    case 'starting': {
      if (!change.scrapedElsewhere) {
        // New, or its owner left: from the next slot, or from where a handover in flight had it start.
        return { firstSlotUnixMs: change.pendingFirstSlotUnixMs, removal: stopNow };
      }
      const first = Math.max(change.pendingFirstSlotUnixMs, nextScrapeSlotMs({ id: change.target, intervalMs: change.intervalMs, nowMs: change.nowMs + change.leadMs }));
      return { firstSlotUnixMs: first, removal: { reason: 'moved', lastSlotUnixMs: first - change.intervalMs } };
    }
  }
}
