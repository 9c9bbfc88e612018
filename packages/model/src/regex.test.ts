import { describe, expect, it } from '@jest/globals';
import { Re2Regex, RegexSyntaxError } from './regex.js';

const r = String.raw;

function compileError(pattern: string): RegexSyntaxError {
  try {
    Re2Regex.compile(pattern);
  } catch (err) {
    if (err instanceof RegexSyntaxError) return err;
    throw err;
  }
  throw new Error(`expected ${JSON.stringify(pattern)} to be rejected`);
}

describe('Re2Regex accepts RE2 syntax with RE2 semantics', () => {
  // [pattern, inputs that match the whole pattern, inputs that do not]
  it.each<[string, string[], string[]]>([
    // Anchoring: Prometheus compiles ^(?s:pattern)$.
    ['foo', ['foo'], ['foobar', 'xfoo', 'FOO', '']],
    ['(.*)', ['', 'anything', 'a\nb'], []],
    ['f|o', ['f', 'o'], ['fo', 'foo']],
    ['a^b', [], ['a^b', 'ab']],
    [r`\Aa\z`, ['a'], ['ab']],
    // Dot: any code point, including \n (the wrapper sets s); without s, everything but \n.
    ['.', ['\n', '\r', 'é', '😀', '\u2028'], ['', 'ab']],
    ['(?-s).', ['a', '\r', '\u2028'], ['\n']],
    ['(?-s:.).', ['a\n'], ['\na']],
    ['line1.*line2', ['line1\nline2'], ['line1\n']],
    // Case folding, as Go's simple folding orbits.
    ['(?i)foo', ['FOO', 'fOo', 'foo'], ['fo']],
    ['(?i)k', ['k', 'K', '\u212a'], ['x']],
    ['(?i)s', ['s', 'S', 'ſ'], ['ß']],
    ['(?i)ı', ['ı'], ['I', 'i']],
    ['(?i)ǅ', ['Ǆ', 'ǅ', 'ǆ'], ['D']],
    ['(?i)straße', ['STRAẞE', 'strasse'.slice(0, 4) + 'ße'], ['STRASSE']],
    ['a(?i)b', ['ab', 'aB'], ['AB']],
    ['(?i:a)b', ['Ab'], ['AB']],
    ['(?i)a(?-i)b', ['Ab'], ['AB']],
    ['(?i-s:a.)', ['Ab'], ['A\n']],
    ['(?:a(?i)b|c)d', ['aBd', 'Cd'], ['cD', 'ABd']],
    ['(?i)[k]', ['\u212a', 'K'], ['j']],
    ['(?i)[^k]', ['x'], ['k', 'K', '\u212a']],
    ['(?i)[a-c]+', ['AbC'], ['d']],
    [r`(?i)\w`, ['ſ', '\u212a', 'Z'], ['é']],
    [r`(?i)\W`, ['é'], ['ſ', '\u212a']],
    [r`(?i)\p{Greek}`, ['Ω', 'µ'], ['a']],
    [r`(?i)\PL`, ['1'], ['a', '\u0345']],
    // Multi-line anchors.
    ['(?m)a$\n^b', ['a\nb'], ['ab']],
    ['(?m:^a$)', ['a'], ['b']],
    ['(?m)(a$)?\n?b', ['a\nb', 'b'], ['ab']],
    // Ungreedy and lazy repetition (matching is anchored, so only submatches differ).
    ['(?U)a+', ['aaa'], ['']],
    ['a+?b', ['aab'], ['b']],
    // Perl classes are ASCII, as in RE2.
    [r`\d+`, ['0123'], ['١٢', '']],
    [r`\s`, [' ', '\t', '\n', '\f', '\r'], ['\v', '\u00a0', '\u2003']],
    [r`\S`, ['\v', '\u00a0', 'a'], [' ']],
    [r`\w+`, ['a_Z9'], ['é', 'ſ']],
    [r`\W`, ['é', '-'], ['a', '_']],
    [r`.*\bfoo\b.*`, ['a foo b', 'éfooé'], ['xfoo', 'foox']],
    [r`.*\Bfoo.*`, ['xfoo'], ['foo', ' foo']],
    // Escapes.
    [r`\Qa.b\E+`, ['a.b', 'a.bbb'], ['axb']],
    [r`x\x41\x{1F600}\101`, ['xA😀A'], ['x']],
    [r`\12\0\x{10FFFF}`, ['\n\u0000\u{10ffff}'], ['\n']],
    [r`\a\f\t\n\r\v`, ['\u0007\f\t\n\r\v'], []],
    [r`\_\-\.\ \#\*`, ['_-. #*'], []],
    // Unicode classes.
    [r`\pL+`, ['héllo', 'Ωμέγα'], ['1', '_']],
    [r`\PL`, ['1', '_'], ['a']],
    [r`\p{Greek}+`, ['αβγ'], ['abc']],
    [r`\p{^Greek}`, ['a'], ['α']],
    [r`\P{^Greek}`, ['α'], ['a']],
    [r`\pN\p{Nd}\p{Lu}`, ['Ⅷ7A'], ['a7A']],
    [r`\p{Letter}\p{greek}\p{Old_Italic}`, ['aα𐌀'], []],
    [r`\p{Any}\p{ASCII}`, ['\n~'], ['\n\u0080']],
    [r`\p{Assigned}`, ['a'], ['\u0378']],
    [r`\pC`, ['\u0000', '\u200b'], ['\u0378', 'a']],
    // Bracket expressions.
    ['[[:alpha:]]+', ['abcXYZ'], ['é', '1']],
    ['[[:^digit:]]', ['a'], ['5']],
    ['[[:space:]]', ['\v', ' '], ['\u00a0']],
    ['[[:word:][:punct:]]+', ['a_!~'], [' ']],
    ['[^a]', ['\n', 'b', '😀'], ['a']],
    ['[]a]', [']', 'a'], ['b']],
    ['[^]a]', ['b'], [']', 'a']],
    ['[a-]', ['-', 'a'], ['b']],
    ['[-a]', ['-', 'a'], ['b']],
    [r`[\d-z]`, ['5', '-', 'z'], ['a']],
    ['[a-c-e]', ['b', '-', 'e'], ['d']],
    [r`[\pL\d]`, ['a', '5'], ['-']],
    [r`[^\PL\d]`, ['a'], ['5', '-']],
    [r`[\s\S]`, ['\n', 'x'], ['']],
    [r`[\x{1F600}-\x{1F64F}]`, ['😃'], ['a']],
    ['[[]', ['['], []],
    ['[(?i)k]', ['k', '(', '?', 'i', ')'], ['K']],
    // Repetition, and braces that are not a repetition.
    ['a{2}', ['aa'], ['a', 'aaa']],
    ['a{2,}', ['aa', 'aaaa'], ['a']],
    ['a{1,2}b{0}', ['a', 'aa'], ['aaa', 'ab']],
    ['a{,3}', ['a{,3}'], ['aaa']],
    ['a{01}', ['a{01}'], ['a']],
    ['a{1', ['a{1'], ['a']],
    ['{', ['{'], []],
    ['a{1000}', ['a'.repeat(1000)], ['a'.repeat(999)]],
    ['(a{10}){100}', ['a'.repeat(1000)], []],
    ['((a{2}){2}){250}', ['a'.repeat(1000)], []],
    ['^*a$*', ['a'], []],
    [r`\b+a`, ['a'], []],
    ['a*(?i)*', ['', 'aaa'], ['b']],
    ['(?:a*)*', ['', 'aa'], ['b']],
    ['(|a)+', ['', 'aa'], ['b']],
    // Groups.
    ['(?)a', ['a'], []],
    ['(?:)', [''], ['a']],
    ['(?P<first>a)(?<second>b)(?P<1x>c)', ['abc'], []],
    // Prometheus concatenates the wrapper as text, so a stray ) closes it early.
    ['a)|(b', ['a', 'axyz', 'xyzb'], ['xyz']],
    [')(', [''], ['a']],
  ])('%j', (pattern, matches, nonMatches) => {
    const re = Re2Regex.compile(pattern);
    for (const input of matches) expect([input, re.test(input)]).toEqual([input, true]);
    for (const input of nonMatches) expect([input, re.test(input)]).toEqual([input, false]);
    expect(re.source).toBe(pattern);
  });

  it('numbers capture groups as RE2 does and keeps their names aside', () => {
    const re = Re2Regex.compile('(a)(?:b)(?P<n>c)((d))(?<1x>e)');
    expect(re.groupNames).toEqual(['', '', 'n', '', '', '1x']);
    const m = re.exec('abcde');
    expect(m === null ? null : [...m]).toEqual(['abcde', 'a', 'c', 'd', 'd', 'e']);
  });

  it('allows repeated group names, as Go does', () => {
    const re = Re2Regex.compile('(?P<n>a)|(?P<n>b)');
    const m = re.exec('b');
    expect(m).not.toBeNull();
    if (m !== null) expect(re.expand('$n', m)).toBe('b');
  });

  it('prefers submatches as a backtracking engine would (leftmost-first)', () => {
    const cases: [string, string, string][] = [
      ['(a+)(a*)', 'aaa', 'aaa|'],
      ['(a+?)(a*)', 'aaa', 'a|aa'],
      ['(?U)(a+)(a*)', 'aaa', 'a|aa'],
      ['(?U)(a+?)(a*)', 'aaa', 'aaa|'],
      ['(a|ab)(c|bcd)(d*)', 'abcd', 'a|bcd|'],
      ['(.*)-(.*)', 'a-b-c', 'a-b|c'],
    ];
    for (const [pattern, input, groups] of cases) {
      const re = Re2Regex.compile(pattern);
      const m = re.exec(input);
      expect([pattern, m === null ? null : m.slice(1).join('|')]).toEqual([pattern, groups]);
    }
  });
});

