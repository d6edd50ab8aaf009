import type { ComponentChildren } from 'preact';
import { useLocation } from 'preact-iso';
import { useSession } from '../session/session.tsx';

interface NavItem {
  readonly href: string;
  readonly label: string;
}

const SIGNED_OUT: readonly NavItem[] = [
  { href: '/', label: 'Welcome' },
  { href: '/me/personas', label: 'Personas' },
  { href: '/me/account', label: 'Account' },
  { href: '/me/identification', label: 'Identification' },
  { href: '/sign-in', label: 'Sign in' },
];

const SIGNED_IN: readonly NavItem[] = [
  { href: '/', label: 'Home' },
  { href: '/me/personas', label: 'Personas' },
  { href: '/me/security', label: 'Security' },
  { href: '/me/account', label: 'Account' },
  { href: '/me/links', label: 'Linked methods' },
  { href: '/me/territory', label: 'Territory' },
  { href: '/me/identification', label: 'Identification' },
];

/** The frame of every people's screen: a skip link, the site header with its navigation, the main region. */
export function Layout({ children }: { children: ComponentChildren }) {
  const { session } = useSession();
  const { path } = useLocation();
  const items = session && !session.anonymous ? SIGNED_IN : SIGNED_OUT;
  return (
    <>
      <a class="skip-link" href="#main">Skip to content</a>
      <header class="site-header">
        <a class="brand" href="/">personae</a>
        <nav aria-label="Main">
          <ul>
            {items.map((item) => (
              <li key={item.href}>
                <a href={item.href} aria-current={path === item.href ? 'page' : undefined}>{item.label}</a>
              </li>
            ))}
          </ul>
        </nav>
      </header>
      <main id="main" tabIndex={-1}>{children}</main>
      <footer class="site-footer muted small">
        Same person, without knowing who. <a href="/docs">API documentation</a>
      </footer>
    </>
  );
}
