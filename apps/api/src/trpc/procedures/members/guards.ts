/**
 * The rules members' changes share. Owners are the only ones who may make, change or remove an
 * owner (an admin cannot promote itself past the person who made it admin), and a tenant never
 * loses its last owner.
 */
import { AppError, ErrorCode } from '@palisade/contracts';
import { lockOwners, type MembershipRow, type Tx } from '@palisade/db';
import type { TenantScope } from '../../trpc';

export function requireOwnerFor(tenant: TenantScope, touchesOwner: boolean): void {
  if (touchesOwner && tenant.role !== 'owner')
    throw new AppError(ErrorCode.AUTH_FORBIDDEN, `${tenant.role} cannot change owners`, {
      userMessage: 'Only an owner can make, change or remove an owner.',
    });
}

/**
 * Refuses a change that takes `member` out of the owners when it is the last one. Call it inside
 * the transaction that makes the change: it locks the owners' rows first, so that concurrent
 * demotions of two owners are decided one after the other.
 */
export async function keepAnOwner(
  tx: Tx,
  member: MembershipRow,
  newRole: MembershipRow['role'] | null,
): Promise<void> {
  const owners = await lockOwners(tx, { tenantId: member.tenantId });
  if (member.role === 'owner' && newRole !== 'owner' && owners.length <= 1)
    throw new AppError(ErrorCode.TENANT_LAST_OWNER, `${member.subject} is the last owner`, {
      userMessage: 'This is the tenant’s last owner: make someone else owner first.',
    });
}

export const memberNotFound = (id: string, tenantId: string) =>
  new AppError(ErrorCode.NOT_FOUND, `member ${id} not in tenant ${tenantId}`, {
    userMessage: 'Member not found.',
  });
