// Talking to the server: the token (from ?token= in the page's URL) goes in
// an Authorization header, and as ?token= on the EventSource (which cannot
// set headers).
const params = new URLSearchParams(location.search);
export const token = params.get('token') || '';

export async function api(path, opts = {}) {
  const headers = Object.assign({}, opts.headers || {});
  if (token) headers['Authorization'] = 'Bearer ' + token;
  const res = await fetch(path, Object.assign({}, opts, { headers, cache: 'no-store' }));
  let body;
  try { body = await res.json(); } catch { body = null; }
  if (!res.ok) throw new Error((body && body.error) || `${res.status} ${res.statusText}`);
  return body;
}

// Live events: one EventSource for the page; listeners get every commit.
const listeners = new Set();
export function onCommit(fn) { listeners.add(fn); return () => listeners.delete(fn); }

export function connectEvents(statusEl) {
  const url = '/api/events' + (token ? '?token=' + encodeURIComponent(token) : '');
  const es = new EventSource(url);
  const set = (on, text) => { if (statusEl) { statusEl.textContent = text; statusEl.classList.toggle('on', on); } };
  es.addEventListener('hello', (ev) => {
    let hello = {};
    try { hello = JSON.parse(ev.data); } catch { /* ignore */ }
    document.getElementById('project').textContent = hello.project || '';
    if (hello.snapshot) {
      // A static snapshot (medallion dashboard export): no live updates.
      es.close();
      set(false, '◼ snapshot');
      return;
    }
    set(true, '● live');
  });
  es.addEventListener('open', () => set(true, '● live'));
  es.addEventListener('error', () => set(false, '○ reconnecting'));
  es.addEventListener('commit', (ev) => {
    let data;
    try { data = JSON.parse(ev.data); } catch { return; }
    window.medallion.commits.push(data);
    for (const fn of listeners) fn(data);
  });
  return es;
}

export function esc(v) {
  return String(v ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));
}

const nf = new Intl.NumberFormat(undefined, { maximumFractionDigits: 2 });
export function fmt(v) {
  if (typeof v === 'number') return nf.format(v);
  if (v === null || v === undefined) return '';
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

export function isNum(v) { return typeof v === 'number'; }

// Money: always two decimals ("R$ 7,126,637.50").
const moneyNF = new Intl.NumberFormat(undefined, { minimumFractionDigits: 2, maximumFractionDigits: 2 });
export function money(v) { return moneyNF.format(v); }

// Axis ticks: compact ("1.2M"), so labels stay apart.
const compactNF = new Intl.NumberFormat(undefined, { notation: 'compact', maximumFractionDigits: 1 });
export function compact(v) { return typeof v === 'number' ? compactNF.format(v) : String(v ?? ''); }

// plural: "1 row", "2 rows" (n formatted).
export function plural(n, word) { return `${fmt(n)} ${word}${n === 1 ? '' : 's'}`; }

// cell renders a value for an HTML table.
export function cell(v) {
  const s = esc(fmt(v));
  return `<td class="${isNum(v) ? 'num' : ''}" title="${s}">${s}</td>`;
}

export function ago(t) {
  const s = Math.max(0, Math.round((Date.now() - t) / 1000));
  if (s < 90) return `${s} s ago`;
  if (s < 5400) return `${Math.round(s / 60)} min ago`;
  return `${Math.round(s / 3600)} h ago`;
}

export function when(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  return isNaN(d) ? String(iso) : d.toLocaleString();
}

// charts made by a page, disposed when the page changes.
export const charts = new Set();
export function chart(el) {
  // SVG: text and lines are DOM elements the browser test can measure.
  const c = echarts.init(el, null, { renderer: 'svg' });
  charts.add(c);
  return c;
}
export function disposeCharts() {
  for (const c of charts) c.dispose();
  charts.clear();
}
window.addEventListener('resize', () => { for (const c of charts) c.resize(); });
