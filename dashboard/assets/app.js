// Entry point: finds out who is signed in, then shows the sign-in form, the "not allowed" page
// or the dashboard, routed by the URL fragment (#/overview, #/sessions?status=expired, ...).

import { api, describe, setUnauthorizedHandler } from './api.js';
import { h, clear } from './dom.js';
import { renderSignIn, renderNotAllowed } from './views/signin.js';
import { renderOverview } from './views/overview.js';
import { renderSessions } from './views/sessions.js';
import { renderCleanup } from './views/cleanup.js';
import { renderAudit } from './views/audit.js';
import { renderHistory } from './views/history.js';
import { renderTenants } from './views/tenants.js';

const VIEWS = {
  overview: { title: 'Overview', render: renderOverview },
  sessions: { title: 'Sessions', render: renderSessions },
  cleanup: { title: 'Cleanup', render: renderCleanup },
  history: { title: 'History', render: renderHistory },
  audit: { title: 'Audit log', render: renderAudit },
  tenants: { title: 'Tenant policy', render: renderTenants },
};

const main = document.getElementById('main');
const nav = document.getElementById('nav');
const whoBox = document.getElementById('who');
const whoLabel = document.getElementById('who-label');
const toastEl = document.getElementById('toast');
const dialog = document.getElementById('confirm');

let who = null;
let dispose = null;
let toastTimer = null;

function toast(message) {
  toastEl.textContent = message;
  toastEl.hidden = false;
  toastEl.classList.add('show');
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => toastEl.classList.remove('show'), 4000);
}

/** A modal confirmation; resolves true when confirmed. */
function confirmAction({ title, text, ok = 'Confirm' }) {
  document.getElementById('confirm-title').textContent = title;
  document.getElementById('confirm-text').textContent = text;
  document.getElementById('confirm-ok').textContent = ok;
  dialog.returnValue = '';
  dialog.showModal();
  return new Promise((resolve) => {
    dialog.addEventListener('close', () => resolve(dialog.returnValue === 'ok'), { once: true });
  });
}

function parseHash() {
  const raw = location.hash.replace(/^#\/?/, '');
  const [name, query = ''] = raw.split('?');
  return { name: VIEWS[name] ? name : 'overview', params: new URLSearchParams(query) };
}

/** Changes the fragment's query without re-rendering (filters keep their state in the URL). */
function setParams(params) {
  const { name } = parseHash();
  const q = params.toString();
  history.replaceState(null, '', `#/${name}${q ? `?${q}` : ''}`);
}

function unmount() {
  if (dispose) dispose();
  dispose = null;
}

function setChrome(signedIn) {
  nav.hidden = !signedIn;
  whoBox.hidden = !signedIn;
}

function describeWho(w) {
  const name = w.user ? w.user.email : 'service token';
  if (w.kind === 'tenant-admin') return [name, h('span', { class: 'badge', text: `tenant admin · ${w.tenantId}` })];
  if (w.kind === 'service') return [name, h('span', { class: 'badge', text: 'service' })];
  return [name, h('span', { class: 'badge', text: 'admin' })];
}

function route() {
  unmount();
  // A message about the previous view would be misread on the next one.
  toastEl.hidden = true;
  toastEl.classList.remove('show');
  if (!who) return;
  const { name, params } = parseHash();
  const view = VIEWS[name];
  for (const a of nav.querySelectorAll('a')) {
    if (a.dataset.view === name) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  document.title = `${view.title} · sessionkeeper admin`;
  clear(main);
  main.setAttribute('aria-busy', 'false');
  dispose = view.render(main, { who, params, setParams, confirm: confirmAction, toast }) ?? null;
}

function showSignIn(notice) {
  unmount();
  who = null;
  setChrome(false);
  document.title = 'Sign in · sessionkeeper admin';
  clear(main);
  main.setAttribute('aria-busy', 'false');
  renderSignIn(main, { notice, onSignedIn: boot });
}

async function signOut() {
  try {
    await api('/api/auth/sign-out', { method: 'POST', body: {} });
  } catch (e) {
    toast(`Sign-out failed: ${describe(e)}`);
    return;
  }
  // The next person to sign in starts at the overview (an expired session, by contrast, keeps
  // the place so that signing in again returns to it).
  history.replaceState(null, '', location.pathname);
  showSignIn('You are signed out.');
}

/** Asks the server who we are and shows what that person may see. */
async function boot() {
  unmount();
  main.setAttribute('aria-busy', 'true');
  try {
    who = await api('/api/admin/whoami', { quiet401: true });
  } catch (e) {
    who = null;
    setChrome(false);
    if (e.status === 401) return showSignIn();
    clear(main);
    main.setAttribute('aria-busy', 'false');
    if (e.status === 403) {
      document.title = 'Not allowed · sessionkeeper admin';
      let email = null;
      try {
        email = (await api('/api/auth/get-session'))?.user?.email ?? null;
      } catch {
        // The page says "not allowed" either way; the e-mail only helps.
      }
      return renderNotAllowed(main, { email, onSignOut: signOut });
    }
    main.append(
      h('div', { class: 'center' },
        h('div', { class: 'banner error', role: 'alert' },
          `The dashboard could not load: ${describe(e)}`,
          h('button', { type: 'button', class: 'ghost small', onclick: boot, text: 'Retry' }))),
    );
    return;
  }
  whoLabel.replaceChildren(...describeWho(who));
  setChrome(true);
  if (!location.hash) history.replaceState(null, '', '#/overview');
  route();
  main.focus({ preventScroll: true });
}

setUnauthorizedHandler(() => showSignIn('Your session ended. Sign in again.'));
document.getElementById('sign-out').addEventListener('click', signOut);
window.addEventListener('hashchange', () => route());
boot();
