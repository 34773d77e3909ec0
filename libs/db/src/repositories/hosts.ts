/**
 * Hosts and their join tokens. Both are global (no tenant owns a host): callers run these inside
 * withPlatform, which records why. Consuming a token and recording the certificate it bought are
 * separate functions so the caller can put both in one transaction.
 */
import { and, asc, eq, gt, isNull, sql } from 'drizzle-orm';
import type { Tx } from '../scope';
import { hostJoinTokens, hosts } from '../schema';

export type HostRow = typeof hosts.$inferSelect;
export type HostJoinTokenRow = typeof hostJoinTokens.$inferSelect;

export function listHosts(tx: Tx): Promise<HostRow[]> {
  return tx.select().from(hosts).orderBy(asc(hosts.name));
}

export async function getHostByName(tx: Tx, p: { name: string }): Promise<HostRow | undefined> {
  const [row] = await tx.select().from(hosts).where(eq(hosts.name, p.name));
  return row;
}

/** The host row a join token enrols: created in state `enrolling`, or the existing one (re-enrolment). */
export async function ensureHost(tx: Tx, p: { name: string }): Promise<HostRow> {
  const [created] = await tx
    .insert(hosts)
    .values({ name: p.name })
    .onConflictDoNothing({ target: hosts.name })
    .returning();
  return created ?? (await getHostByName(tx, p))!;
}

export async function insertJoinToken(
  tx: Tx,
  p: { hostId: string; secretHash: string; expiresAt: Date; createdBy: string },
): Promise<HostJoinTokenRow> {
  const [row] = await tx.insert(hostJoinTokens).values(p).returning();
  return row!;
}

/** The token row, locked until the transaction ends, so two enrolments with one token serialise. */
export async function lockJoinToken(
  tx: Tx,
  p: { id: string },
): Promise<HostJoinTokenRow | undefined> {
  const [row] = await tx
    .select()
    .from(hostJoinTokens)
    .where(eq(hostJoinTokens.id, p.id))
    .for('update');
  return row;
}

/**
 * Marks the token used, only if it is still unused and unexpired by the database's clock; false
 * means another transaction consumed it first, or it expired in between.
 */
export async function consumeJoinToken(tx: Tx, p: { id: string }): Promise<boolean> {
  const rows = await tx
    .update(hostJoinTokens)
    .set({ usedAt: sql`now()` })
    .where(
      and(
        eq(hostJoinTokens.id, p.id),
        isNull(hostJoinTokens.usedAt),
        gt(hostJoinTokens.expiresAt, sql`now()`),
      ),
    )
    .returning({ id: hostJoinTokens.id });
  return rows.length === 1;
}

/** Records the certificate a host now holds; the state moves on only from `enrolling`. */
export async function recordHostCertificate(
  tx: Tx,
  p: { id: string; fingerprint: string; expiresAt: Date; agentUrl?: string },
): Promise<HostRow> {
  const [row] = await tx
    .update(hosts)
    .set({
      certFingerprint: p.fingerprint,
      certExpiresAt: p.expiresAt,
      ...(p.agentUrl ? { agentUrl: p.agentUrl } : {}),
      state: sql`CASE WHEN ${hosts.state} = 'enrolling' THEN 'up'::host_state ELSE ${hosts.state} END`,
      updatedAt: new Date(),
    })
    .where(eq(hosts.id, p.id))
    .returning();
  return row!;
}

export async function getHostById(tx: Tx, p: { id: string }): Promise<HostRow | undefined> {
  const [row] = await tx.select().from(hosts).where(eq(hosts.id, p.id));
  return row;
}
