import { statusProcedure } from './status';

/** Lets a suspended tenant's users and API clients in again. */
export const resume = statusProcedure('active', 'tenant.resume', {
  method: 'POST',
  path: '/admin/tenants/{id}/resume',
  summary: 'Resume a suspended tenant',
});
