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
import { adminTenantsRouter, tenantsRouter } from './procedures/tenants';
import { imagesRouter } from './procedures/images';
import { vmsRouter } from './procedures/vms';
import { networksRouter } from './procedures/networks';
import { snapshotsRouter } from './procedures/snapshots';
import { volumesRouter } from './procedures/volumes';
import { operationsRouter } from './procedures/operations';
import { adminQuotasRouter, quotaRouter } from './procedures/quotas';
import { adminAuditRouter, auditRouter } from './procedures/audit';
import { adminReconcilerRouter } from './procedures/reconciler';
import { router } from './trpc';

export const appRouter = router({
  me,
  tenants: tenantsRouter,
  images: imagesRouter,
  sshKeys: sshKeysRouter,
  flavors: flavorsRouter,
  members: membersRouter,
  apiClients: apiClientsRouter,
  vms: vmsRouter,
  networks: networksRouter,
  volumes: volumesRouter,
  snapshots: snapshotsRouter,
  operations: operationsRouter,
  quota: quotaRouter,
  audit: auditRouter,
  admin: router({
    flavors: adminFlavorsRouter,
    tenants: adminTenantsRouter,
    hosts: adminHostsRouter,
    quotas: adminQuotasRouter,
    audit: adminAuditRouter,
    reconciler: adminReconcilerRouter,
  }),
});

export type AppRouter = typeof appRouter;
