/**
 * Allocation with the database as the last word: pick a value with the pure allocator (libs/domain)
 * from what this tenant can see, insert it inside a savepoint, and on a unique violation of the
 * allocation's own constraint remember the value as taken and pick again. Other tenants' values
 * are invisible under RLS, so the allocators pick at random there (MCS pairs, MACs, segment IDs):
 * a collision is then rare and costs one retry, and the tenant learns nothing about others.
 */
import { AppError, ErrorCode } from '@palisade/contracts';
import { uniqueViolation, type Tx } from '@palisade/db';

/**
 * When every attempt collided, the pool is (nearly) full of values this tenant cannot see: that
 * is exhaustion, answered as `allocation.exhausted` with `exhausted`'s message (naming the
 * field), never as the raw unique violation (a 500). Seen with a fabric whose only VNI another
 * tenant held, and with the MCS pairs all held by other tenants (vm-exhaustion.int.spec.ts).
 */
export async function insertAllocated<T>(
  tx: Tx,
  constraints: readonly string[],
  attempts: number,
  insert: (sp: Tx, attempt: number) => Promise<T>,
  exhausted?: (constraint: string) => string,
): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await tx.transaction((sp) => insert(sp, attempt));
    } catch (e) {
      const c = uniqueViolation(e);
      if (!c || !constraints.includes(c)) throw e;
      if (attempt + 1 >= attempts) {
        const detail = exhausted?.(c) ?? `no free value for ${c} after ${attempts} attempts`;
        throw new AppError(ErrorCode.ALLOCATION_EXHAUSTED, `${c}: ${attempts} collisions`, {
          userMessage: detail,
          details: { constraint: c, attempts },
          cause: e,
        });
      }
    }
  }
}
