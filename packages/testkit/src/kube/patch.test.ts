import { describe, expect, it } from '@jest/globals';
import { applyJsonPatch, applyMergePatch, PatchError } from './patch.js';

describe('applyMergePatch (RFC 7386)', () => {
  it.each([
    ['replaces a value', { a: 'b' }, { a: 'c' }, { a: 'c' }],
    ['adds a key', { a: 'b' }, { b: 'c' }, { a: 'b', b: 'c' }],
    ['deletes with null', { a: 'b', b: 'c' }, { a: null }, { b: 'c' }],
    ['merges nested objects', { a: { b: 'c', d: 'e' } }, { a: { b: 'x' } }, { a: { b: 'x', d: 'e' } }],
    ['replaces arrays whole', { a: [1, 2] }, { a: [3] }, { a: [3] }],
    ['replaces a scalar with an object', { a: 'b' }, { a: { c: 'd' } }, { a: { c: 'd' } }],
    ['drops nulls inside new objects', {}, { a: { b: null, c: 1 } }, { a: { c: 1 } }],
    ['replaces the document with a non-object patch', { a: 1 }, ['x'], ['x']],
  ])('%s', (_name, target, patch, expected) => {
    expect(applyMergePatch(target, patch)).toEqual(expected);
  });

  it('leaves the target untouched and shares what it does not change', () => {
    const untouched = { deep: [1, 2, 3] };
    const target = { keep: untouched, change: { x: 1 } };
    const result = applyMergePatch(target, { change: { x: 2 } }) as typeof target;
    expect(target.change.x).toBe(1);
    expect(result.keep).toBe(untouched);
  });
});

describe('applyJsonPatch (RFC 6902)', () => {
  const doc = { metadata: { labels: { app: 'web' } }, list: ['a', 'b'] };

  it.each([
    ['add a key', [{ op: 'add', path: '/metadata/labels/tier', value: 'x' }], { metadata: { labels: { app: 'web', tier: 'x' } }, list: ['a', 'b'] }],
    ['add to an array end', [{ op: 'add', path: '/list/-', value: 'c' }], { metadata: { labels: { app: 'web' } }, list: ['a', 'b', 'c'] }],
    ['insert into an array', [{ op: 'add', path: '/list/0', value: 'z' }], { metadata: { labels: { app: 'web' } }, list: ['z', 'a', 'b'] }],
    ['remove', [{ op: 'remove', path: '/metadata/labels/app' }], { metadata: { labels: {} }, list: ['a', 'b'] }],
    ['replace', [{ op: 'replace', path: '/list/1', value: 'y' }], { metadata: { labels: { app: 'web' } }, list: ['a', 'y'] }],
    ['move', [{ op: 'move', from: '/list/0', path: '/first' }], { metadata: { labels: { app: 'web' } }, list: ['b'], first: 'a' }],
    ['copy', [{ op: 'copy', from: '/metadata/labels/app', path: '/app' }], { metadata: { labels: { app: 'web' } }, list: ['a', 'b'], app: 'web' }],
    ['test then replace', [{ op: 'test', path: '/list', value: ['a', 'b'] }, { op: 'replace', path: '/list', value: [] }], { metadata: { labels: { app: 'web' } }, list: [] }],
    ['escaped pointer', [{ op: 'add', path: '/metadata/labels/example.com~1team', value: 'shop' }], { metadata: { labels: { app: 'web', 'example.com/team': 'shop' } }, list: ['a', 'b'] }],
  ])('%s', (_name, ops, expected) => {
    expect(applyJsonPatch(doc, ops)).toEqual(expected);
    expect(doc).toEqual({ metadata: { labels: { app: 'web' } }, list: ['a', 'b'] });
  });

  it.each([
    ['a failed test', [{ op: 'test', path: '/list/0', value: 'b' }]],
    ['a missing path', [{ op: 'remove', path: '/nope' }]],
    ['an index past the end', [{ op: 'replace', path: '/list/2', value: 1 }]],
    ['an unknown op', [{ op: 'frobnicate', path: '/list' }]],
    ['a missing value', [{ op: 'add', path: '/x' }]],
    ['a non-array patch', { op: 'add' }],
  ])('rejects %s', (_name, ops) => {
    expect(() => applyJsonPatch(doc, ops)).toThrow(PatchError);
  });
});
