import { describe, expect, it } from '@jest/globals';
import { ListStreamParser } from './list-stream.js';

function parse(text: string, chunk = 7): { items: unknown[]; rest: Record<string, unknown> } {
  const items: unknown[] = [];
  const parser = new ListStreamParser((item) => items.push(item));
  for (let i = 0; i < text.length; i += chunk) parser.push(text.slice(i, i + chunk));
  return { items, rest: parser.finish() };
}

describe('ListStreamParser', () => {
  const list = {
    kind: 'PodList',
    apiVersion: 'v1',
    metadata: { resourceVersion: '42', continue: 'a,b{"}' },
    items: [{ metadata: { name: 'a', labels: { 'x]': 'y,"z' } }, spec: { containers: [{ ports: [1, 2] }] } }, { metadata: { name: 'b\\"' } }, {}],
  };

  it.each([1, 2, 7, 1000])('yields every item and the other fields, whatever the chunk size (%d)', (chunk) => {
    const { items, rest } = parse(JSON.stringify(list, null, chunk % 2 === 0 ? 2 : undefined), chunk);
    expect(items).toEqual(list.items);
    expect(rest).toEqual({ kind: 'PodList', apiVersion: 'v1', metadata: list.metadata });
  });

  it('reads fields after the items and an empty list', () => {
    expect(parse('{"items":[],"metadata":{"resourceVersion":"1"}}')).toEqual({ items: [], rest: { metadata: { resourceVersion: '1' } } });
    expect(parse('{ "metadata" : {} , "items" : [ ] }')).toEqual({ items: [], rest: { metadata: {} } });
  });

  it('treats an "items" that is not an array as an ordinary field', () => {
    expect(parse('{"items":null}')).toEqual({ items: [], rest: { items: null } });
  });

  it.each([
    ['[]', 'not a JSON object'],
    ['{"items":[{"a":1}', 'ended before its closing brace'],
    ['{"items":[1]} x', 'unexpected text after'],
    ['{"items":[1}', 'unbalanced'],
    ['{"a" 1}', 'unexpected'],
  ])('rejects %j', (text, reason) => {
    expect(() => parse(text)).toThrow(reason);
  });
});
