import { pgTable, text, unique } from 'drizzle-orm/pg-core';
import { id, timestamps } from './columns';
import { tenantId, tenantIsolation } from './tenant-columns';

export const sshKeys = pgTable(
  'ssh_keys',
  {
    id: id(),
    tenantId: tenantId(),
    name: text().notNull(),
    publicKey: text().notNull(),
    /** SHA256 fingerprint, as `ssh-keygen -lf` prints it. */
    fingerprint: text().notNull(),
    ...timestamps(),
  },
  (t) => [
    unique('ssh_keys_tenant_name').on(t.tenantId, t.name),
    unique('ssh_keys_tenant_fingerprint').on(t.tenantId, t.fingerprint),
    tenantIsolation('ssh_keys'),
  ],
).enableRLS();
