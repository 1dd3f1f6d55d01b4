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

test('state filter changes the state chart', async () => {
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
  await shot('pipeline');
});

test('tables page lists tables and shows one table', async () => {
  await page.goto(page_('tables'));
  await page.waitForFunction(() => document.body.dataset.ready === 'tables');
  const n = await page.locator('#table-list a').count();
  assert.ok(n > 20, `tables listed: ${n}`);
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
