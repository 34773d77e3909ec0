/**
 * The rules members' changes share. Owners are the only ones who may make, change or remove an
 * owner (an admin cannot promote itself past the person who made it admin), and a tenant never
 * loses its last owner.
 */
import { AppError, ErrorCode } from '@palisade/contracts';
import { getMemberForUpdate, lockOwners, type MembershipRow, type Tx } from '@palisade/db';
import type { TenantScope } from '../../trpc';

export function requireOwnerFor(tenant: TenantScope, touchesOwner: boolean): void {
  if (touchesOwner && tenant.role !== 'owner')
    throw new AppError(ErrorCode.AUTH_FORBIDDEN, `${tenant.role} cannot change owners`, {
      userMessage: 'Only an owner can make, change or remove an owner.',
    });
}

/**
 * Locks the tenant's owners' rows, then the member's. Always in that order: two owners demoting
 * each other at once then queue on the same first lock instead of deadlocking, and the second one
 * sees the first one's result (FOR UPDATE re-reads rows changed meanwhile).
 */
export async function lockForChange(
  tx: Tx,
  p: { tenantId: string; id: string },
): Promise<{ member: MembershipRow | undefined; owners: number }> {
  const owners = (await lockOwners(tx, { tenantId: p.tenantId })).length;
  return { member: await getMemberForUpdate(tx, p), owners };
}

/** Refuses a change that takes the last owner out of the owners (removal: `newRole` null). */
export function keepAnOwner(
  member: MembershipRow,
  newRole: MembershipRow['role'] | null,
  owners: number,
): void {
  if (member.role === 'owner' && newRole !== 'owner' && owners <= 1)
    throw new AppError(ErrorCode.TENANT_LAST_OWNER, `${member.subject} is the last owner`, {
      userMessage: 'This is the tenant’s last owner: make someone else owner first.',
    });
}

export const memberNotFound = (id: string, tenantId: string) =>
  new AppError(ErrorCode.NOT_FOUND, `member ${id} not in tenant ${tenantId}`, {
    userMessage: 'Member not found.',
  });
