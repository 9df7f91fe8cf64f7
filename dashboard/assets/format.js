// Numbers, dates and durations for people.

const numberFmt = new Intl.NumberFormat();
const dateFmt = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
const relFmt = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' });

export function num(n) {
  return n === null || n === undefined ? '–' : numberFmt.format(n);
}

export function date(iso) {
  if (!iso) return '–';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? String(iso) : dateFmt.format(d);
}

const UNITS = [
  ['year', 365 * 24 * 3600],
  ['month', 30 * 24 * 3600],
  ['week', 7 * 24 * 3600],
  ['day', 24 * 3600],
  ['hour', 3600],
  ['minute', 60],
];

/** "3 hours ago", "in 2 days", "now". */
export function relative(iso, now = Date.now()) {
  if (!iso) return '–';
  const t = new Date(iso).getTime();
  if (Number.isNaN(t)) return String(iso);
  const seconds = Math.round((t - now) / 1000);
  for (const [unit, size] of UNITS) {
    if (Math.abs(seconds) >= size) return relFmt.format(Math.trunc(seconds / size), unit);
  }
  return relFmt.format(0, 'second');
}

/** A time element showing relative time, with the exact time on hover and for machines. */
export function timeEl(h, iso) {
  if (!iso) return h('span', { class: 'muted', text: '–' });
  return h('time', { datetime: iso, title: date(iso), text: relative(iso) });
}

/** 93784 s → "1 d 2 h". */
export function duration(seconds) {
  if (seconds === null || seconds === undefined) return '–';
  const s = Math.max(0, Math.round(seconds));
  const d = Math.floor(s / 86400);
  const hr = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (d) return hr ? `${d} d ${hr} h` : `${d} d`;
  if (hr) return m ? `${hr} h ${m} min` : `${hr} h`;
  if (m) return `${m} min`;
  return `${s} s`;
}

export function ms(n) {
  if (n === null || n === undefined) return '–';
  return n < 1000 ? `${n} ms` : `${(n / 1000).toFixed(1)} s`;
}

export function plural(n, one, many = `${one}s`) {
  return `${num(n)} ${n === 1 ? one : many}`;
}

export function tenantName(t) {
  return t === null || t === undefined ? '(no tenant)' : t;
}