describe('Re2Regex rejects what RE2 rejects, with its reason', () => {
  // [pattern, Go's error code text, the quoted part of the pattern]
  it.each<[string, string, string]>([
    ['a**', 'invalid nested repetition operator', '**'],
    ['a*+', 'invalid nested repetition operator', '*+'],
    ['a++', 'invalid nested repetition operator', '++'],
    ['a?*', 'invalid nested repetition operator', '?*'],
    ['a*?*', 'invalid nested repetition operator', '*?*'],
    ['a{2}*', 'invalid nested repetition operator', '{2}*'],
    ['x{2}{3}', 'invalid nested repetition operator', '{2}{3}'],
    ['*', 'missing argument to repetition operator', '*'],
    ['+a', 'missing argument to repetition operator', '+'],
    ['a|?', 'missing argument to repetition operator', '?'],
    ['(*)', 'missing argument to repetition operator', '*'],
    ['{2}', 'missing argument to repetition operator', '{2}'],
    ['(?i)*', 'missing argument to repetition operator', '*'],
    ['a{1001}', 'invalid repeat count', '{1001}'],
    ['a{0,1001}', 'invalid repeat count', '{0,1001}'],
    ['a{2,1}', 'invalid repeat count', '{2,1}'],
    ['a{100000000}', 'invalid repeat count', '{100000000}'],
    ['(a{10}){101}', 'invalid repeat count', '{101}'],
    ['((a{2}){2}){251}', 'invalid repeat count', '{251}'],
    [r`\1`, 'invalid escape sequence', r`\1`],
    [r`(a)\1`, 'invalid escape sequence', r`\1`],
    [r`\8`, 'invalid escape sequence', r`\8`],
    [r`\e`, 'invalid escape sequence', r`\e`],
    [r`\u0041`, 'invalid escape sequence', r`\u`],
    [r`\cA`, 'invalid escape sequence', r`\c`],
    [r`\Z`, 'invalid escape sequence', r`\Z`],
    [r`\G`, 'invalid escape sequence', r`\G`],
    [r`\k<a>`, 'invalid escape sequence', r`\k`],
    [r`\é`, 'invalid escape sequence', r`\é`],
    [r`\C`, 'invalid escape sequence', r`\C`],
    [r`\xZZ`, 'invalid escape sequence', r`\xZZ`],
    [r`\x{}`, 'invalid escape sequence', r`\x{}`],
    [r`\x{110000}`, 'invalid escape sequence', r`\x{110000`],
    [r`[\b]`, 'invalid escape sequence', r`\b`],
    [r`[a-\d]`, 'invalid escape sequence', r`\d`],
    ['(?=a)', 'invalid or unsupported Perl syntax', '(?='],
    ['(?!a)', 'invalid or unsupported Perl syntax', '(?!'],
    ['(?>a)', 'invalid or unsupported Perl syntax', '(?>'],
    ['(?#c)', 'invalid or unsupported Perl syntax', '(?#'],
    ['(?P=n)', 'invalid or unsupported Perl syntax', '(?P'],
    ['(?x)a', 'invalid or unsupported Perl syntax', '(?x'],
    ['(?i-)a', 'invalid or unsupported Perl syntax', '(?i-)'],
    ['(?--i)a', 'invalid or unsupported Perl syntax', '(?--'],
    ["(?'n'a)", 'invalid or unsupported Perl syntax', "(?'"],
    ['(?<=a)', 'invalid named capture', '(?<=a)'],
    ['(?<!a)b>', 'invalid named capture', '(?<!a)b>'],
    ['(?P<>a)', 'invalid named capture', '(?P<>'],
    ['(?P<a-b>x)', 'invalid named capture', '(?P<a-b>'],
    ['(', 'missing closing )', '('],
    ['a(b', 'missing closing )', 'a(b'],
    ['(?i:a', 'missing closing )', '(?i:a'],
    [r`\Qabc`, 'missing closing )', r`\Qabc`],
    ['a\\', 'missing closing )', 'a\\'],
    [')', 'unexpected )', ')'],
    ['a))', 'unexpected )', 'a))'],
    ['[a', 'missing closing ]', '[a'],
    ['[]', 'missing closing ]', '[]'],
    ['[^]', 'missing closing ]', '[^]'],
    ['[z-a]', 'invalid character class range', 'z-a'],
    ['[[:foo:]]', 'invalid character class range', '[:foo:]'],
    [r`\p{Foo}`, 'invalid character class range', r`\p{Foo}`],
    [r`\p{Grek}`, 'invalid character class range', r`\p{Grek}`],
    [r`\pX`, 'invalid character class range', r`\pX`],
    [r`\p{L`, 'invalid character class range', r`\p{L`],
  ])('%j: %s', (pattern, reason, detail) => {
    const err = compileError(pattern);
    expect(err.code).toBe('PROMFLEET_INVALID_REGEX');
    expect(err.reason).toBe(reason);
    expect(err.detail).toBe(detail);
    expect(err.message).toBe(`error parsing regexp: ${reason}: \`${detail}\``);
    expect(err.pattern).toBe(pattern);
  });

  it.each<[string, number]>([
    [r`ab\e`, 2],
    ['(?=a)', 0],
    ['x{2}{3}', 1],
    ['ab[z-a]', 3],
    ['a(b', 3],
  ])('reports the position of the problem in %j as %d', (pattern, position) => {
    expect(compileError(pattern).position).toBe(position);
  });

  it('rejects nesting deeper than RE2 allows', () => {
    const deep = '('.repeat(1001) + 'a' + ')'.repeat(1001);
    expect(compileError(deep).reason).toBe('expression nests too deeply');
    expect(Re2Regex.compile('('.repeat(900) + 'a' + ')'.repeat(900)).test('a')).toBe(true);
  });
});

