// Browser test of medallion's UI, run by web/browser_test.go (go test
// ./web/) against a live server: node --test ui/test/browser.test.mjs with
//   URL        the server's base URL (http://127.0.0.1:PORT)
//   TOKEN      the server's token (the UI reads it from ?token=)
//   ARTIFACTS  where screenshots go
//   CHROMIUM   the browser (default /usr/bin/chromium)
// POST $URL/__test/land makes the Go side land new orders, run the pipeline
// and announce the commits (Server.Notify).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

const BASE = process.env.URL;
const TOKEN = process.env.TOKEN || '';
const ARTIFACTS = process.env.ARTIFACTS || fs.mkdtempSync(path.join(os.tmpdir(), 'medallion-ui-'));
const EXE = process.env.CHROMIUM || '/usr/bin/chromium';
assert.ok(BASE, 'set URL to the server under test');
fs.mkdirSync(ARTIFACTS, { recursive: true });

const page_ = (hash) => `${BASE}/${TOKEN ? '?token=' + encodeURIComponent(TOKEN) : ''}#/${hash}`;

let context, page, userDir;
const pageErrors = [];

before(async () => {
  userDir = fs.mkdtempSync(path.join(os.tmpdir(), 'medallion-chromium-'));
  // A fresh profile (--user-data-dir, which playwright passes for a
  // persistent context).
  context = await chromium.launchPersistentContext(userDir, {
    executablePath: EXE,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-quic',
      '--no-first-run', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1360, height: 1000 },
  });
  page = context.pages()[0] || await context.newPage();
  page.on('pageerror', (e) => pageErrors.push(String(e)));
  page.on('console', (m) => { if (m.type() === 'error') pageErrors.push('console: ' + m.text()); });
  page.on('response', (r) => { if (r.status() >= 400) pageErrors.push(`HTTP ${r.status()} ${r.url()}`); });
});

after(async () => {
  await context?.close();
  if (userDir) fs.rmSync(userDir, { recursive: true, force: true });
});

async function shot(name, p = page) {
  await p.waitForTimeout(700); // let chart transitions finish
  const file = path.join(ARTIFACTS, name + '.png');
  await p.screenshot({ path: file, fullPage: true });
  console.log('screenshot', file);
}

// chartsState: every chart panel's first series length and every KPI's text.
const chartsState = () => {
  const charts = {};
  for (const el of document.querySelectorAll('[data-panel] .chart')) {
    const id = el.closest('[data-panel]').dataset.panel;
    const inst = echarts.getInstanceByDom(el);
    const opt = inst && inst.getOption();
    charts[id] = opt && opt.series && opt.series[0] ? opt.series[0].data.length : 0;
  }
  const kpis = {};
  for (const el of document.querySelectorAll('[data-type="kpi"]')) kpis[el.dataset.panel] = el.querySelector('.value').textContent;
  const tables = {};
  for (const el of document.querySelectorAll('[data-type="table"]')) tables[el.dataset.panel] = el.querySelectorAll('tbody tr').length;
  const errors = [...document.querySelectorAll('[data-panel] .error')].map((e) => e.textContent).filter(Boolean);
  return { charts, kpis, tables, errors };
};

// overlaps lists pairs of visible SVG text elements under sel whose boxes
// intersect (by more than a pixel each way).
const overlaps = (sel) => {
  const boxes = [...document.querySelectorAll(sel + ' svg text')]
    .filter((t) => t.textContent.trim() && getComputedStyle(t).display !== 'none' && t.getAttribute('opacity') !== '0')
    .map((t) => ({ text: t.textContent, r: t.getBoundingClientRect() }))
    .filter((b) => b.r.width > 0 && b.r.height > 0);
  const out = [];
  for (let i = 0; i < boxes.length; i++) {
    for (let j = i + 1; j < boxes.length; j++) {
      const a = boxes[i].r, b = boxes[j].r;
      if (Math.min(a.right, b.right) - Math.max(a.left, b.left) > 1 && Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top) > 1) {
        out.push(`${boxes[i].text} × ${boxes[j].text}`);
      }
    }
  }
  return { count: boxes.length, overlaps: out };
};

// query runs SQL through the API, as the token holder.
async function query(sql) {
  const res = await fetch(`${BASE}/api/query`, { method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: 'Bearer ' + TOKEN }, body: JSON.stringify({ sql }) });
  const body = await res.json();
  assert.equal(res.status, 200, JSON.stringify(body));
  return body.rows;
}

