// The runs page: the latest per-table run reports (GET /api/runs) and the
// scheduler's jobs (GET /api/jobs) with a "run now" button.
import { api, esc, fmt, when } from './api.js';

export async function runsPage(main) {
  main.innerHTML = `<h1>Runs</h1>
    <div class="card" id="jobs"><h2>Jobs</h2><p class="muted">Loading…</p></div>
    <div class="card" id="runs" style="margin-top:14px"><h2>Latest table runs</h2><p class="muted">Loading…</p></div>`;
  const jobsEl = main.querySelector('#jobs'), runsEl = main.querySelector('#runs');
  const load = async () => {
    const [runs, jobs] = await Promise.all([api('/api/runs?limit=100'), api('/api/jobs')]);
    runsEl.innerHTML = '<h2>Latest table runs</h2>' + (runs.length ? `<div class="scroll"><table><thead><tr>
      <th>started</th><th>table</th><th>status</th><th>rows in</th><th>rows out</th><th>quarantined</th><th>ms</th><th>error</th></tr></thead><tbody>
      ${runs.map((r) => `<tr><td>${esc(when(r.started_at))}</td><td>${esc(r.table_name)}</td><td><span class="pill ${esc(r.status)}">${esc(r.status)}</span></td>
        <td class="num">${fmt(r.rows_in)}</td><td class="num">${fmt(r.rows_out)}</td><td class="num">${fmt(r.quarantined)}</td>
        <td class="num">${fmt(r.duration_ms)}</td><td class="error">${esc(r.error || '')}</td></tr>`).join('')}
      </tbody></table></div>` : '<p class="muted">No runs yet.</p>');
    jobsEl.innerHTML = '<h2>Jobs</h2>' + (jobs.length ? `<div class="scroll"><table><thead><tr><th>job</th><th>schedule</th><th>select</th><th>latest runs</th><th></th></tr></thead><tbody>
      ${jobs.map((j) => `<tr><td>${esc(j.name)}</td><td>${esc(j.schedule || '')}</td><td>${esc((j.select || []).join(' ') || 'all')}</td>
        <td>${(j.runs || []).slice(0, 5).map((r) => `<span class="pill ${esc(r.Status || r.status || '')}" title="${esc(JSON.stringify(r))}">${esc(r.Status || r.status || 'run')}</span>`).join(' ')}</td>
        <td><button type="button" data-job="${esc(j.name)}">Run now</button> <span class="muted" data-msg="${esc(j.name)}"></span></td></tr>`).join('')}
      </tbody></table></div>` : '<p class="muted">No jobs: this server streams continuously (define jobs: in medallion.yaml to schedule runs).</p>');
    for (const b of jobsEl.querySelectorAll('button[data-job]')) {
      b.addEventListener('click', async () => {
        const msg = jobsEl.querySelector(`[data-msg="${CSS.escape(b.dataset.job)}"]`);
        b.disabled = true;
        try {
          const r = await api(`/api/jobs/${encodeURIComponent(b.dataset.job)}/run`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}' });
          msg.textContent = r.status || 'triggered';
        } catch (e) {
          msg.textContent = e.message;
        } finally {
          b.disabled = false;
          setTimeout(() => load().catch(() => {}), 1500);
        }
      });
    }
  };
  await load();
  return null;
}
