import { sql } from 'drizzle-orm';
import { check, index, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import { id } from './columns';
import { hosts } from './hosts';

/**
 * One-time join tokens an operator hands to a new host. Only the SHA-256 of the token's secret is
 * kept; the token itself is shown once. A token is consumed (used_at) in the same transaction that
 * records the certificate it bought. Global: operators manage hosts, no tenant owns a row.
 */
export const hostJoinTokens = pgTable(
  'host_join_tokens',
  {
    id: id(),
    hostId: uuid()
      .notNull()
      .references(() => hosts.id, { onDelete: 'cascade' }),
    /** SHA-256 of the secret part, hex. */
    secretHash: text().notNull(),
    expiresAt: timestamp({ withTimezone: true }).notNull(),
    usedAt: timestamp({ withTimezone: true }),
    /** The Keycloak subject of the operator who created it. */
    createdBy: text().notNull(),
    createdAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    index('host_join_tokens_host').on(t.hostId),
    check('host_join_tokens_hash_format', sql`${t.secretHash} ~ '^[0-9a-f]{64}$'`),
  ],
);
