import { sql } from 'drizzle-orm';
import {
  boolean,
  check,
  integer,
  jsonb,
  pgEnum,
  pgTable,
  text,
  timestamp,
} from 'drizzle-orm/pg-core';
import { id, timestamps } from './columns';

export const hostState = pgEnum('host_state', [
  'enrolling',
  'up',
  'unreachable',
  'draining',
  'maintenance',
]);
export const acceleration = pgEnum('acceleration', ['kvm', 'tcg']);

/** A hypervisor host and what its agent last reported. Global: operators manage hosts. */
export const hosts = pgTable(
  'hosts',
  {
    id: id(),
    name: text().notNull().unique(),
    state: hostState().notNull().default('enrolling'),
    enabled: boolean().notNull().default(true),
    agentUrl: text(),
    /** SHA-256 of the host certificate the control plane CA issued at enrolment. */
    certFingerprint: text(),
    /** When that certificate expires; the agent renews it well before. */
    certExpiresAt: timestamp({ withTimezone: true }),
    cpus: integer().notNull().default(0),
    ramMib: integer().notNull().default(0),
    diskGib: integer().notNull().default(0),
    /** Security models libvirt offers on the host, e.g. {selinux,dac} or {none,dac}. */
    securityModels: text()
      .array()
      .notNull()
      .default(sql`'{}'::text[]`),
    acceleration: acceleration(),
    /** An operator's explicit acceptance of weaker isolation on this host. */
    allowWeakerIsolation: boolean().notNull().default(false),
    compliance: jsonb().$type<Record<string, unknown>>(),
    lastHeartbeatAt: timestamp({ withTimezone: true }),
    ...timestamps(),
  },
  (t) => [
    check('hosts_name_format', sql`${t.name} ~ '^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$'`),
    check('hosts_capacity', sql`${t.cpus} >= 0 AND ${t.ramMib} >= 0 AND ${t.diskGib} >= 0`),
  ],
);
