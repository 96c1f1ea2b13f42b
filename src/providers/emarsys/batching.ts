import { chunk } from '../../shared/concurrency';

/**
 * An external_id as Emarsys may give it back: trimmed, lower-cased, and in Unicode NFC (an address
 * typed on one device may arrive decomposed, `e` + U+0301, and come back composed, `é`).
 */
export function contactKey(externalId: string): string {
  return externalId.normalize('NFC').trim().toLowerCase();
}

/** A bound on each request's body: the bytes of its contacts' JSON, at most `maxBytes` together. */
export interface ByteBudget {
  maxBytes: number;
  /** The bytes of the contact at `index` (as the request sends it). */
  bytesOf(index: number): number;
}

/**
 * Splits a batch into requests of at most `batchSize` contacts in which no external_id appears
 * twice. Emarsys reports per-contact errors keyed by external_id, so a repeated address in one
 * request would make its error ambiguous. The k-th occurrence of an address goes to the k-th
 * round of requests; input order is kept within each round. With a `budget`, a request also
 * ends before its contacts' bytes would pass `maxBytes` (a contact larger than that goes alone).
 *
 * Addresses are compared as `contactKey` makes them, as Emarsys matches its email field.
 */
export function planRequests(externalIds: readonly string[], batchSize: number, budget?: ByteBudget): number[][] {
  const rounds: number[][] = [];
  const seen = new Map<string, number>();
  externalIds.forEach((externalId, index) => {
    const key = contactKey(externalId);
    const occurrence = seen.get(key) ?? 0;
    seen.set(key, occurrence + 1);
    (rounds[occurrence] ??= []).push(index);
  });
  return rounds.flatMap((round) => (budget ? withinBudget(round, batchSize, budget) : chunk(round, batchSize)));
}

function withinBudget(indices: readonly number[], batchSize: number, budget: ByteBudget): number[][] {
  const requests: number[][] = [];
  let current: number[] = [];
  let bytes = 0;
  for (const index of indices) {
    const size = budget.bytesOf(index);
    if (current.length > 0 && (current.length >= batchSize || bytes + size > budget.maxBytes)) {
      requests.push(current);
      current = [];
      bytes = 0;
    }
    current.push(index);
    bytes += size;
  }
  if (current.length > 0) requests.push(current);
  return requests;
}
