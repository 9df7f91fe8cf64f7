// Ended sessions: why and by whom each one ended (termination records), newest first.

import { api, describe } from '../api.js';
import { h, field, skeletonRows } from '../dom.js';
import { date, timeEl } from '../format.js';

const COLUMNS = ['Ended', 'Reason', 'Actor', 'User', 'Device', 'IP address', 'Created', 'Last active'];
const REASONS = ['signed-out', 'revoked', 'revoked-by-admin', 'banned', 'evicted-limit', 'expired',
  'inactive', 'absolute-timeout', 'password-changed'];

export function renderHistory(root, { who }) {
  const isTenantAdmin = who.kind === 'tenant-admin';
  const inputs = {
    tenantId: h('input', { type: 'text', name: 'tenantId', placeholder: 'any', autocomplete: 'off' }),
    userId: h('input', { type: 'text', name: 'userId', placeholder: 'user id', autocomplete: 'off' }),
    reason: h('select', { name: 'reason' },
      h('option', { value: '', text: 'Any' }),
      REASONS.map((r) => h('option', { value: r, text: r }))),
  };
  if (isTenantAdmin) {
    inputs.tenantId.value = who.tenantId;
    inputs.tenantId.disabled = true;
    inputs.tenantId.title = 'Tenant admins see their own tenant only';
  }
  const form = h('form', { class: 'panel filters', role: 'search', 'aria-label': 'Filter ended sessions' },
    field('Tenant', inputs.tenantId).wrap,
    field('User ID', inputs.userId).wrap,
    field('Reason', inputs.reason).wrap,
    h('div', { class: 'buttons' }, h('button', { type: 'submit', text: 'Apply filters' })));
  const error = h('div', { role: 'alert' });
  const tbody = h('tbody', {}, skeletonRows(8, COLUMNS.length));
  const more = h('button', { type: 'button', class: 'ghost', text: 'Load older sessions', hidden: true });
  root.append(
    h('div', { class: 'view-head' }, h('h1', { text: 'History' }),
      h('span', { class: 'muted', text: 'Every session sessionkeeper ended, with the reason and who ended it.' })),
    form,
    error,
    h('section', { class: 'panel', 'aria-labelledby': 'history-title' },
      h('h2', { id: 'history-title', class: 'sr-only', text: 'Ended sessions' }),
      h('div', { class: 'table-wrap' },
        h('table', { class: 'stack history' },
          h('thead', {}, h('tr', {}, COLUMNS.map((c) => h('th', { scope: 'col', text: c })))),
          tbody)),
      h('div', { class: 'pager' }, more)),
  );

  let cursor = null;
  let alive = true;

  function row(r) {
    return h('tr', { 'data-session-id': r.sessionId, 'data-reason': r.reason },
      h('td', { 'data-label': 'Ended' }, timeEl(h, r.endedAt), h('span', { class: 'sub', text: date(r.endedAt) })),
      h('td', { 'data-label': 'Reason' }, h('span', { class: 'badge', text: r.reason })),
      h('td', { 'data-label': 'Actor' }, h('span', { class: 'mono', text: r.actor })),
      h('td', { 'data-label': 'User' }, h('span', { class: 'mono', text: r.userId })),
      h('td', { 'data-label': 'Device', text: `${r.browser} · ${r.os} · ${r.deviceType}` }),
      h('td', { 'data-label': 'IP address' }, h('span', { class: 'mono', text: r.ipAddress ?? '–' })),
      h('td', { 'data-label': 'Created' }, timeEl(h, r.createdAt)),
      h('td', { 'data-label': 'Last active' }, timeEl(h, r.lastActiveAt)));
  }

  async function load(fresh) {
    more.disabled = true;
    error.replaceChildren();
    const query = { limit: 50, cursor: fresh ? '' : cursor ?? '' };
    for (const [k, el] of Object.entries(inputs)) if (el.value && !el.disabled) query[k] = el.value;
    try {
      const res = await api('/api/admin/sessions/ended', { query });
      if (!alive) return;
      const rows = res.sessions.map(row);
      if (fresh) tbody.replaceChildren(...(rows.length ? rows : [h('tr', {}, h('td', { colspan: COLUMNS.length, class: 'muted', text: 'No ended sessions recorded.' }))]));
      else tbody.append(...rows);
      cursor = res.nextCursor;
      more.hidden = !cursor;
    } catch (e) {
      if (!alive) return;
      if (fresh) tbody.replaceChildren(h('tr', {}, h('td', { colspan: COLUMNS.length, class: 'muted', text: 'The history could not load.' })));
      error.replaceChildren(h('div', { class: 'banner error' }, `The history could not load: ${describe(e)}`,
        h('button', { type: 'button', class: 'ghost small', onclick: () => load(fresh), text: 'Retry' })));
    } finally {
      more.disabled = false;
    }
  }

  form.addEventListener('submit', (e) => {
    e.preventDefault();
    load(true);
  });
  more.addEventListener('click', () => load(false));
  load(true);
  return () => {
    alive = false;
  };
}
