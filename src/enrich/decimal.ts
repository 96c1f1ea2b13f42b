/**
 * Quantities and prices go to templates as decimal strings without trailing zeros (`2`, `1.5`,
 * `19.9`), as the sample sends them. Commerce keeps up to six decimals.
 */
export function formatDecimal(value: number): string {
  if (!Number.isFinite(value)) throw new RangeError(`not a finite number: ${value}`);
  if (Number.isInteger(value) && Math.abs(value) < 1e21) return String(value);
  // The shortest form that reads back as the same number, when it has six decimals or fewer:
  // toFixed would show binary noise on large values (123456789012.345 as ...345001).
  const shortest = String(value);
  if (!/e/i.test(shortest) && (shortest.split('.')[1] ?? '').length <= 6) return shortest === '-0' ? '0' : shortest;
  const fixed = value.toFixed(6);
  const trimmed = fixed.includes('.') ? fixed.replace(/0+$/, '').replace(/\.$/, '') : fixed;
  return trimmed === '-0' ? '0' : trimmed;
}
