import { z } from 'zod';
import { redactEmails } from '../../shared/redact';

/**
 * Reading what Emarsys answers to an external event trigger. Every answer is untrusted: it is
 * parsed with zod, unknown fields are ignored, and any text from Emarsys that might echo an
 * email address is redacted before it becomes a failure reason (reasons reach logs and reports).
 */

/**
 * One contact's errors: normally `{ "2008": "No contact found with the external id: 3" }`; a
 * bare message is accepted too, so an unexpected shape still fails just that contact.
 */
const contactErrorsSchema = z.union([z.record(z.string(), z.unknown()), z.string()]);

/**
 * `data` is loosely typed by Emarsys: an object with `errors` when some contacts failed, and an
 * empty array, empty string or null otherwise. `errors` itself is an empty array when empty.
 */
const dataSchema = z
  .union([
    z.object({
      errors: z.union([z.record(z.string(), contactErrorsSchema), z.array(z.unknown()), z.null()]).optional(),
      /**
       * Accounts with Interactions advanced features: what the event started, `{ email, acProgram,
       * interactionsProgram }` (executable ones only), or `false` when it started nothing.
       */
      connectedTo: z.unknown().optional(),
    }),
    z.array(z.unknown()),
    z.string(),
    z.null(),
  ])
  .optional();

const replySchema = z.object({
  replyCode: z.union([z.number(), z.string().regex(/^-?\d+$/).transform(Number)]),
  replyText: z.string().nullish(),
  data: dataSchema,
});

export interface ContactError {
  /** Emarsys error codes, e.g. `['2008']`. */
  codes: string[];
  /** `Emarsys 2008: No contact found ...` (redacted). */
  reason: string;
}

export type TriggerReply =
  /** The request was accepted; the contacts in `contactErrors` (keyed by external_id) were not. */
  /** `unattributed`: entries of a non-empty `errors` array, which name no contact. */
  | { kind: 'accepted'; contactErrors: Map<string, ContactError>; unattributed: ContactError[]; replyCode: number }
  /**
   * Emarsys refused the whole request for a reason that retrying will not change. `tooLarge`: for
   * its size: the body's (`request`, HTTP 413), which a smaller request may not meet, or a
   * contact's (`contact`, a replyCode Emarsys documents for data over a limit), which the request
   * without that contact may not meet. `mayBeData`: an answer that something in one contact's data
   * can bring about as well as the request as such (an HTTP 400 or 422, a 2xx with a replyCode
   * other than 0), which the caller can tell apart by sending parts of the request.
   */
  | { kind: 'rejected'; reason: string; replyCode?: number | undefined; tooLarge?: 'request' | 'contact' | undefined; mayBeData?: true }
  /** Emarsys did not accept the credentials (HTTP 401/403). */
  | { kind: 'unauthorized'; status: number; replyCode?: number | undefined; replyText?: string | undefined }
  /** A 2xx whose body is not a trigger reply: the request may or may not have been processed. */
  | { kind: 'unreadable'; reason: string };

/** Extra advice for per-contact codes an operator can act on. */
const contactCodeHints: Record<string, string> = {
  '2008': 'the contact must exist in Emarsys, matched on the field EmarsysContactKeyId names, before an external event can reach it',
};

