// Counts and charts from GET /api/admin/sessions/stats.

import { api, describe } from '../api.js';
import { h, clear, field, skeletonRows } from '../dom.js';
import { barChart, barChartHeight, columnChart, COLUMN_CHART_HEIGHT } from '../charts.js';
import { num, duration, date, tenantName } from '../format.js';

const CARDS = [
  { key: 'totalSessions', label: 'Total sessions' },
  { key: 'totalActiveSessions', label: 'Active' },
  { key: 'expiredSessions', label: 'Expired', hint: () => 'past their expiry' },
  { key: 'inactiveSessions', label: 'Inactive', hint: (s) => (s.inactivitySeconds ? `unused ${s.inactivitySeconds}+ s` : `unused ${s.inactivityDays}+ days`) },
  { key: 'usersOverLimit', label: 'Over the limit', hint: (s) => `users with > ${s.maxSessionsPerUser}`, warn: true },
  { key: 'usersWithSessions', label: 'Users', hint: () => 'with sessions' },
  { key: 'createdLast24h', label: 'New in 24 h' },
  { key: 'oldestActiveSessionAgeSeconds', label: 'Oldest active', format: duration, hint: () => 'session age' },
];

function chartPanel(title, id, height, wide = false) {
  const body = h('div', { class: 'chart', id });
  body.style.height = `${height}px`;
  body.append(skeletonBlock(height));
  return { panel: h('section', { class: `panel${wide ? ' wide-panel' : ''}`, 'aria-labelledby': `${id}-title` }, h('h2', { id: `${id}-title`, text: title }), body), body };
}

function skeletonBlock(height) {
  const el = h('div', { class: 'skeleton block', 'aria-hidden': 'true' });
  el.style.height = `${height}px`;
  return el;
}

