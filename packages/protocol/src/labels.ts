import { sortedLabelNames, type Labels } from '@promfleet/model';
import { DuplicateLabelError } from './errors.js';
import type { Label } from './gen/promfleet/fleet/v1/fleet.js';

/**
 * Converts a label set to its wire form: one `{ name, value }` per label, sorted by name in
 * Prometheus' order (UTF-8 byte order), as both the fleet protocol and remote write require.
 * The result is structurally a `prometheus.Label[]` too, so remote-write code can use it as is.
 *
 * Labels with an empty value are left out: in Prometheus an empty value is the same as no label
 * (`labels.Builder.Set` deletes the label), and remote-write receivers reject empty values.
 */
export function labelsToProto(labels: Labels): Label[] {
  const out: Label[] = [];
  for (const name of sortedLabelNames(labels)) {
    const value = labels.get(name) ?? '';
    if (value !== '') out.push({ name, value });
  }
  return out;
}

/**
 * Converts wire labels back to a label set. The input need not be sorted. Labels with an empty
 * value are skipped, for the same reason `labelsToProto` leaves them out.
 *
 * @throws DuplicateLabelError if a name appears twice: a label set cannot hold both values.
 * @returns A new map owned by the caller.
 */
export function labelsFromProto(labels: readonly Label[]): Map<string, string> {
  const out = new Map<string, string>();
  const seen = new Set<string>();
  for (const { name, value } of labels) {
    if (seen.has(name)) throw new DuplicateLabelError(name);
    seen.add(name);
    if (value !== '') out.set(name, value);
  }
  return out;
}
