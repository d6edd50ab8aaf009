import type { ComponentChildren } from 'preact';
import { Route, Router, useLocation } from 'preact-iso';
import { Appeals } from './appeals.tsx';
import { AuditLog } from './audit-log.tsx';
import { FlagsQueue } from './flags-queue.tsx';
import { LegalHolds } from './legal-holds.tsx';
import { PersonByPersona, PersonByProfile } from './person-view.tsx';
import { Policies } from './policies.tsx';
import { StaffHome } from './staff-home.tsx';
import { signOutStaff, useStaffSession } from './staff-auth.ts';
import { StaffSignIn } from './staff-sign-in.tsx';
import './staff.css';

const SECTIONS = [
  { href: '/staff', label: 'Find a person' },
  { href: '/staff/flags', label: 'Flags' },
  { href: '/staff/appeals', label: 'Appeals' },
  { href: '/staff/legal-holds', label: 'Legal holds' },
  { href: '/staff/policies', label: 'Policies' },
  { href: '/staff/audit', label: 'Audit log' },
] as const;

/** The console's own navigation, the signed-in staff member, and sign-out. */
function StaffFrame({ children }: { children: ComponentChildren }) {
  const session = useStaffSession();
  const { path } = useLocation();
  if (!session) return <StaffSignIn />;
  return (
    <div class="staff">
      <div class="staff-bar">
        <p class="small muted">
          Staff console · signed in as <code>{session.admin.actor}</code> <span class="badge">{session.admin.role}</span>
        </p>
        <button type="button" class="button" onClick={signOutStaff}>Sign out of the console</button>
      </div>
      <nav aria-label="Staff console">
        <ul class="staff-nav">
          {SECTIONS.map((section) => (
            <li key={section.href}>
              <a href={section.href} aria-current={path === section.href ? 'page' : undefined}>{section.label}</a>
            </li>
          ))}
        </ul>
      </nav>
      {children}
    </div>
  );
}

/**
 * The trust & safety console under /staff, loaded only when a staff path is opened (people never
 * download it). Staff sign in with an admin token of the moderator or admin role.
 */
export function StaffConsole() {
  return (
    <StaffFrame>
      <Router>
        <Route path="/" component={StaffHome} />
        <Route path="/flags" component={FlagsQueue} />
        <Route path="/personas/:id" component={PersonByPersona} />
        <Route path="/people/:id" component={PersonByProfile} />
        <Route path="/appeals" component={Appeals} />
        <Route path="/legal-holds" component={LegalHolds} />
        <Route path="/policies" component={Policies} />
        <Route path="/audit" component={AuditLog} />
        <Route default component={StaffHome} />
      </Router>
    </StaffFrame>
  );
}
