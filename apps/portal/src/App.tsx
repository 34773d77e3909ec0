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

/** The tenant portal. For now: who you are, as the API verified it. */
export function App({ api, session }: AppContext) {
  const [me, setMe] = useState<MeOutput | null>(null);
  const [error, setError] = useState<DisplayError | null>(null);
  useEffect(() => {
    api.me.query().then(setMe, (e: unknown) => setError(toDisplayError(e)));
  }, [api]);
  const who = me?.principal.name ?? me?.principal.username;
  return (
    <Layout product="portal" who={who ?? ''} onLogout={() => void session.logout()}>
      {error ? (
        <ErrorView title="The API refused the request" error={error} />
      ) : me ? (
        <WhoAmI me={me} />
      ) : (
        <Loading what="your profile" />
      )}
    </Layout>
  );
}
