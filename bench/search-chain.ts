import type { CartSearchQuery, RetailServerClient } from '../src/retail/retail-client';

/**
 * How long the chain of cart searches is, measured from the searches a run made.
 *
 * Keyset paging makes searches depend on each other: a search that starts at the newest
 * timestamp another one returned (same window end), or that skips past another's page at the
 * same timestamp, cannot be sent before that answer arrives. Searches of different time slices do
 * not depend on each other. And the processing pass may claim nothing before the survey pass has
 * read the whole window, so its chain comes after the survey's. The chain is then the longest
 * run of continuations in the survey plus the longest in the processing pass.
 *
 * The processing pass is told apart by when the survey ended, when the job reports it (its
 * searches are those sent after), otherwise by how it starts: the first search from the window's
 * start, with no $skip, sent after every search before it has been answered. A job that overlaps
 * its passes has no such search, and its searches count as one pass.
 */

export interface SearchRecord {
  query: CartSearchQuery;
  startedAt: number;
  endedAt: number;
  count: number;
  /** The newest ModifiedDateTime on the page, in ms; NaN when none could be read. */
  newest: number;
}

export interface SearchChain {
  survey: number;
  pass: number;
}

export interface SearchRecorder {
  /** The client with its cart searches recorded; every other call is the client's own. */
  client: RetailServerClient;
  /** `surveyEndedAt`: `performance.now()` when the job reported its survey done, if it did. */
  chain(windowFrom: Date, surveyEndedAt?: number): SearchChain;
}

export function recordSearches(retail: RetailServerClient): SearchRecorder {
  const searches: SearchRecord[] = [];
  const client: RetailServerClient = {
    ...retail,
    async searchCarts(query) {
      const startedAt = performance.now();
      const records = await retail.searchCarts(query);
      searches.push({ query, startedAt, endedAt: performance.now(), count: records.length, newest: newestOf(records) });
      return records;
    },
  };
  return { client, chain: (windowFrom, surveyEndedAt) => measureChain(searches, windowFrom, surveyEndedAt) };
}

function newestOf(records: readonly unknown[]): number {
  let newest = Number.NaN;
  for (const record of records) {
    const text = typeof record === 'object' && record !== null ? (record as { ModifiedDateTime?: unknown }).ModifiedDateTime : undefined;
    const time = typeof text === 'string' ? Date.parse(text) : Number.NaN;
    if (!Number.isNaN(time) && !(time <= newest)) newest = time;
  }
  return newest;
}

const positionKey = (to: Date, from: number, skip: number) => `${to.getTime()}|${from}|${skip}`;

/** Where the search after a full page starts: at its newest timestamp, or past it with $skip. */
function continuationKey(search: SearchRecord): string | undefined {
  if (search.count < search.query.top || Number.isNaN(search.newest)) return undefined;
  const from = search.query.from.getTime();
  return search.newest > from ? positionKey(search.query.to, search.newest, 0) : positionKey(search.query.to, from, search.query.skip + search.count);
}

/** The longest run of continuations among these searches. */
function longestRun(searches: readonly SearchRecord[]): number {
  const depthAt = new Map<string, { depth: number; endedAt: number }[]>();
  let longest = 0;
  for (const search of [...searches].sort((a, b) => a.startedAt - b.startedAt)) {
    const own = positionKey(search.query.to, search.query.from.getTime(), search.query.skip);
    const before = (depthAt.get(own) ?? []).filter((p) => p.endedAt <= search.startedAt).reduce((max, p) => Math.max(max, p.depth), 0);
    const depth = before + 1;
    longest = Math.max(longest, depth);
    const next = continuationKey(search);
    if (next) depthAt.set(next, [...(depthAt.get(next) ?? []), { depth, endedAt: search.endedAt }]);
  }
  return longest;
}

export function measureChain(searches: readonly SearchRecord[], windowFrom: Date, surveyEndedAt?: number): SearchChain {
  const ordered = [...searches].sort((a, b) => a.startedAt - b.startedAt);
  if (surveyEndedAt !== undefined) {
    const survey = ordered.filter((search) => search.startedAt < surveyEndedAt);
    const pass = ordered.filter((search) => search.startedAt >= surveyEndedAt);
    return { survey: longestRun(survey), pass: longestRun(pass) };
  }
  let passStart = -1;
  let answeredUntil = Number.NEGATIVE_INFINITY;
  ordered.forEach((search, index) => {
    const fromStart = search.query.from.getTime() === windowFrom.getTime() && search.query.skip === 0;
    if (passStart < 0 && index > 0 && fromStart && answeredUntil <= search.startedAt) passStart = index;
    answeredUntil = Math.max(answeredUntil, search.endedAt);
  });
  if (passStart < 0) return { survey: longestRun(ordered), pass: 0 };
  return { survey: longestRun(ordered.slice(0, passStart)), pass: longestRun(ordered.slice(passStart)) };
}
