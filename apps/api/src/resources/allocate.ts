/**
 * Allocation with the database as the last word: pick a value with the pure allocator (libs/domain)
 * from what this tenant can see, insert it inside a savepoint, and on a unique violation of the
 * allocation's own constraint remember the value as taken and pick again. Other tenants' values
 * are invisible under RLS, so the allocators pick at random there (MCS pairs, MACs, segment IDs):
 * a collision is then rare and costs one retry, and the tenant learns nothing about others.
 */
import { uniqueViolation, type Tx } from '@palisade/db';

export async function insertAllocated<T>(
  tx: Tx,
  constraints: readonly string[],
  attempts: number,
  insert: (sp: Tx, attempt: number) => Promise<T>,
): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await tx.transaction((sp) => insert(sp, attempt));
    } catch (e) {
      const c = uniqueViolation(e);
      if (!c || !constraints.includes(c) || attempt + 1 >= attempts) throw e;
    }
  }
}
