/**
 * Prints the largest fleet messages at scale: snapshot parts and deltas for 5,000 jobs, health report parts for 100k
 * targets failing with 10 KB errors, against the 4 MiB gRPC limit.
 *
 *   pnpm build && pnpm --filter @promfleet/bench message-bounds
 */
import { MAX_MESSAGE_BYTES } from '@promfleet/protocol';
import { healthThroughMaster, snapshotThroughWorker } from './message-bounds.js';

const snapshot = await snapshotThroughWorker({ jobs: 5_000 });
process.stdout.write(
  `${snapshot.jobs} jobs: ${snapshot.snapshotParts} snapshot parts, largest ${snapshot.largestSnapshotPartBytes} bytes; ` +
    `${snapshot.deltas} deltas with job changes, largest ${snapshot.largestDeltaBytes} bytes; the worker holds ${snapshot.workerJobsAfterDeltas} jobs ` +
    `(limit ${MAX_MESSAGE_BYTES} bytes)\n`,
);
const health = await healthThroughMaster({ targets: 100_000, errorBytes: 10_000 });
process.stdout.write(
  `${health.targets} targets failing with ${health.errorBytes}-byte errors: ${health.reportParts} health report parts, largest ${health.largestReportBytes} bytes; ` +
    `the master holds ${health.masterDown} targets down, errors at most ${health.maxStoredErrorBytes} bytes (limit ${MAX_MESSAGE_BYTES} bytes)\n`,
);
