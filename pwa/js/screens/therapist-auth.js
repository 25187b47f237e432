// Therapist sign-in and sign-up. Both answer with the same "me" body as GET /api/me.
import { h, add, field, showError, formData } from '../dom.js';
import { post } from '../api.js';
import { adopt } from '../session.js';

function authForm(main, app, { title, intro, fields, submit, path, other }) {
  main.className = 'narrow';
  const form = h('form.card', {
    onsubmit: async (event) => {
      event.preventDefault();
      const button = form.querySelector('button[type=submit]');
      button.disabled = true;
      try {
        await adopt(await post(path, formData(form)));
        app.go('#/dashboard');
      } catch (error) {
        showError(form, error);
      } finally {
        button.disabled = false;
      }
    },
  }, fields, h('button.primary.big.wide', { type: 'submit' }, submit));
  add(main, h('h1', {}, title), h('p', {}, intro), form, h('p', {}, other));
}

const email = () => h('input', { type: 'email', name: 'email', autocomplete: 'username', required: true });

export function signIn(main, params, app) {
  authForm(main, app, {
    title: 'Therapist sign-in',
    intro: 'Sign in to see your clients and assign routines.',
    fields: [
      field('Email', email()),
      field('Password', h('input', { type: 'password', name: 'password', autocomplete: 'current-password', required: true })),
    ],
    submit: 'Sign in',
    path: '/api/auth/login',
    other: ['New to Limber? ', h('a', { href: '#/register' }, 'Create a therapist account'), '.'],
  });
}

export function register(main, params, app) {
  authForm(main, app, {
    title: 'Create a therapist account',
    intro: 'Clients do not need an account: you give them a code.',
    fields: [
      field('Your name', h('input', { type: 'text', name: 'name', autocomplete: 'name', required: true, maxlength: 120 }), '(clients see it)'),
      field('Email', email()),
      field('Password', h('input', { type: 'password', name: 'password', autocomplete: 'new-password', required: true, minlength: 10, maxlength: 256 }), '(at least 10 characters; a few words make a good one)'),
    ],
    submit: 'Create account',
    path: '/api/auth/register',
    other: ['Already have an account? ', h('a', { href: '#/signin' }, 'Sign in'), '.'],
  });
}
