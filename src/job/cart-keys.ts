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

/** The same record, by its id (or, for one without a usable id, by its whole text). */
export function sameCartRecord(a: unknown, b: unknown): boolean {
  if (a === undefined || b === undefined) return false;
  const [keyA, keyB] = [keyOf(a), keyOf(b)];
  return keyA && keyB ? keyA.id === keyB.id : JSON.stringify(a) === JSON.stringify(b);
}

/** A cart read before, and the position from the cursor's `from` it was read at. */
export interface Placed {
  id: string;
  position: number;
}

/** The last cart of a page with a usable id, at its position from `from` (the page's first being `first`); none at a negative one. */
export function lastPlaced(carts: readonly { key: CartKey | undefined }[], first: number): Placed | undefined {
  for (let i = carts.length - 1; i >= 0; i--) {
    const key = carts[i]?.key;
    if (key) return first + i >= 0 ? { id: key.id, position: first + i } : undefined;
  }
  return undefined;
}
