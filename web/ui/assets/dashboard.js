// The dashboard page: KPI tiles, charts and tables from
// GET /api/dashboards/{name}, refreshed in place when a table a panel reads
// commits (Server-Sent Events), with date-range and state filters.
import { api, onCommit, esc, fmt, cell, ago, when, chart, money, compact } from './api.js';

const palette = ['#2f6fde', '#f08c2e', '#1a9e77', '#c93434', '#7b5cd6', '#d4a017', '#2bb3c0', '#8c564b'];

function unitFmt(v, unit) {
  if (v === null || v === undefined || v === '') return '–';
  if (unit === 'R$' && typeof v === 'number') return 'R$ ' + money(v);
  const s = fmt(v);
  if (!unit) return s;
  return unit === '%' ? s + ' %' : unit + ' ' + s;
}

// filterNote says what a panel shows when a filter is set that it does not
// follow (its SQL has no ${state} or no ${from}/${to}).
function filterNote(p, filters) {
  const follows = p.follows || [];
  const all = [];
  if (filters.state !== 'all' && !follows.includes('state')) all.push('all states');
  if ((filters.from || filters.to) && !follows.includes('date_range')) all.push('all dates');
  return all.length ? `shows ${all.join(' and ')} (no breakdown for this filter)` : '';
}

function col(p, name) { return p.columns.findIndex((c) => c.name === name); }

function chartOption(p) {
  return Object.assign({ animationDurationUpdate: 250 }, seriesOption(p));
}

function seriesOption(p) {
  const xi = col(p, p.x);
  const ys = (p.y || []).map((y) => ({ name: y, i: col(p, y) }));
  const xs = p.rows.map((r) => r[xi]);
  const tipFmt = (v) => unitFmt(v, p.unit);
  if (p.type === 'pie') {
    // Every slice is named with its share in the legend; on the ring only
    // slices big enough to hold a label get one (small ones' labels would
    // pile up).
    const data = p.rows.map((r) => ({ name: String(r[xi] ?? 'null'), value: r[ys[0].i] }));
    const total = data.reduce((a, d) => a + (Number(d.value) || 0), 0);
    const share = (name) => {
      const d = data.find((x) => x.name === name);
      return total ? ((100 * (Number(d?.value) || 0)) / total).toFixed(1) + '%' : '';
    };
    return {
      color: palette,
      tooltip: { trigger: 'item', valueFormatter: tipFmt },
      legend: { type: 'scroll', orient: 'vertical', right: 4, top: 'middle', formatter: (n) => `${n}  ${share(n)}` },
      series: [{ type: 'pie', name: p.title, radius: ['38%', '70%'], center: ['34%', '50%'],
        avoidLabelOverlap: true, minShowLabelAngle: 25,
        label: { position: 'inside', formatter: '{d}%', fontSize: 11, color: '#fff' },
        labelLayout: { hideOverlap: true },
        data }],
    };
  }
  if (p.type === 'bar') {
    // Horizontal bars: long category names stay readable on a phone.
    return {
      color: palette,
      tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' }, valueFormatter: tipFmt },
      legend: { show: ys.length > 1, top: 0 },
      grid: { left: 8, right: 24, top: ys.length > 1 ? 28 : 8, bottom: 8, containLabel: true },
      // Compact ticks ("1.2M"), no more than fit: the labels stay apart.
      xAxis: { type: 'value', splitNumber: 4, axisLabel: { formatter: compact, hideOverlap: true } },
      yAxis: { type: 'category', inverse: true, data: xs.map((x) => String(x ?? 'null')),
        axisLabel: { width: 120, overflow: 'truncate' } },
      series: ys.map((y) => ({ type: 'bar', name: y.name, data: p.rows.map((r) => r[y.i]) })),
    };
  }
  // line: one series per y; a second y column gets its own axis on the right.
  return {
    color: palette,
    tooltip: { trigger: 'axis' },
    legend: { top: 0 },
    grid: { left: 8, right: 8, top: 32, bottom: 44, containLabel: true },
    // The first and last dates align inwards: clear of the value axes' labels.
    xAxis: { type: 'category', data: xs.map((x) => String(x ?? '').slice(0, 10)), boundaryGap: false,
      axisLabel: { hideOverlap: true, alignMinLabel: 'left', alignMaxLabel: 'right' } },
    yAxis: ys.slice(0, 2).map((y, i) => ({ type: 'value', name: y.name, position: i ? 'right' : 'left',
      splitLine: { show: i === 0 }, axisLabel: { formatter: compact, hideOverlap: true } })),
    dataZoom: [{ type: 'inside' }, { type: 'slider', height: 18, bottom: 6 }],
    series: ys.map((y, i) => ({ type: 'line', name: y.name, yAxisIndex: Math.min(i, 1), showSymbol: false, smooth: true,
      areaStyle: ys.length === 1 ? { opacity: 0.12 } : undefined, data: p.rows.map((r) => r[y.i]) })),
  };
}

