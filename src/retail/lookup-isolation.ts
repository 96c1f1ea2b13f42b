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
 * answers a probe of the same endpoint before the split and after it (an id it answered before,
 * else an id no record has), and the id, asked for alone once more at the end, still fails. A
 * level of the split that fails as a whole is probed after too. Otherwise the lookup fails as
 * before. The split sends its requests `concurrency` at a time, stops once the run has no time
 * left, and never leaves a request running when it fails.
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
  /** One lookup request; `splitting` for the requests of the split, which give up on a record's failure sooner. */
  call(ids: Id[], splitting: boolean): Promise<unknown[]>;
  /** An id this endpoint answered before, asked for alone to tell a bad record from an outage. */
  knownGood(): Id | undefined;
  /**
   * An id no record has, probed when the known-good id fails with a record's status (that record
   * may have turned bad since it was answered): only when both fail is it an outage.
   */
  fallbackProbe?: Id | undefined;
  /** True once the run has no time left for its Retail Server calls: the split sends no more requests. */
  outOfTime?: (() => boolean) | undefined;
  /** Requests of one level in flight at once (1 for the sequential strategy); default all. */
  concurrency?: number | undefined;
  /**
   * How many bad ids the split looks for: its requests are bounded by about twice this times the
   * number of halvings. Ids it has not isolated by then fail together (their carts retryably).
   */
  isolatesUpTo: number;
}

/**
 * Statuses a request can get because of a record it names. Anything else (throttling, a gateway
 * error, a network failure, a refused token, a wrong URL) is about the service or the setup.
 */
const RECORD_STATUSES: ReadonlySet<number> = new Set([400, 422, 500]);

export function mayBeAboutARecord(error: unknown): error is RemoteServiceError {
  return error instanceof RemoteServiceError && error.service === 'RetailServer' && error.statusCode !== undefined && RECORD_STATUSES.has(error.statusCode);
}

/**
 * `cause`, the failure a split or narrowing set out to explain, as it ends the run's page when the
 * run has no time left for more requests: retryable, and marked `outOfTime` (the run then ends
 * before that page as at its time limit).
 */
export function cutShort(cause: RemoteServiceError, what: string, next: string): RemoteServiceError {
  return new RemoteServiceError(`${cause.message} ${what}: the run had no time left (MaxRunMinutes); ${next}`, {
    service: cause.service,
    operation: cause.operation,
    statusCode: cause.statusCode,
    code: cause.code,
    retryable: true,
    outOfTime: true,
    cause,
  });
}

function halves<Id>(ids: readonly Id[]): Id[][] {
  const middle = Math.ceil(ids.length / 2);
  return [ids.slice(0, middle), ids.slice(middle)];
}

interface Suspect<Id> {
  ids: Id[];
  error: RemoteServiceError;
}

type Attempt<Id> = { part: Suspect<Id>; found: unknown[]; error?: undefined } | { part: Suspect<Id>; found?: undefined; error: RemoteServiceError };