export function renderOverview(root, { who, params, setParams }) {
  const isTenantAdmin = who.kind === 'tenant-admin';
  const error = h('div', { role: 'alert' });
  const generated = h('span', { class: 'muted', id: 'stats-generated' }, h('span', { class: 'skeleton text' }));
  const tenantSelect = h('select', { name: 'tenantId', disabled: true },
    h('option', { value: '', text: 'All tenants' }));
  const tenantField = field('Tenant', tenantSelect);
  tenantField.wrap.className = 'inline-field';
  // The counts come from a snapshot (asOf); Refresh asks for a recount now.
  const refresh = h('button', { type: 'button', class: 'ghost', text: 'Refresh', title: 'Count the sessions now' });
  const head = h('div', { class: 'view-head' },
    h('h1', { text: 'Overview' }), generated, h('span', { class: 'spacer' }),
    isTenantAdmin ? h('span', { class: 'badge', text: `Tenant ${who.tenantId}` }) : tenantField.wrap,
    refresh);

  const cards = h('section', { class: 'cards', 'aria-label': 'Session counts' });
  const cardEls = {};
  for (const c of CARDS) {
    const value = h('div', { class: 'value', 'data-stat': c.key }, h('span', { class: 'skeleton text' }));
    const hint = h('div', { class: 'hint' }, '\u00a0');
    cardEls[c.key] = { value, hint };
    cards.append(h('div', { class: `card${c.warn ? ' warn' : ''}` }, h('div', { class: 'label', text: c.label }), value, hint));
  }

  const rows = 6;
  const byTenant = chartPanel('Sessions by tenant', 'chart-tenant', barChartHeight(rows));
  const byDevice = chartPanel('By device type', 'chart-device', barChartHeight(rows));
  const byBrowser = chartPanel('By browser', 'chart-browser', barChartHeight(rows));
  const byOs = chartPanel('By operating system', 'chart-os', barChartHeight(rows));
  const perDay = chartPanel('Sessions created per day, last 30 days', 'chart-per-day', COLUMN_CHART_HEIGHT, true);
  const topUsersBody = h('tbody', {}, skeletonRows(5, 3));
  const topUsers = h('section', { class: 'panel', 'aria-labelledby': 'top-users-title' },
    h('h2', { id: 'top-users-title', text: 'Users with the most sessions' }),
    h('div', { class: 'table-wrap' },
      h('table', { class: 'top-users' },
        h('thead', {}, h('tr', {}, h('th', { text: 'User' }), h('th', { text: 'Email' }), h('th', { class: 'num', text: 'Sessions' }))),
        topUsersBody)));

  root.append(head, error, cards,
    h('div', { class: 'charts' }, perDay.panel, byTenant.panel, byDevice.panel, byBrowser.panel, byOs.panel, topUsers));

  let tenantsKnown = false;
  let alive = true;

  async function load(fresh = false) {
    const tenantId = isTenantAdmin ? '' : params.get('tenantId') ?? '';
    refresh.disabled = true;
    clear(error);
    try {
      const stats = await api('/api/admin/sessions/stats', { query: { tenantId, fresh: fresh ? 'true' : '' } });
      if (!alive) return;
      show(stats, tenantId);
    } catch (e) {
      if (!alive) return;
      error.append(h('div', { class: 'banner error' }, `Statistics could not load: ${describe(e)}`,
        h('button', { type: 'button', class: 'ghost small', onclick: () => load(fresh), text: 'Retry' })));
    } finally {
      refresh.disabled = false;
    }
  }

  function show(stats, tenantId) {
    generated.replaceChildren(`as of ${date(stats.asOf)}`);
    generated.dataset.asOf = stats.asOf;
    for (const c of CARDS) {
      const v = stats[c.key];
      cardEls[c.key].value.replaceChildren((c.format ?? num)(v));
      cardEls[c.key].hint.replaceChildren(c.hint ? c.hint(stats) : '\u00a0');
    }
    if (!tenantsKnown && !isTenantAdmin && !tenantId) {
      for (const t of stats.sessionsByTenant.filter((x) => x.tenantId !== null)) {
        tenantSelect.append(h('option', { value: t.tenantId, text: t.tenantId }));
      }
      tenantsKnown = true;
    }
    if (!isTenantAdmin) {
      if (tenantId && ![...tenantSelect.options].some((o) => o.value === tenantId)) {
        tenantSelect.append(h('option', { value: tenantId, text: tenantId }));
      }
      tenantSelect.value = tenantId;
      tenantSelect.disabled = false;
    }
    const tenants = stats.sessionsByTenant.map((t) => ({ name: tenantName(t.tenantId), count: t.count }));
    byTenant.body.replaceChildren(barChart(tenants, { label: 'Sessions by tenant', rows }));
    byDevice.body.replaceChildren(barChart(stats.byDeviceType, { label: 'Sessions by device type', rows }));
    byBrowser.body.replaceChildren(barChart(stats.byBrowser, { label: 'Sessions by browser', rows }));
    byOs.body.replaceChildren(barChart(stats.byOs, { label: 'Sessions by operating system', rows }));
    perDay.body.replaceChildren(columnChart(stats.createdPerDay, { label: 'Sessions created per day' }));
    topUsersBody.replaceChildren(
      ...(stats.topUsers.length
        ? stats.topUsers.slice(0, 5).map((u) => h('tr', {},
          h('td', { 'data-label': 'User' }, h('a', { href: `#/sessions?userId=${encodeURIComponent(u.userId)}`, text: u.name || u.userId })),
          h('td', { 'data-label': 'Email', text: u.email ?? '–' }),
          h('td', { class: 'num', 'data-label': 'Sessions', text: num(u.count) })))
        : [h('tr', {}, h('td', { colspan: 3, class: 'muted', text: 'No sessions.' }))]),
    );
  }

  tenantSelect.addEventListener('change', () => {
    const p = new URLSearchParams();
    if (tenantSelect.value) p.set('tenantId', tenantSelect.value);
    params = p;
    setParams(p);
    load();
  });
  refresh.addEventListener('click', () => load(true));
  load();
  return () => {
    alive = false;
  };
}
