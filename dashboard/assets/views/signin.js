// The sign-in form (Better Auth's email sign-in) and the page a signed-in non-admin sees.

import { api, describe } from '../api.js';
import { h, field } from '../dom.js';

export function renderSignIn(root, { notice, onSignedIn }) {
  const email = field('Email', h('input', { type: 'email', name: 'email', autocomplete: 'username', required: true }));
  const password = field('Password', h('input', { type: 'password', name: 'password', autocomplete: 'current-password', required: true }));
  const error = h('p', { class: 'form-error', role: 'alert', id: 'sign-in-error' });
  const submit = h('button', { type: 'submit', text: 'Sign in' });
  const form = h('form', { class: 'panel', 'aria-labelledby': 'sign-in-title', 'aria-describedby': 'sign-in-error' },
    h('h1', { id: 'sign-in-title', text: 'Sign in to the admin dashboard' }),
    notice ? h('p', { class: 'banner info', text: notice }) : null,
    email.wrap,
    password.wrap,
    error,
    submit,
  );
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    error.textContent = '';
    submit.disabled = true;
    submit.textContent = 'Signing in…';
    try {
      await api('/api/auth/sign-in/email', {
        method: 'POST',
        body: { email: email.input.value, password: password.input.value, rememberMe: true },
      });
      password.input.value = '';
      await onSignedIn();
    } catch (e) {
      error.textContent = e.code === 'INVALID_EMAIL_OR_PASSWORD' ? 'Wrong email or password.' : describe(e);
      submit.disabled = false;
      submit.textContent = 'Sign in';
      password.input.focus();
    }
  });
  root.append(h('div', { class: 'center' }, form));
  email.input.focus();
}

export function renderNotAllowed(root, { email, onSignOut }) {
  root.append(
    h('div', { class: 'center' },
      h('section', { class: 'panel', 'aria-labelledby': 'not-allowed-title' },
        h('h1', { id: 'not-allowed-title', text: 'Not allowed' }),
        h('p', {},
          email ? ['You are signed in as ', h('strong', { text: email }), ', '] : 'This account is ',
          'not an administrator. The dashboard is for users with the admin role, or the tenant admin role for their own tenant.'),
        h('p', { class: 'muted', text: 'Ask an administrator for access, or sign in with another account.' }),
        h('button', { type: 'button', onclick: onSignOut, text: 'Sign out and use another account' }),
      ),
    ),
  );
}