function contactError(externalId: string, value: Record<string, unknown> | string): ContactError {
  const errors: Record<string, unknown> = typeof value === 'string' ? { unknown: value } : value;
  // Keys are codes, but an entry keyed by the address (as Emarsys' contact list results are) must
  // not put it in a reason or a log: such a key is redacted like any text.
  const keys = Object.keys(errors);
  const codes = keys.map((key) => redactEmails(key));
  const parts = keys.map((key, index) => {
    const code = codes[index] as string;
    const message = errors[key];
    const text = typeof message === 'string' ? (externalId === '' ? message : message.split(externalId).join('<contact>')) : '';
    return text === '' ? code : `${code}: ${redactEmails(text)}`;
  });
  const hints = codes.map((code) => contactCodeHints[code]).filter((hint): hint is string => hint !== undefined);
  const reason = `Emarsys ${parts.join('; ') || 'error without a code'}${hints.length > 0 ? ` (${hints.join('; ')})` : ''}`;
  return { codes, reason };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function describe(status: number, replyCode: number | undefined, replyText: string | null | undefined): string {
  const code = replyCode === undefined ? '' : `, replyCode ${replyCode}`;
  const text = replyText ? ` "${redactEmails(replyText)}"` : '';
  return `HTTP ${status}${code}${text}`;
}

/** `HTTP 429, replyCode 7003 "Too many requests"`, from whatever the body holds. */
export function describeReply(status: number, text: string): string {
  const parsed = replySchema.safeParse(parseJson(text));
  return parsed.success ? describe(status, parsed.data.replyCode, parsed.data.replyText) : `HTTP ${status}`;
}

/** Whether `connectedTo` says the event started nothing: `false`, or an object with no flag true. */
function startsNothing(connectedTo: unknown): boolean {
  if (connectedTo === false) return true;
  return connectedTo !== null && typeof connectedTo === 'object' && !Array.isArray(connectedTo) && !Object.values(connectedTo).includes(true);
}

/**
 * The replyCodes Emarsys documents for an event's data over a size limit, which it answers with
 * HTTP 400 or 403 rather than 413: 5008 (event data over the limit) and 7002 (too many records, or
 * one record too large).
 */
const CONTACT_SIZE_REPLY_CODES: ReadonlySet<number> = new Set([5008, 7002]);

/** Emarsys's replyCode for more contacts in one request than it takes. */
const BATCH_TOO_LARGE = 1000;

/** Emarsys's replyCode for a key_id that is no field of the account ("Invalid key field id"): every request meets it. */
const INVALID_KEY_FIELD = 2004;

/** Emarsys's replyCode for an event id the account does not have ("Invalid event id"): every request meets it. */
const INVALID_EVENT_ID = 6003;

/** What to do about INVALID_EVENT_ID, in a run's reason and in doctor's check of the event alike. */
export const EXTERNAL_EVENT_HINT =
  'EmarsysClientOptions.ExternalEventId must be the id of an external event of this account, the one your automation program or email starts on';

/** The setting to fix, for a replyCode that names one; empty for any other. */
function settingHint(replyCode: number | undefined): string {
  return replyCode === INVALID_EVENT_ID ? `; ${EXTERNAL_EVENT_HINT}` : '';
}

/**
 * Classifies a non-transient answer (the caller retries 429 and 5xx before it gets here).
 * Success is a 2xx with replyCode 0; anything else fails the whole request.
 */
export function interpretTriggerReply(status: number, text: string): TriggerReply {
  const parsed = replySchema.safeParse(parseJson(text));
  const reply = parsed.success ? parsed.data : undefined;

  if (status === 413) {
    return { kind: 'rejected', tooLarge: 'request', replyCode: reply?.replyCode, reason: `Emarsys refused the request's size: ${describe(status, reply?.replyCode, reply?.replyText)}` };
  }
  if ((status === 400 || status === 403) && reply?.replyCode !== undefined && CONTACT_SIZE_REPLY_CODES.has(reply.replyCode)) {
    return { kind: 'rejected', tooLarge: 'contact', replyCode: reply.replyCode, reason: `Emarsys refused a reminder's size: ${describe(status, reply.replyCode, reply.replyText)}` };
  }
  if ((status === 400 || (status >= 200 && status < 300)) && reply?.replyCode === INVALID_KEY_FIELD) {
    return {
      kind: 'rejected',
      replyCode: INVALID_KEY_FIELD,
      reason: `Emarsys rejected the request: ${describe(status, reply.replyCode, reply.replyText)}; EmarsysClientOptions.EmarsysContactKeyId must be the id of a contact field of this account (3: email)`,
    };
  }
  if ((status === 400 || status === 403) && reply?.replyCode === BATCH_TOO_LARGE) {
    return { kind: 'rejected', replyCode: BATCH_TOO_LARGE, reason: `Emarsys rejected the request: ${describe(status, reply.replyCode, reply.replyText)}; set EmarsysClientOptions.BatchSize lower` };
  }

  if (status === 401 || status === 403) {
    return { kind: 'unauthorized', status, replyCode: reply?.replyCode, replyText: reply?.replyText ? redactEmails(reply.replyText) : undefined };
  }
  if (status >= 200 && status < 300) {
    if (!reply) return { kind: 'unreadable', reason: `Emarsys answered HTTP ${status} with a body that is not a trigger reply` };
    if (reply.replyCode !== 0) {
      return { kind: 'rejected', replyCode: reply.replyCode, mayBeData: true, reason: `Emarsys rejected the request: ${describe(status, reply.replyCode, reply.replyText)}${settingHint(reply.replyCode)}` };
    }
    const data = reply.data;
    if (data && typeof data === 'object' && !Array.isArray(data) && startsNothing(data.connectedTo)) {
      // What accounts without Interactions advanced features get as HTTP 400 "No program or
      // campaign is triggered": nothing was sent. Retryable as that is, once the program runs.
      return {
        kind: 'rejected',
        replyCode: 0,
        reason:
          'Emarsys took the trigger but the external event starts no executable program or email campaign (connectedTo ' +
          `${redactEmails(JSON.stringify(data.connectedTo))}): launch the program or campaign the external event starts, and a later run tries again`,
      };
    }
    const contactErrors = new Map<string, ContactError>();
    const unattributed: ContactError[] = [];
    if (data && typeof data === 'object' && !Array.isArray(data) && data.errors) {
      if (!Array.isArray(data.errors)) {
        for (const [externalId, errors] of Object.entries(data.errors)) contactErrors.set(externalId, contactError(externalId, errors));
      } else {
        // Empty when all went well; an entry is an error that names no contact, never a success.
        for (const entry of data.errors) {
          const parsed = contactErrorsSchema.safeParse(entry);
          unattributed.push(contactError('', parsed.success ? parsed.data : {}));
        }
      }
    }
    return { kind: 'accepted', contactErrors, unattributed, replyCode: 0 };
  }
  if (status >= 300 && status < 400) {
    // Redirects are not followed: Emarsys's API answers where it is asked, so a redirect comes from
    // something else at ApiUrl (a gateway's sign-in, another host), and nothing was triggered.
    return {
      kind: 'rejected',
      replyCode: reply?.replyCode,
      reason:
        `The trigger request was redirected (HTTP ${status}), so nothing was triggered: check EmarsysClientOptions.ApiUrl, which must be ` +
        'the Emarsys trigger endpoint itself, e.g. https://api.emarsys.net/api/v2/event/{0}/trigger',
    };
  }
  const hint = status === 404 ? '; check EmarsysClientOptions.ApiUrl and ExternalEventId' : settingHint(reply?.replyCode);
  return {
    kind: 'rejected',
    replyCode: reply?.replyCode,
    ...(status === 400 || status === 422 ? { mayBeData: true as const } : {}),
    reason: `Emarsys rejected the request: ${describe(status, reply?.replyCode, reply?.replyText)}${hint}`,
  };
}
