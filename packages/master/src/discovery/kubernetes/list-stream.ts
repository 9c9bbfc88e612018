/**
 * Reads a Kubernetes List response as a stream: each element of the top-level `items` array is handed on as soon
 * as it is complete, and the other top-level fields (`metadata`, `kind`, ...) are returned at the end. A list of
 * 150,000 pods is about a gigabyte of JSON, beyond the longest string V8 can hold, so it is never one string.
 */

type Mode = 'start' | 'key' | 'value' | 'items' | 'afterItems' | 'done';

/** Scans one JSON object incrementally; feed it with {@link push}, then call {@link finish}. */
export class ListStreamParser {
  #mode: Mode = 'start';
  #depth = 0;
  #inString = false;
  #escaped = false;
  #keyText = '';
  #key = '';
  #buf = '';
  readonly #rest = new Map<string, string>();

  constructor(private readonly onItem: (item: unknown) => void) {}

  /** Feeds the next chunk. Throws SyntaxError for input that is not a JSON object. */
  push(chunk: string): void {
    // Captured text is appended in slices (from `seg` up to a boundary), never character by character.
    let seg = 0;
    const flush = (to: number) => {
      if (to > seg) {
        if (this.#mode === 'key') this.#keyText += chunk.slice(seg, to);
        else if (this.#mode === 'value' || this.#mode === 'items') this.#buf += chunk.slice(seg, to);
      }
      seg = to + 1;
    };
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk.charCodeAt(i);
      if (this.#inString) {
        if (this.#escaped) this.#escaped = false;
        else if (c === 0x5c) this.#escaped = true;
        else if (c === 0x22) this.#inString = false;
        continue;
      }
      const space = c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
      if (this.#mode === 'start' || this.#mode === 'done') {
        if (space) continue;
        if (this.#mode === 'start' && c === 0x7b) {
          this.#mode = 'key';
          this.#depth = 1;
          seg = i + 1;
          continue;
        }
        throw new SyntaxError(this.#mode === 'done' ? 'unexpected text after the list object' : 'the list response is not a JSON object');
      }
      const top = this.#depth === 1;
      switch (c) {
        case 0x22: // "
          if (this.#mode === 'afterItems') throw new SyntaxError('unexpected text after the items array');
          this.#inString = true;
          break;
        case 0x3a: // :
          if (top && this.#mode === 'key') {
            flush(i);
            try {
              this.#key = JSON.parse(this.#keyText) as string;
            } catch {
              throw new SyntaxError(`unexpected key text ${JSON.stringify(this.#keyText.trim().slice(0, 40))} in the list object`);
            }
            this.#keyText = '';
            this.#mode = 'value';
          }
          break;
        case 0x2c: // ,
          if (top) {
            flush(i);
            this.#endValue();
            this.#mode = 'key';
          } else if (this.#mode === 'items' && this.#depth === 2) {
            flush(i);
            this.#emitItem();
          }
          break;
        case 0x7b: // {
        case 0x5b: // [
          if (top && this.#mode === 'value' && this.#key === 'items' && c === 0x5b && (this.#buf + chunk.slice(seg, i)).trim() === '') {
            this.#buf = '';
            this.#mode = 'items';
            this.#depth = 2;
            seg = i + 1;
          } else {
            this.#depth++;
          }
          break;
        case 0x7d: // }
        case 0x5d: // ]
          if (this.#mode === 'items' && this.#depth === 2) {
            if (c !== 0x5d) throw new SyntaxError('unbalanced items array');
            flush(i);
            if (this.#buf.trim() !== '') this.#emitItem();
            this.#buf = '';
            this.#mode = 'afterItems';
            this.#depth = 1;
          } else if (top) {
            if (c !== 0x7d) throw new SyntaxError('unbalanced list object');
            flush(i);
            this.#endValue();
            this.#mode = 'done';
            this.#depth = 0;
          } else {
            this.#depth--;
          }
          break;
        default:
          if (this.#mode === 'afterItems' && !space) throw new SyntaxError('unexpected text after the items array');
      }
    }
    flush(chunk.length);
  }

  /** The top-level fields other than `items`, parsed. Throws if the object was incomplete. */
  finish(): Record<string, unknown> {
    if (this.#mode !== 'done') throw new SyntaxError('the list response ended before its closing brace');
    return Object.fromEntries([...this.#rest].map(([k, v]) => [k, JSON.parse(v) as unknown]));
  }

  #emitItem(): void {
    const text = this.#buf;
    this.#buf = '';
    this.onItem(JSON.parse(text) as unknown);
  }

  #endValue(): void {
    if (this.#mode === 'key' && this.#keyText.trim() !== '') throw new SyntaxError(`unexpected key text ${JSON.stringify(this.#keyText.trim().slice(0, 40))} without a value`);
    if (this.#mode === 'value') {
      if (this.#buf.trim() === '') throw new SyntaxError(`no value for ${JSON.stringify(this.#key)}`);
      this.#rest.set(this.#key, this.#buf);
    }
    this.#buf = '';
  }
}
