import type { ReactNode } from 'react';
import type { MeOutput } from '@palisade/contracts';
import type { DisplayError } from './api';

export function Layout(props: {
  product: string;
  who?: string;
  onLogout?: () => void;
  children: ReactNode;
}) {
  return (
    <div className="pl-app">
      <header className="pl-header">
        <span className="pl-brand" aria-label="Palisade">
          ▮▮▮ Palisade <small>{props.product}</small>
        </span>
        {props.who !== undefined && (
          <span className="pl-user">
            <span>{props.who}</span>
            <button type="button" onClick={props.onLogout}>
              Log out
            </button>
          </span>
        )}
      </header>
      <main className="pl-main">{props.children}</main>
    </div>
  );
}

export function ErrorView(props: { title: string; error: DisplayError }) {
  return (
    <section role="alert" className="pl-card pl-error">
      <h1>{props.title}</h1>
      <p>{props.error.message}</p>
      <dl>
        {props.error.code && (
          <>
            <dt>Error code</dt>
            <dd>
              <code>{props.error.code}</code>
            </dd>
          </>
        )}
        {props.error.requestId && (
          <>
            <dt>Request ID</dt>
            <dd>
              <code>{props.error.requestId}</code>
            </dd>
          </>
        )}
      </dl>
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
  return (
    <section className="pl-card" aria-labelledby="whoami-title">
      <h1 id="whoami-title">Signed in as {p.name ?? p.username ?? p.subject}</h1>
      <dl>
        <dt>Username</dt>
        <dd>{p.username ?? '—'}</dd>
        <dt>Email</dt>
        <dd>{p.email ?? '—'}</dd>
        <dt>Roles</dt>
        <dd>
          <ul aria-label="Roles" className="pl-roles">
            {p.roles.map((r) => (
              <li key={r}>{r}</li>
            ))}
          </ul>
        </dd>
        <dt>Subject</dt>
        <dd>
          <code>{p.subject}</code>
        </dd>
      </dl>
    </section>
  );
}