/** `call(ids)`, and, when it fails in a way that may be about one of the ids, the split described above. */
export async function lookupIsolatingFailures<Id>(ids: readonly Id[], options: IsolationOptions<Id>): Promise<IsolatedLookup<Id>> {
  let firstError: RemoteServiceError;
  try {
    return { records: await options.call([...ids], false), failed: [] };
  } catch (error) {
    if (!mayBeAboutARecord(error)) throw error;
    firstError = error;
  }

  let answered = false;
  /**
   * Asks for each part alone, at most `concurrency` at once; a failure that is not about a record
   * ends the lookup with it, once the requests already sent have settled (none is left running).
   */
  const ask = async (parts: readonly Suspect<Id>[]): Promise<Attempt<Id>[]> => {
    const outcomes = new Array<Attempt<Id>>(parts.length);
    let next = 0;
    let failure: { error: unknown } | undefined;
    const worker = async (): Promise<void> => {
      while (next < parts.length && !failure) {
        const index = next++;
        const part = parts[index] as Suspect<Id>;
        try {
          const found = await options.call(part.ids, true);
          answered = true;
          outcomes[index] = { part, found };
        } catch (error) {
          // A request whose retries the run's time limit cut short is no verdict on its records.
          if (!mayBeAboutARecord(error) || error.outOfTime) failure ??= { error };
          else outcomes[index] = { part, error };
        }
      }
    };
    const width = Math.max(1, Math.min(options.concurrency ?? parts.length, parts.length));
    await Promise.all(Array.from({ length: width }, worker));
    if (failure) throw failure.error;
    return outcomes;
  };
  const checkTime = (): void => {
    if (options.outOfTime?.()) throw cutShort(firstError, 'Not split further to find the record it fails for', 'the next run looks this page up again.');
  };

  /** Whether Retail Server answers this endpoint now: the known-good id alone, else an id no record has. */
  const probes = [options.knownGood(), options.fallbackProbe].filter((id, index, all): id is Id => id !== undefined && all.indexOf(id) === index);
  const answersNow = async (): Promise<boolean> => {
    for (const id of probes) {
      checkTime();
      const [outcome] = await ask([{ ids: [id], error: firstError }]);
      if (outcome && !outcome.error) return true;
    }
    return false;
  };

  // A service that fails every request is not split: one probe says so (when there is an id to ask).
  if (probes.length > 0 && !(await answersNow())) throw firstError;

  const records: unknown[] = [];
  const leaves: Suspect<Id>[] = [];
  const unresolved: Suspect<Id>[] = [];
  const budget = 2 * options.isolatesUpTo * Math.max(1, Math.ceil(Math.log2(ids.length)));
  let requests = 0;
  let depth = 0;
  let suspects: Suspect<Id>[] = [{ ids: [...ids], error: firstError }];
  while (suspects.length > 0) {
    const level: Suspect<Id>[] = [];
    for (const suspect of suspects) {
      if (suspect.ids.length === 1) leaves.push(suspect);
      else level.push(...halves(suspect.ids).map((part) => ({ ids: part, error: suspect.error })));
    }
    if (level.length === 0) break;
    // Nothing answered two levels down and nothing to probe with: an outage as likely as not.
    if (!answered && depth >= 2) throw firstError;
    if (requests + level.length > budget) {
      unresolved.push(...suspects.filter((suspect) => suspect.ids.length > 1));
      break;
    }
    checkTime();
    requests += level.length;
    depth++;
    suspects = [];
    let levelAnswered = false;
    for (const outcome of await ask(level)) {
      if (outcome.error) suspects.push({ ids: outcome.part.ids, error: outcome.error });
      else {
        levelAnswered = true;
        records.push(...outcome.found);
      }
    }
    // Every part of the level failed: an outage that began after the probe looks the same.
    if (!levelAnswered && probes.length > 0 && !(await answersNow())) throw firstError;
  }

  // Each id that failed alone is asked for once more, now that Retail Server has answered
  // something: its failure may have come before (an outage that has just ended looks the same).
  const failed: FailedId<Id>[] = [];
  if (leaves.length > 0) checkTime();
  for (const outcome of await ask(leaves)) {
    if (outcome.error) failed.push({ id: outcome.part.ids[0] as Id, reason: outcome.error.message });
    else records.push(...outcome.found);
  }
  // Nothing was answered: as likely an outage of this endpoint as bad records, so not their carts' fault.
  if (!answered) throw firstError;
  // A failure is a record's only if Retail Server answers the endpoint after it ("meanwhile"), not
  // just before it (the probe before the split): an outage that began during the split looks the same.
  if ((failed.length > 0 || unresolved.length > 0) && probes.length > 0 && !(await answersNow())) throw firstError;
  for (const { ids: group, error } of unresolved) {
    const reason = `${error.message} (one of ${group.length} ids asked together; the lookup was not split further)`;
    for (const id of group) failed.push({ id, reason });
  }
  return { records, failed };
}
