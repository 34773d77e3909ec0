import { inet, macaddr, pgTable, unique, uuid } from 'drizzle-orm/pg-core';
import { id, timestamps } from './columns';
import { networks } from './networks';
import { tenantId, tenantIsolation } from './tenant-columns';
import { vms } from './vms';

/**
 * A VM's interface on a tenant network: its MAC and IPv4 allocations. One MAC cluster-wide and
 * one IP per subnet, by constraint.
 */
export const nics = pgTable(
  'nics',
  {
    id: id(),
    tenantId: tenantId(),
    vmId: uuid()
      .notNull()
      .references(() => vms.id, { onDelete: 'cascade' }),
    networkId: uuid()
      .notNull()
      .references(() => networks.id, { onDelete: 'restrict' }),
    mac: macaddr().notNull(),
    ip: inet().notNull(),
    ...timestamps(),
  },
  (t) => [
    unique('nics_mac').on(t.mac),
    unique('nics_network_ip').on(t.networkId, t.ip),
    tenantIsolation('nics'),
  ],
).enableRLS();
