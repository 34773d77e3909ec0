/**
 * The API's tRPC router. The UIs import `AppRouter` from here as a TYPE only (end-to-end types);
 * keep this file free of side effects.
 */
import { adminFlavorsRouter, flavorsRouter } from './procedures/flavors';
import { adminHostsRouter } from './procedures/hosts';
import { me } from './procedures/me';
import { sshKeysRouter } from './procedures/ssh-keys';
import { router } from './trpc';

export const appRouter = router({
  me,
  sshKeys: sshKeysRouter,
  flavors: flavorsRouter,
  admin: router({ flavors: adminFlavorsRouter, hosts: adminHostsRouter }),
});

export type AppRouter = typeof appRouter;