describe('Re2Regex.expand', () => {
  // [pattern, input, template, expansion]
  const cases: [string, string, string, string][] = [
    ['(b)(c)?', 'b', '$1-$2-$3', 'b--'],
    ['(b)', 'b', '$1x', ''],
    ['(b)', 'b', '${1}x', 'bx'],
    ['(b)', 'b', '$0', 'b'],
    ['(b)', 'b', '$$1', '$1'],
    ['(b)', 'b', 'a$', 'a$'],
    ['(b)', 'b', '$', '$'],
    ['(b)', 'b', '${1', '${1'],
    ['(b)', 'b', '${}', '${}'],
    ['(b)', 'b', '$+$-', '$+$-'],
    ['(b)', 'b', '$01', ''],
    ['(b)', 'b', '${01}', ''],
    ['(b)', 'b', '$1é', ''],
    ['(b)', 'b', '${1}é', 'bé'],
    ['(b)', 'b', 'no references', 'no references'],
    ['(?P<first>\\w+)-(?<second>\\w+)', 'ab-cd', '$second.$first', 'cd.ab'],
    ['(?P<first>\\w+)-(?<second>\\w+)', 'ab-cd', '${second}x$secondx', 'cdx'],
    ['(?P<1a>x)', 'x', '${1a}|$1a|$1', 'x|x|x'],
    ['(a)|(b)', 'b', '[$1][$2]', '[][b]'],
    ['f(.*)', 'foo', 'ch${1}-ch${1}', 'choo-choo'],
    ['(.)(.)(.)(.)(.)(.)(.)(.)(.)(.)(.)', 'abcdefghijk', '$11|${1}1|$10', 'k|a1|j'],
  ];
  it.each(cases.map(([pattern, input, template, expected]) => ({ pattern, input, template, expected })))(
    '$pattern on $input expands $template to $expected',
    ({ pattern, input, template, expected }) => {
      const re = Re2Regex.compile(pattern);
      const m = re.exec(input);
      expect(m).not.toBeNull();
      if (m !== null) expect(re.expand(template, m)).toBe(expected);
    },
  );
});

