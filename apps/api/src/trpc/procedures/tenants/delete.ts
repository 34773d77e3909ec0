import { statusProcedure } from './status';

/**
 * Marks the tenant `deleting`: from now on its users and API clients are refused. Removing its
 * resources (VMs, volumes, networks, API clients, the Keycloak group) is the cleanup worker's job.
 */
export const remove = statusProcedure('deleting', 'tenant.delete', {
  method: 'DELETE',
  path: '/admin/tenants/{id}',
  summary: 'Delete a tenant (it enters the deleting state)',
});
