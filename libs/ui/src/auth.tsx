/**
 * React access to the login session. AuthProvider renders its children only once a person is
 * logged in; until then it shows a status, and a readable error page when Keycloak cannot be
 * reached. Must never render the app for an anonymous visitor: everything below may assume a token.
 */
import { createContext, useContext, useEffect, useState, type ReactNode } from 'react';
import type { UiConfig } from './config';
import { ErrorView, Layout, Loading } from './components';
import { LoginServiceError } from './errors';
import { connectSession, type Session } from './session';

const AuthContext = createContext<Session | null>(null);

type AuthState =
  | { status: 'connecting' }
  | { status: 'redirecting' }
  | { status: 'ready'; session: Session }
  | { status: 'failed'; message: string };

export function AuthProvider(props: {
  config: UiConfig;
  /** The Keycloak client of this app: palisade-portal or palisade-admin. */
  clientId: string;
  /** Shown in the header of the status and error pages. */
  product: string;
  children: ReactNode;
}) {
  const { config, clientId } = props;
  const [state, setState] = useState<AuthState>({ status: 'connecting' });
  useEffect(() => {
    let live = true;
    connectSession(config, clientId).then(
      (session) =>
        live && setState(session ? { status: 'ready', session } : { status: 'redirecting' }),
      (e: unknown) =>
        live &&
        setState({
          status: 'failed',
          message:
            e instanceof LoginServiceError
              ? e.message
              : `The login failed: ${e instanceof Error ? e.message : String(e)}`,
        }),
    );
    return () => {
      live = false;
    };
  }, [config, clientId]);

  if (state.status === 'ready')
    return <AuthContext.Provider value={state.session}>{props.children}</AuthContext.Provider>;
  return (
    <Layout product={props.product}>
      {state.status === 'failed' ? (
        <ErrorView title="Cannot reach the login service" error={{ message: state.message }}>
          <button type="button" className="pl-button" onClick={() => window.location.reload()}>
            Try again
          </button>
        </ErrorView>
      ) : (
        <Loading what={state.status === 'redirecting' ? 'the login page' : 'your session'} />
      )}
    </Layout>
  );
}

/** The session of the logged-in person. Only valid below AuthProvider. */
export function useAuth(): Session {
  const session = useContext(AuthContext);
  if (!session) throw new Error('useAuth() used outside <AuthProvider>');
  return session;
}

/** Layout with the logged-in person and a working logout button. */
export function SessionLayout(props: {
  product: string;
  toolbar?: ReactNode;
  children: ReactNode;
}) {
  const auth = useAuth();
  return (
    <Layout
      product={props.product}
      who={auth.user.name ?? auth.user.username ?? auth.user.subject}
      onLogout={() => void auth.logout()}
      toolbar={props.toolbar}
    >
      {props.children}
    </Layout>
  );
}