describe('translation', () => {
  it.each<[string, string]>([
    ['(.*)', '^([^]*)$'],
    ['a.b', '^(?:a[^]b)$'],
    ['(?-s).', '^[^\\n]$'],
    [r`\s`, '^[\\u{9}-\\u{a}\\u{c}-\\u{d}\\u{20}]$'],
    ['(?m)^', '^(?<![^\\n])$'],
  ])('%j becomes the JavaScript pattern %j', (pattern, js) => {
    expect(Re2Regex.compile(pattern).jsSource).toBe(js);
  });

  it('agrees with JavaScript on patterns both read the same way', () => {
    const patterns = ['(a|b)*c', '[a-c]+x?', 'a{2,3}(b|)', '(?:ab|a)(bc|c)', 'x*y+z?', '[^ab]{1,2}'];
    const alphabet = ['a', 'b', 'c', 'x', 'y', 'z'];
    const inputs: string[] = [''];
    for (let len = 1; len <= 4; len++) {
      for (const prev of inputs.filter((s) => s.length === len - 1)) {
        for (const ch of alphabet) inputs.push(prev + ch);
      }
    }
    for (const pattern of patterns) {
      const ours = Re2Regex.compile(pattern);
      const js = new RegExp(`^(?:${pattern})$`, 'su');
      for (const input of inputs) expect([pattern, input, ours.test(input)]).toEqual([pattern, input, js.test(input)]);
    }
  });
});
