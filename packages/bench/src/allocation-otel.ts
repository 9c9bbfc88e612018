/**
 * The OpenTelemetry target allocator's `consistent-hashing` strategy, re-implemented for the allocation benchmark
 * only, as the baseline promfleet's allocator is compared with. It mirrors
 * open-telemetry/opentelemetry-operator `cmd/otel-allocator/internal/allocation/consistent_hashing.go`
 * (`consistent.Config{PartitionCount: 1061, ReplicationFactor: 5, Load: 1.1}`, xxhash64 `Sum64` as the hasher,
 * the key is the target) on buraksezer/consistent v1.1.0 `consistent.go`:
 *
 * - each member puts `ReplicationFactor` points on the ring at `Sum64("<i>:<name>")` (`DefaultReplicaKey`);
 * - each partition `p` in 0..1060 starts at the first point at or after `Sum64(LittleEndian uint64 p)` and goes to
 *   the first member clockwise whose partition count is still below `ceil(1061 / members × Load)`
 *   (`distributePartitions`, `distributeWithLoad`);
 * - a key goes to the owner of partition `Sum64(key) mod 1061` (`LocateKey`).
 *
 * The allocator rebuilds the ring on every membership change (`SetCollectors`: "we simply recreate the hasher") and
 * re-locates every target, so that is what a join costs here. The ring balances partitions, not cost.
 */
import { xxh64Bytes, xxh64String } from './allocation-xxhash.js';

/** buraksezer/consistent's `Config` as the OpenTelemetry allocator sets it. */
export const otelConfig = { partitionCount: 1061, replicationFactor: 5, load: 1.1 } as const;

const out = new Uint32Array(2);

/** An unsigned 64-bit value as two unsigned 32-bit halves. */
interface Hash64 {
  readonly hi: number;
  readonly lo: number;
}

function compare64(a: Hash64, b: Hash64): number {
  return a.hi - b.hi || a.lo - b.lo;
}

/** A consistent-hashing ring with bounded partition loads over a fixed member set. */
export class OtelRing {
  /** The owner (member index) of each partition. */
  readonly #owner: Int32Array;
  /** Partitions per member, as `LoadDistribution` reports. */
  readonly loads: Int32Array;

  constructor(readonly members: readonly string[]) {
    const { partitionCount, replicationFactor, load } = otelConfig;
    const points: { hi: number; lo: number; member: number }[] = [];
    members.forEach((name, member) => {
      for (let i = 0; i < replicationFactor; i++) {
        xxh64String(`${i}:${name}`, out);
        points.push({ hi: out[0] ?? 0, lo: out[1] ?? 0, member });
      }
    });
    points.sort(compare64);
    this.#owner = new Int32Array(partitionCount).fill(-1);
    this.loads = new Int32Array(members.length);
    if (members.length === 0) return;
    const average = Math.ceil((partitionCount / members.length) * load);
    const key = new Uint8Array(8);
    const view = new DataView(key.buffer);
    for (let p = 0; p < partitionCount; p++) {
      view.setUint32(0, p, true);
      xxh64Bytes(key, 8, out);
      let idx = lowerBound(points, { hi: out[0] ?? 0, lo: out[1] ?? 0 });
      if (idx >= points.length) idx = 0;
      for (let count = 0; ; count++) {
        if (count >= points.length) throw new Error('not enough room to distribute partitions');
        const m = points[idx]?.member ?? 0;
        if ((this.loads[m] ?? 0) + 1 <= average) {
          this.#owner[p] = m;
          this.loads[m] = (this.loads[m] ?? 0) + 1;
          break;
        }
        idx = (idx + 1) % points.length;
      }
    }
  }

  /** The member (index into `members`) that owns `key`. */
  locate(key: string): number {
    xxh64String(key, out);
    const n = otelConfig.partitionCount;
    // (hi·2^32 + lo) mod n without leaving exact double arithmetic.
    const partition = (((out[0] ?? 0) % n) * (2 ** 32 % n) + ((out[1] ?? 0) % n)) % n;
    return this.#owner[partition] ?? -1;
  }
}

function lowerBound(points: readonly Hash64[], key: Hash64): number {
  let a = 0;
  let b = points.length;
  while (a < b) {
    const mid = (a + b) >> 1;
    const p = points[mid];
    if (p !== undefined && compare64(p, key) < 0) a = mid + 1;
    else b = mid;
  }
  return a;
}
