// The sessions table: filters kept in the URL, keyset pagination, and revocation (one, the
// selected, all of a user) behind a confirmation that states how many sessions go.

import { api, describe } from '../api.js';
import { h, field, skeletonRows } from '../dom.js';
import { date, plural, tenantName, timeEl } from '../format.js';

const FILTERS = ['tenantId', 'userId', 'status', 'ip', 'userAgent'];
const COLUMNS = ['', 'User', 'Tenant', 'Device', 'IP address', 'Created', 'Last used', 'Expires', 'Status', 'Actions'];

export function renderSessions(root, { who, params, setParams, confirm, toast }) {
  const isTenantAdmin = who.kind === 'tenant-admin';
  const inputs = {
    tenantId: h('input', { type: 'text', name: 'tenantId', placeholder: 'any', autocomplete: 'off' }),
    userId: h('input', { type: 'text', name: 'userId', placeholder: 'user id', autocomplete: 'off' }),
    status: h('select', { name: 'status' },
      h('option', { value: '', text: 'Any' }),
      h('option', { value: 'active', text: 'Active' }),
      h('option', { value: 'inactive', text: 'Inactive' }),
      h('option', { value: 'expired', text: 'Expired' })),
    ip: h('input', { type: 'text', name: 'ip', placeholder: 'e.g. 203.0.113.7', autocomplete: 'off', inputmode: 'decimal' }),
    userAgent: h('input', { type: 'search', name: 'userAgent', placeholder: 'contains…', autocomplete: 'off' }),
  };
  const limit = h('select', { name: 'limit' }, [25, 50, 100].map((n) => h('option', { value: String(n), text: String(n) })));
  for (const k of FILTERS) inputs[k].value = params.get(k) ?? '';
  limit.value = ['25', '50', '100'].includes(params.get('limit')) ? params.get('limit') : '25';
  if (isTenantAdmin) {
    inputs.tenantId.value = who.tenantId;
    inputs.tenantId.disabled = true;
    inputs.tenantId.title = 'Tenant admins see their own tenant only';
  }

  const form = h('form', { class: 'panel filters', role: 'search', 'aria-label': 'Filter sessions' },
    field('Tenant', inputs.tenantId).wrap,
    field('User ID', inputs.userId).wrap,
    field('Status', inputs.status).wrap,
    field('IP address', inputs.ip).wrap,
    field('User agent', inputs.userAgent).wrap,
    field('Per page', limit).wrap,
    h('div', { class: 'buttons' },
      h('button', { type: 'submit', text: 'Apply filters' }),
      h('button', { type: 'button', class: 'ghost', text: 'Reset', onclick: reset })));

  const error = h('div', { role: 'alert' });
  const selectAll = h('input', { type: 'checkbox', 'aria-label': 'Select all sessions on this page' });
  const revokeSelected = h('button', { type: 'button', class: 'danger', disabled: true, text: 'Revoke selected (0)' });
  const summary = h('span', { class: 'muted', id: 'sessions-summary', 'aria-live': 'polite' }, '\u00a0');
  const tbody = h('tbody', {}, skeletonRows(8, COLUMNS.length));
  const pageLabel = h('span', { class: 'muted', text: 'Page 1' });
  const prev = h('button', { type: 'button', class: 'ghost', disabled: true, text: 'Previous page' });
  const next = h('button', { type: 'button', class: 'ghost', disabled: true, text: 'Next page' });

  root.append(
    h('div', { class: 'view-head' }, h('h1', { text: 'Sessions' }),
      isTenantAdmin ? h('span', { class: 'badge', text: `Tenant ${who.tenantId}` }) : null),
    form,
    error,
    h('section', { class: 'panel', 'aria-labelledby': 'sessions-title' },
      h('h2', { id: 'sessions-title', class: 'sr-only', text: 'Session list' }),
      h('div', { class: 'row-actions' }, revokeSelected, summary),
      h('div', { class: 'table-wrap' },
        h('table', { class: 'stack sessions', 'aria-busy': 'true' },
          h('thead', {}, h('tr', {}, COLUMNS.map((c, i) => h('th', { scope: 'col' }, i === 0 ? selectAll : c)))),
          tbody)),
      h('div', { class: 'pager' }, pageLabel, h('span', { class: 'spacer' }), prev, next)),
  );

  // Cursors of the pages already seen, so "Previous" returns exactly where it came from.
  let cursors = [null];
  let page = 0;
  let rows = [];
  let alive = true;
  const selected = new Set();

  function currentFilters() {
    const f = {};
    for (const k of FILTERS) {
      const v = inputs[k].value.trim();
      if (v) f[k] = v;
    }
    if (isTenantAdmin) f.tenantId = who.tenantId;
    return f;
  }

  function syncUrl() {
    const p = new URLSearchParams(currentFilters());
    if (isTenantAdmin) p.delete('tenantId');
    if (limit.value !== '25') p.set('limit', limit.value);
    setParams(p);
  }

  function reset() {
    for (const k of FILTERS) if (!(isTenantAdmin && k === 'tenantId')) inputs[k].value = '';
    limit.value = '25';
    restart();
  }

  function restart() {
    cursors = [null];
    page = 0;
    syncUrl();
    load();
  }

  function updateSelection() {
    revokeSelected.textContent = `Revoke selected (${selected.size})`;
    revokeSelected.disabled = selected.size === 0;
    selectAll.checked = rows.length > 0 && rows.every((r) => selected.has(r.id));
    selectAll.indeterminate = selected.size > 0 && !selectAll.checked;
  }

  async function load() {
    const table = tbody.parentElement;
    table.setAttribute('aria-busy', 'true');
    clear();
    prev.disabled = true;
    next.disabled = true;
    try {
      const res = await api('/api/admin/sessions', { query: { ...currentFilters(), limit: limit.value, cursor: cursors[page] ?? '' } });
      if (!alive) return;
      rows = res.sessions;
      cursors[page + 1] = res.nextCursor;
      cursors.length = page + 2;
      selected.clear();
      tbody.replaceChildren(...(rows.length ? rows.map(row) : [h('tr', {}, h('td', { colspan: COLUMNS.length, class: 'muted', text: 'No sessions match these filters.' }))]));
      const from = page * Number(limit.value);
      summary.textContent = rows.length ? `Showing ${from + 1}–${from + rows.length}${res.nextCursor ? '' : ` of ${from + rows.length}`}` : 'No sessions';
      pageLabel.textContent = `Page ${page + 1}`;
      prev.disabled = page === 0;
      next.disabled = !res.nextCursor;
      updateSelection();
    } catch (e) {
      if (!alive) return;
      tbody.replaceChildren(h('tr', {}, h('td', { colspan: COLUMNS.length, class: 'muted', text: 'Sessions could not load.' })));
      summary.textContent = '\u00a0';
      showError(`Sessions could not load: ${describe(e)}`, load);
      prev.disabled = page === 0;
    } finally {
      table.setAttribute('aria-busy', 'false');
    }
  }

  function clear() {
    error.replaceChildren();
  }

  function showError(message, retry) {
    error.replaceChildren(h('div', { class: 'banner error' }, message,
      retry ? h('button', { type: 'button', class: 'ghost small', onclick: retry, text: 'Retry' }) : null));
  }

  function owner(s) {
    return s.user?.email ?? s.userId;
  }

  function device(s) {
    return `${s.browser} · ${s.os}`;
  }

  function row(s) {
    const box = h('input', { type: 'checkbox', 'aria-label': `Select session ${s.id} of ${owner(s)}` });
    box.addEventListener('change', () => {
      if (box.checked) selected.add(s.id);
      else selected.delete(s.id);
      updateSelection();
    });
    return h('tr', { 'data-session-id': s.id, 'data-tenant-id': s.tenantId ?? '', 'data-status': s.status },
      h('td', { 'data-label': 'Select' }, box),
      h('td', { 'data-label': 'User' },
        h('button', { type: 'button', class: 'link', title: 'Show only this user', text: s.user?.name || s.userId, onclick: () => filterUser(s.userId) }),
        h('span', { class: 'sub', text: s.user?.email ?? '' })),
      h('td', { 'data-label': 'Tenant', class: 'tenant', text: tenantName(s.tenantId) }),
      h('td', { 'data-label': 'Device' },
        h('span', { class: 'device', text: device(s) }),
        h('span', { class: 'sub', text: s.deviceType }),
        s.impersonatedBy ? h('span', { class: 'badge', text: `impersonated by ${s.impersonatedBy}` }) : null),
      h('td', { 'data-label': 'IP address' }, h('span', { class: 'mono', text: s.ipAddress || '–' })),
      h('td', { 'data-label': 'Created' }, timeEl(h, s.createdAt)),
      h('td', { 'data-label': 'Last used' }, timeEl(h, s.lastActiveAt || s.updatedAt)),
      h('td', { 'data-label': 'Expires' }, timeEl(h, s.expiresAt)),
      h('td', { 'data-label': 'Status' }, h('span', { class: `badge ${s.status}`, text: s.status })),
      h('td', { 'data-label': 'Actions' },
        h('div', { class: 'cell-actions' },
          h('button', { type: 'button', class: 'ghost small', 'aria-label': `Revoke session ${s.id} of ${owner(s)}`, text: 'Revoke', onclick: () => revokeOne(s) }),
          h('button', { type: 'button', class: 'ghost small', 'aria-label': `Revoke all sessions of ${owner(s)}`, text: 'Revoke all of user', onclick: () => revokeUser(s) }))));
  }

  function filterUser(userId) {
    inputs.userId.value = userId;
    restart();
  }

  async function revokeOne(s) {
    const ok = await confirm({
      title: 'Revoke 1 session?',
      text: `1 session of ${owner(s)} (${device(s)}, ${s.ipAddress || 'no IP'}, created ${date(s.createdAt)}) will be signed out.`,
      ok: 'Revoke 1 session',
    });
    if (!ok) return;
    try {
      await api(`/api/admin/sessions/${encodeURIComponent(s.id)}`, { method: 'DELETE' });
      toast('Revoked 1 session');
      await load();
    } catch (e) {
      showError(`Revoking the session failed: ${describe(e)}`);
    }
  }

  async function revokeSelectedSessions() {
    const ids = [...selected];
    const ok = await confirm({
      title: `Revoke ${plural(ids.length, 'session')}?`,
      text: `${plural(ids.length, 'selected session')} will be signed out. Your own current session is kept.`,
      ok: `Revoke ${plural(ids.length, 'session')}`,
    });
    if (!ok) return;
    try {
      const res = await api('/api/admin/sessions', { method: 'DELETE', body: { sessionIds: ids } });
      toast(`Revoked ${plural(res.count, 'session')}`);
      await load();
    } catch (e) {
      showError(`Revoking the selected sessions failed: ${describe(e)}`);
    }
  }

  async function revokeUser(s) {
    let count;
    try {
      count = (await api('/api/admin/sessions', { method: 'DELETE', body: { userId: s.userId, dryRun: true } })).count;
    } catch (e) {
      showError(`Counting the sessions of ${owner(s)} failed: ${describe(e)}`);
      return;
    }
    if (count === 0) {
      toast(`${owner(s)} has no sessions to revoke`);
      return;
    }
    const ok = await confirm({
      title: `Revoke all ${plural(count, 'session')} of ${owner(s)}?`,
      text: `Every session of ${owner(s)}, ${plural(count, 'session')} in all, will be signed out. Your own current session is kept.`,
      ok: `Revoke ${plural(count, 'session')}`,
    });
    if (!ok) return;
    try {
      const res = await api('/api/admin/sessions', { method: 'DELETE', body: { userId: s.userId } });
      toast(`Revoked ${plural(res.count, 'session')} of ${owner(s)}`);
      await load();
    } catch (e) {
      showError(`Revoking the sessions of ${owner(s)} failed: ${describe(e)}`);
    }
  }

  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    restart();
  });
  limit.addEventListener('change', restart);
  inputs.status.addEventListener('change', restart);
  selectAll.addEventListener('change', () => {
    for (const r of rows) {
      if (selectAll.checked) selected.add(r.id);
      else selected.delete(r.id);
    }
    for (const box of tbody.querySelectorAll('input[type="checkbox"]')) box.checked = selectAll.checked;
    updateSelection();
  });
  revokeSelected.addEventListener('click', revokeSelectedSessions);
  prev.addEventListener('click', () => {
    if (page > 0) {
      page -= 1;
      load();
    }
  });
  next.addEventListener('click', () => {
    if (cursors[page + 1]) {
      page += 1;
      load();
    }
  });
  load();
  return () => {
    alive = false;
  };
}
