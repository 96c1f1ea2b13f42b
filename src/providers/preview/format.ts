import { decimalToString, type Decimal } from './decimal';

/**
 * Money and quantities as the customer reads them: `Intl.NumberFormat` in the payload's
 * `language` (`de-de` gives `1.234,50 €`) and the channel's `currency`. Data from a shop is not
 * always clean, so a language tag Intl refuses falls back to `en-US`, and a currency code it
 * refuses is shown as a plain number followed by the code, instead of failing the email.
 */

export const FALLBACK_LOCALE = 'en-US';

export interface Formatters {
  /** The language tag used: the payload's when Intl accepts it, else `en-US`. */
  locale: string;
  money(value: Decimal): string;
  /** The decimals `money` shows: the currency's (0 for JPY, 3 for KWD), else 2. */
  moneyDigits: number;
  quantity(value: Decimal): string;
}

/**
 * Intl formats a decimal string exactly (no binary rounding) since Node 19; the ES2022 typings
 * only admit numbers, so this is the narrow view of the API the preview relies on.
 */
interface DecimalNumberFormat {
  format(value: `${number}`): string;
}

function numberFormat(locale: string, options: Intl.NumberFormatOptions): DecimalNumberFormat {
  return new Intl.NumberFormat(locale, options) as unknown as DecimalNumberFormat;
}

/** The payload's language when Intl accepts it as a locale, else `en-US`. */
export function resolveLocale(language: string): string {
  try {
    new Intl.NumberFormat(language);
    return language;
  } catch {
    return FALLBACK_LOCALE;
  }
}

function moneyFormat(locale: string, currency: string): Pick<Formatters, 'money' | 'moneyDigits'> {
  try {
    const currencyFormat = new Intl.NumberFormat(locale, { style: 'currency', currency });
    const format = currencyFormat as unknown as DecimalNumberFormat;
    return { money: (value) => format.format(decimalToString(value)), moneyDigits: currencyFormat.resolvedOptions().maximumFractionDigits ?? 2 };
  } catch {
    const plain = numberFormat(locale, { minimumFractionDigits: 2, maximumFractionDigits: 2 });
    const code = currency.trim();
    return { money: (value) => (code === '' ? plain.format(decimalToString(value)) : `${plain.format(decimalToString(value))} ${code}`), moneyDigits: 2 };
  }
}

export function createFormatters(language: string, currency: string): Formatters {
  const locale = resolveLocale(language);
  const quantityFormat = numberFormat(locale, { maximumFractionDigits: 6 });
  return {
    locale,
    ...moneyFormat(locale, currency),
    quantity: (value) => quantityFormat.format(decimalToString(value)),
  };
}
