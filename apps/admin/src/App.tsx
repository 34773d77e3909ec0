/**
 * The operator console. For now: the operator's identity, and a clear refusal for anyone the API
 * does not call a platform admin. Hosts, tenants and quotas arrive here next.
 * Must never show an operator view to a non-operator, and never leave the page blank.
 */
import { PLATFORM_ADMIN_ROLE, type MeOutput } from '@palisade/contracts';
import { ApiErrorView, Loading, SessionLayout, useAuth, useMe, WhoAmI } from '@palisade/ui';
import { consoleAccess } from './access';

export const PRODUCT = 'admin console';

export function App() {
  const me = useMe();
  const auth = useAuth();
  return (
    <SessionLayout product={PRODUCT}>
      {me.isError ? (
        <ApiErrorView error={me.error} onRetry={() => void me.refetch()} />
      ) : me.data ? (
        <AdminHome me={me.data} onLogout={() => void auth.logout()} />
      ) : (
        <Loading what="your profile" />
      )}
    </SessionLayout>
  );
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
          You hold the <code>{PLATFORM_ADMIN_ROLE}</code> role. Hosts, tenants, quotas and the
          global audit log will be managed here.
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
