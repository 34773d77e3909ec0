/**
 * Images a tenant may boot: public ones and its own (the images_read policy says the same).
 */
import { and, asc, eq, isNull, ne, or } from 'drizzle-orm';
import type { Tx } from '../scope';
import { images } from '../schema';

export type ImageRow = typeof images.$inferSelect;

export async function getVisibleImage(
  tx: Tx,
  p: { tenantId: string; id: string },
): Promise<ImageRow | undefined> {
  const [row] = await tx
    .select()
    .from(images)
    .where(and(eq(images.id, p.id), or(isNull(images.tenantId), eq(images.tenantId, p.tenantId))));
  return row;
}

/** The images a tenant may see, by name; deleted ones are left out (nothing can boot them). */
export function listVisibleImages(tx: Tx, p: { tenantId: string }): Promise<ImageRow[]> {
  return tx
    .select()
    .from(images)
    .where(
      and(
        or(isNull(images.tenantId), eq(images.tenantId, p.tenantId)),
        ne(images.status, 'deleted'),
      ),
    )
    .orderBy(asc(images.name), asc(images.id));
}
