import { sql } from 'drizzle-orm';
import {
  check,
  cidr,
  inet,
  integer,
  pgEnum,
  pgTable,
  text,
  unique,
  uuid,
} from 'drizzle-orm/pg-core';
import { id, timestamps } from './columns';
import { fabrics, segmentType } from './fabrics';
import { tenantId, tenantIsolation } from './tenant-columns';

export const networkStatus = pgEnum('network_status', ['pending', 'active', 'deleting', 'error']);

/** A tenant L2 segment with one IPv4 subnet. */
export const networks = pgTable(
  'networks',
  {
    id: id(),
    tenantId: tenantId(),
    fabricId: uuid()
      .notNull()
      .references(() => fabrics.id, { onDelete: 'restrict' }),
    name: text().notNull(),
    segmentType: segmentType().notNull(),
    segmentId: integer().notNull(),
    cidr: cidr().notNull(),
    gateway: inet(),
    status: networkStatus().notNull().default('pending'),
    ...timestamps(),
  },
  (t) => [
    // One segment per fabric, cluster-wide: the constraint, not the allocator, is the last word.
    unique('networks_fabric_segment').on(t.fabricId, t.segmentId),
    unique('networks_tenant_name').on(t.tenantId, t.name),
    check(
      'networks_segment_range',
      sql`(${t.segmentType} = 'vlan' AND ${t.segmentId} BETWEEN 1 AND 4094) OR (${t.segmentType} = 'vxlan' AND ${t.segmentId} BETWEEN 1 AND 16777215)`,
    ),
    check('networks_ipv4', sql`family(${t.cidr}) = 4`),
    check('networks_gateway_inside', sql`${t.gateway} IS NULL OR ${t.gateway} << ${t.cidr}`),
    tenantIsolation('networks'),
  ],
).enableRLS();
