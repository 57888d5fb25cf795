// format.js - numbers, times and money as the dashboard shows them. The
// partner hash holds strings; "" means "not available" (docs/redis.md) and
// shows as an em dash.

export const NA = '—';

const has = (v) => v !== undefined && v !== null && v !== '';

// num(v, digits): a decimal with fixed digits, grouped; NA when missing
export function num(v, digits = 0) {
  if (!has(v)) return NA;
  const n = Number(v);
  if (!Number.isFinite(n)) return String(v);
  return n.toLocaleString(undefined, { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

export const int = (v) => num(v, 0);

// pct(v): a 0–1 ratio as a percentage
export function pct(v) {
  if (!has(v)) return NA;
  const n = Number(v);
  return Number.isFinite(n) ? Math.round(n * 100) + ' %' : String(v);
}

// hours(v): business hours, one decimal
export function hours(v) {
  if (!has(v)) return NA;
  const n = Number(v);
  if (!Number.isFinite(n)) return String(v);
  return n.toLocaleString(undefined, { maximumFractionDigits: 1 }) + ' h';
}

export function days(v) {
  if (!has(v)) return NA;
  const n = Number(v);
  return Number.isFinite(n) ? n.toLocaleString(undefined, { maximumFractionDigits: 1 }) + ' d' : String(v);
}

// ms(v): a Unix-ms time as a number, or null for missing/0 ("never")
export function ms(v) {
  if (!has(v)) return null;
  const n = Number(v);
  return Number.isFinite(n) && n > 0 ? n : null;
}

const absFmt = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
const dayFmt = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium' });

export function absTime(v) {
  const t = ms(v);
  return t === null ? NA : absFmt.format(new Date(t));
}

export function absDay(v) {
  const t = ms(v);
  return t === null ? NA : dayFmt.format(new Date(t));
}

const rel = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto', style: 'short' });
const STEPS = [[60, 'second'], [60, 'minute'], [24, 'hour'], [30, 'day'], [12, 'month'], [Infinity, 'year']];

// relTime(v, now): "3 days ago", "in 2 h"; NA when missing
export function relTime(v, now = Date.now()) {
  const t = ms(v);
  if (t === null) return NA;
  let d = (t - now) / 1000;
  for (const [size, unit] of STEPS) {
    if (Math.abs(d) < size) return rel.format(Math.round(d), unit);
    d /= size;
  }
  return NA;
}

const moneyFmts = new Map();
function moneyFmt(currency) {
  let f = moneyFmts.get(currency);
  if (!f) {
    try {
      f = new Intl.NumberFormat(undefined, { style: 'currency', currency });
    } catch {
      f = new Intl.NumberFormat(undefined, { maximumFractionDigits: 2 }); // not an ISO code: plain
    }
    moneyFmts.set(currency, f);
  }
  return f;
}

// moneyMinor(v, currency): an amount in minor units (cents, yen, fils) of
// currency, shown in major units with the currency's own decimals
export function moneyMinor(v, currency) {
  if (!has(v)) return NA;
  const n = Number(v);
  if (!Number.isFinite(n)) return String(v);
  const f = moneyFmt(currency || 'USD');
  const digits = f.resolvedOptions().maximumFractionDigits;
  return f.format(n / 10 ** digits);
}

// moneyMajor(v, currency): an amount already in major units
export function moneyMajor(v, currency) {
  if (!has(v)) return NA;
  const n = Number(v);
  return Number.isFinite(n) ? moneyFmt(currency || 'USD').format(n) : String(v);
}

export const text = (v) => (has(v) ? String(v) : NA);

export const TYPE_LABEL = { REFERRAL: 'Referral', RESELLER: 'Reseller', TECHNOLOGY: 'Technology', CO_SELL: 'Co-sell' };
export const typeLabel = (v) => (has(v) ? TYPE_LABEL[v] || String(v) : NA);
