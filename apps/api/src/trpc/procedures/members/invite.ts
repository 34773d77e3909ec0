import { AppError, ErrorCode, memberInviteInput, memberInviteOutput } from '@palisade/contracts';
import { getTenant, insertMember, recordAudit, withTenant } from '@palisade/db';
import { auditOf } from '../../audit';
import { tenantProcedure } from '../../trpc';
import { requireOwnerFor } from './guards';
import { toMember } from './to-dto';

/**
 * Invites a person by email with a role. When Keycloak has no user with that email, one is created
 * with the required actions VERIFY_EMAIL and UPDATE_PASSWORD; Palisade sends no email (the realm
 * has no SMTP server here): the invitee uses "forgot password" or an operator's action link. The
 * Keycloak steps are idempotent and come first; the membership and its audit event commit together.
 */
export const invite = tenantProcedure('member.write')
  .meta({
    openapi: {
      method: 'POST',
      path: '/members',
      protect: true,
      tags: ['members'],
      summary: 'Invite a member by email',
    },
  })
  .input(memberInviteInput)
  .output(memberInviteOutput)
  .mutation(async ({ ctx, input }) => {
    requireOwnerFor(ctx.tenant, input.role === 'owner');
    const user = await ctx.identity.ensureUser(input.email);
    const tenant = await withTenant(ctx.db, ctx.tenant.id, (tx) =>
      getTenant(tx, { id: ctx.tenant.id }),
    );
    if (tenant?.keycloakGroupId)
      await ctx.identity.addToGroup(user.subject, tenant.keycloakGroupId);
    const member = await withTenant(ctx.db, ctx.tenant.id, async (tx) => {
      const row = await insertMember(tx, {
        tenantId: ctx.tenant.id,
        subject: user.subject,
        email: input.email,
        role: input.role,
      });
      if (!row)
        throw new AppError(ErrorCode.CONFLICT, `${input.email} is already a member`, {
          userMessage: `email: ${input.email} is already a member of this tenant`,
          details: { field: 'email' },
        });
      await recordAudit(
        tx,
        auditOf(
          ctx,
          'member.invite',
          { type: 'membership', id: row.id },
          { email: input.email, role: input.role, userCreated: user.created },
        ),
      );
      return row;
    });
    return { ...toMember(member), userCreated: user.created };
  });
