import { describe, expect, it } from '@jest/globals';
import { planHandover, type OwnerChange } from './handover.js';

const change = (extra: Partial<OwnerChange>): OwnerChange => ({
  target: '00000000000000aa',
  intervalMs: 10_000,
  nowMs: 1_000_000,
  leadMs: 2_000,
  pendingFirstSlotUnixMs: 0,
  newOwner: 'starting',
  scrapedElsewhere: true,
  gone: false,
  ...extra,
});

describe('planHandover', () => {
  it('starts a new owner at a slot at least the lead ahead, and stops the others at the slot before', () => {
    const plan = planHandover(change({}));
    expect(plan.firstSlotUnixMs).toBeGreaterThanOrEqual(1_002_000);
    expect(plan.firstSlotUnixMs).toBeLessThan(1_012_000);
    expect(plan.removal).toEqual({ reason: 'moved', lastSlotUnixMs: plan.firstSlotUnixMs - 10_000 });
  });

  it('keeps the first slot of a handover in flight when it lies further ahead', () => {
    expect(planHandover(change({ pendingFirstSlotUnixMs: 1_030_000 })).firstSlotUnixMs).toBe(1_030_000);
    expect(planHandover(change({ pendingFirstSlotUnixMs: 1_030_000, scrapedElsewhere: false })).firstSlotUnixMs).toBe(1_030_000);
  });

  it('starts at the next slot when nobody else scrapes the target, and keeps a new owner that scrapes it already running', () => {
    expect(planHandover(change({ scrapedElsewhere: false })).firstSlotUnixMs).toBe(0);
    expect(planHandover(change({ newOwner: 'scraping' }))).toEqual({ firstSlotUnixMs: 0, removal: { reason: 'moved', lastSlotUnixMs: 0 } });
  });

  it('removes a target with no new owner: gone with staleness markers only when discovery dropped it', () => {
    expect(planHandover(change({ newOwner: 'none', gone: true })).removal).toEqual({ reason: 'gone', lastSlotUnixMs: 0 });
    expect(planHandover(change({ newOwner: 'none' })).removal).toEqual({ reason: 'moved', lastSlotUnixMs: 0 });
  });
});
