import { RemoteServiceError } from '../shared/errors';

/**
 * A customer or product lookup that Retail Server fails because of one record: a commerce runtime
 * extension that throws on one customer's data, a product whose record cannot be loaded. Every
 * request that names that record fails (HTTP 500 or 400, again on every retry), so without this
 * the lookup of the whole page fails, the run fails, and every later run fails at the same page:
 * the checkpoint cannot move past it and no cart after it is reminded.
 *
 * So when a lookup's request fails that way, the ids are split in halves, and the halves that fail
 * again are split again, until the ids Retail Server cannot answer for are found one by one. The
 * rest are answered as usual, and the failed ids are returned so that the job fails only their
 * carts (retryably, up to MaxSendAttempts). An outage must not be taken for a bad record (its
 * carts would use up their attempts), so a failure counts as a record's only when Retail Server
 * answered another request of the same endpoint meanwhile: a half of the split, or else a probe
 * for an id it answered before. Without that, the lookup fails as before.
 */

export interface FailedId<Id> {
  id: Id;
  /** What Retail Server said when asked for this id alone. */
  reason: string;
}

export interface IsolatedLookup<Id> {
  records: unknown[];
  failed: FailedId<Id>[];
}

export interface IsolationOptions<Id> {
  /** One lookup request; `probing` for the requests of the split, which are tried fewer times. */
  call(ids: Id[], probing: boolean): Promise<unknown[]>;
  /** An id this endpoint answered before, asked for alone to tell a bad record from an outage. */
  knownGood(): Id | undefined;
  /** The most requests the split may make; past it the lookup fails as it would have without one. */
  maxRequests: number;
}

/**
 * Statuses a request can get because of a record it names. Anything else (throttling, a gateway
 * error, a network failure, a refused token, a wrong URL) is about the service or the setup.
 */
const RECORD_STATUSES = new Set([400, 422, 500]);

export function mayBeAboutARecord(error: unknown): error is RemoteServiceError {
  return error instanceof RemoteServiceError && error.service === 'RetailServer' && error.statusCode !== undefined && RECORD_STATUSES.has(error.statusCode);
}

function halves<Id>(ids: readonly Id[]): Id[][] {
  const middle = Math.ceil(ids.length / 2);
  return [ids.slice(0, middle), ids.slice(middle)];
}

/** `call(ids)`, and, when it fails in a way that may be about one of the ids, the split described above. */
export async function lookupIsolatingFailures<Id>(ids: readonly Id[], options: IsolationOptions<Id>): Promise<IsolatedLookup<Id>> {
  let firstError: RemoteServiceError;
  try {
    return { records: await options.call([...ids], false), failed: [] };
  } catch (error) {
    if (!mayBeAboutARecord(error)) throw error;
    firstError = error;
  }

  // A service that fails every request is not split: one probe says so (when there is an id to ask).
  const probe = options.knownGood();
  let answered = false;
  let requests = 0;
  if (probe !== undefined && !ids.includes(probe)) {
    requests++;
    try {
      await options.call([probe], true);
      answered = true;
    } catch {
      throw firstError;
    }
  }

  const records: unknown[] = [];
  const failed: FailedId<Id>[] = [];
  let suspects: { ids: Id[]; error: RemoteServiceError }[] = [{ ids: [...ids], error: firstError }];
  while (suspects.length > 0) {
    const level: { ids: Id[]; error: RemoteServiceError }[] = [];
    for (const suspect of suspects) {
      if (suspect.ids.length === 1) failed.push({ id: suspect.ids[0] as Id, reason: suspect.error.message });
      else level.push(...halves(suspect.ids).map((part) => ({ ids: part, error: suspect.error })));
    }
    if (level.length === 0) break;
    requests += level.length;
    if (requests > options.maxRequests) throw firstError;
    const outcomes = await Promise.all(
      level.map(async (part) => {
        try {
          return { part, found: await options.call(part.ids, true), error: undefined };
        } catch (error) {
          if (!mayBeAboutARecord(error)) throw error;
          return { part, found: undefined, error };
        }
      }),
    );
    suspects = [];
    for (const outcome of outcomes) {
      if (outcome.error) suspects.push({ ids: outcome.part.ids, error: outcome.error });
      else {
        answered = true;
        records.push(...outcome.found);
      }
    }
  }
  // Nothing was answered: as likely an outage of this endpoint as bad records, so not their carts' fault.
  if (!answered) throw firstError;
  return { records, failed };
}
