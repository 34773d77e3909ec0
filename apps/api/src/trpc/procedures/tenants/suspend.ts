import { statusProcedure } from './status';

/** Blocks the tenant's users and API clients at once; its VMs keep running. */
export const suspend = statusProcedure('suspended', 'tenant.suspend', {
  method: 'POST',
  path: '/admin/tenants/{id}/suspend',
  summary: 'Suspend a tenant',
});
