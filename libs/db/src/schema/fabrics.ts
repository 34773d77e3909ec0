import { sql } from 'drizzle-orm';
import { check, integer, pgEnum, pgTable, text } from 'drizzle-orm/pg-core';
import { id, timestamps } from './columns';

export const segmentType = pgEnum('segment_type', ['vlan', 'vxlan']);

/**
 * An operator-configured network fabric: where tenant segments come from. VLAN fabrics name the
 * trunk device on each host; VXLAN fabrics name the underlay device. Segment IDs are handed out
 * from `segmentRanges` (e.g. "100-199,300").
 */
export const fabrics = pgTable(
  'fabrics',
  {
    id: id(),
    name: text().notNull().unique(),
    type: segmentType().notNull(),
    /** Trunk (VLAN) or underlay (VXLAN) device name on each host. */
    device: text().notNull(),
    segmentRanges: text().notNull(),
    mtu: integer().notNull().default(1500),
    ...timestamps(),
  },
  (t) => [
    check('fabrics_device_format', sql`${t.device} ~ '^[a-zA-Z0-9_.-]{1,15}$'`),
    check(
      'fabrics_ranges_format',
      sql`${t.segmentRanges} ~ '^[0-9]+(-[0-9]+)?(,[0-9]+(-[0-9]+)?)*$'`,
    ),
    check('fabrics_mtu', sql`${t.mtu} BETWEEN 576 AND 9216`),
  ],
);
