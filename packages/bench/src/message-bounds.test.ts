/**
 * Every fleet message stays under the gRPC limit by construction, through the real master and worker code: 5,000
 * jobs in snapshot parts and in deltas, assembled by the worker; 100k targets failing with 10 KB errors in health
 * report parts, applied by the master. The figures are printed (also: `pnpm --filter @promfleet/bench message-bounds`).
 */
import { describe, expect, it } from '@jest/globals';
import { HEALTH_REPORT_PART_BYTES, MAX_ERROR_BYTES, MAX_MESSAGE_BYTES } from '@promfleet/protocol';
import { healthThroughMaster, snapshotThroughWorker } from './message-bounds.js';

describe('fleet messages at scale', () => {
  it('sends 5,000 jobs in snapshot parts and deltas under the limit, and the worker holds every job', async () => {
    const result = await snapshotThroughWorker({ jobs: 5_000 });
    process.stdout.write(`5,000 jobs: ${JSON.stringify(result)}\n`);
    expect(result.jobs).toBe(5_000);
    expect(result.snapshotParts).toBeGreaterThan(1);
    expect(result.largestSnapshotPartBytes).toBeLessThan(MAX_MESSAGE_BYTES);
    expect(result.deltas).toBeGreaterThan(1);
    expect(result.largestDeltaBytes).toBeLessThan(MAX_MESSAGE_BYTES);
    expect(result.workerJobsAfterSnapshot).toBe(5_000);
    expect(result.workerJobsAfterDeltas).toBe(5_000);
    expect(result.workerJobsForced).toBe(5_000);
    expect(result.workerTargets).toBe(10_000);
  }, 120_000);

  it('sends the health of 100k targets failing with 10 KB errors under the limit, and the master holds every one, cut', async () => {
    const result = await healthThroughMaster({ targets: 100_000, errorBytes: 10_000 });
    process.stdout.write(`100k failing targets: ${JSON.stringify(result)}\n`);
    expect(result.errorBytes).toBeGreaterThan(10_000);
    expect(result.largestReportBytes).toBeLessThanOrEqual(HEALTH_REPORT_PART_BYTES);
    expect(result.masterDown).toBe(100_000);
    expect(result.maxStoredErrorBytes).toBeLessThanOrEqual(MAX_ERROR_BYTES);
  }, 120_000);
});
