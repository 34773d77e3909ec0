import { AppError, ErrorCode, flavorCreateInput, flavorSchema } from '@palisade/contracts';
import { insertFlavor, recordAudit, uniqueViolation, withPlatform } from '@palisade/db';
import { auditOf } from '../../audit';
import { platformProcedure } from '../../trpc';
import { toFlavor } from './to-dto';

/** Adds a flavor (operators); the flavor and its audit event commit together. */
export const create = platformProcedure('platform.catalog.write')
  .meta({
    openapi: {
      method: 'POST',
      path: '/admin/flavors',
      protect: true,
      tags: ['admin: flavors'],
      summary: 'Create a flavor',
    },
  })
  .input(flavorCreateInput)
  .output(flavorSchema)
  .mutation(async ({ ctx, input }) => {
    const { ramMiB, diskGiB, ...rest } = input;
    try {
      const row = await withPlatform(ctx.db, `create flavor ${input.name}`, async (tx) => {
        const flavor = await insertFlavor(tx, { ...rest, ramMib: ramMiB, diskGib: diskGiB });
        await recordAudit(
          tx,
          auditOf(
            { ...ctx, tenant: null },
            'flavor.create',
            { type: 'flavor', id: flavor.id },
            { name: flavor.name },
          ),
        );
        return flavor;
      });
      return toFlavor(row);
    } catch (e) {
      if (!uniqueViolation(e)) throw e;
      throw new AppError(ErrorCode.CONFLICT, `flavor ${input.name} exists`, {
        userMessage: `name: a flavor named ${input.name} already exists`,
        details: { field: 'name' },
        cause: e,
      });
    }
  });
