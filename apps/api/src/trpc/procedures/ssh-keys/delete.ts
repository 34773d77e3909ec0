import { z } from 'zod';
import { AppError, byIdInput, ErrorCode } from '@palisade/contracts';
import { deleteSshKey, recordAudit, withTenant } from '@palisade/db';
import { auditOf } from '../../audit';
import { tenantProcedure } from '../../trpc';

/** Removes a key. Another tenant's key id is answered exactly like a missing one: not found. */
export const remove = tenantProcedure('sshkey.write')
  .meta({
    openapi: {
      method: 'DELETE',
      path: '/ssh-keys/{id}',
      protect: true,
      tags: ['ssh-keys'],
      summary: 'Remove an SSH key',
    },
  })
  .input(byIdInput)
  .output(z.object({ id: z.uuid() }))
  .mutation(async ({ ctx, input }) =>
    withTenant(ctx.db, ctx.tenant.id, async (tx) => {
      const row = await deleteSshKey(tx, { tenantId: ctx.tenant.id, id: input.id });
      if (!row)
        throw new AppError(
          ErrorCode.NOT_FOUND,
          `ssh key ${input.id} not in tenant ${ctx.tenant.id}`,
          { userMessage: 'SSH key not found.' },
        );
      await recordAudit(
        tx,
        auditOf(ctx, 'sshkey.delete', { type: 'ssh_key', id: row.id }, { name: row.name }),
      );
      return { id: row.id };
    }),
  );
