// The pipeline page: the DAG of GET /api/pipeline as an ECharts graph, each
// node with its last run's status and its rows; refreshed on commits.
import { api, onCommit, esc, fmt, chart } from './api.js';

const layerCol = { bronze: 0, silver: 1, gold: 2 };
const statusColor = { ok: '#1a8a4a', 'up-to-date': '#7fb894', waiting: '#9aa3b2', failed: '#c93434', skipped: '#b7791f' };

function option(dag, width) {
  const cols = {};
  for (const n of dag.nodes) {
    const c = layerCol[n.layer] ?? 3;
    (cols[c] = cols[c] || []).push(n);
  }
  const colW = Math.max(180, width / 3.2);
  const nodes = [];
  for (const [c, list] of Object.entries(cols)) {
    list.sort((a, b) => a.name.localeCompare(b.name));
    list.forEach((n, i) => {
      nodes.push({
        name: n.name, x: Number(c) * colW, y: i * 34,
        value: n.rows,
        symbol: n.kind === 'source' ? 'rect' : n.kind === 'view' ? 'diamond' : 'circle',
        symbolSize: n.kind === 'source' ? [14, 14] : 14,
        itemStyle: { color: statusColor[n.status] || '#9aa3b2' },
        label: { show: true, position: 'right', fontSize: 11,
          formatter: `${n.name}${n.rows != null ? '  ' + fmt(n.rows) : ''}` },
        tooltip: { formatter: `<b>${esc(n.name)}</b><br>${esc(n.kind)} · ${esc(n.layer)}<br>status: ${esc(n.status || 'not run')}` +
          `<br>rows: ${n.rows != null ? fmt(n.rows) : '–'}${n.file ? '<br>' + esc(n.file) : ''}${n.source ? '<br>source: ' + esc(n.source) : ''}` },
        meta: n,
      });
    });
  }
  return {
    animation: false,
    tooltip: {},
    series: [{
      type: 'graph', layout: 'none', roam: true, draggable: false,
      // Room above the first row and below the last: edges between far
      // columns bow out by up to curveness × length / 2.
      top: 24 + 0.1 * colW, left: 20, right: 190, bottom: 24 + 0.1 * colW,
      edgeSymbol: ['none', 'arrow'], edgeSymbolSize: 6,
      lineStyle: { color: '#b8c0cc', width: 1, curveness: 0.15, opacity: 0.8 },
      clip: false,
      emphasis: { focus: 'adjacency', lineStyle: { width: 2 } },
      data: nodes,
      links: dag.edges.map((e) => ({ source: e.from, target: e.to })),
    }],
  };
}

export async function pipelinePage(main) {
  main.innerHTML = `<h1>Pipeline</h1>
    <p class="muted">bronze → silver → gold. Colour: the table's last run (green: updated, pale green: up to date, red: failed, amber: skipped, grey: waiting or not run); the number is its rows. Drag to pan, scroll to zoom.</p>
    <div class="card"><div id="dag" class="chart"></div></div>`;
  const el = main.querySelector('#dag');
  const c = chart(el);
  const load = async () => {
    const dag = await api('/api/pipeline');
    el.style.height = Math.max(420, 60 + 34 * Math.max(...Object.values(dag.nodes.reduce((m, n) => {
      const k = layerCol[n.layer] ?? 3; m[k] = (m[k] || 0) + 1; return m;
    }, {})), 1)) + 'px';
    c.resize();
    c.setOption(option(dag, el.clientWidth), { notMerge: true });
    window.medallion.pipeline = dag;
  };
  await load();
  let timer = null;
  const off = onCommit(() => { clearTimeout(timer); timer = setTimeout(() => load().catch(() => {}), 500); });
  return () => { off(); clearTimeout(timer); };
}
