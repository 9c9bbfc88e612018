/**
 * The Hello fits the gRPC limit by construction: held targets beyond what one part takes go in HeldTargets parts, every
 * message under the budget, in order, none lost, and the size bounds never below the real encoding.
 */
import { describe, expect, it } from '@jest/globals';
import { HeldTarget, WorkerMessage } from './gen/promfleet/fleet/v1/fleet.js';
import { MAX_ERROR_BYTES } from './health.js';
import { HELD_TARGETS_OVERHEAD_BYTES, HELLO_PART_BYTES, heldTargetMaxBytes, helloOverheadMaxBytes, helloParts, type HelloFields } from './hello.js';
import { targetIdToBytes } from './ids.js';
import { MAX_MESSAGE_BYTES, PROTOCOL_VERSION } from './version.js';

const fields: HelloFields = {
  workerId: 'promfleet-worker-5f7c9d8b7-abcde',
  softwareVersion: '0.1.0',
  protocolVersion: PROTOCOL_VERSION,
  heldGeneration: 4_321,
  previousStreamResourceExhausted: '',
  highestLeaderTerm: 12,
};

function held(index: number, job = 'kubernetes-pods'): HeldTarget {
  return { id: targetIdToBytes(index.toString(16).padStart(16, '0')), job };
}

const encodedBytes = (message: WorkerMessage) => WorkerMessage.encode(message).finish().length;

/** The held targets of `messages` in order, checking the shape: one Hello first, then parts, `continued` up to the last. */
function heldOf(messages: readonly WorkerMessage[]): HeldTarget[] {
  const [first, ...rest] = messages;
  if (first?.kind?.$case !== 'hello') throw new Error('the first message is not a Hello');
  expect(first.kind.hello.heldTargetsContinued).toBe(rest.length > 0);
  const out = [...first.kind.hello.heldTargets];
  rest.forEach((message, i) => {
    if (message.kind?.$case !== 'heldTargets') throw new Error(`message ${i + 1} is not HeldTargets`);
    expect(message.kind.heldTargets.continued).toBe(i < rest.length - 1);
    expect(message.kind.heldTargets.targets.length).toBeGreaterThan(0);
    out.push(...message.kind.heldTargets.targets);
  });
  return out;
}

describe('heldTargetMaxBytes and helloOverheadMaxBytes', () => {
  it.each([
    ['an 8-byte id, a 15-character job', held(1)],
    ['an empty job', held(2, '')],
    ['an empty id', { id: new Uint8Array(0), job: 'node' }],
    ['a 127-byte job (length varint at its edge)', held(3, 'j'.repeat(127))],
    ['a 128-byte job', held(4, 'j'.repeat(128))],
    ['a multibyte job', held(5, 'jöb-😀-€'.repeat(40))],
    ['a 20,000-byte job', held(6, 'x'.repeat(20_000))],
  ])('the bounds are never below the encoding of a message with the entry (%s)', (_name, target) => {
    // The entry alone: its tag, length and body.
    const body = HeldTarget.encode(target).finish().length;
    expect(heldTargetMaxBytes(target)).toBeGreaterThanOrEqual(1 + (body < 128 ? 1 : body < 16_384 ? 2 : 3) + body);
    // In a part and in a Hello, where the overheads count the message's own length at its widest.
    const part = encodedBytes({ kind: { $case: 'heldTargets', heldTargets: { targets: [target], continued: true } } });
    expect(HELD_TARGETS_OVERHEAD_BYTES + heldTargetMaxBytes(target)).toBeGreaterThanOrEqual(part);
    const hello = encodedBytes({ kind: { $case: 'hello', hello: { ...fields, heldTargets: [target], heldTargetsContinued: true } } });
    expect(helloOverheadMaxBytes(fields) + heldTargetMaxBytes(target)).toBeGreaterThanOrEqual(hello);
  });

  it('is exact for a typical entry: 29 bytes for an 8-byte id and a 15-character job', () => {
    expect(heldTargetMaxBytes(held(1))).toBe(29);
  });

  it.each([
    ['the usual fields', fields],
    ['widest values', { workerId: 'w'.repeat(253), softwareVersion: 'v'.repeat(300), protocolVersion: 2 ** 32 - 1, heldGeneration: Number.MAX_SAFE_INTEGER, previousStreamResourceExhausted: 'é'.repeat(512), highestLeaderTerm: Number.MAX_SAFE_INTEGER }],
    ['empty fields', { workerId: '', softwareVersion: '', protocolVersion: 0, heldGeneration: 0, previousStreamResourceExhausted: '', highestLeaderTerm: 0 }],
  ])('the Hello overhead bound is never below the encoded Hello without targets (%s)', (_name, hello) => {
    expect(helloOverheadMaxBytes(hello)).toBeGreaterThanOrEqual(encodedBytes({ kind: { $case: 'hello', hello: { ...hello, heldTargets: [], heldTargetsContinued: true } } }));
  });
});

