// Amounts as people type them ("$5,000", "250 EUR", "12.50", "1.5k") to exact minor units, and back.
// Pure and exact: no floating point between the text and the integer.

/** ISO 4217 minor-unit exponents of the currencies the parser recognises. */
export const CURRENCY_MINOR_UNITS: Readonly<Record<string, number>> = Object.freeze({
  USD: 2, EUR: 2, GBP: 2, CHF: 2, CAD: 2, AUD: 2, NZD: 2, JPY: 0, CNY: 2, HKD: 2, SGD: 2, INR: 2,
  SEK: 2, NOK: 2, DKK: 2, PLN: 2, CZK: 2, HUF: 2, RON: 2, BGN: 2, MXN: 2, BRL: 2, ARS: 2, CLP: 0,
  COP: 2, ZAR: 2, ILS: 2, TRY: 2, AED: 2, SAR: 2, QAR: 2, KWD: 3, BHD: 3, OMR: 3, JOD: 3, TND: 3,
  KRW: 0, TWD: 2, THB: 2, MYR: 2, IDR: 2, PHP: 2, VND: 0, ISK: 0, UAH: 2, NGN: 2, KES: 2, EGP: 2,
});

const SYMBOLS: Readonly<Record<string, string>> = { $: 'USD', '€': 'EUR', '£': 'GBP', '¥': 'JPY', '₹': 'INR', '₩': 'KRW' };
const WORDS: Readonly<Record<string, string>> = {
  dollar: 'USD', dollars: 'USD', bucks: 'USD', usd: 'USD',
  euro: 'EUR', euros: 'EUR',
  pound: 'GBP', pounds: 'GBP', quid: 'GBP',
  yen: 'JPY', franc: 'CHF', francs: 'CHF', rupees: 'INR',
};

/** "12,50": a decimal comma, which this parser does not guess at. */
export function hasDecimalComma(text: string): boolean {
  return /(?<![\d,])\d+,\d{1,2}(?!\d)/.test(text);
}

export function isKnownCurrency(code: string): boolean {
  return Object.hasOwn(CURRENCY_MINOR_UNITS, code);
}

export interface MoneyMatch {
  /** Index of the match in the searched text, and its length. */
  index: number;
  length: number;
  /** The number exactly as typed, without thousands separators: "5000", "12.50". */
  number: string;
  multiplier: 1 | 1000 | 1_000_000;
  /** ISO code, or null when the text gives none (the caller applies a default). */
  currency: string | null;
}

// NUMBER: 1,234,567.89 | 1234.5 | .5 (never empty); an optional k/m multiplier right after it.
const NUM = String.raw`(?:(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?|\.\d+)`;
// Digits glued to letters, hyphens, '+', '@' ... belong to names, hosts, phones or e-mail addresses.
const BEFORE = String.raw`(?<![\p{L}\p{N}.,+@_/#:$€£¥₹₩-])`;
const AFTER = String.raw`(?![\p{L}\p{N}@_-]|[.,]\d)`;
const SYMBOL_FIRST = new RegExp(String.raw`(?<![\p{L}\p{N}])([$€£¥₹₩])\s?(${NUM})([km])?${AFTER}`, 'giu');
const CODE_FIRST = new RegExp(String.raw`(?<![\p{L}\p{N}])([A-Za-z]{3})\s?(${NUM})([km])?${AFTER}`, 'giu');
const NUMBER_FIRST = new RegExp(String.raw`${BEFORE}(${NUM})([km])?(?:\s?([A-Za-z]{3,7}))?(?![\p{L}\p{N}@_-]|[.,]\d)`, 'giu');

function currencyWord(word: string | undefined): string | null {
  if (word === undefined) return null;
  const upper = word.toUpperCase();
  if (word.length === 3 && isKnownCurrency(upper)) return upper;
  return WORDS[word.toLowerCase()] ?? null;
}

function multiplierOf(suffix: string | undefined): 1 | 1000 | 1_000_000 {
  if (suffix === undefined) return 1;
  return suffix.toLowerCase() === 'k' ? 1000 : 1_000_000;
}

