import { z } from 'zod';
import type { Notification, NotificationData } from '../email-provider';

/**
 * What the preview saves beside each email: the contact exactly as an email provider receives it
 * (the shape of one Emarsys trigger contact), so a template author can test against real data.
 * It holds the customer's data and nothing of the connector's own (no keys, no credentials).
 */
export interface PreviewPayload {
  external_id: string;
  trigger_id: string;
  data: NotificationData;
}

export function toPreviewPayload(notification: Notification): PreviewPayload {
  return { external_id: notification.email, trigger_id: notification.triggerId, data: notification.data };
}

const viewPortImageSchema = z.object({ url: z.string(), media: z.string(), useForDefaultImageTag: z.boolean() });

const orderDetailSchema = z.object({
  productId: z.string(),
  productName: z.string(),
  productImage: z.object({ altText: z.string(), viewPortImages: z.array(viewPortImageSchema) }),
  quantity: z.string(),
  unitPrice: z.string(),
});

const payloadSchema = z.object({
  external_id: z.string(),
  trigger_id: z.string(),
  data: z.object({
    firstName: z.string(),
    lastName: z.string(),
    email: z.string(),
    language: z.string(),
    currency: z.string(),
    returnToCartUrl: z.string(),
    cartId: z.string(),
    orderDetails: z.array(orderDetailSchema),
  }),
});

/**
 * Reads a saved payload back for the index. The folder is the user's (they may drop other JSON
 * files in it, or an older version may have written it), so anything else is `undefined`.
 */
export function parsePreviewPayload(json: string): PreviewPayload | undefined {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    return undefined;
  }
  const parsed = payloadSchema.safeParse(value);
  return parsed.success ? parsed.data : undefined;
}
