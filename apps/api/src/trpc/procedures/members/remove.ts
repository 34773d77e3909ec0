import { z } from 'zod';
import { byIdInput } from '@palisade/contracts';
import { deleteMember, getTenant, recordAudit, withTenant } from '@palisade/db';
import { auditOf } from '../../audit';
import { tenantProcedure } from '../../trpc';
import { keepAnOwner, lockForChange, memberNotFound, requireOwnerFor } from './guards';

/**
 * Removes a member. Access ends at once: memberships are read on every request, so the removed
 * person's next request is refused even with a token that has minutes left. Their Keycloak user
 * stays (it may belong to other tenants); only the tenant group's membership goes, inside the
 * transaction, so a Keycloak failure leaves the membership in place for a retry.
 */
export const remove = tenantProcedure('member.write')
  .meta({
    openapi: {
      method: 'DELETE',
      path: '/members/{id}',
      protect: true,
      tags: ['members'],
      summary: 'Remove a member',
    },
  })
  .input(byIdInput)
  .output(z.object({ id: z.uuid() }))
  .mutation(async ({ ctx, input }) =>
    withTenant(ctx.db, ctx.tenant.id, async (tx) => {
      const { member, owners } = await lockForChange(tx, { tenantId: ctx.tenant.id, id: input.id });
      if (!member) throw memberNotFound(input.id, ctx.tenant.id);
      requireOwnerFor(ctx.tenant, member.role === 'owner');
      keepAnOwner(member, null, owners);
      await deleteMember(tx, { tenantId: ctx.tenant.id, id: member.id });
      await recordAudit(
        tx,
        auditOf(
          ctx,
          'member.remove',
          { type: 'membership', id: member.id },
          { email: member.email, role: member.role },
        ),
      );
      const tenant = await getTenant(tx, { id: ctx.tenant.id });
      if (tenant?.keycloakGroupId)
        await ctx.identity.removeFromGroup(member.subject, tenant.keycloakGroupId);
      return { id: member.id };
    }),
  );
