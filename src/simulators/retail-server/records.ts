import type { RawRecord, SimulatorData } from './types';

/**
 * Builders for records shaped like Retail Server's, with the fields the connector reads and a
 * few it ignores (as the real payloads carry many). Each takes overrides, so a test can state only
 * what it is about; realistic seed data for the local run is built from these.
 */

export const DEFAULT_CHANNEL_ID = 5637144592;

export function channelRecord(overrides: RawRecord = {}): RawRecord {
  return {
    RecordId: DEFAULT_CHANNEL_ID,
    ChannelNaturalId: 'SIM-ONLINE',
    Currency: 'USD',
    DefaultLanguageId: 'en-us',
    TimeZoneInfoId: 'Pacific Standard Time',
    InventLocation: 'SIM-WH',
    ...overrides,
  };
}

export function customerRecord(accountNumber: string, overrides: RawRecord = {}): RawRecord {
  return {
    AccountNumber: accountNumber,
    RecordId: 0,
    FirstName: 'Alex',
    LastName: 'Doe',
    Name: 'Alex Doe',
    Email: `${accountNumber.toLowerCase()}@example.com`,
    Language: 'en-us',
    CustomerTypeValue: 1,
    ...overrides,
  };
}

export function productRecord(recordId: number, overrides: RawRecord = {}): RawRecord {
  const itemId = `SIM${String(recordId).padStart(6, '0')}`;
  return {
    RecordId: recordId,
    ItemId: itemId,
    ProductName: `Product ${recordId}`,
    Description: `Description of product ${recordId}`,
    Price: 10,
    BasePrice: 10,
    Image: { Items: [{ Url: `Products/${itemId}_000_001.png`, AltText: `Picture of product ${recordId}`, IsDefault: true }] },
    ...overrides,
  };
}

export interface CartLineSpec {
  productId: number;
  quantity?: number;
  price?: number;
  isVoided?: boolean;
}

export interface CartSpec {
  id: string;
  /** Account number; empty or omitted for an anonymous cart. */
  customerId?: string;
  modifiedDateTime: string;
  lines?: CartLineSpec[];
  receiptEmail?: string;
  cartTypeValue?: number;
  overrides?: RawRecord;
}

/** A cart whose totals are consistent with its non-voided lines. */
export function cartRecord(spec: CartSpec): RawRecord {
  const lines = (spec.lines ?? []).map((line, index) => {
    const quantity = line.quantity ?? 1;
    const price = line.price ?? 10;
    return {
      LineId: `${spec.id}-L${index + 1}`,
      ProductId: line.productId,
      ItemId: `SIM${String(line.productId).padStart(6, '0')}`,
      Quantity: quantity,
      Price: price,
      ExtendedPrice: quantity * price,
      IsVoided: line.isVoided ?? false,
      IsGiftCardLine: false,
      Description: `Product ${line.productId}`,
    };
  });
  const subtotal = lines.filter((line) => !line.IsVoided).reduce((sum, line) => sum + line.ExtendedPrice, 0);
  return {
    Id: spec.id,
    CustomerId: spec.customerId ?? '',
    ReceiptEmail: spec.receiptEmail ?? null,
    ModifiedDateTime: spec.modifiedDateTime,
    CartTypeValue: spec.cartTypeValue ?? 1,
    CartLines: lines,
    SubtotalAmount: subtotal,
    TotalAmount: subtotal,
    ...spec.overrides,
  };
}

export function buildSimulatorData(parts: Partial<SimulatorData> = {}): SimulatorData {
  return {
    channel: parts.channel ?? channelRecord(),
    customers: parts.customers ?? [],
    products: parts.products ?? [],
    carts: parts.carts ?? [],
  };
}
