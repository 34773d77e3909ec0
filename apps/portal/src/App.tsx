/**
 * The tenant portal. For now: who you are, as the API verified it. Tenants' VMs, networks and
 * volumes arrive here next. Must never decide access itself: the API is the authority.
 */
import type { MeOutput } from '@palisade/contracts';
import { ApiErrorView, Loading, SessionLayout, useMe, WhoAmI } from '@palisade/ui';

export const PRODUCT = 'portal';

export function App() {
  const me = useMe();
  return (
    <SessionLayout product={PRODUCT}>
      {me.isError ? (
        <ApiErrorView error={me.error} onRetry={() => void me.refetch()} />
      ) : me.data ? (
        <PortalHome me={me.data} />
      ) : (
        <Loading what="your profile" />
      )}
    </SessionLayout>
  );
}

/** The portal's home page for a signed-in tenant user. */
export function PortalHome({ me }: { me: MeOutput }) {
  return (
    <>
      <WhoAmI me={me} />
      <p className="pl-note">Your virtual machines, networks and volumes will be listed here.</p>
    </>
  );
}
