/**
 * Quantities and prices go to templates as decimal strings without trailing zeros (`2`, `1.5`,
 * `19.9`), as the sample sends them. Commerce keeps up to six decimals.
 */
export function formatDecimal(value: number): string {
  if (!Number.isFinite(value)) throw new RangeError(`not a finite number: ${value}`);
  if (Number.isInteger(value) && Math.abs(value) < 1e21) return String(value);
  const fixed = value.toFixed(6);
  const trimmed = fixed.includes('.') ? fixed.replace(/0+$/, '').replace(/\.$/, '') : fixed;
  return trimmed === '-0' ? '0' : trimmed;
}
