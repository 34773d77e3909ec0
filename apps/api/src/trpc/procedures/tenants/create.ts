import {
  AppError,
  ErrorCode,
  memberInviteOutput,
  tenantCreateInput,
  tenantSchema,
} from '@palisade/contracts';
import {
  getTenantBySlug,
  insertMember,
  insertTenant,
  recordAudit,
  uniqueViolation,
  withPlatform,
} from '@palisade/db';
import { auditOf } from '../../audit';
import { platformProcedure } from '../../trpc';
import { toMember } from '../members/to-dto';
import { toTenant } from './to-dto';

const slugTaken = (slug: string, cause?: unknown) =>
  new AppError(ErrorCode.CONFLICT, `tenant slug ${slug} is taken`, {
    userMessage: `slug: a tenant named ${slug} already exists`,
    details: { field: 'slug' },
    cause,
  });

/**
 * Onboards a tenant (operators): its Keycloak group `/tenants/<slug>`, the tenant row and, given
 * `ownerEmail`, its first owner (the Keycloak user is created when missing, with the required
 * actions VERIFY_EMAIL and UPDATE_PASSWORD; no email is sent). Keycloak steps come first and are
 * idempotent (an existing group or user is adopted), then the tenant, its owner and the audit
 * events commit together: a failure leaves no tenant without its owner, and a retry succeeds.
 */
export const create = platformProcedure('platform.tenant.write')
  .meta({
    openapi: {
      method: 'POST',
      path: '/admin/tenants',
      protect: true,
      tags: ['admin: tenants'],
      summary: 'Create (onboard) a tenant',
    },
  })
  .input(tenantCreateInput)
  .output(tenantSchema.extend({ owner: memberInviteOutput.nullable() }))
  .mutation(async ({ ctx, input }) => {
    const existing = await withPlatform(ctx.db, `check slug ${input.slug}`, (tx) =>
      getTenantBySlug(tx, { slug: input.slug }),
    );
    if (existing) throw slugTaken(input.slug);

    const groupId = await ctx.identity.ensureTenantGroup(input.slug);
    const owner = input.ownerEmail ? await ctx.identity.ensureUser(input.ownerEmail) : null;
    if (owner) await ctx.identity.addToGroup(owner.subject, groupId);

    try {
      const { tenant, member } = await withPlatform(
        ctx.db,
        `onboard tenant ${input.slug}`,
        async (tx) => {
          const tenant = await insertTenant(tx, {
            slug: input.slug,
            name: input.name,
            keycloakGroupId: groupId,
          });
          const audit = auditOf({ ...ctx, tenant: null }, 'tenant.create', {
            type: 'tenant',
            id: tenant.id,
          });
          await recordAudit(tx, { ...audit, tenantId: tenant.id, details: { slug: tenant.slug } });
          if (!owner) return { tenant, member: null };
          const member = (await insertMember(tx, {
            tenantId: tenant.id,
            subject: owner.subject,
            email: input.ownerEmail ?? null,
            role: 'owner',
          }))!;
          await recordAudit(tx, {
            ...auditOf({ ...ctx, tenant: null }, 'member.invite', {
              type: 'membership',
              id: member.id,
            }),
            tenantId: tenant.id,
            details: { email: member.email, role: member.role, userCreated: owner.created },
          });
          return { tenant, member };
        },
      );
      return {
        ...toTenant(tenant),
        owner: member ? { ...toMember(member), userCreated: owner!.created } : null,
      };
    } catch (e) {
      if (uniqueViolation(e)) throw slugTaken(input.slug, e);
      throw e;
    }
  });
