/**
 * The operator's host switches, shared by drain, enable and disable: lock the host, refuse what
 * its state does not allow, change it and audit the change in one transaction.
 */
import { AppError, ErrorCode } from '@palisade/contracts';
import { lockHost, recordAudit, type AuditEventInput, type HostRow, type Tx } from '@palisade/db';

export async function lockedHost(tx: Tx, id: string): Promise<HostRow> {
  const host = await lockHost(tx, { id });
  if (!host)
    throw new AppError(ErrorCode.NOT_FOUND, `host ${id}`, { userMessage: 'Host not found.' });
  return host;
}

/** A host that has not enrolled has no agent and nothing to drain or enable yet. */
export function refuseEnrolling(host: HostRow, verb: string): void {
  if (host.state === 'enrolling')
    throw new AppError(ErrorCode.INVALID_STATE, `host ${host.name} is enrolling`, {
      userMessage: `Cannot ${verb} host ${host.name}: it has not enrolled yet.`,
    });
}

export const auditHostChange = (
  tx: Tx,
  audit: (details: Record<string, unknown>) => AuditEventInput,
  before: HostRow,
  after: HostRow,
  extra: Record<string, unknown> = {},
) =>
  recordAudit(
    tx,
    audit({
      ...extra,
      from: { state: before.state, enabled: before.enabled },
      to: { state: after.state, enabled: after.enabled },
    }),
  );
