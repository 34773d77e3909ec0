/**
 * Operations of a tenant: the outbox rows workers execute. Written in the same transaction as
 * the change they carry out; at most one unfinished operation per target (a partial unique index).
 */
import { and, desc, eq, inArray, type SQL } from 'drizzle-orm';
import type { Tx } from '../scope';
import { operations } from '../schema';
import { afterPosition, positionOf, splitPage, type PageParams } from './page';

export type OperationRow = typeof operations.$inferSelect;
export type OperationInsert = typeof operations.$inferInsert;

export const UNFINISHED_OPERATION_STATES = ['pending', 'running', 'compensating'] as const;

export async function insertOperation(tx: Tx, values: OperationInsert): Promise<OperationRow> {
  const [row] = await tx.insert(operations).values(values).returning();
  return row!;
}

export async function getOperation(
  tx: Tx,
  p: { tenantId: string; id: string },
): Promise<OperationRow | undefined> {
  const [row] = await tx
    .select()
    .from(operations)
    .where(and(eq(operations.tenantId, p.tenantId), eq(operations.id, p.id)));
  return row;
}

export async function operationByIdempotencyKey(
  tx: Tx,
  p: { tenantId: string; key: string },
): Promise<OperationRow | undefined> {
  const [row] = await tx
    .select()
    .from(operations)
    .where(and(eq(operations.tenantId, p.tenantId), eq(operations.idempotencyKey, p.key)));
  return row;
}

/** The unfinished operation on a target, if any. */
export async function activeOperationOf(
  tx: Tx,
  p: { tenantId: string; targetId: string },
): Promise<OperationRow | undefined> {
  const [row] = await tx
    .select()
    .from(operations)
    .where(
      and(
        eq(operations.tenantId, p.tenantId),
        eq(operations.targetId, p.targetId),
        inArray(operations.state, [...UNFINISHED_OPERATION_STATES]),
      ),
    );
  return row;
}

export async function listOperations(
  tx: Tx,
  p: PageParams & {
    tenantId: string;
    targetId?: string;
    state?: OperationRow['state'];
    kind?: string;
  },
) {
  const where: (SQL | undefined)[] = [
    eq(operations.tenantId, p.tenantId),
    p.targetId ? eq(operations.targetId, p.targetId) : undefined,
    p.state ? eq(operations.state, p.state) : undefined,
    p.kind ? eq(operations.kind, p.kind) : undefined,
    afterPosition(operations.createdAt, operations.id, p.after),
  ];
  const rows = await tx
    .select({ row: operations, position: positionOf(operations.createdAt), id: operations.id })
    .from(operations)
    .where(and(...where))
    .orderBy(desc(operations.createdAt), desc(operations.id))
    .limit(p.limit + 1);
  const page = splitPage(rows, p.limit);
  return { items: page.items.map((r) => r.row), next: page.next };
}
