import type { ComponentChildren } from 'preact';
import { Route, Router } from 'preact-iso';
import { Appeals } from './appeals.tsx';
import { AuditLog } from './audit-log.tsx';
import { FlagsQueue } from './flags-queue.tsx';
import { LegalHolds } from './legal-holds.tsx';
import { PersonByPersona, PersonByProfile } from './person-view.tsx';
import { Policies } from './policies.tsx';
import { StaffHome } from './staff-home.tsx';
import { useStaffSession } from './staff-auth.ts';
import { StaffLayout } from './staff-layout.tsx';
import { StaffSignIn } from './staff-sign-in.tsx';
import './staff.css';

/** The console's own frame; signed out, the sign-in screen in it. */
function StaffFrame({ children }: { children: ComponentChildren }) {
  const session = useStaffSession();
  return <StaffLayout session={session}>{session ? children : <StaffSignIn />}</StaffLayout>;
}

/**
 * The trust & safety console under /staff, loaded only when a staff path is opened (people never
 * download it), in its own frame rather than the people's (app.tsx). Staff sign in with an admin token
 * of the moderator or admin role.
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
