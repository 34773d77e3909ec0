import { z } from 'zod';
import { imageSchema } from '@palisade/contracts';
import { listVisibleImages, withTenant } from '@palisade/db';
import { tenantProcedure } from '../../trpc';

/** The images the active tenant may boot from (public and its own), by name. */
export const list = tenantProcedure('image.read')
  .meta({
    openapi: {
      method: 'GET',
      path: '/images',
      protect: true,
      tags: ['images'],
      summary: 'List images',
    },
  })
  .input(z.void())
  .output(z.array(imageSchema))
  .query(async ({ ctx }) => {
    const rows = await withTenant(ctx.db, ctx.tenant.id, (tx) =>
      listVisibleImages(tx, { tenantId: ctx.tenant.id }),
    );
    return rows.map((r) => ({
      id: r.id,
      name: r.name,
      os: r.os,
      format: r.format,
      sizeBytes: r.sizeBytes,
      visibility: r.visibility,
      status: r.status,
    }));
  });
