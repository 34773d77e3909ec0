/**
 * Keyset pagination for tenant lists: newest first, ties broken by id. The position of a row is
 * its `created_at` at full (microsecond) precision plus its id; a JS Date would drop the
 * microseconds and skip rows created within the same millisecond.
 */
import { sql, type AnyColumn, type SQL } from 'drizzle-orm';

export interface PagePosition {
  /** created_at as ISO text with microseconds, as `positionOf` selects it. */
  ts: string;
  id: string;
}

export interface PageParams {
  limit: number;
  after?: PagePosition;
}

export const positionOf = (createdAt: AnyColumn) =>
  sql<string>`to_char(${createdAt} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;

export function afterPosition(
  createdAt: AnyColumn,
  id: AnyColumn,
  after?: PagePosition,
): SQL | undefined {
  return after
    ? sql`(${createdAt}, ${id}) < (${after.ts}::timestamptz, ${after.id}::uuid)`
    : undefined;
}

/** Fetches one more row than asked, to know whether there is a next page. */
export function splitPage<T extends { position: string; id: string }>(
  rows: T[],
  limit: number,
): { items: T[]; next: PagePosition | null } {
  const items = rows.slice(0, limit);
  const last = items[items.length - 1];
  return {
    items,
    next: rows.length > limit && last ? { ts: last.position, id: last.id } : null,
  };
}
