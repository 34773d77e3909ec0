import { useEffect, useState } from 'react';
import type { MeOutput } from '@palisade/contracts';
import {
  ErrorView,
  Layout,
  Loading,
  toDisplayError,
  WhoAmI,
  type AppContext,
  type DisplayError,
} from '@palisade/ui';

/**
 * The operator console. The API is the authority on roles: the console asks `me` and refuses,
 * with an explanation, anyone the API does not call a platform admin.
 */
export function App({ api, session }: AppContext) {
  const [me, setMe] = useState<MeOutput | null>(null);
  const [error, setError] = useState<DisplayError | null>(null);
  useEffect(() => {
    api.me.query().then(setMe, (e: unknown) => setError(toDisplayError(e)));
  }, [api]);
  const name = me?.principal.name ?? me?.principal.username ?? '';
  const logout = () => void session.logout();
  if (error) {
    return (
      <Layout product="admin console" who="" onLogout={logout}>
        <ErrorView title="The API refused the request" error={error} />
      </Layout>
    );
  }
  if (!me) {
    return (
      <Layout product="admin console">
        <Loading what="your profile" />
      </Layout>
    );
  }
  if (!me.isPlatformAdmin) {
    return (
      <Layout product="admin console" who={name} onLogout={logout}>
        <section role="alert" className="pl-card pl-error">
          <h1>Operators only</h1>
          <p>
            {name} is signed in but does not have the <code>platform-admin</code> role, which the
            admin console requires.
          </p>
          <p>
            Tenant users manage their resources in the portal. Ask an operator if you need platform
            access.
          </p>
          <button type="button" onClick={logout}>
            Log out and sign in as someone else
          </button>
        </section>
      </Layout>
    );
  }
  return (
    <Layout product="admin console" who={name} onLogout={logout}>
      <WhoAmI me={me} />
      <p className="pl-loading">
        Operator view: hosts, tenants and quotas arrive with the next issues.
      </p>
    </Layout>
  );
}
