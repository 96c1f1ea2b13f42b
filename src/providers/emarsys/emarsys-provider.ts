import type { IEmailProvider, Notification, NotificationOutcome, ProviderStats, SendOptions } from '../email-provider';
import { systemClock } from '../../shared/clock';
import { mapWithConcurrency } from '../../shared/concurrency';
import { hashEmail } from '../../shared/logger';
import { ofThisRun, sharedCounters } from '../../shared/run-tally';
import { createAccountChecks } from './account-checks';
import type { EmarsysAuthenticator } from './auth';
import { contactKey, planRequests } from './batching';
import { createHttpClient, type ProviderCounters } from './http';
import { createOAuthAuthenticator, createOAuthTokenSource } from './oauth-token';
import { resolveEmarsysOptions, triggerUrl, type EmarsysProviderOptions } from './options';
import type { ContactError } from './response';
import { createTriggerClient, serializeContact, type TriggerResult } from './trigger-client';
import { createWsseAuthenticator } from './wsse';

/**
 * Sends reminders through an Emarsys external event: one trigger request per chunk of contacts,
 * each contact's `trigger_id` being the notification's stable id, so a retry (ours or a later
 * run's) is dropped by Emarsys instead of sending a second email.
 *
 * `send` never throws for a failed contact or request: every notification gets an outcome that
 * says whether trying again later may help.
 */

export const EMARSYS_PROVIDER_NAME = 'emarsys';

/**
 * The most one contact's JSON may take: Emarsys refuses an external event whose payload exceeds
 * 1 MB. Such a reminder fails on its own, for good, instead of failing the request it is in.
 */
export const MAX_CONTACT_BYTES = 1_000_000;

/**
 * The most one trigger request's contacts may take together. Emarsys's API takes request bodies up
 * to 10 MB; a gateway may cut a larger upload off rather than answer 413, so the connector stays
 * well under it. A batch of BatchSize contacts larger than this goes in several requests.
 */
export const MAX_REQUEST_BYTES = 8_000_000;

/**
 * The least a reminder's data takes for Emarsys's size refusals of one event (replyCode 5008, 7002)
 * to be taken as about it: Emarsys stops forwarding event data to Interactions past 100 kB. A
 * typical cart's reminder takes a few kilobytes.
 */
export const LARGE_CONTACT_BYTES = 100_000;

/**
 * One `send` in progress. Credentials that Emarsys refused, a token endpoint that refused ours or
 * is down, or the deadline passing will not change within it, so once `stopReason` is set its
 * remaining requests fail at once.
 */
interface SendState {
  batch: readonly Notification[];
  /** Each notification's contact, serialised once. */
  contacts: string[];
  outcomes: NotificationOutcome[];
  deadline?: number | undefined;
  stopReason?: string | undefined;
  /** The stop is the run's time limit, reached before a request: Emarsys was not asked. */
  outOfTime?: boolean | undefined;
  /** Emarsys took a request (or a part of one) of this send: it is up, and takes this event and these credentials. */
  taken?: boolean | undefined;
  /**
   * The run's trigger requests Emarsys had taken when this send began: only those it took since
   * (this send's, or another's in flight beside it) show it works now, not those before an outage.
   */
  takenBefore: number;
  /**
   * Reminders alone in their request that Emarsys failed or refused as a whole, judged once the
   * send's other requests are answered: Emarsys taking one of those shows the reminder is at fault.
   */
  lone: { index: number; reason: string; suspect: 'error' | 'refusal' }[];
  /**
   * Requests Emarsys refused or failed as a whole, their halves too, while it had taken neither
   * half: the event's or the account's refusal, Emarsys down, or reminders in both halves it fails
   * on or refuses every time. Judged once the send's other requests are answered, as `lone`.
   * `parts`: the halves, failed each (or the request itself, sent unhalved after another was refused
   * so), split further once Emarsys is shown to take the event (a refusal) or took another request
   * of the send (an HTTP 500).
   */
  undecided: { indices: number[]; parts: number[][]; reason: string; suspect: 'error' | 'refusal' }[];
}

