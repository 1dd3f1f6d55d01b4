// The tables page: every table, then one table's schema, history, preview,
// quarantine rows and last expectation counts.
import { api, esc, fmt, cell, when, plural } from './api.js';

function rowsTable(columns, rows) {
  if (!rows.length) return '<p class="muted">No rows.</p>';
  return `<div class="scroll"><table><thead><tr>${columns.map((c) => `<th>${esc(c)}</th>`).join('')}</tr></thead>
    <tbody>${rows.map((r) => `<tr>${r.map(cell).join('')}</tr>`).join('')}</tbody></table></div>`;
}

export async function tablesPage(main, name) {
  const list = await api('/api/tables');
  const items = list.map((t) => `<a href="#/tables/${encodeURIComponent(t.name)}" class="${t.name === name ? 'sel' : ''}">
      <span class="name" title="${esc(t.name)}">${esc(t.name)}</span><span class="muted count">${plural(t.rows, 'row')}</span></a>`).join('');
  main.innerHTML = `<h1>Tables</h1>
    <div class="split">
      <div class="card list" id="table-list">${items || '<p class="muted">No tables yet: run the pipeline.</p>'}</div>
      <div id="detail">${name ? '<p class="muted">Loading…</p>' : `<div class="card">${rowsTable(['table', 'layer', 'version', 'files', 'rows', 'bytes', 'updated'],
        list.map((t) => [t.name, t.layer, t.version, t.files, t.rows, t.bytes, when(t.updated)]))}</div>`}</div>
    </div>`;
  if (!name) return null;
  const detail = main.querySelector('#detail');
  const [d, prev] = await Promise.all([
    api(`/api/tables/${encodeURIComponent(name)}`),
    api(`/api/tables/${encodeURIComponent(name)}/preview?limit=20`).catch((e) => ({ error: e.message })),
  ]);
  const exp = d.expectations ? Object.entries(d.expectations) : [];
  detail.innerHTML = `
    <div class="card" id="table-summary"><h2>${esc(d.name)}</h2>
      <p>version ${d.version} · ${plural(d.files, 'file')} · ${plural(d.rows, 'row')}${d.rows_exact ? '' : ' (approx.)'} · ${fmt(d.bytes)} bytes · updated ${esc(when(d.updated))}
      ${d.partition_columns.length ? ' · partitioned by ' + esc(d.partition_columns.join(', ')) : ''}</p>
      <p>quarantine rows: <b id="quarantine">${d.quarantine_rows == null ? 'none (no quarantine table)' : fmt(d.quarantine_rows)}</b>
      ${exp.length ? ' · last run: ' + exp.map(([k, v]) => `${esc(k)} <b>${esc(fmt(v))}</b>`).join(' · ') : ''}</p>
    </div>
    <div class="grid" style="margin-top:14px">
      <div class="card" id="schema"><h2>Schema</h2>${rowsTable(['column', 'type', 'nullable'], d.schema.map((c) => [c.name, c.type, c.nullable ? 'yes' : 'no']))}</div>
      <div class="card" id="history"><h2>History</h2>${rowsTable(['version', 'time', 'operation', 'rows'],
        d.history.map((h) => [h.version, when(h.timestamp), h.operation || '', (h.metrics && (h.metrics.numOutputRows || h.metrics.numTargetRowsInserted)) || '']))}</div>
      <div class="card wide" id="preview"><h2>Preview</h2>${prev.error ? `<p class="error">${esc(prev.error)}</p>` : rowsTable(prev.columns.map((c) => c.name), prev.rows)}</div>
    </div>`;
  return null;
}
