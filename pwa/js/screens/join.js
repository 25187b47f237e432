// Joining: the invite link (/join/<code>) claims at once; otherwise the person types the code.
// This is also the landing page for anyone not signed in, with the way to therapist sign-in.
import { h, add, field, showError } from '../dom.js';
import { post, ApiError } from '../api.js';
import { adopt } from '../session.js';

let pendingCode = '';
export function setPendingCode(code) {
  pendingCode = code;
}

async function claim(code, app, form) {
  try {
    const me = await post('/api/invites/claim', { code });
    await adopt(me);
    app.go('#/welcome');
  } catch (error) {
    showError(form, error instanceof ApiError || error.message ? error : new Error('Could not join.'));
    if (app.state.me?.role === 'client') {
      form.querySelector('.form-error').append(' You are already signed in on this phone: ', h('a', { href: '#/today' }, 'go to today'), '.');
    }
  }
}

export async function render(main, params, app) {
  main.className = 'narrow';
  const input = h('input.code-input', {
    type: 'text', name: 'code', autocomplete: 'one-time-code', autocapitalize: 'characters',
    spellcheck: 'false', inputmode: 'text', placeholder: 'ABCDE-FGHJK', required: true,
  });
  const form = h('form.card', {
    onsubmit: (event) => {
      event.preventDefault();
      claim(input.value.trim(), app, form);
    },
  },
  field('Your code', input, '(10 letters and numbers, from your therapist)'),
  h('button.primary.big.wide', { type: 'submit' }, 'Join'));

  add(main, 
    h('h1', {}, 'Welcome to Limber'),
    h('p', {}, 'Your therapist gives you a code or a QR code. Scan it with your phone’s camera, or type the code here. No password needed.'),
    form,
    h('div.card', {},
      h('h2', {}, 'Are you a therapist?'),
      h('div.row', {},
        h('a.button', { href: '#/signin' }, 'Sign in'),
        h('a.button', { href: '#/register' }, 'Create an account'))),
  );
  if (app.state.offline) {
    main.prepend(h('div.notice.warn', {}, 'You are offline. Joining needs a connection.'));
  }
  if (pendingCode) {
    input.value = pendingCode;
    pendingCode = '';
    await claim(input.value, app, form);
  }
}
