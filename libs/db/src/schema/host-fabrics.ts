import { pgTable, primaryKey, uuid } from 'drizzle-orm/pg-core';
import { fabrics } from './fabrics';
import { hosts } from './hosts';

/** Which network fabrics a host is wired to (its agent found the trunk or underlay device).
 *  Placement only puts a VM on a host that reaches every fabric of the VM's networks. Global. */
export const hostFabrics = pgTable(
  'host_fabrics',
  {
    hostId: uuid()
      .notNull()
      .references(() => hosts.id, { onDelete: 'cascade' }),
    fabricId: uuid()
      .notNull()
      .references(() => fabrics.id, { onDelete: 'restrict' }),
  },
  (t) => [primaryKey({ columns: [t.hostId, t.fabricId] })],
);
