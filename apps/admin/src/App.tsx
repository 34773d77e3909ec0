/**
 * The operator console: tenants (onboarding, suspension, quotas), hosts (state, compliance, join
 * tokens), flavors, the global audit log, and the reconciler's passes and quarantine; a clear refusal for anyone the API does not call a
 * platform admin. Must never show an operator view to a non-operator, and never leave the page
 * blank. The API is the authority: every page's call is a platform procedure it checks.
 */
import { PLATFORM_ADMIN_ROLE, type MeOutput } from '@palisade/contracts';
import {
  ApiErrorView,
  Card,
  Loading,
  Nav,
  SessionLayout,
  useAuth,
  useHashRoute,
  useMe,
  WhoAmI,
} from '@palisade/ui';
import { consoleAccess } from './access';
import { AuditPage } from './pages/audit';
import { FlavorsPage } from './pages/flavors';
import { HostsPage } from './pages/hosts';
import { ReconcilerPage } from './pages/reconciler';
import { TenantsPage } from './pages/tenants';

export const PRODUCT = 'admin console';

export const SECTIONS = [
  { href: '#/', label: 'Overview' },
  { href: '#/tenants', label: 'Tenants' },
  { href: '#/hosts', label: 'Hosts' },
  { href: '#/flavors', label: 'Flavors' },
  { href: '#/audit', label: 'Audit log' },
  { href: '#/reconciler', label: 'Reconciler' },
];

export function App() {
  const me = useMe();
  const auth = useAuth();
  const route = useHashRoute();
  const operator = me.data && consoleAccess(me.data).kind === 'operator';
  return (
    <SessionLayout
      product={PRODUCT}
      toolbar={
        operator ? (
          <div className="pl-toolbar">
            <Nav items={SECTIONS} current={`#/${route[0] ?? ''}`} />
          </div>
        ) : undefined
      }
    >
      {me.isError ? (
        <ApiErrorView error={me.error} onRetry={() => void me.refetch()} />
      ) : !me.data ? (
        <Loading what="your profile" />
      ) : operator ? (
        <OperatorPage route={route} me={me.data} onLogout={() => void auth.logout()} />
      ) : (
        <AdminHome me={me.data} onLogout={() => void auth.logout()} />
      )}
    </SessionLayout>
  );
}

function OperatorPage(props: { route: string[]; me: MeOutput; onLogout: () => void }) {
  switch (props.route[0]) {
    case undefined:
      return <AdminHome me={props.me} onLogout={props.onLogout} />;
    case 'tenants':
      return <TenantsPage />;
    case 'hosts':
      return <HostsPage />;
    case 'flavors':
      return <FlavorsPage />;
    case 'audit':
      return <AuditPage />;
    case 'reconciler':
      return <ReconcilerPage />;
    default:
      return (
        <Card title="Page not found" level={1}>
          <p>
            There is no page <code>#/{props.route.join('/')}</code>.{' '}
            <a href="#/">Go to the overview</a>.
          </p>
        </Card>
      );
  }
}

export function AdminHome(props: { me: MeOutput; onLogout: () => void }) {
  const access = consoleAccess(props.me);
  if (access.kind === 'refused') return <Refusal name={access.name} onLogout={props.onLogout} />;
  return (
    <>
      <WhoAmI me={props.me} />
      <section className="pl-card" aria-labelledby="operator-view-title">
        <h2 id="operator-view-title">Operator view</h2>
        <p className="pl-note">
          You hold the <code>{PLATFORM_ADMIN_ROLE}</code> role. Manage{' '}
          <a href="#/tenants">tenants and their quotas</a>, <a href="#/hosts">hosts</a>,{' '}
          <a href="#/flavors">flavors</a> and read the <a href="#/audit">global audit log</a>.
        </p>
      </section>
    </>
  );
}

/** What a signed-in non-operator sees instead of the console. */
export function Refusal(props: { name: string; onLogout: () => void }) {
  return (
    <section role="alert" aria-labelledby="refusal-title" className="pl-card pl-error">
      <h1 id="refusal-title">Operators only</h1>
      <p>
        {props.name} is signed in but does not have the {PLATFORM_ADMIN_ROLE} role, which the admin
        console requires.
      </p>
      <p>Tenant users manage their resources in the portal. Ask an operator if you need access.</p>
      <div className="pl-actions">
        <button type="button" className="pl-button" onClick={props.onLogout}>
          Log out and sign in as someone else
        </button>
      </div>
    </section>
  );
}
