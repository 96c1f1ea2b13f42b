import { chunk } from '../../shared/concurrency';

/**
 * An external_id as Emarsys may give it back: trimmed, lower-cased, and in Unicode NFC (an address
 * typed on one device may arrive decomposed, `e` + U+0301, and come back composed, `é`).
 */
export function contactKey(externalId: string): string {
  return externalId.normalize('NFC').trim().toLowerCase();
}

/**
 * Splits a batch into requests of at most `batchSize` contacts in which no external_id appears
 * twice. Emarsys reports per-contact errors keyed by external_id, so a repeated address in one
 * request would make its error ambiguous. The k-th occurrence of an address goes to the k-th
 * round of requests; input order is kept within each round.
 *
 * Addresses are compared as `contactKey` makes them, as Emarsys matches its email field.
 */
export function planRequests(externalIds: readonly string[], batchSize: number): number[][] {
  const rounds: number[][] = [];
  const seen = new Map<string, number>();
  externalIds.forEach((externalId, index) => {
    const key = contactKey(externalId);
    const occurrence = seen.get(key) ?? 0;
    seen.set(key, occurrence + 1);
    (rounds[occurrence] ??= []).push(index);
  });
  return rounds.flatMap((round) => chunk(round, batchSize));
}
