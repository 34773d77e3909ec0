/**
 * Transaction scopes for row-level security. Tenant work runs in `withTenant`, which pins the
 * transaction to one tenant; operator and system paths run in `withPlatform`, which must say why
 * (the reason goes to the audit trail with the change). Settings are transaction-local
 * (set_config(..., true)), so a pooled connection never carries one request's scope into another.
 */
import { sql } from 'drizzle-orm';
import type { Db } from './client';

export type Tx = Parameters<Parameters<Db['transaction']>[0]>[0];

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export async function withTenant<T>(
  db: Db,
  tenantId: string,
  fn: (tx: Tx) => Promise<T>,
): Promise<T> {
  // A malformed id would make every policy compare against NULL: refuse it loudly instead.
  if (!UUID.test(tenantId))
    throw new TypeError(`withTenant: not a tenant id: ${JSON.stringify(tenantId)}`);
  return db.transaction(async (tx) => {
    await tx.execute(
      sql`SELECT set_config('app.tenant_id', ${tenantId}, true), set_config('app.scope', 'tenant', true)`,
    );
    return fn(tx);
  });
}

export async function withPlatform<T>(
  db: Db,
  reason: string,
  fn: (tx: Tx) => Promise<T>,
): Promise<T> {
  if (reason.trim() === '') throw new TypeError('withPlatform: a reason is required');
  return db.transaction(async (tx) => {
    await tx.execute(
      sql`SELECT set_config('app.scope', 'platform', true), set_config('app.tenant_id', '', true), set_config('app.platform_reason', ${reason}, true)`,
    );
    return fn(tx);
  });
}
