/**
 * The shared presentational parts of both UIs. Pure: props in, markup out, no session and no API,
 * so they render the same in a test (react-dom/server) as in the browser.
 * Accessibility is part of the contract: the e2e tests find things by role and name.
 */
import { useId, type ReactNode } from 'react';
import type { MeOutput } from '@palisade/contracts';
import { displayName, type DisplayError } from './api';

export function Layout(props: {
  /** The product name shown beside "Palisade", e.g. "portal" or "admin console". */
  product: string;
  /** Who is logged in; absent before the login completes. */
  who?: string;
  onLogout?: () => void;
  /** Below the header: the app's navigation and, in the portal, the tenant switcher. */
  toolbar?: ReactNode;
  children: ReactNode;
}) {
  return (
    <div className="pl-app">
      <header className="pl-header">
        <p className="pl-brand">
          <span aria-hidden="true" className="pl-logo">
            ▮▮▮
          </span>{' '}
          Palisade <span className="pl-product">{props.product}</span>
        </p>
        {props.who !== undefined && (
          <div className="pl-user">
            <span>
              <span className="pl-visually-hidden">Logged in as </span>
              {props.who}
            </span>
            {props.onLogout && (
              <button type="button" className="pl-button pl-button-quiet" onClick={props.onLogout}>
                Log out
              </button>
            )}
          </div>
        )}
      </header>
      {props.toolbar}
      <main className={props.toolbar ? 'pl-main pl-main-wide' : 'pl-main'}>{props.children}</main>
    </div>
  );
}

/** A failure, with what support needs to find it: the stable error code and the request ID. */
export function ErrorView(props: { title: string; error: DisplayError; children?: ReactNode }) {
  const { code, requestId } = props.error;
  const titleId = useId();
  return (
    <section role="alert" aria-labelledby={titleId} className="pl-card pl-error">
      <h1 id={titleId}>{props.title}</h1>
      <p>{props.error.message}</p>
      {(code || requestId) && (
        <dl>
          {code && (
            <>
              <dt>Error code</dt>
              <dd>
                <code>{code}</code>
              </dd>
            </>
          )}
          {requestId && (
            <>
              <dt>Request ID</dt>
              <dd>
                <code>{requestId}</code>
              </dd>
            </>
          )}
        </dl>
      )}
      {props.children && <div className="pl-actions">{props.children}</div>}
    </section>
  );
}

/** Shown instead of the app when the build's Vite env is wrong: every problem, one per line. */
export function ConfigErrorView(props: { problems: string[] }) {
  const titleId = useId();
  return (
    <section role="alert" aria-labelledby={titleId} className="pl-card pl-error">
      <h1 id={titleId}>This build is misconfigured</h1>
      <p>The app was built with settings it cannot use. Fix these build-time variables:</p>
      <ul aria-label="Configuration problems">
        {props.problems.map((p) => (
          <li key={p}>
            <code>{p}</code>
          </li>
        ))}
      </ul>
      <p>
        They are read from the environment when Vite builds or serves the app (see the app&apos;s{' '}
        <code>.env.development</code>).
      </p>
    </section>
  );
}

export function Loading(props: { what: string }) {
  return (
    <p role="status" className="pl-loading">
      Loading {props.what}…
    </p>
  );
}

/** Who is signed in, as the API (not the browser) sees it. */
export function WhoAmI({ me }: { me: MeOutput }) {
  const p = me.principal;
  const titleId = useId();
  return (
    <section className="pl-card" aria-labelledby={titleId}>
      <h1 id={titleId}>Signed in as {displayName(p)}</h1>
      <dl>
        <dt>Name</dt>
        <dd>{p.name ?? '—'}</dd>
        <dt>Email</dt>
        <dd>{p.email ?? '—'}</dd>
        <dt>Username</dt>
        <dd>{p.username ?? '—'}</dd>
        <dt>Roles</dt>
        <dd>
          {p.roles.length === 0 ? (
            'none'
          ) : (
            <ul aria-label="Roles" className="pl-roles">
              {[...p.roles].sort().map((r) => (
                <li key={r}>{r}</li>
              ))}
            </ul>
          )}
        </dd>
        <dt>Subject</dt>
        <dd>
          <code>{p.subject}</code>
        </dd>
      </dl>
    </section>
  );
}
