import { describe, expect, it } from '@jest/globals';
import type { KubeObject } from './objects.js';
import { resourceByName } from './resources.js';
import { parseFieldSelector, parseLabelSelector } from './selectors.js';
import { KubeApiError } from './status.js';

const labels = { app: 'web', tier: 'frontend', 'example.com/team': 'shop', replicas: '3', empty: '' };

describe('parseLabelSelector', () => {
  it.each([
    ['', true],
    ['app=web', true],
    ['app==web', true],
    ['app=api', false],
    ['app!=api', true],
    ['missing!=x', true],
    ['app in (web,api)', true],
    ['app in (api)', false],
    ['missing in (web)', false],
    ['app notin (api,db)', true],
    ['missing notin (x)', true],
    ['app notin (web)', false],
    ['app', true],
    ['missing', false],
    ['!missing', true],
    ['!app', false],
    ['example.com/team=shop', true],
    ['app=web,tier=frontend', true],
    ['app=web,tier=backend', false],
    ['  app = web , tier in ( frontend ) ', true],
    ['replicas>2', true],
    ['replicas<3', false],
    ['app>2', false],
    ['empty=', true],
    ['empty in (,x)', true],
    ['app in (x,)', false],
  ])('%j matches the labels: %s', (selector, expected) => {
    expect(parseLabelSelector(selector).matches(labels)).toBe(expected);
  });

  it('treats missing labels as an empty set', () => {
    expect(parseLabelSelector('!app').matches(undefined)).toBe(true);
    expect(parseLabelSelector('app').matches(undefined)).toBe(false);
  });

  it('reports whether it selects everything', () => {
    expect(parseLabelSelector('').empty).toBe(true);
    expect(parseLabelSelector('a=b').empty).toBe(false);
  });

  it.each([
    ['app=web,', "found 'end of string', expected: identifier"],
    ['app in web', "found 'web' expected: '('"],
    ['app in ()', "values set can't be empty"],
    ['app in (a b)', "found 'b', expected: ',' or ')'"],
    ['app ~ web', "found '~', expected: in, notin, =, ==, !=, gt, lt"],
    ['=web', "found '=', expected: identifier"],
    ['-app=web', 'key: Invalid value: "-app"'],
    ['app=-web', 'values[0][app]: Invalid value: "-web"'],
    ['Example.com/team=x', 'prefix part must be a lowercase RFC 1123 subdomain'],
    ['replicas>two', "the value must be an integer"],
    [`app=${'x'.repeat(64)}`, 'must be no more than 63 characters'],
  ])('rejects %j: %s', (selector, message) => {
    const parse = (): unknown => parseLabelSelector(selector);
    expect(parse).toThrow(KubeApiError);
    expect(parse).toThrow(message);
    try {
      parse();
    } catch (error) {
      expect((error as KubeApiError).httpStatus).toBe(400);
    }
  });
});

describe('parseFieldSelector', () => {
  const pods = resourceByName('pods');
  const nodes = resourceByName('nodes');
  if (pods === undefined || nodes === undefined) throw new Error('resources missing');
  const p: KubeObject = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'web-1', namespace: 'shop' },
    spec: { nodeName: 'node-a', hostNetwork: true },
    status: { phase: 'Running', podIP: '10.0.0.2' },
  };

  it.each([
    ['', true],
    ['metadata.name=web-1', true],
    ['metadata.name==web-1', true],
    ['metadata.name!=web-1', false],
    ['metadata.namespace=shop,spec.nodeName=node-a', true],
    ['spec.nodeName=node-b', false],
    ['spec.nodeName=', false],
    ['status.phase=Running', true],
    ['status.phase!=Pending', true],
    ['spec.hostNetwork=true', true],
    ['status.podIP=10.0.0.2', true],
    ['spec.restartPolicy=', true],
  ])('%j matches the pod: %s', (selector, expected) => {
    expect(parseFieldSelector(selector, pods).matches(p)).toBe(expected);
  });

  it('unescapes values', () => {
    const odd: KubeObject = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'a,b=c\\d' } };
    expect(parseFieldSelector('metadata.name=a\\,b\\=c\\\\d', pods).matches(odd)).toBe(true);
  });

  it('reports whether it selects everything', () => {
    expect(parseFieldSelector(' ', pods).empty).toBe(true);
    expect(parseFieldSelector('metadata.name=x', pods).empty).toBe(false);
  });

  it.each([
    ['spec.foo=x', pods, 'field label not supported: spec.foo'],
    ['metadata.namespace=x', nodes, 'field label not supported: metadata.namespace'],
    ['spec.nodeName=x', nodes, 'field label not supported: spec.nodeName'],
    ['metadata.name', pods, "invalid selector: 'metadata.name'; can't understand 'metadata.name'"],
    ['metadata.name=a\\x', pods, 'invalid escape sequence'],
    ['metadata.name=a=b', pods, "unescaped character '='"],
  ])('rejects %j', (selector, d, message) => {
    expect(() => parseFieldSelector(selector, d)).toThrow(message);
  });
});
