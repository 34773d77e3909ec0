/**
 * SSH keys of a tenant. Every function takes the tenant id and filters by it (the first lock);
 * callers run them inside withTenant for the same tenant (the second lock, RLS).
 */
import { and, desc, eq } from 'drizzle-orm';
import type { Tx } from '../scope';
import { sshKeys } from '../schema';

export type SshKeyRow = typeof sshKeys.$inferSelect;

export function listSshKeys(tx: Tx, p: { tenantId: string }): Promise<SshKeyRow[]> {
  return tx
    .select()
    .from(sshKeys)
    .where(eq(sshKeys.tenantId, p.tenantId))
    .orderBy(desc(sshKeys.createdAt), sshKeys.id);
}

/**
 * One key of the tenant. `lock` takes a KEY SHARE lock until the transaction ends, so a key a
 * new VM is about to reference cannot be deleted in between (the delete waits, then sets the
 * VM's reference to null like any later delete).
 */
export async function getSshKey(
  tx: Tx,
  p: { tenantId: string; id: string; lock?: boolean },
): Promise<SshKeyRow | undefined> {
  const q = tx
    .select()
    .from(sshKeys)
    .where(and(eq(sshKeys.tenantId, p.tenantId), eq(sshKeys.id, p.id)));
  const [row] = await (p.lock ? q.for('key share') : q);
  return row;
}

export async function insertSshKey(
  tx: Tx,
  p: { tenantId: string; name: string; publicKey: string; fingerprint: string },
): Promise<SshKeyRow> {
  const [row] = await tx.insert(sshKeys).values(p).returning();
  return row!;
}

export async function deleteSshKey(
  tx: Tx,
  p: { tenantId: string; id: string },
): Promise<SshKeyRow | undefined> {
  const [row] = await tx
    .delete(sshKeys)
    .where(and(eq(sshKeys.tenantId, p.tenantId), eq(sshKeys.id, p.id)))
    .returning();
  return row;
}