function tableHTML(p) {
  if (!p.rows.length) return '<p class="muted">No rows.</p>';
  // A column with fractions shows two decimals in every row.
  const fixed = p.columns.map((c, i) => p.rows.some((r) => typeof r[i] === 'number' && !Number.isInteger(r[i])));
  const td = (v, i) => (fixed[i] && typeof v === 'number' ? `<td class="num">${esc(money(v))}</td>` : cell(v));
  return `<div class="scroll"><table><thead><tr>${p.columns.map((c) => `<th>${esc(c.name)}</th>`).join('')}</tr></thead>
    <tbody>${p.rows.map((r) => `<tr>${r.map(td).join('')}</tr>`).join('')}</tbody></table></div>`;
}

export async function dashboardPage(main, arg) {
  const list = await api('/api/dashboards');
  if (!list.length) {
    main.innerHTML = '<h1>Dashboard</h1><p class="muted">This project defines no dashboards: add dashboards/*.yaml (see the built-in ecommerce project).</p>';
    return null;
  }
  const def = list.find((d) => d.name === arg) || list[0];
  const filters = { from: '', to: '', state: 'all' };
  main.innerHTML = `
    <h1>${esc(def.title)}</h1>
    ${list.length > 1 ? `<p>${list.map((d) => `<a href="#/dashboard/${encodeURIComponent(d.name)}">${esc(d.title)}</a>`).join(' · ')}</p>` : ''}
    <p class="muted">${esc(def.description || '')}</p>
    <div class="bar">
      ${def.filters.date_range ? `<label>From <input type="date" id="f-from"></label><label>To <input type="date" id="f-to"></label>` : ''}
      ${def.filters.state ? `<label>State <select id="f-state"><option value="all">All states</option></select></label>` : ''}
      <button class="secondary" id="f-reset" type="button">All data</button>
      <span class="fresh" id="fresh">loading…</span>
    </div>
    <div class="kpis" id="kpis"></div>
    <div class="grid" id="panels"></div>`;
  const kpis = main.querySelector('#kpis');
  const grid = main.querySelector('#panels');
  const fresh = main.querySelector('#fresh');
  const panels = new Map(); // id → {el, chart}
  for (const p of def.panels) {
    const el = document.createElement('div');
    el.className = 'card ' + (p.type === 'kpi' ? 'kpi' : 'panel') + (p.wide ? ' wide' : '');
    el.dataset.panel = p.id;
    el.dataset.type = p.type;
    if (p.type === 'kpi') {
      el.innerHTML = `<div class="label">${esc(p.title)}</div><div class="value">–</div><div class="note"></div><div class="pending"></div><div class="error"></div>`;
      kpis.appendChild(el);
    } else {
      el.innerHTML = `<h2>${esc(p.title)}</h2><div class="note"></div><div class="pending"></div><div class="error"></div>` +
        (p.type === 'table' ? '<div class="body"></div>' : '<div class="chart"></div>');
      grid.appendChild(el);
    }
    panels.set(p.id, { el, chart: null });
  }
  let data = null;
  let fetchedAt = 0;
  let inflight = null;
  let again = false;

  function render(d) {
    for (const p of d.panels) {
      const slot = panels.get(p.id);
      if (!slot) continue;
      slot.el.querySelector('.error').textContent = p.error || '';
      slot.el.querySelector('.pending').textContent = p.pending || '';
      slot.el.querySelector('.note').textContent = filterNote(p, filters);
      if (p.error || p.pending) continue;
      if (p.type === 'kpi') {
        const v = p.rows.length ? p.rows[0][col(p, p.y[0])] : null;
        const el = slot.el.querySelector('.value');
        const text = unitFmt(v, p.unit);
        if (el.textContent !== text && el.textContent !== '–') {
          el.classList.add('changed');
          setTimeout(() => el.classList.remove('changed'), 2500);
        }
        el.textContent = text;
        el.dataset.value = v ?? '';
      } else if (p.type === 'table') {
        slot.el.querySelector('.body').innerHTML = tableHTML(p);
      } else {
        if (!slot.chart) slot.chart = chart(slot.el.querySelector('.chart'));
        // notMerge: the series set may change (a state picked), update in place.
        slot.chart.setOption(chartOption(p), { notMerge: true, lazyUpdate: false });
      }
    }
    const f = d.filters || {};
    const from = main.querySelector('#f-from'), to = main.querySelector('#f-to'), st = main.querySelector('#f-state');
    if (from) {
      for (const i of [from, to]) { i.min = f.min || ''; i.max = f.max || ''; }
      if (!filters.from) from.value = f.min || '';
      if (!filters.to) to.value = f.max || '';
    }
    if (st && f.states) {
      const have = [...st.options].map((o) => o.value).join(',');
      const want = ['all', ...f.states].join(',');
      if (have !== want) {
        st.innerHTML = '<option value="all">All states</option>' + f.states.map((s) => `<option>${esc(s)}</option>`).join('');
      }
      st.value = filters.state;
    }
    tick();
  }

  function tick() {
    if (!data) return;
    const asOf = data.as_of ? when(data.as_of) : 'no data yet';
    fresh.textContent = `data as of ${asOf}, updated ${ago(fetchedAt)}`;
    fresh.title = 'tables: ' + Object.entries(data.tables).map(([t, v]) => `${t} v${v}`).join(', ');
  }

  async function load() {
    if (inflight) { again = true; return inflight; }
    const q = new URLSearchParams();
    if (filters.from) q.set('from', filters.from);
    if (filters.to) q.set('to', filters.to);
    if (filters.state && filters.state !== 'all') q.set('state', filters.state);
    inflight = (async () => {
      try {
        const d = await api(`/api/dashboards/${encodeURIComponent(def.name)}?${q}`);
        data = d;
        fetchedAt = Date.now();
        render(d);
        window.medallion.refreshes++;
        window.medallion.dashboard = d;
        fresh.classList.remove('stale');
      } catch (e) {
        fresh.textContent = 'refresh failed: ' + e.message;
        fresh.classList.add('stale');
      } finally {
        inflight = null;
      }
      if (again) { again = false; await load(); }
    })();
    return inflight;
  }

  const onFilter = () => {
    const from = main.querySelector('#f-from'), to = main.querySelector('#f-to'), st = main.querySelector('#f-state');
    if (from) {
      filters.from = from.value && from.value !== from.min ? from.value : '';
      filters.to = to.value && to.value !== to.max ? to.value : '';
    }
    if (st) filters.state = st.value;
    load();
  };
  for (const id of ['#f-from', '#f-to', '#f-state']) main.querySelector(id)?.addEventListener('change', onFilter);
  main.querySelector('#f-reset').addEventListener('click', () => {
    filters.from = ''; filters.to = ''; filters.state = 'all';
    load();
  });

  // Live: a commit to a table some panel reads refetches the dashboard
  // (coalesced: one fetch per burst of commits).
  const reads = new Set(def.panels.flatMap((p) => p.tables));
  let timer = null;
  const off = onCommit((ev) => {
    if (!reads.has(ev.table)) return;
    clearTimeout(timer);
    timer = setTimeout(load, 250);
  });
  const clock = setInterval(tick, 1000);
  await load();
  return () => { off(); clearInterval(clock); clearTimeout(timer); };
}
