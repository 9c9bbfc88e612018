import { describe, expect, it } from '@jest/globals';
import { KubernetesErrorCode, SelectorError } from './errors.js';
import { rawNode, rawPod, rawService } from './fixtures.js';
import { slimNode, slimPod, slimService } from './objects.js';
import { compileObjectFilter, matchesFieldSelector, matchesLabelSelector, parseFieldSelector, parseLabelSelector } from './selector.js';

const labels = new Map([
  ['app', 'web'],
  ['tier', 'frontend'],
  ['app.kubernetes.io/name', 'web'],
  ['replicas', '3'],
  ['empty', ''],
  ['in', 'keyword'],
]);

function errorOf(parse: () => unknown): SelectorError {
  try {
    parse();
  } catch (err) {
    if (err instanceof SelectorError) return err;
    throw err;
  }
  throw new Error('expected a SelectorError');
}

describe('parseLabelSelector', () => {
  it.each([
    ['', true],
    ['   ', true],
    ['app=web', true],
    ['app==web', true],
    ['app = web', true],
    ['app!=web', false],
    ['app!=api', true],
    ['missing!=x', true],
    ['missing=x', false],
    ['app in (web,api)', true],
    ['app in (api, db)', false],
    ['app notin (api,db)', true],
    ['app notin(web)', false],
    ['missing notin (x)', true],
    ['app', true],
    ['missing', false],
    ['!missing', true],
    ['!app', false],
    ['app=web,tier=frontend', true],
    ['app=web,tier=backend', false],
    ['app.kubernetes.io/name=web', true],
    ['empty=', true],
    ['empty=,app=web', true],
    ['app=', false],
    ['empty in ()', true],
    ['app in (web,)', true],
    ['empty in (,x)', true],
    ['replicas>2', true],
    ['replicas>3', false],
    ['replicas<4', true],
    ['app>1', false],
    ['missing<5', false],
    ['in=keyword', true],
    ['app in (in, notin, web)', true],
  ])('%j selects the labels: %s', (selector, expected) => {
    expect(matchesLabelSelector(parseLabelSelector(selector), labels)).toBe(expected);
  });

  it('parses requirements into a plain structure', () => {
    expect(parseLabelSelector('a=b, c notin (y,x), !d, e, f>10')).toEqual({
      requirements: [
        { key: 'a', operator: 'in', values: ['b'] },
        { key: 'c', operator: 'notIn', values: ['x', 'y'] },
        { key: 'd', operator: 'notExists' },
        { key: 'e', operator: 'exists' },
        { key: 'f', operator: 'gt', value: 10n },
      ],
    });
  });

  it.each([
    ['app=web,', "found 'end of string', expected: identifier after ','"],
    [',app', "found ',', expected: !, identifier, or 'end of string'"],
    ['app web', "found 'web', expected: in, notin, =, ==, !=, gt, lt"],
    ['app in web', "found 'web', expected: '('"],
    ['app in (web', "found 'end of string', expected: ',' or ')'"],
    ['app in (web=)', "found '=', expected: ',' or ')'"],
    ['!app=web', "found '=', expected: ',' or 'end of string'"],
    ['!=web', "found '!=', expected: !, identifier, or 'end of string'"],
    ['app=(web)', "found '(', expected: identifier"],
    ['-app=web', 'invalid label key "-app": the name must be'],
    ['a/b/c=d', 'invalid label key "a/b/c": a qualified name may contain at most one \'/\''],
    ['Example.com/app=x', 'invalid label key "Example.com/app": the prefix must be a DNS subdomain'],
    [`${'a'.repeat(64)}=x`, 'the name must be 1-63'],
    ['app=web!', "found '!', expected: ',' or 'end of string'"],
    ['app=-web', 'invalid label value "-web"'],
    [`app=${'v'.repeat(64)}`, 'invalid label value'],
    ['replicas>three', "for 'Gt', 'Lt' operators, the value must be an integer"],
    ['replicas>99999999999999999999', "for 'Gt', 'Lt' operators, the value must be an integer"],
  ])('rejects %j', (selector, reason) => {
    const err = errorOf(() => parseLabelSelector(selector));
    expect({ code: err.code, selector: err.selector }).toEqual({ code: KubernetesErrorCode.badSelector, selector });
    expect(err.reason).toContain(reason);
  });
});

describe('parseFieldSelector', () => {
  const fields = new Map([
    ['metadata.name', 'web'],
    ['metadata.namespace', 'shop'],
    ['status.phase', 'Running'],
    ['spec.nodeName', 'a,b=c\\d'],
  ]);

  it.each([
    ['', true],
    ['metadata.name=web', true],
    ['metadata.name==web', true],
    ['metadata.name!=web', false],
    ['metadata.namespace!=kube-system', true],
    ['metadata.name=web,status.phase=Running', true],
    ['metadata.name=web,status.phase=Failed', false],
    ['metadata.name=web,', true],
    ['status.podIP=', true],
    ['status.podIP!=', false],
    ['spec.nodeName=a\\,b\\=c\\\\d', true],
    ['metadata.name =web', false],
  ])('%j selects the fields: %s', (selector, expected) => {
    expect(matchesFieldSelector(parseFieldSelector(selector), fields)).toBe(expected);
  });

  it('parses terms into a plain structure', () => {
    expect(parseFieldSelector('a==b,c!=d\\,e')).toEqual({
      terms: [
        { field: 'a', operator: '=', value: 'b' },
        { field: 'c', operator: '!=', value: 'd,e' },
      ],
    });
  });

  it.each([
    ['metadata.name', "can't understand 'metadata.name'"],
    ['a=b=c', "unescaped '=' in a value"],
    ['a=b\\x', "invalid escape sequence '\\x'"],
    ['a=b\\', "invalid escape sequence '\\'"],
  ])('rejects %j', (selector, reason) => {
    const err = errorOf(() => parseFieldSelector(selector));
    expect(err.reason).toContain(reason);
  });
});

describe('compileObjectFilter', () => {
  const pod = slimPod(rawPod());
  const service = slimService(rawService());
  const node = slimNode(rawNode('node-a'));

  it.each([
    { kind: 'Pod', object: pod, label: 'app=web', field: 'spec.nodeName=node-a,status.phase=Running', expected: true },
    { kind: 'Pod', object: pod, label: 'app=web', field: 'metadata.namespace!=shop', expected: false },
    { kind: 'Pod', object: pod, label: 'app.kubernetes.io/name in (api)', expected: false },
    { kind: 'Pod', object: pod, field: 'status.podIP=10.244.1.17', expected: true },
    { kind: 'Service', object: service, label: 'app', field: 'metadata.name=web', expected: true },
    { kind: 'Node', object: node, label: 'kubernetes.io/os=linux', field: 'metadata.name=node-b', expected: false },
    { kind: 'Node', object: node, expected: true },
  ] as const)('$kind: label $label, field $field selects: $expected', ({ object, expected, ...options }) => {
    expect(compileObjectFilter(options)(object)).toBe(expected);
  });

  it.each([
    ['Node', 'metadata.namespace=x'],
    ['Service', 'spec.nodeName=node-a'],
    ['Pod', 'spec.restartPolicy=Always'],
  ] as const)('rejects, for a %s, the field selector %j it cannot evaluate', (kind, field) => {
    const err = errorOf(() => compileObjectFilter({ kind, field }));
    expect(err.reason).toContain(`field label not supported for ${kind}`);
  });

  it('rejects a bad label selector before looking at any object', () => {
    expect(() => compileObjectFilter({ kind: 'Pod', label: 'app in' })).toThrow(SelectorError);
  });
});
