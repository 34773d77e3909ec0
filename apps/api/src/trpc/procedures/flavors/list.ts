import { z } from 'zod';
import { flavorSchema } from '@palisade/contracts';
import { listFlavors } from '@palisade/db';
import { tenantProcedure } from '../../trpc';
import { toFlavor } from './to-dto';

/** The flavors a tenant may create VMs with (enabled ones), smallest first. */
export const list = tenantProcedure('flavor.read')
  .meta({
    openapi: {
      method: 'GET',
      path: '/flavors',
      protect: true,
      tags: ['flavors'],
      summary: 'List flavors',
    },
  })
  .input(z.void())
  .output(z.array(flavorSchema))
  .query(async ({ ctx }) =>
    (await ctx.db.transaction((tx) => listFlavors(tx, { includeDisabled: false }))).map(toFlavor),
  );
