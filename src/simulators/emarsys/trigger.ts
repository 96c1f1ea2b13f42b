import { z } from 'zod';

/**
 * The body of an external event trigger and what Emarsys does with it: validate the shape, match
 * each contact, and fire the event once per `trigger_id` (a repeat is accepted and dropped, which
 * is what makes the connector's retries safe).
 */

export const MAX_CONTACTS_PER_TRIGGER = 1000;

export const triggerBodySchema = z.object({
  key_id: z.number().int(),
  contacts: z
    .array(
      z.object({
        external_id: z.string().min(1),
        trigger_id: z.string().min(1),
        data: z.record(z.string(), z.unknown()),
      }),
    )
    .min(1)
    .max(MAX_CONTACTS_PER_TRIGGER),
});
export type TriggerBody = z.infer<typeof triggerBodySchema>;

export interface Delivery {
  eventId: string;
  triggerId: string;
  externalId: string;
  data: Record<string, unknown>;
  /** ISO-8601, by the stand-in's clock. */
  receivedAt: string;
}

/** A readable account of what is wrong with a body, for `replyText`. */
export function describeBodyProblems(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((issue) => `${issue.path.length > 0 ? issue.path.join('.') : 'body'}: ${issue.message}`)
    .join('; ');
}

export interface TriggerProcessor {
  /** Fires the event for each matched, new contact; returns the per-contact errors. */
  process(eventId: string, body: TriggerBody, receivedAt: string): Record<string, Record<string, string>>;
  readonly deliveries: Delivery[];
  readonly duplicatesDropped: number;
}

export function createTriggerProcessor(knownContacts: readonly string[] | undefined): TriggerProcessor {
  // Emarsys matches the email field case-insensitively.
  const known = knownContacts ? new Set(knownContacts.map((contact) => contact.trim().toLowerCase())) : undefined;
  const processed = new Set<string>();
  const deliveries: Delivery[] = [];
  let duplicatesDropped = 0;

  return {
    process(eventId, body, receivedAt) {
      const errors: Record<string, Record<string, string>> = {};
      for (const contact of body.contacts) {
        if (known && !known.has(contact.external_id.trim().toLowerCase())) {
          // Emarsys' own wording, which names the key field id rather than the contact.
          errors[contact.external_id] = { '2008': `No contact found with the external id: ${body.key_id}` };
          continue;
        }
        const key = `${eventId}\u0000${contact.trigger_id}`;
        if (processed.has(key)) {
          duplicatesDropped++;
          continue;
        }
        processed.add(key);
        deliveries.push({ eventId, triggerId: contact.trigger_id, externalId: contact.external_id, data: contact.data, receivedAt });
      }
      return errors;
    },
    deliveries,
    get duplicatesDropped() {
      return duplicatesDropped;
    },
  };
}
