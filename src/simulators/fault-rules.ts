import type { IncomingHttpHeaders } from 'node:http';

/**
 * The rules of the fault proxy: which requests a fault applies to, how often, and what the fault
 * is. Kept apart from the server so the matching (counts, skips, seeded probability) can be read
 * and reasoned about on its own: a reliability test is only worth something when the same seed
 * injects the same faults into the same requests on every run.
 */

/**
 * One fault. Faults with `forward` let the upstream do the work first and then spoil the answer,
 * which is what makes retries dangerous: the write or the send happened, the client cannot know.
 */
export type Fault =
  /** Answers with this status (429, 500, 503...) and body; `forward` first lets the upstream act. */
  | { kind: 'status'; status: number; headers?: Record<string, string>; body?: string; forward?: boolean }
  /**
   * Never answers, so the client's own timeout decides; `forward` lets the upstream act first.
   * With `releaseAfterMs` the connection is cut after that long, as a gateway's idle timeout does.
   */
  | { kind: 'hang'; forward?: boolean; releaseAfterMs?: number }
  /**
   * Destroys the connection: before the request reaches the upstream, after the upstream
   * answered (the answer is lost), or in the middle of the answer's body.
   */
  | { kind: 'reset'; when?: 'before-forward' | 'after-forward' | 'mid-body' }
  /** Sends the first `fraction` (default half) of the upstream's body and ends the message cleanly. */
  | { kind: 'truncate'; fraction?: number }
  /** A body that is not JSON under a JSON content type (default status 200); `forward` first lets the upstream act. */
  | { kind: 'malformed-json'; status?: number; body?: string; forward?: boolean }
  /** Waits `delayMs` before forwarding (default), or after the upstream answered and before passing the answer on. */
  | { kind: 'slow'; delayMs: number; when?: 'before-forward' | 'after-forward' };

export type FaultKind = Fault['kind'];

export const FAULT_KINDS: readonly FaultKind[] = ['status', 'hang', 'reset', 'truncate', 'malformed-json', 'slow'];

/** A request as the proxy received it, body included, for rules to match on. */
export interface ProxiedRequest {
  method: string;
  /** Path and query, exactly as sent. */
  url: string;
  /** The path alone. */
  path: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** The body as UTF-8 text. */
  text(): string;
}

export interface FaultRule {
  /** Names the rule in `stats().byRule`; defaults to `rule-<n>`. */
  name?: string;
  /** Case-insensitive. */
  method?: string;
  /** Tested against the path and query. */
  path?: RegExp;
  match?: (request: ProxiedRequest) => boolean;
  /** Let this many matching requests through untouched before the rule starts to act. */
  skip?: number;
  /** How many requests the rule acts on; default: every matching one. */
  times?: number;
  /** Acts on a matching request with this probability, drawn from the proxy's seeded generator. */
  probability?: number;
  /**
   * Runs before the fault (or before forwarding, for a rule without one) and is awaited, so a test
   * can change the world at an exact moment: revoke tokens between two pages, race another run.
   */
  before?: (request: ProxiedRequest) => Promise<void> | void;
  /** Without a fault the rule only observes (and runs `before`); the request is forwarded. */
  fault?: Fault;
}

/** What `inject` returns: the rule's counters, and a way to withdraw it. */
export interface RuleHandle {
  readonly name: string;
  /** Requests that matched the rule's method, path and predicate. */
  readonly matched: number;
  /** Requests the rule acted on. */
  readonly fired: number;
  remove(): void;
}

/** A small, fast, seedable generator (mulberry32): the same seed gives the same sequence. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

interface ActiveRule {
  rule: FaultRule;
  name: string;
  matched: number;
  fired: number;
  removed: boolean;
}

/** The rules in the order they were injected; the first one that acts on a request wins. */
export class RuleBook {
  private rules: ActiveRule[] = [];
  private counter = 0;

  constructor(private readonly random: () => number) {}

  add(rule: FaultRule): RuleHandle {
    if (rule.probability !== undefined && !(rule.probability >= 0 && rule.probability <= 1)) {
      throw new RangeError(`A fault rule's probability must be within [0, 1], got ${rule.probability}`);
    }
    if (rule.times !== undefined && !(Number.isInteger(rule.times) && rule.times >= 0)) {
      throw new RangeError(`A fault rule's times must be a non-negative integer, got ${rule.times}`);
    }
    this.counter++;
    const active: ActiveRule = { rule, name: rule.name ?? `rule-${this.counter}`, matched: 0, fired: 0, removed: false };
    this.rules.push(active);
    return {
      name: active.name,
      get matched() {
        return active.matched;
      },
      get fired() {
        return active.fired;
      },
      remove: () => {
        active.removed = true;
        this.rules = this.rules.filter((candidate) => candidate !== active);
      },
    };
  }

  clear(): void {
    for (const active of this.rules) active.removed = true;
    this.rules = [];
  }

  /** The rule that acts on this request, if any; counts the match and the firing. */
  select(request: ProxiedRequest): { rule: FaultRule; name: string } | undefined {
    for (const active of this.rules) {
      const { rule } = active;
      if (active.removed || (rule.times !== undefined && active.fired >= rule.times)) continue;
      if (rule.method !== undefined && rule.method.toUpperCase() !== request.method.toUpperCase()) continue;
      if (rule.path !== undefined && !matches(rule.path, request.url)) continue;
      if (rule.match !== undefined && !rule.match(request)) continue;
      active.matched++;
      if (active.matched <= (rule.skip ?? 0)) continue;
      // The generator is drawn from only for rules that have a probability, so adding a counted
      // rule does not shift the draws of a probabilistic one.
      if (rule.probability !== undefined && this.random() >= rule.probability) continue;
      active.fired++;
      return { rule, name: active.name };
    }
    return undefined;
  }
}

/** A global or sticky regex keeps state between `test` calls; this one does not. */
function matches(pattern: RegExp, text: string): boolean {
  pattern.lastIndex = 0;
  return pattern.test(text);
}
