import type { Clock } from '../shared/clock';
import { toError } from '../shared/errors';
import type { Logger } from '../shared/logger';
import type { Lease, NotificationLedger } from '../store/ledger';

/** Who holds the unit when this run could not take it. */
export interface UnitBusy {
  heldByRunId: string;
  expiresAt: string;
}

/**
 * A run's hold on its operating unit, so that two runs never work the same unit at once: taken
 * before the run reads any cart, kept while it works, given back when it ends (or left to expire
 * when the run dies).
 */
export class UnitLease {
  private lease: Lease | undefined;
  private renewing: Promise<void> | undefined;

  constructor(
    private readonly ledger: NotificationLedger,
    private readonly clock: Clock,
    private readonly durationMs: number,
  ) {}

  /** Takes the unit's lease; says who holds it when another run does. */
  async acquire(operatingUnitNumber: string, runId: string): Promise<UnitBusy | undefined> {
    const result = await this.ledger.acquireLease(operatingUnitNumber, runId, this.clock.now(), this.durationMs);
    if (!result.acquired) return { heldByRunId: result.heldByRunId, expiresAt: result.expiresAt };
    this.lease = result.lease;
    return undefined;
  }

  /**
   * Renews the lease once a quarter of it has passed (not on every call). The run calls it during
   * the survey after each page, right before each page's claims and before each checkpoint, so the
   * lease never runs out while the run works, and a run that stalled past it learns so (a
   * LeaseLostError) before it claims, sends or moves the checkpoint. One renewal at a time: the
   * survey's slices and the pages call it concurrently. Nothing to do without a lease (a dry run).
   */
  keep(): Promise<void> {
    if (this.renewing) return this.renewing;
    const lease = this.lease;
    if (!lease || Date.parse(lease.expiresAt) - this.clock.now().getTime() > (this.durationMs * 3) / 4) return Promise.resolve();
    this.renewing = this.ledger
      .renewLease(lease, this.clock.now(), this.durationMs)
      .then((renewed) => {
        this.lease = renewed;
      })
      .finally(() => {
        this.renewing = undefined;
      });
    return this.renewing;
  }

  /** Gives the lease back; when that fails it expires on its own, so the failure is only logged. */
  async release(logger: Logger): Promise<void> {
    if (!this.lease) return;
    await this.ledger.releaseLease(this.lease).catch((error: unknown) => {
      logger.warn('Could not release the operating unit lease; it expires on its own', { reason: toError(error).message });
    });
  }
}
