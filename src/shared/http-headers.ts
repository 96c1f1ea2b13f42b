/** Response headers as the HTTP clients give them: axios' header object, a fetch `Headers`, or a plain record. */
export type HeaderBag = Record<string, unknown> | { get(name: string): unknown } | undefined;

/** A header's value as text, whatever case the server wrote its name in; a repeated header's values joined by ", ". */
export function headerValue(headers: HeaderBag, name: string): string | undefined {
  if (!headers) return undefined;
  if (typeof (headers as { get?: unknown }).get === 'function') return asText((headers as { get(name: string): unknown }).get(name));
  const bag = headers as Record<string, unknown>;
  const key = Object.keys(bag).find((k) => k.toLowerCase() === name.toLowerCase());
  return key === undefined ? undefined : asText(bag[key]);
}

function asText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) return value.map(asText).filter((part) => part !== undefined).join(', ');
  return undefined;
}
