/**
 * Splitting a long list into messages that fit the gRPC limit: the one packing rule of health reports (health.ts)
 * and of the Hello's held targets (hello.ts).
 */

/**
 * `items` in consecutive parts, in order, each part's summed `sizeOf` within `budget(part index)`. A part takes at
 * least one item, so an item larger than a budget on its own goes out alone; only the first part may stay empty, and
 * only with `firstMayBeEmpty` (a message whose other fields leave no room). Always at least one part.
 */
export function packBySize<T>(
  items: Iterable<T>,
  options: { readonly sizeOf: (item: T) => number; readonly budget: (part: number) => number; readonly firstMayBeEmpty?: boolean },
): T[][] {
  const parts: T[][] = [];
  let part: T[] = [];
  let size = 0;
  for (const item of items) {
    const bytes = options.sizeOf(item);
    const mayClose = part.length > 0 || (parts.length === 0 && options.firstMayBeEmpty === true);
    if (size + bytes > options.budget(parts.length) && mayClose) {
      parts.push(part);
      part = [];
      size = 0;
    }
    part.push(item);
    size += bytes;
  }
  parts.push(part);
  return parts;
}
