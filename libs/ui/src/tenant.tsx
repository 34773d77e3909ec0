/**
 * The active tenant of a portal session: which of the caller's tenants (tenants.mine) requests act
 * in. The choice is remembered per user in localStorage (only a tenant id: nothing secret), and a
 * remembered tenant the user has since left is dropped rather than sent. Must never decide access:
 * the API checks the membership on every request and answers 404 for a tenant that is not theirs.
 */
import { useQuery, useQueryClient, type QueryKey } from '@tanstack/react-query';
import { createContext, useCallback, useContext, useId, useState, type ReactNode } from 'react';
import type { MyTenant } from '@palisade/contracts';
import { useAuth } from './auth';
import { ApiErrorView, useApi } from './query';
import { Loading } from './components';

/** The localStorage key of a user's remembered tenant. */
export function rememberedTenantKey(subject: string): string {
  return `palisade.portal.tenant.${subject}`;
}

/**
 * Which tenant to act in: the remembered one while the user is still in it, else the first
 * active one, else the first (so its status can be shown). Pure.
 */
export function pickTenant(mine: MyTenant[], remembered: string | null): MyTenant | undefined {
  return (
    mine.find((t) => t.id === remembered) ?? mine.find((t) => t.status === 'active') ?? mine[0]
  );
}

interface TenantContextValue {
  tenant: MyTenant;
  tenants: MyTenant[];
  select(id: string): void;
}

const TenantContext = createContext<TenantContextValue | null>(null);

function readRemembered(key: string): string | null {
  try {
    return window.localStorage.getItem(key);
  } catch {
    return null; // storage disabled: the choice just is not remembered
  }
}

/**
 * Loads the caller's tenants and renders `children` with one of them active; `none` when the
 * caller is in no tenant at all. `shell` frames what is shown before that (loading, errors,
 * `none`), e.g. in the app's layout.
 */
export function TenantProvider(props: {
  none: ReactNode;
  shell: (content: ReactNode) => ReactNode;
  children: ReactNode;
}) {
  const { api, setTenant } = useApi();
  const auth = useAuth();
  const queryClient = useQueryClient();
  const key = rememberedTenantKey(auth.user.subject);
  const [chosen, setChosen] = useState<string | null>(() => readRemembered(key));
  const mine = useQuery({ queryKey: ['tenants.mine'], queryFn: () => api.tenants.mine.query() });

  const select = useCallback(
    (id: string) => {
      try {
        window.localStorage.setItem(key, id);
      } catch {
        // storage disabled: the choice lasts for this page only
      }
      setChosen(id);
      // What the old tenant's pages were about to do must not land in the new one's.
      void queryClient.cancelQueries();
    },
    [key, queryClient],
  );

  if (mine.isError)
    return props.shell(<ApiErrorView error={mine.error} onRetry={() => void mine.refetch()} />);
  if (!mine.data) return props.shell(<Loading what="your tenants" />);
  const tenant = pickTenant(mine.data, chosen);
  // Set during render, before any child's query runs (queries start in effects): every request
  // of this render's pages carries this tenant. Idempotent, so a repeated render is harmless.
  setTenant(tenant?.id);
  if (!tenant) return props.shell(props.none);
  return (
    <TenantContext.Provider value={{ tenant, tenants: mine.data, select }}>
      {props.children}
    </TenantContext.Provider>
  );
}

/** The active tenant and the caller's role in it. Only valid below TenantProvider. */
export function useTenant(): TenantContextValue {
  const value = useContext(TenantContext);
  if (!value) throw new Error('useTenant() used outside <TenantProvider>');
  return value;
}

/**
 * A query in the active tenant: its key starts with the tenant id, so switching tenants shows the
 * new tenant's data, never the old one's from the cache.
 */
export function useTenantQuery<T>(
  key: QueryKey,
  fn: () => Promise<T>,
  options: { refetchInterval?: number | false | ((data: T | undefined) => number | false) } = {},
) {
  const { tenant } = useTenant();
  const interval = options.refetchInterval;
  return useQuery({
    queryKey: [tenant.id, ...key],
    queryFn: fn,
    refetchInterval: typeof interval === 'function' ? (q) => interval(q.state.data) : interval,
  });
}

/** Refetches the active tenant's queries under `key` (after a change). */
export function useInvalidate() {
  const { tenant } = useTenant();
  const queryClient = useQueryClient();
  return useCallback(
    (...keys: QueryKey[]) =>
      Promise.all(
        keys.map((k) => queryClient.invalidateQueries({ queryKey: [tenant.id, ...k] })),
      ).then(() => undefined),
    [queryClient, tenant.id],
  );
}

/** The tenant switcher: a labelled select of the caller's tenants, with their role. */
export function TenantSwitcher() {
  const { tenant, tenants, select } = useTenant();
  const id = useId();
  // label[for], not a wrapping label: a wrapped select's chosen option would join the label's name.
  return (
    <div className="pl-switcher">
      <label htmlFor={id}>Tenant</label>
      <select id={id} value={tenant.id} onChange={(e) => select(e.target.value)}>
        {tenants.map((t) => (
          <option key={t.id} value={t.id}>
            {t.name} ({t.slug}) — {t.role}
            {t.status === 'active' ? '' : `, ${t.status}`}
          </option>
        ))}
      </select>
    </div>
  );
}
