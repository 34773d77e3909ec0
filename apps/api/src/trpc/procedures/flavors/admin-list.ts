import { z } from 'zod';
import { flavorSchema } from '@palisade/contracts';
import { listFlavors, withPlatform } from '@palisade/db';
import { platformProcedure } from '../../trpc';
import { toFlavor } from './to-dto';

/** Every flavor, disabled ones included (operators). */
export const adminList = platformProcedure('platform.catalog.write')
  .meta({
    openapi: {
      method: 'GET',
      path: '/admin/flavors',
      protect: true,
      tags: ['admin: flavors'],
      summary: 'List all flavors',
    },
  })
  .input(z.void())
  .output(z.array(flavorSchema))
  .query(async ({ ctx }) =>
    (
      await withPlatform(ctx.db, 'list flavors', (tx) => listFlavors(tx, { includeDisabled: true }))
    ).map(toFlavor),
  );
