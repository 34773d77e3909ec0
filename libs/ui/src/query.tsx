/**
 * The API client and React Query, provided to the app below AuthProvider. React Query dedupes
 * and caches calls (StrictMode's double effects would otherwise call `me` twice) and applies one
 * retry policy. Must sit below AuthProvider: every request carries the session's token.
 */
import { QueryClient, QueryClientProvider, useQuery } from '@tanstack/react-query';
import { createContext, useContext, useState, type ReactNode } from 'react';
import { apiErrorTitle, createApiClient, shouldRetry, toDisplayError, type ApiClient } from './api';
import { useAuth } from './auth';
import { ErrorView } from './components';

interface ApiContextValue {
  api: ApiClient;
  apiUrl: string;
  /** Which tenant later requests act in (X-Palisade-Tenant); TenantProvider sets it. */
  setTenant(id: string | undefined): void;
}

const ApiContext = createContext<ApiContextValue | null>(null);

export function ApiProvider(props: { apiUrl: string; children: ReactNode }) {
  const auth = useAuth();
  const [value] = useState(() => {
    // A plain variable, not state: the header is read per request, and queries that depend on
    // the tenant carry its id in their key (useTenantQuery), so a switch refetches them.
    let tenant: string | undefined;
    return {
      api: createApiClient(
        props.apiUrl,
        () => auth.token(),
        () => tenant,
      ),
      apiUrl: props.apiUrl,
      setTenant: (id: string | undefined) => {
        tenant = id;
      },
      queryClient: new QueryClient({
        defaultOptions: { queries: { retry: shouldRetry, refetchOnWindowFocus: false } },
      }),
    };
  });
  return (
    <ApiContext.Provider value={value}>
      <QueryClientProvider client={value.queryClient}>{props.children}</QueryClientProvider>
    </ApiContext.Provider>
  );
}

/** The typed API client, and the URL it talks to (for error messages). */
export function useApi(): ApiContextValue {
  const value = useContext(ApiContext);
  if (!value) throw new Error('useApi() used outside <ApiProvider>');
  return value;
}

/** The principal behind the session's token, as the API verified it. */
export function useMe() {
  const { api } = useApi();
  return useQuery({ queryKey: ['me'], queryFn: () => api.me.query(), staleTime: 60_000 });
}

/** A failed API call, shown with its code and request ID and a way to try again. */
export function ApiErrorView(props: { error: unknown; onRetry?: () => void }) {
  const { apiUrl } = useApi();
  const shown = toDisplayError(props.error, apiUrl);
  return (
    <ErrorView title={apiErrorTitle(shown)} error={shown}>
      {props.onRetry && (
        <button type="button" className="pl-button" onClick={props.onRetry}>
          Try again
        </button>
      )}
    </ErrorView>
  );
}
