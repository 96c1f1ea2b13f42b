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
