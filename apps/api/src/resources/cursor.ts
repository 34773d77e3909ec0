/**
 * Opaque list cursors: the last row's position (created_at with microseconds, id), base64url
 * encoded. Clients must not build them; a cursor that does not decode is a validation error that
 * names the field, never a 500.
 */
import { AppError, ErrorCode } from '@palisade/contracts';
import type { PagePosition } from '@palisade/db';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const TS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;

export function encodeCursor(p: PagePosition | null): string | null {
  return p ? Buffer.from(JSON.stringify([p.ts, p.id])).toString('base64url') : null;
}

export function decodeCursor(cursor: string | undefined): PagePosition | undefined {
  if (cursor === undefined || cursor === '') return undefined;
  try {
    const v: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (Array.isArray(v) && v.length === 2) {
      const [ts, id] = v as unknown[];
      if (typeof ts === 'string' && TS.test(ts) && typeof id === 'string' && UUID.test(id))
        return { ts, id };
    }
  } catch {
    // fall through: any undecodable cursor gets the same answer
  }
  throw new AppError(ErrorCode.VALIDATION_FAILED, `undecodable cursor ${cursor.slice(0, 40)}`, {
    userMessage: 'cursor: not a cursor this API returned; pass nextCursor back unchanged',
    details: { field: 'cursor' },
  });
}

/** A page of rows as the API returns it. */
export function pageResult<R, T>(
  page: { items: R[]; next: PagePosition | null },
  map: (r: R) => T,
): { items: T[]; nextCursor: string | null } {
  return { items: page.items.map(map), nextCursor: encodeCursor(page.next) };
}
