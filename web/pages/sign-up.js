import { credentialsForm } from '../lib/credentials.js';
import { append, h } from '../lib/dom.js';

export const title = () => 'Create an account';

export function mount(view, { session, router }) {
  append(
    view,
    h('h1', { tabindex: '-1' }, 'Create an account'),
    credentialsForm({
      action: 'Create account',
      newPassword: true,
      submit: async (email, password) => {
        await session.signUp(email, password);
        router.navigate('/');
      },
    }),
    h('p', {}, 'Already have an account? ', h('a', { href: '#/sign-in' }, 'Sign in')),
  );
}
