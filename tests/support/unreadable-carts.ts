import type { ProxiedRequest, RuleHandle } from '../../src/simulators/fault-rules';
import { parseODataOptions, searchCarts } from '../../src/simulators/retail-server/queries';
import type { FaultHarness } from './fault-harness';

const criticalStorageError = JSON.stringify({
  error: { code: 'Microsoft_Dynamics_Commerce_Runtime_CriticalStorageError', message: 'An error occurred while loading the cart.' },
});

/**
 * Retail Server unable to load some carts: every cart search whose answer would hold one of
 * `cartIds` fails with HTTP 500, as when the commerce runtime throws on one cart's data. The proxy
 * works out each answer with the simulator's own search over its current data, so the rule
 * follows the request's window, `$top` and `$skip` exactly as the server would.
 */
export function failSearchesHolding(h: FaultHarness, cartIds: ReadonlySet<string>, status = 500): RuleHandle {
  return h.proxies.retail.inject({
    name: 'unreadable-carts',
    path: /\/Carts\/Search/,
    match: (request) => answerHolds(h, request, cartIds),
    fault: { kind: 'status', status, body: criticalStorageError },
  });
}

/** Whether the simulator's answer to this cart search, over its current data, would hold one of `cartIds`. */
export function answerHolds(h: FaultHarness, request: ProxiedRequest, cartIds: ReadonlySet<string>): boolean {
  const options = parseODataOptions(new URL(request.url, 'https://proxy').searchParams);
  if (typeof options === 'string') return false;
  const outcome = searchCarts(h.retail.data, JSON.parse(request.text()) as unknown, options);
  if (!outcome.ok) return false;
  const answer = ('json' in outcome ? JSON.parse(outcome.json) : outcome.body) as { value: { Id: string }[] };
  return answer.value.some((cart) => cartIds.has(cart.Id));
}
