/**
 * The lower bound on a run's wall time: no schedule of the same calls finishes sooner, however it
 * overlaps them. It is the largest of these terms:
 *
 * - chain: calls that must happen one after another, each costing its latency:
 *   the channel configuration (its id names the checkpoint), the lease, the checkpoint read (it
 *   starts the window), the survey's longest chain of keyset searches, then the processing pass's
 *   (nothing may be claimed before the survey has read the whole window), then for the last page:
 *   its customer and product lookups (which may overlap each other), the claim, the send, the
 *   outcome write, the page's checkpoint (a run that worked no page writes none), then the run's
 *   last checkpoint, the lease's release and the run report. The search chains are measured from the searches the run made
 *   (search-chain.ts), so slicing the window, or searching ranges at once, shortens them.
 * - retail: every Retail Server call x latency / MaxConcurrency. The Retail Server client lets
 *   no more than MaxConcurrency (`--concurrency`) requests be in flight at once, searches included.
 * - emarsys: every provider call x latency / the most the job can have in flight: one per page
 *   worked at once (the provider sends a page's requests one after another).
 * - storeRequests (modeled store): every store request x its latency / the most the job can have
 *   in flight: CHUNK_CONCURRENCY per page worked at once (a bulk call sends that many of its
 *   requests at once, as CosmosLedger does).
 * - storeCapacity (embedded store): every store operation / the operations per second the
 *   embedded server took when measured in the same run.
 *
 * The token endpoint adds no latency and is left out.
 */

export type BoundTerm = 'chain' | 'retail' | 'emarsys' | 'storeRequests' | 'storeCapacity';

export interface BoundInput {
  /** Added to every Retail Server and Emarsys response. */
  latencyMs: number;
  /** `RetailServerClientOptions.MaxConcurrency`. */
  concurrency: number;
  /** The most Emarsys requests the job can have in flight (one per page worked at once). */
  emarsysConcurrency: number;
  /** The most store requests the job can have in flight (CHUNK_CONCURRENCY per page worked at once). */
  storeConcurrency: number;
  calls: { channel: number; cartSearch: number; customers: number; products: number; provider: number };
  /** Cart searches that had to follow one another: the survey's longest chain, then the processing pass's. */
  searchChain: number;
  /** Pages the run worked (each ends with its checkpoint; a run with none writes only its last). */
  pages: number;
  store:
    | { kind: 'modeled'; latencyMs: number; requests: number }
    | { kind: 'embedded'; requestMs: number; operations: number; operationsPerSecond: number };
}

export interface Bound {
  ms: number;
  limitedBy: BoundTerm;
  /** Each term in milliseconds; the store term that does not apply is absent. */
  terms: Partial<Record<BoundTerm, number>>;
}

export function lowerBound(input: BoundInput): Bound {
  const { latencyMs: latency, concurrency, calls, store } = input;
  const storeRequest = store.kind === 'modeled' ? store.latencyMs : store.requestMs;
  const lookups = calls.customers + calls.products;

  // Channel, lease, checkpoint read.
  const head = (calls.channel > 0 ? latency : 0) + 2 * storeRequest;
  const searches = input.searchChain * latency;
  const lastPage = (lookups > 0 ? latency : 0) + (calls.provider > 0 ? storeRequest + latency + storeRequest : 0);
  // The last page's checkpoint (when a page was worked), the run's last one, the lease's release, the run report.
  const end = (input.pages > 0 ? 4 : 3) * storeRequest;

  const terms: Partial<Record<BoundTerm, number>> = {
    chain: head + searches + lastPage + end,
    retail: ((calls.channel + calls.cartSearch + lookups) * latency) / concurrency,
    emarsys: (calls.provider * latency) / Math.max(1, input.emarsysConcurrency),
  };
  if (store.kind === 'modeled') terms.storeRequests = (store.requests * store.latencyMs) / Math.max(1, input.storeConcurrency);
  else terms.storeCapacity = store.operationsPerSecond > 0 ? (store.operations / store.operationsPerSecond) * 1000 : 0;

  let limitedBy: BoundTerm = 'chain';
  for (const [term, ms] of Object.entries(terms) as [BoundTerm, number][]) {
    if (ms > (terms[limitedBy] ?? 0)) limitedBy = term;
  }
  return { ms: terms[limitedBy] ?? 0, limitedBy, terms };
}
