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

const ApiContext = createContext<{ api: ApiClient; apiUrl: string } | null>(null);

export function ApiProvider(props: { apiUrl: string; children: ReactNode }) {
  const auth = useAuth();
  const [value] = useState(() => ({
    api: createApiClient(props.apiUrl, () => auth.token()),
    apiUrl: props.apiUrl,
    queryClient: new QueryClient({
      defaultOptions: { queries: { retry: shouldRetry, refetchOnWindowFocus: false } },
    }),
  }));
  return (
    <ApiContext.Provider value={value}>
      <QueryClientProvider client={value.queryClient}>{props.children}</QueryClientProvider>
    </ApiContext.Provider>
  );
}

/** The typed API client, and the URL it talks to (for error messages). */
export function useApi(): { api: ApiClient; apiUrl: string } {
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