function* matches(re: RegExp, text: string): Generator<RegExpExecArray> {
  const global = new RegExp(re.source, re.flags);
  for (let m = global.exec(text); m !== null; m = global.exec(text)) yield m;
}

/**
 * The first amount in `text`, with its currency when one is written next to it:
 * "$5000", "€250", "250 EUR", "USD 250", "12.50", "1.5k", "5,000 dollars".
 * Digits that are part of a name, host, phone number or address ("web-2", "+1555...") are not amounts.
 */
export function findMoney(text: string): MoneyMatch | null {
  const candidates: MoneyMatch[] = [];
  for (const m of matches(SYMBOL_FIRST, text)) {
    candidates.push({
      index: m.index, length: m[0].length, number: m[2]!.replaceAll(',', ''),
      multiplier: multiplierOf(m[3]), currency: SYMBOLS[m[1]!] ?? null,
    });
    break;
  }
  for (const m of matches(CODE_FIRST, text)) {
    const currency = m[1]!.toUpperCase();
    if (!isKnownCurrency(currency)) continue;
    candidates.push({
      index: m.index, length: m[0].length, number: m[2]!.replaceAll(',', ''),
      multiplier: multiplierOf(m[3]), currency,
    });
    break;
  }
  for (const m of matches(NUMBER_FIRST, text)) {
    const currency = currencyWord(m[3]);
    // "12.50 for lunch": the word is not a currency, so the match is the number alone.
    const length = currency === null ? m[1]!.length + (m[2]?.length ?? 0) : m[0].length;
    candidates.push({
      index: m.index, length, number: m[1]!.replaceAll(',', ''), multiplier: multiplierOf(m[2]), currency,
    });
    break;
  }
  if (candidates.length === 0) return null;
  candidates.sort((a, b) => a.index - b.index || b.length - a.length);
  return candidates[0]!;
}

export type MinorUnitsResult = { ok: true; amountMinor: number } | { ok: false; problem: string };

/** Exact conversion of a typed amount to minor units of `currency`. */
export function toMinorUnits(number: string, multiplier: number, currency: string): MinorUnitsResult {
  const exponent = CURRENCY_MINOR_UNITS[currency];
  if (exponent === undefined) return { ok: false, problem: `${currency} is not a currency I know` };
  const [intPart = '', fracPart = ''] = number.split('.');
  const scale = 10n ** BigInt(exponent);
  // value = (int + frac/10^len) * multiplier * 10^exponent, which must be an integer.
  const fracDigits = BigInt(fracPart.length);
  const numerator = (BigInt(intPart || '0') * 10n ** fracDigits + BigInt(fracPart || '0')) * BigInt(multiplier) * scale;
  const denominator = 10n ** fracDigits;
  if (numerator % denominator !== 0n) {
    return {
      ok: false,
      problem: exponent === 0 ? `${currency} amounts cannot have decimals` : `${currency} amounts have at most ${exponent} decimal place${exponent === 1 ? '' : 's'}`,
    };
  }
  const minor = numerator / denominator;
  if (minor <= 0n) return { ok: false, problem: 'the amount must be more than zero' };
  if (minor > BigInt(Number.MAX_SAFE_INTEGER)) return { ok: false, problem: 'the amount is too large' };
  return { ok: true, amountMinor: Number(minor) };
}

/** "5,000.00 USD", "1,200 JPY". */
export function formatMoney(amountMinor: number, currency: string): string {
  const exponent = CURRENCY_MINOR_UNITS[currency] ?? 2;
  const negative = amountMinor < 0;
  const digits = BigInt(Math.abs(Math.trunc(amountMinor))).toString().padStart(exponent + 1, '0');
  const intPart = digits.slice(0, digits.length - exponent);
  const fracPart = exponent > 0 ? `.${digits.slice(digits.length - exponent)}` : '';
  const grouped = intPart.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return `${negative ? '-' : ''}${grouped}${fracPart} ${currency}`;
}
