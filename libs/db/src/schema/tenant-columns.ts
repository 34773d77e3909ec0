// Tenant ownership, shared by every tenant-owned table: the same foreign key and the same
// row-level-security policy everywhere. (Apart from columns.ts because tenants.ts uses those.)
import { sql } from 'drizzle-orm';
import { pgPolicy, uuid } from 'drizzle-orm/pg-core';
import { tenants } from './tenants';

/** The owning tenant. Deleting a tenant that still owns rows is refused, never cascaded. */
export const tenantId = () =>
  uuid()
    .notNull()
    .references(() => tenants.id, { onDelete: 'restrict' });

/**
 * The second lock behind the repositories' tenant filter: a row is visible and writable only inside
 * `withTenant(thatTenant)` or the audited platform scope. The functions are created by the
 * migration 0002_rls_functions.
 */
export const tenantIsolation = (table: string) =>
  pgPolicy(`${table}_tenant_isolation`, {
    as: 'permissive',
    for: 'all',
    using: sql`tenant_id = app_current_tenant() OR app_is_platform()`,
    withCheck: sql`tenant_id = app_current_tenant() OR app_is_platform()`,
  });

/** For tenant-owned rows that only operators write (quotas): tenants may read their own. */
export const tenantReadOnly = (table: string) => [
  pgPolicy(`${table}_tenant_read`, {
    as: 'permissive',
    for: 'select',
    using: sql`tenant_id = app_current_tenant()`,
  }),
  pgPolicy(`${table}_platform_all`, {
    as: 'permissive',
    for: 'all',
    using: sql`app_is_platform()`,
    withCheck: sql`app_is_platform()`,
  }),
];
