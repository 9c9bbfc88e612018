import { describe, expect, it } from '@jest/globals';
import { matchesFieldSelector, matchesLabelSelector, parseFieldSelector, parseLabelSelector, SelectorError } from './selector.js';

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
    expect({ code: err.code, selector: err.selector }).toEqual({ code: 'PROMFLEET_K8S_BAD_SELECTOR', selector });
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

describe('SelectorError.problem', () => {
  it.each([
    ['app in (a b)', { kind: 'unexpectedToken', expected: 'setSeparator', found: 'b', key: 'app', operator: 'in' }],
    ['app in (a', { kind: 'unexpectedToken', expected: 'setSeparator', found: undefined, key: 'app', operator: 'in' }],
    ['!app=web', { kind: 'unexpectedToken', expected: 'separator', found: '=', key: 'app', operator: '!' }],
    ['app=web x', { kind: 'unexpectedToken', expected: 'separator', found: 'x' }],
    ['app=web,', { kind: 'unexpectedToken', expected: 'keyAfterComma', found: undefined }],
    ['app notin x', { kind: 'unexpectedToken', expected: 'openParen', found: 'x', key: 'app', operator: 'notin' }],
    ['n>(', { kind: 'unexpectedToken', expected: 'value', found: '(', key: 'n', operator: '>' }],
    ['app(', { kind: 'unexpectedToken', expected: 'operator', found: '(', key: 'app' }],
    ['a/b/c', { kind: 'invalidKey', key: 'a/b/c', rule: 'oneSlash' }],
    ['n>-5x', { kind: 'notAnInteger', operator: '>', value: '-5x' }],
    ['n<-5', { kind: 'invalidValue', value: '-5' }],
  ])('says what is wrong with the label selector %j as data', (selector, problem) => {
    expect(errorOf(() => parseLabelSelector(selector)).problem).toEqual(problem);
  });

  it.each([
    ['a=b,c', { kind: 'unreadableTerm', term: 'c' }],
    ['a=b\\x', { kind: 'badEscape', term: 'a=b\\x', sequence: '\\x' }],
    ['a=b,c=d,e', { kind: 'unreadableTerm', term: 'e' }],
    ['a\\=b=c', { kind: 'unescapedValueChar', term: 'a\\=b=c', char: '=' }],
  ])('says what is wrong with the field selector %j as data', (selector, problem) => {
    expect(errorOf(() => parseFieldSelector(selector)).problem).toEqual(problem);
  });

  it('leaves field names alone, as fields.ParseSelector does', () => {
    expect(parseFieldSelector('=x,a\\x!=y').terms).toEqual([
      { field: '', operator: '=', value: 'x' },
      { field: 'a\\x', operator: '!=', value: 'y' },
    ]);
  });
});
