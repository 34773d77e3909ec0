import { pgEnum, pgTable, text, unique } from 'drizzle-orm/pg-core';
import { id, timestamps } from './columns';
import { tenantId, tenantIsolation } from './tenant-columns';

export const tenantRole = pgEnum('tenant_role', ['owner', 'admin', 'member', 'viewer']);

/** A Keycloak subject's role in one tenant. Authorisation lives here, not in Keycloak. */
export const memberships = pgTable(
  'memberships',
  {
    id: id(),
    tenantId: tenantId(),
    /** Keycloak `sub`. */
    subject: text().notNull(),
    email: text(),
    role: tenantRole().notNull(),
    ...timestamps(),
  },
  (t) => [
    unique('memberships_tenant_subject').on(t.tenantId, t.subject),
    tenantIsolation('memberships'),
  ],
).enableRLS();
