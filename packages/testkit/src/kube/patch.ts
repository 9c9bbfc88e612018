/**
 * The PATCH formats the fake accepts: JSON merge patch (RFC 7386) and JSON patch (RFC 6902). Strategic merge patch
 * is applied as a merge patch, which differs only for lists the Go types declare a merge key for (the real server
 * merges those by key; a merge patch replaces them).
 */
import { isRecord, jsonEqual } from './objects.js';

/** A patch that cannot be applied; the server answers it with 422 (JSON patch) or 400 (merge patch). */
export class PatchError extends Error {
  override readonly name = 'PatchError';
  readonly code = 'PROMFLEET_TESTKIT_BAD_PATCH';
}

/**
 * Applies an RFC 7386 merge patch: objects merge recursively, `null` deletes a key, anything else replaces. The
 * result shares every untouched subtree with `target`, which is never modified.
 */
export function applyMergePatch(target: unknown, patch: unknown): unknown {
  if (!isRecord(patch)) return patch;
  const out: Record<string, unknown> = isRecord(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete out[key];
    else out[key] = applyMergePatch(out[key], value);
  }
  return out;
}

type Container = Record<string, unknown> | unknown[];

/** Decodes an RFC 6901 JSON pointer into its reference tokens. */
function pointerTokens(pointer: string): string[] {
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) throw new PatchError(`invalid JSON pointer ${JSON.stringify(pointer)}`);
  return pointer
    .slice(1)
    .split('/')
    .map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'));
}

/** Copies the containers along `tokens` so the leaf's parent can be changed without touching the original. */
function cloneAlong(root: unknown, tokens: readonly string[]): { root: unknown; parent: Container | undefined } {
  if (tokens.length === 0) return { root, parent: undefined };
  const copy = (v: unknown): Container => {
    if (Array.isArray(v)) return [...(v as unknown[])];
    if (isRecord(v)) return { ...v };
    throw new PatchError('path does not exist');
  };
  const newRoot = copy(root);
  let current: Container = newRoot;
  for (const token of tokens.slice(0, -1)) {
    const child = Array.isArray(current) ? current[arrayIndex(current, token, false)] : current[token];
    const childCopy = copy(child);
    if (Array.isArray(current)) current[arrayIndex(current, token, false)] = childCopy;
    else current[token] = childCopy;
    current = childCopy;
  }
  return { root: newRoot, parent: current };
}

function arrayIndex(array: readonly unknown[], token: string, forInsert: boolean): number {
  if (forInsert && token === '-') return array.length;
  if (!/^(0|[1-9][0-9]*)$/.test(token)) throw new PatchError(`invalid array index ${JSON.stringify(token)}`);
  const index = Number(token);
  if (index > array.length || (!forInsert && index === array.length)) throw new PatchError(`array index ${index} out of bounds`);
  return index;
}

function getAt(root: unknown, pointer: string): unknown {
  let current = root;
  for (const token of pointerTokens(pointer)) {
    if (Array.isArray(current)) current = current[arrayIndex(current, token, false)];
    else if (isRecord(current) && Object.hasOwn(current, token)) current = current[token];
    else throw new PatchError(`path ${JSON.stringify(pointer)} does not exist`);
  }
  return current;
}

function addAt(root: unknown, pointer: string, value: unknown): unknown {
  const tokens = pointerTokens(pointer);
  const { root: newRoot, parent } = cloneAlong(root, tokens);
  const last = tokens[tokens.length - 1];
  if (parent === undefined || last === undefined) return value;
  if (Array.isArray(parent)) parent.splice(arrayIndex(parent, last, true), 0, value);
  else parent[last] = value;
  return newRoot;
}

function removeAt(root: unknown, pointer: string): unknown {
  getAt(root, pointer);
  const tokens = pointerTokens(pointer);
  const { root: newRoot, parent } = cloneAlong(root, tokens);
  const last = tokens[tokens.length - 1];
  if (parent === undefined || last === undefined) throw new PatchError('cannot remove the whole document');
  if (Array.isArray(parent)) parent.splice(arrayIndex(parent, last, false), 1);
  else delete parent[last];
  return newRoot;
}

/**
 * Applies an RFC 6902 JSON patch (`add`, `remove`, `replace`, `move`, `copy`, `test`), all or nothing.
 *
 * @throws PatchError for a malformed operation, a missing path or a failed `test`.
 */
export function applyJsonPatch(target: unknown, operations: unknown): unknown {
  if (!Array.isArray(operations)) throw new PatchError('a JSON patch must be an array of operations');
  let doc = target;
  for (const op of operations as unknown[]) {
    if (!isRecord(op) || typeof op['op'] !== 'string' || typeof op['path'] !== 'string') {
      throw new PatchError('each JSON patch operation needs string "op" and "path"');
    }
    const path = op['path'];
    const from = typeof op['from'] === 'string' ? op['from'] : undefined;
    switch (op['op']) {
      case 'add':
        doc = addAt(doc, path, requireValue(op));
        break;
      case 'remove':
        doc = removeAt(doc, path);
        break;
      case 'replace':
        doc = addAt(removeAt(doc, path), path, requireValue(op));
        break;
      case 'move': {
        if (from === undefined) throw new PatchError('"move" needs "from"');
        const value = getAt(doc, from);
        doc = addAt(removeAt(doc, from), path, value);
        break;
      }
      case 'copy': {
        if (from === undefined) throw new PatchError('"copy" needs "from"');
        doc = addAt(doc, path, getAt(doc, from));
        break;
      }
      case 'test':
        if (!jsonEqual(getAt(doc, path), requireValue(op))) throw new PatchError(`test failed for path ${path}`);
        break;
      default:
        throw new PatchError(`unknown JSON patch operation ${JSON.stringify(op['op'])}`);
    }
  }
  return doc;
}

function requireValue(op: Record<string, unknown>): unknown {
  if (!Object.hasOwn(op, 'value')) throw new PatchError(`"${String(op['op'])}" needs "value"`);
  return op['value'];
}
