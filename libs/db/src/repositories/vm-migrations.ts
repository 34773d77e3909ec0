/**
 * Cold migration's bookkeeping: the target claim (`vms.migration_host_id`, taken through
 * `claimPlacement` with `slot: 'migration'`), the switch that moves a VM and its volumes to the
 * target in one statement pair, and the drain's lookup of the migrations it started.
 *
 * Must never: switch a VM whose claim is not the target it was copied to (a second migration
 * cannot race a first: one unfinished operation per VM), or leave a volume behind on the source
 * in the database once the VM has switched.
 */
import { and, asc, eq, inArray, isNull, like } from 'drizzle-orm';
import type { Tx } from '../scope';
import { operations, vms, volumes } from '../schema';
import { UNFINISHED_OPERATION_STATES, type OperationRow } from './operations';

/** Moves the VM (and every volume attached to it) from `from` to `to` and drops the target claim.
 *  Idempotent: a VM already on `to` with no claim left answers true; any other state false. */
export async function switchVmHost(
  tx: Tx,
  p: { tenantId: string; vmId: string; from: string; to: string },
): Promise<boolean> {
  const moved = await tx
    .update(vms)
    .set({ hostId: p.to, migrationHostId: null })
    .where(
      and(
        eq(vms.tenantId, p.tenantId),
        eq(vms.id, p.vmId),
        eq(vms.hostId, p.from),
        eq(vms.migrationHostId, p.to),
      ),
    )
    .returning({ id: vms.id });
  if (moved.length === 0) {
    const [vm] = await tx
      .select({ id: vms.id })
      .from(vms)
      .where(
        and(
          eq(vms.tenantId, p.tenantId),
          eq(vms.id, p.vmId),
          eq(vms.hostId, p.to),
          isNull(vms.migrationHostId),
        ),
      );
    if (!vm) return false;
  }
  await tx
    .update(volumes)
    .set({ hostId: p.to })
    .where(and(eq(volumes.tenantId, p.tenantId), eq(volumes.vmId, p.vmId)));
  return true;
}

/** Gives back a migration's target claim (compensation); the VM stays on its host. */
export async function releaseMigrationClaim(
  tx: Tx,
  p: { tenantId: string; vmId: string },
): Promise<void> {
  await tx
    .update(vms)
    .set({ migrationHostId: null })
    .where(and(eq(vms.tenantId, p.tenantId), eq(vms.id, p.vmId)));
}

/** The operations a parent (a host drain) started, by the idempotency-key prefix it gave them
 *  (`<prefix><vmId>`: keys are unique per tenant, so each child's carries its VM), across
 *  tenants (platform scope), oldest first. */
export function childOperations(
  tx: Tx,
  p: { kind: string; keyPrefix: string },
): Promise<OperationRow[]> {
  const escaped = p.keyPrefix.replace(/[\\%_]/g, (c) => `\\${c}`);
  return tx
    .select()
    .from(operations)
    .where(and(eq(operations.kind, p.kind), like(operations.idempotencyKey, `${escaped}%`)))
    .orderBy(asc(operations.createdAt), asc(operations.id));
}

/** The unfinished operation on a target of any scope (a host's drain has no tenant). */
export async function activeOperationOnTarget(
  tx: Tx,
  p: { targetId: string },
): Promise<OperationRow | undefined> {
  const [row] = await tx
    .select()
    .from(operations)
    .where(
      and(
        eq(operations.targetId, p.targetId),
        inArray(operations.state, [...UNFINISHED_OPERATION_STATES]),
      ),
    );
  return row;
}
