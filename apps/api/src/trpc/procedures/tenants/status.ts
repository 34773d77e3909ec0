/**
 * Tenant status changes (suspend, resume, delete). The status is checked on every tenant request,
 * so a change here takes effect on the caller's next request, users and API clients alike; VMs
 * are not touched (a suspended tenant's VMs keep running).
 */
import { AppError, byIdInput, ErrorCode, tenantSchema } from '@palisade/contracts';
import {
  getTenantForUpdate,
  recordAudit,
  setTenantStatus,
  withPlatform,
  type TenantStatus,
} from '@palisade/db';
import { auditOf } from '../../audit';
import { platformProcedure } from '../../trpc';
import { toTenant } from './to-dto';

/** `to` may be reached from these statuses; the same status again is a no-op. */
const ALLOWED_FROM: Record<TenantStatus, TenantStatus[]> = {
  suspended: ['active'],
  active: ['suspended'],
  // Deleting is one way: the cleanup of its resources starts from this state.
  deleting: ['active', 'suspended'],
};

export function statusProcedure(
  to: TenantStatus,
  action: string,
  route: { method: 'POST' | 'DELETE'; path: `/${string}`; summary: string },
) {
  return platformProcedure('platform.tenant.write')
    .meta({ openapi: { ...route, protect: true, tags: ['admin: tenants'] } })
    .input(byIdInput)
    .output(tenantSchema)
    .mutation(async ({ ctx, input }) => {
      const row = await withPlatform(ctx.db, `${action} ${input.id}`, async (tx) => {
        const tenant = await getTenantForUpdate(tx, { id: input.id });
        if (!tenant)
          throw new AppError(ErrorCode.NOT_FOUND, `tenant ${input.id} not found`, {
            userMessage: 'Tenant not found.',
          });
        if (tenant.status === to) return tenant;
        if (!ALLOWED_FROM[to].includes(tenant.status))
          throw new AppError(ErrorCode.CONFLICT, `tenant ${tenant.slug} is ${tenant.status}`, {
            userMessage: `The tenant is ${tenant.status}; it cannot become ${to}.`,
            details: { status: tenant.status },
          });
        const changed = (await setTenantStatus(tx, { id: tenant.id, status: to }))!;
        // Recorded in the tenant's own audit log too: its members see who suspended it and when.
        await recordAudit(tx, {
          ...auditOf(
            { ...ctx, tenant: null },
            action,
            { type: 'tenant', id: tenant.id },
            {
              slug: tenant.slug,
              from: tenant.status,
              to,
            },
          ),
          tenantId: tenant.id,
        });
        return changed;
      });
      return toTenant(row);
    });
}
