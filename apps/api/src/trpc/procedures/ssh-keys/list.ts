import { z } from 'zod';
import { sshKeySchema } from '@palisade/contracts';
import { listSshKeys, withTenant } from '@palisade/db';
import { tenantProcedure } from '../../trpc';
import { toSshKey } from './to-dto';

/** The active tenant's SSH keys, newest first. */
export const list = tenantProcedure('sshkey.read')
  .meta({
    openapi: {
      method: 'GET',
      path: '/ssh-keys',
      protect: true,
      tags: ['ssh-keys'],
      summary: 'List SSH keys',
    },
  })
  .input(z.void())
  .output(z.array(sshKeySchema))
  .query(async ({ ctx }) => {
    const rows = await withTenant(ctx.db, ctx.tenant.id, (tx) =>
      listSshKeys(tx, { tenantId: ctx.tenant.id }),
    );
    return rows.map(toSshKey);
  });
