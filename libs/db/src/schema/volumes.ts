import { sql } from 'drizzle-orm';
import {
  check,
  customType,
  integer,
  pgEnum,
  pgTable,
  text,
  unique,
  uuid,
} from 'drizzle-orm/pg-core';
import { id, timestamps } from './columns';
import { hosts } from './hosts';
import { tenantId, tenantIsolation } from './tenant-columns';
import { vms } from './vms';

const bytea = customType<{ data: Buffer }>({ dataType: () => 'bytea' });

export const volumeStatus = pgEnum('volume_status', [
  'pending',
  'available',
  'attached',
  'deleting',
  'deleted',
  'error',
]);

/**
 * A LUKS-encrypted qcow2 volume. Its random key is stored only wrapped (AES-256-GCM) under the
 * tenant key; deleting the volume destroys the wrapped key first (crypto-erase), then the file.
 */
export const volumes = pgTable(
  'volumes',
  {
    id: id(),
    tenantId: tenantId(),
    name: text().notNull(),
    sizeGib: integer().notNull(),
    vmId: uuid().references(() => vms.id, { onDelete: 'set null' }),
    hostId: uuid().references(() => hosts.id, { onDelete: 'restrict' }),
    status: volumeStatus().notNull().default('pending'),
    /** null once crypto-erased. */
    wrappedKey: bytea(),
    ...timestamps(),
  },
  (t) => [
    unique('volumes_tenant_name').on(t.tenantId, t.name),
    check('volumes_size', sql`${t.sizeGib} BETWEEN 1 AND 65536`),
    tenantIsolation('volumes'),
  ],
).enableRLS();
