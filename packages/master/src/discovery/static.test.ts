import { describe, expect, it } from '@jest/globals';
import { labelsFromObject, labelsToObject } from '@promfleet/model';
import { FileSDError, matchGlob, parseFileSD, staticGroups } from './static.js';

const plain = (groups: ReturnType<typeof parseFileSD>) =>
  groups.map((g) => ({ source: g.source, targets: g.targets.map((t) => labelsToObject(t)), labels: labelsToObject(g.labels) }));

describe('staticGroups', () => {
  it('makes one group per entry, sourced by index, each target an __address__', () => {
    const groups = staticGroups([
      { targets: ['a:1', 'b:2'], labels: labelsFromObject({ env: 'prod' }) },
      { targets: [], labels: new Map() },
    ]);
    expect(plain(groups)).toEqual([
      { source: '0', targets: [{ __address__: 'a:1' }, { __address__: 'b:2' }], labels: { env: 'prod' } },
      { source: '1', targets: [], labels: {} },
    ]);
  });
});

describe('parseFileSD', () => {
  it.each([
    ['targets.json', '[{"targets":["a:1"],"labels":{"env":"x"}},{"targets":["b:2","c:3"]}]'],
    ['targets.yml', '- targets: [a:1]\n  labels:\n    env: x\n- targets:\n    - b:2\n    - c:3\n'],
  ])('reads %s with sources <path>:<index> and __meta_filepath', (path, text) => {
    expect(plain(parseFileSD(text, `/etc/sd/${path}`))).toEqual([
      { source: `/etc/sd/${path}:0`, targets: [{ __address__: 'a:1' }], labels: { __meta_filepath: `/etc/sd/${path}`, env: 'x' } },
      { source: `/etc/sd/${path}:1`, targets: [{ __address__: 'b:2' }, { __address__: 'c:3' }], labels: { __meta_filepath: `/etc/sd/${path}` } },
    ]);
  });

  it('takes the extension case-insensitively, as Go does', () => {
    expect(parseFileSD('[{"targets":["a:1"]}]', 'T.JSON')).toHaveLength(1);
    expect(parseFileSD('- targets: [a:1]\n', 't.YML')).toHaveLength(1);
  });

  it('reads an empty file as no groups', () => {
    expect(parseFileSD('', 'x.yaml')).toEqual([]);
  });

  it.each([
    ['x.txt', '[]', 'x.txt: retrieval target groups from a file needs the .json, .yml or .yaml extension'],
    ['x.json', '{', 'x.json: invalid JSON: '],
    ['x.json', '{"targets":[]}', 'x.json: expected a list of target groups'],
    ['x.yml', '- targets: [a:1]\n- targets: 7\n', 'x.yml:2: group 1: "targets" must be a list of strings'],
    ['x.yml', '- targets: [a:1]\n  lables: {a: b}\n', 'x.yml:2: group 0: unknown field "lables"'],
    ['x.yml', '- labels: {a: [1]}\n', 'x.yml:1: group 0: label "a" must have a string value'],
    ['x.yml', '- targets: [a:1]\n  targets: [b:1]\n', 'x.yml:2: Map keys must be unique'],
    ['x.json', '[{"labels":{"":"v"}}]', 'x.json: group 0: invalid label name ""'],
  ])('rejects %s %j: %s', (path, text, message) => {
    expect(() => parseFileSD(text, path)).toThrow(FileSDError);
    expect(() => parseFileSD(text, path)).toThrow(message);
  });
});

describe('matchGlob', () => {
  it.each([
    ['*.json', 'a.json', true],
    ['*.json', 'a.yml', false],
    ['*.json', '.json', true],
    ['node-?.yml', 'node-1.yml', true],
    ['node-?.yml', 'node-10.yml', false],
    ['[ab]*.yml', 'b1.yml', true],
    ['[^ab]*.yml', 'b1.yml', false],
    ['[a-c].json', 'c.json', true],
    ['a.json', 'a.json', true],
    ['a+b(1).json', 'a+b(1).json', true],
    ['\\*.json', '*.json', true],
    ['\\*.json', 'x.json', false],
  ])('%s matches %s: %s', (pattern, name, expected) => {
    expect(matchGlob(pattern, name)).toBe(expected);
  });
});
