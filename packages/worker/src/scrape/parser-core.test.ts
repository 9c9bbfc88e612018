import { describe, expect, it } from '@jest/globals';
import { detach, formatOpenMetricsFloat, parseFloatToken, unescape } from './parser-core.js';

describe('parseFloatToken (Prometheus parseFloat: Go strconv.ParseFloat without p, P and _)', () => {
  const read = (s: string) => parseFloatToken(`<${s}>`, 1, s.length + 1);

  it.each([
    ['0', 0],
    ['-0', -0],
    ['1', 1],
    ['+1', 1],
    ['-1', -1],
    ['123456789012345', 123456789012345],
    ['1234567890123456789', 1.2345678901234568e18],
    ['0.1', 0.1],
    ['0.3', 0.3],
    ['.5', 0.5],
    ['5.', 5],
    ['-.5e-3', -0.0005],
    ['1e22', 1e22],
    ['1e23', 1e23],
    ['1.7976931348623157e308', 1.7976931348623157e308],
    ['4.9e-324', 5e-324],
    ['1e-400', 0],
    ['0e99999', 0],
    ['000.000100', 0.0001],
    ['2.2250738585072011e-308', 2.225073858507201e-308],
    ['9007199254740993', 9007199254740992],
    ['inf', Infinity],
    ['-INF', -Infinity],
    ['+Infinity', Infinity],
    ['NaN', NaN],
    ['nAn', NaN],
  ])('reads %s', (s, value) => {
    expect(read(s)).toBe(value);
  });

  it('agrees with Number() on every decimal it takes, correctly rounded', () => {
    let seed = 7;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (let i = 0; i < 5000; i++) {
      const digits = String(Math.floor(random() * 10 ** (1 + Math.floor(random() * 17))));
      const point = Math.floor(random() * (digits.length + 1));
      const exponent = random() < 0.5 ? '' : `e${Math.floor(random() * 60) - 30}`;
      const s = `${random() < 0.3 ? '-' : ''}${digits.slice(0, point)}.${digits.slice(point)}${exponent}`;
      expect([s, read(s)]).toEqual([s, Number(s)]);
    }
  });

  it.each(['', '+', '-', '.', 'e1', '1e', '1e+', '0x1F', '0x1p3', '1_000', '1p3', '+NaN', '-nan', 'infin', 'infinityy', 'Infinit', '1.2.3', '1e1.5', ' 1', '1 ', '1e400', '-1e400', '0b101', 'Infinity1'])(
    'rejects %j',
    (s) => {
      expect(read(s)).toBeUndefined();
    },
  );
});

describe('formatOpenMetricsFloat (Prometheus FormatOpenMetricsFloat)', () => {
  it.each([
    [1, '1.0'],
    [0, '0.0'],
    [-0, '0.0'],
    [-1, '-1.0'],
    [NaN, 'NaN'],
    [Infinity, '+Inf'],
    [-Infinity, '-Inf'],
    [0.25, '0.25'],
    [2.5, '2.5'],
    [10, '10.0'],
    [100000, '100000.0'],
    [999999, '999999.0'],
    [1e6, '1e+06'],
    [1234567, '1.234567e+06'],
    [123456789, '1.23456789e+08'],
    [0.0001, '0.0001'],
    [0.00001, '1e-05'],
    [-2.5e-7, '-2.5e-07'],
    [1e21, '1e+21'],
    [1e100, '1e+100'],
    [5e-324, '5e-324'],
    [1.7976931348623157e308, '1.7976931348623157e+308'],
    [0.1 + 0.2, '0.30000000000000004'],
  ])('formats %d as %s', (f, text) => {
    expect(formatOpenMetricsFloat(f)).toBe(text);
  });
});

describe('unescape', () => {
  it.each([
    ['plain', true, 'plain'],
    ['a\\\\b', true, 'a\\b'],
    ['a\\nb', true, 'a\nb'],
    ['a\\"b', true, 'a"b'],
    ['a\\"b', false, 'a\\"b'],
    ['\\\\n', true, '\\n'],
    ['\\t\\x', true, '\\t\\x'],
    ['end\\', true, 'end\\'],
    ['\\\\\\\\', true, '\\\\'],
    ['\\n\\n', false, '\n\n'],
  ])('decodes %j (quotes: %s)', (s, quotes, decoded) => {
    expect(unescape(s, quotes)).toBe(decoded);
  });
});

describe('detach', () => {
  it('returns an equal string', () => {
    const body = `${'x'.repeat(100)}node_cpu_seconds_total{cpu="0",mode="idle"}`;
    const slice = body.slice(100);
    expect(detach(slice)).toBe(slice);
    expect(detach('')).toBe('');
  });

  it.each([
    ['non-ASCII text', 'métrique_totale{ville="Zürich",emoji="🙂"}'],
    ['a lone surrogate, which UTF-8 cannot carry', 'series_with_a_lone_\uD800_surrogate'],
  ])('returns %s unchanged', (_what, s) => {
    const body = `prefix ${s} suffix`;
    expect(detach(body.slice(7, 7 + s.length))).toBe(s);
  });
});