const money = (v) => 'R$ ' + new Intl.NumberFormat('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 }).format(v);

const allRendered = () => {
  const charts = [...document.querySelectorAll('[data-panel] .chart')];
  const kpis = [...document.querySelectorAll('[data-type="kpi"] .value')];
  return charts.length > 0 && kpis.length > 0 &&
    charts.every((el) => { const i = echarts.getInstanceByDom(el); const s = i && i.getOption().series; return s && s[0] && s[0].data.length > 0; }) &&
    kpis.every((el) => /\d/.test(el.textContent)) &&
    [...document.querySelectorAll('[data-type="table"]')].every((el) => el.querySelectorAll('tbody tr').length > 0);
};

test('dashboard: every chart, KPI tile and table renders with data', async () => {
  await page.goto(page_(''));
  await page.waitForFunction(allRendered, null, { timeout: 30000 });
  const st = await page.evaluate(chartsState);
  console.log('dashboard', JSON.stringify(st));
  assert.deepEqual(st.errors, []);
  for (const id of ['daily_revenue', 'aov_daily', 'revenue_by_category', 'revenue_by_state', 'customer_segments', 'payment_mix']) {
    assert.ok(st.charts[id] > 0, `chart ${id} has data`);
  }
  for (const id of ['revenue', 'orders', 'aov', 'cancellation_rate']) assert.match(st.kpis[id], /\d/, `KPI ${id}`);
  assert.ok(st.tables.top_products > 0 && st.tables.top_sellers > 0);
  // The AOV line has two series (multi-series y), with a legend and tooltips.
  const opt = await page.evaluate(() => {
    const o = echarts.getInstanceByDom(document.querySelector('[data-panel="aov_daily"] .chart')).getOption();
    return { series: o.series.length, legend: o.legend.length, tooltip: o.tooltip.length };
  });
  assert.equal(opt.series, 2);
  assert.ok(opt.legend > 0 && opt.tooltip > 0);
  await page.waitForFunction(() => /data as of .*, updated \d+ s ago/.test(document.querySelector('#fresh').textContent));
  await shot('dashboard');

  // Money has two decimals; no panel shows a filter note with no filter set.
  assert.match(st.kpis.revenue, /^R\$ [\d,]+\.\d{2}$/, 'revenue tile: ' + st.kpis.revenue);
  assert.match(st.kpis.aov, /^R\$ [\d,]+\.\d{2}$/, 'AOV tile: ' + st.kpis.aov);
  assert.deepEqual(await page.evaluate(() => [...document.querySelectorAll('[data-panel] .note')].map((e) => e.textContent).filter(Boolean)), []);
  // Layout: no two labels of a chart overlap; every pie slice is named.
  for (const id of ['revenue_by_state', 'revenue_by_category', 'payment_mix', 'customer_segments', 'daily_revenue', 'aov_daily']) {
    const o = await page.evaluate(overlaps, `[data-panel="${id}"] .chart`);
    console.log('labels', id, JSON.stringify(o));
    assert.ok(o.count > 2, `${id}: labels rendered as SVG text`);
    assert.deepEqual(o.overlaps, [], `${id}: labels overlap`);
  }
  // Tables fit their panels (no column cut off behind a scroll bar).
  const clipped = await page.evaluate(() => [...document.querySelectorAll('[data-type="table"] .scroll')]
    .filter((e) => e.scrollWidth > e.clientWidth + 1).map((e) => e.closest('[data-panel]').dataset.panel));
  assert.deepEqual(clipped, [], 'tables wider than their panels');
  const pie = await page.evaluate(() => {
    const inst = echarts.getInstanceByDom(document.querySelector('[data-panel="payment_mix"] .chart'));
    const names = inst.getOption().series[0].data.map((d) => d.name);
    const texts = [...document.querySelectorAll('[data-panel="payment_mix"] svg text')].map((t) => t.textContent);
    return { names, unnamed: names.filter((n) => !texts.some((t) => t.startsWith(n + ' ') && /\d%$/.test(t))) };
  });
  assert.ok(pie.names.length > 1, JSON.stringify(pie));
  assert.deepEqual(pie.unnamed, [], 'every slice is named with its share');
});

test('live: new data landing updates a KPI in place, without a reload', async () => {
  await page.waitForFunction(() => document.querySelector('#live').classList.contains('on'), null, { timeout: 10000 });
  const before = await page.evaluate(() => {
    window.__marker = 'still-the-same-page';
    return {
      orders: document.querySelector('[data-panel="orders"] .value').textContent,
      revenue: document.querySelector('[data-panel="revenue"] .value').textContent,
      loadedAt: window.medallion.loadedAt,
      refreshes: window.medallion.refreshes,
    };
  });
  const res = await fetch(`${BASE}/__test/land`, { method: 'POST' });
  assert.equal(res.status, 200, await res.text());
  await page.waitForFunction((b) => document.querySelector('[data-panel="orders"] .value').textContent !== b.orders,
    before, { timeout: 30000 });
  const after_ = await page.evaluate(() => ({
    orders: document.querySelector('[data-panel="orders"] .value').textContent,
    revenue: document.querySelector('[data-panel="revenue"] .value').textContent,
    marker: window.__marker,
    loadedAt: window.medallion.loadedAt,
    refreshes: window.medallion.refreshes,
    commits: window.medallion.commits.length,
    navigations: performance.getEntriesByType('navigation').length,
  }));
  console.log('live', JSON.stringify({ before, after: after_ }));
  assert.equal(after_.marker, 'still-the-same-page', 'the page was not reloaded');
  assert.equal(after_.loadedAt, before.loadedAt);
  assert.equal(after_.navigations, 1);
  assert.ok(after_.refreshes > before.refreshes);
  assert.ok(after_.commits > 0, 'commit events arrived over SSE');
  assert.notEqual(after_.revenue, before.revenue);
  assert.ok(await page.evaluate(allRendered));
  await shot('dashboard-live');
});

test('state filter changes the state chart, the tiles and the daily charts, and says which panels cannot follow', async () => {
  const cats = () => echarts.getInstanceByDom(document.querySelector('[data-panel="revenue_by_state"] .chart')).getOption().yAxis[0].data;
  const all = await page.evaluate(cats);
  const states = await page.evaluate(() => [...document.querySelectorAll('#f-state option')].map((o) => o.value));
  assert.ok(states.length > 2, 'state choices: ' + states);
  const pick = all[0]; // the top state
  assert.match(pick, /^[A-Z]{2}$/);
  await page.selectOption('#f-state', pick);
  await page.waitForFunction((a) => {
    const c = echarts.getInstanceByDom(document.querySelector('[data-panel="revenue_by_state"] .chart')).getOption().yAxis[0].data;
    return JSON.stringify(c) !== JSON.stringify(a) && c.length > 0;
  }, all, { timeout: 15000 });
  const cities = await page.evaluate(cats);
  console.log('state', pick, 'cities', JSON.stringify(cities));
  assert.ok(cities.every((c) => !/^[A-Z]{2}$/.test(c)), 'cities of the state, not states');
  // The tiles show the state's figures, as other tables compute them.
  const [[rev]] = await query(`SELECT round(sum(revenue), 2) FROM gold.revenue_by_state WHERE customer_state = '${pick}'`);
  const [[orders]] = await query(`SELECT count(DISTINCT order_id) FROM silver.orders_items WHERE has_item AND customer_state = '${pick}'`);
  const [[allRev]] = await query('SELECT round(revenue, 2) FROM gold.total_revenue');
  assert.ok(rev > 0 && rev < allRev, `the state's revenue ${rev} is a part of ${allRev}`);
  await page.waitForFunction((want) => document.querySelector('[data-panel="revenue"] .value').textContent === want, money(rev), { timeout: 15000 });
  const tiles = await page.evaluate(() => ({
    orders: document.querySelector('[data-panel="orders"] .value').textContent,
    notes: Object.fromEntries([...document.querySelectorAll('[data-panel]')].map((e) => [e.dataset.panel, e.querySelector('.note').textContent])),
    daily: echarts.getInstanceByDom(document.querySelector('[data-panel="daily_revenue"] .chart')).getOption().series[0].data
      .reduce((a, v) => a + Number(v), 0),
  }));
  console.log('state tiles', pick, JSON.stringify(tiles));
  assert.equal(tiles.orders, new Intl.NumberFormat('en-US').format(orders));
  assert.ok(Math.abs(tiles.daily - rev) < 0.01 * tiles.daily + 1, `daily revenue sums to ${tiles.daily}, the state's ${rev}`);
  for (const id of ['revenue', 'orders', 'aov', 'cancellation_rate', 'daily_revenue', 'aov_daily', 'revenue_by_state']) {
    assert.equal(tiles.notes[id], '', `${id} follows the state`);
  }
  for (const id of ['revenue_by_category', 'customer_segments', 'payment_mix', 'top_products', 'top_sellers']) {
    assert.match(tiles.notes[id], /shows all states/, `${id} says it shows all states`);
  }
  assert.ok(await page.evaluate(allRendered));
  await shot('dashboard-state-' + pick);
  await page.selectOption('#f-state', 'all');
  await page.waitForFunction((a) => JSON.stringify(echarts.getInstanceByDom(document.querySelector('[data-panel="revenue_by_state"] .chart')).getOption().yAxis[0].data).includes(a[0]), all);
});

test('dashboard is readable on a phone', async () => {
  const p = await context.newPage();
  await p.setViewportSize({ width: 390, height: 844 });
  await p.goto(page_(''));
  await p.waitForFunction(allRendered, null, { timeout: 30000 });
  const w = await p.evaluate(() => ({ scroll: document.documentElement.scrollWidth, client: document.documentElement.clientWidth,
    chart: document.querySelector('[data-panel="daily_revenue"]').getBoundingClientRect().width }));
  assert.ok(w.scroll <= w.client + 1, `no horizontal scrolling: ${JSON.stringify(w)}`);
  assert.ok(w.chart <= w.client, 'charts fit the screen');
  await shot('dashboard-phone', p);
  await p.close();
});

test('pipeline page shows the DAG with statuses and rows', async () => {
  await page.goto(page_('pipeline'));
  await page.waitForFunction(() => document.body.dataset.ready === 'pipeline');
  const g = await page.evaluate(() => {
    const o = echarts.getInstanceByDom(document.querySelector('#dag')).getOption();
    const s = o.series[0];
    return { nodes: s.data.length, links: s.links.length, api: window.medallion.pipeline.nodes.length,
      withRows: s.data.filter((n) => n.value != null).length, labels: s.data.map((n) => n.name) };
  });
  assert.ok(g.nodes > 20 && g.nodes === g.api, JSON.stringify(g));
  assert.ok(g.links > 20 && g.withRows > 20);
  assert.ok(g.labels.includes('gold.daily_revenue') && g.labels.includes('bronze.orders'));
  // Every edge and label lies inside the chart (nothing cut at the edges).
  const cut = await page.evaluate(() => {
    const box = document.querySelector('#dag').getBoundingClientRect();
    return [...document.querySelectorAll('#dag svg path, #dag svg text')].map((e) => e.getBoundingClientRect())
      .filter((r) => r.width + r.height > 0 && (r.top < box.top - 1 || r.bottom > box.bottom + 1 || r.left < box.left - 1 || r.right > box.right + 1))
      .map((r) => [r.left, r.top, r.right, r.bottom].map(Math.round).join(','));
  });
  assert.deepEqual(cut, [], 'elements outside the pipeline chart');
  await shot('pipeline');
});

test('tables page lists tables and shows one table', async () => {
  await page.goto(page_('tables'));
  await page.waitForFunction(() => document.body.dataset.ready === 'tables');
  const n = await page.locator('#table-list a').count();
  assert.ok(n > 20, `tables listed: ${n}`);
  // Names fit the sidebar (ellipsis, full name on hover); counts agree in number.
  const side = await page.evaluate(() => [...document.querySelectorAll('#table-list a')].map((a) => {
    const r = a.getBoundingClientRect();
    const over = [...a.children].some((c) => c.getBoundingClientRect().right > r.right + 1) || a.scrollWidth > a.clientWidth + 1;
    return { name: a.querySelector('.name').textContent, count: a.querySelector('.count').textContent, over };
  }));
  assert.deepEqual(side.filter((x) => x.over).map((x) => x.name), [], 'names overflowing the sidebar');
  assert.deepEqual(side.filter((x) => /^1 rows$|^[\d,]*[02-9] row$|^\d*1\d row$/.test(x.count)), [], 'row counts pluralised');
  assert.equal(side.find((x) => x.name === 'gold.total_revenue')?.count, '1 row');
  // A DATE shows as a day.
  await page.click('#table-list a:has-text("gold.daily_revenue")');
  await page.waitForFunction(() => document.querySelector('#table-summary h2')?.textContent === 'gold.daily_revenue' && document.querySelector('#preview tbody tr'));
  const day = await page.evaluate(() => document.querySelector('#preview tbody td').textContent);
  assert.match(day, /^\d{4}-\d{2}-\d{2}$/, 'DATE in the preview: ' + day);
  await page.click('#table-list a:has-text("silver.orders")');
  await page.waitForFunction(() => document.body.dataset.ready === 'tables' && document.querySelector('#preview tbody tr'));
  const d = await page.evaluate(() => ({
    schema: document.querySelectorAll('#schema tbody tr').length,
    history: document.querySelectorAll('#history tbody tr').length,
    preview: document.querySelectorAll('#preview tbody tr').length,
    quarantine: document.querySelector('#quarantine').textContent,
    summary: document.querySelector('#table-summary').textContent,
  }));
  console.log('table', JSON.stringify(d));
  assert.ok(d.schema > 3 && d.history >= 2 && d.preview > 0, JSON.stringify(d));
  assert.match(d.quarantine, /^(\d|none)/);
  assert.match(d.summary, /last run: .*status/);
  await shot('tables');
});

test('runs page lists runs and runs a job now', async () => {
  await page.goto(page_('runs'));
  await page.waitForFunction(() => document.body.dataset.ready === 'runs');
  const rows = await page.locator('#runs tbody tr').count();
  assert.ok(rows > 20, `runs: ${rows}`);
  await page.click('button[data-job="refresh"]');
  await page.waitForFunction(() => document.querySelector('[data-msg="refresh"]').textContent === 'triggered');
  const res = await fetch(`${BASE}/__test/triggered`);
  assert.equal(await res.text(), 'refresh');
  await shot('runs');
});

test('no script errors in the page', () => {
  assert.deepEqual(pageErrors, []);
});
