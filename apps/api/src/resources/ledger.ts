/**
 * The quota ledger as the API uses it: lock the tenant's usage row, ask the domain whether the
 * request fits, and write the new usage, all in the caller's transaction. A refusal is an
 * AppError with the stable code quota.exceeded and the domain's exact wording ("needs 4 vCPUs,
 * 2 of 8 left"), naming every resource that is short.
 *
 * Lock order, to stay free of deadlocks: a path that takes the usage row FIRST may afterwards
 * lock (or key-share-lock through a foreign key) only rows that no path locks BEFORE the usage
 * row. VM create takes the ledger and then key-share-locks its network (the NIC's foreign key),
 * so network delete takes the ledger before it locks the network. VM, volume and snapshot
 * changes lock their row and then the ledger; no ledger-first path touches those rows.
 */
import { AppError, ErrorCode } from '@palisade/contracts';
import { lockUsage, readLimits, readUsage, writeUsage, type Tx } from '@palisade/db';
import {
  addResources,
  checkQuota,
  subtractResources,
  type QuotaCheck,
  type Resources,
} from '@palisade/domain';

export function quotaError(check: Extract<QuotaCheck, { ok: false }>): AppError {
  return new AppError(ErrorCode.QUOTA_EXCEEDED, `quota: ${check.detail}`, {
    userMessage: `Quota exceeded: ${check.detail}.`,
    details: { shortfalls: check.shortfalls },
  });
}

/** Reserves `request` or throws quota.exceeded. Holds the usage row lock until the tx ends. */
export async function consume(tx: Tx, tenantId: string, request: Partial<Resources>) {
  const { usage, limits } = await lockUsage(tx, { tenantId });
  const check = checkQuota(limits, usage, request);
  if (!check.ok) throw quotaError(check);
  await writeUsage(tx, { tenantId, usage: addResources(usage, request) });
}

/** Gives back what a change freed (floored at zero: the metering pass repairs a drifted ledger). */
export async function release(tx: Tx, tenantId: string, freed: Partial<Resources>) {
  const { usage } = await lockUsage(tx, { tenantId });
  await writeUsage(tx, { tenantId, usage: subtractResources(usage, freed).value });
}

/** The answer `consume` would give now, without locking or changing anything (dry runs). */
export async function wouldFit(tx: Tx, tenantId: string, request: Partial<Resources>) {
  const limits = await readLimits(tx, { tenantId });
  const usage = await readUsage(tx, { tenantId });
  return checkQuota(limits, usage, request);
}
