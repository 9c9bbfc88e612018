/**
 * Discovered label sets that a discoverer hands on again unchanged. A group rebuilt because one of its targets
 * changed repeats the others; when those are {@link DeferredLabels}, the discovery manager reads their fingerprint
 * and keeps their relabeling outcome without iterating, copying or hashing their ~50 labels.
 */
import { labelsFingerprint, type Labels } from '@promfleet/model';

/** Builds label sets again: a pure function of its inputs, giving equal labels in equal order each time. */
export interface LabelsSource {
  rebuild(index: number): ReadonlyMap<string, string>;
}

/**
 * A label set whose fingerprint ({@link labelsFingerprint}) is known up front and whose labels are built again
 * from their inputs when read after the garbage collector reclaimed them. Held for long by the discoverer that made
 * it, so holding the labels themselves (a Map of ~50 entries per target) would cost the master its memory.
 */
export class DeferredLabels implements ReadonlyMap<string, string> {
  /** `labelsFingerprint` of the labels. */
  readonly fingerprint: number;
  #labels: WeakRef<ReadonlyMap<string, string>>;
  readonly #source: LabelsSource;
  readonly #index: number;

  /** `labels` as just built, and the source that builds them again as its label set number `index`. */
  constructor(labels: ReadonlyMap<string, string>, source: LabelsSource, index: number) {
    this.fingerprint = labelsFingerprint(labels);
    this.#labels = new WeakRef(labels);
    this.#source = source;
    this.#index = index;
  }

  #current(): ReadonlyMap<string, string> {
    let labels = this.#labels.deref();
    if (labels === undefined) {
      labels = this.#source.rebuild(this.#index);
      this.#labels = new WeakRef(labels);
    }
    return labels;
  }

  get size(): number {
    return this.#current().size;
  }

  get(name: string): string | undefined {
    return this.#current().get(name);
  }

  has(name: string): boolean {
    return this.#current().has(name);
  }

  forEach(callback: (value: string, name: string, labels: ReadonlyMap<string, string>) => void, thisArg?: unknown): void {
    for (const [name, value] of this.#current()) callback.call(thisArg, value, name, this);
  }

  entries(): MapIterator<[string, string]> {
    return this.#current().entries();
  }

  keys(): MapIterator<string> {
    return this.#current().keys();
  }

  values(): MapIterator<string> {
    return this.#current().values();
  }

  [Symbol.iterator](): MapIterator<[string, string]> {
    return this.#current()[Symbol.iterator]();
  }
}

/** The fingerprint of `labels`: the one a {@link DeferredLabels} carries, else computed. */
export function fingerprintOf(labels: Labels): number {
  return labels instanceof DeferredLabels ? labels.fingerprint : labelsFingerprint(labels);
}
