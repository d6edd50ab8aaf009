import type { ComponentChildren } from 'preact';
import { useLocation } from 'preact-iso';
import { signOutStaff, type StaffSession } from './staff-auth.ts';

interface Section {
  readonly href: string;
  readonly label: string;
  /** Other screens that belong to this section (the person view belongs to People). */
  readonly also?: readonly string[];
}

const SECTIONS: readonly Section[] = [
  { href: '/staff/flags', label: 'Flags queue' },
  { href: '/staff', label: 'People', also: ['/staff/personas/', '/staff/people/'] },
  { href: '/staff/appeals', label: 'Appeals' },
  { href: '/staff/legal-holds', label: 'Legal holds' },
  { href: '/staff/policies', label: 'Policies' },
  { href: '/staff/audit', label: 'Audit log' },
];

/** `page` on the section's own screen, `true` on a screen inside it (a person), nothing elsewhere. */
function current(section: Section, path: string): 'page' | 'true' | undefined {
  if (path === section.href) return 'page';
  return section.also?.some((prefix) => path.startsWith(prefix)) ? 'true' : undefined;
}

/**
 * The frame of every console screen, in place of the people's: the console's own header with its
 * sections, who is signed in with which role, and sign-out. Signed out, the header carries only the
 * name, so nothing suggests a section that would refuse you.
 */
export function StaffLayout({ session, children }: { session: StaffSession | null; children: ComponentChildren }) {
  const { path } = useLocation();
  return (
    <>
      <a class="skip-link" href="#main">Skip to content</a>
      <header class="site-header staff-header">
        <a class="brand" href="/staff">personae <span class="staff-mark">staff</span></a>
        {session && (
          <>
            <nav aria-label="Staff console">
              <ul>
                {SECTIONS.map((section) => (
                  <li key={section.href}>
                    <a href={section.href} aria-current={current(section, path)}>{section.label}</a>
                  </li>
                ))}
              </ul>
            </nav>
            <div class="staff-who">
              <p class="small" data-testid="staff-who">
                <strong>{session.admin.name}</strong> <span class="badge">{session.admin.role}</span>
                <br /><code class="muted">{session.admin.actor}</code>
              </p>
              <button type="button" class="button" onClick={signOutStaff}>Sign out of the console</button>
            </div>
          </>
        )}
      </header>
      <main id="main" class="staff-main" tabIndex={-1}>{children}</main>
    </>
  );
}
