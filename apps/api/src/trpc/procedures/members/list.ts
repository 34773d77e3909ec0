import { z } from 'zod';
import { memberSchema } from '@palisade/contracts';
import { listMembers, withTenant } from '@palisade/db';
import { tenantProcedure } from '../../trpc';
import { toMember } from './to-dto';

/** The active tenant's members, oldest first. */
export const list = tenantProcedure('member.read')
  .meta({
    openapi: {
      method: 'GET',
      path: '/members',
      protect: true,
      tags: ['members'],
      summary: 'List members',
    },
  })
  .input(z.void())
  .output(z.array(memberSchema))
  .query(async ({ ctx }) =>
    (
      await withTenant(ctx.db, ctx.tenant.id, (tx) => listMembers(tx, { tenantId: ctx.tenant.id }))
    ).map(toMember),
  );
