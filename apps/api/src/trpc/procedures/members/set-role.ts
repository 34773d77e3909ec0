import { memberRoleInput, memberSchema } from '@palisade/contracts';
import { recordAudit, setMemberRole, withTenant } from '@palisade/db';
import { auditOf } from '../../audit';
import { tenantProcedure } from '../../trpc';
import { keepAnOwner, lockForChange, memberNotFound, requireOwnerFor } from './guards';
import { toMember } from './to-dto';

/** Changes a member's role; it applies from the member's next request. */
export const setRole = tenantProcedure('member.write')
  .meta({
    openapi: {
      method: 'PATCH',
      path: '/members/{id}',
      protect: true,
      tags: ['members'],
      summary: 'Change a member’s role',
    },
  })
  .input(memberRoleInput)
  .output(memberSchema)
  .mutation(async ({ ctx, input }) =>
    withTenant(ctx.db, ctx.tenant.id, async (tx) => {
      const { member, owners } = await lockForChange(tx, { tenantId: ctx.tenant.id, id: input.id });
      if (!member) throw memberNotFound(input.id, ctx.tenant.id);
      requireOwnerFor(ctx.tenant, member.role === 'owner' || input.role === 'owner');
      if (member.role === input.role) return toMember(member);
      keepAnOwner(member, input.role, owners);
      const changed = (await setMemberRole(tx, {
        tenantId: ctx.tenant.id,
        id: member.id,
        role: input.role,
      }))!;
      await recordAudit(
        tx,
        auditOf(
          ctx,
          'member.set_role',
          { type: 'membership', id: member.id },
          { email: member.email, from: member.role, to: input.role },
        ),
      );
      return toMember(changed);
    }),
  );