/**
 * How a part of a request Emarsys failed or refused as a whole is sent: once, and its sender told
 * whether Emarsys took it or failed it the same way again.
 */
interface Probe {
  onAccepted: () => void;
  onSuspect: (indices: number[], reason: string) => void;
}

function failed(triggerId: string, reason: string, retryable: boolean, outage = false): NotificationOutcome {
  return outage ? { triggerId, status: 'failed', reason, retryable, outage } : { triggerId, status: 'failed', reason, retryable };
}

/** Finds a contact's errors by the exact external_id, else as Emarsys may have normalised it. */
function errorFor(contactErrors: Map<string, ContactError>, normalised: Map<string, ContactError>, email: string): ContactError | undefined {
  return contactErrors.get(email) ?? normalised.get(contactKey(email));
}

function halves(indices: number[]): [number[], number[]] {
  const middle = Math.ceil(indices.length / 2);
  return [indices.slice(0, middle), indices.slice(middle)];
}

export function createEmarsysProvider(options: EmarsysProviderOptions): IEmailProvider {
  const settings = resolveEmarsysOptions(options);
  const clock = options.clock ?? systemClock;
  const logger = options.logger;
  const counters: ProviderCounters = sharedCounters(['calls', 'retries']);
  /** Trigger requests Emarsys took; a run reads its own (`ofThisRun`): Emarsys works, across the run's sends in flight together. */
  const taken = sharedCounters(['triggers']);
  const http = createHttpClient(settings.timeoutMs);
  const eventId = settings.externalEventId;
  const retryHooks = { sleep: options.sleep, random: options.random };

  const authenticator: EmarsysAuthenticator =
    settings.auth.mode === 'wsse'
      ? createWsseAuthenticator(settings.auth, clock)
      : createOAuthAuthenticator(
          createOAuthTokenSource(settings.auth, { http, counters, clock, retry: settings.retry, logger, ...retryHooks }),
        );
  const checks = createAccountChecks({ http, counters, authenticator, apiUrlTemplate: settings.apiUrlTemplate, eventId });
  const sendTrigger = createTriggerClient({
    http,
    counters,
    url: triggerUrl(settings.apiUrlTemplate, settings.externalEventId),
    eventId,
    contactKeyId: settings.contactKeyId,
    authenticator,
    retry: settings.retry,
    clock,
    logger,
    ...retryHooks,
    onCredentialsRefused: options.onCredentialsRefused,
  });

  /** Records the same failure for the notifications at `indices` (batch positions). */
  const failEach = (state: SendState, indices: readonly number[], reason: string, retryable: boolean, outage = false) => {
    for (const index of indices) state.outcomes[index] = failed((state.batch[index] as Notification).triggerId, reason, retryable, outage);
  };

  /** The one notification at `index`, refused for its size, fails for good. */
  const failAlone = (state: SendState, index: number, reason: string) => {
    const alone = `${reason} (this reminder alone, ${Buffer.byteLength(state.contacts[index] as string)} bytes)`;
    failEach(state, [index], alone, false);
    logger.error('emarsys trigger request failed', { eventId, contacts: 1, retryable: false, outage: false, reason: alone });
  };

  /**
   * Sends the notifications at `indices` in one request and records an outcome for each. True when
   * Emarsys refused it for a reminder's size though none of its reminders is large: a refusal that
   * is not about their size.
   */
  const sendChunk = async (state: SendState, indices: number[], probe?: Probe): Promise<boolean> => {
    if (state.stopReason === undefined && state.deadline !== undefined && clock.now().getTime() >= state.deadline) {
      state.stopReason = 'not sent: the run reached its time limit before this request';
      state.outOfTime = true;
    }
    if (state.stopReason !== undefined) {
      // The same credentials would be refused again; a later run retries once they are fixed. Not
      // sent at all, so not an attempt either.
      failEach(state, indices, state.stopReason, true, true);
      if (state.outOfTime) for (const index of indices) state.outcomes[index] = { ...(state.outcomes[index] as NotificationOutcome & { status: 'failed' }), outOfTime: true };
      return false;
    }
    const started = Date.now();
    const result = await sendTrigger(
      indices.map((index) => state.contacts[index] as string),
      { deadline: state.deadline, once: probe !== undefined },
    );
    if (result.kind === 'accepted') {
      probe?.onAccepted();
      await recordAccepted(state, indices, result, Date.now() - started);
      return false;
    }
    if (result.tooLarge === 'request') return splitTooLarge(state, indices, result.reason);
    if (result.tooLarge === 'contact') return sendLargeAlone(state, indices, result.reason);
    if (result.suspect) {
      await holdSuspect(state, indices, result.reason, result.retryable, result.suspect, probe);
      return false;
    }
    failEach(state, indices, result.reason, result.retryable, result.outage);
    if (result.stopSend) state.stopReason = result.reason;
    logger.error('emarsys trigger request failed', { eventId, contacts: indices.length, retryable: result.retryable, outage: result.outage === true, reason: result.reason });
    return false;
  };

  /**
   * The request's body refused for its size (413): halved until the contact too large is alone (it
   * fails for good). True when both halves were refused for a reminder's size with none of theirs
   * large: so was the whole.
   */
  const splitTooLarge = async (state: SendState, indices: number[], reason: string): Promise<boolean> => {
    logger.warn('emarsys refused a request as too large; splitting it', { eventId, contacts: indices.length });
    if (indices.length === 1) {
      failAlone(state, indices[0] as number, reason);
      return false;
    }
    const [first, second] = halves(indices);
    const firstRefused = await sendChunk(state, first);
    const secondRefused = await sendChunk(state, second);
    return firstRefused && secondRefused;
  };

  /**
   * A contact's data refused for its size: only a large one can be it. Those go alone (and fail for
   * good if refused again), the rest together. With none large, the refusal is not about these
   * reminders' size, and splitting would cost a request per reminder for nothing: it is a refusal
   * of the request as a whole (a limit of the account's), which costs no attempt, and the answer is
   * true.
   */
  const sendLargeAlone = async (state: SendState, indices: number[], reason: string): Promise<boolean> => {
    const large = indices.filter((index) => Buffer.byteLength(state.contacts[index] as string) >= LARGE_CONTACT_BYTES);
    if (large.length === 0) {
      const why = `${reason} (no reminder of the request is ${LARGE_CONTACT_BYTES} bytes or more, so it was not split)`;
      failEach(state, indices, why, true, true);
      logger.error('emarsys trigger request failed', { eventId, contacts: indices.length, retryable: true, outage: true, reason: why });
      return true;
    }
    if (indices.length === 1) {
      failAlone(state, indices[0] as number, reason);
      return false;
    }
    logger.warn('emarsys refused a reminder as too large; sending the large ones alone', { eventId, contacts: indices.length, large: large.length });
    const rest = indices.filter((index) => !large.includes(index));
    if (rest.length > 0 && (await sendChunk(state, rest))) {
      // The small ones refused the same way: not about the large ones' size either.
      failEach(state, large, `${reason} (reminders under ${LARGE_CONTACT_BYTES} bytes were refused the same way, so it is not about this one's size)`, true, true);
      return false;
    }
    for (const index of large) await sendChunk(state, [index]);
    return false;
  };

  /**
   * A request Emarsys failed with HTTP 500 past its retries or refused as a whole: an outage until
   * Emarsys is seen taking another part of the request (a probe's sender tells), or, for a reminder
   * alone in its request, another request of the send (`judgeDeferred` tells).
   */
  const holdSuspect = async (state: SendState, indices: number[], reason: string, retryable: boolean, suspect: 'error' | 'refusal', probe: Probe | undefined): Promise<void> => {
    failEach(state, indices, reason, retryable, true);
    if (probe) {
      probe.onSuspect(indices, reason);
      return;
    }
    if (indices.length === 1) {
      state.lone.push({ index: indices[0] as number, reason, suspect });
      return;
    }
    if (suspect === 'refusal' && state.undecided.some((item) => item.suspect === 'refusal') && state.taken !== true) {
      // Emarsys refused another request of the send, its halves too, and took nothing: most likely
      // the event's or the account's refusal, which these halves would meet as well. Judged with it.
      state.undecided.push({ indices, parts: [indices], reason, suspect });
      return;
    }
    const what = suspect === 'error' ? 'failed a request with HTTP 500 past its retries' : 'refused a request as a whole';
    logger.warn(`emarsys ${what}; sending its halves to tell an outage from a reminder it fails on`, { eventId, contacts: indices.length });
    if (await isolate(state, indices)) {
      logFailed(state, indices);
      return;
    }
    // Both halves failed: an outage, or reminders in each half Emarsys fails on or refuses. Told
    // apart once the send's other requests are answered (the same carts come in the same requests
    // every run, so an outage here would leave the others unsent for good).
    state.undecided.push({ indices, parts: halves(indices), reason, suspect });
  };

  /**
   * A request Emarsys took: each notification is sent unless Emarsys reported an error for its
   * contact. Errors it did not tie to a contact of ours leave the untied contacts unsettled: a
   * request of one such contact settles it, a larger one is resent in halves (Emarsys drops the
   * trigger ids it already took, and reports the failure again).
   */
  const recordAccepted = async (state: SendState, indices: number[], result: TriggerResult & { kind: 'accepted' }, durationMs: number): Promise<void> => {
    const { batch, outcomes } = state;
    state.taken = true;
    taken.triggers++;
    const notifications = indices.map((index) => batch[index] as Notification);
    const normalised = new Map([...result.contactErrors].map(([externalId, error]) => [contactKey(externalId), error]));
    const rejected: string[] = [];
    const byCode: Record<string, number> = {};
    const matched = new Set<ContactError>();
    /** Positions in `indices` of the contacts no error was matched to. */
    const clean: number[] = [];
    indices.forEach((index, i) => {
      const notification = notifications[i] as Notification;
      const error = errorFor(result.contactErrors, normalised, notification.email);
      if (error) {
        matched.add(error);
        outcomes[index] = failed(notification.triggerId, error.reason, false);
        rejected.push(hashEmail(notification.email));
        for (const code of error.codes) byCode[code] = (byCode[code] ?? 0) + 1;
      } else {
        clean.push(i);
        outcomes[index] = { triggerId: notification.triggerId, status: 'sent', providerMessageId: notification.triggerId };
      }
    });
    // Errors reported under an external_id none of ours matches, or under none at all: some contact
    // of the request failed, and which one is not known, so the contacts without an error are not
    // all sent.
    const unattributed = [...[...result.contactErrors.values()].filter((error) => !matched.has(error)), ...result.unattributed];
    const ambiguous = unattributed.length > 0 && clean.length > 1;
    if (unattributed.length > 0 && clean.length === 1) {
      const i = clean[0] as number;
      const error = unattributed[0] as ContactError;
      outcomes[indices[i] as number] = failed((notifications[i] as Notification).triggerId, error.reason, false);
      rejected.push(hashEmail((notifications[i] as Notification).email));
      for (const code of error.codes) byCode[code] = (byCode[code] ?? 0) + 1;
    }
    logger.info('emarsys trigger sent', {
      eventId,
      contacts: indices.length,
      ...(ambiguous ? { unsettled: clean.length } : { sent: indices.length - rejected.length }),
      failed: rejected.length,
      durationMs,
    });
    if (rejected.length > 0) {
      logger.warn('emarsys rejected contacts', { eventId, count: rejected.length, byCode, contactHashes: rejected.slice(0, 20) });
    }
    if (unattributed.length > 0) {
      logger.warn('emarsys reported errors it did not tie to a contact of the request', { eventId, count: unattributed.length, untied: clean.length });
    }
    if (ambiguous) {
      for (const half of halves(clean.map((i) => indices[i] as number))) await sendChunk(state, half);
    }
  };

  /** The reminder at `index` is what Emarsys fails on or refuses: its failure is an attempt of its own (MaxSendAttempts bounds it). */
  const blame = (state: SendState, index: number, reason: string) => {
    state.outcomes[index] = failed((state.batch[index] as Notification).triggerId, reason, true);
  };

  /** Says at error that reminders of the request at `indices` failed, as any other failed request. */
  const logFailed = (state: SendState, indices: readonly number[]) => {
    const failures = indices.map((index) => state.outcomes[index]).filter((outcome): outcome is NotificationOutcome & { status: 'failed' } => outcome?.status === 'failed');
    const first = failures[0];
    if (first === undefined) return;
    logger.error('emarsys trigger request failed', { eventId, contacts: indices.length, failed: failures.length, retryable: true, outage: failures.every((outcome) => outcome.outage === true), reason: first.reason });
  };

  /**
   * The reminders at `indices` (two or more), whose request Emarsys failed with HTTP 500 past its
   * retries or refused as a whole: Emarsys down or refusing the event, or failing or refusing every
   * time because of one reminder's data, which would otherwise hold the others and the checkpoint
   * until TimeToLiveDays. Their halves are sent once each. Emarsys taking one shows the failure is
   * about a reminder of the other: a failed half of one reminder is that reminder's (`blame`), a
   * larger one is split again the same way. A split of which Emarsys takes no part is not one
   * reminder's data (Emarsys down or refusing the event, or what every reminder there meets): those
   * stay failed as an outage, no attempt, which also bounds what a split costs (seven requests for
   * a thousand reminders Emarsys all refuses). Returns whether Emarsys took one of the halves.
   */
  const isolate = async (state: SendState, indices: number[]): Promise<boolean> => {
    const failing: { indices: number[]; reason: string }[] = [];
    let accepted = false;
    const probe: Probe = {
      onAccepted: () => {
        accepted = true;
      },
      onSuspect: (these, why) => failing.push({ indices: these, reason: why }),
    };
    for (const half of halves(indices)) await sendChunk(state, half, probe);
    if (!accepted) return false;
    for (const part of failing) {
      if (part.indices.length === 1) blame(state, part.indices[0] as number, `${part.reason}; Emarsys took the rest of its request, so it fails on this reminder`);
      else await isolate(state, part.indices);
    }
    return true;
  };

  /**
   * What a send left undecided: requests Emarsys refused or failed as a whole (their halves too)
   * and reminders alone in a request it failed or refused, while it took nothing else of the send. A
   * refusal is about the reminders when Emarsys takes this event with these credentials: shown by a
   * request of the send it took, else by the event's own endpoint answering (one GET), which speaks
   * for a reminder refused alone only when it is the send's one refused reminder; the refused
   * requests are then halved down to the reminders it refuses, each an attempt of its own. An HTTP
   * 500 is the reminders' (a lone one's, or found by halving the failed request further) only when
   * Emarsys took another request of the send (a trigger endpoint failing while the event's answers
   * is still an outage). Anything else is an outage: no attempt.
   */
  const judgeDeferred = async (state: SendState): Promise<void> => {
    // Emarsys took a request of this send, or of another send of the run since this one began (a
    // page's reminder whose page-mates went out in an earlier run is sent alone in every later one):
    // it works. What it took before this send began does not show it has not gone down since.
    const took = () => state.taken === true || ofThisRun(taken).triggers > state.takenBefore;
    const refusals = [...state.undecided, ...state.lone].some((item) => item.suspect === 'refusal');
    // Not past the send's last-call time: the run must end by then.
    const inTime = state.deadline === undefined || clock.now().getTime() < state.deadline;
    const asked = !took() && refusals && state.stopReason === undefined && inTime;
    const takesEvent = took() || (asked && (await checks.eventAnswers(state.deadline)));
    // Parts of two or more first: Emarsys taking some of one shows it takes the send's requests.
    for (const { parts, suspect } of state.undecided) {
      if (!(suspect === 'refusal' ? takesEvent : took())) continue;
      for (const part of parts) if (part.length > 1) await isolate(state, part);
    }
    const evidence = state.taken
      ? "Emarsys took the send's other reminders"
      : took()
        ? 'Emarsys took other reminders of this run'
        : `Emarsys answers for external event ${eventId} with these credentials`;
    // With nothing of the send taken, the event answering shows a refusal the reminder's only when it
    // is the send's one refused reminder: several, each refused alone or in a half, are what all of
    // them meet (a key_id the account lacks, a field of the event's), as a split of which Emarsys
    // takes no part.
    const refusedAlone = state.undecided.every((item) => item.suspect !== 'refusal') && state.lone.filter((item) => item.suspect === 'refusal').length === 1;
    const shown = (suspect: 'error' | 'refusal') => took() || (suspect === 'refusal' && takesEvent && refusedAlone);
    for (const { indices, parts, reason, suspect } of state.undecided) {
      for (const part of parts) if (part.length === 1 && shown(suspect)) blame(state, part[0] as number, `${reason}; ${evidence}, so it fails on this reminder`);
      logFailed(state, indices);
    }
    for (const { index, reason, suspect } of state.lone) {
      if (shown(suspect)) blame(state, index, `${reason}; ${evidence}, so it fails on this reminder`);
      logFailed(state, [index]);
    }
  };

  return {
    name: EMARSYS_PROVIDER_NAME,
    verify: () => checks.verify(),
    async send(batch, sendOptions: SendOptions = {}) {
      const outcomes = new Array<NotificationOutcome>(batch.length);
      const contacts = new Array<string>(batch.length);
      const sendable: number[] = [];
      batch.forEach((notification, index) => {
        if (typeof notification.email !== 'string' || notification.email.trim() === '') {
          outcomes[index] = failed(notification.triggerId, 'the notification has no email address', false);
          return;
        }
        const contact = serializeContact({ external_id: notification.email, trigger_id: notification.triggerId, data: notification.data });
        const bytes = contact.length <= MAX_CONTACT_BYTES / 3 ? contact.length : Buffer.byteLength(contact);
        if (bytes > MAX_CONTACT_BYTES) {
          outcomes[index] = failed(notification.triggerId, `the reminder's data is ${bytes} bytes, more than the ${MAX_CONTACT_BYTES} Emarsys takes for one event`, false);
          return;
        }
        contacts[index] = contact;
        sendable.push(index);
      });
      // A character of the JSON takes at most 3 bytes: only a batch that could pass the request
      // budget has its contacts' bytes counted.
      const chars = sendable.reduce((sum, index) => sum + (contacts[index] as string).length, 0);
      const budget = 3 * chars > MAX_REQUEST_BYTES ? { maxBytes: MAX_REQUEST_BYTES, bytesOf: (position: number) => Buffer.byteLength(contacts[sendable[position] as number] as string) } : undefined;
      const plan = planRequests(
        sendable.map((index) => (batch[index] as Notification).email),
        settings.batchSize,
        budget,
      ).map((positions) => positions.map((position) => sendable[position] as number));
      const state: SendState = { batch, contacts, outcomes, deadline: sendOptions.deadline?.getTime(), takenBefore: ofThisRun(taken).triggers, lone: [], undecided: [] };
      await mapWithConcurrency(plan, settings.concurrency, (indices) => sendChunk(state, indices));
      await judgeDeferred(state);
      return outcomes;
    },
    stats(): ProviderStats {
      return ofThisRun(counters);
    },
  };
}
