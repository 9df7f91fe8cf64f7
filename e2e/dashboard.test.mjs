// The admin dashboard end to end, in Debian's headless Chromium driven by playwright-core.
// Usage: node e2e/dashboard.test.mjs <baseURL>, with E2E_FIXTURE (JSON from the Rust harness,
// tests/api/dashboard.rs, which seeded the server) and E2E_LABEL (names the screenshot folder).
// Everything is checked against the real admin API with the same cookies the page has.
// Prints one JSON summary line last; exits 1 on the first failure.

import { chromium } from 'playwright-core';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const base = process.argv[2];
if (!base) {
  console.error('usage: node e2e/dashboard.test.mjs <baseURL>');
  process.exit(2);
}
const fx = JSON.parse(process.env.E2E_FIXTURE ?? 'null');
if (!fx) {
  console.error('E2E_FIXTURE is not set (run through `cargo test --test api dashboard`)');
  process.exit(2);
}
const here = path.dirname(fileURLToPath(import.meta.url));
const shots = path.resolve(here, '..', 'test-output', 'screenshots', process.env.E2E_LABEL ?? 'run');
rmSync(shots, { recursive: true, force: true });
mkdirSync(shots, { recursive: true });

const DESKTOP = { width: 1280, height: 900 };
const PHONE = { width: 390, height: 844 };
let checks = 0;

function check(cond, message) {
  checks += 1;
  if (!cond) throw new Error(`check failed: ${message}`);
}
function eq(actual, expected, message) {
  checks += 1;
  const a = JSON.stringify(actual);
  const e = JSON.stringify(expected);
  if (a !== e) throw new Error(`check failed: ${message}: expected ${e}, got ${a}`);
}
function step(name) {
  console.log(`- ${name}`);
}

const userDataDir = mkdtempSync(path.join(tmpdir(), 'sk-e2e-'));
const context = await chromium.launchPersistentContext(userDataDir, {
  executablePath: '/usr/bin/chromium',
  headless: true,
  args: [
    '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
  ],
  viewport: DESKTOP,
  locale: 'en-US',
  timezoneId: 'UTC',
});
const page = context.pages()[0] ?? (await context.newPage());
page.setDefaultTimeout(15_000);

const pageErrors = [];
page.on('pageerror', (e) => pageErrors.push(`pageerror: ${e.message}`));
page.on('console', (m) => {
  // The browser logs every non-2xx response; those are expected (401 before sign-in, 403 for
  // a plain user, the 404 the stale revoke provokes). Anything else is a defect.
  if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) pageErrors.push(`console: ${m.text()}`);
});
// CSP violations and layout shifts, recorded from the first byte of every document.
await context.addInitScript(() => {
  window.__csp = [];
  document.addEventListener('securitypolicyviolation', (e) => window.__csp.push(`${e.violatedDirective} ${e.blockedURI}`));
  window.__cls = 0;
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) if (!entry.hadRecentInput) window.__cls += entry.value;
  }).observe({ type: 'layout-shift', buffered: true });
});

// The admin API, with the page's cookies (the context's request shares its cookie jar).
async function apiGet(p) {
  const res = await context.request.get(`${base}${p}`);
  if (!res.ok()) throw new Error(`GET ${p} answered ${res.status()}: ${await res.text()}`);
  return res.json();
}
async function apiStatus(p) {
  return (await context.request.get(`${base}${p}`)).status();
}
async function listSessions(query) {
  const q = new URLSearchParams({ limit: '500', ...query });
  return (await apiGet(`/api/admin/sessions?${q}`)).sessions;
}

async function shot(name, { fullPage = true } = {}) {
  await page.screenshot({ path: path.join(shots, `${name}.png`), fullPage });
}

async function assertClean(where) {
  const csp = await page.evaluate(() => window.__csp);
  eq(csp, [], `no CSP violations (${where})`);
  eq(pageErrors, [], `no script errors (${where})`);
  // A JavaScript null or undefined that reached the page: a text node that is exactly one, or
  // a sentence with one in it (ids are 32 random characters, so never match either form).
  const leaked = await page.evaluate(() => {
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    const bad = [];
    for (let n = walker.nextNode(); n; n = walker.nextNode()) {
      const t = n.textContent.trim();
      if (/^(null|undefined|NaN)$/.test(t) || / (null|undefined|NaN)\b|\[object Object\]/.test(t)) bad.push(t);
    }
    return bad.length ? bad : null;
  });
  eq(leaked, null, `no raw null/undefined/NaN shown (${where})`);
}

