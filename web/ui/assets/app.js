// medallion's UI: a single page with hash routes, no framework, no build.
import { connectEvents, disposeCharts } from './api.js';
import { dashboardPage } from './dashboard.js';
import { pipelinePage } from './pipeline.js';
import { tablesPage } from './tables.js';
import { runsPage } from './runs.js';

// For tests and the curious: set once per page load (a reload resets it).
window.medallion = { loadedAt: Date.now(), commits: [], refreshes: 0, page: '' };

const main = document.getElementById('main');
let cleanup = null;

async function route() {
  const hash = location.hash.replace(/^#\/?/, '');
  const [page, ...rest] = hash.split('/');
  const arg = rest.map(decodeURIComponent).join('/');
  if (cleanup) { try { cleanup(); } catch { /* ignore */ } cleanup = null; }
  disposeCharts();
  const name = page || 'dashboard';
  for (const a of document.querySelectorAll('nav a')) a.classList.toggle('active', a.dataset.page === name);
  window.medallion.page = name;
  document.body.dataset.page = name;
  document.body.dataset.ready = '';
  main.innerHTML = '<p class="muted">Loading…</p>';
  const pages = { dashboard: dashboardPage, pipeline: pipelinePage, tables: tablesPage, runs: runsPage };
  const fn = pages[name];
  if (!fn) { main.innerHTML = `<p class="error">No page "${name}".</p>`; return; }
  try {
    cleanup = await fn(main, arg);
  } catch (e) {
    main.innerHTML = `<p class="error">${String(e.message || e)}</p>`;
  }
  document.body.dataset.ready = name;
}

window.addEventListener('hashchange', route);
connectEvents(document.getElementById('live'));
route();
