/**
 * Boots a Palisade UI: validate the build's config, log in, then render the app under the session
 * and the API client. Any failure before the app renders shows a readable page, never a blank one.
 */
import { StrictMode, type ComponentType } from 'react';
import { createRoot } from 'react-dom/client';
import { AuthProvider } from './auth';
import { ConfigErrorView, Layout } from './components';
import { parseUiConfig } from './config';
import { ApiProvider } from './query';
import './styles.css';

export function bootUi(opts: {
  /** Shown in the header: "portal", "admin console". */
  product: string;
  /** The app's Keycloak client. */
  clientId: string;
  /** `import.meta.env` of the app. */
  env: Record<string, unknown>;
  App: ComponentType;
}): void {
  const container = document.getElementById('root');
  if (!container) throw new Error('index.html has no #root element');
  const root = createRoot(container);
  const parsed = parseUiConfig(opts.env);
  if (!parsed.ok) {
    console.error(`Palisade ${opts.product}: invalid configuration`, parsed.problems);
    root.render(
      <Layout product={opts.product}>
        <ConfigErrorView problems={parsed.problems} />
      </Layout>,
    );
    return;
  }
  const { config } = parsed;
  root.render(
    <StrictMode>
      <AuthProvider config={config} clientId={opts.clientId} product={opts.product}>
        <ApiProvider apiUrl={config.apiUrl}>
          <opts.App />
        </ApiProvider>
      </AuthProvider>
    </StrictMode>,
  );
}