/** Every visible control has an accessible name. */
async function assertNamedControls(where) {
  const unnamed = await page.evaluate(() => {
    const visible = (el) => el.offsetParent !== null || el.getClientRects().length > 0;
    return [...document.querySelectorAll('button, input, select, a[href], textarea')]
      .filter(visible)
      .filter((el) => {
        const name = el.getAttribute('aria-label') || el.getAttribute('aria-labelledby') || el.title
          || (el.labels && el.labels.length && el.labels[0].textContent.trim()) || el.textContent.trim();
        return !name;
      })
      .map((el) => el.outerHTML.slice(0, 120));
  });
  eq(unnamed, [], `every control has an accessible name (${where})`);
}

/** Nothing wider than a phone screen. */
async function assertFitsPhone(where) {
  const width = await page.evaluate(() => document.documentElement.scrollWidth);
  check(width <= PHONE.width, `${where} fits a ${PHONE.width}px screen (scrollWidth ${width})`);
}

async function phoneShot(name) {
  await page.setViewportSize(PHONE);
  await page.waitForTimeout(150);
  await assertFitsPhone(name);
  await shot(`${name}-phone`);
  await page.setViewportSize(DESKTOP);
  await page.waitForTimeout(150);
}

async function signIn(email, password = fx.password) {
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

async function signOut() {
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByRole('heading', { name: 'Sign in to the admin dashboard' }).waitFor();
  eq(await apiStatus('/api/admin/whoami'), 401, 'signed out: the API no longer knows us');
}

async function go(view) {
  await page.getByRole('navigation', { name: 'Dashboard sections' }).getByRole('link', { name: view }).click();
  await page.getByRole('heading', { level: 1, name: view }).waitFor();
}

async function waitForStats() {
  await page.locator('[data-stat="totalSessions"] .skeleton').waitFor({ state: 'detached' });
  await page.locator('#chart-per-day svg').waitFor();
}

async function cardValue(key) {
  return (await page.locator(`[data-stat="${key}"]`).innerText()).trim();
}

/** Session rows currently in the table (waits for loading to finish). */
async function tableRows() {
  await page.locator('table.sessions[aria-busy="false"]').waitFor();
  return page.locator('table.sessions tbody tr[data-session-id]').evaluateAll((trs) =>
    trs.map((tr) => ({ id: tr.dataset.sessionId, tenant: tr.dataset.tenantId, status: tr.dataset.status })));
}

/** Sets every filter (unnamed ones empty), applies them and waits for the new rows. */
async function filter(values) {
  const labels = { tenantId: 'Tenant', userId: 'User ID', ip: 'IP address', userAgent: 'User agent' };
  for (const [k, label] of Object.entries(labels)) {
    const input = page.getByLabel(label, { exact: true });
    if (!(await input.isDisabled())) await input.fill(values[k] ?? '');
  }
  const status = page.getByLabel('Status');
  if ((await status.inputValue()) !== (values.status ?? '')) {
    // Changing the status applies at once; wait for that load before applying the rest.
    const changed = page.waitForResponse((r) => r.url().includes('/api/admin/sessions?'));
    await status.selectOption(values.status ?? '');
    await changed;
  }
  const done = page.waitForResponse((r) => r.url().includes('/api/admin/sessions?'));
  await page.getByRole('button', { name: 'Apply filters' }).click();
  await done;
  return tableRows();
}

const escapeRe = (t) => t.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

async function confirmDialog(expectTitle) {
  const dialog = page.getByRole('dialog');
  await dialog.waitFor();
  const title = (await dialog.getByRole('heading').innerText()).trim();
  check(expectTitle.test(title), `dialog title "${title}" matches ${expectTitle}`);
  return { dialog, title };
}

try {
  // ---- Sign-in page and a wrong password --------------------------------------------------
  step('sign-in page');
  const resp = await page.goto(`${base}/admin`);
  check(resp.headers()['content-security-policy']?.startsWith("default-src 'self'"), 'the page has a strict CSP');
  await page.getByRole('heading', { name: 'Sign in to the admin dashboard' }).waitFor();
  await assertNamedControls('sign-in');
  await shot('signin-desktop');
  await signIn(fx.admin, 'not-the-password');
  await page.getByText('Wrong email or password.').waitFor();
  check(true, 'a wrong password is reported');

  // ---- Admin: overview ---------------------------------------------------------------------
  step('admin overview');
  await signIn(fx.admin);
  await page.getByRole('heading', { level: 1, name: 'Overview' }).waitFor();
  await waitForStats();
  const who = await apiGet('/api/admin/whoami');
  eq(who.kind, 'admin', 'whoami says admin');
  check((await page.locator('#who').innerText()).includes(fx.admin), 'the header names the signed-in admin');

  // A fresh load while signed in: nothing may move once the data arrives.
  await page.reload();
  await waitForStats();
  await page.waitForTimeout(300);
  const cls = await page.evaluate(() => window.__cls);
  check(cls < 0.02, `no layout shift while the overview loads (CLS ${cls.toFixed(4)})`);

  const stats = await apiGet('/api/admin/sessions/stats');
  for (const key of ['totalSessions', 'totalActiveSessions', 'expiredSessions', 'inactiveSessions', 'usersOverLimit', 'usersWithSessions', 'createdLast24h']) {
    eq(await cardValue(key), new Intl.NumberFormat('en-US').format(stats[key]), `overview card ${key} equals the stats API`);
  }
  eq(await page.locator('#stats-generated').getAttribute('data-as-of'), stats.asOf, 'the overview says when the counts were taken (asOf)');
  // The seed plus the admin's own browser session (the harness signed its own session out).
  eq(stats.totalSessions, fx.seeded.total + 1, 'stats count the seed and the admin session');
  eq(stats.expiredSessions, fx.seeded.expired, 'expired sessions as seeded');
  eq(stats.inactiveSessions, fx.seeded.inactive, 'inactive sessions as seeded');
  eq(stats.usersOverLimit, fx.seeded.usersOverLimit, 'users over the limit as seeded');
  const tenantBars = await page.locator('#chart-tenant g[data-name]').evaluateAll((gs) =>
    Object.fromEntries(gs.map((g) => [g.dataset.name, Number(g.dataset.count)])));
  eq(tenantBars[fx.tenantB], fx.seeded.tenantB, 'tenant chart: tenant B');
  eq(tenantBars[fx.tenantA], stats.sessionsByTenant.find((t) => t.tenantId === fx.tenantA).count, 'tenant chart: tenant A equals the API');
  const deviceBars = await page.locator('#chart-device g[data-name]').evaluateAll((gs) =>
    gs.map((g) => [g.dataset.name, Number(g.dataset.count)]));
  eq(deviceBars.reduce((t, [, c]) => t + c, 0), stats.totalSessions, 'device-type chart adds up to the total');
  check(deviceBars.some(([n]) => n === 'mobile'), 'device-type chart shows mobile sessions');
  const browserBars = await page.locator('#chart-browser g[data-name]').count();
  check(browserBars >= 3, `browser chart shows several browsers (${browserBars})`);
  const perDay = await page.locator('#chart-per-day rect[data-date]').evaluateAll((rs) =>
    rs.map((r) => ({ date: r.dataset.date, count: Number(r.dataset.count) })));
  eq(perDay, stats.createdPerDay, 'per-day chart equals createdPerDay');
  eq(perDay.length, 30, 'per-day chart has 30 days');
  await assertNamedControls('overview');
  await assertClean('overview');
  await shot('overview-desktop', { fullPage: false });
  await shot('overview-desktop-full');
  await phoneShot('overview');

  // ---- Sessions: filters and pagination ----------------------------------------------------
  step('sessions: filters and pagination');
  await go('Sessions');
  let rows = await tableRows();
  const all = await listSessions({});
  eq(rows.length, Math.min(25, all.length), 'the first page holds 25 sessions');
  eq(rows.map((r) => r.id), all.slice(0, 25).map((s) => s.id), 'first page in the API order');
  await page.getByRole('button', { name: 'Next page' }).click();
  await page.getByText('Page 2').waitFor();
  const page2 = await tableRows();
  eq(page2.map((r) => r.id), all.slice(25, 50).map((s) => s.id), 'second page continues where the first ended');
  await page.getByRole('button', { name: 'Previous page' }).click();
  await page.getByText('Page 1').waitFor();
  eq((await tableRows()).map((r) => r.id), all.slice(0, 25).map((s) => s.id), 'previous page returns to the first');
  await assertNamedControls('sessions');
  await shot('sessions-desktop');
  await phoneShot('sessions');

  rows = await filter({ tenantId: fx.tenantB });
  eq(rows.length, fx.seeded.tenantB, 'tenant filter: every tenant B session');
  check(rows.every((r) => r.tenant === fx.tenantB), 'tenant filter: only tenant B');
  rows = await filter({ status: 'expired' });
  eq(rows.map((r) => r.id).sort(), (await listSessions({ status: 'expired' })).map((s) => s.id).sort(), 'status filter equals the API');
  eq(rows.length, fx.seeded.expired, 'status filter: the expired sessions');
  check(rows.every((r) => r.status === 'expired'), 'status filter: only expired');
  rows = await filter({ userAgent: 'iPhone' });
  const iphones = await listSessions({ userAgent: 'iPhone' });
  eq(rows.map((r) => r.id).sort(), iphones.map((s) => s.id).sort(), 'user-agent filter equals the API');
  check(rows.length >= 2, 'user-agent filter finds the iPhone sessions');
  rows = await filter({ ip: fx.iphoneIp });
  eq(rows.length, 1, 'IP filter finds one session');
  rows = await filter({ userId: fx.revokeUser.userId });
  check(rows.length > 0, 'user filter finds the sessions of one user');
  check((await page.locator('table.sessions tbody').innerText()).includes(fx.revokeUser.email), 'rows show the user e-mail');
  check((await page.locator('table.sessions tbody time').first().innerText()).match(/ago|now|yesterday/), 'last used shows a relative time');

  // ---- Revoke one --------------------------------------------------------------------------
  step('revoke one session');
  rows = await filter({ userId: fx.revokeOne.userId });
  check(rows.some((r) => r.id === fx.revokeOne.id), 'the session to revoke is listed');
  await page.getByRole('button', { name: `Revoke session ${fx.revokeOne.id} of ${fx.revokeOne.email}` }).click();
  const one = await confirmDialog(/^Revoke 1 session\?$/);
  await shot('sessions-confirm-desktop', { fullPage: false });
  await one.dialog.getByRole('button', { name: 'Revoke 1 session' }).click();
  await page.locator(`tr[data-session-id="${fx.revokeOne.id}"]`).waitFor({ state: 'detached' });
  check(!(await listSessions({ userId: fx.revokeOne.userId })).some((s) => s.id === fx.revokeOne.id), 'the revoked session is gone from the API');

  // ---- Revoke the selected -----------------------------------------------------------------
  step('revoke selected sessions');
  const before = await listSessions({ userId: fx.revokeSelected.userId });
  await filter({ userId: fx.revokeSelected.userId });
  for (const id of fx.revokeSelected.ids) {
    await page.getByRole('checkbox', { name: new RegExp(`^Select session ${id} `) }).check();
  }
  await page.getByRole('button', { name: 'Revoke selected (2)' }).click();
  const sel = await confirmDialog(/^Revoke 2 sessions\?$/);
  await sel.dialog.getByRole('button', { name: 'Revoke 2 sessions' }).click();
  await page.getByRole('button', { name: 'Revoke selected (0)' }).waitFor();
  const after = await listSessions({ userId: fx.revokeSelected.userId });
  eq(after.length, before.length - 2, 'two sessions fewer for that user');
  check(fx.revokeSelected.ids.every((id) => !after.some((s) => s.id === id)), 'the selected sessions are gone from the API');

  // ---- Revoke all of a user ----------------------------------------------------------------
  step('revoke all sessions of a user');
  const bobs = await listSessions({ userId: fx.revokeUser.userId });
  check(bobs.length >= 2, 'the user has several sessions');
  await filter({ userId: fx.revokeUser.userId });
  await page.getByRole('button', { name: `Revoke all sessions of ${fx.revokeUser.email}` }).first().click();
  const all2 = await confirmDialog(new RegExp(`^Revoke all ${bobs.length} sessions of ${escapeRe(fx.revokeUser.email)}\\?$`));
  await all2.dialog.getByRole('button', { name: `Revoke ${bobs.length} sessions` }).click();
  await page.getByText('No sessions match these filters.').waitFor();
  eq((await listSessions({ userId: fx.revokeUser.userId })).length, 0, 'the user has no sessions left');

  // ---- An API error is shown, not swallowed ------------------------------------------------
  step('API errors are shown');
  await filter({ userId: fx.staleRevoke.userId });
  // Revoked behind the page's back: the row is now stale, and revoking it must say so.
  const gone = await context.request.delete(`${base}/api/admin/sessions/${fx.staleRevoke.id}`, { headers: { origin: base } });
  eq(gone.status(), 200, 'revoked through the API');
  await page.getByRole('button', { name: new RegExp(`^Revoke session ${fx.staleRevoke.id} `) }).click();
  const stale = await confirmDialog(/^Revoke 1 session\?$/);
  await stale.dialog.getByRole('button', { name: 'Revoke 1 session' }).click();
  const banner = page.locator('.banner.error');
  await banner.waitFor();
  check((await banner.innerText()).includes('SESSION_NOT_FOUND'), 'the 404 from the API is shown with its code');

  // ---- Cleanup: preview, run, history ------------------------------------------------------
  step('cleanup preview and run');
  await go('Cleanup');
  await page.locator('#cleanup-status dl').waitFor();
  const status = await apiGet('/api/admin/sessions/cleanup/status');
  const enabledText = (await page.locator('[data-field="enabled"]').innerText()).trim();
  check(status.enabled ? enabledText.startsWith('on, every ') : enabledText === 'off', `status shows whether automatic cleanup is on ("${enabledText}")`);
  eq(status.running, false, 'no cleanup runs before the test starts one');
  eq((await page.locator('[data-field="running"]').innerText()).trim(), 'idle', 'status shows the service idle');
  eq(await page.getByLabel('Max sessions per user').inputValue(), String(status.policy.maxSessionsPerUser), 'the policy form starts from the policy in force');
  for (const [label, key] of [['Inactive after (days)', 'inactivityDays'], ['Max sessions per user', 'maxSessionsPerUser']]) {
    const input = page.getByLabel(label);
    eq([await input.getAttribute('min'), await input.getAttribute('max')], [String(status.limits[key].min), String(status.limits[key].max)], `the ${key} field takes its bounds from the server`);
  }
  const statsBefore = await apiGet('/api/admin/sessions/stats');
  await page.getByRole('button', { name: 'Preview' }).click();
  await page.locator('[data-counts="preview"]').waitFor();
  const previewCounts = await page.locator('[data-counts="preview"] [data-layer]').evaluateAll((els) =>
    Object.fromEntries(els.map((e) => [e.dataset.layer, Number(e.textContent.replace(/\D/g, ''))])));
  eq(previewCounts.expired, statsBefore.expiredSessions, 'preview: the expired sessions');
  eq(previewCounts.inactive, statsBefore.inactiveSessions, 'preview: the inactive sessions');
  check(previewCounts.excess >= 1, `preview: sessions over the limit (${previewCounts.excess})`);
  eq(previewCounts.total, previewCounts.expired + previewCounts.inactive + previewCounts.excess, 'preview total adds up');
  check(await page.locator('table.sample tbody tr').count() > 0, 'preview lists sessions it would delete');
  eq((await apiGet('/api/admin/sessions/stats')).totalSessions, statsBefore.totalSessions, 'a preview deletes nothing');
  await shot('cleanup-preview-desktop');

  await page.getByRole('button', { name: 'Run now' }).click();
  const run = await confirmDialog(new RegExp(`^Delete ${previewCounts.total} sessions?\\?$`));
  check((await run.dialog.innerText()).includes(`${previewCounts.expired} expired, ${previewCounts.inactive} inactive, ${previewCounts.excess} over the limit`), 'the run confirmation states the counts per layer');
  await run.dialog.getByRole('button', { name: 'Run cleanup now' }).click();
  await page.locator('[data-counts="run"]').waitFor();
  const runs = (await apiGet('/api/admin/sessions/cleanup/runs?limit=5')).runs;
  const real = runs.find((r) => !r.dryRun);
  check(real, 'the API lists the real run');
  eq(real.counts, { expired: previewCounts.expired, inactive: previewCounts.inactive, excess: previewCounts.excess }, 'the run deleted what the preview showed');
  const historyRow = page.locator(`table.history tr[data-run-id="${real.runId}"]`);
  await historyRow.waitFor();
  const cells = await historyRow.locator('[data-layer]').evaluateAll((els) =>
    Object.fromEntries(els.map((e) => [e.dataset.layer, Number(e.textContent.replace(/\D/g, ''))])));
  eq(cells, { ...real.counts, total: real.total }, 'the history row shows the per-layer counts');
  const statsAfter = await apiGet('/api/admin/sessions/stats');
  eq([statsAfter.expiredSessions, statsAfter.inactiveSessions, statsAfter.usersOverLimit], [0, 0, 0], 'after the run nothing stale is left');
  await page.locator('[data-counts="last-run"]').waitFor();
  await assertNamedControls('cleanup');
  await assertClean('cleanup');
  await shot('cleanup-desktop');
  await phoneShot('cleanup');

  // ---- Tenant policy -----------------------------------------------------------------------
  step('tenant policy');
  await go('Tenant policy');
  await page.getByLabel('Tenant', { exact: true }).fill(fx.tenantA);
  await page.getByRole('button', { name: 'Show policy' }).click();
  await page.locator('table.tenant-policy').waitFor();
  const policyPath = `/api/admin/tenants/${encodeURIComponent(fx.tenantA)}/policy`;
  const unset = await apiGet(policyPath);
  eq(unset.updatedAt, null, 'tenant A starts without a policy');
  const cell = (k, which) => page.locator(`table.tenant-policy [data-field="${k}"] [data-value="${which}"]`);
  eq((await cell('maxSessionsPerUser', 'effective').innerText()).trim(), String(unset.effective.maxSessionsPerUser), 'the global per-user limit is shown in force');
  eq((await cell('maxSessionsPerUser', 'own').innerText()).trim(), 'none', 'no value of its own');
  await page.getByLabel('Max sessions in the tenant').fill('50');
  await page.getByLabel('Inactivity timeout (seconds)').fill('3600');
  await page.getByRole('button', { name: 'Save policy' }).click();
  await cell('maxSessionsPerTenant', 'own').filter({ hasText: '50' }).waitFor();
  const saved = await apiGet(policyPath);
  eq([saved.maxSessionsPerTenant, saved.inactivityTimeoutSeconds, saved.maxSessionsPerUser, saved.absoluteTimeoutSeconds], [50, 3600, null, null], 'the API holds what the form saved');
  eq((await cell('inactivityTimeoutSeconds', 'effective').innerText()).trim(), (3600).toLocaleString('en-US'), 'the tenant value is in force');
  // A value looser than the global one is the tenant's to have.
  const looser = unset.effective.maxSessionsPerUser + 1;
  await page.getByLabel('Max sessions per user').fill(String(looser));
  await page.getByRole('button', { name: 'Save policy' }).click();
  await cell('maxSessionsPerUser', 'own').filter({ hasText: looser.toLocaleString('en-US') }).waitFor();
  eq((await apiGet(policyPath)).effective.maxSessionsPerUser, looser, 'a looser per-user limit is in force');
  // A value the server refuses (out of bounds): its message and code are shown, nothing changes.
  await page.getByLabel('Max sessions per user').fill('100001');
  await page.getByRole('button', { name: 'Save policy' }).click();
  await page.locator('#tenant-policy .form-error').filter({ hasText: 'VALIDATION_ERROR' }).waitFor();
  eq((await apiGet(policyPath)).maxSessionsPerUser, looser, 'a refused save changes nothing');
  await assertNamedControls('tenant policy');
  await shot('tenant-policy-desktop');
  await phoneShot('tenant-policy');
  await page.getByRole('button', { name: 'Remove policy' }).click();
  const removal = await confirmDialog(new RegExp(`^Remove the policy of tenant ${escapeRe(fx.tenantA)}\\?$`));
  await removal.dialog.getByRole('button', { name: 'Remove policy' }).click();
  await page.locator('#tenant-policy [data-field="updated"]').filter({ hasText: 'no policy of its own' }).waitFor();
  eq((await apiGet(policyPath)).updatedAt, null, 'the policy is removed');
  await assertClean('tenant policy');

  // ---- Audit log ---------------------------------------------------------------------------
  step('audit log');
  await go('Audit log');
  await page.locator('table.audit tbody tr[data-audit-id]').first().waitFor();
  const entries = (await apiGet('/api/admin/audit?limit=50')).entries;
  const shown = await page.locator('table.audit tbody tr[data-audit-id]').evaluateAll((trs) => trs.map((tr) => tr.dataset.auditId));
  eq(shown, entries.map((e) => e.id), 'the audit view lists the API entries in order');
  // One single revoke, one bulk by ids, one by user, the stale one through the API, one cleanup.
  check(entries.length >= 5, `the actions above were audited (${entries.length} entries)`);
  await assertNamedControls('audit');
  await shot('audit-desktop');
  await phoneShot('audit');
  await assertClean('admin');
  await signOut();

  // ---- Tenant admin: only their tenant -----------------------------------------------------
  step('tenant admin');
  await signIn(fx.tenantAdmin);
  await page.getByRole('heading', { level: 1, name: 'Overview' }).waitFor();
  await waitForStats();
  const tw = await apiGet('/api/admin/whoami');
  eq([tw.kind, tw.tenantId], ['tenant-admin', fx.tenantA], 'whoami: tenant admin of tenant A');
  const tstats = await apiGet('/api/admin/sessions/stats');
  eq(await cardValue('totalSessions'), String(tstats.totalSessions), 'tenant overview total equals the scoped stats');
  const tbars = await page.locator('#chart-tenant g[data-name]').evaluateAll((gs) => gs.map((g) => g.dataset.name));
  eq(tbars, [fx.tenantA], 'the tenant chart shows tenant A only');
  check(await page.getByRole('combobox', { name: 'Tenant', exact: true }).count() === 0, 'no tenant picker on the overview');
  await shot('tenant-admin-overview-desktop');
  await go('Sessions');
  rows = await tableRows();
  check(rows.length > 0, 'the tenant admin sees sessions');
  check(rows.every((r) => r.tenant === fx.tenantA), 'only tenant A sessions are listed');
  const tenantInput = page.getByLabel('Tenant', { exact: true });
  check(await tenantInput.isDisabled(), 'the tenant filter is fixed');
  eq(await tenantInput.inputValue(), fx.tenantA, 'the tenant filter shows tenant A');
  // Asking for tenant B through the URL still shows tenant A only.
  await page.goto(`${base}/admin#/sessions?tenantId=${fx.tenantB}`);
  rows = await tableRows();
  check(rows.length > 0 && rows.every((r) => r.tenant === fx.tenantA), 'a URL naming tenant B still lists tenant A only');
  eq(await apiStatus(`/api/admin/sessions/stats?tenantId=${fx.tenantB}`), 403, 'the API refuses tenant B to the tenant admin');
  await shot('tenant-admin-sessions-desktop');
  await go('Tenant policy');
  await page.locator('table.tenant-policy').waitFor();
  const ownTenant = page.getByLabel('Tenant', { exact: true });
  check(await ownTenant.isDisabled(), 'the tenant admin\'s tenant is fixed');
  eq(await ownTenant.inputValue(), fx.tenantA, 'the tenant admin sees tenant A\'s policy');
  eq(await page.getByRole('button', { name: 'Save policy' }).count(), 0, 'a tenant admin cannot edit the policy');
  eq(await apiStatus(`/api/admin/tenants/${encodeURIComponent(fx.tenantB)}/policy`), 403, 'the API refuses tenant B\'s policy to the tenant admin');
  await assertClean('tenant admin');
  await signOut();

  // ---- Plain user: refused -----------------------------------------------------------------
  step('plain user is refused');
  await signIn(fx.plain);
  await page.getByRole('heading', { name: 'Not allowed' }).waitFor();
  check(await page.getByRole('navigation', { name: 'Dashboard sections' }).isHidden(), 'no dashboard navigation for a plain user');
  check((await page.locator('main').innerText()).includes(fx.plain), 'the page says who is signed in');
  eq(await apiStatus('/api/admin/whoami'), 403, 'the API refuses the plain user');
  await assertNamedControls('not allowed');
  await shot('not-allowed-desktop');
  await phoneShot('not-allowed');
  await page.getByRole('button', { name: 'Sign out and use another account' }).click();
  await page.getByRole('heading', { name: 'Sign in to the admin dashboard' }).waitFor();
  await assertClean('plain user');

  console.log(JSON.stringify({ ok: true, checks, overviewLayoutShift: cls, screenshots: shots }));
  await context.close();
  rmSync(userDataDir, { recursive: true, force: true });
  process.exit(0);
} catch (e) {
  console.error(e.stack ?? String(e));
  try {
    await shot('failure');
    console.error(`page at failure: ${page.url()}; screenshot ${path.join(shots, 'failure.png')}`);
  } catch {
    // The browser may be gone; the error above is what matters.
  }
  console.log(JSON.stringify({ ok: false, checks, error: String(e.message ?? e) }));
  await context.close().catch(() => {});
  rmSync(userDataDir, { recursive: true, force: true });
  process.exit(1);
}
