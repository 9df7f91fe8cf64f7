// Tenant policy: one tenant's own session policy (limits and timeouts that override the global
// ones) and the values in force. Global admins edit it; a tenant admin sees their own tenant's.

import { api, describe } from '../api.js';
import { h, field } from '../dom.js';
import { date, num } from '../format.js';

const FIELDS = [
  ['maxSessionsPerUser', 'Max sessions per user'],
  ['maxSessionsPerTenant', 'Max sessions in the tenant'],
  ['inactivityTimeoutSeconds', 'Inactivity timeout (seconds)'],
  ['absoluteTimeoutSeconds', 'Absolute timeout (seconds)'],
];

function shown(v) {
  return v === null || v === undefined ? 'none' : num(v);
}

export function renderTenants(root, { who, params, setParams, confirm, toast }) {
  const own = who.kind === 'tenant-admin' ? who.tenantId : null;
  const error = h('div', { role: 'alert' });
  const tenantInput = h('input', { type: 'text', name: 'tenantId', value: own ?? params.get('tenantId') ?? '', disabled: !!own, autocomplete: 'off' });
  const load = h('button', { type: 'submit', text: 'Show policy' });
  const body = h('div', { id: 'tenant-policy', 'aria-live': 'polite' },
    h('p', { class: 'muted', text: 'Name a tenant to see its session policy.' }));

  root.append(
    h('div', { class: 'view-head' }, h('h1', { text: 'Tenant policy' }),
      h('span', { class: 'muted', text: 'Per-tenant limits and timeouts; an unset value falls back to the global policy.' })),
    error,
    h('section', { class: 'panel', 'aria-labelledby': 'tenant-pick-title' },
      h('h2', { id: 'tenant-pick-title', class: 'sr-only', text: 'Choose a tenant' }),
      h('form', { class: 'filters', onsubmit: (e) => { e.preventDefault(); show(); } },
        field('Tenant', tenantInput).wrap,
        h('div', { class: 'buttons' }, load))),
    h('section', { class: 'panel', 'aria-labelledby': 'tenant-policy-title' },
      h('h2', { id: 'tenant-policy-title', text: 'Policy' }), body),
  );

  let alive = true;

  function banner(e, retry) {
    error.replaceChildren(h('div', { class: 'banner error' }, describe(e),
      retry ? h('button', { type: 'button', class: 'ghost small', onclick: retry, text: 'Retry' }) : null));
  }

  function render(p) {
    const inputs = Object.fromEntries(FIELDS.map(([k]) => [k, h('input', {
      type: 'number', name: k, min: 1, step: 1, value: p[k] ?? '', placeholder: 'global', disabled: !!own,
    })]));
    const rows = FIELDS.map(([k, label]) => h('tr', { 'data-field': k },
      h('th', { scope: 'row', text: label }),
      h('td', { 'data-label': 'Tenant', 'data-value': 'own', text: shown(p[k]) }),
      h('td', { 'data-label': 'In force', 'data-value': 'effective', text: shown(p.effective[k]) })));
    const save = h('button', { type: 'submit', text: 'Save policy' });
    const remove = h('button', { type: 'button', class: 'danger', text: 'Remove policy', disabled: !p.updatedAt });
    const formError = h('p', { class: 'form-error', role: 'alert' });
    const form = own ? null : h('form', { onsubmit: (e) => { e.preventDefault(); put(); } },
      h('fieldset', { class: 'policy' }, h('legend', { text: 'Edit (leave a field empty to use the global value)' }),
        FIELDS.map(([k, label]) => field(label, inputs[k]).wrap)),
      formError,
      h('div', { class: 'row-actions' }, save, remove));

    async function put() {
      formError.textContent = '';
      const payload = {};
      for (const [k] of FIELDS) {
        const v = inputs[k].value.trim();
        if (v !== '') payload[k] = Number(v);
      }
      save.disabled = true;
      try {
        const res = await api(`/api/admin/tenants/${encodeURIComponent(p.tenantId)}/policy`, { method: 'PUT', body: payload });
        if (!alive) return;
        toast(`Policy of tenant ${p.tenantId} saved.`);
        render(res);
      } catch (e) {
        if (alive) formError.textContent = describe(e);
      } finally {
        save.disabled = false;
      }
    }

    remove.addEventListener('click', async () => {
      const ok = await confirm({ title: `Remove the policy of tenant ${p.tenantId}?`, text: 'Its sessions fall back to the global policy.', ok: 'Remove policy' });
      if (!ok) return;
      try {
        await api(`/api/admin/tenants/${encodeURIComponent(p.tenantId)}/policy`, { method: 'DELETE' });
        if (!alive) return;
        toast(`Policy of tenant ${p.tenantId} removed.`);
        show();
      } catch (e) {
        if (alive) formError.textContent = describe(e);
      }
    });

    body.replaceChildren(
      h('p', { class: 'muted', 'data-field': 'updated', text: p.updatedAt ? `Set ${date(p.updatedAt)} by ${p.updatedBy}` : 'This tenant has no policy of its own.' }),
      h('div', { class: 'table-wrap' },
        h('table', { class: 'stack tenant-policy' },
          h('thead', {}, h('tr', {}, ['Setting', 'Tenant', 'In force'].map((c) => h('th', { scope: 'col', text: c })))),
          h('tbody', {}, rows))),
      // replaceChildren would write a null as the text "null".
      ...(form ? [form] : []));
  }

  async function show() {
    const tenant = tenantInput.value.trim();
    error.replaceChildren();
    if (!tenant) return;
    setParams(new URLSearchParams({ tenantId: tenant }));
    load.disabled = true;
    try {
      const p = await api(`/api/admin/tenants/${encodeURIComponent(tenant)}/policy`);
      if (alive) render(p);
    } catch (e) {
      if (alive) banner(e, show);
    } finally {
      load.disabled = false;
    }
  }

  if (tenantInput.value) show();
  return () => {
    alive = false;
  };
}
