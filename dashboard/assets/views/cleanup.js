// Cleanup: the service's live status (polled), a preview (dry run) and a real run with a
// policy that may differ from the configured one, and the run history.

import { api, describe } from '../api.js';
import { h, field, skeletonRows } from '../dom.js';
import { date, duration, ms, num, plural, timeEl } from '../format.js';

const LAYERS = [
  ['expired', 'Expired'],
  ['inactive', 'Inactive'],
  ['excess', 'Over the limit'],
];
const HISTORY_COLUMNS = ['Started', 'Trigger', 'Kind', 'Outcome', 'Expired', 'Inactive', 'Over limit', 'Total', 'Duration'];
// A preview this recent, with the same policy, supplies the count the run confirmation states.
const PREVIEW_FRESH_MS = 60_000;

function layerCounts(counts, total, prefix) {
  return h('div', { class: 'layer-counts', 'data-counts': prefix },
    LAYERS.map(([k, label]) => h('div', {}, h('span', { class: 'muted', text: label }), h('strong', { 'data-layer': k, text: num(counts[k]) }))),
    h('div', {}, h('span', { class: 'muted', text: 'Total' }), h('strong', { 'data-layer': 'total', text: num(total) })));
}

function kv(pairs) {
  return h('dl', { class: 'kv' }, pairs.flatMap(([k, v]) => [h('dt', { text: k }), h('dd', {}, v)]));
}

function outcomeBadge(outcome) {
  return h('span', { class: `badge ${outcome}`, text: outcome });
}

