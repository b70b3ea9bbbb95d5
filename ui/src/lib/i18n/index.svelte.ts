// Runtime-switchable catalogs. `t()` reads the locale from a rune, so any template that calls it
// re-renders when the language changes.
import { en, type MessageKey } from './en';
import { ja } from './ja';
import type { Locale, RecipientMasked } from '../ipc';
import { AppError } from '../ipc';

export type { MessageKey };
type Params = Record<string, string | number>;

const catalogs: Record<Locale, Record<MessageKey, string>> = { en, ja };

// Until app_info() answers, follow the system language (Japanese unless it is clearly something else).
const initial: Locale = typeof navigator !== 'undefined' && navigator.language && !navigator.language.startsWith('ja') ? 'en' : 'ja';
export const i18n = $state<{ locale: Locale }>({ locale: initial });

export function setLocaleLocal(locale: Locale): void {
  i18n.locale = locale;
  document.documentElement.lang = locale;
}

function fill(s: string, params?: Params): string {
  if (!params) return s;
  return s.replace(/\{(\w+)\}/g, (m, k: string) => (k in params ? String(params[k]) : m));
}

export function t(key: MessageKey, params?: Params): string {
  const s = catalogs[i18n.locale][key] ?? en[key] ?? key;
  return fill(s, params);
}

/** For keys built at run time (e.g. `printer.${state}`): falls back to `fallback` if the key is unknown. */
export function tDyn(key: string, fallback: string, params?: Params): string {
  const cat = catalogs[i18n.locale] as Record<string, string>;
  const s = cat[key];
  return s === undefined ? fallback : fill(s, params);
}

function intlLocale(): string {
  return i18n.locale === 'ja' ? 'ja-JP' : 'en-GB';
}

export function fmtNumber(n: number): string {
  return new Intl.NumberFormat(intlLocale()).format(n);
}

/** A change of quantity: "+5", "-3" (null: empty). */
export function fmtSigned(n: number | null): string {
  return n == null ? '' : (n > 0 ? '+' : '') + fmtNumber(n);
}

/** Date-time: RFC 3339 in, local wall-clock out. Unparseable strings are shown as they came. */
export function fmtDateTime(iso: string | null): string {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return new Intl.DateTimeFormat(intlLocale(), { dateStyle: 'medium', timeStyle: 'short', timeZone: 'Asia/Tokyo' }).format(d);
}

/**
 * The first millisecond of a calendar date (YYYY-MM-DD) in Japan, the zone fmtDateTime shows
 * (UTC+9 all year: no daylight saving time). Null for anything else.
 */
export function dayStartMs(ymd: string): number | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(ymd);
  if (!m) return null;
  return Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])) - 9 * 3_600_000;
}

/** A calendar date (YYYY-MM-DD): formatted without a time zone shift. */
export function fmtDate(ymd: string | null): string {
  if (!ymd) return '';
  const m = /^(\d{4})-(\d{2})-(\d{2})/.exec(ymd);
  if (!m) return ymd;
  const d = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])));
  if (ymd.length > 10) return fmtDateTime(ymd);
  return new Intl.DateTimeFormat(intlLocale(), { dateStyle: 'medium', timeZone: 'UTC' }).format(d);
}

/**
 * Japanese order (〒postal prefecture city name) in Japanese; Western order in English. Empty parts
 * are left out: a masked recipient may come without a city (the server gives name, postal code and
 * prefecture only), and no part may leave a stray comma or 〒.
 */
export function fmtAddress(r: RecipientMasked): string {
  const name = (r.name ?? '').trim();
  const pref = (r.prefecture ?? '').trim();
  const city = (r.city ?? '').trim();
  const postal = (r.postalCode ?? '').trim();
  if (i18n.locale === 'ja') {
    return [postal && `〒${postal}`, `${pref}${city}`, name && `${name} 様`].filter(Boolean).join(' ');
  }
  return [name, city, [pref, postal].filter(Boolean).join(' '), 'Japan'].filter(Boolean).join(', ');
}

/**
 * errors.<code> from the catalog, else the core's message. Detail fields fill placeholders.
 * With `scope`, `<scope>.<code>` is tried first: the same code can need other words on another
 * screen (`unknown_sku` is a scanned barcode at the bench, a typed SKU in the office).
 */
export function errorText(e: unknown, scope?: string): string {
  const err = e instanceof AppError ? e : new AppError('internal', String(e));
  const params: Params = { message: err.message };
  for (const [k, v] of Object.entries(err.detail ?? {})) {
    if (typeof v === 'string' || typeof v === 'number') params[k] = v;
  }
  // Placeholders the catalog needs but the detail lacks fall back to the message.
  params.status ??= err.message;
  params.reason ??= err.message;
  const general = tDyn(`errors.${err.code}`, err.message, params);
  return scope ? tDyn(`${scope}.${err.code}`, general, params) : general;
}
