import { credentialsForm } from '../lib/credentials.js';
import { append, h } from '../lib/dom.js';

export const title = () => 'Sign in';

export function mount(view, { session, router, query }) {
  const next = query.get('next') ?? '/';
  append(
    view,
    h('h1', { tabindex: '-1' }, 'Sign in'),
    credentialsForm({
      action: 'Sign in',
      newPassword: false,
      submit: async (email, password) => {
        await session.signIn(email, password);
        router.navigate(next.startsWith('/') ? next : '/');
      },
    }),
    h('p', {}, 'New here? ', h('a', { href: '#/sign-up' }, 'Create an account')),
  );
}
