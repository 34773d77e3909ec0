/**
 * The SSH keys of a VM: snapshots of the tenant's keys taken when the VM is created (see
 * schema/vm-ssh-keys.ts for why a snapshot). Every function takes the tenant id and filters by
 * it (the first lock); callers run them inside withTenant or the platform scope (RLS).
 */
import { and, asc, eq, inArray } from 'drizzle-orm';
import type { Tx } from '../scope';
import { vmSshKeys } from '../schema';
import type { SshKeyRow } from './ssh-keys';

export type VmSshKeyRow = typeof vmSshKeys.$inferSelect;

/** Records the keys a new VM gets, in the order given (the seed lists them in that order). */
export async function insertVmSshKeys(
  tx: Tx,
  p: { tenantId: string; vmId: string; keys: SshKeyRow[] },
): Promise<VmSshKeyRow[]> {
  if (p.keys.length === 0) return [];
  return tx
    .insert(vmSshKeys)
    .values(
      p.keys.map((k, position) => ({
        tenantId: p.tenantId,
        vmId: p.vmId,
        position,
        sshKeyId: k.id,
        name: k.name,
        publicKey: k.publicKey,
        fingerprint: k.fingerprint,
      })),
    )
    .returning();
}

/** The keys of these VMs, each VM's in the order they were given at create. */
export function sshKeysOfVms(
  tx: Tx,
  p: { tenantId: string; vmIds: string[] },
): Promise<VmSshKeyRow[]> {
  if (p.vmIds.length === 0) return Promise.resolve([]);
  return tx
    .select()
    .from(vmSshKeys)
    .where(and(eq(vmSshKeys.tenantId, p.tenantId), inArray(vmSshKeys.vmId, p.vmIds)))
    .orderBy(asc(vmSshKeys.vmId), asc(vmSshKeys.position));
}

/** The public key lines a VM's seed carries. */
export async function authorizedKeysOfVm(
  tx: Tx,
  p: { tenantId: string; vmId: string },
): Promise<string[]> {
  const rows = await sshKeysOfVms(tx, { tenantId: p.tenantId, vmIds: [p.vmId] });
  return rows.map((r) => r.publicKey);
}
