import type { Clock } from '../../src/shared/clock';
import type { Notification } from '../../src/providers/email-provider';
import { createLogger, type Logger, type LogRecord } from '../../src/shared/logger';

/** Test helpers shared by the Emarsys provider tests. */

export interface ManualClock extends Clock {
  advance(ms: number): void;
}

/** A clock that moves only when told, shared by the provider and the stand-in. */
export function manualClock(start: string): ManualClock {
  let time = Date.parse(start);
  return {
    now: () => new Date(time),
    advance: (ms) => {
      time += ms;
    },
  };
}

export interface CapturedLog {
  logger: Logger;
  records: LogRecord[];
  /** Everything logged, as one string, to search for things that must never appear. */
  text(): string;
}

export function captureLog(): CapturedLog {
  const records: LogRecord[] = [];
  return { logger: createLogger((record) => records.push(record), 'debug'), records, text: () => JSON.stringify(records) };
}

/** A sleep that returns at once and remembers what it was asked to wait. */
export function recordingSleep(): { sleep: (ms: number) => Promise<void>; waits: number[] } {
  const waits: number[] = [];
  return { waits, sleep: async (ms) => void waits.push(ms) };
}

export function emailOf(i: number): string {
  return `customer.${i}@example.com`;
}

export function notification(i: number, email: string = emailOf(i)): Notification {
  return {
    triggerId: `ac-cart-${i}-20240501T100000Z`,
    email,
    data: {
      firstName: 'Ada',
      lastName: `Lovelace ${i}`,
      email,
      language: 'en-us',
      currency: 'USD',
      returnToCartUrl: `https://shop.example.com/cart?cartId=cart-${i}`,
      cartId: `cart-${i}`,
      orderDetails: [
        {
          productId: String(68719476740 + i),
          productName: 'Espresso cup "Ümlaut" & saucer',
          productImage: {
            altText: 'Espresso cup',
            viewPortImages: [
              { url: 'https://images.example.com/cup.png?w=300&h=300&q=80&m=6&f=jpg', media: '(max-width: 599px)', useForDefaultImageTag: false },
              { url: 'https://images.example.com/cup.png?w=600&h=600&q=80&m=6&f=jpg', media: '(min-width: 600px)', useForDefaultImageTag: true },
            ],
          },
          quantity: '2',
          unitPrice: '19.9',
        },
      ],
    },
  };
}

export function notifications(count: number, from = 0): Notification[] {
  return Array.from({ length: count }, (_, k) => notification(from + k));
}

/** Deterministic jitter: the middle of each backoff range. */
export const midRandom = (): number => 0.5;
