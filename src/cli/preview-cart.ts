import { join, resolve } from 'node:path';
import { createSecretResolver } from '../config/secrets';
import { loadSettings } from '../config/settings';
import { activeLines, buildNotificationData } from '../enrich/payload';
import { accountNumberOf, checkCart } from '../job/eligibility';
import { createPreviewProvider } from '../providers/preview';
import { parseCart } from '../retail/models';
import { retailClientFor, secretRequests, type ClientExtras } from '../runtime/create-dependencies';
import { notificationId } from '../store/ledger';
import { silentLogger } from '../shared/logger';

/**
 * `abandoned-carts preview --cart <id>`: renders one cart's reminder as the run would build it,
 * from live Retail Server data, into a preview folder. Nothing is sent and nothing is recorded, so
 * it is safe against production: a way to check a template's data before the first real run.
 */
export interface PreviewCartOptions {
  cartId: string;
  outDir?: string | undefined;
  settingsPath?: string | undefined;
  env: NodeJS.ProcessEnv;
  write: (text: string) => void;
  /** The Retail Server client's retry policy and sleep (tests give quick ones). */
  client?: Pick<ClientExtras, 'retryPolicy' | 'sleep'> | undefined;
}

export async function previewCart(options: PreviewCartOptions): Promise<number> {
  const settings = loadSettings({ settingsPath: options.settingsPath, env: options.env });
  const secrets = await createSecretResolver({ vaultUrl: settings.keyVault.uri, env: options.env }).resolveAll(secretRequests(settings).retail);
  const retail = retailClientFor(settings, secrets, options.client);
  const [channel, raw] = await Promise.all([retail.getChannelConfiguration(), retail.findCart(options.cartId)]);
  if (raw === undefined) {
    options.write(`No shopping cart ${options.cartId} on Retail Server (OUN ${settings.retail.operatingUnitNumber}).\n`);
    return 1;
  }
  const parsed = parseCart(raw);
  if (!parsed.ok) {
    options.write(`Cart ${options.cartId} cannot be read: ${parsed.reason}\n`);
    return 1;
  }
  const cart = parsed.value;
  // Any time: a preview is of one cart, wherever it is; the rest is checked as a run checks it.
  const skip = checkCart(cart, { from: new Date(0), to: new Date(8.64e15), includeAnonymous: settings.retail.includeAnonymous });
  if (skip) {
    options.write(`A run would skip cart ${cart.Id}: ${skip}.\n`);
    return 1;
  }
  // As a run tells a customer's cart from a guest's: by the account number, trimmed.
  const account = accountNumberOf(cart);
  const [customerResult, productResult] = await Promise.all([
    account ? retail.getCustomers([account]) : Promise.resolve({ customers: [], invalid: [], failed: [] }),
    retail.getProducts(
      activeLines(cart).map((line) => line.ProductId),
      channel.RecordId,
    ),
  ]);
  const lookupFailure = [
    ...customerResult.failed.map(({ id, reason }) => `customer ${id}: ${reason}`),
    ...productResult.failed.map(({ id, reason }) => `product ${id}: ${reason}`),
  ][0];
  if (lookupFailure) {
    options.write(`Retail Server fails to look up ${lookupFailure}\nA run would fail cart ${cart.Id} for now and try it again in later runs.\n`);
    return 1;
  }
  const customer = customerResult.customers[0];
  const email = (account ? customer?.Email : cart.ReceiptEmail)?.trim();
  if (!email) {
    options.write(`A run would skip cart ${cart.Id}: ${account ? (customer ? 'customer-without-email' : 'customer-not-found') : 'anonymous-without-email'}.\n`);
    return 1;
  }
  const result = buildNotificationData({
    cart,
    email,
    customer,
    products: new Map(productResult.products.map((product) => [product.RecordId, product])),
    channel,
    settings: { imageServerUrl: settings.media.imageServerUrl, viewPorts: settings.media.viewPorts, returnToCartUrl: settings.retail.returnToCartUrl },
  });
  if (!result.ok) {
    options.write(`A run would skip cart ${cart.Id}: ${result.reason}.\n`);
    return 1;
  }
  const outDir = resolve(options.outDir ?? join('out', 'preview'));
  const triggerId = notificationId(cart.Id, cart.ModifiedDateTime);
  const [outcome] = await createPreviewProvider({ outDir, logger: silentLogger }).send([{ triggerId, email, data: result.data }]);
  if (outcome?.status !== 'sent') {
    options.write(`The preview could not be written to ${outDir}: ${outcome?.status === 'failed' ? outcome.reason : 'no outcome'}\n`);
    return 1;
  }
  // Counted as a run's report counts them: lines that do not parse too.
  const droppedLines = [...Array<string>(cart.invalidLineCount).fill('invalid-line'), ...result.droppedLines];
  const dropped = droppedLines.length > 0 ? ` (${droppedLines.length} line(s) dropped: ${droppedLines.join(', ')})` : '';
  options.write(`Cart ${cart.Id}: ${result.data.orderDetails.length} product(s)${dropped}\nPreview: ${join(outDir, `${outcome.providerMessageId ?? triggerId}`)}\n`);
  return 0;
}
