/**
 * The Hello that fits the gRPC message limit by construction: a worker holding hundreds of thousands of targets lists
 * as many as fit one part in the Hello, sets `Hello.held_targets_continued`, and sends the rest in `HeldTargets`
 * parts right after it; the master's transport joins them into one Hello before the fleet sees it. Packed the way
 * health reports are (health.ts): by an upper bound of each entry's encoded size, into parts of at most
 * {@link HELLO_PART_BYTES}.
 */
import type { HeldTarget, HeldTargets, Hello, WorkerMessage } from './gen/promfleet/fleet/v1/fleet.js';
import { MAX_ERROR_BYTES, truncateError } from './health.js';
import { packBySize } from './parts.js';
import { MAX_MESSAGE_BYTES } from './version.js';

/**
 * The largest Hello or `HeldTargets` message a worker sends, in bytes: a quarter of the receive limit, as for health
 * reports (`HEALTH_REPORT_PART_BYTES`): about 36,000 held targets per part when their job names have 15 characters.
 */
export const HELLO_PART_BYTES = MAX_MESSAGE_BYTES / 4;

/**
 * An upper bound of what a `WorkerMessage` holding a `HeldTargets` part adds around its entries: the oneof tag and
 * length (1 + 5) and `continued` (2).
 */
export const HELD_TARGETS_OVERHEAD_BYTES = 8;

/** A Hello without its held targets: what {@link helloParts} spreads them over is everything else. */
export type HelloFields = Omit<Hello, 'heldTargets' | 'heldTargetsContinued'>;

/**
 * An upper bound of what a `WorkerMessage` holding `hello` adds around its held targets, in bytes: the oneof tag and
 * length (1 + 5), each string's tag, widest length varint and bytes, `protocol_version` (1 + 5), `held_generation`
 * and `highest_leader_term` (1 + 10 each) and `held_targets_continued` (2).
 */
export function helloOverheadMaxBytes(hello: HelloFields): number {
  const text = (value: string) => 6 + Buffer.byteLength(value, 'utf8');
  return 6 + text(hello.workerId) + text(hello.softwareVersion) + 6 + 11 + 11 + text(hello.previousStreamResourceExhausted) + 2;
}

/**
 * An upper bound of one entry's encoded size inside `Hello.held_targets` or `HeldTargets.targets`, in bytes: the
 * entry's tag, length varint and body, the body being the id's tag, length varint and bytes and the job's. Exact but
 * for empty fields, which proto3 leaves out and this counts: a target id of 8 bytes with a 15-character job encodes
 * to 29 bytes, and the bound says 29.
 */
export function heldTargetMaxBytes(target: HeldTarget, jobBytes: number = Buffer.byteLength(target.job, 'utf8')): number {
  const body = 1 + varintBytes(target.id.length) + target.id.length + 1 + varintBytes(jobBytes) + jobBytes;
  return 1 + varintBytes(body) + body;
}

/** How many bytes the varint of a length takes (lengths are below 2^32). */
function varintBytes(value: number): number {
  return value < 0x80 ? 1 : value < 0x4000 ? 2 : value < 0x20_0000 ? 3 : value < 0x1000_0000 ? 4 : 5;
}

/**
 * The messages a worker opens its stream with: a Hello carrying as many of `heldTargets` as fit `partBytes` (default
 * {@link HELLO_PART_BYTES}) with its other fields, then, when they do not all fit, `HeldTargets` parts of at most
 * `partBytes` each with the rest, in order; the Hello has `held_targets_continued` set then, and every part but the
 * last `continued`. Each message is measured wrapped in a `WorkerMessage`. The first message is always the Hello; a
 * worker that holds nothing sends only that. `previous_stream_resource_exhausted` is cut to {@link MAX_ERROR_BYTES}
 * with {@link truncateError}, as the master would. A Hello whose own fields leave no room gets no held target at all;
 * a part always gets at least one (an entry larger than a part on its own, a job name of a megabyte, still goes out,
 * alone, and only then can a message exceed the budget).
 */
export function helloParts(options: { readonly hello: HelloFields; readonly heldTargets: readonly HeldTarget[]; readonly partBytes?: number }): WorkerMessage[] {
  const partBytes = options.partBytes ?? HELLO_PART_BYTES;
  const previous = truncateError(options.hello.previousStreamResourceExhausted, MAX_ERROR_BYTES);
  const fields: HelloFields = previous === options.hello.previousStreamResourceExhausted ? options.hello : { ...options.hello, previousStreamResourceExhausted: previous };
  const jobBytes = new Map<string, number>();
  const sizeOf = (target: HeldTarget): number => {
    let job = jobBytes.get(target.job);
    if (job === undefined) {
      job = Buffer.byteLength(target.job, 'utf8');
      jobBytes.set(target.job, job);
    }
    return heldTargetMaxBytes(target, job);
  };
  // The Hello's budget first, then each part's. The Hello may go without held targets; a part never does.
  const helloBudget = partBytes - helloOverheadMaxBytes(fields);
  const parts = packBySize(options.heldTargets, {
    sizeOf,
    budget: (part) => (part === 0 ? helloBudget : partBytes - HELD_TARGETS_OVERHEAD_BYTES),
    firstMayBeEmpty: true,
  });
  const [first = [], ...rest] = parts;
  const hello: Hello = { ...fields, heldTargets: first, heldTargetsContinued: rest.length > 0 };
  return [
    { kind: { $case: 'hello', hello } },
    ...rest.map((targets, i): WorkerMessage => {
      const heldTargets: HeldTargets = { targets, continued: i < rest.length - 1 };
      return { kind: { $case: 'heldTargets', heldTargets } };
    }),
  ];
}
