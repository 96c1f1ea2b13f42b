/**
 * What every email marketing provider implements. The job hands it a batch of notifications
 * and gets one outcome per notification back, matched by `triggerId`.
 */

export interface ViewPortImage {
  url: string;
  /** A CSS media query, e.g. `(max-width: 599px)`. */
  media: string;
  useForDefaultImageTag: boolean;
}

export interface OrderDetail {
  /** The product's RecordId, as a string (as the sample sends it). */
  productId: string;
  productName: string;
  productImage: { altText: string; viewPortImages: readonly ViewPortImage[] };
  /** Decimal string without trailing zeros, e.g. `2` or `1.5`. */
  quantity: string;
  /** Decimal string without trailing zeros, e.g. `19.9`. */
  unitPrice: string;
}

/** The template data. Field names are those of Microsoft's sample, so its templates keep working. */
export interface NotificationData {
  firstName: string;
  lastName: string;
  email: string;
  language: string;
  currency: string;
  returnToCartUrl: string;
  cartId: string;
  orderDetails: OrderDetail[];
}

export interface Notification {
  /** Stable id of this cart at this modification; the provider's idempotency key. */
  triggerId: string;
  email: string;
  data: NotificationData;
}

export type NotificationOutcome =
  | { triggerId: string; status: 'sent'; providerMessageId?: string | undefined }
  | {
      triggerId: string;
      status: 'failed';
      reason: string;
      retryable: boolean;
      /**
       * The provider failed the request as a whole for a reason that is not about its reminders:
       * down, throttling past the retries, the credentials or the event refused, no time left. The
       * run is then not one of the reminder's `MaxSendAttempts`: an outage, however long, loses no
       * cart; the reminders wait until the provider works again.
       */
      outage?: boolean | undefined;
      /**
       * With `outage`: not sent because the run reached its time limit first, the provider never
       * asked, so not the provider down (the report's `providerDown` leaves it out).
       */
      outOfTime?: boolean | undefined;
    };

export interface ProviderStats {
  /** HTTP requests made to the provider (sends, retries and token calls). */
  calls: number;
  retries: number;
}

/** How one `send` is bounded. */
export interface SendOptions {
  /**
   * After this instant (by the provider's clock) no retry wait starts and no new request goes out:
   * what is left fails as retryable, so a run's time limit bounds its sends too.
   */
  deadline?: Date | undefined;
}

export interface IEmailProvider {
  readonly name: string;
  /** Sends every notification it is given; never throws for a per-notification failure. */
  send(batch: readonly Notification[], options?: SendOptions): Promise<NotificationOutcome[]>;
  /** Counters since the provider was created; asked within a run, the run's own (see shared/run-tally). */
  stats(): ProviderStats;
  /**
   * A harmless authenticated call that proves the credentials work (used by `doctor`). Resolves
   * with what was checked; throws a RemoteServiceError that says what to fix.
   */
  verify?(): Promise<string>;
}
