// The audit log: who deleted or changed what, newest first.

import { api, describe } from '../api.js';
import { h, skeletonRows } from '../dom.js';
import { date, num, timeEl } from '../format.js';

const COLUMNS = ['When', 'Actor', 'Action', 'Target', 'Criteria', 'Count'];

function criteriaText(c) {
  if (c === null || c === undefined) return '–';
  if (typeof c !== 'object') return String(c);
  const parts = Object.entries(c)
    .filter(([, v]) => v !== null && v !== undefined && v !== false)
    .map(([k, v]) => `${k}=${Array.isArray(v) ? `[${v.length}] ${v.slice(0, 3).join(', ')}${v.length > 3 ? '…' : ''}` : typeof v === 'object' ? JSON.stringify(v) : v}`);
  return parts.length ? parts.join(' · ') : '–';
}

export function renderAudit(root) {
  const error = h('div', { role: 'alert' });
  const tbody = h('tbody', {}, skeletonRows(8, COLUMNS.length));
  const more = h('button', { type: 'button', class: 'ghost', text: 'Load older entries', hidden: true });
  root.append(
    h('div', { class: 'view-head' }, h('h1', { text: 'Audit log' }),
      h('span', { class: 'muted', text: 'Every admin action that deleted or changed something.' })),
    error,
    h('section', { class: 'panel', 'aria-labelledby': 'audit-title' },
      h('h2', { id: 'audit-title', class: 'sr-only', text: 'Audit entries' }),
      h('div', { class: 'table-wrap' },
        h('table', { class: 'stack audit' },
          h('thead', {}, h('tr', {}, COLUMNS.map((c) => h('th', { scope: 'col', class: c === 'Count' ? 'num' : '', text: c })))),
          tbody)),
      h('div', { class: 'pager' }, more)),
  );

  let cursor = null;
  let alive = true;

  function row(e) {
    return h('tr', { 'data-audit-id': e.id, 'data-action': e.action },
      h('td', { 'data-label': 'When' }, timeEl(h, e.at), h('span', { class: 'sub', text: date(e.at) })),
      h('td', { 'data-label': 'Actor', text: e.actor ?? '–' }),
      h('td', { 'data-label': 'Action' }, h('span', { class: 'badge', text: e.action })),
      h('td', { 'data-label': 'Target' }, h('span', { class: 'mono', text: e.target ?? '–' })),
      h('td', { 'data-label': 'Criteria', text: criteriaText(e.criteria) }),
      h('td', { 'data-label': 'Count', class: 'num', text: num(e.count) }));
  }

  async function load(fresh) {
    more.disabled = true;
    error.replaceChildren();
    try {
      const res = await api('/api/admin/audit', { query: { limit: 50, cursor: fresh ? '' : cursor ?? '' } });
      if (!alive) return;
      const rows = res.entries.map(row);
      if (fresh) tbody.replaceChildren(...(rows.length ? rows : [h('tr', {}, h('td', { colspan: COLUMNS.length, class: 'muted', text: 'No admin actions recorded yet.' }))]));
      else tbody.append(...rows);
      cursor = res.nextCursor;
      more.hidden = !cursor;
    } catch (e) {
      if (!alive) return;
      if (fresh) tbody.replaceChildren(h('tr', {}, h('td', { colspan: COLUMNS.length, class: 'muted', text: 'The audit log could not load.' })));
      error.replaceChildren(h('div', { class: 'banner error' }, `The audit log could not load: ${describe(e)}`,
        h('button', { type: 'button', class: 'ghost small', onclick: () => load(fresh), text: 'Retry' })));
    } finally {
      more.disabled = false;
    }
  }

  more.addEventListener('click', () => load(false));
  load(true);
  return () => {
    alive = false;
  };
}
