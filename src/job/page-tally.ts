import type { Cart } from '../retail/models';
import type { PageObservation } from './page-context';
import type { FailureDependency, SkipReason } from './report';
import type { RunCounters } from './run-counters';

type TalliedCart = Pick<Cart, 'Id' | 'ModifiedDateTime'>;

/**
 * A page's outcome, cart by cart: each cart ends in exactly one tally of the run's counters and
 * one observation (whether its outcome is final), from which the checkpoint is moved.
 */
export class PageTally {
  private readonly observations: PageObservation[] = [];

  constructor(readonly counters: RunCounters) {}

  /** The cart's outcome is known; `final` when no later run needs to look at it again. */
  settle(cart: TalliedCart, final: boolean): void {
    this.observations.push({ cartId: cart.Id, modifiedAt: cart.ModifiedDateTime, final });
  }

  skip(cart: TalliedCart, reason: SkipReason, final = true): void {
    this.counters.skip(reason);
    this.settle(cart, final);
  }

  /** An eligible cart this run does not work after all: the ledger says another run has it, or had it. */
  notOwned(cart: TalliedCart, reason: SkipReason, final: boolean): void {
    this.counters.eligible--;
    this.skip(cart, reason, final);
  }

  fail(cart: TalliedCart, reason: string, dependency: FailureDependency, final: boolean): void {
    this.counters.failed++;
    this.counters.countFailureReason(reason, dependency);
    this.settle(cart, final);
  }

  /**
   * The observations in time order. Carts at one instant may come in any order (the checkpoint
   * keeps their ids as a set); plain comparison, since localeCompare a thousand times a page
   * showed in the profile.
   */
  inTimeOrder(): PageObservation[] {
    return this.observations.sort((a, b) => a.modifiedAt.getTime() - b.modifiedAt.getTime() || (a.cartId < b.cartId ? -1 : a.cartId > b.cartId ? 1 : 0));
  }
}
