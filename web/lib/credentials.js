// The email and password form of the sign-in and sign-up pages.

import { fill, h, uniqueId } from './dom.js';
import { problem } from './status.js';

/** `submit(email, password)` runs on submit; its ApiError is shown above the button. */
export function credentialsForm({ action, newPassword, submit }) {
  const emailId = uniqueId('email');
  const passwordId = uniqueId('password');
  const hintId = uniqueId('password-hint');
  const feedback = h('div', { class: 'feedback', 'aria-live': 'polite' });
  const button = h('button', { type: 'submit', class: 'primary' }, action);
  const form = h(
    'form',
    { class: 'card credentials', novalidate: true },
    h('div', { class: 'field' }, h('label', { for: emailId }, 'Email'), h('input', { id: emailId, name: 'email', type: 'email', autocomplete: 'email', required: true })),
    h(
      'div',
      { class: 'field' },
      h('label', { for: passwordId }, 'Password'),
      h('input', {
        id: passwordId,
        name: 'password',
        type: 'password',
        autocomplete: newPassword ? 'new-password' : 'current-password',
        required: true,
        minlength: newPassword ? '10' : null,
        'aria-describedby': newPassword ? hintId : null,
      }),
      newPassword ? h('p', { class: 'hint', id: hintId }, 'At least 10 characters.') : null,
    ),
    feedback,
    button,
  );
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const data = new FormData(form);
    button.disabled = true;
    fill(feedback);
    try {
      await submit(String(data.get('email')).trim(), String(data.get('password')));
    } catch (error) {
      fill(feedback, problem(error));
    } finally {
      button.disabled = false;
    }
  });
  return form;
}
