import { cartKeySchema, cartTimeSchema } from '../retail/models';

/** A cart record's Id and ModifiedDateTime, when they parse: what places it in the search's order. */
export interface CartKey {
  id: string;
  modifiedAt: Date;
}

/** Id and ModifiedDateTime of a cart record, or undefined when either does not parse. */
export function keyOf(raw: unknown): CartKey | undefined {
  const parsed = cartKeySchema.safeParse(raw);
  return parsed.success ? { id: parsed.data.Id, modifiedAt: parsed.data.ModifiedDateTime } : undefined;
}

/** A cart record's ModifiedDateTime in ms, when it parses (whether or not its Id does). */
export function timeOf(raw: unknown): number | undefined {
  const time = cartTimeSchema.safeParse(raw);
  return time.success ? time.data.getTime() : undefined;
}

/** What tells a record from the others: its id, or for one without a usable id, its whole text. */
export function identityOf(raw: unknown): string | undefined {
  if (raw === undefined) return undefined;
  const key = keyOf(raw);
  return key ? `id ${key.id}` : `text ${JSON.stringify(raw)}`;
}

/** The same record, by its id (or, for one without a usable id, by its whole text). */
export function sameRecord(a: unknown, b: unknown): boolean {
  const identity = identityOf(a);
  return identity !== undefined && identity === identityOf(b);
}