describe('helloParts', () => {
  it('sends a worker that holds nothing one Hello, nothing continued', () => {
    expect(helloParts({ hello: fields, heldTargets: [] })).toEqual([{ kind: { $case: 'hello', hello: { ...fields, heldTargets: [], heldTargetsContinued: false } } }]);
  });

  it('sends a few held targets in the Hello alone, as they are', () => {
    const targets = [held(1), held(2, 'node')];
    const messages = helloParts({ hello: fields, heldTargets: targets });
    expect(messages).toEqual([{ kind: { $case: 'hello', hello: { ...fields, heldTargets: targets, heldTargetsContinued: false } } }]);
  });

  it('cuts previous_stream_resource_exhausted to the error limit', () => {
    const [first] = helloParts({ hello: { ...fields, previousStreamResourceExhausted: 'x'.repeat(100_000) }, heldTargets: [held(1)] });
    if (first?.kind?.$case !== 'hello') throw new Error('no Hello');
    expect(Buffer.byteLength(first.kind.hello.previousStreamResourceExhausted)).toBeLessThanOrEqual(MAX_ERROR_BYTES);
  });

  it.each([
    ['a 300-byte budget, short jobs', 300, (i: number) => held(i, `j${i % 7}`)],
    ['a 300-byte budget, jobs of every length up to 200 bytes', 300, (i: number) => held(i, 'é'.repeat(i % 100))],
    ['a 4 KiB budget, mixed', 4_096, (i: number) => held(i, i % 3 === 0 ? 'kubernetes-service-endpoints' : 'node')],
  ])('keeps every message under %s, order kept, nothing lost', (_name, partBytes, make) => {
    const targets = Array.from({ length: 2_000 }, (_, i) => make(i));
    const messages = helloParts({ hello: fields, heldTargets: targets, partBytes });
    expect(messages.length).toBeGreaterThan(2);
    for (const message of messages) expect(encodedBytes(message)).toBeLessThanOrEqual(partBytes);
    expect(heldOf(messages)).toEqual(targets);
  });

  it('gives the Hello no held target when its own fields leave no room, and every part at least one', () => {
    const hello = { ...fields, softwareVersion: 'v'.repeat(250) };
    const targets = [held(1), held(2), held(3, 'j'.repeat(400))];
    const messages = helloParts({ hello, heldTargets: targets, partBytes: helloOverheadMaxBytes(hello) + 10 });
    const [first] = messages;
    expect(first?.kind?.$case === 'hello' && first.kind.hello.heldTargets).toEqual([]);
    // The 400-byte job goes out alone although it is larger than a part: the only message beyond the budget.
    expect(messages).toHaveLength(3);
    expect(heldOf(messages)).toEqual(targets);
  });

  it('splits 300,000 held targets into messages under the budget, far below the limit, in order, none lost', () => {
    const targets = Array.from({ length: 300_000 }, (_, i) => held(i, i % 2 === 0 ? 'kubernetes-pods' : 'kubernetes-service-endpoints'));
    // One Hello with them all would be refused by the master's gRPC layer.
    const single = encodedBytes({ kind: { $case: 'hello', hello: { ...fields, heldTargets: targets, heldTargetsContinued: false } } });
    expect(single).toBeGreaterThan(MAX_MESSAGE_BYTES);
    const messages = helloParts({ hello: { ...fields, previousStreamResourceExhausted: `Received message larger than max (${single} vs. ${MAX_MESSAGE_BYTES})` }, heldTargets: targets });
    const sizes = messages.map(encodedBytes);
    const largest = Math.max(...sizes);
    expect(largest).toBeLessThanOrEqual(HELLO_PART_BYTES);
    // The bound is exact for such entries: the parts are full.
    expect(largest).toBeGreaterThan(HELLO_PART_BYTES * 0.99);
    expect(heldOf(messages)).toEqual(targets);
    process.stdout.write(`hello: 300000 held targets (${single} bytes in one Hello) -> ${messages.length} messages, largest ${largest} bytes (budget ${HELLO_PART_BYTES}, limit ${MAX_MESSAGE_BYTES})\n`);
  });
});
