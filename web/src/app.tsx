import { ErrorBoundary, LocationProvider, Route, Router, lazy, useLocation } from 'preact-iso';
import { Layout } from './components/layout.tsx';
import { Page } from './components/page.tsx';
import { peopleRoutes } from './people/routes.tsx';
import { SessionProvider } from './session/session.tsx';

const StaffConsole = lazy(() => import('./staff/console.tsx').then((module) => module.StaffConsole));

function NotFound() {
  return <Page title="Page not found"><p>There is nothing here. <a href="/">Go to the start</a>.</p></Page>;
}

/**
 * The router of the whole app. Each area (people's screens here; the staff console under /staff,
 * lazy-loaded so people never download it) contributes a route table. Every path it serves must also
 * be listed in src/http/web-app.ts, so the service answers index.html for it.
 */
export function App() {
  return (
    <LocationProvider>
      <ErrorBoundary>
        <Areas />
      </ErrorBoundary>
    </LocationProvider>
  );
}

const isStaffPath = (path: string) => path === '/staff' || path.startsWith('/staff/');

/**
 * The staff console brings its own frame and signs in with its own token: it sits under neither the
 * people's layout nor their session, so opening it starts no guest identity.
 */
function Areas() {
  const { path } = useLocation();
  if (isStaffPath(path)) {
    return (
      <Router>
        <Route path="/staff" component={StaffConsole} />
        <Route path="/staff/*" component={StaffConsole} />
      </Router>
    );
  }
  return (
    <SessionProvider>
      <Layout>
        <Router>
          {[
            ...peopleRoutes.map(({ path, component }) => <Route key={path} path={path} component={component} />),
            <Route key="*" default component={NotFound} />,
          ]}
        </Router>
      </Layout>
    </SessionProvider>
  );
}
