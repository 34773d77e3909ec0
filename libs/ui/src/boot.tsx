/**
 * Boots a Palisade UI: validate config, log in, then render. Any failure before the app renders
 * shows a readable page, never a blank one.
 */
import { StrictMode, type ReactNode } from 'react';
import { createRoot } from 'react-dom/client';
import { createApiClient, type ApiClient } from './api';
import { ErrorView, Layout } from './components';
import { parseUiConfig } from './config';
import { startSession, type Session } from './session';
import './styles.css';

export interface AppContext {
  api: ApiClient;
  session: Session;
}

export async function bootUi(opts: {
  product: string;
  clientId: string;
  env: Record<string, unknown>;
  render: (ctx: AppContext) => ReactNode;
}): Promise<void> {
  const root = createRoot(document.getElementById('root')!);
  const config = parseUiConfig(opts.env);
  if (!config.ok) {
    root.render(
      <Layout product={opts.product}>
        <ErrorView
          title="This build is misconfigured"
          error={{ message: config.problems.join('; ') }}
        />
      </Layout>,
    );
    return;
  }
  let session: Session;
  try {
    session = await startSession(config.config, opts.clientId);
  } catch (e) {
    root.render(
      <Layout product={opts.product}>
        <ErrorView
          title="Cannot reach the login service"
          error={{ message: e instanceof Error ? e.message : String(e) }}
        />
      </Layout>,
    );
    return;
  }
  const api = createApiClient(config.config.apiUrl, session);
  root.render(<StrictMode>{opts.render({ api, session })}</StrictMode>);
}
