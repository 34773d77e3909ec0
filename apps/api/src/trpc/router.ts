/**
 * The API's tRPC router. The UIs import `AppRouter` from here as a TYPE only (end-to-end types);
 * keep this file free of side effects.
 */
import { apiClientsRouter } from './procedures/api-clients';
import { adminFlavorsRouter, flavorsRouter } from './procedures/flavors';
import { adminHostsRouter } from './procedures/hosts';
import { me } from './procedures/me';
import { membersRouter } from './procedures/members';
import { sshKeysRouter } from './procedures/ssh-keys';
import { adminTenantsRouter } from './procedures/tenants';
import { router } from './trpc';

export const appRouter = router({
  me,
  sshKeys: sshKeysRouter,
  flavors: flavorsRouter,
  members: membersRouter,
  apiClients: apiClientsRouter,
  admin: router({
    flavors: adminFlavorsRouter,
    tenants: adminTenantsRouter,
    hosts: adminHostsRouter,
  }),
});

export type AppRouter = typeof appRouter;
