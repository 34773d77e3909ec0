import { sql } from 'drizzle-orm';
import { bigint, check, pgEnum, pgPolicy, pgTable, text, unique, uuid } from 'drizzle-orm/pg-core';
import { id, timestamps } from './columns';
import { tenants } from './tenants';

export const imageFormat = pgEnum('image_format', ['qcow2', 'raw']);
export const imageVisibility = pgEnum('image_visibility', ['public', 'tenant']);
export const imageStatus = pgEnum('image_status', ['pending', 'active', 'deprecated', 'deleted']);

/** A base image: public (operator-provided, no tenant) or private to one tenant. */
export const images = pgTable(
  'images',
  {
    id: id(),
    tenantId: uuid().references(() => tenants.id, { onDelete: 'restrict' }),
    name: text().notNull(),
    os: text().notNull(),
    format: imageFormat().notNull(),
    sizeBytes: bigint({ mode: 'number' }).notNull(),
    /** sha256, hex. Hosts verify it before use. */
    checksum: text().notNull(),
    visibility: imageVisibility().notNull(),
    status: imageStatus().notNull().default('pending'),
    ...timestamps(),
  },
  (t) => [
    unique('images_owner_name').on(t.tenantId, t.name).nullsNotDistinct(),
    check('images_visibility_owner', sql`(${t.visibility} = 'public') = (${t.tenantId} IS NULL)`),
    check('images_checksum_format', sql`${t.checksum} ~ '^[0-9a-f]{64}$'`),
    // Tenants read public images and their own; they write only their own.
    pgPolicy('images_read', {
      for: 'select',
      using: sql`tenant_id IS NULL OR tenant_id = app_current_tenant() OR app_is_platform()`,
    }),
    pgPolicy('images_write', {
      for: 'all',
      using: sql`tenant_id = app_current_tenant() OR app_is_platform()`,
      withCheck: sql`tenant_id = app_current_tenant() OR app_is_platform()`,
    }),
  ],
).enableRLS();
