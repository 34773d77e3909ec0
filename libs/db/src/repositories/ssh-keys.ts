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

export async function getSshKey(
  tx: Tx,
  p: { tenantId: string; id: string },
): Promise<SshKeyRow | undefined> {
  const [row] = await tx
    .select()
    .from(sshKeys)
    .where(and(eq(sshKeys.tenantId, p.tenantId), eq(sshKeys.id, p.id)));
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
