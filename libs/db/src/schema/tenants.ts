import { sql } from 'drizzle-orm';
import { check, pgEnum, pgPolicy, pgTable, text } from 'drizzle-orm/pg-core';
import { id, timestamps } from './columns';

export const tenantStatus = pgEnum('tenant_status', ['active', 'suspended', 'deleting']);

/** A tenant: the unit of isolation. Everything a tenant owns carries its id. */
export const tenants = pgTable(
  'tenants',
  {
    id: id(),
    // The slug ends up in host-side names (cgroup partitions, bridges), hence the strict charset.
    slug: text().notNull().unique(),
    name: text().notNull(),
    status: tenantStatus().notNull().default('active'),
    /** The matching Keycloak group, created at onboarding. */
    keycloakGroupId: text(),
    ...timestamps(),
  },
  (t) => [
    check('tenants_slug_format', sql`${t.slug} ~ '^[a-z][a-z0-9-]{1,30}[a-z0-9]$'`),
    pgPolicy('tenants_self', {
      for: 'all',
      using: sql`id = app_current_tenant() OR app_is_platform()`,
      withCheck: sql`app_is_platform()`,
    }),
  ],
).enableRLS();
