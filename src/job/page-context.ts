import type { ViewPortImageCache } from '../enrich/images';
import type { PayloadSettings } from '../enrich/payload';
import type { IEmailProvider, Notification } from '../providers/email-provider';
import type { Cart, ChannelConfiguration } from '../retail/models';
import type { RetailServerClient } from '../retail/retail-client';
import type { NotificationCallOptions, NotificationLedger } from '../store/ledger';
import type { Clock } from '../shared/clock';
import type { Logger } from '../shared/logger';
import type { LatestCarts } from './latest-carts';
import type { ProductCache } from './product-cache';
import type { RunCounters } from './run-counters';

/** What a page is worked with: the run's settings, its clients and its tallies (see process-page). */
export interface PageContext {
  runId: string;
  now: Date;
  window: { from: Date; to: Date };
  channel: ChannelConfiguration;
  operatingUnitNumber: string;
  includeAnonymous: boolean;
  claimTimeoutMs: number;
  maxSendAttempts: number;
  dryRun: boolean;
  payloadSettings: PayloadSettings;
  /** The run's image URLs per product image, built from `payloadSettings`. */
  images?: ViewPortImageCache | undefined;
  /** The latest eligible cart of each customer in the window, found by the survey pass. */
  latestCarts: Pick<LatestCarts, 'isLatest'>;
  /** Products already read in this run (null: not found), shared by its pages. */
  productCache: ProductCache;
  retail: Pick<RetailServerClient, 'getCustomers' | 'getProducts'>;
  ledger: NotificationLedger;
  provider: IEmailProvider;
  logger: Logger;
  counters: RunCounters;
  /** The sample's call pattern: every step awaited in turn, nothing overlapped (for comparison). */
  sequential: boolean;
  /** The page's place in the window: its Retail Server calls wait behind those of older pages. */
  priority?: number | undefined;
  /** Passed to every ledger call: past the run's time limit (and a minute more) writes are not retried. */
  store?: NotificationCallOptions | undefined;
  /** Passed to the provider: past it (the run's time limit and a minute more) sends are not retried. */
  sendDeadline?: Date | undefined;
  /**
   * Called right before the page claims anything (after its Retail Server lookups, which may take
   * long): renews the run's lease when due and returns the time to stamp the claims with, so that a
   * claim's `claimedAt` is when it was made and the lease covers it for a whole ClaimTimeoutMinutes.
   */
  beforeClaim?: (() => Promise<Date>) | undefined;
  /** The run's clock: an outcome is stamped with the time the provider answered (else `now`). */
  clock?: Pick<Clock, 'now'> | undefined;
}

/** A cart of the page and whether its outcome is final; the checkpoint is moved from these, in order. */
export interface PageObservation {
  cartId: string;
  modifiedAt: Date;
  final: boolean;
}

/** A cart the page may remind about, with its notification (ledger) id. */
export interface Candidate {
  cart: Cart;
  id: string;
}

/** A cart with its reminder built. */
export interface Ready extends Candidate {
  notification: Notification;
}

/** A cart whose customer or a product Retail Server could not look up: it fails, retryably. */
export interface Unanswered extends Candidate {
  /** Why Retail Server could not look up its customer or one of its products. */
  reason: string;
}