export function renderCleanup(root, { who, confirm, toast }) {
  const error = h('div', { role: 'alert' });
  const statusBody = h('div', { id: 'cleanup-status' }, h('div', { class: 'skeleton block', 'aria-hidden': 'true' }));
  const lastRunBody = h('div', { id: 'cleanup-last-run' }, h('div', { class: 'skeleton block', 'aria-hidden': 'true' }));

  const policyInputs = {
    cleanExpiredTokens: h('input', { type: 'checkbox', name: 'cleanExpiredTokens' }),
    cleanInactiveSessions: h('input', { type: 'checkbox', name: 'cleanInactiveSessions' }),
    inactivityDays: h('input', { type: 'number', name: 'inactivityDays', step: 1 }),
    enforceSessionLimits: h('input', { type: 'checkbox', name: 'enforceSessionLimits' }),
    maxSessionsPerUser: h('input', { type: 'number', name: 'maxSessionsPerUser', step: 1 }),
  };
  const checkLabel = (input, text) => h('label', { class: 'check' }, input, text);
  const preview = h('button', { type: 'button', class: 'ghost', text: 'Preview', disabled: true });
  const runNow = h('button', { type: 'button', class: 'danger', text: 'Run now', disabled: true });
  const resultBody = h('div', { id: 'cleanup-result', 'aria-live': 'polite' },
    h('p', { class: 'muted', text: 'Preview shows what a run would delete, without deleting anything.' }));
  const historyBody = h('tbody', {}, skeletonRows(5, HISTORY_COLUMNS.length));
  const more = h('button', { type: 'button', class: 'ghost', text: 'Load older runs', hidden: true });

  root.append(
    h('div', { class: 'view-head' }, h('h1', { text: 'Cleanup' }),
      who.kind === 'tenant-admin' ? h('span', { class: 'badge', text: `Runs are limited to tenant ${who.tenantId}` }) : null),
    error,
    h('div', { class: 'split' },
      h('section', { class: 'panel', 'aria-labelledby': 'status-title' }, h('h2', { id: 'status-title', text: 'Status' }), statusBody),
      h('section', { class: 'panel', 'aria-labelledby': 'last-run-title' }, h('h2', { id: 'last-run-title', text: 'Last run' }), lastRunBody)),
    h('section', { class: 'panel', 'aria-labelledby': 'run-title' },
      h('h2', { id: 'run-title', text: 'Run a cleanup' }),
      h('fieldset', { class: 'policy' },
        h('legend', { text: 'Policy for this run' }),
        checkLabel(policyInputs.cleanExpiredTokens, 'Delete expired sessions'),
        checkLabel(policyInputs.cleanInactiveSessions, 'Delete inactive sessions'),
        field('Inactive after (days)', policyInputs.inactivityDays).wrap,
        checkLabel(policyInputs.enforceSessionLimits, 'Enforce the per-user limit'),
        field('Max sessions per user', policyInputs.maxSessionsPerUser).wrap),
      h('div', { class: 'row-actions' }, preview, runNow),
      resultBody),
    h('section', { class: 'panel', 'aria-labelledby': 'history-title' },
      h('h2', { id: 'history-title', text: 'Run history' }),
      h('div', { class: 'table-wrap' },
        h('table', { class: 'stack history' },
          h('thead', {}, h('tr', {}, HISTORY_COLUMNS.map((c, i) => h('th', { scope: 'col', class: i >= 4 ? 'num' : '', text: c })))),
          historyBody)),
      h('div', { class: 'pager' }, more)),
  );

  let alive = true;
  let timer = null;
  let policyFilled = false;
  let lastPreview = null;
  let historyCursor = null;
  let lastSeenRunId;

  // One banner per source (status, history, run), so one failure does not hide another.
  const errors = new Map();
  function setError(source, message) {
    if (message) errors.set(source, message);
    else errors.delete(source);
    error.replaceChildren(...[...errors.values()].map((m) => h('div', { class: 'banner error' }, m)));
  }

  function policyBody() {
    const n = (input) => (input.value === '' ? undefined : Number(input.value));
    return {
      cleanExpiredTokens: policyInputs.cleanExpiredTokens.checked,
      cleanInactiveSessions: policyInputs.cleanInactiveSessions.checked,
      inactivityDays: n(policyInputs.inactivityDays),
      enforceSessionLimits: policyInputs.enforceSessionLimits.checked,
      maxSessionsPerUser: n(policyInputs.maxSessionsPerUser),
    };
  }

  async function loadStatus() {
    clearTimeout(timer);
    try {
      const st = await api('/api/admin/sessions/cleanup/status');
      if (!alive) return;
      setError('status', null);
      showStatus(st);
      const lastId = st.lastRun?.runId ?? null;
      if (lastSeenRunId !== undefined && lastId !== lastSeenRunId) loadHistory(true);
      lastSeenRunId = lastId;
      clearTimeout(timer);
      timer = setTimeout(loadStatus, st.running ? 1000 : 5000);
    } catch (e) {
      if (!alive) return;
      statusBody.replaceChildren(h('p', { class: 'muted', text: 'Status unavailable.' }));
      lastRunBody.replaceChildren(h('p', { class: 'muted', text: 'Unknown while the status is unavailable.' }));
      setError('status', `Cleanup status could not load: ${describe(e)}`);
      clearTimeout(timer);
      timer = setTimeout(loadStatus, 10000);
    }
  }

  function showStatus(st) {
    if (!policyFilled) {
      // The bounds are the server's (st.limits), so the form never refuses what it accepts.
      for (const [k, input] of Object.entries(policyInputs)) {
        if (input.type === 'checkbox') {
          input.checked = Boolean(st.policy[k]);
          continue;
        }
        input.value = String(st.policy[k]);
        const range = st.limits?.[k];
        if (range) {
          input.min = String(range.min);
          input.max = String(range.max);
        }
      }
      policyFilled = true;
      preview.disabled = false;
      runNow.disabled = false;
    }
    const p = st.policy;
    const every = duration(st.intervalSeconds ?? st.intervalMinutes * 60);
    const sofar = st.runningCounts ? ` · so far ${num(st.runningCounts.expired)} expired, ${num(st.runningCounts.inactive)} inactive, ${num(st.runningCounts.excess)} over limit` : '';
    statusBody.replaceChildren(kv([
      ['Automatic cleanup', h('span', { 'data-field': 'enabled', text: st.enabled ? `on, every ${every}` : 'off' })],
      ['State', st.running ? h('span', { 'data-field': 'running' }, h('span', { class: 'badge running', text: 'running' }), ` ${st.runningRunId ?? 'on another instance'}${sofar}`) : h('span', { 'data-field': 'running', text: 'idle' })],
      ['Next run', st.nextRunAt ? h('span', {}, timeEl(h, st.nextRunAt), ` (${date(st.nextRunAt)})`) : h('span', { class: 'muted', text: 'not scheduled' })],
      ['Policy', `${p.cleanExpiredTokens ? 'expired' : '—'} · ${p.cleanInactiveSessions ? `inactive > ${p.inactivitySeconds ? `${p.inactivitySeconds} s` : `${p.inactivityDays} d`}` : '—'} · ${p.enforceSessionLimits ? `limit ${p.maxSessionsPerUser}/user` : 'no limit'}`],
      ['Runs so far', `${num(st.totals.runs)} (${num(st.totals.failedRuns)} failed) on instance ${st.instanceId}`],
      ['Deleted so far', `${num(st.totals.deleted.expired)} expired · ${num(st.totals.deleted.inactive)} inactive · ${num(st.totals.deleted.excess)} over limit`],
      st.unrecordedRuns ? ['Not yet recorded', h('span', { class: 'badge failed', text: `${st.unrecordedRuns} runs wait for the database` })] : null,
    ].filter(Boolean)));
    const r = st.lastRun;
    lastRunBody.replaceChildren(r
      ? h('div', {},
        kv([
          ['Outcome', h('span', {}, outcomeBadge(r.outcome), r.dryRun ? ' (preview)' : '', r.error ? ` ${r.error}` : '')],
          ['Started', h('span', {}, timeEl(h, r.startedAt), ` · ${r.trigger}`)],
          ['Duration', ms(r.durationMs)],
        ]),
        layerCounts(r.counts, r.total, 'last-run'))
      : h('p', { class: 'muted', text: 'No run yet on this instance.' }));
  }

  function showResult(run, heading) {
    const sample = run.sample ?? [];
    resultBody.replaceChildren(...[
      h('h3', { text: heading }),
      outcomeLine(run),
      layerCounts(run.counts, run.total, run.dryRun ? 'preview' : 'run'),
      sample.length
        ? h('div', { class: 'table-wrap' },
          h('table', { class: 'stack sample' },
            h('caption', { class: 'sr-only', text: 'Sessions the run would delete (a sample)' }),
            h('thead', {}, h('tr', {}, ['Session', 'User', 'Why', 'Last used', 'Expires'].map((c) => h('th', { scope: 'col', text: c })))),
            h('tbody', {}, sample.map((x) => h('tr', {},
              h('td', { 'data-label': 'Session' }, h('span', { class: 'mono', text: x.sessionId })),
              h('td', { 'data-label': 'User' }, h('span', { class: 'mono', text: x.userId })),
              h('td', { 'data-label': 'Why', text: x.layer }),
              h('td', { 'data-label': 'Last used' }, timeEl(h, x.lastActiveAt || x.updatedAt)),
              h('td', { 'data-label': 'Expires' }, timeEl(h, x.expiresAt)))))))
        : null,
      run.dryRun && run.total > sample.length && sample.length ? h('p', { class: 'muted', text: `Showing ${sample.length} of ${run.total}.` }) : null,
    ].filter(Boolean));
  }

  function outcomeLine(run) {
    return h('p', {}, outcomeBadge(run.outcome), ` ${run.dryRun ? 'Would delete' : 'Deleted'} ${plural(run.total, 'session')} in ${ms(run.durationMs)}.`, run.error ? ` ${run.error}` : '');
  }

  async function doRun(dryRun) {
    preview.disabled = true;
    runNow.disabled = true;
    setError('run', null);
    try {
      const body = { ...policyBody(), dryRun };
      const run = await api('/api/admin/sessions/cleanup', { method: 'POST', body });
      if (!alive) return null;
      if (dryRun) lastPreview = { at: Date.now(), policy: JSON.stringify(policyBody()), run };
      showResult(run, dryRun ? 'Preview' : 'Run finished');
      if (!dryRun) toast(`Cleanup deleted ${plural(run.total, 'session')}`);
      await Promise.all([loadStatus(), loadHistory(true)]);
      return run;
    } catch (e) {
      if (e.code === 'CLEANUP_ALREADY_RUNNING') setError('run', `A cleanup is already running (run ${e.body?.runId ?? 'unknown'}). Try again when it has finished.`);
      else setError('run', `${dryRun ? 'Preview' : 'Cleanup'} failed: ${describe(e)}`);
      return null;
    } finally {
      preview.disabled = false;
      runNow.disabled = false;
    }
  }

  async function confirmAndRun() {
    const policy = JSON.stringify(policyBody());
    let plan = lastPreview && lastPreview.policy === policy && Date.now() - lastPreview.at < PREVIEW_FRESH_MS ? lastPreview.run : null;
    if (!plan) plan = await doRun(true);
    if (!plan) return;
    const c = plan.counts;
    const ok = await confirm({
      title: `Delete ${plural(plan.total, 'session')}?`,
      text: `The preview found ${plural(plan.total, 'session')} to delete: ${num(c.expired)} expired, ${num(c.inactive)} inactive, ${num(c.excess)} over the limit. Sessions that became stale since then go too.`,
      ok: 'Run cleanup now',
    });
    if (ok) await doRun(false);
  }

  function historyRow(r) {
    const cells = [
      h('td', { 'data-label': 'Started' }, timeEl(h, r.startedAt)),
      h('td', { 'data-label': 'Trigger', text: r.trigger }),
      h('td', { 'data-label': 'Kind', text: r.dryRun ? 'preview' : 'cleanup' }),
      h('td', { 'data-label': 'Outcome' }, outcomeBadge(r.outcome)),
      ...LAYERS.map(([k, label]) => h('td', { class: 'num', 'data-label': label, 'data-layer': k, text: num(r.counts[k]) })),
      h('td', { class: 'num', 'data-label': 'Total', 'data-layer': 'total', text: num(r.total) }),
      h('td', { class: 'num', 'data-label': 'Duration', text: ms(r.durationMs) }),
    ];
    return h('tr', { 'data-run-id': r.runId, title: r.error ?? '' }, cells);
  }

  async function loadHistory(fresh) {
    if (fresh) historyCursor = null;
    more.disabled = true;
    try {
      const res = await api('/api/admin/sessions/cleanup/runs', { query: { limit: 10, cursor: historyCursor ?? '' } });
      if (!alive) return;
      setError('history', null);
      const rows = res.runs.map(historyRow);
      if (fresh) historyBody.replaceChildren(...(rows.length ? rows : [h('tr', {}, h('td', { colspan: HISTORY_COLUMNS.length, class: 'muted', text: 'No runs yet.' }))]));
      else historyBody.append(...rows);
      historyCursor = res.nextCursor;
      more.hidden = !res.nextCursor;
    } catch (e) {
      if (!alive) return;
      if (fresh) historyBody.replaceChildren(h('tr', {}, h('td', { colspan: HISTORY_COLUMNS.length, class: 'muted', text: 'History unavailable.' })));
      setError('history', `Run history could not load: ${describe(e)}`);
    } finally {
      more.disabled = false;
    }
  }

  preview.addEventListener('click', () => doRun(true));
  runNow.addEventListener('click', confirmAndRun);
  more.addEventListener('click', () => loadHistory(false));
  loadStatus();
  loadHistory(true);
  return () => {
    alive = false;
    clearTimeout(timer);
  };
}
