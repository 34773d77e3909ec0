/** Flavors are global: operators write them, every tenant reads the enabled ones. No RLS. */
import { asc, eq } from 'drizzle-orm';
import type { Tx } from '../scope';
import { flavors } from '../schema';

export type FlavorRow = typeof flavors.$inferSelect;
export type FlavorInsert = typeof flavors.$inferInsert;

export function listFlavors(tx: Tx, p: { includeDisabled: boolean }): Promise<FlavorRow[]> {
  const q = tx.select().from(flavors);
  return (p.includeDisabled ? q : q.where(eq(flavors.disabled, false))).orderBy(
    asc(flavors.vcpus),
    asc(flavors.ramMib),
    asc(flavors.name),
  );
}

export async function insertFlavor(tx: Tx, values: FlavorInsert): Promise<FlavorRow> {
  const [row] = await tx.insert(flavors).values(values).returning();
  return row!;
}

export async function setFlavorDisabled(
  tx: Tx,
  p: { id: string; disabled: boolean },
): Promise<FlavorRow | undefined> {
  const [row] = await tx
    .update(flavors)
    .set({ disabled: p.disabled, updatedAt: new Date() })
    .where(eq(flavors.id, p.id))
    .returning();
  return row;
}

export async function getFlavor(tx: Tx, p: { id: string }): Promise<FlavorRow | undefined> {
  const [row] = await tx.select().from(flavors).where(eq(flavors.id, p.id));
  return row;
}
