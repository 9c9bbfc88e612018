/**
 * A binary heap of worker indices. The order is a caller's `before(a, b)` over the table's loads and ranks, which
 * change only for the top element while the heap is in use: the caller changes it, then calls {@link WorkerHeap.fix}.
 */
export class WorkerHeap {
  readonly #items: number[] = [];

  /** `before(a, b)` is true when worker `a` belongs above worker `b`; it must be a strict total order. */
  constructor(private readonly before: (a: number, b: number) => boolean) {}

  get size(): number {
    return this.#items.length;
  }

  /** The first worker, or -1 when the heap is empty. */
  get top(): number {
    return this.#items[0] ?? -1;
  }

  push(worker: number): void {
    const items = this.#items;
    let i = items.length;
    items.push(worker);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = items[parent] ?? -1;
      if (!this.before(worker, p)) break;
      items[i] = p;
      i = parent;
    }
    items[i] = worker;
  }

  /** Removes and returns the first worker, or -1 when the heap is empty. */
  pop(): number {
    const items = this.#items;
    const first = items[0];
    const last = items.pop();
    if (first === undefined || last === undefined) return -1;
    if (items.length > 0) {
      items[0] = last;
      this.fix();
    }
    return first;
  }

  /** Restores the order after the top worker's key changed. */
  fix(): void {
    const items = this.#items;
    const n = items.length;
    const worker = items[0];
    if (worker === undefined) return;
    let i = 0;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= n) break;
      const left = items[child] ?? -1;
      const right = items[child + 1];
      let best = left;
      if (right !== undefined && this.before(right, left)) {
        child++;
        best = right;
      }
      if (!this.before(best, worker)) break;
      items[i] = best;
      i = child;
    }
    items[i] = worker;
  }
}
