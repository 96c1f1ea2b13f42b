/**
 * Exact decimal arithmetic for the preview's line totals and cart totals. Quantities and prices
 * arrive as decimal strings (`1.5`, `19.9`); summing them as binary floating point would make
 * `3 × 19.9` a `59.699999…` that rounds differently from what the shop shows.
 */

/** `units / 10^scale`. */
export interface Decimal {
  units: bigint;
  scale: number;
}

const DECIMAL_TEXT = /^([+-]?)(\d+)(?:\.(\d+))?$/;

export const ZERO: Decimal = { units: 0n, scale: 0 };

/** Parses `12`, `-0.5`, `19.90`; anything else (exponents, blanks, `NaN`) is `undefined`. */
export function parseDecimal(text: string): Decimal | undefined {
  const match = DECIMAL_TEXT.exec(text.trim());
  if (!match) return undefined;
  const [, sign = '', whole = '0', fraction = ''] = match;
  const units = BigInt(`${whole}${fraction}`);
  return { units: sign === '-' ? -units : units, scale: fraction.length };
}

function rescale(value: Decimal, scale: number): bigint {
  return value.units * 10n ** BigInt(scale - value.scale);
}

export function addDecimals(a: Decimal, b: Decimal): Decimal {
  const scale = Math.max(a.scale, b.scale);
  return { units: rescale(a, scale) + rescale(b, scale), scale };
}

export function multiplyDecimals(a: Decimal, b: Decimal): Decimal {
  return { units: a.units * b.units, scale: a.scale + b.scale };
}

/**
 * Rounded to `scale` decimals, halves away from zero: how Intl.NumberFormat rounds (`halfExpand`)
 * what it shows, and so the amount a line shows.
 */
export function roundDecimal(value: Decimal, scale: number): Decimal {
  if (value.scale <= scale) return value;
  const divisor = 10n ** BigInt(value.scale - scale);
  const magnitude = value.units < 0n ? -value.units : value.units;
  const rounded = (magnitude + divisor / 2n) / divisor;
  return { units: value.units < 0n ? -rounded : rounded, scale };
}

/** The plain decimal string (`59.7`, `-0.05`, `3`), trailing zeros removed. */
export function decimalToString(value: Decimal): `${number}` {
  const negative = value.units < 0n;
  const digits = (negative ? -value.units : value.units).toString().padStart(value.scale + 1, '0');
  const whole = digits.slice(0, digits.length - value.scale);
  const fraction = digits.slice(digits.length - value.scale).replace(/0+$/, '');
  const text = fraction === '' ? whole : `${whole}.${fraction}`;
  return (negative && text !== '0' ? `-${text}` : text) as `${number}`;
}
