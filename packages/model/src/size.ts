/**
 * Prometheus sizes (`<size>`, as `body_size_limit` reads them with alecthomas/units `ParseBase2Bytes`): a number and
 * a unit, `0` without one. promfleet keeps sizes as whole bytes.
 */

const base2Units: Readonly<Record<string, number>> = {
  B: 1,
  KiB: 2 ** 10,
  MiB: 2 ** 20,
  GiB: 2 ** 30,
  TiB: 2 ** 40,
  PiB: 2 ** 50,
  EiB: 2 ** 60,
};
const legacyUnits: Readonly<Record<string, number>> = {
  B: 1,
  KB: 2 ** 10,
  MB: 2 ** 20,
  GB: 2 ** 30,
  TB: 2 ** 40,
  PB: 2 ** 50,
  EB: 2 ** 60,
};

/**
 * Parses a `<size>` as Prometheus does (`units.ParseBase2Bytes`): a number (fractions allowed) and a unit, where KB
 * and KiB both mean 1024 bytes (kB is rejected), optionally several terms (`1GB512MB`); "0" needs no unit. The
 * result is whole bytes. Negative sizes, which Prometheus would treat as "no limit", are rejected.
 */
export function parseSize(input: string): number | { readonly error: string } {
  const quoted = JSON.stringify(input);
  if (input === '0') return 0;
  if (input.startsWith('-')) return { error: `invalid size ${quoted}: a size cannot be negative` };
  const s = input.startsWith('+') ? input.slice(1) : input;
  if (s === '0') return 0;
  const terms = [...s.matchAll(/([0-9]*(?:\.[0-9]*)?)([^0-9.]*)/g)].filter((m) => m[0] !== '');
  if (s === '' || terms.map((m) => m[0]).join('') !== s) return { error: `invalid size ${quoted}` };
  const tryUnits = (units: Readonly<Record<string, number>>): number | undefined => {
    let total = 0;
    for (const [, num = '', unit = ''] of terms) {
      const mult = units[unit];
      if (mult === undefined || num === '' || num === '.') return undefined;
      total += Number(num) * mult;
    }
    return total;
  };
  const total = tryUnits(base2Units) ?? tryUnits(legacyUnits);
  if (total === undefined) {
    const known = (unit: string): boolean => base2Units[unit] !== undefined || legacyUnits[unit] !== undefined;
    const why = terms.some(([, num = '']) => num === '' || num === '.')
      ? 'a number is required before each unit'
      : terms.some(([, , unit = '']) => unit === '')
        ? 'a unit is required'
        : terms
            .map(([, , unit = '']) => unit)
            .filter((unit) => !known(unit))
            .map((unit) => `unknown unit ${JSON.stringify(unit)}`)[0] ?? 'KiB-style and KB-style units cannot be mixed';
    return { error: `invalid size ${quoted}: ${why} (use B, KB, MB, GB, TB, PB or EB, powers of 1024, e.g. 100MB)` };
  }
  if (total >= 2 ** 63 || !Number.isSafeInteger(Math.trunc(total))) {
    return { error: `invalid size ${quoted}: out of range` };
  }
  return Math.trunc(total);
}
