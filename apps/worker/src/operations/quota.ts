/**
 * The quota ledger as compensation uses it. The API takes quota when it accepts a change and
 * gives it back when the change frees something at once (a delete); when a workflow is undone,
 * the ledger must again match the real resources, so compensation gives back what an undone
 * change took, or takes back what an undone delete gave.
 *
 * Exactly once: callers move quota in the same transaction as the row change that proves the
 * move is due (a row removed, a size set back), under that row's lock, so a compensation that is
 * interrupted and run again finds nothing left to move.
 *
 * Lock order (apps/api/src/resources/ledger.ts): the volume or snapshot row first, then the
 * usage row; never the other way round.
 */
import { lockUsage, writeUsage, type Tx } from '@palisade/db';
import { addResources, subtractResources, type Resources } from '@palisade/domain';

/** Gives back what an undone change had taken (floored at zero, as the API's release is). */
export async function giveBackQuota(tx: Tx, tenantId: string, freed: Partial<Resources>) {
  const { usage } = await lockUsage(tx, { tenantId });
  await writeUsage(tx, { tenantId, usage: subtractResources(usage, freed).value });
}

/** Takes back what an undone delete had given: no limit check, the resource exists again. */
export async function takeBackQuota(tx: Tx, tenantId: string, held: Partial<Resources>) {
  const { usage } = await lockUsage(tx, { tenantId });
  await writeUsage(tx, { tenantId, usage: addResources(usage, held) });
}
