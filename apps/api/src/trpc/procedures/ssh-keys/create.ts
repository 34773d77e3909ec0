import { AppError, ErrorCode, sshKeyCreateInput, sshKeySchema } from '@palisade/contracts';
import { insertSshKey, recordAudit, uniqueViolation, withTenant } from '@palisade/db';
import { fingerprintOf } from '../../../ssh-keys/ssh-key';
import { auditOf } from '../../audit';
import { tenantProcedure } from '../../trpc';
import { toSshKey } from './to-dto';

/** Adds an SSH key to the tenant; the key and its audit event commit together. */
export const create = tenantProcedure('sshkey.write')
  .meta({
    openapi: {
      method: 'POST',
      path: '/ssh-keys',
      protect: true,
      tags: ['ssh-keys'],
      summary: 'Add an SSH key',
    },
  })
  .input(sshKeyCreateInput)
  .output(sshKeySchema)
  .mutation(async ({ ctx, input }) => {
    const { normalized, fingerprint } = fingerprintOf(input.publicKey);
    try {
      const row = await withTenant(ctx.db, ctx.tenant.id, async (tx) => {
        const key = await insertSshKey(tx, {
          tenantId: ctx.tenant.id,
          name: input.name,
          publicKey: normalized,
          fingerprint,
        });
        await recordAudit(
          tx,
          auditOf(
            ctx,
            'sshkey.create',
            { type: 'ssh_key', id: key.id },
            { name: key.name, fingerprint },
          ),
        );
        return key;
      });
      return toSshKey(row);
    } catch (e) {
      const constraint = uniqueViolation(e);
      if (!constraint) throw e;
      const field = constraint.endsWith('_name') ? 'name' : 'publicKey';
      throw new AppError(ErrorCode.CONFLICT, `ssh key ${constraint}`, {
        userMessage:
          field === 'name'
            ? `name: a key named ${input.name} already exists`
            : 'publicKey: this key is already added',
        details: { field },
        cause: e,
      });
    }
  });
